"""k-medoids: clusters whose centres (medoids) are rows of the data, under any dissimilarity
``scipy.spatial.distance.cdist`` knows by name.

The fit is the alternating "Voronoi iteration" (Hastie, Tibshirani & Friedman, Elements of
Statistical Learning, 14.3.10; Park & Jun 2009): assign every row to its nearest medoid, then
move each medoid to the member of its cluster with the smallest sum of dissimilarities to the
other members.  Neither step can raise the objective, the total dissimilarity of the rows to
their medoids (reported as ``inertia``: for k-medoids it is a sum of dissimilarities, not of
squared distances), as long as d(x, x) = 0 <= d(x, y), so that every medoid belongs to its own
cluster.  The iteration stops at a local optimum, which restarts (``--restarts``) escape; it is
not PAM's swap search.

Within the sufficient-statistics protocol: the candidates are the training rows kept by
``prepare``; the E-step adds, for each row of a block, its dissimilarity to every candidate in
its cluster, so the statistic (N,) is additive over blocks and one iteration costs
sum_k n_k^2 dissimilarities, never an N x N matrix.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from emcli.em.protocol import Centres, HardLabels, Reseeding, Seeded
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.params import check_magnitude, check_shape, float_array

#: cdist names whose defaults are estimated from the rows passed in (variances, a covariance),
#: so a dissimilarity would change with the chunk and could not be reproduced from the model file
DATA_DEPENDENT = frozenset({"seuclidean", "se", "s", "mahalanobis", "mahal", "mah", "m"})
EXAMPLE_METRICS = "euclidean, cityblock, cosine, chebyshev, minkowski, correlation, canberra"

#: most dissimilarities held at once (4 MiB): a cluster of n members is compared with the rows
#: of a block in tiles of _PAIRS // n rows, so no step ever needs an N x N matrix
_PAIRS = 2**19


@dataclass
class Medoids:
    """medoids (K, D): the centres' coordinates; rows (K,): their indices in the training rows."""

    medoids: np.ndarray
    rows: np.ndarray


@dataclass
class _Assignment:
    """The training rows grouped by nearest medoid: ``order`` (N,) row indices sorted by
    cluster (ascending within a cluster), cluster k holding ``order[bounds[k]:bounds[k + 1]]``,
    whose coordinates are ``coords[bounds[k]:bounds[k + 1]]``."""

    key: bytes
    order: np.ndarray
    bounds: np.ndarray
    coords: np.ndarray

    def members(self, k: int) -> np.ndarray:
        return self.order[self.bounds[k] : self.bounds[k + 1]]

    def member_coords(self, k: int) -> np.ndarray:
        return self.coords[self.bounds[k] : self.bounds[k + 1]]


def _check_metric(metric) -> str:
    if not isinstance(metric, str):
        raise UsageError(f"--metric must be a name, got {metric!r}")
    if metric in DATA_DEPENDENT:
        raise UsageError(f"--metric {metric} estimates its scaling from the rows passed to it, which "
                         "would differ from chunk to chunk; standardise (or whiten) the columns and "
                         "use euclidean")
    try:
        cdist(np.zeros((1, 1)), np.ones((1, 1)), metric=metric)
    except (ValueError, TypeError):
        raise UsageError(f"--metric {metric!r} is not a scipy.spatial.distance metric; "
                         f"try one of {EXAMPLE_METRICS}") from None
    return metric


def _undefined(metric: str, row: int | None = None) -> DataError:
    where = f"row {row}: " if row is not None else ""
    return DataError(f"{where}the {metric} dissimilarity is undefined (NaN or infinite) for this data "
                     "(all-zero rows under cosine or braycurtis, constant rows under correlation, "
                     "negative values under jensenshannon); choose another --metric")


