"""Initial component centres: k-means++ (greedy, as in Arthur & Vassilvitskii 2007 with several
candidates per step), its robust variant, or distinct random rows.

k-means++ draws rows with probability proportional to their squared distance to the nearest
centre so far, so gross outliers, the farthest rows of all, are the likeliest picks and start
components of their own.  The robust variant caps those squared distances at their quantile
1 - TRIM, both in the draw and in the greedy choice among candidates (the total that the best
candidate lowers most): an outlier then weighs no more than an ordinary far row, and a
candidate among the outliers lowers the capped total by little (Bhaskara et al. 2019 analyse
the capped draw with outliers present)."""

import numpy as np

from emcli.errors import DataError

METHODS = ("k-means++", "robust", "random")

#: The fraction of the rows, the farthest from the centres so far, whose squared distances the
#: robust seeding caps.  Up to this fraction of outliers cannot dominate the draw; below it
#: the cap hardly changes k-means++.
TRIM = 0.1


def _squared_distances(X: np.ndarray, origin: np.ndarray, sq_norms: np.ndarray,
                       centres: np.ndarray) -> np.ndarray:
    """(N, C) squared Euclidean distances from rows of X (N, D) to centres (C, D).

    ``sq_norms`` (N,) are the squared norms of the rows about ``origin`` (D,), the column means:
    working about the means limits cancellation, and shifting the centres rather than the rows
    avoids an (N, D) copy of the data.
    """
    shifted = centres - origin
    dist = X @ (-2.0 * shifted.T)
    dist += 2.0 * (origin @ shifted.T) + np.einsum("ij,ij->i", shifted, shifted)
    dist += sq_norms[:, None]
    np.maximum(dist, 0.0, out=dist)
    return dist


def _too_few_distinct(found: int, k: int, X: np.ndarray | None = None) -> DataError:
    """The error for ``found`` distinct rows where ``k`` are needed; with ``X``, rows that are
    distinct but whose squared distances underflowed to zero are told apart."""
    if X is not None and len(np.unique(X, axis=0)) > found:
        return DataError("the rows are too close together for their squared distances to be floats "
                         "(they underflow to zero); rescale the columns (multiply them by a power of ten)")
    return DataError(f"the data has only {found} distinct row{'s' if found != 1 else ''}, fewer than the "
                     f"{k} components asked for")


def kmeans_plus_plus(X: np.ndarray, k: int, rng: np.random.Generator,
                     trim: float = 0.0) -> np.ndarray:
    """Indices (k,) of rows of ``X`` chosen as centres by greedy k-means++.

    Each step draws 2 + ln k candidates with probability proportional to the squared distance to
    the nearest centre so far and keeps the one that lowers the total most; with ``trim`` > 0
    the squared distances are capped at their quantile 1 - ``trim`` in both.
    """
    n = len(X)
    origin = X.mean(axis=0)
    sq_norms = np.empty(n)
    for start in range(0, n, 65536):
        centred = X[start : start + 65536] - origin
        sq_norms[start : start + 65536] = np.einsum("ij,ij->i", centred, centred)
    trials = 2 + int(np.log(k))
    chosen = [int(rng.integers(n))]
    closest = _squared_distances(X, origin, sq_norms, X[chosen])[:, 0]
    for _ in range(1, k):
        cap = np.quantile(closest, 1.0 - trim) if trim > 0 else np.inf
        if cap <= 0.0:
            cap = np.inf  # most rows sit on the centres already: draw among the others
        cumulative = np.cumsum(np.minimum(closest, cap))
        if cumulative[-1] <= 0.0:
            raise _too_few_distinct(len(chosen), k, X)
        candidates = np.searchsorted(cumulative, rng.random(trials) * cumulative[-1], side="right")
        candidates = np.minimum(candidates, n - 1)
        dist = _squared_distances(X, origin, sq_norms, X[candidates])
        np.minimum(dist, closest[:, None], out=dist)
        best = int(np.argmin(np.minimum(dist, cap).sum(axis=0)))
        chosen.append(int(candidates[best]))
        closest = dist[:, best].copy()
    return np.asarray(chosen)


def random_rows(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (k,) of distinct rows of ``X`` drawn uniformly without replacement."""
    picked, seen = [], set()
    for row in rng.permutation(len(X)):
        key = X[row].tobytes()
        if key not in seen:
            seen.add(key)
            picked.append(row)
            if len(picked) == k:
                return np.asarray(picked)
    raise _too_few_distinct(len(picked), k)


def initial_centres(X: np.ndarray, k: int, method: str, rng: np.random.Generator,
                    frame: np.ndarray | None = None) -> np.ndarray:
    """(k, D) starting centres, rows of ``X`` chosen by ``method`` (one of METHODS), with
    distances measured in ``frame``: rows x @ frame (a (D, D) matrix; None: as they are)."""
    if k > len(X):
        raise DataError(f"{k} components asked for but the data has only {len(X)} rows")
    Z = X if frame is None else X @ frame
    if method == "random":
        return X[random_rows(Z, k, rng)].copy()
    return X[kmeans_plus_plus(Z, k, rng, TRIM if method == "robust" else 0.0)].copy()


def seeding_frame(X: np.ndarray, covariance: str) -> np.ndarray | None:
    """The (D, D) map under which a Gaussian-family model's seeding distances do not depend on
    the units of the complete rows ``X`` (N, D) its likelihood ignores: whitening by the
    data's covariance for full and tied covariances (affine-invariant: any x A + b seeds the
    same rows), each column over its standard deviation for diag (invariant to each column's
    scale), None for spherical (Euclidean distance is already invariant to a common scale).
    A covariance that is not positive definite (a column a combination of others) falls back
    to the standard deviations."""
    if covariance == "spherical" or len(X) < 2:
        return None
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    standardise = np.diag(1.0 / scale)
    if covariance == "diag":
        return standardise
    from scipy import linalg

    correlation = np.atleast_2d(np.cov(X / scale, rowvar=False))
    try:
        lower = linalg.cholesky(correlation, lower=True)
    except linalg.LinAlgError:
        return standardise
    if not np.all(np.isfinite(lower)) or np.diag(lower).min() < 1e-8:
        return standardise
    # z = (x / s) L^-T: rows whose covariance is the identity
    return standardise @ linalg.solve_triangular(lower, np.eye(len(lower)), lower=True).T
