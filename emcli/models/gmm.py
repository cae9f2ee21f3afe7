"""Gaussian mixture: K weighted multivariate normal components, fit by EM.

Covariances are full (each component its own ellipsoid), tied (one shared ellipsoid), diag
(axis-aligned) or spherical, or any of mclust's fourteen forms between them (emcli.models.forms:
EII .. VVV, the four above being VVV, EEE, VVI and VII), each stored in the shape of one of the
four so that everything but the M-step (emcli.models.gmm_forms) is theirs.  By maximum
likelihood, a covariance floor of --reg-covar times each column's variance keeps components
from shrinking onto a point (the M-step maximises over covariances at least the floor:
gaussian.clipped_to_floor; in the constrained forms that a clip would break, the floor is a
penalty instead, gmm_forms.floor_penalty), and a component that
empties or collapses anyway is re-seeded at a random row (an event in the trace).  With
--prior default the fit is MAP under the weak conjugate prior of Fraley and Raftery (2007),
which keeps every covariance well conditioned when rows are few or columns many.  Missing
cells are hidden values: each row contributes through its observed cells, and the E-step
completes the rest with their conditional means and covariances; a row with every cell
missing adds nothing to the likelihood, and a fit skips it with a note.

With --algorithm variational the fit is variational Bayes (emcli.models.gmm_variational): a
posterior over the weights, means and precisions under conjugate priors, -k an upper bound whose
unsupported components empty (--weight-prior dirichlet or process, --prior-param alpha, kappa,
nu, scale; --prune); predict and sample then use the posterior predictive, Student-t components.

The E-step over complete rows is one compiled pass per chunk (gaussian.complete_pass: design
rows, two GEMMs and a fused log-sum-exp), on rows centred on a fixed reference point so that
second moments do not cancel on data far from the origin.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from emcli.em.moments import column_summary
from emcli.em.protocol import (Centres, Conditionals, Diagnosing, Missing, Posterior, Prior, Reseeding, Sampling, Seeded,
                               Streaming, Variational, Vector)
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models import forms, gaussian
from emcli.models.gaussian import COVARIANCE_KEY
from emcli.models.params import check_magnitude, check_shape, check_weights, float_array
from emcli.numeric import LOG_2PI, normalize_log_rows


@dataclass
class GMMParams:
    """weights (K,), means (K, D) and ``cov``: full (K, D, D), tied (D, D), diag (K, D) or
    spherical (K,); for a variational fit, q over them (a ``variational_fit.Fit``), of which
    the rest are point summaries."""

    covariance: str
    weights: np.ndarray
    means: np.ndarray
    cov: np.ndarray
    variational: object = field(default=None, kw_only=True)

    @cached_property
    def precision(self):
        """(precisions, log-determinants of the precisions) in the shape of ``cov``."""
        return gaussian.precision_of(self.covariance, self.cov, *self.means.shape)

    @cached_property
    def offsets(self) -> np.ndarray:
        """(K,) log w_k + log N(m_k | m_k, S_k): log p(x, z = k) is this less half the squared
        Mahalanobis distance.  Computed once per parameters, like ``coefficients``."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights) + 0.5 * self.precision[1] - 0.5 * self.means.shape[1] * LOG_2PI

    def coefficients(self, center: np.ndarray) -> np.ndarray:
        """(P, K) ``gaussian.distance_coefficients`` about the reference point ``center``,
        computed once per parameters: every chunk of every pass asks for them."""
        memo = self.__dict__.get("_coefficients")
        if memo is None or memo[0] is not center:
            coefficients = gaussian.distance_coefficients(self.means - center, self.precision[0],
                                                          self.covariance)
            memo = self.__dict__["_coefficients"] = (center, coefficients)
        return memo[1]


