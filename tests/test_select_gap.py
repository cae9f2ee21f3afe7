"""The gap statistic, its one-standard-error rule and the held-out reconstruction error."""

import numpy as np
import pytest

from emcli.errors import UsageError
from emcli.pipeline import FitSpec
from emcli.select import gap as gap_module
from emcli.select.cv import fold_indices
from emcli.select.gap import gap_choice

KS = list(range(1, 9))
#: enough restarts that k-means finds the global optimum on these blobs: a local optimum at some
#: k below the truth flattens the gap curve there and the one-standard-error rule stops early
OPTIONS = {"restarts": 5}


def gap_statistic(model: str, k: int, X, options: dict, draws: int, seed: int):
    return gap_module.gap_statistic(FitSpec(model, {"k": k}, seed=seed, **options), X, [], draws)


def heldout_reconstruction(model: str, k: int, X, options: dict, folds: int, seed: int):
    return gap_module.heldout_reconstruction(FitSpec(model, {"k": k}, seed=seed, **options), X, [], folds)


def blobs(K: int, D: int, n: int, seed: int) -> np.ndarray:
    """(n, D) rows around K centres, unit spherical noise, centres at least 6 apart."""
    rng = np.random.default_rng(seed)
    while True:
        centres = rng.uniform(-10, 10, size=(K, D))
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)[np.triu_indices(K, 1)]
        if gaps.min() >= 6:
            break
    return centres[np.arange(n) % K] + rng.normal(size=(n, D))


def chosen_k(model: str, X: np.ndarray, seed: int) -> int:
    gaps, s = zip(*(gap_statistic(model, k, X, OPTIONS, 10, seed) for k in KS))
    return gap_choice(KS, list(gaps), list(s))


