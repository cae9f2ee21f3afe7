"""Row chunks sized in bytes, so that E-step scratch memory stays bounded whatever N, D and K;
and the pass that sums a step over them, on the command's worker threads (``em.workers``)."""

from collections.abc import Iterator

import numpy as np

from emcli import stopping
from emcli.em.workers import ordered_map

DEFAULT_CHUNK_BYTES = 4 * 2**20

#: at most this many rows per chunk
MAX_CHUNK_ROWS = 65536
#: a pass over N rows makes at least this many chunks (of at least MIN_CHUNK_ROWS rows), so
#: that the worker threads share it evenly; the chunks depend on N, never on the threads, which
#: keeps results bit for bit the same for any number of them
CHUNKS_PER_PASS = 16
MIN_CHUNK_ROWS = 1024


def chunk_rows(model, n_features: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               n_rows: int | None = None) -> int:
    """Rows per chunk so that the model's per-row scratch space fits in ``chunk_bytes``, and,
    for a pass over ``n_rows`` rows, that it has chunks enough to share among threads (a
    chunk costs some 50 us of Python beside its work, which is why they are not smaller)."""
    cap = MAX_CHUNK_ROWS
    if n_rows is not None:
        cap = min(cap, max(MIN_CHUNK_ROWS, -(-n_rows // CHUNKS_PER_PASS)))
    return max(1, min(cap, int(chunk_bytes) // max(1, model.workspace_bytes_per_row(n_features))))


def chunks(X: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    """Consecutive (rows, D) views of ``X``; the last may be shorter."""
    for start in range(0, len(X), rows):
        yield X[start : start + rows]


def accumulate(step, X: np.ndarray, rows: int):
    """Sum ``step(chunk)`` -> (Stats, score) over the chunks of ``X``, in chunk order, the
    chunks on the worker threads: a map-reduce whose sums are those of one thread, bit for
    bit.  Rows held elsewhere (emcli.cluster.rows.PartitionedRows) run it themselves."""
    if hasattr(X, "map_reduce"):
        return X.map_reduce(step, rows)
    return summed(ordered_map(step, chunks(X, rows)))


def accumulate_drawn(step, X: np.ndarray, rows: int, rng: np.random.Generator):
    """``accumulate`` for a step that draws random numbers, ``step(chunk, chunk_rng)``: each
    chunk draws from a generator of its own, spawned from ``rng`` in chunk order, so that the
    draws, like the sums, are the same whichever thread runs which chunk (a generator shared
    by threads would hand out its numbers in the order they happened to ask).  Rows held
    elsewhere run it themselves."""
    if hasattr(X, "map_reduce_drawn"):
        return X.map_reduce_drawn(step, rows, rng)
    blocks = list(chunks(X, rows))
    return summed(ordered_map(lambda pair: step(*pair), zip(blocks, rng.spawn(len(blocks)))))


def summed(results):
    """The sums of (Stats, score) ``results``, in order."""
    total_stats, total_score = None, 0.0
    for stats, score in results:
        stopping.check()
        total_stats = stats if total_stats is None else total_stats + stats
        total_score += score
    return total_stats, total_score
