"""The worker threads that passes over the data run on, and the one BLAS thread each.

A command opens ``workers(threads)`` once around its work.  Inside it, every pass over row
chunks (``ordered_map``: the E-step's statistics, predict's labels, select-k's scores,
compress's codes) runs its chunks on that many threads; NumPy's BLAS, SciPy's and any OpenMP
runtime are limited to one thread, so that the workers do not contend with BLAS threads of
their own and small-matrix work (factorisations, M-steps) does not pay for threads it cannot
use.  The chunking never depends on the number of threads and results are taken in chunk
order, so every result is bit for bit the same for any number of threads.

Outside ``workers`` (the engine used as a library) a pass runs on the calling thread.
"""

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

#: the variable that sets --threads' default
THREADS_ENV = "EMTOOL_THREADS"

_pool = None  # the open ThreadPoolExecutor, or None: one thread
_threads = 1
_process = ExitStack()  # the workers a process of its own opened for its whole life


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def current() -> int:
    """The number of worker threads passes run on now."""
    return _threads


#: the variables BLAS libraries read, when they load, for their number of threads; not
#: OMP_NUM_THREADS, which OpenBLAS needs no more than these but Arrow reads for the size of its
#: own pool (reading and writing tables on one thread would be a loss)
ONE_THREAD = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


@contextmanager
def workers(threads: int):
    """Run passes inside on ``threads`` worker threads, with one BLAS / OpenMP thread each."""
    global _pool, _threads
    from threadpoolctl import threadpool_limits

    # threadpoolctl limits the libraries loaded now (NumPy's BLAS); the variables, the ones
    # loaded later (SciPy's own OpenBLAS, when a command needs it), without importing SciPy
    # for commands that never use it (a third of a second)
    with ExitStack() as stack:
        stack.callback(_restore_environment, {name: os.environ.get(name) for name in ONE_THREAD})
        os.environ.update(dict.fromkeys(ONE_THREAD, "1"))
        stack.enter_context(threadpool_limits(limits=1))
        previous = _pool, _threads
        pool = None
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="emtool")
        _pool, _threads = pool, max(1, threads)
        try:
            yield
        finally:
            _pool, _threads = previous
            if pool is not None:
                pool.shutdown(cancel_futures=True)


def _restore_environment(saved: dict) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def for_this_process(threads: int) -> None:
    """``workers(threads)`` for the rest of this process's life: for a worker process of its
    own, such as one of select-k's cell processes."""
    _process.enter_context(workers(threads))


def ordered_map(fn: Callable, items: Iterable) -> Iterator:
    """``fn(item)`` for each item, in order: on the worker threads when there are several, at
    most twice as many items in flight as threads (so that scratch memory stays bounded), else
    on the calling thread as each result is asked for."""
    pool = _pool
    if pool is None:
        yield from map(fn, items)
        return
    ahead = 2 * _threads
    pending = []
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= ahead:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        for future in pending:  # an error or an abandoned pass: do not run the rest
            future.cancel()


def _forget_pool() -> None:
    """In a forked child the parent's threads do not exist: start over on one thread."""
    global _pool, _threads
    _pool, _threads = None, 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
