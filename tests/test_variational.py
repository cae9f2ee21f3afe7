"""Variational Bayes for the Gaussian mixture (emcli.models.variational) against scikit-learn's
BayesianGaussianMixture, and its lower bound under coordinate ascent."""

import numpy as np
import pytest
from scipy.special import betaln

from emcli.models import variational as vb
from emcli.models.gaussian import design, split_moments
from emcli.numeric import normalize_log_rows

K, D = 4, 3
ALPHA, BETA0, NU0 = 0.3, 0.05, D + 1.5


def data():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(80, D)) + 4, rng.normal(size=(120, D))]) * [1.0, 2.0, 0.5]


def prior(X, process: bool, covariance: str = "full") -> vb.Prior:
    scale_inv = 0.7 * np.cov(X.T)
    scale_inv = {"diag": np.diag(scale_inv).copy(), "spherical": np.diag(scale_inv).mean()}.get(covariance, scale_inv)
    return vb.Prior(ALPHA, process, BETA0, np.full(D, 0.1), NU0, scale_inv)


def posterior(X, resp, covariance, process) -> vb.Posterior:
    center = X.mean(axis=0)
    n, s1, s2 = split_moments(design(X, center, covariance).T @ resp, covariance, D)
    return vb.update(prior(X, process, covariance), n, s1, s2, covariance)


def expected_log_joint(post: vb.Posterior, Xc: np.ndarray) -> np.ndarray:
    """(N, K) E_q[log pi_k + log N(x_n | mu_k, Lambda_k^-1)], written out."""
    diff = Xc[:, None, :] - post.means[None]
    if post.covariance == "diag":
        return vb.log_offsets(post) - 0.5 * np.einsum("nki,ki->nk", diff * diff, post.precisions)
    if post.covariance == "spherical":
        return vb.log_offsets(post) - 0.5 * (diff * diff).sum(axis=2) * post.precisions
    precisions = np.broadcast_to(post.precisions, (len(post.means), D, D))
    return vb.log_offsets(post) - 0.5 * np.einsum("nki,kij,nkj->nk", diff, precisions, diff)


def elbo(X, resp, post, process, covariance="full") -> float:
    """The lower bound at q(z) = ``resp`` and q(theta) = ``post``."""
    rho = expected_log_joint(post, X - X.mean(axis=0))
    return float(np.sum(resp * (rho - np.log(resp))) - vb.kl_divergence(prior(X, process, covariance), post))


def sklearn_model(X, process: bool, resp, covariance="full", shrink=1.0, nu0=NU0):
    """scikit-learn's model after one update from ``resp``, with the same priors (``nu0``); nu0
    and W0^-1 divided by ``shrink``."""
    from sklearn.mixture import BayesianGaussianMixture

    scale_inv = 0.7 * np.cov(X.T) / shrink
    if covariance == "spherical":
        scale_inv = np.diag(scale_inv).mean()
    elif covariance == "diag":
        scale_inv = np.diag(scale_inv)
    model = BayesianGaussianMixture(
        n_components=K, covariance_type=covariance, reg_covar=0.0,
        weight_concentration_prior_type="dirichlet_process" if process else "dirichlet_distribution",
        weight_concentration_prior=ALPHA, mean_precision_prior=BETA0, mean_prior=X.mean(axis=0) + 0.1,
        degrees_of_freedom_prior=nu0 / shrink, covariance_prior=scale_inv)
    model._check_parameters(X)
    model._initialize(X, resp)  # the variational update from these responsibilities
    return model


