"""Variational Bayes for the Gaussian mixture (Attias 2000; Bishop 2006, section 10.2): the
posterior over the weights, means and precisions is approximated by a factorised q, whose
factors are conjugate to the complete-data likelihood, so that each "M-step" is an update of
their hyperparameters from the E-step's sufficient statistics (n, s1, s2 of gmm's ``Stats``).

Prior, in the model's centred coordinates: the weights Dirichlet(alpha, ..., alpha), or a
truncated Dirichlet process by stick-breaking (v_k ~ Beta(1, alpha), pi_k = v_k prod_{j<k}
(1 - v_j)); each component's precision Lambda_k Wishart(nu0, W0) (one shared for tied) and
mean N(m0, (beta0 Lambda_k)^-1).  The posterior has the same forms with hyperparameters
(alpha_k or the Beta pairs, beta_k, m_k, nu_k, W_k).

For diag the precisions are independent Gamma(nu_k / 2, rate W_kj^-1 / 2) per column (the
Wishart's one-dimensional case, column by column), and W0^-1, W_k^-1 are (D,) and (K, D); for
spherical one Gamma(nu_k / 2, W_k^-1 / 2) precision per component, W0^-1 and W_k^-1 numbers.
The spherical update is the exact conjugate one, nu_k = nu0 + D n_k (every row brings D
squared deviations); scikit-learn's adds n_k (its spherical posterior has the same mean
precision for a prior scaled by D, but is D times less concentrated).

This module holds every form: the update, the expectations the E-step needs
(E[log pi_k], and the Gaussian log density in x whose precision is nu_k W_k and whose offset
carries E[log |Lambda_k|] - D / beta_k), and KL(q || prior), which the evidence lower bound
subtracts from the E-step's sum of log normalisers.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, multigammaln

from emcli.models.gaussian import unpack
from emcli.numeric import LOG_2PI


@dataclass(frozen=True)
class Prior:
    """Hyperparameters of the prior: ``alpha`` the weights' concentration, ``process`` whether
    the weights are stick-breaking (else Dirichlet); ``beta`` (beta0), ``mean`` (m0, (D,)),
    ``nu`` (nu0) and ``scale_inv`` (W0^-1: (D, D), (D,) for diag, a number for spherical)."""

    alpha: float
    process: bool
    beta: float
    mean: np.ndarray
    nu: float
    scale_inv: np.ndarray


@dataclass(frozen=True)
class Posterior:
    """Hyperparameters of q: ``weights`` (K,) Dirichlet concentrations, or (2, K) the Beta
    pairs of the sticks; ``beta`` (K,), ``means`` (K, D), ``nu`` (K,) and ``scale_inv``
    (K, D, D) W_k^-1 (tied: nu and scale_inv of the one shared Wishart, (1,) and (1, D, D);
    diag: (K, D), the Gammas' rates times 2; spherical: (K,))."""

    covariance: str
    weights: np.ndarray
    beta: np.ndarray
    means: np.ndarray
    nu: np.ndarray
    scale_inv: np.ndarray

    @property
    def precisions(self) -> np.ndarray:
        """E[Lambda_k] = nu_k W_k: (K or 1, D, D); (K, D) for diag; (K,) for spherical."""
        if self.covariance == "diag":
            return self.nu[:, None] / self.scale_inv
        if self.covariance == "spherical":
            return self.nu / self.scale_inv
        return self.nu[:, None, None] * np.linalg.inv(self.scale_inv)


def update(prior: Prior, n: np.ndarray, s1: np.ndarray, s2: np.ndarray, covariance: str) -> Posterior:
    """q's hyperparameters from the weighted counts ``n`` (K,), first moments ``s1`` (K, D)
    and second moments ``s2`` as gmm's Stats hold them for ``covariance`` (full: (K, D(D+1)/2)
    packed upper triangles; tied: the (D, D) sum over components; diag: (K, D) squares;
    spherical: (K,) squared norms), all of rows centred as the prior is."""
    d = s1.shape[1]
    weights = weight_posterior(prior.alpha, prior.process, n)
    beta = prior.beta + n
    means = (prior.beta * prior.mean + s1) / beta[:, None]
    # W_k^-1 = W0^-1 + S2_k + beta0 m0 m0' - beta_k m_k m_k', the scatter about m_k in moments
    # of centred rows (no cancellation: the rows are centred near their mean)
    if covariance in ("diag", "spherical"):
        spread = prior.beta * prior.mean ** 2 - beta[:, None] * means ** 2
        if covariance == "spherical":
            return Posterior(covariance, weights, beta, means, prior.nu + d * n,
                             prior.scale_inv + s2 + spread.sum(axis=1))
        return Posterior(covariance, weights, beta, means, prior.nu + n, prior.scale_inv + s2 + spread)
    outer = prior.beta * np.outer(prior.mean, prior.mean) - beta[:, None, None] * means[:, :, None] * means[:, None, :]
    if covariance == "tied":
        scale_inv = (prior.scale_inv + s2 + outer.sum(axis=0))[None]
        nu = np.array([prior.nu + n.sum()])
    else:
        scale_inv = prior.scale_inv + unpack(s2, d) + outer
        nu = prior.nu + n
    return Posterior(covariance, weights, beta, means, nu, 0.5 * (scale_inv + np.swapaxes(scale_inv, 1, 2)))


def weight_posterior(alpha: float, process: bool, n: np.ndarray) -> np.ndarray:
    """q's weight hyperparameters from the (K,) expected counts ``n``: the Dirichlet's
    concentrations alpha + n_k (K,), or with stick-breaking (``process``) the sticks' Beta
    pairs (2, K), (1 + n_k, alpha + sum_{j>k} n_j)."""
    if process:
        after = np.concatenate([np.cumsum(n[::-1])[-2::-1], [0.0]])  # sum_{j>k} n_j
        return np.stack([1.0 + n, alpha + after])
    return alpha + n


def expected_log_weights(post) -> np.ndarray:
    """(K,) E[log pi_k] under q (any posterior with ``weights`` as ``weight_posterior`` gives)."""
    if post.weights.ndim == 2:
        a, b = post.weights
        total = digamma(a + b)
        return digamma(a) - total + np.concatenate([[0.0], np.cumsum(digamma(b) - total)[:-1]])
    return digamma(post.weights) - digamma(post.weights.sum())


def expected_log_det(post: Posterior) -> np.ndarray:
    """(K or 1,) E[log |Lambda_k|] = sum_i psi((nu_k - i) / 2) + D log 2 + log |W_k|; for diag
    sum_j psi(nu_k / 2) + log 2 - log W_kj^-1; for spherical D (psi(nu_k / 2) + log 2 - log
    W_k^-1)."""
    d = post.means.shape[1]
    if post.covariance == "diag":
        return d * (digamma(0.5 * post.nu) + np.log(2.0)) - np.log(post.scale_inv).sum(axis=1)
    if post.covariance == "spherical":
        return d * (digamma(0.5 * post.nu) + np.log(2.0) - np.log(post.scale_inv))
    halves = 0.5 * (post.nu[:, None] - np.arange(d))
    return digamma(halves).sum(axis=1) + d * np.log(2.0) - np.linalg.slogdet(post.scale_inv)[1]


def log_offsets(post: Posterior) -> np.ndarray:
    """(K,) the part of E[log pi_k + log N(x | mu_k, Lambda_k^-1)] that does not depend on x:
    E[log pi_k] + E[log |Lambda_k|] / 2 - D log(2 pi) / 2 - D / (2 beta_k); the rest is
    -(x - m_k)' nu_k W_k (x - m_k) / 2."""
    d = post.means.shape[1]
    return (expected_log_weights(post) + 0.5 * expected_log_det(post) - 0.5 * d * LOG_2PI
            - 0.5 * d / post.beta)


def kl_divergence(prior: Prior, post: Posterior) -> float:
    """KL(q || prior) of the weights, means and precisions."""
    return kl_weights(prior.alpha, post.weights) + _kl_components(prior, post)


def kl_weights(alpha: float, weights: np.ndarray) -> float:
    """KL(q || prior) of the weights: ``weights`` as ``weight_posterior`` gives them, against
    Dirichlet(alpha, ..., alpha) or the sticks' Beta(1, alpha)."""
    if weights.ndim == 2:  # Beta(a, b) against Beta(1, alpha), stick by stick
        a, b = weights
        total = digamma(a + b)
        return float(np.sum(betaln(1.0, alpha) - betaln(a, b) + (a - 1.0) * (digamma(a) - total)
                            + (b - alpha) * (digamma(b) - total)))
    alpha0 = np.full_like(weights, alpha)
    log_pi = digamma(weights) - digamma(weights.sum())
    return float(gammaln(weights.sum()) - gammaln(weights).sum() - gammaln(alpha0.sum())
                 + gammaln(alpha0).sum() + np.sum((weights - alpha0) * log_pi))


def _kl_components(prior: Prior, post: Posterior) -> float:
    """Sum over components of KL(N(m_k, (beta_k Lambda)^-1) W(nu_k, W_k) || the prior's)."""
    k, d = post.means.shape
    if post.covariance in ("diag", "spherical"):
        return _kl_gammas(prior, post)
    log_det = expected_log_det(post)
    scale = np.linalg.inv(post.scale_inv)  # W_k
    # the Wisharts: once for tied, once per component otherwise
    wishart = (_log_wishart_norm(post.nu, post.scale_inv) - _log_wishart_norm(np.array([prior.nu]), prior.scale_inv[None])
               + 0.5 * (post.nu - prior.nu) * log_det
               - 0.5 * post.nu * (d - np.einsum("ij,kji->k", prior.scale_inv, scale)))
    # the means, given each precision: E over Lambda of KL(N(m_k, (beta_k L)^-1) || N(m0, (beta0 L)^-1))
    precisions = post.nu[:, None, None] * scale
    offset = post.means - prior.mean
    maha = np.einsum("ki,kij,kj->k", offset, np.broadcast_to(precisions, (k, d, d)), offset)
    means = 0.5 * (d * (prior.beta / post.beta - 1.0 - np.log(prior.beta / post.beta)) + prior.beta * maha)
    return float(wishart.sum() + means.sum())


def _kl_gammas(prior: Prior, post: Posterior) -> float:
    """The same for diag and spherical: KL of each Gamma(nu_k / 2, W_k^-1 / 2) precision (per
    column, or per component) against the prior's Gamma, and of the mean's normal given the
    precision, column by column."""
    column = (slice(None), None) if post.covariance == "diag" else (slice(None),)
    a, a0 = 0.5 * post.nu[column], 0.5 * prior.nu
    b, b0 = 0.5 * post.scale_inv, 0.5 * prior.scale_inv
    gammas = ((a - a0) * digamma(a) - gammaln(a) + gammaln(a0) + a0 * (np.log(b) - np.log(b0))
              + a * (b0 - b) / b)
    precisions = post.precisions if post.covariance == "diag" else post.precisions[:, None]
    ratio = prior.beta / post.beta[:, None]
    means = 0.5 * (ratio - 1.0 - np.log(ratio) + prior.beta * precisions * (post.means - prior.mean) ** 2)
    return float(gammas.sum() + means.sum())


def _log_wishart_norm(nu: np.ndarray, scale_inv: np.ndarray) -> np.ndarray:
    """(K,) log B(W, nu) of Wishart densities with nu_k degrees of freedom and scale W_k given
    by its inverse: nu/2 log |W^-1| - nu D/2 log 2 - log Gamma_D(nu / 2)."""
    d = scale_inv.shape[-1]
    return (0.5 * nu * np.linalg.slogdet(scale_inv)[1] - 0.5 * nu * d * np.log(2.0)
            - np.array([multigammaln(0.5 * v, d) for v in nu]))


def expected_weights(post) -> np.ndarray:
    """(K,) E[pi_k] under q: alpha_k / sum alpha, or for the sticks E[v_k] prod_{j<k} (1 - E[v_j])
    divided by their sum.  The last stick keeps its Beta (as scikit-learn's does, rather than
    v_K = 1), so the sticks leave E[prod_k (1 - v_k)] of the mass beyond the K components; the
    predictive of a row, which is one of the K, renormalises it away."""
    if post.weights.ndim == 2:
        stick = post.weights[0] / post.weights.sum(axis=0)
        weights = stick * np.concatenate([[1.0], np.cumprod(1.0 - stick)[:-1]])
        return weights / weights.sum()
    return post.weights / post.weights.sum()
