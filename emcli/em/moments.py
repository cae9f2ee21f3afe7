"""Column summaries a model's ``prepare`` takes from its rows, computed as E-step passes are
(em.chunks.accumulate): over an array chunk by chunk, over rows held in partitions on a
cluster (emcli.cluster.rows) one task per partition, the same sums either way.  Missing cells
(NaN) are left out of every sum."""

from dataclasses import dataclass

import numpy as np

from emcli.em.chunks import accumulate
from emcli.em.stats import Stats
from emcli.numeric import BLOCK_ROWS, column_moments


@dataclass(frozen=True)
class ColumnSummary:
    """Per column (D,): the ``mean`` and population ``variance`` of its observed cells, and
    their ``count``; ``rows`` N."""

    mean: np.ndarray
    variance: np.ndarray
    count: np.ndarray
    rows: int

    @property
    def incomplete(self) -> bool:
        """Whether some cell is missing."""
        return bool((self.count < self.rows).any())


def column_summary(X, rows: int = BLOCK_ROWS) -> ColumnSummary:
    """The ColumnSummary of the (N, D) rows ``X``: two passes, the sums then the squares about
    the means, so that a large common offset does not cancel digits away."""
    def sums(block):
        return Stats(total=np.nansum(block, axis=0), count=(~np.isnan(block)).sum(axis=0).astype(np.float64)), 0.0

    first, _ = accumulate(sums, X, rows)
    count = first["count"]
    mean = first["total"] / np.maximum(count, 1)

    def squares(block):
        centred = block - mean
        return Stats(sq=np.nansum(centred * centred, axis=0)), 0.0

    second, _ = accumulate(squares, X, rows)
    return ColumnSummary(mean, second["sq"] / np.maximum(count, 1), count, len(X))


def mean_and_variance(X) -> tuple[np.ndarray, np.ndarray]:
    """(D,) column means and population variances of the (N, D) rows ``X``: for an array in
    this thread (numeric.column_moments, under the caller's np.errstate, which worker threads
    do not see), for rows held in partitions by ``column_summary``'s passes; the same sums."""
    if isinstance(X, np.ndarray):
        return column_moments(X)
    summary = column_summary(X)
    return summary.mean, summary.variance


def per_partition(function, X) -> list:
    """[``function(rows)``] for the (N, D) array ``X``; for rows held in partitions on a
    cluster, one result per partition, in partition order (each computed where it is held)."""
    return X.map_partitions(function) if hasattr(X, "map_partitions") else [function(X)]


def _extremes(X: np.ndarray):
    return (np.nanmin(X, axis=0), np.nanmax(X, axis=0)) if len(X) else None


def column_range(X) -> tuple[np.ndarray, np.ndarray]:
    """(D,) the smallest and (D,) the largest observed value of each column of the (N, D)
    rows ``X`` (N > 0)."""
    found = [extremes for extremes in per_partition(_extremes, X) if extremes is not None]
    return np.min([low for low, _ in found], axis=0), np.max([high for _, high in found], axis=0)


def filled_covariance(X, mean: np.ndarray, rows: int = BLOCK_ROWS) -> np.ndarray:
    """(D, D) population covariance of the (N, D) rows ``X`` with each missing cell at its
    column's ``mean`` (D,), where it adds nothing about that mean."""
    def products(block):
        centred = np.nan_to_num(block - mean, nan=0.0)
        return Stats(cross=centred.T @ centred), 0.0

    return accumulate(products, X, rows)[0]["cross"] / max(len(X), 1)


#: rows a quantile of rows held elsewhere is estimated from (a quartile's standard error is
#: then about 0.2% of the spread)
QUANTILE_SAMPLE = 200_000


def column_quartiles(X) -> np.ndarray:
    """(D, 2) each column's 25th and 75th percentiles: exact for an array (a column at a time,
    no (N, D) copy); for rows held in partitions, those of QUANTILE_SAMPLE rows drawn evenly
    without replacement (seeded, so a fit is reproducible), gathered to the client."""
    if not isinstance(X, np.ndarray) and len(X) > QUANTILE_SAMPLE:
        rng = np.random.default_rng(0)
        X = X[np.sort(rng.choice(len(X), QUANTILE_SAMPLE, replace=False))]
    elif not isinstance(X, np.ndarray):
        X = X[np.arange(len(X))]
    return np.array([np.percentile(X[:, j], [25.0, 75.0]) for j in range(X.shape[1])])
