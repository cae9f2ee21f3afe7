"""k-means: the hard-assignment limit of the Gaussian mixture (equal spherical covariances whose
variance goes to zero).  Its objective is the inertia, the sum of squared distances of rows to
their nearest centre, which Lloyd's iteration never increases."""

import numpy as np

from emcli.em.protocol import Centres, HardLabels, Reseeding, Seeded, Streaming
from emcli.em.stats import Stats
from emcli.errors import UsageError
from emcli.models.gaussian import far_distances
from emcli.models.params import check_magnitude, check_shape, float_array

#: beyond this magnitude a squared distance may overflow: such rows are compared exactly
_FAR = 1e150


class KMeans(Seeded, Reseeding, HardLabels, Centres, Streaming):
    name = "kmeans"
    objective = "inertia"

    def __init__(self, k: int = 1):
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        self.k = int(k)

    def options(self) -> dict:
        return {"k": self.k}

    def prepare(self, X: np.ndarray) -> None:
        """Nothing to fix: distances are summed as (x - c)^2, which needs no reference point."""

    def params_from_centres(self, centres: np.ndarray) -> np.ndarray:
        return centres.copy()

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8  # the label; the compiled kernel's own scratch does not grow with the rows

    def _assign(self, centres: np.ndarray, X: np.ndarray, with_sums: bool):
        """Labels (N,), the inertia, and (when ``with_sums``) Stats: n (K,) rows per cluster
        and s1 (K, D) their sums, for rows X (N, D), in one compiled pass."""
        from emcli._kernels import nearest

        X = np.ascontiguousarray(X, dtype=np.float64)
        centres = np.ascontiguousarray(centres, dtype=np.float64)
        labels = np.empty(len(X), dtype=np.int64)
        if not with_sums:
            return labels, nearest(X, centres, labels, None, None), None
        sums, counts = np.empty_like(centres), np.empty(len(centres))
        inertia = nearest(X, centres, labels, sums, counts)
        return labels, inertia, Stats(n=counts, s1=sums)

    def labels(self, centres: np.ndarray, X: np.ndarray) -> np.ndarray:
        """(N,) index of each row's nearest centre (the first on ties).  Rows whose squared
        distances would overflow are ordered exactly by ``gaussian.far_distances``."""
        labels = self._assign(centres, X, with_sums=False)[0]
        far = np.abs(X).max(axis=1, initial=0.0) > _FAR
        if far.any():
            identity = np.broadcast_to(np.eye(X.shape[1]), (len(centres),) + (X.shape[1],) * 2)
            labels[far] = np.argmin(far_distances(X[far], centres, identity)[0], axis=1)
        return labels

    def assign_stats(self, centres: np.ndarray, X: np.ndarray) -> Stats:
        return self._assign(centres, X, with_sums=True)[2]

    def e_step(self, centres: np.ndarray, X: np.ndarray) -> tuple[Stats, float]:
        _, inertia, stats = self._assign(centres, X, with_sums=True)
        return stats, -inertia

    def m_step(self, stats: Stats, previous: np.ndarray) -> np.ndarray:
        n_k = stats["n"]
        alive = n_k > 0
        centres = previous.copy()
        centres[alive] = stats["s1"][alive] / n_k[alive, None]
        return centres

    def degenerate(self, centres: np.ndarray, stats: Stats) -> list[tuple[int, str]]:
        return [(int(k), "empty") for k in np.flatnonzero(stats["n"] == 0)]

    def reseed(self, centres: np.ndarray, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        centres = centres.copy()
        centres[components] = X[rng.integers(len(X), size=len(components))]
        return centres

    def centres(self, centres: np.ndarray) -> np.ndarray:
        return centres

    def n_parameters(self, centres: np.ndarray) -> int:
        return centres.size

    def to_json(self, centres: np.ndarray) -> dict:
        return {"centres": centres.tolist()}

    def from_json(self, doc: dict, n_features: int) -> np.ndarray:
        centres = check_shape(float_array(doc, "centres"), (self.k, n_features), "params.centres")
        return check_magnitude(centres, "params.centres")
