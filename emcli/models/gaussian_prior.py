"""The conjugate prior of the Gaussian mixture's components, for MAP estimation.

Fraley & Raftery (2007), "Bayesian regularization for normal mixture estimation and model-based
clustering": each mean is normal about the data mean with covariance S_k / kappa; each
covariance is inverse-Wishart with nu degrees of freedom and scale Lambda (inverse-gamma
per variance for diag and spherical).  Defaults, weak and scaled to the data: kappa = 0.01,
nu = D + 2, Lambda = scale x diag(column variances) with scale = K^(-2/D).  The weights get no
prior.  All arrays are in the model's centred coordinates.
"""

import numpy as np
from scipy.special import gammaln, multigammaln

from emcli.errors import UsageError
from emcli.models.gaussian import symmetrised
from emcli.numeric import LOG_2PI

HYPERPARAMETERS = ("kappa", "nu", "scale")


class ConjugatePrior:
    def __init__(self, covariance: str, k: int, mean: np.ndarray, variances: np.ndarray,
                 given: dict, shared: bool = False):
        """``mean`` (D,) and ``variances`` (D,): the data's column means (centred) and
        variances; ``given``: hyperparameters set by the user, the rest take their defaults.
        ``covariance`` is the storage shape; ``shared``: the components have one covariance
        (tied, and the forms EII and EEI stored per component), which has one prior."""
        unknown = sorted(set(given) - set(HYPERPARAMETERS))
        if unknown:
            raise UsageError(f"unknown prior parameter {unknown[0]!r}; known: {', '.join(HYPERPARAMETERS)}")
        d = len(mean)
        self.covariance, self.k, self.d, self.mean = covariance, k, d, mean
        self.shared = shared or covariance == "tied"
        self.kappa = float(given.get("kappa", 0.01))
        self.nu = float(given.get("nu", d + 2))
        self.scale = float(given.get("scale", k ** (-2.0 / d)))
        if self.kappa < 0 or self.scale <= 0:
            raise UsageError("prior parameters kappa must be >= 0 and scale > 0")
        if self.nu <= (d - 1 if covariance in ("full", "tied") else 0):
            raise UsageError(f"prior parameter nu must exceed {d - 1 if covariance in ('full', 'tied') else 0}")
        #: Lambda: (D, D) for full and tied, (D,) for diag, a number for spherical
        self.lam = self.scale * {"full": np.diag(variances), "tied": np.diag(variances),
                                 "diag": variances, "spherical": variances.mean()}[covariance]

    def hyperparameters(self) -> dict:
        return {"kappa": self.kappa, "nu": self.nu, "scale": self.scale}

    def posterior_mode(self, n_k: np.ndarray, xbar: np.ndarray, scatter: np.ndarray):
        """Means (K, D) and covariances maximising the posterior given each component's
        weighted count ``n_k`` (K,), mean ``xbar`` (K, D) and scatter about it (covariance
        shape; summed over components for tied)."""
        kappa, d = self.kappa, self.d
        means = (n_k[:, None] * xbar + kappa * self.mean) / (n_k + kappa)[:, None]
        offset = xbar - self.mean
        shrink = kappa * n_k / (kappa + n_k) if kappa > 0 else np.zeros_like(n_k)
        if self.covariance == "full":
            spread = self.lam + scatter + shrink[:, None, None] * offset[:, :, None] * offset[:, None, :]
            return means, symmetrised(spread, "full") / (self.nu + n_k + d + 2)[:, None, None]
        if self.covariance == "tied":
            spread = self.lam + scatter + (shrink[:, None] * offset).T @ offset
            return means, symmetrised(spread, "tied") / (self.nu + n_k.sum() + d + 1 + self.k)
        if self.covariance == "diag":
            spread = self.lam + scatter + shrink[:, None] * offset * offset
            return means, spread / (self.nu + n_k + 3)[:, None]
        spread = self.lam + d * scatter + shrink * np.einsum("ki,ki->k", offset, offset)
        return means, spread / (self.nu + 2 + d + d * n_k)

    def form_terms(self, n_k: np.ndarray, xbar: np.ndarray, W: np.ndarray):
        """The posterior mode's means (K, D), and the counts a (K,) and scatters B (K, D, D)
        whose ``forms.m_step`` is the mode's covariances in a constrained form: the posterior
        is  -1/2 sum_k [a_k log|S_k| + tr(B_k S_k^-1)]  in the covariances, given each
        component's weighted count ``n_k`` (K,), mean ``xbar`` (K, D) and scatter about it
        ``W`` (K, D, D).  Each component's prior adds its mean's shrinkage to B_k and the
        prior's scale Lambda; a shared covariance's one prior is split evenly among the K
        components, which gives the same posterior when their covariances are equal."""
        kappa, d, k = self.kappa, self.d, self.k
        means = (n_k[:, None] * xbar + kappa * self.mean) / (n_k + kappa)[:, None]
        offset = xbar - self.mean
        shrink = kappa * n_k / (kappa + n_k) if kappa > 0 else np.zeros_like(n_k)
        # per component: the prior's scale as a matrix, and what it adds to the count (the
        # exponent of the density's |S|^-1/2 beyond the rows': inverse-Wishart and mean prior)
        if self.covariance == "full":
            scale, extra = self.lam, self.nu + d + 2
        elif self.covariance == "diag":
            scale, extra = np.diag(self.lam), self.nu + 3
        else:
            scale, extra = self.lam / d * np.eye(d), (self.nu + 2 + d) / d
        if self.shared:
            scale, extra = scale / k, 1.0 + (extra - 1.0) / k
        B = W + scale + shrink[:, None, None] * offset[:, :, None] * offset[:, None, :]
        return means, n_k + extra, B

    def log_density(self, means: np.ndarray, cov: np.ndarray, precision: np.ndarray,
                    logdet_precision: np.ndarray) -> float:
        """Log prior density of the components' means (K, D) and covariances, given their
        precisions and the (K,) log-determinants of the precisions."""
        d, nu, kappa, k = self.d, self.nu, self.kappa, self.k
        offset = means - self.mean
        if self.covariance in ("full", "tied"):
            precisions = precision if self.covariance == "full" else np.broadcast_to(precision, (k, d, d))
            maha = np.einsum("ki,kij,kj->k", offset, precisions, offset)
            lam_logdet = np.linalg.slogdet(self.lam)[1]
            wisharts = 1 if self.covariance == "tied" else k
            trace = np.einsum("ij,kji->k", self.lam, precisions[:wisharts])
            total = wisharts * (0.5 * nu * lam_logdet - 0.5 * nu * d * np.log(2.0) - multigammaln(0.5 * nu, d))
            total += (0.5 * (nu + d + 1) * logdet_precision[:wisharts] - 0.5 * trace).sum()
        else:
            variances = cov if self.covariance == "diag" else np.repeat(cov[:, None], d, axis=1)
            maha = (offset * offset / variances).sum(axis=1)
            shape, rate = 0.5 * nu, 0.5 * np.broadcast_to(self.lam, (d,))
            inverse_gamma = lambda v, r: shape * np.log(r) - gammaln(shape) - (shape + 1) * np.log(v) - r / v
            priors = 1 if self.shared else k  # one prior for one shared covariance
            if self.covariance == "diag":
                total = inverse_gamma(variances[:priors], rate).sum()
            else:
                total = inverse_gamma(cov[:priors], rate[0]).sum()
        if kappa > 0:
            total += (-0.5 * d * LOG_2PI + 0.5 * d * np.log(kappa) + 0.5 * logdet_precision
                      - 0.5 * kappa * maha).sum()
        return float(total)
