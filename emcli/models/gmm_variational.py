"""The Gaussian mixture's variational side (``-m gmm --algorithm variational``): its prior from
gmm's options, the parameters whose E-step is the variational one, the fitted parameters (q,
its point summaries and the live components), the posterior predictive that ``predict`` and
``sample`` use, and q in the model file.  The mathematics of q is emcli.models.variational.

The posterior predictive of a new row is sum_k E[pi_k] St(x | m_k, S_k, v_k) (Bishop 2006,
10.81), each component a Student-t: full, v_k = nu_k + 1 - D and S_k = W_k^-1 (1 + beta_k) /
(v_k beta_k); tied the same with the shared nu and W; spherical, v_k = nu_k and S_k = W_k^-1
(1 + beta_k) / (nu_k beta_k) I; diag, independent univariate t's per column with v_k = nu_k and
scales W_kj^-1 (1 + beta_k) / (nu_k beta_k).  A row with missing cells has the marginal over
its observed cells: a t of the same degrees of freedom whose scale is the observed block."""

import numpy as np
from scipy.special import gammaln

from emcli.errors import ModelFileError, UsageError
from emcli.models import variational, variational_fit
from emcli.models.variational_fit import Fit


def prior_for(model, weight_prior: str) -> tuple[variational.Prior, dict]:
    """The prior of gmm ``model`` (prepared on its data): the weights' ``alpha`` from its prior
    parameters (default 1 / K), with a Dirichlet (``weight_prior`` dirichlet) or stick-breaking
    (process) prior; the components' from its MAP prior's hyperparameters
    (``gaussian_prior.ConjugatePrior``: beta0 = kappa, nu0 = nu, W0^-1 = its Lambda) about the
    data's mean, with two defaults of its own: kappa 1 (the means' prior worth one row, as
    scikit-learn's and Bishop's; 0.01 lets a component of a handful of rows sit far out) and
    scale 1 (Lambda the column variances) rather than K^(-2/D), since K is here an upper bound,
    and a prior that shrank every component's spread with it would favour many small
    components (on Old Faithful with K = 10, 5 live full-covariance components instead of 2).
    Also its hyperparameters by their --prior-param names, for the model file.  Data with
    missing cells are refused."""
    from emcli.models.gaussian_prior import ConjugatePrior

    process = variational_fit.process(weight_prior)
    if model.incomplete:
        raise UsageError("a variational fit needs complete rows; the data has missing cells")
    given = {"kappa": 1.0, "scale": 1.0, **model.component_prior_params}
    d = len(model.center)
    hyper = ConjugatePrior(model.covariance, model.k, np.zeros(d), model.data_var, given)
    alpha = float(model.prior_params.get("alpha", 1.0 / model.k))
    if not alpha > 0 or not hyper.kappa > 0:
        raise UsageError("prior parameters alpha and kappa must be > 0 for a variational fit")
    prior = variational.Prior(alpha, process, hyper.kappa, np.zeros(d), hyper.nu,
                              hyper.lam)
    return prior, {"alpha": alpha, **hyper.hyperparameters()}


def expected_params(model, post: variational.Posterior):
    """gmm parameters whose E-step is the variational one: each component's precision E[Lambda_k]
    and mean m_k, and log-density offsets ``variational.log_offsets``, so that the compiled pass
    computes E_q[log pi_k + log N(x | mu_k, Lambda_k^-1)] for every row and component; the
    weights shown are E[pi_k].  (Rows with missing cells would need the expectations of their
    conditionals under q, which have no closed form here; ``prior_for`` refuses them.)"""
    params = point_params(model, post)
    # set in place of the cached properties GMMParams would derive from weights and covariances
    params.__dict__["offsets"] = variational.log_offsets(post)
    return params


def point_params(model, post: variational.Posterior, fit: Fit | None = None):
    """gmm parameters of q's point summaries: weights E[pi_k], means m_k and covariances
    E[Lambda_k]^-1 (scikit-learn's ``covariances_``), with ``fit`` (its posterior centred on the
    model's reference point) attached."""
    from emcli.models.gmm import GMMParams

    precisions = post.precisions[0] if post.covariance == "tied" else post.precisions
    if post.covariance in ("full", "tied"):
        cov, logdet = np.linalg.inv(precisions), np.linalg.slogdet(precisions)[1]
    else:
        cov = 1.0 / precisions
        logdet = np.log(precisions).sum(axis=1) if post.covariance == "diag" else len(model.center) * np.log(precisions)
    k = len(post.beta)
    params = GMMParams(post.covariance, variational.expected_weights(post), post.means + model.center, cov,
                       variational=fit)
    params.__dict__["precision"] = (precisions, np.broadcast_to(logdet, (k,)))
    return params


# -- the posterior predictive ----------------------------------------------------------------------


def _student(post: variational.Posterior) -> tuple[np.ndarray, np.ndarray]:
    """(K,) degrees of freedom and the (K, D, D) scale matrices of the predictive components
    ((K, D) per-column squared scales for diag)."""
    k, d = post.means.shape
    if post.covariance in ("diag", "spherical"):
        dof = post.nu
        spread = post.scale_inv if post.covariance == "diag" else post.scale_inv[:, None] * np.ones(d)
        squares = spread * ((1.0 + post.beta) / (post.nu * post.beta))[:, None]
        return dof, squares if post.covariance == "diag" else squares[:, :, None] * np.eye(d)
    dof = np.broadcast_to(post.nu + 1.0 - d, (k,))
    scale = np.broadcast_to(post.scale_inv, (k, d, d)) * ((1.0 + post.beta) / (dof * post.beta))[:, None, None]
    return dof, scale


