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
from emcli.numeric import BLOCK_ROWS

METHODS = ("k-means++", "robust", "random")

#: The fraction of the rows, the farthest from the centres so far, whose squared distances the
#: robust seeding caps.  Up to this fraction of outliers cannot dominate the draw; below it
#: the cap hardly changes k-means++.
TRIM = 0.1




class _Seeding:
    """The rows of X (N, D) as k-means++ sees them: z = (x - m) F, m the column means and F the
    ``frame`` (D, D; None: the identity), block by block, so that neither the mapped rows nor
    an (N, D) temporary is ever made.  Working about the means limits cancellation."""

    def __init__(self, X: np.ndarray, frame: np.ndarray | None):
        self.X, self.frame = X, frame
        self.origin = X.mean(axis=0)
        self.sq_norms = np.empty(len(X))
        for start, z in self.blocks():
            self.sq_norms[start : start + len(z)] = np.einsum("ij,ij->i", z, z)

    def mapped(self, rows: np.ndarray) -> np.ndarray:
        z = rows - self.origin
        return z if self.frame is None else z @ self.frame

    def blocks(self):
        for start in range(0, len(self.X), BLOCK_ROWS):
            yield start, self.mapped(self.X[start : start + BLOCK_ROWS])

    def distances(self, centres: np.ndarray):
        """(start, (n, C) squared distances) of each block of rows to the rows ``centres``
        (C, D) of X, in row order."""
        shifted = self.mapped(centres)
        lengths = np.einsum("ij,ij->i", shifted, shifted)
        for start, z in self.blocks():
            block = z @ (-2.0 * shifted.T)
            block += lengths
            block += self.sq_norms[start : start + len(z), None]
            yield start, np.maximum(block, 0.0, out=block)


def _too_few_distinct(found: int, k: int, X: np.ndarray | None = None) -> DataError:
    """The error for ``found`` distinct rows where ``k`` are needed; with ``X``, rows that are
    distinct but whose squared distances underflowed to zero are told apart."""
    if X is not None and len(np.unique(X, axis=0)) > found:
        return DataError("the rows are too close together for their squared distances to be floats "
                         "(they underflow to zero); rescale the columns (multiply them by a power of ten)")
    return DataError(f"the data has only {found} distinct row{'s' if found != 1 else ''}, fewer than the "
                     f"{k} components asked for")


def kmeans_plus_plus(X: np.ndarray, k: int, rng: np.random.Generator,
                     trim: float = 0.0, frame: np.ndarray | None = None) -> np.ndarray:
    """Indices (k,) of rows of ``X`` chosen as centres by greedy k-means++, distances measured
    on the rows x @ ``frame`` (None: as they are).

    Each step draws 2 + ln k candidates with probability proportional to the squared distance to
    the nearest centre so far and keeps the one that lowers the total most; with ``trim`` > 0
    the squared distances are capped at their quantile 1 - ``trim`` in both.  Besides the rows,
    memory is two (N,) arrays, the distances to the nearest centre and their running sum: each
    step's candidates are scored block by block, and the chosen one's distances computed again.
    """
    n = len(X)
    seeding = _Seeding(X, frame)
    trials = 2 + int(np.log(k))
    chosen = [int(rng.integers(n))]
    closest = np.empty(n)
    for start, block in seeding.distances(X[chosen]):
        closest[start : start + len(block)] = block[:, 0]
    for _ in range(1, k):
        cap = np.quantile(closest, 1.0 - trim) if trim > 0 else np.inf
        if cap <= 0.0:
            cap = np.inf  # most rows sit on the centres already: draw among the others
        cumulative = np.cumsum(np.minimum(closest, cap) if np.isfinite(cap) else closest)
        if cumulative[-1] <= 0.0:
            raise _too_few_distinct(len(chosen), k, X)
        candidates = np.searchsorted(cumulative, rng.random(trials) * cumulative[-1], side="right")
        del cumulative
        candidates = np.minimum(candidates, n - 1)
        totals = np.zeros(trials)
        for start, block in seeding.distances(X[candidates]):
            np.minimum(block, closest[start : start + len(block), None], out=block)
            totals += np.minimum(block, cap, out=block).sum(axis=0)
        best = int(candidates[np.argmin(totals)])
        chosen.append(best)
        for start, block in seeding.distances(X[[best]]):
            near = closest[start : start + len(block)]
            np.minimum(near, block[:, 0], out=near)
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
    if method == "random":  # distinct rows are distinct in any invertible frame
        return X[random_rows(X, k, rng)].copy()
    return X[kmeans_plus_plus(X, k, rng, TRIM if method == "robust" else 0.0, frame)].copy()


def seeding_frame(covariance_matrix: np.ndarray, covariance: str) -> np.ndarray | None:
    """The (D, D) map under which a Gaussian-family model's seeding distances do not depend on
    the units of rows whose (D, D) ``covariance_matrix`` it is given and which its likelihood
    ignores: whitening by that covariance for full and tied covariances (affine-invariant: any
    x A + b seeds the same rows), each column over its standard deviation for diag (invariant
    to each column's scale), None for spherical (Euclidean distance is already invariant to a
    common scale).  A covariance that is not positive definite (a column a combination of
    others) falls back to the standard deviations."""
    if covariance == "spherical":
        return None
    scale = np.sqrt(np.diag(covariance_matrix))
    scale[scale == 0] = 1.0
    standardise = np.diag(1.0 / scale)
    if covariance == "diag":
        return standardise
    from scipy import linalg

    correlation = covariance_matrix / np.outer(scale, scale)
    try:
        lower = linalg.cholesky(correlation, lower=True)
    except linalg.LinAlgError:
        return standardise
    if not np.all(np.isfinite(lower)) or np.diag(lower).min() < 1e-8:
        return standardise
    # z = (x / s) L^-T: rows whose covariance is the identity
    return standardise @ linalg.solve_triangular(lower, np.eye(len(lower)), lower=True).T
