"""DATA for the dask engine: a file, a glob (``'events/*.parquet'``) or a directory of
Parquet, CSV or TSV parts, here or at any URL fsspec reads (``s3://bucket/events/``), one partition per part, each read on a worker by the local
engine's reader (emcli.data.load_rows), with the local engine's one-line errors naming the
part and its row.  Checks that hold per row run on the workers as each part is read; those
of the whole table (rows enough for K, every column observed) on the client, from the parts'
sizes and column counts."""

import functools
import glob
import os

import numpy as np

from emcli.errors import DataError, UsageError
from emcli.io.streams import is_url

#: the part files a directory is read from, by extension
PART_EXTENSIONS = (".parquet", ".csv", ".tsv")


def part_files(path: str) -> list:
    """The parts of DATA ``path`` as the user names them: the file itself, a directory's files
    with a table extension (in name order), or a glob's matches (in name order)."""
    if path == "-":
        raise UsageError("--engine dask reads DATA on the workers: a file, a glob or a directory of parts, "
                         "not standard input")
    if is_url(path):
        return _url_parts(path)
    if os.path.isdir(path):
        return _table_parts(path, (os.path.join(path, name) for name in os.listdir(path)))
    if os.path.exists(path):
        return [path]
    matches = sorted(match for match in glob.glob(path) if os.path.isfile(match))
    if not matches:
        raise UsageError(f"{path}: no such file, directory or matching parts")
    return matches


def located_parts(path: str) -> list:
    """[(what a worker reads, the name messages give it)] for each of ``part_files(path)``: a
    worker's working directory is its own, so it reads absolute paths (or URLs)."""
    return [(part if is_url(part) else os.path.abspath(part), part) for part in part_files(path)]


def _table_parts(path: str, names) -> list:
    """The ``names`` in directory ``path`` that are parts: a table extension, not hidden."""
    parts = sorted(name for name in names if name.lower().endswith(PART_EXTENSIONS)
                   and not name.rstrip("/").rsplit("/", 1)[-1].startswith((".", "_")))
    if not parts:
        raise UsageError(f"{path}: a directory with no .parquet, .csv or .tsv part")
    return parts


def _url_parts(url: str) -> list:
    """``part_files`` of a URL (s3://bucket/events/, 's3://bucket/events/*.parquet'...), listed
    by fsspec; each part a URL of the same protocol, which the workers read."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url)
        if fs.isdir(path):
            return _table_parts(url, [fs.unstrip_protocol(name) for name in fs.ls(path, detail=False)])
        if fs.isfile(path):
            return [url]
        matches = sorted(fs.unstrip_protocol(name) for name in fs.glob(path) if fs.isfile(name))
    except ImportError as exc:  # the protocol's package (s3fs, gcsfs...) is not installed
        raise UsageError(f"{url}: {str(exc).splitlines()[0]}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{url}: cannot list ({str(exc).splitlines()[0]})") from None
    if not matches:
        raise UsageError(f"{url}: no such file, directory or matching parts")
    return matches


def read_part(part: tuple, fmt: str | None, columns: list | None, kind: str, complete_for: str | None,
              exclude: list | None = None, levels: list | None = None, target: str | None = None,
              checked: bool = True):
    """One part's (n, D) rows as the local engine codes them, rows with every cell missing
    left out: (rows, their columns, how many were left out, (D,) observed cells per column).
    ``part``: (the path the worker reads, the name messages give it); ``complete_for``: the
    model's name when it needs complete rows (a missing cell is then the local engine's
    error); ``levels``: categorical columns' levels, those of the whole table; ``target``: a
    regression's target column, read as the rows' last column (whose rows are complete).
    Without ``checked`` (a part read again, which a checked read has passed) the checks of the
    cells are not made again, nor their counts: a quarter of the time of reading a Parquet
    part of numbers."""
    from emcli.data import empty_rows, load_regression_rows, load_rows, require_complete, require_float_range

    path, name = part
    if target is not None:
        rows = load_regression_rows(path, fmt, columns, target, kind, exclude=exclude, name=name)
        if checked:
            require_float_range(rows.X, rows.columns + [target], name)
        return rows.X, rows.columns, 0, np.full(rows.X.shape[1], len(rows.X))
    rows = load_rows(path, fmt, columns, kind, levels=levels, exclude=exclude, keep_table=False, name=name)
    X = rows.X
    if complete_for and checked:
        require_complete(X, rows.columns, name, complete_for)
    empty = empty_rows(X) if checked or not complete_for else ()
    if len(empty):
        X = np.delete(X, empty, axis=0)
    if not checked:
        return X, rows.columns, len(empty), None
    require_float_range(X, rows.columns, name)
    return X, rows.columns, len(empty), (~np.isnan(X)).sum(axis=0)


def _part_rows(part: tuple, **reading) -> np.ndarray:
    """A partition's rows read again at a pass, or once more to be kept (--persist): the
    checks were made by the pass that counted them (``_part_summary``)."""
    return read_part(part, checked=False, **reading)[0]


def _part_summary(part: tuple, **reading) -> tuple:
    """``read_part``'s all but the rows: (rows, columns, rows left out, observed cells per
    column), so that checking a part holds its rows no longer than reading it."""
    X, columns, dropped, observed = read_part(part, **reading)
    return len(X), columns, dropped, observed


def _part_levels(part: tuple, **reading) -> tuple:
    """One part's (categorical columns, their distinct values: emcli.data.load_levels)."""
    from emcli.data import load_levels

    path, name = part
    return load_levels(path, name=name, **reading)


