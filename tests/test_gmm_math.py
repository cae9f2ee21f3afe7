"""The Gaussian mixture's mathematics against scikit-learn and against published results."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGMM

from emcli.em.fit import fit, start_params
from emcli.models.gmm import GaussianMixture
from emcli.models.registry import COVARIANCE_TYPES


def one_step_against_sklearn(X, covariance, k=3, seed=0):
    model = GaussianMixture(k, covariance)
    model.prepare(X)
    # the floors differ (scikit-learn adds reg_covar to the diagonal, emcli clips the
    # covariance at its floor), so both go without: none binds on these data
    model.floor[:] = 0.0
    start = start_params(model, X, "k-means++", np.random.default_rng(seed), rows=len(X))
    stats, loglik = model.e_step(start, X)
    ours = model.m_step(stats, start)
    reference = SklearnGMM(k, covariance_type=covariance, weights_init=start.weights,
                           means_init=start.means, precisions_init=start.precision[0],
                           max_iter=1, tol=0, reg_covar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that one iteration did not converge
        reference.fit(X)
    return ours, loglik, reference


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_one_em_iteration_matches_sklearn(faithful, covariance):
    ours, loglik, ref = one_step_against_sklearn(faithful, covariance)
    np.testing.assert_allclose(ours.weights, ref.weights_, rtol=1e-8)
    np.testing.assert_allclose(ours.means, ref.means_, rtol=1e-8)
    np.testing.assert_allclose(ours.cov, ref.covariances_, rtol=1e-8)
    # sklearn's lower bound after one iteration is the mean log-likelihood of the start
    assert loglik == pytest.approx(ref.lower_bound_ * len(faithful), rel=1e-10)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_one_em_iteration_matches_sklearn_in_higher_dimension(covariance):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)) + 100.0
    ours, loglik, ref = one_step_against_sklearn(X, covariance, k=4)
    np.testing.assert_allclose(ours.means, ref.means_, rtol=1e-8)
    np.testing.assert_allclose(ours.cov, ref.covariances_, rtol=1e-8)
    assert loglik == pytest.approx(ref.lower_bound_ * len(X), rel=1e-10)


def test_faithful_tied_three_reaches_mclust(faithful):
    outcome = fit(GaussianMixture(3, "tied"), faithful, restarts=10)
    assert outcome.best.score >= -1126.32
    assert outcome.best.converged


def test_faithful_full_two_reaches_reference(faithful):
    outcome = fit(GaussianMixture(2, "full"), faithful, restarts=10)
    assert outcome.best.score >= -1130.27


@pytest.mark.parametrize("covariance,expected", [("full", 11), ("tied", 11)])
def test_parameter_count(faithful, covariance, expected):
    k = 2 if covariance == "full" else 3
    model = GaussianMixture(k, covariance)
    outcome = fit(model, faithful)
    assert model.n_parameters(outcome.best.params) == expected


def test_log_density_is_the_mixture_density(faithful):
    from scipy.stats import multivariate_normal

    model = GaussianMixture(3, "full")
    params = fit(model, faithful).best.params
    resp, logpdf = model.responsibilities(params, faithful)
    density = sum(w * multivariate_normal(m, c).pdf(faithful)
                  for w, m, c in zip(params.weights, params.means, params.cov))
    np.testing.assert_allclose(logpdf, np.log(density), rtol=1e-10)
    joint = np.stack([w * multivariate_normal(m, c).pdf(faithful)
                      for w, m, c in zip(params.weights, params.means, params.cov)], axis=1)
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), atol=1e-12)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_probabilities_of_far_rows_sum_to_one(faithful, covariance):
    model = GaussianMixture(3, covariance)
    params = fit(model, faithful).best.params
    far = np.array([[1e6, 1e6], [-1e6, 1e6], [1e6, -3e6], [0.0, 1e6]])
    resp, logpdf = model.responsibilities(params, far)
    assert np.all(np.isfinite(resp)) and np.all(np.isfinite(logpdf))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)


def test_collapsed_component_is_reseeded_and_recorded():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), np.repeat([[8.0, 8.0]], 5, axis=0)])
    model = GaussianMixture(3, "full")
    # single seedings: short runs would pick starts that never collapse
    outcome = fit(model, X, restarts=3, max_iter=200, start_runs=1)
    events = [row["event"] for restart in [outcome.best] for row in restart.trace[1:] if row["event"]]
    assert np.isfinite(outcome.best.score)
    assert events and all("re-seeded component" in event for event in events)
    # the point mass at (8, 8) would give an unbounded likelihood without the floor
    assert np.all(np.linalg.eigvalsh(outcome.best.params.cov) > 0)


def test_empty_component_is_reseeded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    model = GaussianMixture(2, "diag")
    model.prepare(X)
    start = model.params_from_centres(np.array([[0.0, 0.0], [1e3, 1e3]]))
    from emcli.em.batch import run_batch

    run = run_batch(model, X, start, rows=100, max_iter=30, tol=1e-8, rng=rng, max_reseeds=4)
    assert "re-seeded component 1 (empty)" in run.trace[1]["event"]
    assert run.params.weights[1] > 0.05



@pytest.mark.parametrize("covariance", ["full", "tied"])
def test_the_m_step_writes_exactly_symmetric_covariances(covariance):
    """Issue 13, item 8: a fit wrote a covariance whose triangles differed, which predict then
    refused.  Whatever the rounding of the scatter, the M-step's matrices are symmetric bit for bit."""
    from emcli.models import gaussian
    from emcli.models.gaussian_prior import ConjugatePrior

    rng = np.random.default_rng(0)
    k, d = 3, 4
    spread = rng.normal(size=(k, d, d) if covariance == "full" else (d, d))
    spread = spread @ np.swapaxes(spread, -1, -2) + rng.normal(scale=1e-9, size=spread.shape)
    n_k, mc = np.array([10.0, 20.0, 30.0]), rng.normal(size=(k, d))
    _, cov = gaussian.floored_estimate(n_k, np.ones(k, bool), mc, spread, covariance,
                                       np.full(d, 1e-6), np.zeros(d), None)
    assert np.array_equal(cov, np.swapaxes(cov, -1, -2))
    prior = ConjugatePrior(covariance, k, np.zeros(d), np.ones(d), {})
    _, cov = prior.posterior_mode(n_k, mc, spread)
    assert np.array_equal(cov, np.swapaxes(cov, -1, -2))
