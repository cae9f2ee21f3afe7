"""Putting filled values back into the input table: only the missing cells of the chosen columns
change; every other cell, column and type is the input's own."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from emcli.errors import DataError
from emcli.io.passthrough import with_input_text
from emcli.io.tables import append_columns


class Completion:
    """The completed tables of one input.

    ``table``: the input; ``columns``: the D chosen columns; ``X``: their (N, D) values with NaN
    in missing cells; ``text``: the input's cells as text (CSV, TSV), written back for every
    cell not filled (``io.passthrough``).  ``round_integers``: filled cells of integer columns are rounded and the
    column keeps its type (otherwise it becomes float64); ``clip``: filled values are kept
    within each column's observed range.  ``levels``: per column its levels, when ``X`` holds
    level codes (categorical columns), which the filled cells take.
    """

    def __init__(self, table: pa.Table, columns: list, X: np.ndarray, *, round_integers: bool,
                 clip: bool, name: str, text: pa.Table | None = None, levels: list | None = None):
        self.source, self.columns, self.name, self.text = table, list(columns), name, text
        self.levels = levels
        self.missing = np.isnan(X)
        self.round_integers, self.clip = round_integers, clip
        self.low, self.high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)

    def filled_counts(self) -> dict:
        """Cells filled per chosen column, in column order."""
        return dict(zip(self.columns, self.missing.sum(axis=0).tolist()))

    def table(self, completed: np.ndarray) -> pa.Table:
        """The input table with the missing cells of the chosen columns taken from the
        completed (N, D) rows."""
        if self.clip and self.levels is None:
            completed = np.clip(completed, self.low, self.high)
        out = self.source
        for j, name in enumerate(self.columns):
            hidden = self.missing[:, j]
            if hidden.any():
                position = out.column_names.index(name)
                if self.levels is not None:
                    column = _levels_column(out.column(position), completed[:, j], hidden, self.levels[j])
                else:
                    column = self._column(out.column(position), completed[:, j], hidden, name)
                out = out.set_column(position, pa.field(name, column.type), column)
        return with_input_text(out, self.text, dict(zip(self.columns, self.missing.T)))

    def long_table(self, completed: list) -> pa.Table:
        """The completed tables one after another, each with an ``imputation`` column, 1..M."""
        return pa.concat_tables(
            append_columns(self.table(rows), {"imputation": np.full(len(rows), i, dtype=np.int64)})
            for i, rows in enumerate(completed, start=1))

    def _column(self, original: pa.ChunkedArray, values: np.ndarray, hidden: np.ndarray,
                name: str) -> pa.ChunkedArray:
        kind = original.type
        lost = np.flatnonzero(hidden & ~np.isfinite(values))
        if lost.size:
            raise DataError(f"{self.name}: column {name!r} row {int(lost[0]) + 1}: no finite value to "
                            "fill (the row's observed cells are beyond what the model's numbers can carry)")
        if pa.types.is_integer(kind) and not self.round_integers:
            kind = pa.float64()
            original = pc.cast(original, kind, safe=False)
        elif pa.types.is_integer(kind):
            values = np.rint(values)
            limits = np.iinfo(kind.to_pandas_dtype())
            outside = np.flatnonzero(hidden & ((values < limits.min) | (values > limits.max)))
            if outside.size:
                row = int(outside[0])
                raise DataError(f"{self.name}: column {name!r} row {row + 1}: the filled value "
                                f"{values[row]:g} does not fit its type {kind}; use --clip or --no-round")
        elif pa.types.is_decimal(kind):
            values = np.round(values, kind.scale)
        filled = pc.cast(pa.array(np.where(hidden, values, 0.0)), kind, safe=False)
        return pc.if_else(pa.array(hidden), filled, original)


def _levels_column(original: pa.ChunkedArray, codes: np.ndarray, hidden: np.ndarray, levels: list) -> pa.ChunkedArray:
    """``original`` with its ``hidden`` cells set to the levels their ``codes`` (N,) name, in the
    column's own type."""
    chosen = np.array(levels, dtype=object)[np.where(hidden, codes, 0).astype(np.intp)]
    filled = pa.array(chosen.tolist()).cast(original.type)
    return pc.if_else(pa.array(hidden), filled, original)
