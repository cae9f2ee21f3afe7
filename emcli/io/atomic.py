"""Write-to-temporary-then-rename, so that a reader never sees a half-written file and a failed
command leaves nothing behind.

Only regular files are replaced that way.  A symbolic link is followed (the file it names is
replaced, the link stays); a pipe, a device or a socket is written directly, since renaming
onto it would put a regular file in its place (``-o /dev/null`` run as root would replace
/dev/null)."""

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Iterator

from emcli import stopping
from emcli.errors import PipeClosed, UsageError
from emcli.io.formats import is_special

STDOUT = "-"
#: whether this invocation has begun putting an output in place (emcli.cli.signals then lets it
#: finish rather than stop half way)
state = {"committed": False}


def _commit() -> None:
    """Mark the start of putting an output in place, unless a signal has asked to stop."""
    stopping.check()
    state["committed"] = True


def check_writable(path: str) -> None:
    """Fail before any work is done when ``path`` cannot be created."""
    if path == STDOUT:
        return
    if is_special(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")


def _same_file(a: str, b: str) -> bool:
    """Whether the paths ``a`` and ``b`` name one file: the same path once symbolic links are
    resolved, or one file under two names (a hard link)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: list, inputs: list) -> None:
    """Fail before any work when an output cannot be created, would replace a file the run reads,
    or is named twice, or when standard input is to be read twice.  ``outputs``: (flag, path)
    pairs, ``inputs``: the paths the run reads; None and '-' (standard input or output) are
    skipped."""
    if sum(source == STDOUT for source in inputs) > 1:
        raise UsageError("two inputs are '-'; standard input can be read only once, so save one of "
                         "them to a file")
    named = []
    for flag, path in outputs:
        if not path or path == STDOUT:
            continue
        check_writable(path)
        if is_special(path):
            continue  # written directly: nothing is replaced (two outputs to /dev/null are fine)
        for source in inputs:
            if source and source != STDOUT and _same_file(path, source):
                raise UsageError(f"{flag} {path} is the input {source}; write the output elsewhere")
        for other_flag, other in named:
            if _same_file(path, other):
                raise UsageError(f"{other_flag} and {flag} both name {path}; give each output its own file")
        named.append((flag, path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds,
    delete it if the block raises.  A special file is yielded itself, to be written directly;
    a symbolic link is followed, so the file it names is replaced."""
    check_writable(path)
    if is_special(path):
        yield path
        return
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        _commit()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_stdout(payload: bytes) -> None:
    """Write all of ``payload`` to standard output, checking every write: a short write (a
    full disk, a file-size limit) is an OSError naming standard output, never a cut file that
    looks complete."""
    _commit()
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None  # a stream without a descriptor (a test runner's capture)
    view = memoryview(payload)
    try:
        while view:
            written = os.write(fd, view) if fd is not None else sys.stdout.buffer.write(view)
            if not written:
                raise OSError(errno.EIO, "short write", "<stdout>")
            view = view[written:]
        if fd is None:
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        # Nothing more can reach the reader; point stdout at /dev/null so that Python's own
        # flush at exit does not fail again.
        if fd is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        raise PipeClosed("standard output was closed") from None


def write_bytes(path: str, payload: bytes) -> None:
    """Write a finished payload to ``path`` atomically, or to stdout when ``path`` is ``-``."""
    if path == STDOUT:
        write_stdout(payload)
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(payload)


@contextlib.contextmanager
def atomic_paths(paths: list) -> Iterator[list]:
    """``atomic_path`` for several outputs at once: temporary paths, renamed onto ``paths``
    only when the whole block succeeds, all deleted if it raises, so that a command writing
    several files leaves all of them or none."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(path)) for path in paths]


def write_all(payloads: list) -> None:
    """Write finished ``payloads``, (path, bytes) pairs: the files all or none (renamed into
    place together), then standard output (``-``) last, so that a failure leaves nothing."""
    files = [(path, payload) for path, payload in payloads if path != STDOUT]
    with atomic_paths([path for path, _ in files]) as temporary:
        for tmp, (_, payload) in zip(temporary, files):
            with open(tmp, "wb") as handle:
                handle.write(payload)
    for path, payload in payloads:
        if path == STDOUT:
            write_stdout(payload)
