"""Who watches a fit: a callback a command sets for the length of a fit (a progress display on
a terminal), told each iteration's number and score as the drivers record it.  Here, not in
the command line, because the drivers may not import it; one watcher per process, as one
command runs one display."""

import contextlib

_watcher = {"callback": None}


@contextlib.contextmanager
def watching(callback):
    """Tell ``callback(iteration, score)`` of every iteration recorded while the block runs."""
    previous, _watcher["callback"] = _watcher["callback"], callback
    try:
        yield
    finally:
        _watcher["callback"] = previous


def tell(iteration: int, score: float) -> None:
    """An iteration recorded (em.batch.trace_row, a stepwise epoch)."""
    callback = _watcher["callback"]
    if callback is not None:
        callback(iteration, score)
