"""Variational Bayes for the Gaussian mixture (emcli.models.variational) against scikit-learn's
BayesianGaussianMixture, and its lower bound under coordinate ascent."""

import numpy as np
import pytest

from emcli.models import variational as vb
from emcli.models.gaussian import design, split_moments
from emcli.numeric import normalize_log_rows

K, D = 4, 3
ALPHA, BETA0, NU0 = 0.3, 0.05, D + 1.5


def data():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(80, D)) + 4, rng.normal(size=(120, D))]) * [1.0, 2.0, 0.5]


def prior(X, process: bool) -> vb.Prior:
    return vb.Prior(ALPHA, process, BETA0, np.full(D, 0.1), NU0, 0.7 * np.cov(X.T))


def posterior(X, resp, covariance, process) -> vb.Posterior:
    center = X.mean(axis=0)
    n, s1, s2 = split_moments(design(X, center, covariance).T @ resp, covariance, D)
    return vb.update(prior(X, process), n, s1, s2, covariance == "tied")


def expected_log_joint(post: vb.Posterior, Xc: np.ndarray) -> np.ndarray:
    """(N, K) E_q[log pi_k + log N(x_n | mu_k, Lambda_k^-1)], written out."""
    diff = Xc[:, None, :] - post.means[None]
    precisions = np.broadcast_to(post.precisions, (len(post.means), D, D))
    return vb.log_offsets(post) - 0.5 * np.einsum("nki,kij,nkj->nk", diff, precisions, diff)


def elbo(X, resp, post, process) -> float:
    """The lower bound at q(z) = ``resp`` and q(theta) = ``post``."""
    rho = expected_log_joint(post, X - X.mean(axis=0))
    return float(np.sum(resp * (rho - np.log(resp))) - vb.kl_divergence(prior(X, process), post))


def sklearn_model(X, process: bool, resp):
    from sklearn.mixture import BayesianGaussianMixture

    model = BayesianGaussianMixture(
        n_components=K, covariance_type="full", reg_covar=0.0,
        weight_concentration_prior_type="dirichlet_process" if process else "dirichlet_distribution",
        weight_concentration_prior=ALPHA, mean_precision_prior=BETA0, mean_prior=X.mean(axis=0) + 0.1,
        degrees_of_freedom_prior=NU0, covariance_prior=0.7 * np.cov(X.T))
    model._check_parameters(X)
    model._initialize(X, resp)  # the variational update from these responsibilities
    return model


@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_one_update_matches_scikit_learn(process):
    """From the same responsibilities and priors, the same posterior hyperparameters (1e-8):
    weight concentrations (or stick Beta pairs), beta_k, m_k, nu_k and W_k^-1 (scikit-learn
    keeps W_k^-1 / nu_k as covariances_)."""
    X = data()
    resp = np.random.default_rng(1).dirichlet(np.ones(K), size=len(X))
    post = posterior(X, resp, "full", process)
    theirs = sklearn_model(X, process, resp)
    np.testing.assert_allclose(post.weights, np.array(theirs.weight_concentration_), rtol=1e-8)
    np.testing.assert_allclose(post.beta, theirs.mean_precision_, rtol=1e-8)
    np.testing.assert_allclose(post.means + X.mean(axis=0), theirs.means_, rtol=1e-8)
    np.testing.assert_allclose(post.nu, theirs.degrees_of_freedom_, rtol=1e-8)
    np.testing.assert_allclose(post.scale_inv / post.nu[:, None, None], theirs.covariances_, rtol=1e-8)


@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_the_bound_is_scikit_learns_up_to_a_constant(process):
    """scikit-learn's lower bound leaves out terms that do not depend on q (the data term's
    -N D/2 log 2 pi and the priors' normalisers among them): ours minus theirs is the same
    number whatever the responsibilities."""
    X = data()
    gaps = []
    for seed in range(3):
        resp = np.random.default_rng(seed + 10).dirichlet(np.ones(K), size=len(X))
        theirs = sklearn_model(X, process, resp)._compute_lower_bound(np.log(resp), None)
        gaps.append(elbo(X, resp, posterior(X, resp, "full", process), process) - theirs)
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-10)


@pytest.mark.parametrize("covariance", ["full", "tied"])
@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_coordinate_ascent_never_lowers_the_bound(covariance, process):
    """Each half-step maximises the bound over its factor: the update over q(theta) given the
    responsibilities, the E-step over q(z) given q(theta); and after an E-step the bound is the
    sum of the rows' log normalisers less the KL divergence."""
    X = data()
    Xc = X - X.mean(axis=0)
    resp = np.random.default_rng(2).dirichlet(np.ones(K), size=len(X))
    bounds = []
    for _ in range(15):
        post = posterior(X, resp, covariance, process)
        bounds.append(elbo(X, resp, post, process))
        resp = expected_log_joint(post, Xc)
        normalisers = normalize_log_rows(resp)
        bounds.append(elbo(X, resp, post, process))
        assert bounds[-1] == pytest.approx(normalisers.sum() - vb.kl_divergence(prior(X, process), post),
                                           rel=1e-12)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:])), np.diff(bounds)