def agreed_levels(client, parts: list, path: str, fmt: str | None, columns: list | None,
                  exclude: list | None) -> tuple[list, list]:
    """(columns, levels) of categorical parts: the first part chooses the columns when
    ``columns`` is None, and each column's levels are the union of every part's, in the order
    the local engine gives the whole table's (a part may hold a single level of a column;
    the table may not)."""
    from emcli.cluster.rows import gathered
    from emcli.io.encode import require_two_levels, sorted_levels

    first = gathered(client, [client.submit(_part_levels, parts[0], fmt=fmt, columns=columns, exclude=exclude,
                                            pure=False)])[0]
    chosen = first[0]
    found = [first, *gathered(client, client.map(_part_levels, parts[1:], fmt=fmt, columns=chosen, pure=False))]
    levels = []
    for j, column in enumerate(chosen):
        # keyed by type too: True == 1 for a set, not for a model's levels
        union = {(type(value), value): value for _, part_levels in found for value in part_levels[j]}
        levels.append(sorted_levels(union.values()))
        require_two_levels(levels[-1], column, path)
    return list(chosen), levels


def load_partitions(client, path: str, fmt: str | None, columns: list | None, kind: str,
                    complete_for: str | None, exclude: list | None = None, persist: bool = False,
                    target: str | None = None):
    """Rows (emcli.data.Rows, no table) whose X is an emcli.cluster.rows.PartitionedRows of
    every part's rows; ``dropped`` counts the rows left out for having every cell missing.  The
    first part chooses the columns when ``columns`` is None (as the local engine would for it,
    but those in ``exclude``), and every other part is read with them; categorical parts are
    coded with the levels of the whole table (``agreed_levels``, one more pass).  A pass checks
    and counts every part; with ``persist`` its rows are read once more into the workers'
    memory and kept there, otherwise every pass of EM reads its part again (so that no worker
    holds more than a part at a time).  A regression's rows (``target``: its column) are its
    features then the target, as the local engine's."""
    from emcli.cluster.rows import PartitionedRows, gathered
    from emcli.data import Rows

    parts = located_parts(path)
    reading = dict(fmt=fmt, kind=kind, complete_for=complete_for, levels=None, target=target)
    if kind == "categorical":
        columns, reading["levels"] = agreed_levels(client, parts, path, fmt, columns, exclude)
    first = gathered(client, [client.submit(_part_summary, parts[0], columns=columns, exclude=exclude,
                                            pure=False, **reading)])[0]
    chosen = first[1]
    reading["columns"] = chosen
    summaries = [first, *gathered(client, client.map(_part_summary, parts[1:], pure=False, **reading))]
    sizes = [size for size, _, _, _ in summaries]
    observed = np.sum([counts for _, _, _, counts in summaries], axis=0)
    unobserved = np.flatnonzero(observed[: len(chosen)] == 0)
    if unobserved.size:
        raise DataError(f"{path}: column {chosen[unobserved[0]]!r} has no values")
    dropped = sum(d for _, _, d, _ in summaries)
    reader = functools.partial(_part_rows, **reading)
    if persist:
        X = PartitionedRows(client, client.map(reader, parts, pure=False), sizes, len(observed))
    else:
        X = PartitionedRows(client, parts, sizes, len(observed), reader)
    return Rows(None, list(chosen), X, levels=reading["levels"], target=target, dropped=dropped)
