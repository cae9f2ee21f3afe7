"""Rows held in partitions on a Dask cluster, passed over by the EM drivers in place of an
array: an E-step pass is one task per partition, each running the local engine's chunked
E-step on its rows (``em.chunks.accumulate``), and the client sums the partitions'
statistics in partition order.  Only the step (the model and its parameters) goes to the
workers, and only the statistics come back."""

import functools

import numpy as np

from emcli.em.chunks import accumulate, accumulate_drawn, summed
from emcli.errors import FitError


def _partition_pass(part, step, chunk: int, reader=None):
    """One partition's (Stats, score): ``step`` summed over its chunks of ``chunk`` rows (the
    partition's rows, or read from ``part`` by ``reader``)."""
    return accumulate(step, part if reader is None else reader(part), chunk)


def _partition_drawn_pass(part, rng, step, chunk: int, reader=None):
    """``_partition_pass`` for a step that draws, from the partition's own generator ``rng``."""
    return accumulate_drawn(step, part if reader is None else reader(part), chunk, rng)


def _partition_fold(part, step, state, rng, reader=None, **options):
    """``step(state, rows, rng, **options)``: the state carried through one partition."""
    return step(state, part if reader is None else reader(part), rng, **options)


def _partition_apply(part, function, reader=None):
    return function(part if reader is None else reader(part))


def _read_then(part, reader, function):
    return function(reader(part))


def _gather_rows(part, positions: np.ndarray, reader=None) -> np.ndarray:
    return (part if reader is None else reader(part))[positions]


def gathered(client, futures: list) -> list:
    """The results of ``futures``, in order.  A worker lost in the middle of a task is Dask's to
    recover (it runs the task again elsewhere, reading the part again); when it cannot (a task
    that killed every worker it ran on, the scheduler gone), a FitError: the fit fails, one
    line, exit 1, and no model is written.  Errors of the tasks themselves (a bad cell, a
    singular covariance) come back as they were raised."""
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm import CommClosedError

    try:
        return client.gather(futures)
    except (KilledWorker, FutureCancelledError, CommClosedError) as exc:
        raise FitError(f"the Dask cluster lost the work ({type(exc).__name__}: {exc})") from None


class PartitionedRows:
    """(N, D) float64 rows in partitions on the workers of a Dask ``client``: ``parts`` are
    futures of (n_i, D) arrays in row order (rows kept in the workers' memory), or, with a
    ``reader``, what it turns into those arrays on a worker at each pass (rows read again every
    time, so that a table larger than the cluster's memory fits); ``sizes`` their n_i.  Takes
    ``len``, ``shape``, ``X[indices]`` (an integer array: the rows gathered to the client, for
    seeding and re-seeding) and ``map_reduce``, which em.chunks.accumulate calls instead of
    chunking."""

    def __init__(self, client, parts: list, sizes: list, n_features: int, reader=None):
        self.client, self.parts, self.sizes = client, list(parts), [int(size) for size in sizes]
        self.reader = reader
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n_features = int(n_features)

    @classmethod
    def scatter(cls, client, X: np.ndarray, n_parts: int) -> "PartitionedRows":
        """``X`` cut into ``n_parts`` consecutive partitions, sent to the workers."""
        pieces = np.array_split(X, n_parts)
        # keys of their own (hash=False): the same rows scattered again must not share keys that the
        # release of an earlier copy would take away
        return cls(client, client.scatter(pieces, hash=False), [len(piece) for piece in pieces], X.shape[1])

    def mapped(self, function) -> "PartitionedRows":
        """These rows with ``function`` (rows (n, D) -> rows (n, D), as a standardisation) applied
        on the workers: to the kept partitions at once, or after each read of a partition."""
        if self.reader is None:
            parts = self.client.map(function, self.parts, pure=False)
            return PartitionedRows(self.client, parts, self.sizes, self.n_features)
        reader = functools.partial(_read_then, reader=self.reader, function=function)
        return PartitionedRows(self.client, self.parts, self.sizes, self.n_features, reader)

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def shape(self) -> tuple:
        return len(self), self.n_features

    def map_reduce(self, step, chunk: int):
        """``step(block)`` -> (Stats, score) summed over every chunk of ``chunk`` rows of every
        partition: one task per partition, the results summed in partition order."""
        futures = self.client.map(_partition_pass, self.parts, step=step, chunk=chunk, reader=self.reader,
                                  pure=False)
        return summed(gathered(self.client, futures))

    def map_partitions(self, function) -> list:
        """[``function(rows_i)``] for each partition i, computed on the workers, in partition
        order (a summary that is not a sum: extremes, a maximum)."""
        return gathered(self.client, self.client.map(_partition_apply, self.parts, function=function,
                                                     reader=self.reader, pure=False))

    def map_reduce_drawn(self, step, chunk: int, rng):
        """``map_reduce`` of a step that draws, ``step(block, block_rng)``: each partition
        draws from a generator of its own, spawned from ``rng`` in partition order (and each
        of its chunks from one spawned from that), so that a seed gives the same draws
        whichever worker runs which partition."""
        futures = self.client.map(_partition_drawn_pass, self.parts, rng.spawn(len(self.parts)), step=step,
                                  chunk=chunk, reader=self.reader, pure=False)
        return summed(gathered(self.client, futures))

    def fold(self, step, state, rng, **options):
        """``state = step(state, rows_i, rng_i, **options)`` for each partition i in turn, on
        a worker that holds or reads it, with ``rng_i`` spawned from ``rng`` in partition order:
        the state (small: parameters, running statistics) travels to the rows, never the
        rows to the client.  The last state."""
        for part, part_rng in zip(self.parts, rng.spawn(len(self.parts))):
            state = self.client.submit(_partition_fold, part, step, state, part_rng, self.reader, pure=False,
                                       **options)
        return gathered(self.client, [state])[0]

    def __getitem__(self, index) -> np.ndarray:
        """The rows at the integer positions ``index`` (1-D), in that order."""
        index = np.asarray(index)
        if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
            raise TypeError("partitioned rows are indexed by a 1-D array of row positions")
        part = np.searchsorted(self.starts, index, side="right") - 1
        out = np.empty((len(index), self.n_features))
        for p in np.unique(part):
            mine = np.flatnonzero(part == p)
            out[mine] = gathered(self.client, [self.client.submit(
                _gather_rows, self.parts[p], index[mine] - self.starts[p], self.reader, pure=False)])[0]
        return out
