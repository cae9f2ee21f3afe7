"""Turning a table into the rows a model is fit to or applied to."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emcli.errors import DataError
from emcli.numeric import BLOCK_ROWS

if TYPE_CHECKING:
    import pyarrow as pa


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


@dataclass
class Rows:
    """A table and the (N, D) float64 rows taken from it (NaN for missing cells); ``table`` is
    None for rows that come from another fit's rows (a fold, a resample)."""

    table: "pa.Table | None"
    columns: list
    X: np.ndarray
    levels: list | None = None  # per column, for categorical data; the two labels of a binary target
    target: str | None = None   # regression: X holds the features, then the target as last column
    dropped: int = 0            # rows left out for having every chosen cell missing
    warnings: list = field(default_factory=list)  # about the columns chosen by default
    standardization: object = None  # emcli.standardize: X is in standardised units


def _blocks(X: np.ndarray):
    """Blocks of rows, for checks whose masks would otherwise be (N, D) temporaries."""
    return (X[start : start + BLOCK_ROWS] for start in range(0, len(X), BLOCK_ROWS))


#: below this many rows, distinct integers in every row are no sign of an identifier
_ID_MIN_ROWS = 10


def _choosable(table: "pa.Table", exclude: list | None, name: str) -> "pa.Table":
    """``table`` without the ``exclude``d columns, to choose the default columns from; a
    DataError names an excluded column the table does not have."""
    if not exclude:
        return table
    unknown = [c for c in exclude if c not in table.column_names]
    if unknown:
        raise DataError(f"{name} has no column {unknown[0]!r} to --exclude "
                        f"(it has: {', '.join(table.column_names)})")
    return table.drop_columns(exclude)