class GaussianMixture(gaussian.UnitFreeSeeding, Seeded, Reseeding, Prior, Posterior, Vector, Missing, Conditionals, Sampling,
                      Centres, Diagnosing, Streaming, Variational):
    name = "gmm"

    def __init__(self, k: int = 1, covariance: str = "full", reg_covar: float = 1e-6,
                 prior: str = "none", prior_params: dict | None = None):
        if prior not in ("none", "default"):
            raise UsageError(f"--prior must be none or default, got {prior!r}")
        self.prior = prior
        self.prior_params = dict(prior_params or {})
        self.conjugate = None
        self.k, self.covariance_name, self.reg_covar = gaussian.checked_options(k, covariance, reg_covar, forms.FORMS)
        #: the mclust form, and the shape its covariances are stored in (``covariance``, one
        #: of gaussian's four, which the E-step, predict, sample and impute work in)
        self.form = forms.form_of(self.covariance_name)
        self.covariance = forms.STORAGE[self.form]
        if self.form not in forms.NATIVE:
            # their parameters are not the unconstrained vector, nor the variational posterior's
            self.withheld = (Vector, Variational)
            self.withheld_why = (f"needs --covariance full, tied, diag or spherical; {self.covariance_name} "
                                 "is fit by batch, incremental, stepwise, annealed, stochastic, mcem or saem")
        self.center = None
        self.floor = None
        self.data_var = None
        self.incomplete = False
        #: the prior's hyperparameters once fit (or read) as variational Bayes, else None
        self.variational_hyper = None

    @property
    def component_prior_params(self) -> dict:
        """The prior parameters of the components (all but the weights' ``alpha``, which only a
        variational fit takes)."""
        return {name: value for name, value in self.prior_params.items() if name != "alpha"}

    @property
    def objective(self) -> str:
        if self.variational_hyper is not None:
            return "elbo"
        return "log_posterior" if self.prior != "none" else "log_likelihood"

    def options(self) -> dict:
        """Options as stored in the model file; with a prior, its hyperparameters as used (a
        variational fit has one, with the weights' alpha)."""
        hyper = self.variational_hyper or (self.conjugate.hyperparameters() if self.conjugate else self.prior_params)
        return {"k": self.k, "covariance": self.covariance_name, "reg_covar": self.reg_covar,
                "prior": "default" if self.variational_hyper else self.prior, "prior_params": hyper}

    # -- data-scale settings -------------------------------------------------------------------

    def prepare(self, X: np.ndarray) -> None:
        """Reference point (column means) and covariance floor F: ``reg_covar`` times each
        column's variance, so the floor follows each column's units; every covariance is at
        least diag(F), so no component can shrink onto a point."""
        if len(X) < 2:
            raise DataError(f"a Gaussian mixture needs at least 2 rows, the data has {len(X)}")
        summary = column_summary(X)
        self.center, self.data_var, self.incomplete = summary.mean, summary.variance, summary.incomplete
        constant = np.flatnonzero(self.data_var == 0)
        if constant.size:
            raise DataError(f"column {int(constant[0]) + 1} of the data is constant; a Gaussian mixture needs variation in every column")
        self.floor = self.reg_covar * self.data_var
        self._prepare_frame(X)
        if self.prior != "none":
            from emcli.models.gaussian_prior import ConjugatePrior

            # the prior keeps every covariance positive definite, so no floor is added
            self.floor = np.zeros_like(self.data_var)
            self.conjugate = ConjugatePrior(self.covariance, self.k, np.zeros_like(self.center),
                                            self.data_var, self.component_prior_params,
                                            shared=self.form in forms.SHARED)

    # -- initialisation --------------------------------------------------------------------------

    def params_from_centres(self, centres: np.ndarray) -> GMMParams:
        k = len(centres)
        var = self.data_var + self.floor
        cov = gaussian.broad_covariances(var, self.covariance, k)
        return GMMParams(self.covariance, np.full(k, 1.0 / k), centres.copy(), cov)

    def assign_stats(self, params: GMMParams, X: np.ndarray) -> Stats:
        resp = gaussian.nearest_centre(X - self.center, params.means - self.center, self.frame)
        return self._stats(self._design(X), resp)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        # the compiled pass keeps its design rows in fixed blocks: per row, the log density
        # and a copy of the row; a row with M missing cells gathers its M x M conditional
        # covariance (M < D), and each component keeps the row's deviation and completed copy
        hidden = n_features * n_features + (2 * self.k + 3) * n_features if self.incomplete else 0
        return 8 * (1 + n_features + hidden)

    def _design(self, X: np.ndarray) -> np.ndarray:
        return gaussian.design(X, self.center, self.covariance)

    def _far_distances(self, params: GMMParams, X: np.ndarray) -> np.ndarray:
        """(N, K) squared Mahalanobis distances of rows ``X`` (N, D) whose distances overflow
        the design's GEMM, computed without overflow where possible (``gaussian.far_distances``)."""
        precision = self._component_covs(params, params.precision[0])
        excess, nearest = gaussian.far_distances(X - self.center, params.means - self.center, precision)
        return excess + nearest[:, None]

    def _log_joint(self, params: GMMParams, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) of complete rows ``X`` (N, D)."""
        maha = self._design(X) @ params.coefficients(self.center)
        far = gaussian.far_rows(maha)
        # rounding can take a row at a mean a hair below zero
        np.maximum(maha, 0.0, out=maha)
        if far.any():
            maha[far] = self._far_distances(params, X[far])
        maha *= -0.5
        maha += params.offsets
        return maha

    def e_step(self, params: GMMParams, X: np.ndarray) -> tuple[Stats, float]:
        """One compiled pass over the rows ``X`` (N, D) (``gaussian.complete_pass``); the rows
        it leaves out, those with missing cells and those too far for it, again on their own.
        The pass is what finds them, so that complete data is not scanned for NaN first."""
        d = X.shape[1]
        S, row_ll = gaussian.complete_pass(X, self.center, self.covariance,
                                           params.coefficients(self.center), params.offsets)
        stats = Stats(**dict(zip(("n", "s1", "s2"), gaussian.split_moments(S, self.covariance, d))))
        left = np.flatnonzero(np.isnan(row_ll))
        if left.size:
            missing = np.isnan(X[left])
            incomplete = missing.any(axis=1)
            far = left[~incomplete]
            if far.size:
                resp = self._log_joint(params, X[far])
                row_ll[far] = normalize_log_rows(resp)
                stats = stats + self._stats(self._design(X[far]), resp)
            if incomplete.any():
                conditionals = self._conditionals(params, X[left[incomplete]] - self.center,
                                                  ~missing[incomplete])
                log_joint = self._incomplete_log_joint(params, conditionals)
                row_ll[left[incomplete]] = normalize_log_rows(log_joint)
                stats = stats + self._incomplete_stats(conditionals, log_joint)
        return stats, float(row_ll.sum())

    def _stats(self, F: np.ndarray, resp: np.ndarray) -> Stats:
        """n (K,), and s1, s2 from ``gaussian.design_moments``, about the reference point, of
        the rows with design ``F`` (N, P)."""
        n, s1, s2 = gaussian.design_moments(F, resp, self.covariance, len(self.center))
        return Stats(n=n, s1=s1, s2=s2)


    # -- rows with missing cells -------------------------------------------------------------------

    def _component_covs(self, params: GMMParams, matrices: np.ndarray | None = None) -> np.ndarray:
        """(K, D, D) covariance matrices whatever the covariance type; or the same of
        ``matrices`` in the shape of the covariances (the precisions)."""
        return gaussian.as_full(params.cov if matrices is None else matrices, self.covariance,
                                *params.means.shape)

    def _conditionals(self, params: GMMParams, Xc: np.ndarray, observed: np.ndarray,
                      origin=None) -> list:
        """Per component, the ``missing.Conditional`` of the rows ``Xc`` (N, D) with NaN in
        missing cells, given their (N, D) ``observed`` mask; rows and means are measured from
        ``origin`` (D,), by default the reference point."""
        from emcli.models.missing import Conditional, patterns

        unique, index = patterns(observed)
        mc = params.means - (self.center if origin is None else origin)
        precisions = self._component_covs(params, params.precision[0])
        return [Conditional(np.where(observed, Xc - mean, 0.0), unique, index, mean, cov,
                            (precision, logdet))
                for mean, cov, precision, logdet in zip(mc, self._component_covs(params),
                                                        precisions, params.precision[1])]

    def conditionals(self, params: GMMParams, X: np.ndarray) -> tuple[np.ndarray, list]:
        """For the rows ``X`` (N, D) with NaN in missing cells: (N, K) log p(x_O, z = k) over
        each row's observed cells, and per component the ``missing.Conditional`` of the rows in
        the data's own units (its ``filled`` and ``draw`` give completed rows)."""
        if params.variational is not None:
            raise UsageError("a variational model's components are Student-t predictives; impute "
                             "fills from Gaussian components (fit with another --algorithm)")
        conditionals = self._conditionals(params, X, ~np.isnan(X), np.zeros(X.shape[1]))
        return self._incomplete_log_joint(params, conditionals), conditionals

    def _incomplete_log_joint(self, params: GMMParams, conditionals: list) -> np.ndarray:
        """(N, K) log p(x_O, z = k) from the components' conditionals."""
        log_joint = np.stack([c.log_density for c in conditionals], axis=1)
        with np.errstate(divide="ignore"):
            log_joint += np.log(params.weights)
        return log_joint

    def _incomplete_stats(self, conditionals: list, resp: np.ndarray) -> Stats:
        """Expected sufficient statistics of rows with missing cells: each component's rows
        completed by their conditional means, plus the conditional covariances, weighted by
        the responsibilities ``resp`` (N, K) — the same fields as ``_stats``."""
        d = conditionals[0].filled.shape[1]
        s1 = np.stack([r @ c.filled for c, r in zip(conditionals, resp.T)])
        spreads = [c.spread(r) for c, r in zip(conditionals, resp.T)]
        if self.covariance == "full":
            upper = np.triu_indices(d)
            s2 = np.stack([gaussian.second_features(c.filled, "full") @ r + spread[upper]
                           for c, r, spread in zip(conditionals, resp.T, spreads)])
        elif self.covariance == "tied":
            s2 = sum((c.filled * r[:, None]).T @ c.filled + spread
                     for c, r, spread in zip(conditionals, resp.T, spreads))
        elif self.covariance == "diag":
            s2 = np.stack([r @ (c.filled * c.filled) + np.diag(spread)
                           for c, r, spread in zip(conditionals, resp.T, spreads)])
        else:
            s2 = np.array([r @ np.einsum("ij,ij->i", c.filled, c.filled) + np.trace(spread)
                           for c, r, spread in zip(conditionals, resp.T, spreads)])
        return Stats(n=resp.sum(axis=0), s1=s1, s2=s2)

    def log_joint(self, params: GMMParams, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) over each row's observed cells."""
        missing = np.isnan(X)
        log_joint = np.empty((len(X), self.k))
        incomplete = missing.any(axis=1)
        log_joint[~incomplete] = self._log_joint(params, X[~incomplete])
        if incomplete.any():
            conditionals = self._conditionals(params, X[incomplete] - self.center, ~missing[incomplete])
            log_joint[incomplete] = self._incomplete_log_joint(params, conditionals)
        return log_joint

    def expected_stats(self, params: GMMParams, X: np.ndarray, resp: np.ndarray) -> Stats:
        """Statistics of the rows ``X`` (N, D) under any (N, K) responsibilities ``resp``
        (tempered or drawn ones, for the other EM algorithms)."""
        missing = np.isnan(X)
        incomplete = missing.any(axis=1)
        stats = self._stats(self._design(X[~incomplete]), resp[~incomplete])
        if incomplete.any():
            conditionals = self._conditionals(params, X[incomplete] - self.center, ~missing[incomplete])
            stats = stats + self._incomplete_stats(conditionals, resp[incomplete])
        return stats

    def responsibilities(self, params: GMMParams, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities of the components and (N,) log densities.

        A complete row so far from every component that its log density is beyond float range
        has log density -inf and the posterior of the limit as the row moves away along its
        direction (``gaussian.far_distances``), rather than one of 0 / 0.  A variational fit
        gives the posterior predictive's (``gmm_variational.responsibilities``)."""
        if params.variational is not None:
            from emcli.models import gmm_variational

            return gmm_variational.responsibilities(self, params, X)
        log_joint = self.log_joint(params, X)
        logpdf = normalize_log_rows(log_joint)
        lost = np.isneginf(logpdf) & ~np.isnan(X).any(axis=1)
        if lost.any():
            precision, logdet = params.precision
            excess, _ = gaussian.far_distances(X[lost] - self.center, params.means - self.center,
                                               self._component_covs(params, precision))
            with np.errstate(divide="ignore"):
                relative = -0.5 * excess + 0.5 * logdet + np.log(params.weights)
            normalize_log_rows(relative)
            log_joint[lost] = relative
        return log_joint, logpdf

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: GMMParams) -> GMMParams:
        n_k = stats["n"]
        total = n_k.sum()
        alive = n_k > 10 * np.finfo(float).eps * total
        mc, spread = gaussian.scatter(np.where(alive, n_k, 0.0), stats["s1"], stats["s2"],
                                      self.covariance)
        if self.form not in forms.NATIVE:
            return self._form_m_step(n_k, alive, mc, spread, previous)
        if self.conjugate is not None:
            mc, cov = self.conjugate.posterior_mode(n_k, mc, spread)
            return GMMParams(self.covariance, n_k / total, mc + self.center, cov)
        means, cov = gaussian.floored_estimate(n_k, alive, mc, spread, self.covariance, self.floor,
                                               self.center, previous)
        return GMMParams(self.covariance, n_k / total, means, cov)

    def _form_m_step(self, n_k: np.ndarray, alive: np.ndarray, mc: np.ndarray, spread: np.ndarray,
                     previous: GMMParams) -> GMMParams:
        """The M-step of a constrained form (``gmm_forms``), from the centred means ``mc``
        (K, D) and the scatters ``spread`` about them in the storage shape."""
        from emcli.models import gmm_forms

        weights = n_k / n_k.sum()
        if self.conjugate is not None:
            W = gaussian.as_full(spread, self.covariance, *mc.shape)
            mc, counts, scatters = self.conjugate.form_terms(n_k, mc, W)
            start = gaussian.as_full(previous.cov, self.covariance, *mc.shape)
            cov = gmm_forms.to_storage(forms.m_step(self.form, scatters, counts, start), self.covariance)
            return GMMParams(self.covariance, weights, mc + self.center, cov)
        cov = gmm_forms.estimate(self.form, self.covariance, n_k, alive, mc, spread, self.floor, previous.cov)
        means = np.where(alive[:, None], mc + self.center, previous.means)
        return GMMParams(self.covariance, weights, means, cov)

    # -- variational Bayes (emcli.models.gmm_variational, driven by emcli.em.variational) -------

    def variational_prior(self, weight_prior: str):
        from emcli.models import gmm_variational

        prior, self.variational_hyper = gmm_variational.prior_for(self, weight_prior)
        return prior

    def variational_update(self, prior, stats: Stats):
        from emcli.models import variational

        return variational.update(prior, stats["n"], stats["s1"], stats["s2"], self.covariance)

    def expected_params(self, post) -> GMMParams:
        from emcli.models import gmm_variational

        return gmm_variational.expected_params(self, post)

    def kl_divergence(self, prior, post) -> float:
        from emcli.models import variational

        return variational.kl_divergence(prior, post)

    def variational_params(self, post, counts: np.ndarray, prune: float) -> GMMParams:
        from emcli.models import gmm_variational

        return gmm_variational.point_params(self, post, gmm_variational.Fit(post, counts, prune))

    def live_components(self, params: GMMParams) -> list[int]:
        if params.variational is None:  # not fit variationally: every one, without importing scipy.special
            return list(range(len(params.weights)))
        from emcli.models import variational_fit

        return variational_fit.live_components(params)

    def log_prior(self, params: GMMParams) -> float:
        """Log prior density of the parameters: EM then climbs the log posterior.  Without a
        prior, 0, or a constrained form's floor penalty (``gmm_forms.floor_penalty``)."""
        if self.conjugate is None:
            from emcli.models.gmm_forms import floor_penalty

            return floor_penalty(self.form, self.covariance, params.precision[0], self.floor)
        return self.conjugate.log_density(params.means - self.center, params.cov, *params.precision)

    def flat_components(self, params: GMMParams) -> list[int]:
        """Components with (almost) no spread in some direction: the smallest eigenvalue of
        their covariance, with each column scaled by its data variance, within twice the
        relative floor.  Such a spike on repeated values (or on too few rows) has a likelihood
        bounded only by the floor, so its fit should not be trusted or compared.  Under a prior
        (MAP, or variational) no covariance rests on a floor."""
        if self.conjugate is not None or params.variational is not None:
            return []
        return gaussian.floored_components(params.cov, self.covariance, self.k, self.data_var,
                                           self.reg_covar)

    def diagnose(self, params: GMMParams, n_samples: int) -> list[str]:
        """Warnings about a finished fit: covariances resting on the floor, because their
        component holds too few rows for a full covariance of its own (VVV, and EVV's free
        shape and orientation; the other forms share a part with the other components) or sits
        on repeated values."""
        if params.variational is not None:
            return []
        d = params.means.shape[1]
        few = [k for k, w in enumerate(params.weights)
               if self.form in ("VVV", "EVV") and self.conjugate is None and w * n_samples < d + 1]
        messages = [f"component {k} holds {params.weights[k] * n_samples:.1f} rows, fewer than the "
                    f"{d + 1} a full {d}-column covariance needs, so its covariance rests on the "
                    "floor; try --prior default, --covariance diag or fewer components" for k in few]
        messages += [f"component {k} has almost no spread in some direction (its covariance rests "
                     "on the floor, as on repeated values), which inflates its likelihood; try "
                     "--prior default or fewer components"
                     for k in self.flat_components(params) if k not in few]
        return messages

    def degenerate(self, params: GMMParams, stats: Stats) -> list[tuple[int, str]]:
        """Components holding less than one row's worth of responsibility ("empty"), or whose
        variance before the floor is no larger than the floor ("collapsed" onto a point).
        Under a prior neither is degenerate: an empty component sits at the prior's mode."""
        if self.conjugate is not None:
            return []
        return gaussian.degenerate_components(stats["n"], params.cov, self.covariance, self.floor)

    def reseed(self, params: GMMParams, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> GMMParams:
        return GMMParams(self.covariance, *gaussian.reseed_from_rows(self, params, components, X, rng))

    def sample(self, params: GMMParams, n: int, rng: np.random.Generator):
        """(n, D) rows drawn from the mixture (a variational fit's posterior predictive) and the
        (n,) components they came from."""
        if params.variational is not None:
            from emcli.models import gmm_variational

            return gmm_variational.sample(self, params, n, rng)
        k, d = params.means.shape
        components = rng.choice(k, size=n, p=params.weights)
        if self.covariance in ("full", "tied"):
            factors = np.broadcast_to(np.linalg.cholesky(params.cov), (k, d, d))
        else:
            scales = np.sqrt(params.cov if self.covariance == "diag" else params.cov[:, None] * np.ones(d))
            factors = scales[:, None, :] * np.eye(d)
        noise = rng.standard_normal((n, d))
        X = params.means[components] + np.einsum("nij,nj->ni", factors[components], noise)
        return X, components

    # -- unconstrained parameters (the "vector" capability of emcli.em.algorithms) ---------------

    def _vector_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """(D,) column standard deviations and the spherical variance's scale: the vector's
        coordinates are in these units, so that one step size suits data of any scale."""
        return np.sqrt(self.data_var), self.data_var.mean()

    def to_vector(self, params: GMMParams) -> np.ndarray:
        """1-D unconstrained coordinates: K-1 weight logits (component 0's is fixed at 0, so
        the map is one-to-one), the (K, D) means centred and divided by the column standard
        deviations, then the covariances in the same units: the rows of the lower Cholesky
        factors (K of them for full, one for tied) with log diagonals, or log variances (diag
        (K, D), spherical (K,))."""
        scale, unit = self._vector_scales()
        logw = np.log(np.maximum(params.weights, np.finfo(float).tiny))
        parts = [logw[1:] - logw[0], ((params.means - self.center) / scale).ravel()]
        if self.covariance in ("full", "tied"):
            factor = np.linalg.cholesky(params.cov / np.outer(scale, scale))
            lower = np.tril_indices(len(scale))
            packed = factor[..., lower[0], lower[1]].copy()
            diagonal = lower[0] == lower[1]
            packed[..., diagonal] = np.log(packed[..., diagonal])
            parts.append(packed.ravel())
        else:
            parts.append(np.log(params.cov / (self.data_var if self.covariance == "diag" else unit)).ravel())
        return np.concatenate(parts)

    def from_vector(self, vector: np.ndarray, like: GMMParams) -> GMMParams:
        """The parameters at ``to_vector`` coordinates ``vector``, shaped like ``like``."""
        scale, unit = self._vector_scales()
        k, d = like.means.shape
        logits = np.concatenate([[0.0], vector[: k - 1]])
        weights = np.exp(logits - logits.max())
        means = vector[k - 1 : k - 1 + k * d].reshape(k, d) * scale + self.center
        rest = vector[k - 1 + k * d :]
        if self.covariance in ("full", "tied"):
            lower = np.tril_indices(d)
            packed = rest.reshape(-1, len(lower[0])).copy()
            diagonal = lower[0] == lower[1]
            packed[:, diagonal] = np.exp(packed[:, diagonal])
            factor = np.zeros((len(packed), d, d))
            factor[:, lower[0], lower[1]] = packed
            factor *= scale[:, None]
            cov = factor @ np.swapaxes(factor, -1, -2)
            cov = cov[0] if self.covariance == "tied" else cov
        else:
            cov = np.exp(rest).reshape(like.cov.shape) * (self.data_var if self.covariance == "diag" else unit)
        return GMMParams(self.covariance, weights / weights.sum(), means, cov)

    def score_gradient(self, params: GMMParams, stats: Stats) -> np.ndarray:
        """Gradient of the log-likelihood in ``to_vector`` coordinates, from the E-step
        statistics of ``params`` over all rows.  By Fisher's identity it is the gradient of
        the expected complete-data log-likelihood Q(theta | params) at theta = params, which
        the statistics give in closed form: for component k with responsibility n_k, centred
        mean m_k, precision P_k and scatter A_k about m_k, dQ/dm_k = P_k (s1_k - n_k m_k) and
        dQ/dS_k = P_k (A_k - n_k S_k) P_k / 2; then the chain rule."""
        scale, unit = self._vector_scales()
        n, s1 = stats["n"], stats["s1"]
        k, d = params.means.shape
        mc = params.means - self.center
        precision, _ = params.precision
        weights_grad = (n - n.sum() * params.weights)[1:]
        first = s1 - n[:, None] * mc
        if self.covariance in ("full", "tied"):
            means_grad = (precision @ first[..., None])[..., 0] if self.covariance == "full" else first @ precision
            cross = s1[:, :, None] * mc[:, None, :]
            about_means = n[:, None, None] * mc[:, :, None] * mc[:, None, :] - cross - np.swapaxes(cross, 1, 2)
            if self.covariance == "tied":
                scatter, counts = (stats["s2"] + about_means.sum(axis=0))[None], n.sum()[None]
                cov, precision = params.cov[None], precision[None]
            else:
                scatter, counts, cov = gaussian.unpack(stats["s2"], d) + about_means, n, params.cov
            half = 0.5 * precision @ (scatter - counts[:, None, None] * cov) @ precision
            factor = np.linalg.cholesky(cov)
            # d/dL of Q(L L') for the factor L of the scaled covariance, L_scaled = L / scale
            dfactor = 2.0 * scale[:, None] * (half @ factor)
            lower = np.tril_indices(d)
            packed = dfactor[:, lower[0], lower[1]]
            diagonal = lower[0] == lower[1]
            packed[:, diagonal] *= np.einsum("kii->ki", factor) / scale
            cov_grad = packed.ravel()
        else:
            means_grad = precision[..., None] * first if self.covariance == "spherical" else precision * first
            spread = stats["s2"] - 2.0 * (s1 * mc if self.covariance == "diag" else np.einsum("ki,ki->k", s1, mc))
            spread = spread + n[:, None] * mc * mc if self.covariance == "diag" else spread + n * np.einsum("ki,ki->k", mc, mc)
            rows = n[:, None] if self.covariance == "diag" else n * d
            cov_grad = (0.5 * (spread * precision - rows)).ravel()
        return np.concatenate([weights_grad, (means_grad * scale).ravel(), cov_grad])

    # -- bookkeeping -------------------------------------------------------------------------------

    def centres(self, params: GMMParams) -> np.ndarray:
        return params.means

    def n_parameters(self, params: GMMParams) -> int:
        """Free parameters of K components (of the live ones, for a variational fit)."""
        k, d = len(self.live_components(params)), params.means.shape[1]
        return (k - 1) + k * d + forms.n_parameters(self.form, k, d)

    def to_json(self, params: GMMParams) -> dict:
        doc = {"weights": params.weights.tolist(), "means": params.means.tolist(),
               COVARIANCE_KEY[self.covariance]: params.cov.tolist()}
        if params.variational is not None:
            from emcli.models import gmm_variational

            doc["posterior"] = gmm_variational.to_json(params.variational)
        return doc

    def from_json(self, doc: dict, n_features: int) -> GMMParams:
        params = checked(GMMParams(self.covariance, *read_components(self, doc, n_features)))
        if "posterior" in doc:
            from emcli.models import gmm_variational

            params.variational = gmm_variational.from_json(doc["posterior"], params.means - self.center,
                                                           self.covariance)
            self.variational_hyper = dict(self.prior_params)
        return params


def read_components(model, doc: dict, d: int) -> tuple:
    """(weights (K,), means (K, D), covariances in ``model.covariance``'s shape) of a model
    file's params, their shapes checked.  A model read from a file has seen no data: its
    reference point becomes the mean of the means (any fixed point gives the same densities;
    this one keeps cancellation small), unless it was prepared on data already."""
    k, covariance = model.k, model.covariance
    weights = check_weights(doc, "weights", k)
    means = check_magnitude(check_shape(float_array(doc, "means"), (k, d), "params.means"), "params.means")
    key = COVARIANCE_KEY[covariance]
    cov = check_shape(float_array(doc, key), gaussian.cov_shape(covariance, k, d), f"params.{key}")
    if model.center is None:
        model.center = means.mean(axis=0)
    return weights, means, cov


def checked(params: GMMParams) -> GMMParams:
    """``params`` read from a file, once their covariances are symmetric and positive definite."""
    key = COVARIANCE_KEY[params.covariance]
    if params.covariance in ("full", "tied") and not np.allclose(params.cov, np.swapaxes(params.cov, -1, -2)):
        raise ModelFileError(f"params.{key}: not symmetric")
    try:
        precision, logdet = params.precision
    except np.linalg.LinAlgError as exc:
        raise ModelFileError(f"params.{key}: {exc}") from None
    if not (np.all(np.isfinite(precision)) and np.all(np.isfinite(logdet))):
        raise ModelFileError(f"params.{key}: a variance so small that its inverse is beyond float range")
    return params
