"""Gaussian mixture model with full, tied, diagonal or spherical covariances.

The E-step is a few GEMMs per chunk: with x centred on a fixed reference point, the Mahalanobis
term of component k is  x'L_k x - 2 x'L_k m_k + m_k'L_k m_k  (L_k the precision), and x'L_k x
for every k at once is the product of the row-wise outer products x (x) x with the stacked
precisions.  The same outer products give the M-step's second moments in one GEMM.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.params import check_shape, check_weights, float_array
from emcli.numeric import LOG_2PI, column_moments, inverse_and_logdet, normalize_log_rows

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
COVARIANCE_KEY = {"full": "covariances", "tied": "covariance", "diag": "variances",
                  "spherical": "variances"}


@dataclass
class GMMParams:
    """weights (K,), means (K, D) and ``cov``: full (K, D, D), tied (D, D), diag (K, D) or
    spherical (K,)."""

    covariance: str
    weights: np.ndarray
    means: np.ndarray
    cov: np.ndarray

    @cached_property
    def precision(self):
        """(precisions, log-determinants of the precisions) in the shape of ``cov``."""
        if self.covariance == "full":
            pairs = [inverse_and_logdet(c, f"covariance of component {k}") for k, c in enumerate(self.cov)]
            return np.stack([p for p, _ in pairs]), np.array([d for _, d in pairs])
        if self.covariance == "tied":
            precision, logdet = inverse_and_logdet(self.cov, "tied covariance")
            return precision, np.full(len(self.weights), logdet)
        if np.any(self.cov <= 0):
            raise np.linalg.LinAlgError("a variance is not positive")
        precision = 1.0 / self.cov
        if self.covariance == "diag":
            return precision, np.log(precision).sum(axis=1)
        return precision, self.means.shape[1] * np.log(precision)


class GaussianMixture:
    name = "gmm"
    objective = "log_likelihood"
    requires_variation = True
    min_rows = 2

    def __init__(self, k: int = 1, covariance: str = "full", reg_covar: float = 1e-6):
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        if covariance not in COVARIANCE_TYPES:
            raise UsageError(f"--covariance must be one of {', '.join(COVARIANCE_TYPES)}, got {covariance!r}")
        if not reg_covar >= 0:
            raise UsageError(f"reg_covar must be non-negative, got {reg_covar}")
        self.k = int(k)
        self.covariance = covariance
        self.reg_covar = float(reg_covar)
        self.center = None
        self.floor = None
        self.data_var = None

    def options(self) -> dict:
        return {"k": self.k, "covariance": self.covariance, "reg_covar": self.reg_covar}

    # -- data-scale settings -------------------------------------------------------------------

    def prepare(self, X: np.ndarray) -> None:
        """Reference point (column means) and covariance floor: ``reg_covar`` times each
        column's variance, added to every component's diagonal, so the floor follows each
        column's units and no component can shrink onto a point."""
        if len(X) < 2:
            raise DataError(f"a Gaussian mixture needs at least 2 rows, the data has {len(X)}")
        self.center, self.data_var = column_moments(X)
        constant = np.flatnonzero(self.data_var == 0)
        if constant.size:
            raise DataError(f"column {int(constant[0]) + 1} of the data is constant; a Gaussian mixture needs variation in every column")
        self.floor = self.reg_covar * self.data_var

    def _floored(self, stats_cov: np.ndarray) -> np.ndarray:
        if self.covariance in ("full", "tied"):
            out = stats_cov.copy()
            diag = np.einsum("...ii->...i", out)
            diag += self.floor
            return out
        if self.covariance == "diag":
            return stats_cov + self.floor
        return stats_cov + self.floor.mean()

    # -- initialisation --------------------------------------------------------------------------

    def params_from_centres(self, centres: np.ndarray) -> GMMParams:
        k, d = centres.shape
        var = self.data_var + self.floor
        cov = {"full": np.broadcast_to(np.diag(var), (k, d, d)).copy(), "tied": np.diag(var),
               "diag": np.tile(var, (k, 1)), "spherical": np.full(k, var.mean())}[self.covariance]
        return GMMParams(self.covariance, np.full(k, 1.0 / k), centres.copy(), cov)

    def assign_stats(self, params: GMMParams, X: np.ndarray) -> Stats:
        Xc = X - self.center
        mc = params.means - self.center
        dist = np.einsum("ij,ij->i", mc, mc)[None, :] - 2.0 * (Xc @ mc.T)
        resp = np.zeros_like(dist)
        resp[np.arange(len(X)), dist.argmin(axis=1)] = 1.0
        return self._stats(Xc, resp)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        second = n_features * (n_features + 1) // 2 if self.covariance == "full" else n_features
        return 8 * (second + 3 * self.k + 2 * n_features)

    def _log_joint(self, params: GMMParams, Xc: np.ndarray, second: np.ndarray | None) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) for centred rows ``Xc`` (N, D); ``second`` holds the
        second-moment features of ``Xc`` for the covariance type (see ``_second``)."""
        precision, logdet = params.precision
        mc = params.means - self.center
        d = Xc.shape[1]
        if self.covariance == "full":
            linear = np.einsum("kij,kj->ki", precision, mc)
            upper = np.triu_indices(d)
            packed = precision[:, upper[0], upper[1]] * np.where(upper[0] == upper[1], -0.5, -1.0)
            log_joint = second.T @ packed.T
        elif self.covariance == "tied":
            linear = mc @ precision
            quad = np.einsum("ij,ij->i", Xc @ precision, Xc)
            log_joint = np.repeat(-0.5 * quad[:, None], len(mc), axis=1)
        elif self.covariance == "diag":
            linear = precision * mc
            log_joint = second @ (-0.5 * precision.T)
        else:
            linear = precision[:, None] * mc
            log_joint = np.outer(second, -0.5 * precision)
        log_joint += Xc @ linear.T
        log_joint += (np.log(params.weights) - 0.5 * d * LOG_2PI + 0.5 * logdet
                      - 0.5 * np.einsum("ki,ki->k", linear, mc))
        return log_joint

    def _second(self, Xc: np.ndarray) -> np.ndarray | None:
        """Second-moment features: for full, the upper triangles of the outer products x x',
        stored transposed as (D(D+1)/2, N) so that each product is one contiguous SIMD pass;
        (N, D) squares for diag; (N,) squared norms for spherical; none for tied."""
        if self.covariance == "full":
            n, d = Xc.shape
            columns = np.ascontiguousarray(Xc.T)
            packed = np.empty((d * (d + 1) // 2, n))
            start = 0
            for i in range(d):
                np.multiply(columns[i:], columns[i], out=packed[start : start + d - i])
                start += d - i
            return packed
        if self.covariance == "diag":
            return Xc * Xc
        if self.covariance == "spherical":
            return np.einsum("ij,ij->i", Xc, Xc)
        return None

    def _stats(self, Xc: np.ndarray, resp: np.ndarray, second: np.ndarray | None = None) -> Stats:
        """n (K,), s1 (K, D) and s2: packed upper triangles (K, D(D+1)/2) for full, (D, D)
        for tied, (K, D) for diag, (K,) for spherical; all about the reference point."""
        if second is None:
            second = self._second(Xc)
        if self.covariance == "full":
            s2 = (second @ resp).T
        elif self.covariance == "tied":
            s2 = Xc.T @ Xc
        else:
            s2 = resp.T @ second
        return Stats(n=resp.sum(axis=0), s1=resp.T @ Xc, s2=s2)

    def e_step(self, params: GMMParams, X: np.ndarray) -> tuple[Stats, float]:
        Xc = X - self.center
        second = self._second(Xc)
        log_joint = self._log_joint(params, Xc, second)
        row_ll = normalize_log_rows(log_joint)
        return self._stats(Xc, log_joint, second), float(row_ll.sum())

    def responsibilities(self, params: GMMParams, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities of the components and (N,) log densities."""
        if self.center is None:
            # A model read from a file was never prepared on data; any fixed reference point
            # gives the same densities, and the mean of the means keeps cancellation small.
            self.center = params.means.mean(axis=0)
        Xc = X - self.center
        log_joint = self._log_joint(params, Xc, self._second(Xc))
        return log_joint, normalize_log_rows(log_joint)

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: GMMParams) -> GMMParams:
        n_k = stats["n"]
        total = n_k.sum()
        alive = n_k > 10 * np.finfo(float).eps * total
        safe_n = np.where(alive, n_k, 1.0)
        mc = stats["s1"] / safe_n[:, None]
        s2 = stats["s2"]
        if self.covariance == "full":
            upper = np.triu_indices(mc.shape[1])
            moments = np.empty((len(n_k), mc.shape[1], mc.shape[1]))
            moments[:, upper[0], upper[1]] = s2
            moments[:, upper[1], upper[0]] = s2
            cov = moments / safe_n[:, None, None] - mc[:, :, None] * mc[:, None, :]
        elif self.covariance == "tied":
            cov = (s2 - (n_k[:, None] * mc).T @ mc) / total
        elif self.covariance == "diag":
            cov = s2 / safe_n[:, None] - mc * mc
        else:
            cov = (s2 / safe_n - np.einsum("ki,ki->k", mc, mc)) / mc.shape[1]
        if self.covariance == "tied":
            cov = 0.5 * (cov + cov.T)
        cov = self._floored(cov)
        means = mc + self.center
        if not alive.all() and self.covariance != "tied":
            means[~alive] = previous.means[~alive]
            cov[~alive] = previous.cov[~alive]
        elif not alive.all():
            means[~alive] = previous.means[~alive]
        return GMMParams(self.covariance, n_k / total, means, cov)

    def degenerate(self, params: GMMParams, stats: Stats) -> list[tuple[int, str]]:
        """Components holding less than one row's worth of responsibility ("empty"), or whose
        variance before the floor is no larger than the floor ("collapsed" onto a point)."""
        bad = {int(k): "empty" for k in np.flatnonzero(stats["n"] < 1.0)}
        if self.covariance != "tied":
            d = params.means.shape[1]
            total_var = {"full": lambda c: np.einsum("kii->k", c), "diag": lambda c: c.sum(axis=1),
                         "spherical": lambda c: d * c}[self.covariance](params.cov)
            for k in np.flatnonzero(total_var <= 2.0 * self.floor.sum()):
                bad.setdefault(int(k), "collapsed")
        return sorted(bad.items())

    def reseed(self, params: GMMParams, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> GMMParams:
        fresh = self.params_from_centres(X[rng.integers(len(X), size=len(components))])
        weights, means, cov = params.weights.copy(), params.means.copy(), params.cov.copy()
        means[components] = fresh.means
        weights[components] = 1.0 / self.k
        if self.covariance != "tied":
            cov[components] = fresh.cov[: len(components)]
        return GMMParams(self.covariance, weights / weights.sum(), means, cov)

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: GMMParams) -> int:
        k, d = params.means.shape
        cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
               "spherical": k}[self.covariance]
        return (k - 1) + k * d + cov

    def to_json(self, params: GMMParams) -> dict:
        return {"weights": params.weights.tolist(), "means": params.means.tolist(),
                COVARIANCE_KEY[self.covariance]: params.cov.tolist()}

    def from_json(self, doc: dict, n_features: int) -> GMMParams:
        k, d = self.k, n_features
        weights = check_weights(doc, "weights", k)
        means = check_shape(float_array(doc, "means"), (k, d), "params.means")
        key = COVARIANCE_KEY[self.covariance]
        shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[self.covariance]
        cov = check_shape(float_array(doc, key), shape, f"params.{key}")
        params = GMMParams(self.covariance, weights, means, cov)
        if self.covariance in ("full", "tied") and not np.allclose(cov, np.swapaxes(cov, -1, -2)):
            raise ModelFileError(f"params.{key}: not symmetric")
        try:
            params.precision
        except np.linalg.LinAlgError as exc:
            raise ModelFileError(f"params.{key}: {exc}") from None
        return params
