"""Columns that are not plain numbers, turned into float arrays for the models: binary columns
(0/1, true/false) and categorical columns (levels coded 0..L-1).  Missing cells become NaN."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from emcli.errors import DataError


def _missing_columns(table: pa.Table, columns: list, name: str) -> None:
    absent = [c for c in columns if c not in table.column_names]
    if absent:
        raise DataError(f"{name} has no column {absent[0]!r} (it has: {', '.join(table.column_names)})")


def _is_binary(column: pa.ChunkedArray) -> bool:
    if pa.types.is_boolean(column.type):
        return True
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = pc.unique(column.drop_null()).to_numpy(zero_copy_only=False)
        return values.size > 0 and bool(np.isin(values, (0, 1)).all())
    return False


def binary_matrix(table: pa.Table, columns: list | None, name: str) -> tuple[list, np.ndarray]:
    """(names, (N, D) float array of 0/1 with NaN for missing cells).

    By default every binary column: booleans, and numeric columns holding only 0 and 1.  A chosen
    column with any other value is a DataError naming its first such row.
    """
    if columns is None:
        columns = [c for c in table.column_names if _is_binary(table.column(c))]
        if not columns:
            raise DataError(f"{name} has no binary columns (0/1 or true/false); choose with --columns")
    _missing_columns(table, columns, name)
    out = np.empty((table.num_rows, len(columns)))
    for j, column_name in enumerate(columns):
        column = table.column(column_name)
        if pa.types.is_boolean(column.type) or pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            # safe=False: a huge integer is not 0 or 1 either way, and is reported below
            values = pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
            bad = np.flatnonzero(~np.isnan(values) & (values != 0) & (values != 1))
        else:
            values = np.full(table.num_rows, np.nan)
            bad = np.flatnonzero(pc.is_valid(column).to_numpy(zero_copy_only=False))
        if bad.size:
            row = int(bad[0])
            raise DataError(f"{name}: column {column_name!r} row {row + 1} is {column[row].as_py()!r}, "
                            "not 0/1 or true/false (bernoulli needs binary columns)")
        out[:, j] = values
    return list(columns), out


def _json_level(value):
    """A level as a JSON value: text, integer or boolean."""
    return value.item() if isinstance(value, np.generic) else value


def _level_column(column: pa.ChunkedArray, column_name: str, name: str) -> pa.ChunkedArray:
    """``column`` with values that can be levels in a model file (text, integers, booleans,
    floats): a dictionary-encoded (categorical) column decoded, dates, times and decimals
    as their text; bytes as text when they are UTF-8."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    kind = column.type
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
            or pa.types.is_boolean(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
        return column
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise DataError(f"{name}: column {column_name!r} holds {kind} values that are not text; "
                        "categorical needs text, integers or booleans") from None


def _categorical_columns(table: pa.Table, columns: list | None, name: str) -> list:
    """``columns``, checked to be in ``table``; by default every text, integer or boolean column."""
    if columns is None:
        columns = [c for c in table.column_names
                   if not pa.types.is_floating(table.column(c).type) and not pa.types.is_null(table.column(c).type)]
        if not columns:
            raise DataError(f"{name} has no text, integer or boolean columns; choose with --columns")
    _missing_columns(table, columns, name)
    return list(columns)


def _leveled(table: pa.Table, column_name: str, name: str) -> pa.ChunkedArray:
    """The column's values as levels (``_level_column``), whole floats as integers; a fraction,
    or a whole number beyond int64 (1e308), is no level and a DataError naming its row."""
    column = _level_column(table.column(column_name), column_name, name)
    if pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        fractional = np.flatnonzero(~np.isnan(values) & ((values != np.round(values)) | (np.abs(values) >= 2.0**63)))
        if fractional.size:
            row = int(fractional[0])
            raise DataError(f"{name}: column {column_name!r} row {row + 1} is {float(values[row])!r}; "
                            "categorical needs levels (text, integers or booleans)")
        column = pc.cast(column, pa.int64())
    return column


def sorted_levels(values) -> list:
    """Distinct level values in the order a model numbers them: by type, then by value."""
    return sorted(values, key=lambda v: (str(type(v)), v))


def require_two_levels(levels: list, column_name: str, name: str) -> None:
    if len(levels) < 2:
        what = f"a single level ({levels[0]!r})" if levels else "no values"
        raise DataError(f"{name}: column {column_name!r} has {what}; categorical needs at least two levels")


def distinct_levels(table: pa.Table, columns: list | None, name: str) -> tuple[list, list]:
    """(the columns categorical_matrix reads, each one's distinct values as sorted_levels
    orders them), with no count of levels checked: a part of a table may hold one level of a
    column that the whole table holds more of."""
    columns = _categorical_columns(table, columns, name)
    return columns, [sorted_levels(pc.unique(_leveled(table, c, name).drop_null()).to_pylist()) for c in columns]


def categorical_matrix(table: pa.Table, columns: list | None, name: str, levels: list | None = None,
                       unseen: str = "error") -> tuple[list, np.ndarray, list]:
    """(names, (N, D) float array of level codes with NaN for missing cells, levels per column).

    By default every text, integer or boolean column.  Fitting (``levels`` None) takes each
    column's sorted distinct values as its levels and rejects a column with fewer than two.
    Predicting maps values to the stored ``levels``; a value not among them is a DataError, or
    a missing cell when ``unseen`` is "missing".
    """
    columns = _categorical_columns(table, columns, name)
    out = np.empty((table.num_rows, len(columns)))
    found = []
    for j, column_name in enumerate(columns):
        column = _leveled(table, column_name, name)
        if levels is None:
            column_levels = sorted_levels(pc.unique(column.drop_null()).to_pylist())
            require_two_levels(column_levels, column_name, name)
        else:
            column_levels = levels[j]
        try:
            value_set = _level_set(column_levels, column.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            raise DataError(f"{name}: column {column_name!r} holds {column.type} values, unlike the "
                            f"model's levels {column_levels[:3]!r}") from None
        codes = pc.index_in(column, value_set=value_set)
        coded = pc.cast(codes, pa.float64()).to_numpy(zero_copy_only=False)
        unseen_rows = np.flatnonzero(np.isnan(coded) & pc.is_valid(column).to_numpy(zero_copy_only=False))
        if unseen_rows.size and unseen == "error":
            row = int(unseen_rows[0])
            raise DataError(f"{name}: column {column_name!r} row {row + 1} has level {column[row].as_py()!r}, "
                            "which the model never saw (use --unseen missing to treat such cells as missing)")
        out[:, j] = coded
        found.append([_json_level(v) for v in value_set.to_pylist()])
    return list(columns), out, found


def _level_set(levels: list, kind: pa.DataType) -> pa.Array:
    """The ``levels`` as an array of the column's type ``kind``: levels given as text (a BIF
    file's states) are read as integers or booleans for such a column."""
    if levels and all(isinstance(level, str) for level in levels) and not pa.types.is_string(kind):
        return pc.cast(pa.array(levels), kind)
    return pa.array(levels, type=kind)


def binary_target(table: pa.Table, target: str, name: str, labels: list | None = None):
    """A two-valued target coded 0/1 (N,) and its two labels: [False, True], [0, 1] or the two
    distinct values in sorted order (``labels`` given when applying a fitted model)."""
    column = table.column(target)
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    if not valid.all():
        raise DataError(f"{name}: target {target!r} row {int(np.flatnonzero(~valid)[0]) + 1} is missing")
    if labels is None:
        values = sorted_levels(pc.unique(column).to_pylist())
        if len(values) != 2:
            shown = ", ".join(repr(v) for v in values[:3]) + (", ..." if len(values) > 3 else "")
            raise DataError(f"{name}: target {target!r} has {len(values)} distinct value"
                            f"{'s' if len(values) != 1 else ''} ({shown}); it needs exactly two")
        labels = [_json_level(v) for v in values]
    try:
        codes = pc.index_in(column, value_set=pa.array(labels, type=column.type))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise DataError(f"{name}: target {target!r} holds {column.type} values, unlike the model's labels {labels!r}") from None
    y = pc.cast(codes, pa.float64()).to_numpy(zero_copy_only=False)
    unknown = np.flatnonzero(np.isnan(y))
    if unknown.size:
        row = int(unknown[0])
        raise DataError(f"{name}: target {target!r} row {row + 1} is {column[row].as_py()!r}, not one of {labels!r}")
    return y, labels
