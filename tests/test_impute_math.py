"""The filling maths of emtool impute against direct per-row computations with numpy and scipy."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from emcli.impute.fill import conditional_draws, conditional_means
from emcli.impute.table import Completion
from emcli.models.registry import COVARIANCE_TYPES
from emcli.models.gmm import GaussianMixture, GMMParams
from emcli.models.missing import Conditional, patterns

from cases.gmm import COVS, MEANS, WEIGHTS
from conftest import draw_mixture


def random_mixture(rng, k, d):
    """Weights (K,), means (K, D) and well-conditioned full covariances (K, D, D)."""
    a = rng.normal(size=(k, d, d))
    covs = a @ np.swapaxes(a, 1, 2) / d + 0.5 * np.eye(d)
    return rng.dirichlet(np.full(k, 3.0)), rng.normal(scale=2.0, size=(k, d)), covs


def hide(X, rng, share):
    X = X.copy()
    X[rng.random(X.shape) < share] = np.nan
    return X


def per_row(weights, means, covs, x):
    """A row's posterior weights (K,), and per component the conditional mean (K, m) and
    covariance (K, m, m) of its missing cells, by solving with S_OO for this row alone."""
    o, m = ~np.isnan(x), np.isnan(x)
    log_joint = np.log(weights) + np.array(
        [stats.multivariate_normal(mu[o], c[np.ix_(o, o)]).logpdf(x[o]) if o.any() else 0.0
         for mu, c in zip(means, covs)])
    resp = np.exp(log_joint - log_joint.max())
    resp /= resp.sum()
    centre, spread = [], []
    for mu, c in zip(means, covs):
        if o.any():
            gain = np.linalg.solve(c[np.ix_(o, o)], c[np.ix_(o, m)]).T  # S_MO S_OO^-1
            centre.append(mu[m] + gain @ (x[o] - mu[o]))
            spread.append(c[np.ix_(m, m)] - gain @ c[np.ix_(o, m)])
        else:
            centre.append(mu[m])
            spread.append(c[np.ix_(m, m)])
    return resp, np.array(centre), np.array(spread)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_conditional_means_are_the_posterior_weighted_regressions(covariance):
    rng = np.random.default_rng(0)
    X = hide(draw_mixture(rng, WEIGHTS, MEANS, COVS, 300)[0], rng, 0.35)
    X = np.column_stack([X, X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=len(X))])
    model = GaussianMixture(3, covariance)
    weights, means, covs = random_mixture(rng, 3, 3)
    cov = {"full": covs, "tied": covs[0], "diag": np.einsum("kii->ki", covs),
           "spherical": np.einsum("kii->k", covs) / 3}[covariance]
    params = GMMParams(covariance, weights, means, cov)
    filled = conditional_means(model, params, X)
    dense = model._component_covs(params)
    for x, out in zip(X, filled):
        m = np.isnan(x)
        np.testing.assert_array_equal(out[~m], x[~m])
        if m.any():
            resp, centre, _ = per_row(weights, means, dense, x)
            np.testing.assert_allclose(out[m], resp @ centre, rtol=1e-10, atol=1e-10)


def test_a_row_with_nothing_observed_gets_the_mixture_mean():
    rng = np.random.default_rng(1)
    weights, means, covs = random_mixture(rng, 2, 4)
    X = np.full((3, 4), np.nan)
    X[1, 2] = 0.3
    filled = conditional_means(GaussianMixture(2), GMMParams("full", weights, means, covs), X)
    np.testing.assert_allclose(filled[0], weights @ means, rtol=1e-12)
    np.testing.assert_allclose(filled[2], weights @ means, rtol=1e-12)
    resp, centre, _ = per_row(weights, means, covs, X[1])
    np.testing.assert_allclose(filled[1, [0, 1, 3]], resp @ centre, rtol=1e-10)


def test_conditional_draws_are_whitened_to_independent_normals_by_the_per_row_moments():
    """One Gaussian, 2,000 rows with distinct patterns: every row's drawn cells, centred on the
    per-row conditional mean and whitened by the per-row conditional covariance, are
    independent standard normal values (Kolmogorov-Smirnov, and their mean and variance)."""
    rng = np.random.default_rng(2)
    _, means, covs = random_mixture(rng, 1, 8)
    X = hide(rng.multivariate_normal(means[0], covs[0], size=2000), rng, 0.4)
    drawn = conditional_draws(GaussianMixture(1), GMMParams("full", np.ones(1), means, covs), X,
                              np.random.default_rng(3))
    white = []
    for x, out in zip(X, drawn):
        m = np.isnan(x)
        np.testing.assert_array_equal(out[~m], x[~m])
        if m.any():
            _, centre, spread = per_row(np.ones(1), means, covs, x)
            white.append(np.linalg.solve(np.linalg.cholesky(spread[0]), out[m] - centre[0]))
    white = np.concatenate(white)
    assert len(white) > 5000
    assert stats.kstest(white, "norm").pvalue > 1e-3
    assert abs(white.mean()) < 4 / np.sqrt(len(white))
    assert abs(white.var() - 1) < 4 * np.sqrt(2 / len(white))


def test_draws_of_a_mixture_pick_components_by_their_posterior():
    """Copies of three rows, each with its own pattern: the draws' mean and covariance are
    the mixture's conditional ones, sum_k r_k c_k and sum_k r_k (C_k + c_k c_k') - mean mean'."""
    rng = np.random.default_rng(4)
    weights, means, covs = random_mixture(rng, 3, 4)
    rows = np.array([[0.5, np.nan, np.nan, -1.0], [np.nan, 1.0, np.nan, np.nan],
                     [2.0, -1.0, 0.0, np.nan]])
    copies = 40000
    X = np.repeat(rows, copies, axis=0)
    drawn = conditional_draws(GaussianMixture(3), GMMParams("full", weights, means, covs), X,
                              np.random.default_rng(5))
    for i, x in enumerate(rows):
        m = np.isnan(x)
        resp, centre, spread = per_row(weights, means, covs, x)
        mean = resp @ centre
        second = np.einsum("k,kij->ij", resp, spread + centre[:, :, None] * centre[:, None, :])
        cov = second - np.outer(mean, mean)
        sample = drawn[i * copies:(i + 1) * copies][:, m]
        sd = np.sqrt(np.diag(cov))
        assert np.all(np.abs(sample.mean(axis=0) - mean) < 5 * sd / np.sqrt(copies))
        np.testing.assert_allclose(np.cov(sample.T).reshape(cov.shape), cov,
                                   atol=6 * np.sqrt(2.0 / copies) * np.outer(sd, sd).max())