def _id_like(table: "pa.Table", columns: list) -> list:
    """Warnings for integer columns holding a different value in every row: identifiers, most
    likely, which a model would take for a feature."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows < _ID_MIN_ROWS:
        return []
    types = dict(zip(table.column_names, table.schema.types))
    return [f"column {c!r} holds a different integer in every row, as an identifier does; if it is "
            f"one, leave it out with --exclude {c}" for c in columns
            if pa.types.is_integer(types[c]) and pc.count_distinct(table.column(c)).as_py() == table.num_rows]


def load_rows(path: str, fmt: str | None, columns: list | None, kind: str = "numeric",
              levels: list | None = None, unseen: str = "error", exclude: list | None = None,
              keep_table: bool = True, reserved: tuple = (), name: str | None = None) -> Rows:
    """Read ``path`` and encode its columns for a model whose data are of ``kind``: "numeric",
    "binary" (0/1) or "categorical" (level codes; ``levels`` given when predicting).  Without
    ``columns``, every column of the kind but those in ``exclude``.  Without ``keep_table``
    the rows' ``table`` is None, and a Parquet file is read one column at a time, so that its
    cells are never in memory twice.  ``reserved``: names the model gives to nodes of its own
    (a network's hidden nodes), which no column of the table may have.  ``name``: what the
    messages call the file (default: ``path`` as given)."""
    from emcli.io.tables import numeric_matrix, read_table

    table = read_table(path, fmt, lazy=not keep_table and kind == "numeric")
    kept = table if keep_table else None
    name = name or display_name(path)
    for node in reserved:
        if node in table.column_names:
            raise DataError(f"--hidden {node}: {name} has a column {node!r}; give the hidden node another name")
    choosable = _choosable(table, exclude, name)
    if kind == "binary":
        from emcli.io.encode import binary_matrix

        return Rows(kept, *binary_matrix(choosable, columns, name))
    if kind == "categorical":
        from emcli.io.encode import categorical_matrix

        return Rows(kept, *categorical_matrix(choosable, columns, name, levels, unseen))
    rows = Rows(kept, *numeric_matrix(choosable, columns, name))
    if columns is None:
        rows.warnings.extend(_id_like(table, rows.columns))
    if not keep_table:
        import pyarrow as pa

        del table, choosable
        pa.default_memory_pool().release_unused()  # the columns' buffers, back to the system
    return rows


def load_levels(path: str, fmt: str | None, columns: list | None, exclude: list | None = None,
                name: str | None = None) -> tuple[list, list]:
    """(the columns ``load_rows`` reads as categorical, each one's distinct values in level
    order) of one part of a table, whose levels are the union of its parts' (emcli.cluster)."""
    from emcli.io.encode import distinct_levels
    from emcli.io.tables import read_table

    name = name or display_name(path)
    return distinct_levels(_choosable(read_table(path, fmt), exclude, name), columns, name)


def load_regression_rows(path: str, fmt: str | None, columns: list | None, target: str,
                         kind: str, labels: list | None = None, exclude: list | None = None,
                         name: str | None = None) -> Rows:
    """Features (every numeric column but the target unless ``columns`` chooses) and the target
    as the last column of X, complete in every cell.  A "binary" target (two labels: 0/1,
    true/false or two values of any kind) is coded 0/1, with its labels in ``Rows.levels``.
    ``name``: what the messages call the file (default: ``path`` as given)."""
    from emcli.io.tables import numeric_columns, numeric_matrix, read_table

    table = read_table(path, fmt)
    name = name or display_name(path)
    if target not in table.column_names:
        raise DataError(f"{name} has no target column {target!r} (it has: {', '.join(table.column_names)})")
    if columns is not None and target in columns:
        raise DataError(f"column {target!r} is both the target and a feature; leave it out of --columns")
    chosen_by_default = columns is None
    if chosen_by_default:
        columns = [c for c in numeric_columns(_choosable(table, exclude, name), name) if c != target]
        if not columns:
            raise DataError(f"{name} has no numeric feature columns besides the target {target!r}")
    features, X = numeric_matrix(table, columns, name)
    require_complete(X, features, name, "a regression")
    if kind == "binary":
        from emcli.io.encode import binary_target

        y, labels = binary_target(table, target, name, labels)
    else:
        y = numeric_matrix(table, [target], name)[1][:, 0]
        require_complete(y[:, None], [target], name, "a regression")
    rows = Rows(table, features, np.column_stack([X, y]), labels, target)
    if chosen_by_default:
        rows.warnings.extend(_id_like(table, features))
    return rows


def require_complete(X: np.ndarray, columns: list, path: str, model_name: str) -> None:
    """DataError naming the first missing cell, for models that cannot use incomplete rows."""
    from emcli.io.tables import first_missing

    where = first_missing(X, columns)
    if where is not None:
        column, row = where
        raise DataError(
            f"{display_name(path)}: column {column!r} row {row} is missing; {model_name} cannot use "
            "incomplete rows (fill them with 'emtool impute' or choose other --columns)"
        )


def require_observed_columns(X: np.ndarray, columns: list, path: str) -> None:
    """DataError naming the first column with every cell missing."""
    observed = np.zeros(X.shape[1], dtype=bool)
    for block in _blocks(X):
        observed |= ~np.isnan(block).all(axis=0)
    unobserved = np.flatnonzero(~observed)
    if unobserved.size:
        raise DataError(f"{display_name(path)}: column {columns[unobserved[0]]!r} has no values")


def empty_rows(X: np.ndarray) -> np.ndarray:
    """(M,) indices of the rows whose every cell is missing."""
    found = [start + np.flatnonzero(np.isnan(block).all(axis=1))
             for start, block in zip(range(0, len(X), BLOCK_ROWS), _blocks(X))]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def require_no_empty_rows(X: np.ndarray, path: str, remedy: str = "drop them") -> None:
    """DataError naming the rows with every chosen cell missing; ``remedy`` ends the message."""
    empty = empty_rows(X)
    if empty.size:
        listed = ", ".join(str(r + 1) for r in empty[:3]) + (f" and {empty.size - 3} more" if empty.size > 3 else "")
        several = empty.size > 1
        raise DataError(f"{display_name(path)}: row{'s' if several else ''} {listed} "
                        f"{'have' if several else 'has'} every chosen column missing; {remedy}")


def require_rows(X: np.ndarray, k: int, path: str, model_name: str, min_rows: int = 1) -> None:
    """DataError when there are fewer rows than components, or than the model needs."""
    needed = max(k, min_rows)
    if len(X) < needed:
        why = f"the {k} components asked for" if k >= needed else f"the {needed} that {model_name} needs"
        raise DataError(f"{display_name(path)} has {len(X)} row{'s' if len(X) != 1 else ''}, fewer than {why}")


def require_float_range(X: np.ndarray, columns: list, path: str) -> np.ndarray:
    """DataError naming the first column whose variance overflows: values beyond about 1e154
    (or spread over more than that), whose squares no float holds, so that no fit in these
    units can compute its objective.  Returns the (D,) column variances, for
    ``require_variation``."""
    from emcli.numeric import column_moments

    with np.errstate(over="ignore", invalid="ignore"):
        _, variances = column_moments(X)
    wide = np.flatnonzero(~np.isfinite(variances))
    if wide.size:
        j = int(wide[0])
        raise DataError(f"{display_name(path)}: column {columns[j]!r} holds values too large to fit "
                        f"(up to {np.nanmax(np.abs(X[:, j])):g}): their squares are beyond the range of "
                        "a float; rescale the column (divide it by a power of ten)")
    return variances


def require_variation(X: np.ndarray, columns: list, path: str, model_name: str,
                      variances: np.ndarray | None = None) -> None:
    """DataError naming the first constant column, for models whose density needs spread, or
    the first whose spread is so small that its variance underflows to zero (1e-308, say).
    ``variances``: the (D,) column variances when already computed."""
    spread = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    if variances is None:
        from emcli.numeric import column_moments

        variances = column_moments(X)[1]
    tiny = np.flatnonzero((spread > 0) & (variances == 0))
    if tiny.size:
        raise DataError(f"{display_name(path)}: column {columns[int(tiny[0])]!r} varies by only "
                        f"{spread[tiny[0]]:g}, too little for its variance to be a float; rescale "
                        "the column (multiply it by a power of ten)")
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        column = columns[int(constant[0])]
        value = X[~np.isnan(X[:, constant[0]]), constant[0]][0]
        raise DataError(
            f"{display_name(path)}: column {column!r} is constant ({value:g} in every row); "
            f"{model_name} needs variation in every column, leave it out with --columns"
        )