@pytest.mark.parametrize("covariance", ["full", "diag"])
@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_one_update_matches_scikit_learn(process, covariance):
    """From the same responsibilities and priors, the same posterior hyperparameters (1e-8):
    weight concentrations (or stick Beta pairs), beta_k, m_k, nu_k and W_k^-1 (scikit-learn
    keeps W_k^-1 / nu_k as covariances_)."""
    X = data()
    resp = np.random.default_rng(1).dirichlet(np.ones(K), size=len(X))
    post = posterior(X, resp, covariance, process)
    theirs = sklearn_model(X, process, resp, covariance)
    np.testing.assert_allclose(post.weights, np.array(theirs.weight_concentration_), rtol=1e-8)
    np.testing.assert_allclose(post.beta, theirs.mean_precision_, rtol=1e-8)
    np.testing.assert_allclose(post.means + X.mean(axis=0), theirs.means_, rtol=1e-8)
    np.testing.assert_allclose(post.nu, theirs.degrees_of_freedom_, rtol=1e-8)
    nu = post.nu[:, None] if covariance == "diag" else post.nu[:, None, None]
    np.testing.assert_allclose(post.scale_inv / nu, theirs.covariances_, rtol=1e-8)


@pytest.mark.parametrize("covariance", ["tied", "spherical"])
@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_tied_and_spherical_are_scikit_learns_with_its_data_weighted_as_stated(covariance, process):
    """scikit-learn's tied update adds N/K to nu (the data counted once per component and
    divided among them) and its spherical one n_k (each row counted once, not once per column);
    emtool's are the exact conjugate updates, N and D n_k.  They are the same posteriors up to
    that factor c (K for tied, D for spherical): scikit-learn's, run with nu0 / c and W0^-1 / c,
    has nu and W^-1 equal to emtool's divided by c, so the same mean precisions E[Lambda]."""
    X = data()
    resp = np.random.default_rng(1).dirichlet(np.ones(K), size=len(X))
    nu0 = 12.0  # scikit-learn wants nu0 / c > D - 1
    n, s1, s2 = split_moments(design(X, X.mean(axis=0), covariance).T @ resp, covariance, D)
    post = vb.update(vb.Prior(ALPHA, process, BETA0, np.full(D, 0.1), nu0, prior(X, process, covariance).scale_inv),
                     n, s1, s2, covariance)
    factor = K if covariance == "tied" else D
    theirs = sklearn_model(X, process, resp, covariance, shrink=factor, nu0=nu0)
    np.testing.assert_allclose(post.weights, np.array(theirs.weight_concentration_), rtol=1e-8)
    np.testing.assert_allclose(post.beta, theirs.mean_precision_, rtol=1e-8)
    np.testing.assert_allclose(post.means + X.mean(axis=0), theirs.means_, rtol=1e-8)
    np.testing.assert_allclose(post.nu / factor, theirs.degrees_of_freedom_, rtol=1e-8)
    scale_inv = post.scale_inv[0] if covariance == "tied" else post.scale_inv
    np.testing.assert_allclose(scale_inv / post.nu, theirs.covariances_, rtol=1e-8)


@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_the_bound_is_scikit_learns_plus_the_constant_it_leaves_out(process):
    """scikit-learn's lower bound leaves out the terms that do not depend on q: ours minus theirs
    is, whatever the responsibilities,

        log C(alpha0) + K log B(W0, nu0) + K D/2 log beta0 - N D/2 log 2 pi + K D (D - 1)/4 log pi

    with log C the weight prior's normaliser (log Gamma(K alpha) - K log Gamma(alpha), or
    -K log Beta(1, alpha) for the sticks), log B(W0, nu0) = nu0/2 log|W0^-1| - nu0 D/2 log 2 -
    log Gamma_D(nu0 / 2) the Wishart's, and the last term the log pi part of Gamma_D, which
    scikit-learn's Wishart normaliser drops."""
    from scipy.special import gammaln, multigammaln

    X = data()
    p = prior(X, process)
    log_c = -K * betaln(1.0, ALPHA) if process else gammaln(K * ALPHA) - K * gammaln(ALPHA)
    log_b = 0.5 * NU0 * np.linalg.slogdet(p.scale_inv)[1] - 0.5 * NU0 * D * np.log(2.0) - multigammaln(0.5 * NU0, D)
    constant = (log_c + K * log_b + 0.5 * K * D * np.log(BETA0) - 0.5 * len(X) * D * np.log(2 * np.pi)
                + K * D * (D - 1) / 4 * np.log(np.pi))
    for seed in range(3):
        resp = np.random.default_rng(seed + 10).dirichlet(np.ones(K), size=len(X))
        theirs = sklearn_model(X, process, resp)._compute_lower_bound(np.log(resp), None)
        ours = elbo(X, resp, posterior(X, resp, "full", process), process)
        assert ours - theirs == pytest.approx(constant, rel=1e-10)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
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
        bounds.append(elbo(X, resp, post, process, covariance))
        resp = expected_log_joint(post, Xc)
        normalisers = normalize_log_rows(resp)
        bounds.append(elbo(X, resp, post, process, covariance))
        kl = vb.kl_divergence(prior(X, process, covariance), post)
        assert bounds[-1] == pytest.approx(normalisers.sum() - kl, rel=1e-12)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:])), np.diff(bounds)


