"""Multivariate Student-t distributions and mixtures of them, fit by EM as Gaussian scale
mixtures (McLachlan & Peel 2000, chapter 7; Peel & McLachlan 2000).

A Student-t row is a Gaussian row whose precision is scaled by a hidden tau ~ Gamma(nu/2, nu/2).
Given the row and its component, tau has mean u = (nu + D) / (nu + delta), delta the squared
Mahalanobis distance, so a row far from every component gets a small weight u and pulls the
location and scale little.  The E-step gives responsibilities r_nk and weights u_nk; the M-step
is the Gaussian one with row weights r u, except that the scale matrices are divided by sum r:

    m_k = sum_n r u x / sum_n r u,     S_k = sum_n r u (x - m_k)(x - m_k)' / sum_n r.

``cov`` holds these scale matrices S_k (the covariance is nu / (nu - 2) S_k when nu > 2), in the
four shapes of emcli.models.gaussian.

Degrees of freedom are either fixed (``dof``) or estimated per component (one shared value with
``shared_dof``).  The estimate is the ECM form of Peel & McLachlan (2000): a second
conditional maximisation solves, with the E-step's u and the previous nu,

    -psi(nu/2) + log(nu/2) + 1 + (1/n_k) sum_n r_nk (log u_nk - u_nk)
        + psi((nu_old + D)/2) - log((nu_old + D)/2) = 0

(pooled over components when shared) for nu.  The expected complete-data log-likelihood splits
into a part in the locations and scales and a part in nu, and the latter is concave in nu, so the
root (or the bound nearer to it) maximises it and the step never lowers the likelihood.  Because
Q splits so, this ECM step is a full M-step: ``--algorithm ecm`` (emcli.em.ecm) runs the same
two conditional maximisations as batch EM, and traces them.  ``--algorithm ecme`` (Liu & Rubin
1995) replaces the second by a maximisation of the observed log-likelihood over nu with the new
weights, locations and scales held fixed (``cm_likelihood_step``): one more pass over the rows.

tmix starts by default from the robust seeding (``--init robust``): k-means++ seeks rows far
from the centres so far and so picks gross outliers, and a component started on them stays
there as a broad background while real clusters merge (with 5% outliers it misclassified about
half the clean rows from every start).  The robust seeding caps the distances at their 90th
percentile, which handles up to 10% of outliers; its cost is that clusters smaller than that
are seeded less readily, so on clean data with small clusters use ``--init k-means++`` and
several restarts.
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import digamma, gammaln, logsumexp

from emcli.em.workers import ordered_map
from emcli.em.protocol import (ConditionalSteps, Diagnosing, Posterior, Reseeding, RowOutputs, Sampling, Seeded,
                               Streaming)
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models import gaussian
from emcli.models.gaussian import COVARIANCE_KEY
from emcli.models.gmm import GaussianMixture, GMMParams, checked, read_components
from emcli.models.params import check_shape, float_array
from emcli.em.moments import column_quartiles, column_summary
from emcli.numeric import normalize_log_rows

#: Estimated degrees of freedom stay in this range.  Above 200 a t is a Gaussian for any data
#: set of practical size (the excess kurtosis of a t margin is 6 / (nu - 4), 0.03 at 200) and
#: the likelihood is so flat that EM would creep towards infinity.  Below 1 the t has no mean;
#: 0.5 leaves room for the sampling spread of Cauchy data (nu = 1) while keeping away from
#: nu -> 0, where a component sitting on a few tied rows gains likelihood without bound.
DOF_RANGE = (0.5, 200.0)
#: the degrees of freedom a user may fix or a model file hold: beyond 1e6 a Student-t is a
#: Gaussian to every digit and its log-gamma terms lose all precision; below 0.1 its
#: draws reach beyond float range (P(|t| > 1e300) is about 1e300 ** -nu)
DOF_LIMITS = (0.1, 1e6)

#: Degrees of freedom of a fresh component when they are estimated: between heavy tails and
#: Gaussian ones.  Fits hardly depend on it: starts from 5 to 100 give the same clusterings
#: of the outlier test in tests/test_student.py.
DOF_START = 30.0

#: ECME's coordinate sweeps over per-component dof stop when no nu moves by more than this
#: fraction, or after MAX_SWEEPS sweeps; near convergence one or two sweeps suffice.
SWEEP_RTOL = 1e-6
MAX_SWEEPS = 5


@dataclass
class StudentParams(GMMParams):
    """weights (K,), means (K, D) and ``cov`` the scale matrices, full (K, D, D), tied (D, D),
    diag (K, D) or spherical (K,); dof (K,) the degrees of freedom."""

    dof: np.ndarray


def log_student(shift: np.ndarray, logdet: np.ndarray, dof: np.ndarray, d: int) -> np.ndarray:
    """(N, K) log t(x_n | m_k, S_k, nu_k) from ``shift`` = log(1 + delta_nk / nu_k) (N, K), the
    (K,) log-determinants of the precisions and the (K,) degrees of freedom."""
    constant = (gammaln(0.5 * (dof + d)) - gammaln(0.5 * dof) - 0.5 * d * np.log(np.pi * dof)
                + 0.5 * logdet)
    return constant - 0.5 * (dof + d) * shift


def _tail_gap(nu: np.ndarray) -> np.ndarray:
    """log(nu/2) - psi(nu/2): positive, decreasing from infinity (nu -> 0) to 0 (nu -> inf)."""
    return np.log(0.5 * nu) - digamma(0.5 * nu)


def _maximise(log_likelihood, current: float) -> float:
    """The nu in DOF_RANGE maximising ``log_likelihood(nu)`` by bounded Brent on log nu, or
    ``current`` when that is no better (the search is local; the likelihood must not fall)."""
    low, high = np.log(DOF_RANGE)
    found = minimize_scalar(lambda t: -log_likelihood(np.exp(t)), bounds=(low, high),
                            method="bounded", options={"xatol": 1e-8})
    nu = float(np.clip(np.exp(found.x), *DOF_RANGE))
    return nu if log_likelihood(nu) > log_likelihood(current) else float(current)


def dof_root(target: float) -> float:
    """The nu in DOF_RANGE solving log(nu/2) - psi(nu/2) = ``target``, or the bound nearer to
    the root when it lies outside the range."""
    low, high = DOF_RANGE
    if target <= _tail_gap(high):
        return high
    if target >= _tail_gap(low):
        return low
    return brentq(lambda nu: _tail_gap(nu) - target, low, high, xtol=1e-12, rtol=4 * np.finfo(float).eps)


class StudentMixture(gaussian.UnitFreeSeeding, Seeded, Reseeding, Posterior, ConditionalSteps, Sampling, RowOutputs,
                     Streaming, Diagnosing):
    name = "tmix"
    default_init = "robust"  # the data it is chosen for has outliers, which k-means++ seeks out
    objective = "log_likelihood"
    what = "a Student-t mixture"

    def __init__(self, k: int = 1, covariance: str = "full", reg_covar: float = 1e-6,
                 dof: float | None = None, shared_dof: bool = False):
        self.k, self.covariance, self.reg_covar = gaussian.checked_options(k, covariance, reg_covar)
        if dof is not None and not DOF_LIMITS[0] <= dof <= DOF_LIMITS[1]:
            raise UsageError(f"--dof must be between {DOF_LIMITS[0]:g} and {DOF_LIMITS[1]:g}, got {dof}")
        self.dof = None if dof is None else float(dof)
        self.shared_dof = bool(shared_dof)
        self.center = None
        self.floor = None
        self.data_var = None
        self.start_var = None

    def options(self) -> dict:
        return {"k": self.k, "covariance": self.covariance, "reg_covar": self.reg_covar,
                "dof": self.dof, "shared_dof": self.shared_dof}

    # -- data-scale settings -------------------------------------------------------------------

    def prepare(self, X: np.ndarray) -> None:
        """Reference point (column means), scale floor (``reg_covar`` times each column's
        variance: every scale matrix is at least its diagonal, as for the Gaussian mixture) and the
        starting scale of fresh components: each column's squared interquartile range over
        1.349^2 (its variance for Gaussian data), or its variance when that is smaller or the
        range is 0.  Gross outliers inflate the variance; starting from it, every component
        would cover them at first, weigh them fully, and one of them would settle on them."""
        if len(X) < 2:
            raise DataError(f"{self.what} needs at least 2 rows, the data has {len(X)}")
        summary = column_summary(X)
        self.center, self.data_var = summary.mean, summary.variance
        constant = np.flatnonzero(self.data_var == 0)
        if constant.size:
            raise DataError(f"column {int(constant[0]) + 1} of the data is constant; {self.what} needs variation in every column")
        self.floor = self.reg_covar * self.data_var
        self._prepare_frame(X)
        quartiles = column_quartiles(X)
        robust = ((quartiles[:, 1] - quartiles[:, 0]) / 1.349) ** 2
        self.start_var = np.where(robust > 0, np.minimum(robust, self.data_var), self.data_var)

    # -- initialisation --------------------------------------------------------------------------

    def _start_dof(self) -> float:
        return DOF_START if self.dof is None else self.dof

    def params_from_centres(self, centres: np.ndarray) -> StudentParams:
        k = len(centres)
        var = self.start_var + self.floor
        cov = gaussian.broad_covariances(var, self.covariance, k)
        return StudentParams(self.covariance, np.full(k, 1.0 / k), centres.copy(), cov,
                             np.full(k, self._start_dof()))

    def assign_stats(self, params: StudentParams, X: np.ndarray) -> Stats:
        """Hard responsibilities (nearest centre) with the weights u of the current t's."""
        resp = gaussian.nearest_centre(X - self.center, params.means - self.center, self.frame)
        F = gaussian.design(X, self.center, self.covariance)
        _, u, shift = self._terms(params, X, F)
        return self._stats(F, resp, u, shift, params.dof)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        design = gaussian.n_second(self.covariance, n_features) + n_features + 1
        return 8 * (design + 5 * self.k + n_features)

    def _terms(self, params: StudentParams, X: np.ndarray, F: np.ndarray):
        """For rows ``X`` (N, D) and their ``gaussian.design`` rows ``F``, three (N, K)
        arrays: log p(x_n, z_n = k), the weights u_nk and log(1 + delta_nk / nu_k)."""
        precision, logdet = params.precision
        d = X.shape[1]
        mc = params.means - self.center
        ratio = F @ params.coefficients(self.center)
        # rounding can take a row at a mean a hair below zero
        np.maximum(ratio, 0.0, out=ratio)
        ratio /= params.dof
        # log1p keeps the density exact for large nu, where delta / nu is small
        shift = np.log1p(ratio)
        far = gaussian.far_rows(ratio)
        if far.any():
            # log(1 + q / nu) for distances beyond float range, from log q
            log_ratio = gaussian.far_log_distances(X[far] - self.center, mc, gaussian.as_full(precision, self.covariance, *mc.shape))
            log_ratio -= np.log(params.dof)
            shift[far] = np.logaddexp(0.0, log_ratio)
            with np.errstate(over="ignore"):
                ratio[far] = np.exp(log_ratio)
        log_joint = log_student(shift, logdet, params.dof, d)
        with np.errstate(divide="ignore"):
            log_joint += np.log(params.weights)
        ratio += 1.0
        u = np.divide(1.0 + d / params.dof, ratio, out=ratio)
        return log_joint, u, shift

    def _stats(self, F: np.ndarray, resp: np.ndarray, u: np.ndarray, shift: np.ndarray,
               dof: np.ndarray) -> Stats:
        """n (K,) sum r; w (K,) sum r u; s1, s2 from ``gaussian.design_moments`` with row
        weights r u, about the reference point, of the rows with design ``F`` (N, P); gap (K,)
        sum r (log u - u), for the dof step.  Overwrites ``u`` and ``shift``."""
        d = len(self.center)
        # log u = log(1 + D/nu) - log(1 + delta/nu)
        gap = np.subtract(np.log1p(d / dof), shift, out=shift)
        gap -= u
        weights = np.multiply(u, resp, out=u)
        w, s1, s2 = gaussian.design_moments(F, weights, self.covariance, d)
        return Stats(n=resp.sum(axis=0), w=w, s1=s1, s2=s2, gap=np.einsum("nk,nk->k", resp, gap))

    def e_step(self, params: StudentParams, X: np.ndarray) -> tuple[Stats, float]:
        F = gaussian.design(X, self.center, self.covariance)
        log_joint, u, shift = self._terms(params, X, F)
        row_ll = normalize_log_rows(log_joint)
        return self._stats(F, log_joint, u, shift, params.dof), float(row_ll.sum())

    def _centred(self, params: StudentParams, X: np.ndarray):
        return self._terms(params, X, gaussian.design(X, self.center, self.covariance))

    def log_joint(self, params: StudentParams, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k)."""
        return self._centred(params, X)[0]

    def expected_stats(self, params: StudentParams, X: np.ndarray, resp: np.ndarray) -> Stats:
        """Statistics of the rows ``X`` under any (N, K) responsibilities ``resp``; the
        precision weights u are those of ``params``."""
        F = gaussian.design(X, self.center, self.covariance)
        _, u, shift = self._terms(params, X, F)
        return self._stats(F, resp, u, shift, params.dof)

    def responsibilities(self, params: StudentParams, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities of the components and (N,) log densities."""
        log_joint, _, _ = self._centred(params, X)
        return log_joint, normalize_log_rows(log_joint)

    def row_outputs(self, params: StudentParams, X: np.ndarray) -> dict:
        """``weight`` (N,): each row's expected precision scale sum_k r_nk u_nk, about 1 for
        a typical row and small for an outlier."""
        log_joint, u, _ = self._centred(params, X)
        normalize_log_rows(log_joint)
        return {"weight": np.einsum("nk,nk->n", log_joint, u)}

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: StudentParams) -> StudentParams:
        return self.cm_q_step(stats, self.cm_steps(stats, previous))

    @staticmethod
    def _alive(stats: Stats) -> np.ndarray:
        n_k = stats["n"]
        return (n_k > 10 * np.finfo(float).eps * n_k.sum()) & (stats["w"] > 0)

    # -- conditional maximisations (the "ecm" capability of emcli.em.algorithms) -------------------

    @property
    def cm_groups(self) -> tuple:
        """The parameter groups of the CM-steps, in order; only the first when the dof are fixed."""
        return ("location/scale",) if self.dof is not None else ("location/scale", "dof")

    def cm_steps(self, stats: Stats, previous: StudentParams) -> StudentParams:
        """First CM-step: the weights, locations and scales maximising Q with the degrees of
        freedom held at ``previous.dof``."""
        n_k, w_k = stats["n"], stats["w"]
        total = n_k.sum()
        alive = self._alive(stats)
        mc, spread = gaussian.scatter(np.where(alive, w_k, 0.0), stats["s1"], stats["s2"],
                                      self.covariance)
        means, cov = gaussian.floored_estimate(n_k, alive, mc, spread, self.covariance, self.floor,
                                               self.center, previous)
        return StudentParams(self.covariance, n_k / total, means, cov, previous.dof.copy())

    def cm_q_step(self, stats: Stats, params: StudentParams) -> StudentParams:
        """Second CM-step of ECM: ``params`` with the degrees of freedom maximising Q, from the
        E-step's sums ``stats`` and the dof ``params.dof`` they were computed with."""
        dof = self._dof_step(stats["n"], stats["gap"], params.dof, self._alive(stats),
                             params.means.shape[1])
        return replace(params, dof=dof)

    def cm_likelihood_step(self, params: StudentParams, X: np.ndarray, rows: int) -> StudentParams:
        """Second CM-step of ECME: ``params`` with the degrees of freedom maximising the observed
        log-likelihood of the (N, D) rows ``X``, the weights, locations and scales held fixed.

        One pass over ``X`` in chunks of ``rows`` stores the (N, K) squared Mahalanobis
        distances (8 K bytes per row beyond the E-step's scratch); every trial nu then costs
        O(N K) for a shared or single dof, O(N) per component otherwise.  Per-component dof are
        maximised jointly by coordinate sweeps, one component at a time with the others fixed,
        until a sweep moves none by more than ``SWEEP_RTOL`` (at most ``MAX_SWEEPS``).  Each 1-D
        maximisation is bounded Brent on log nu over DOF_RANGE; its result is kept only when it
        beats the current nu, so the step never lowers the likelihood.
        """
        if self.dof is not None:
            return params
        precision, logdet = params.precision
        distances = np.empty((len(X), self.k))

        def fill(start: int) -> None:
            block = X[start : start + rows]
            distances[start : start + len(block)] = (gaussian.design(block, self.center, self.covariance)
                                                     @ params.coefficients(self.center))

        for _ in ordered_map(fill, range(0, len(X), rows)):
            pass
        np.maximum(distances, 0.0, out=distances)
        d = X.shape[1]
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)

        def columns(nu, k):
            # (N, len(k)) log w_k + log t(x_n | m_k, S_k, nu) for the components k
            return log_weights[k] + log_student(np.log1p(distances[:, k] / nu), logdet[k], nu, d)

        dof = params.dof.copy()
        if self.shared_dof or self.k == 1:
            every = np.arange(self.k)
            dof[:] = _maximise(lambda nu: logsumexp(columns(nu, every), axis=1).sum(), dof[0])
            return replace(params, dof=dof)
        log_joint = np.stack([columns(dof[k], [k])[:, 0] for k in range(self.k)], axis=1)
        for _ in range(MAX_SWEEPS):
            moved = 0.0
            for k in range(self.k):
                others = logsumexp(np.delete(log_joint, k, axis=1), axis=1)
                nu = _maximise(lambda nu: np.logaddexp(others, columns(nu, [k])[:, 0]).sum(), dof[k])
                moved = max(moved, abs(nu - dof[k]) / dof[k])
                dof[k] = nu
                log_joint[:, k] = columns(nu, [k])[:, 0]
            if moved <= SWEEP_RTOL:
                break
        return replace(params, dof=dof)

    def cm_trace(self, params: StudentParams) -> dict:
        """Trace columns of the CM-steps: ``dof``, or ``dof_1`` .. ``dof_K`` when they differ
        by component."""
        if self.k == 1 or self.shared_dof or self.dof is not None:
            return {"dof": float(params.dof[0])}
        return {f"dof_{k + 1}": float(nu) for k, nu in enumerate(params.dof)}

    def _dof_step(self, n_k: np.ndarray, gap: np.ndarray, previous: np.ndarray,
                  alive: np.ndarray, d: int) -> np.ndarray:
        """(K,) degrees of freedom maximising the expected complete-data log-likelihood given
        the E-step's sums (see the module docstring); unchanged when fixed or for an emptied
        component."""
        if self.dof is not None:
            return previous.copy()
        # E[log tau - tau] = log u - u + psi((nu_old + D)/2) - log((nu_old + D)/2)
        correction = -_tail_gap(previous + d)
        if self.shared_dof:
            mean_gap = gap.sum() / n_k.sum() + correction[0]
            return np.full(len(previous), dof_root(-(1.0 + mean_gap)))
        dof = previous.copy()
        for k in np.flatnonzero(alive):
            dof[k] = dof_root(-(1.0 + gap[k] / n_k[k] + correction[k]))
        return dof

    def degenerate(self, params: StudentParams, stats: Stats) -> list[tuple[int, str]]:
        """Components holding less than one row's worth of responsibility ("empty"), or whose
        scale before the floor is no larger than the floor ("collapsed" onto a point)."""
        return gaussian.degenerate_components(stats["n"], params.cov, self.covariance, self.floor)

    def _lowest_dof(self, params: StudentParams) -> list[int]:
        """Components whose estimated degrees of freedom sit at the lowest DOF_RANGE allows."""
        if self.dof is not None:
            return []
        return [int(k) for k in np.flatnonzero(params.dof <= DOF_RANGE[0] * (1.0 + 1e-9))]

    def flat_components(self, params: StudentParams) -> list[int]:
        """Components whose scale rests on the floor (no spread in some direction, as on
        repeated rows: the BMW-Siemens returns' 312 days at (0, 0)) or whose estimated degrees
        of freedom sit at their lower bound (tails so heavy that the likelihood would go on
        rising past it: a spike in a wide skirt)."""
        floored = gaussian.floored_components(params.cov, self.covariance, self.k, self.data_var,
                                              self.reg_covar)
        return sorted(set(floored) | set(self._lowest_dof(params)))

    def diagnose(self, params: StudentParams, n_samples: int) -> list[str]:
        """A warning per degenerate component (``flat_components``)."""
        lowest = set(self._lowest_dof(params))
        return [f"component {k} " + (f"has its degrees of freedom at the lower bound {DOF_RANGE[0]:g}"
                                     if k in lowest else
                                     "has almost no spread in some direction (its scale rests on the floor, "
                                     "as on repeated values)")
                + ", which inflates its likelihood; try fewer components or a fixed --dof"
                for k in self.flat_components(params)]

    def reseed(self, params: StudentParams, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> StudentParams:
        parts = gaussian.reseed_from_rows(self, params, components, X, rng)
        dof = params.dof.copy()
        if not self.shared_dof:
            dof[components] = self._start_dof()
        return StudentParams(self.covariance, *parts, dof)

    def sample(self, params: StudentParams, n: int, rng: np.random.Generator):
        """(n, D) rows drawn from the mixture and the (n,) components they came from: a
        Gaussian draw with the component's scale, divided by sqrt(chi2_nu / nu)."""
        gaussian_part = GMMParams(self.covariance, params.weights, np.zeros_like(params.means),
                                  params.cov)
        Z, components = GaussianMixture(self.k, self.covariance).sample(gaussian_part, n, rng)
        dof = params.dof[components]
        X = params.means[components] + Z / np.sqrt(rng.chisquare(dof) / dof)[:, None]
        return X, components

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: StudentParams) -> int:
        k, d = params.means.shape
        estimated = 0 if self.dof is not None else 1 if self.shared_dof else k
        return (k - 1) + k * d + gaussian.n_cov_parameters(self.covariance, k, d) + estimated

    def to_json(self, params: StudentParams) -> dict:
        return {"weights": params.weights.tolist(), "means": params.means.tolist(),
                COVARIANCE_KEY[self.covariance]: params.cov.tolist(), "dof": params.dof.tolist()}

    def from_json(self, doc: dict, n_features: int) -> StudentParams:
        weights, means, cov = read_components(self, doc, n_features)
        dof = check_shape(float_array(doc, "dof"), (self.k,), "params.dof")
        if np.any((dof < DOF_LIMITS[0]) | (dof > DOF_LIMITS[1])):
            raise ModelFileError(f"params.dof: degrees of freedom must be between {DOF_LIMITS[0]:g} "
                                 f"and {DOF_LIMITS[1]:g}")
        if self.dof is not None and np.any(dof != self.dof):
            raise ModelFileError(f"params.dof: differs from the fixed dof {self.dof:g} of the options")
        if self.shared_dof and np.any(dof != dof[0]):
            raise ModelFileError("params.dof: differs between components, but the options say shared_dof")
        return checked(StudentParams(self.covariance, weights, means, cov, dof))


class StudentT(StudentMixture):
    """One multivariate Student-t: the mixture with K = 1, for a robust location and scale."""

    name = "student"
    what = "a Student-t distribution"

    def __init__(self, covariance: str = "full", reg_covar: float = 1e-6, dof: float | None = None):
        super().__init__(1, covariance, reg_covar, dof)

    def options(self) -> dict:
        return {"covariance": self.covariance, "reg_covar": self.reg_covar, "dof": self.dof}