@pytest.mark.parametrize("K, D", [(4, 2), (5, 5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gap_picks_the_true_k_for_kmeans(K, D, seed):
    assert chosen_k("kmeans", blobs(K, D, 150, seed), seed) == K


def test_gap_picks_the_true_k_for_kmedoids():
    assert chosen_k("kmedoids", blobs(4, 2, 150, 0), 0) == 4


@pytest.mark.parametrize("seed", [0, 1])
def test_gap_picks_one_cluster_for_one_gaussian(seed):
    X = np.random.default_rng(seed).normal(size=(150, 2))
    assert chosen_k("kmeans", X, seed) == 1


def test_gap_at_one_cluster_is_the_closed_form():
    """k = 1: W is the total sum of squares about the column means, for X and every reference
    set (drawn as the docstring says), so Gap(1) and s_1 follow without any clustering."""
    X, seed, B = blobs(3, 2, 120, 4), 7, 10
    tss = lambda rows: np.sum((rows - rows.mean(axis=0)) ** 2)
    logs = np.array([np.log(tss(np.random.default_rng([seed, 1, b]).uniform(
        X.min(axis=0), X.max(axis=0), size=X.shape))) for b in range(B)])
    gap, s = gap_statistic("kmeans", 1, X, OPTIONS, B, seed)
    assert gap == pytest.approx(logs.mean() - np.log(tss(X)), rel=1e-10)
    assert s == pytest.approx(logs.std() * np.sqrt(1 + 1 / B), rel=1e-10)


def test_same_seed_same_figures():
    X = blobs(4, 3, 120, 5)
    for model in ("kmeans", "kmedoids"):
        assert gap_statistic(model, 3, X, OPTIONS, 5, 11) == gap_statistic(model, 3, X, OPTIONS, 5, 11)
        assert (heldout_reconstruction(model, 3, X, OPTIONS, 4, 11)
                == heldout_reconstruction(model, 3, X, OPTIONS, 4, 11))
    assert gap_statistic("kmeans", 3, X, OPTIONS, 5, 11) != gap_statistic("kmeans", 3, X, OPTIONS, 5, 12)


@pytest.mark.parametrize("ks, gaps, s, expected", [
    ([1, 2, 3, 4], [0.1, 0.5, 1.2, 1.15], [0.05] * 4, 3),     # 1.2 >= 1.15 - 0.05
    ([1, 2, 3, 4], [0.1, 0.5, 1.1, 1.15], [0.05] * 4, 3),     # 1.1 >= 1.15 - 0.05: within one s
    ([1, 2, 3, 4], [0.1, 0.5, 1.09, 1.15], [0.05] * 4, 4),    # 1.09 < 1.10: none qualifies, largest
    ([1, 2, 3], [1.0, 0.9, 0.8], [0.01] * 3, 1),              # the first k already qualifies
    ([4, 2, 3, 1], [1.15, 0.5, 1.2, 0.1], [0.05] * 4, 3),     # ks in any order
    ([2, 4, 8], [0.3, 0.6, 0.61], [0.1, 0.1, 0.02], 4),       # the next k in the list, not k + 1
    ([2, 4, 8], [0.3, 0.6, 0.61], [0.1, 0.1, 0.005], 8),      # 0.6 < 0.605: largest gap
    ([1, 2, 3], [0.1, None, 0.5], [0.05] * 3, 3),             # a failed cell is skipped
    ([5], [0.2], [0.1], 5),
])
def test_one_standard_error_rule(ks, gaps, s, expected):
    assert gap_choice(ks, gaps, s) == expected


def test_heldout_error_falls_to_the_true_k_then_flattens():
    X = blobs(4, 2, 200, 3)
    errors = [heldout_reconstruction("kmeans", k, X, OPTIONS, 5, 0) for k in KS]
    assert all(a > b for a, b in zip(errors[:3], errors[1:4]))
    assert errors[2] > 2 * errors[3]                      # the last real split still pays
    assert max(errors[3:]) < 1.2 * errors[3]              # and nothing after it much does
    assert errors[3] == pytest.approx(2.0, rel=0.25)      # two unit-variance coordinates


def test_heldout_error_at_one_cluster_is_the_closed_form():
    """k = 1: the centre is the training folds' mean; the folds are those of the
    cross-validated log-likelihood for the same seed."""
    X, folds = blobs(3, 2, 101, 6), 4
    expected = []
    for held in fold_indices(len(X), folds, 9):
        train = np.delete(X, held, axis=0)
        expected.append(np.mean(np.sum((X[held] - train.mean(axis=0)) ** 2, axis=1)))
    assert heldout_reconstruction("kmeans", 1, X, OPTIONS, folds, 9) == pytest.approx(np.mean(expected))


def test_heldout_error_for_kmedoids_falls_to_the_true_k():
    X = blobs(4, 2, 120, 1)
    errors = [heldout_reconstruction("kmedoids", k, X, OPTIONS, 4, 0) for k in (1, 2, 3, 4, 6)]
    assert all(a > b for a, b in zip(errors[:3], errors[1:4]))
    assert max(errors[3:]) < 1.2 * errors[3]


def test_bad_arguments_are_usage_errors():
    X = blobs(2, 2, 20, 0)
    with pytest.raises(UsageError, match="--reference-draws"):
        gap_statistic("kmeans", 2, X, OPTIONS, 0, 0)
    with pytest.raises(UsageError, match="--folds"):
        heldout_reconstruction("kmeans", 2, X, OPTIONS, 1, 0)


def test_gap_fits_each_cells_own_model_options():
    """The reference fits of a cell are the cell's own model: on Old Faithful a spherical and a
    full-covariance mixture disperse differently, so their gaps differ (they were the same when
    the reference fits dropped the covariance type)."""
    from conftest import FAITHFUL

    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    spec = FitSpec("gmm", {"k": 2, "covariance": "full"}, seed=0)
    full = gap_module.gap_statistic(spec, X, ["eruptions", "waiting"], 3)
    spherical = gap_module.gap_statistic(spec.with_options(covariance="spherical"), X,
                                         ["eruptions", "waiting"], 3)
    assert full != spherical


def test_the_default_criterion_is_gap_for_models_without_a_likelihood(run):
    """select-k -m kmeans with no --criterion decides by gap (bic, the default for the mixtures,
    needs a likelihood); -m gmm keeps bic."""
    import json

    from conftest import FAITHFUL

    result = run("select-k", FAITHFUL, "-m", "kmeans", "--k-range", "1:3", "--reference-draws", 2,
                 "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    table = json.loads(result.stdout)
    assert all(row["gap"] is not None for row in table) and sum(row["best"] for row in table) == 1
    result = run("select-k", FAITHFUL, "--k-range", "1:3", "--covariance", "full", "--output-format", "json")
    assert result.exit_code == 0, result.stderr
    table = json.loads(result.stdout)
    assert "gap" not in table[0]
    assert next(row for row in table if row["best"])["bic"] == min(row["bic"] for row in table)
