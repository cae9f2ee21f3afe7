"""Table formats by file name; kept free of heavy imports so that option parsing stays fast."""

import os

from emcli.errors import UsageError

STDIO = "-"
FORMATS = ("csv", "tsv", "parquet")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zst", ".lz4")


def is_special(path: str) -> bool:
    """Whether ``path`` exists and is not a regular file or a directory once links are followed
    (a pipe, a character device, a socket): written directly, never replaced, and CSV when its
    name has no extension."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def table_format(path: str, override: str | None = None, flag: str = "--input-format") -> str:
    """The format of ``path``: ``override`` if given, else by extension; ``-`` is CSV.  ``flag``
    names the option that sets it, for the message when the extension does not tell."""
    if override:
        return override
    if path == STDIO:
        return "csv"
    stem = path
    for suffix in _COMPRESSION:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    ext = os.path.splitext(stem)[1].lower()
    if ext not in _EXTENSIONS and is_special(path):
        return "csv"  # a pipe or a device (/dev/stdout, <(...)): CSV, as '-'
    if ext not in _EXTENSIONS:
        raise UsageError(
            f"cannot tell the format of {path} from its extension; use {flag} csv, tsv or parquet"
        )
    return _EXTENSIONS[ext]