def _grouped(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices sorted by label (ascending within a label) and the (k + 1,) bounds of each
    label's run."""
    order = np.argsort(labels, kind="stable")
    return order, np.searchsorted(labels[order], np.arange(k + 1))


class KMedoids(Seeded, Reseeding, HardLabels, Centres):
    name = "kmedoids"
    objective = "inertia"

    def __init__(self, k: int = 1, metric: str = "euclidean"):
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        self.k = int(k)
        self.metric = _check_metric(metric)
        self._X = None
        self._cache = None

    def options(self) -> dict:
        return {"k": self.k, "metric": self.metric}

    def prepare(self, X: np.ndarray) -> None:
        """Keep the training rows (N, D): they are the candidate medoids."""
        self._X = X
        self._cache = None

    def workspace_bytes_per_row(self, n_features: int) -> int:
        # dissimilarities to the medoids, the label, its sort order and the row gathered by
        # cluster; the dissimilarities to candidates come in tiles of at most _PAIRS
        return 8 * (self.k + n_features + 3)

    # -- dissimilarities ---------------------------------------------------------------------------

    def _nearest(self, X: np.ndarray, medoids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) index of each row's nearest medoid (the first on ties) and (N,) its
        dissimilarity, for rows X (N, D), in tiles of at most _PAIRS dissimilarities."""
        labels = np.empty(len(X), dtype=np.int64)
        nearest = np.empty(len(X))
        step = max(1, _PAIRS // len(medoids))
        for start in range(0, len(X), step):
            dist = cdist(X[start : start + step], medoids, metric=self.metric)
            part = slice(start, start + len(dist))
            labels[part] = dist.argmin(axis=1)
            nearest[part] = dist[np.arange(len(dist)), labels[part]]
        return labels, nearest

    def _assignment(self, params: Medoids) -> _Assignment:
        """The training rows' clusters under ``params``, computed once per set of medoids: every
        block's E-step and the M-step need them, and they do not depend on the block."""
        key = params.medoids.tobytes()
        if self._cache is None or self._cache.key != key:
            labels, nearest = self._nearest(self._X, params.medoids)
            bad = np.flatnonzero(~np.isfinite(nearest))
            if bad.size:
                raise _undefined(self.metric, int(bad[0]) + 1)
            order, bounds = _grouped(labels, self.k)
            self._cache = _Assignment(key, order, bounds, self._X[order])
        return self._cache

    def labels(self, params: Medoids, X: np.ndarray) -> np.ndarray:
        """(N,) index of each row's nearest medoid (the first on ties)."""
        labels, nearest = self._nearest(X, params.medoids)
        if not np.all(np.isfinite(nearest)):
            raise _undefined(self.metric)
        return labels

    # -- initialisation ----------------------------------------------------------------------------

    def params_from_centres(self, centres: np.ndarray) -> Medoids:
        """Medoids at the training rows nearest (in Euclidean distance) to the (K, D) ``centres``;
        the initialisation draws centres from the rows, so these are those rows."""
        best = np.full(len(centres), np.inf)
        rows = np.zeros(len(centres), dtype=np.int64)
        step = max(1, _PAIRS // len(centres))
        for start in range(0, len(self._X), step):
            dist = cdist(self._X[start : start + step], centres, metric="sqeuclidean")
            here = dist.argmin(axis=0)
            closer = dist[here, np.arange(len(centres))] < best
            best[closer] = dist[here[closer], np.flatnonzero(closer)]
            rows[closer] = start + here[closer]
        return Medoids(self._X[rows].copy(), rows)

    def assign_stats(self, params: Medoids, X: np.ndarray) -> Stats:
        return self.e_step(params, X)[0]

    # -- E and M steps -----------------------------------------------------------------------------

    def e_step(self, params: Medoids, X: np.ndarray) -> tuple[Stats, float]:
        """Stats of the block X (B, D): ``n`` (K,) rows per cluster, ``dissimilarity`` (K,) their
        summed dissimilarity to the medoid, and ``candidates`` (N,): for each training row m,
        the summed dissimilarity from the block's rows of m's cluster to m.  The score is minus
        the block's total dissimilarity."""
        clusters = self._assignment(params)
        labels, nearest = self._nearest(X, params.medoids)
        if not np.all(np.isfinite(nearest)):
            raise _undefined(self.metric)
        order, bounds = _grouped(labels, self.k)
        candidates = np.zeros(len(self._X))
        for k in range(self.k):
            members, coords = clusters.members(k), clusters.member_coords(k)
            rows = order[bounds[k] : bounds[k + 1]]
            if rows.size == 0 or members.size == 0:
                continue
            summed = np.zeros(members.size)
            step = max(1, _PAIRS // members.size)
            for start in range(0, rows.size, step):
                summed += cdist(X[rows[start : start + step]], coords, metric=self.metric).sum(axis=0)
            candidates[members] = summed
        if not np.all(np.isfinite(candidates)):
            raise _undefined(self.metric, int(np.flatnonzero(~np.isfinite(candidates))[0]) + 1)
        stats = Stats(n=np.bincount(labels, minlength=self.k),
                      dissimilarity=np.bincount(labels, weights=nearest, minlength=self.k),
                      candidates=candidates)
        return stats, -float(nearest.sum())

    def m_step(self, stats: Stats, previous: Medoids) -> Medoids:
        """In each cluster, the member with the smallest summed dissimilarity (the lowest row
        index on ties); an empty cluster keeps its medoid."""
        clusters = self._assignment(previous)
        medoids, rows = previous.medoids.copy(), previous.rows.copy()
        for k in range(self.k):
            members = clusters.members(k)
            if members.size:
                rows[k] = members[np.argmin(stats["candidates"][members])]
                medoids[k] = self._X[rows[k]]
        return Medoids(medoids, rows)

    def degenerate(self, params: Medoids, stats: Stats) -> list[tuple[int, str]]:
        return [(int(k), "empty") for k in np.flatnonzero(stats["n"] == 0)]

    def reseed(self, params: Medoids, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> Medoids:
        """Restart ``components`` at distinct random rows at a positive dissimilarity from every
        medoid (any rows when too few are), so that they do not tie with a medoid again."""
        _, nearest = self._nearest(X, params.medoids)
        pool = np.flatnonzero(nearest > 0)
        if pool.size < len(components):
            pool = np.arange(len(X))
        picked = rng.choice(pool, size=len(components), replace=False)
        medoids, rows = params.medoids.copy(), params.rows.copy()
        medoids[components] = X[picked]
        rows[components] = picked
        return Medoids(medoids, rows)

    # -- model file --------------------------------------------------------------------------------

    def centres(self, params: Medoids) -> np.ndarray:
        return params.medoids

    def n_parameters(self, params: Medoids) -> int:
        return params.medoids.size

    def to_json(self, params: Medoids) -> dict:
        return {"medoids": params.medoids.tolist(), "rows": params.rows.tolist()}

    def from_json(self, doc: dict, n_features: int) -> Medoids:
        medoids = check_magnitude(check_shape(float_array(doc, "medoids"), (self.k, n_features),
                                             "params.medoids"), "params.medoids")
        if "rows" not in doc:
            raise ModelFileError("params.rows: missing")
        raw = doc["rows"]
        if not isinstance(raw, list) or not all(type(r) is int for r in raw):
            raise ModelFileError("params.rows: expected a list of row indices (integers)")
        check_shape(np.empty(len(raw)), (self.k,), "params.rows")
        if not all(0 <= r < 2**63 for r in raw) or len(set(raw)) != len(raw):
            raise ModelFileError("params.rows: expected distinct non-negative row indices")
        return Medoids(medoids, np.asarray(raw, dtype=np.int64))
