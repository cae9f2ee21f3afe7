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


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (s3://, gs://, https://, file://...), read through fsspec."""
    return "://" in path


def read_url(url: str) -> bytes:
    """The bytes of the file at ``url``, by fsspec (installed with dask: the extra
    emtool[dask]), whose protocols take their credentials from the environment as their own
    tools do (AWS_* for s3://, GOOGLE_APPLICATION_CREDENTIALS for gs://...)."""
    try:
        import fsspec
    except ImportError:
        raise DataError(f"{url}: reading a URL needs fsspec: pip install 'emtool[dask]'") from None
    try:
        with fsspec.open(url, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataError(f"{url}: no such file") from None
    except ImportError as exc:  # the protocol's package (s3fs, gcsfs...) is not installed
        raise DataError(f"{url}: {str(exc).splitlines()[0]}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{url}: cannot read ({str(exc).splitlines()[0]})") from None


def delimited_source(path: str):
    """What pyarrow reads for ``path``: the path of a regular file, the bytes of a URL (read
    at every call: a worker reads many parts, and keeps none), or the bytes of standard input
    ('-') or of a FIFO, read once and kept.  A FIFO that no process opens for writing within
    FIFO_WAIT_SECONDS is a DataError, rather than a wait without end."""
    if is_url(path):
        return read_url(path)
    if path != STDIN and not stat.S_ISFIFO(_mode(path)):
        return path
    if path not in _STREAMS:
        _STREAMS[path] = sys.stdin.buffer.read() if path == STDIN else _read_fifo(path)
    return _STREAMS[path]


def source_bytes(path: str) -> bytes:
    """The bytes of input ``path``, whatever it is: a regular file's, a URL's, a stream's (as
    ``delimited_source`` keeps them)."""
    source = delimited_source(path)
    if isinstance(source, bytes):
        return source
    with open(source, "rb") as handle:
        return handle.read()


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
