"""Freed arrays go back to the system as they are freed.

glibc's malloc serves a request above its mmap threshold (128 KiB) with a mapping of its own,
which free returns at once; but it raises the threshold to the size of each large block freed,
after which blocks up to that size come from its heaps, which keep freed memory.  A command
that makes and frees blocks of a few MB (each chunk's scratch, a block of predictions) would
then hold its largest temporaries until it exits, on top of its rows.  Fixing the threshold
keeps a command's resident memory what its work needs at the time.
"""

import sys

#: mallopt's parameter number for the mmap threshold (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 2**20


def return_freed_memory() -> None:
    """Fix glibc's mmap threshold; nothing on other C libraries, which have their own policy."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass  # not glibc (musl): no mallopt to call