@pytest.mark.parametrize("covariance", ["full", "diag", "spherical"])
@pytest.mark.parametrize("process", [False, True], ids=["dirichlet", "process"])
def test_kl_divergence_against_monte_carlo(covariance, process):
    """KL(q || prior) in closed form against the mean of log q - log p over 8,000 draws from q
    (SciPy's Dirichlet, Beta, Gamma and Wishart densities; the means' normals given each drawn
    precision written out), within four standard errors."""
    from scipy import stats

    X = data()
    resp = np.random.default_rng(3).dirichlet(np.ones(K), size=len(X))
    post, p = posterior(X, resp, covariance, process), prior(X, process, covariance)
    rng = np.random.default_rng(4)
    draws = 8_000
    log_ratio = np.zeros(draws)
    if process:
        for a, b in post.weights.T:
            # v = G_a / (G_a + G_b), its logarithms from the gammas: a stick with b < 1 puts
            # draws so near 1 that v itself rounds to it
            ga, gb = rng.gamma(a, size=draws), rng.gamma(b, size=draws)
            log_v, log_rest = np.log(ga) - np.log(ga + gb), np.log(gb) - np.log(ga + gb)
            log_ratio += ((a - 1) * log_v + (b - 1) * log_rest - betaln(a, b)
                          - ((ALPHA - 1) * log_rest - betaln(1.0, ALPHA)))
    else:
        w = rng.dirichlet(post.weights, size=draws)
        log_ratio += stats.dirichlet(post.weights).logpdf(w.T) - stats.dirichlet(np.full(K, ALPHA)).logpdf(w.T)
    for k in range(K):
        if covariance in ("diag", "spherical"):
            shape = (draws, D) if covariance == "diag" else (draws, 1)
            gamma = rng.gamma(0.5 * post.nu[k], 2.0 / post.scale_inv[k], size=shape)
            log_ratio += (stats.gamma(0.5 * post.nu[k], scale=2.0 / post.scale_inv[k]).logpdf(gamma)
                          - stats.gamma(0.5 * p.nu, scale=2.0 / p.scale_inv).logpdf(gamma)).sum(axis=1)
            lam = np.broadcast_to(gamma, (draws, D))
        else:
            q_w = stats.wishart(post.nu[k], np.linalg.inv(post.scale_inv[k]))
            p_w = stats.wishart(p.nu, np.linalg.inv(p.scale_inv))
            lam = q_w.rvs(size=draws, random_state=rng)
            log_ratio += q_w.logpdf(lam.transpose(1, 2, 0)) - p_w.logpdf(lam.transpose(1, 2, 0))
        # the mean given the precision L: N(m_k, (beta_k L)^-1) against N(m0, (beta0 L)^-1)
        if covariance in ("diag", "spherical"):
            mu = post.means[k] + rng.standard_normal((draws, D)) / np.sqrt(post.beta[k] * lam)
            quad_q = post.beta[k] * np.sum(lam * (mu - post.means[k]) ** 2, axis=1)
            quad_p = p.beta * np.sum(lam * (mu - p.mean) ** 2, axis=1)
        else:
            upper = np.swapaxes(np.linalg.cholesky(lam), 1, 2)  # L = U'U
            step = np.linalg.solve(upper, rng.standard_normal((draws, D, 1)))[..., 0]
            mu = post.means[k] + step / np.sqrt(post.beta[k])
            quad_q = post.beta[k] * np.einsum("ni,nij,nj->n", mu - post.means[k], lam, mu - post.means[k])
            quad_p = p.beta * np.einsum("ni,nij,nj->n", mu - p.mean, lam, mu - p.mean)
        log_ratio += 0.5 * D * np.log(post.beta[k] / p.beta) - 0.5 * quad_q + 0.5 * quad_p
    error = log_ratio.std() / np.sqrt(draws)
    kl = vb.kl_divergence(p, post)
    assert abs(log_ratio.mean() - kl) < 4 * error, (log_ratio.mean(), kl, error)


