"""Row chunks sized in bytes, so that E-step scratch memory stays bounded whatever N, D and K."""

from collections.abc import Iterator

import numpy as np

from emcli import stopping

DEFAULT_CHUNK_BYTES = 4 * 2**20


def chunk_rows(model, n_features: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """Rows per chunk so that the model's per-row scratch space fits in ``chunk_bytes``."""
    return max(1, int(chunk_bytes) // max(1, model.workspace_bytes_per_row(n_features)))


def chunks(X: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    """Consecutive (rows, D) views of ``X``; the last may be shorter."""
    for start in range(0, len(X), rows):
        yield X[start : start + rows]


def accumulate(step, X: np.ndarray, rows: int):
    """Sum ``step(chunk)`` -> (Stats, score) over the chunks of ``X``, in row order."""
    total_stats, total_score = None, 0.0
    for block in chunks(X, rows):
        stopping.check()
        stats, score = step(block)
        total_stats = stats if total_stats is None else total_stats + stats
        total_score += score
    return total_stats, total_score
