"""Deterministic annealing: splitting merged components, and the gain over batch EM."""

import numpy as np

from emcli.em.fit import fit
from emcli.em.merged import bisect, coincident_groups, split_merged
from emcli.models.gmm import GaussianMixture


def grid(rng, per_cluster=100):
    """A 3 x 3 grid of unit Gaussian clusters 4 apart: many local optima for K = 9."""
    centres = 4.0 * np.array([(i, j) for i in range(3) for j in range(3)])
    return np.vstack([rng.normal(c, 1.0, (per_cluster, 2)) for c in centres])


def test_coincident_groups_are_columns_that_differ_by_a_constant():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 50))
    log_joint = np.column_stack([a, b, a - 2.0, b + 0.01 * rng.normal(size=50), a + 5.0])
    assert coincident_groups(log_joint) == [[0, 2, 4], [1, 3]]
    assert coincident_groups(log_joint[:, :2]) == []


def test_bisect_shares_the_weights_along_the_principal_direction():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal((-5, 0), 0.5, (60, 2)), rng.normal((5, 0), 0.5, (60, 2))])
    left, right = bisect(X, np.ones(120), 2)
    np.testing.assert_array_equal(left + right, 1.0)
    sides = {tuple(np.unique(np.sign(X[part > 0, 0]))) for part in (left, right)}
    assert sides == {(-1.0,), (1.0,)}
    weights = rng.uniform(0.5, 1.0, 120)
    parts = bisect(X, weights, 3)
    np.testing.assert_allclose(sum(parts), weights)
    masses = [p.sum() / weights.sum() for p in parts]
    np.testing.assert_allclose(masses, [1 / 3, 1 / 3, 1 / 3], atol=0.02)


def test_merged_components_are_split_into_distinct_ones():
    X = grid(np.random.default_rng(2))
    model = GaussianMixture(9, "full")
    model.prepare(X)
    merged = fit(GaussianMixture(1, "full"), X).best.params
    params = type(merged)("full", np.full(9, 1 / 9), np.repeat(merged.means, 9, axis=0),
                          np.repeat(merged.cov, 9, axis=0))
    split, event = split_merged(model, params, X)
    assert event == "split merged components 0,1,2,3,4,5,6,7,8"
    assert coincident_groups(model.log_joint(split, X)) == []
    assert split_merged(model, split, X) == (split, None)


def test_annealing_beats_batch_em_on_average_from_poor_starts():
    """20 random-row starts on the grid: annealed EM ends higher on average, and higher or
    equal from most starts."""
    X = grid(np.random.default_rng(1))
    batch, annealed = [], []
    for seed in range(20):
        batch.append(fit(GaussianMixture(9, "full"), X, init="random", seed=seed).best.score)
        run = fit(GaussianMixture(9, "full"), X, init="random", seed=seed, algorithm="annealed").best
        annealed.append(run.score)
    batch, annealed = np.array(batch), np.array(annealed)
    assert annealed.mean() > batch.mean() + 10.0
    assert np.sum(annealed >= batch - 1e-6 * np.abs(batch)) >= 14
