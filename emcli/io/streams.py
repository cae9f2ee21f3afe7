"""Standard input and FIFOs as inputs: streams that can be read only once.

predict and impute read their input twice (with types, and as the text passed through), so a
stream's bytes are read once and kept for the command; ``forget`` drops them when a command
starts (tests run many commands in one process).  Light on imports: the CLI calls ``forget``
for every command.
"""

import os
import stat
import sys

from emcli.errors import DataError

STDIN = "-"
#: how long a FIFO given as input may wait for a process to open it for writing
FIFO_WAIT_SECONDS = 60
_STREAMS: dict = {}


def forget() -> None:
    """Drop the streams kept by an earlier command."""
    _STREAMS.clear()


def delimited_source(path: str):
    """What pyarrow reads for ``path``: the path of a regular file, or the bytes of standard
    input ('-') or of a FIFO, read once and kept.  A FIFO that no process opens for writing
    within FIFO_WAIT_SECONDS is a DataError, rather than a wait without end."""
    if path != STDIN and not stat.S_ISFIFO(_mode(path)):
        return path
    if path not in _STREAMS:
        _STREAMS[path] = sys.stdin.buffer.read() if path == STDIN else _read_fifo(path)
    return _STREAMS[path]


def _mode(path: str) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0  # the reader says why


def _read_fifo(path: str) -> bytes:
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # an open that waits for no writer
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        if not poller.poll(FIFO_WAIT_SECONDS * 1000):
            raise DataError(f"{path}: no process opened this FIFO for writing within "
                            f"{FIFO_WAIT_SECONDS} s")
        os.set_blocking(fd, True)
        pieces = []
        while piece := os.read(fd, 1 << 20):
            pieces.append(piece)
        return b"".join(pieces)
    finally:
        os.close(fd)