# -- the driver, through gmm's compiled E-step -----------------------------------------------------


def run(X, covariance, weight_prior, seed, k=10):
    from emcli.em.chunks import chunk_rows
    from emcli.em.start import start_params
    from emcli.em.variational import run_variational
    from emcli.models.gmm import GaussianMixture

    model = GaussianMixture(k, covariance)
    model.prepare(X)
    rng = np.random.default_rng(seed)
    params = start_params(model, X, "k-means++", rng, 4096)
    return run_variational(model, X, params, rows=chunk_rows(model, X.shape[1], n_rows=len(X)), max_iter=1000,
                           tol=1e-8, rng=rng, max_reseeds=0, weight_prior=weight_prior)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("weight_prior", ["dirichlet", "process"])
def test_the_bound_never_decreases_and_components_switch_off(faithful, covariance, weight_prior):
    """On Old Faithful with K = 10 the bound climbs to convergence without a step down, and the
    data switch components off: 2 to 4 left for full, tied and diag.  A spherical component has
    one variance for two columns whose spreads differ 12-fold, so it covers a cluster's long
    axis with several: 6 live, which the bound prefers to any spherical fit of 4 or fewer
    (``test_spherical_raw_faithful_...``); in standardised units every form ends with 2 to 4."""
    result = run(faithful, covariance, weight_prior, seed=1)
    bounds = np.array([row["score"] for row in result.trace])
    assert result.converged and np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    live = result.trace[-1]["live"]
    assert live == 6 if covariance == "spherical" else 2 <= live <= 4, live
    standardised = (faithful - faithful.mean(axis=0)) / faithful.std(axis=0)
    assert 2 <= run(standardised, covariance, weight_prior, seed=1).trace[-1]["live"] <= 4


def test_spherical_raw_faithful_is_better_explained_by_six_spheres(faithful):
    """The bound of spherical fits with exactly K components (best of 4 starts) rises up to
    K = 6 on Old Faithful's raw units: the 6 live components of K = 10 are what the evidence
    for that model favours, not a fit that failed to prune."""
    bounds = {k: max(run(faithful, "spherical", "dirichlet", seed=s, k=k).score for s in range(4))
              for k in (3, 4, 6)}
    assert bounds[3] < bounds[4] < bounds[6], bounds


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_the_compiled_e_step_computes_the_expected_log_joint(covariance):
    """gmm's E-step under ``expected_params`` gives, row by row, log sum_k exp E_q[log p(x, z=k)]
    as written out above, and the statistics of its responsibilities."""
    from scipy.special import logsumexp

    from emcli.models.gmm import GaussianMixture

    X = data()
    model = GaussianMixture(K, covariance)
    model.prepare(X)
    resp = np.random.default_rng(5).dirichlet(np.ones(K), size=len(X))
    post = posterior(X, resp, covariance, False)
    stats, summed = model.e_step(model.expected_params(post), X)
    rho = expected_log_joint(post, X - model.center)
    assert summed == pytest.approx(logsumexp(rho, axis=1).sum(), rel=1e-12)
    weights = np.exp(rho - logsumexp(rho, axis=1, keepdims=True))
    np.testing.assert_allclose(stats["n"], weights.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(stats["s1"], weights.T @ (X - model.center), rtol=1e-10, atol=1e-9)
