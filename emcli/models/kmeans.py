"""k-means: the hard-assignment limit of the Gaussian mixture (equal spherical covariances whose
variance goes to zero).  Its objective is the inertia, the sum of squared distances of rows to
their nearest centre, which Lloyd's iteration never increases."""

import numpy as np

from emcli.em.stats import Stats
from emcli.errors import UsageError
from emcli.models.params import check_shape, float_array


class KMeans:
    name = "kmeans"
    objective = "inertia"

    def __init__(self, k: int = 1):
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        self.k = int(k)
        self.center = None

    def options(self) -> dict:
        return {"k": self.k}

    def prepare(self, X: np.ndarray) -> None:
        """Distances are taken around the column means, where float64 cancellation is least."""
        self.center = X.mean(axis=0)

    def params_from_centres(self, centres: np.ndarray) -> np.ndarray:
        return centres.copy()

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8 * (3 * self.k + 2 * n_features)

    def _nearest(self, centres: np.ndarray, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (N,) of the nearest centre and ``|c|^2 - 2 x'c`` at it (N,), for centred rows."""
        cc = centres - self.center
        dist = Xc @ (-2.0 * cc.T)
        dist += np.einsum("ij,ij->i", cc, cc)
        labels = dist.argmin(axis=1)
        return labels, dist[np.arange(len(Xc)), labels]

    def labels(self, centres: np.ndarray, X: np.ndarray) -> np.ndarray:
        """(N,) index of each row's nearest centre."""
        if self.center is None:
            self.center = centres.mean(axis=0)
        return self._nearest(centres, X - self.center)[0]

    def _stats(self, Xc: np.ndarray, labels: np.ndarray) -> Stats:
        onehot = np.zeros((len(Xc), self.k))
        onehot[np.arange(len(Xc)), labels] = 1.0
        return Stats(n=onehot.sum(axis=0), s1=onehot.T @ Xc)

    def assign_stats(self, centres: np.ndarray, X: np.ndarray) -> Stats:
        Xc = X - self.center
        return self._stats(Xc, self._nearest(centres, Xc)[0])

    def e_step(self, centres: np.ndarray, X: np.ndarray) -> tuple[Stats, float]:
        Xc = X - self.center
        labels, partial = self._nearest(centres, Xc)
        inertia = max(float(np.einsum("ij,ij->", Xc, Xc) + partial.sum()), 0.0)
        return self._stats(Xc, labels), -inertia

    def m_step(self, stats: Stats, previous: np.ndarray) -> np.ndarray:
        n_k = stats["n"]
        alive = n_k > 0
        centres = previous.copy()
        centres[alive] = stats["s1"][alive] / n_k[alive, None] + self.center
        return centres

    def degenerate(self, centres: np.ndarray, stats: Stats) -> list[tuple[int, str]]:
        return [(int(k), "empty") for k in np.flatnonzero(stats["n"] == 0)]

    def reseed(self, centres: np.ndarray, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        centres = centres.copy()
        centres[components] = X[rng.integers(len(X), size=len(components))]
        return centres

    def n_parameters(self, centres: np.ndarray) -> int:
        return centres.size

    def to_json(self, centres: np.ndarray) -> dict:
        return {"centres": centres.tolist()}

    def from_json(self, doc: dict, n_features: int) -> np.ndarray:
        return check_shape(float_array(doc, "centres"), (self.k, n_features), "params.centres")
