"""k-medoids: brute-force optima, the M-step's choice, the additive statistic, bounded memory,
metric and model-file checks, and the command line."""

import itertools
import json
import pathlib
import shutil
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from emcli.em.batch import run_batch
from emcli.em.chunks import accumulate
from emcli.em.fit import fit, start_params
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.kmedoids import KMedoids, Medoids

from conftest import draw_mixture

EMTOOL = shutil.which("emtool", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("emtool")


def total_dissimilarity(X, rows, metric):
    return cdist(X, X[list(rows)], metric=metric).min(axis=1).sum()


def brute_force(X, k, metric):
    """The smallest total dissimilarity over every set of k rows as medoids."""
    return min(total_dissimilarity(X, rows, metric) for rows in itertools.combinations(range(len(X)), k))


def fitted(X, k, metric="euclidean", **options):
    model = KMedoids(k, metric)
    return model, fit(model, X, **options).best


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine", "chebyshev"])
@pytest.mark.parametrize("k", [2, 3])
def test_restarts_reach_the_brute_force_optimum(metric, k):
    # The Voronoi iteration stops at a local optimum (one random start finds the global one on
    # only about a third of such data sets); restarts find it.
    X = np.random.default_rng(k).normal(size=(12, 3)) + [1.0, 0.0, 0.0]
    optimum = brute_force(X, k, metric)
    _, best = fitted(X, k, metric, restarts=20, init="random")
    assert -best.score == pytest.approx(optimum, rel=1e-12)
    assert total_dissimilarity(X, best.params.rows, metric) == pytest.approx(optimum, rel=1e-12)
    np.testing.assert_array_equal(best.params.medoids, X[best.params.rows])


@pytest.mark.parametrize("metric", ["cityblock", "cosine", "chebyshev", "canberra", "correlation",
                                    "braycurtis", "jensenshannon", "sqeuclidean", "minkowski"])
def test_objective_never_increases_under_any_metric(metric):
    X = np.abs(np.random.default_rng(10).normal(size=(300, 4))) + 0.1
    X[:100, :2] += 3.0
    model = KMedoids(4, metric)
    model.prepare(X)
    rng = np.random.default_rng(0)
    for method in ("k-means++", "random"):
        start = start_params(model, X, method, rng, rows=len(X))
        run = run_batch(model, X, start, rows=37, max_iter=15, tol=0, rng=rng, max_reseeds=0)
        inertia = -np.array([row["score"] for row in run.trace])
        assert np.all(np.diff(inertia) <= 1e-12 * inertia[1:]), inertia


def test_objective_is_the_sum_of_dissimilarities_not_squares():
    X = np.random.default_rng(0).normal(size=(40, 2))
    model, best = fitted(X, 2, "euclidean")
    assert -best.score == pytest.approx(total_dissimilarity(X, best.params.rows, "euclidean"), rel=1e-12)


def test_m_step_picks_the_member_with_the_smallest_sum_lowest_row_on_ties():
    # One cluster of four equally spaced points: rows 1 and 2 both minimise the sum (4).
    X = np.array([[3.0], [1.0], [2.0], [0.0], [10.0], [11.0]])
    model = KMedoids(2, "cityblock")
    model.prepare(X)
    start = Medoids(X[[3, 4]].copy(), np.array([3, 4]))
    stats, _ = model.e_step(start, X)
    np.testing.assert_allclose(stats["candidates"], [6, 4, 4, 6, 1, 1])
    after = model.m_step(stats, start)
    assert after.rows.tolist() == [1, 4]
    np.testing.assert_array_equal(after.medoids, X[[1, 4]])


@pytest.mark.parametrize("metric", ["euclidean", "canberra", "correlation"])
def test_candidate_statistic_matches_the_full_matrix(metric):
    X = np.random.default_rng(1).normal(size=(60, 4)) + 5.0
    model = KMedoids(3, metric)
    model.prepare(X)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    stats, _ = accumulate(lambda block: model.e_step(params, block), X, 11)
    full = cdist(X, X, metric=metric)
    labels = full[:, params.rows].argmin(axis=1)
    expected = np.array([full[labels == labels[m], m].sum() for m in range(len(X))])
    np.testing.assert_allclose(stats["candidates"], expected, rtol=1e-12)
    np.testing.assert_array_equal(stats["n"], np.bincount(labels, minlength=3))


def test_training_rows_are_assigned_once_per_set_of_medoids(monkeypatch):
    X = np.random.default_rng(2).normal(size=(300, 2))
    model = KMedoids(3)
    model.prepare(X)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    calls = []
    nearest = model._nearest
    monkeypatch.setattr(model, "_nearest", lambda rows, medoids: calls.append(len(rows)) or nearest(rows, medoids))
    stats, _ = accumulate(lambda block: model.e_step(params, block), X, 30)
    model.m_step(stats, params)
    assert calls.count(len(X)) == 1 and calls.count(30) == 10


def test_memory_stays_far_below_the_full_matrix():
    # One cluster of every row: the statistic needs all N^2 dissimilarities, summed over tiles.
    n = 3000
    X = np.random.default_rng(3).normal(size=(n, 5))
    model = KMedoids(1, "cityblock")
    model.prepare(X)
    params = start_params(model, X, "random", np.random.default_rng(0), rows=n)
    tracemalloc.start()
    try:
        stats, _ = model.e_step(params, X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n * n * 8 / 5
    np.testing.assert_allclose(stats["candidates"][::97], cdist(X, X[::97], "cityblock").sum(axis=0), rtol=1e-12)


def test_medoids_resist_an_outlier_that_pulls_the_mean():
    X = np.vstack([np.random.default_rng(4).normal(size=(50, 2)), [[1000.0, 1000.0]]])
    _, best = fitted(X, 1)
    assert np.abs(best.params.medoids[0]).max() < 1.0 < np.abs(X.mean(axis=0)).max()


def test_clusters_recovered_under_cityblock():
    means = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    X, truth = draw_mixture(np.random.default_rng(5), np.full(3, 1 / 3), means, np.tile(np.eye(2), (3, 1, 1)), 900)
    model, best = fitted(X, 3, "cityblock", restarts=3)
    labels = model.labels(best.params, X)
    agree = max(np.mean(np.array(p)[labels] == truth) for p in itertools.permutations(range(3)))
    assert agree > 0.97


def test_an_empty_cluster_is_reported_and_reseeded_away_from_the_medoids():
    X = np.vstack([np.zeros((3, 2)), np.random.default_rng(6).normal(size=(20, 2)) + 5.0])
    model = KMedoids(2)
    model.prepare(X)
    params = Medoids(X[[0, 1]].copy(), np.array([0, 1]))  # the same point twice
    stats, _ = model.e_step(params, X)
    assert stats["n"].tolist() == [len(X), 0]
    assert model.degenerate(params, stats) == [(1, "empty")]
    reseeded = model.reseed(params, [1], X, np.random.default_rng(0))
    assert reseeded.rows[1] >= 3
    np.testing.assert_array_equal(reseeded.medoids[1], X[reseeded.rows[1]])


def test_medoids_at_zero_dissimilarity_are_reseeded_during_a_fit():
    # Three rays: under cosine every row of a ray is at dissimilarity 0 from the others, so two
    # starting medoids on one ray leave a cluster empty (random rows, seed 3, do).
    t = np.arange(1.0, 11.0)[:, None]
    X = np.vstack([t * [1.0, 0.0], t * [0.0, 1.0], t * [1.0, 1.0]])
    _, best = fitted(X, 3, "cosine", init="random", seed=3)
    assert any("re-seeded component" in (row["event"] or "") for row in best.trace)
    assert -best.score == pytest.approx(0.0, abs=1e-12)
    assert sorted(best.params.rows // 10) == [0, 1, 2]


@pytest.mark.parametrize("metric", ["nope", "seuclidean", "mahalanobis", 3])
def test_a_bad_metric_is_a_one_line_usage_error(metric):
    with pytest.raises(UsageError) as caught:
        KMedoids(2, metric)
    assert "\n" not in str(caught.value) and "--metric" in str(caught.value)


def test_aliases_and_boolean_metrics_are_accepted():
    X = (np.random.default_rng(7).random((50, 6)) > 0.5).astype(float)
    for metric in ("cityblock", "cblock", "jaccard", "hamming", "sqeuclidean", "minkowski"):
        _, best = fitted(X, 2, metric)
        assert -best.score == pytest.approx(total_dissimilarity(X, best.params.rows, metric), rel=1e-12)


def test_an_undefined_dissimilarity_names_the_row():
    X = np.array([[1.0, 2.0], [2.0, 1.0], [0.0, 0.0], [3.0, 3.0]])
    with pytest.raises(DataError, match=r"^row 3: the cosine dissimilarity is undefined"):
        fitted(X, 2, "cosine")


def test_model_file_rows_are_validated():
    model = KMedoids(2)
    good = {"medoids": [[0.0, 1.0], [2.0, 3.0]], "rows": [4, 7]}
    params = model.from_json(good, 2)
    assert model.to_json(params) == good
    for rows in ([4], [4, 4], [-1, 2], [1.0, 2.0], [True, 2], "4, 7", [2**70, 1]):
        with pytest.raises(ModelFileError, match=r"^params\.rows: "):
            model.from_json(dict(good, rows=rows), 2)
    with pytest.raises(ModelFileError, match=r"^params\.rows: missing"):
        model.from_json({"medoids": good["medoids"]}, 2)


def test_stats_are_plain_sums_that_subtract():
    X = np.random.default_rng(8).normal(size=(90, 3))
    model = KMedoids(2, "chebyshev")
    model.prepare(X)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    first, _ = model.e_step(params, X[:40])
    second, _ = model.e_step(params, X[40:])
    whole, _ = model.e_step(params, X)
    assert isinstance(whole, Stats)
    for name in whole:
        np.testing.assert_allclose((whole - second)[name], first[name], atol=1e-12)


def write_blobs(path, n=200):
    X, _ = draw_mixture(np.random.default_rng(9), [0.5, 0.5], np.array([[0.0, 0.0], [6.0, 6.0]]),
                        np.tile(np.eye(2), (2, 1, 1)), n)
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    return X


def test_cli_fit_and_predict(run):
    X = write_blobs(pathlib.Path("data.csv"))
    result = run("fit", "data.csv", "-m", "kmedoids", "-k", 2, "--metric", "cityblock",
                 "--restarts", 3, "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["options"] == {"k": 2, "metric": "cityblock"}
    assert set(doc["params"]) == {"medoids", "rows"}
    rows = doc["params"]["rows"]
    np.testing.assert_array_equal(doc["params"]["medoids"], X[rows])
    assert doc["fit"]["inertia"] == pytest.approx(total_dissimilarity(X, rows, "cityblock"), rel=1e-12)
    assert doc["fit"]["n_parameters"] == 4 and "bic" not in doc["fit"]
    result = run("predict", "m.json", "data.csv")
    assert result.exit_code == 0, result.output
    clusters = np.array([int(line.rsplit(",", 1)[1]) for line in result.stdout.splitlines()[1:]])
    np.testing.assert_array_equal(clusters, cdist(X, X[rows], "cityblock").argmin(axis=1))


def test_cli_rejects_an_unknown_metric_with_one_line_and_no_file(tmp_path):
    write_blobs(tmp_path / "data.csv", n=20)
    done = subprocess.run([EMTOOL, "fit", "data.csv", "-m", "kmedoids", "-k", "2", "--metric", "nope",
                           "-o", "out.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "euclidean" in lines[0] and "cityblock" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]
