"""DATA for the dask engine: a file, a glob (``'events/*.parquet'``) or a directory of
Parquet, CSV or TSV parts, one partition per part, each read on a worker by the local
engine's reader (emcli.data.load_rows), with the local engine's one-line errors naming the
part and its row.  Checks that hold per row run on the workers as each part is read; those
of the whole table (rows enough for K, every column observed) on the client, from the parts'
sizes and column counts."""

import functools
import glob
import os

import numpy as np

from emcli.errors import DataError, UsageError

#: the part files a directory is read from, by extension
PART_EXTENSIONS = (".parquet", ".csv", ".tsv")


def part_files(path: str) -> list:
    """The parts of DATA ``path`` as the user names them: the file itself, a directory's files
    with a table extension (in name order), or a glob's matches (in name order)."""
    if path == "-":
        raise UsageError("--engine dask reads DATA on the workers: a file, a glob or a directory of parts, "
                         "not standard input")
    if os.path.isdir(path):
        parts = sorted(os.path.join(path, name) for name in os.listdir(path)
                       if name.lower().endswith(PART_EXTENSIONS) and not name.startswith((".", "_")))
        if not parts:
            raise UsageError(f"{path}: a directory with no .parquet, .csv or .tsv part")
        return parts
    if os.path.exists(path):
        return [path]
    matches = sorted(match for match in glob.glob(path) if os.path.isfile(match))
    if not matches:
        raise UsageError(f"{path}: no such file, directory or matching parts")
    return matches


def read_part(part: tuple, fmt: str | None, columns: list | None, kind: str, complete_for: str | None,
              exclude: list | None = None):
    """One part's (n, D) rows as the local engine codes them, rows with every cell missing
    left out: (rows, their columns, how many were left out, (D,) observed cells per column).
    ``part``: (the path the worker reads, the name messages give it); ``complete_for``: the
    model's name when it needs complete rows (a missing cell is then the local engine's
    error)."""
    from emcli.data import empty_rows, load_rows, require_complete, require_float_range

    path, name = part
    rows = load_rows(path, fmt, columns, kind, exclude=exclude, keep_table=False, name=name)
    X = rows.X
    if complete_for:
        require_complete(X, rows.columns, name, complete_for)
    empty = empty_rows(X)
    if empty.size:
        X = np.delete(X, empty, axis=0)
    require_float_range(X, rows.columns, name)
    return X, rows.columns, int(empty.size), (~np.isnan(X)).sum(axis=0)


def _part_rows(part: tuple, **reading) -> np.ndarray:
    """``read_part``'s rows alone: a partition read again at a pass, or kept (--persist)."""
    return read_part(part, **reading)[0]


def _part_summary(part: tuple, **reading) -> tuple:
    """``read_part``'s all but the rows: (rows, columns, rows left out, observed cells per
    column), so that checking a part holds its rows no longer than reading it."""
    X, columns, dropped, observed = read_part(part, **reading)
    return len(X), columns, dropped, observed


def load_partitions(client, path: str, fmt: str | None, columns: list | None, kind: str,
                    complete_for: str | None, exclude: list | None = None, persist: bool = False):
    """(emcli.cluster.rows.PartitionedRows of every part's rows, the columns, rows left out
    for having every cell missing).  The first part chooses the columns when ``columns`` is
    None (as the local engine would for it, but those in ``exclude``), and every other part is
    read with them.  A first pass checks and counts every part; with ``persist`` its rows are
    read once more into the workers' memory and kept there, otherwise every pass of EM reads its
    part again (so that no worker holds more than a part at a time)."""
    from emcli.cluster.rows import PartitionedRows, gathered

    # a worker's working directory is its own: it reads absolute paths
    parts = [(os.path.abspath(part), part) for part in part_files(path)]
    reading = dict(fmt=fmt, kind=kind, complete_for=complete_for)
    first = gathered(client, [client.submit(_part_summary, parts[0], columns=columns, exclude=exclude,
                                            pure=False, **reading)])[0]
    chosen = first[1]
    reading["columns"] = chosen
    summaries = [first, *gathered(client, client.map(_part_summary, parts[1:], pure=False, **reading))]
    sizes = [size for size, _, _, _ in summaries]
    observed = np.sum([counts for _, _, _, counts in summaries], axis=0)
    unobserved = np.flatnonzero(observed == 0)
    if unobserved.size:
        raise DataError(f"{path}: column {chosen[unobserved[0]]!r} has no values")
    dropped = sum(d for _, _, d, _ in summaries)
    reader = functools.partial(_part_rows, **reading)
    if persist:
        rows = client.map(reader, parts, pure=False)
        return PartitionedRows(client, rows, sizes, len(chosen)), list(chosen), dropped
    return PartitionedRows(client, parts, sizes, len(chosen), reader), list(chosen), dropped