def _t_log_density(diff: np.ndarray, scale: np.ndarray, dof: float) -> np.ndarray:
    """(N,) log density of the multivariate t with ``dof`` degrees of freedom and (p, p)
    ``scale`` at the (N, p) deviations ``diff`` from its location."""
    from scipy.linalg import solve_triangular

    p = diff.shape[1]
    factor = np.linalg.cholesky(scale)
    z = solve_triangular(factor, diff.T, lower=True)
    maha = np.einsum("ij,ij->j", z, z)
    return (gammaln(0.5 * (dof + p)) - gammaln(0.5 * dof) - 0.5 * p * np.log(dof * np.pi)
            - np.log(np.diag(factor)).sum() - 0.5 * (dof + p) * np.log1p(maha / dof))


def predictive_log_joint(model, params, X: np.ndarray) -> np.ndarray:
    """(N, K) log E[pi_k] + log St_k(x_n) over each row's observed cells, for the rows ``X``
    (N, D) with NaN in missing cells."""
    from emcli.models.missing import patterns

    post = params.variational.posterior
    dof, scale = _student(post)
    Xc = X - model.center
    observed = ~np.isnan(Xc)
    out = np.empty((len(X), len(dof)))
    if post.covariance == "diag":
        for k in range(len(dof)):
            diff = Xc - post.means[k]
            cells = (gammaln(0.5 * (dof[k] + 1.0)) - gammaln(0.5 * dof[k]) - 0.5 * np.log(dof[k] * np.pi * scale[k])
                     - 0.5 * (dof[k] + 1.0) * np.log1p(diff * diff / (dof[k] * scale[k])))
            out[:, k] = np.where(observed, cells, 0.0).sum(axis=1)
    else:
        unique, index = patterns(observed)
        # the rows of each pattern of observed cells; complete data is one group, used uncopied
        complete = len(unique) == 1 and unique[0].all()
        groups = [(np.flatnonzero(index == p), np.flatnonzero(cells)) for p, cells in enumerate(unique)]
        for k in range(len(dof)):
            diff = Xc - post.means[k]
            if complete:
                out[:, k] = _t_log_density(diff, scale[k], dof[k])
                continue
            for rows, cells in groups:
                out[rows, k] = _t_log_density(diff[np.ix_(rows, cells)], scale[k][np.ix_(cells, cells)], dof[k])
    with np.errstate(divide="ignore"):
        return out + np.log(params.weights)


def responsibilities(model, params, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) posterior probabilities of the live components (0 for the others) and the (N,)
    predictive log densities of the rows ``X`` (N, D)."""
    return variational_fit.live_responsibilities(predictive_log_joint(model, params, X), params.variational.live)


def sample(model, params, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, D) rows drawn from the posterior predictive and the (n,) components they came from."""
    post = params.variational.posterior
    k, d = post.means.shape
    dof, scale = _student(post)
    components = rng.choice(k, size=n, p=params.weights / params.weights.sum())
    if post.covariance == "diag":
        draws = rng.standard_t(dof[components][:, None], size=(n, d)) * np.sqrt(scale[components])
    else:
        factors = np.linalg.cholesky(scale)
        normal = np.einsum("nij,nj->ni", factors[components], rng.standard_normal((n, d)))
        draws = normal * np.sqrt(dof[components] / rng.chisquare(dof[components]))[:, None]
    return params.means[components] + draws, components


# -- the model file ------------------------------------------------------------------------------


def to_json(fit: Fit) -> dict:
    post = fit.posterior
    return variational_fit.to_json(fit, {"beta": post.beta.tolist(), "nu": post.nu.tolist(),
                                         "scale_inv": post.scale_inv.tolist()})


def from_json(doc, means: np.ndarray, covariance: str) -> Fit:
    """The Fit of a model file's ``params.posterior`` ``doc`` for centred ``means`` (K, D)."""
    k, d = means.shape
    shape = {"full": (k, d, d), "tied": (1, d, d), "diag": (k, d), "spherical": (k,)}[covariance]

    def read_posterior(post: dict, weights: np.ndarray) -> variational.Posterior:
        beta = variational_fit.read_array(post, "beta", (k,))
        nu = variational_fit.read_array(post, "nu", (1,) if covariance == "tied" else (k,))
        if covariance in ("full", "tied") and np.any(nu <= d - 1):
            raise ModelFileError(f"{variational_fit.FIELD}nu: must exceed {d - 1}, one less than the "
                                 "number of columns")
        scale_inv = variational_fit.posterior_array(post, "scale_inv", shape)
        _check_scale(scale_inv, covariance, variational_fit.FIELD + "scale_inv")
        return variational.Posterior(covariance, weights, beta, means, nu, scale_inv)

    return variational_fit.from_json(doc, k, read_posterior)


def _check_scale(scale_inv: np.ndarray, covariance: str, field: str) -> None:
    if covariance in ("diag", "spherical"):
        if np.any(scale_inv <= 0):
            raise ModelFileError(f"{field}: must be positive")
        return
    if not np.allclose(scale_inv, np.swapaxes(scale_inv, 1, 2)):
        raise ModelFileError(f"{field}: not symmetric")
    try:
        np.linalg.cholesky(scale_inv)
    except np.linalg.LinAlgError:
        raise ModelFileError(f"{field}: not positive definite") from None