def test_draws_are_reproducible_and_leave_complete_rows_alone():
    rng = np.random.default_rng(6)
    weights, means, covs = random_mixture(rng, 2, 3)
    X = hide(rng.normal(size=(500, 3)), rng, 0.3)
    params = GMMParams("full", weights, means, covs)
    first = conditional_draws(GaussianMixture(2), params, X, np.random.default_rng(7))
    again = conditional_draws(GaussianMixture(2), params, X, np.random.default_rng(7))
    other = conditional_draws(GaussianMixture(2), params, X, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    complete = ~np.isnan(X).any(axis=1)
    np.testing.assert_array_equal(first[complete], X[complete])
    assert not np.isnan(first).any() and np.any(first != other)


def test_conditional_of_every_pattern_size_including_none_and_all():
    """Complete rows keep their cells and full density; a row with nothing observed has
    density 1 (log 0), the mean, and the whole covariance as its spread."""
    rng = np.random.default_rng(9)
    _, means, covs = random_mixture(rng, 1, 3)
    X = np.array([[0.1, 0.2, 0.3], [np.nan, np.nan, np.nan], [np.nan, 0.5, np.nan]])
    observed = ~np.isnan(X)
    unique, index = patterns(observed)
    cond = Conditional(np.where(observed, X - means[0], 0.0), unique, index, means[0], covs[0])
    assert cond.log_density[0] == pytest.approx(stats.multivariate_normal(means[0], covs[0]).logpdf(X[0]))
    assert cond.log_density[1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(cond.filled[1], means[0], rtol=1e-12)
    np.testing.assert_allclose(cond.spread(np.array([0.0, 1.0, 0.0])), covs[0], rtol=1e-10)


def test_completed_tables_keep_types_and_observed_cells():
    table = pa.table({"n": pa.array([1, None, 3, 4], pa.int32()),
                      "x": pa.array([0.5, 1.5, None, 2.5], pa.float32()),
                      "label": ["a", None, "c", "d"],
                      "big": pa.array([2**60 + 1, None, 5, 7], pa.int64())})
    X = np.array([[1, 0.5, 2**60 + 1], [np.nan, 1.5, np.nan], [3, np.nan, 5], [4, 2.5, 7]], dtype=float)
    completed = np.where(np.isnan(X), [[7.6, 9.0, -3.4]], X)
    rounded = Completion(table, ["n", "x", "big"], X, round_integers=True, clip=False, name="t")
    out = rounded.table(completed)
    assert out.schema == table.schema
    assert out.column("n").to_pylist() == [1, 8, 3, 4]
    assert out.column("x").to_pylist() == [0.5, 1.5, 9.0, 2.5]
    assert out.column("label").to_pylist() == ["a", None, "c", "d"]
    assert out.column("big").to_pylist() == [2**60 + 1, -3, 5, 7]
    assert rounded.filled_counts() == {"n": 1, "x": 1, "big": 1}
    clipped = Completion(table, ["n", "x", "big"], X, round_integers=False, clip=True, name="t").table(completed)
    assert clipped.column("n").type == pa.float64()
    assert clipped.column("n").to_pylist() == [1.0, 4.0, 3.0, 4.0]
    assert clipped.column("x").to_pylist() == [0.5, 1.5, 2.5, 2.5]
    assert clipped.column("big").to_pylist() == [float(2**60 + 1), 5.0, 5.0, 7.0]
