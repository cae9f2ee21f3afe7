"""Reading and writing tables: CSV, TSV and Parquet by extension (or ``--format``), ``-`` for CSV on
stdin and stdout. Tables stay pyarrow Tables so that columns the model does not use pass through
with their types; the columns a model uses become one float64 array.
"""

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from emcli.errors import DataError
from emcli.numeric import BLOCK_ROWS
from emcli.io.atomic import STDOUT, atomic_path, write_bytes, write_stdout
from emcli.io.formats import is_special, table_format
from emcli.io.streams import delimited_source, is_url

def _display(path: str) -> str:
    return "<stdin>" if path == STDOUT else path


def read_table(path: str, fmt: str | None = None, lazy: bool = False) -> pa.Table:
    """Read a whole table with pyarrow's multi-threaded readers; with ``lazy``, a Parquet file
    (not standard input) as ``ParquetColumns``, each column read when asked for.

    Raises DataError naming the file for a missing, empty, header-only or malformed file.
    """
    fmt = table_format(path, fmt)
    name = _display(path)
    local = path != STDOUT and not is_url(path)
    if local and not os.path.exists(path):
        raise DataError(f"{name}: no such file")
    if local and os.path.isdir(path):
        raise DataError(f"{name}: is a directory, not a table")
    try:
        table = _read_parquet(path, lazy) if fmt == "parquet" else _read_delimited(path, fmt, name)
    except pa.ArrowInvalid as exc:
        message = str(exc).splitlines()[0]
        if "Empty CSV file" in message or (os.path.isfile(path) and os.path.getsize(path) == 0):
            raise DataError(f"{name} is empty") from None
        if fmt == "parquet":
            raise DataError(f"{name} is not a readable Parquet file ({_printable(message)})") from None
        raise DataError(f"{name}: {_printable(message)}") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        names = table.column_names
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: a column name is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                        "save the file as UTF-8") from None
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise DataError(f"{name}: column name {duplicated[0]!r} appears more than once")
    if table.num_columns == 0:
        raise DataError(f"{name} is empty")
    if table.num_rows == 0:
        raise DataError(f"{name} has a header but no data rows")
    return table


def _read_parquet(path: str, lazy: bool = False) -> pa.Table:
    """A Parquet file, or Parquet bytes on standard input (``--input-format parquet``): the
    format keeps its metadata at the end, so stdin is read whole first.  ``lazy``: a file as
    ``ParquetColumns``."""
    import pyarrow.parquet as pq

    source = delimited_source(path)
    if isinstance(source, bytes):
        source = pa.BufferReader(source)
    if (source.size() if isinstance(source, pa.BufferReader) else os.path.getsize(path)) == 0:
        raise pa.ArrowInvalid("Empty CSV file")
    # ParquetFile, not pq.read_table, which imports pandas for the metadata it may hold
    if lazy and path != STDOUT:  # without pre-buffering, a column's read holds less beside it
        return ParquetColumns(pq.ParquetFile(source, pre_buffer=False), _display(path))
    return pq.ParquetFile(source).read(use_threads=True)


class ParquetColumns:
    """A Parquet file as much of a pa.Table as reading rows needs: its column names, row count
    and schema at once, each column's cells when asked for.  A fit converting the columns one
    at a time then holds one column besides its (N, D) rows, never the whole table too."""

    def __init__(self, opened, name: str, names: list | None = None):
        self._file, self._name = opened, name
        self.column_names = list(opened.schema_arrow.names if names is None else names)
        self.num_rows = opened.metadata.num_rows

    @property
    def num_columns(self) -> int:
        return len(self.column_names)

    @property
    def schema(self) -> pa.Schema:
        fields = {field.name: field for field in self._file.schema_arrow}
        return pa.schema([fields[name] for name in self.column_names])

    def column(self, key) -> pa.ChunkedArray:
        name = self.column_names[key] if isinstance(key, int) else key
        with self._readable():
            return self._file.read(columns=[name], use_threads=False).column(0)

    def pieces(self, name: str):
        """The column's cells, one row group at a time (a few hundred KB each, not the whole
        column's MB beside the rows they are copied into)."""
        with self._readable():
            for group in range(self._file.num_row_groups):
                yield from self._file.read_row_group(group, columns=[name], use_threads=False).column(0).chunks

    @contextlib.contextmanager
    def _readable(self):
        """A read that fails is a DataError naming the file."""
        try:
            yield
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{self._name} is not a readable Parquet file "
                            f"({_printable(str(exc).splitlines()[0])})") from None

    def drop_columns(self, names: list) -> "ParquetColumns":
        return ParquetColumns(self._file, self._name, [n for n in self.column_names if n not in names])


_PARQUET_MAGIC = b"PAR1"


def _printable(text: str, limit: int = 120) -> str:
    """``text`` fit for a one-line message: control and undecodable characters as '?', cut."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[:limit] + "..."


def _read_delimited(path: str, fmt: str, name: str) -> pa.Table:
    from pyarrow import csv

    bad_rows = []

    def on_invalid_row(row):
        bad_rows.append(row)
        return "error"

    def read(threads: bool) -> pa.Table:
        # a malformed row that is not UTF-8 fails inside pyarrow before the handler is called,
        # and Python would print that as "Exception ignored in ..." on stderr
        previous, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
        try:
            return csv.read_csv(
                pa.BufferReader(source) if isinstance(source, bytes) else source,
                read_options=csv.ReadOptions(use_threads=threads),
                parse_options=csv.ParseOptions(
                    delimiter="\t" if fmt == "tsv" else ",", invalid_row_handler=on_invalid_row
                ),
                convert_options=csv.ConvertOptions(strings_can_be_null=True),
            )
        finally:
            sys.unraisablehook = previous

    source = delimited_source(path)
    if _starts_with(source, _PARQUET_MAGIC):
        raise DataError(f"{name} is a Parquet file, not {fmt.upper()}; read it with --input-format "
                        "parquet" + ("" if path == STDOUT else " or name it .parquet"))
    try:
        return read(threads=True)
    except pa.ArrowInvalid:
        if not bad_rows:
            raise
    # Only a single-threaded read knows the line number of a malformed row.
    bad_rows.clear()
    try:
        read(threads=False)
    except pa.ArrowInvalid:
        if not bad_rows:
            raise
    row = bad_rows[0]
    where = f"line {row.number}" if row.number is not None else f"row {row.text[:40]!r}"
    raise DataError(
        f"{name}: {where} has {row.actual_columns} fields, the header has {row.expected_columns}"
    )


def _starts_with(source, prefix: bytes) -> bool:
    """Whether the bytes (or the file at the path) ``source`` begin with ``prefix``."""
    if isinstance(source, bytes):
        return source.startswith(prefix)
    if not os.path.isfile(source):
        return False  # a pipe's bytes, once read, would be lost to the reader
    try:
        with open(source, "rb") as handle:
            return handle.read(len(prefix)) == prefix
    except OSError:
        return False  # the reader itself says why


def _is_numeric_type(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _first_unparsable(column: pa.ChunkedArray) -> tuple[int, str] | None:
    """Row index and text of the first non-empty cell of a string column that is not a number."""
    values = column.to_pandas()
    import pandas as pd

    parsed = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    return (int(bad[0]), str(values.iloc[bad[0]])) if bad.size else None


def _looks_numeric(column: pa.ChunkedArray) -> bool:
    """Whether most non-empty cells of a string column parse as numbers (a numeric column with a
    stray bad cell, rather than a label column)."""
    import pandas as pd

    values = column.to_pandas().dropna()
    if values.empty:
        return False
    return pd.to_numeric(values, errors="coerce").notna().mean() > 0.5


def numeric_columns(table: pa.Table, name: str) -> list[str]:
    """The columns used when none are chosen: every numeric column.

    A text column whose cells are mostly numbers is taken to be a numeric column with a bad cell,
    and is an error naming that cell, rather than silently left out; so is a column with no
    value at all, whose type nothing tells.
    """
    chosen = []
    for column_name, field in zip(table.column_names, table.schema):
        if _is_numeric_type(field.type):
            chosen.append(column_name)
        elif pa.types.is_null(field.type):
            raise DataError(f"{name}: column {column_name!r} has no values; "
                            "leave it out with --columns")
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(column_name)
            if _looks_numeric(column):
                _raise_not_numeric(column_name, column, name)
    if not chosen:
        raise DataError(f"{name} has no numeric columns; choose columns with --columns")
    return chosen


def _raise_not_numeric(column_name: str, column: pa.ChunkedArray, name: str):
    if pa.types.is_null(column.type):
        raise DataError(f"{name}: column {column_name!r} has no values")
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        bad = _first_unparsable(column)
        if bad is not None:
            raise DataError(
                f"{name}: column {column_name!r} is not numeric (row {bad[0] + 1}: {bad[1]!r})"
            )
    raise DataError(f"{name}: column {column_name!r} is not numeric (type {column.type})")


def numeric_matrix(
    table: pa.Table, columns: list[str] | None, name: str = "data"
) -> tuple[list[str], np.ndarray]:
    """The chosen columns (all numeric ones when ``columns`` is None) as a float64 array.

    Returns the column names and an (N, D) C-contiguous array; missing cells are NaN.
    Raises DataError naming the column (and the first bad row) for an unknown column, a
    non-numeric column or an infinite value.
    """
    if columns is None:
        columns = numeric_columns(table, name)
    # one lookup table: asking the table for its names per column made a wide table quadratic
    index = {column_name: i for i, column_name in enumerate(table.column_names)}
    missing = [c for c in columns if c not in index]
    if missing:
        raise DataError(
            f"{name} has no column {missing[0]!r} (it has: {', '.join(table.column_names)})"
        )
    out = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    types = table.schema.types
    for j, column_name in enumerate(columns):
        if not _is_numeric_type(types[index[column_name]]):
            _raise_not_numeric(column_name, table.column(index[column_name]), name)
        _fill_column(out[:, j], _pieces(table, column_name))
        infinite = np.isinf(out[:, j])
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{name}: column {column_name!r} row {row + 1} is infinite ({out[row, j]})"
            )
    return list(columns), out


def _pieces(table, column_name: str):
    """A column's cells as Arrow arrays: its chunks, or a lazily read Parquet file's row groups
    one at a time."""
    if isinstance(table, ParquetColumns):
        return table.pieces(column_name)
    return table.column(column_name).chunks


def _fill_column(out: np.ndarray, pieces) -> None:
    """Write a numeric Arrow column, given as its ``pieces`` (Arrow arrays, in order; nulls as
    NaN), into the float64 view ``out`` (N,) from the Arrow buffers: no copy of the whole
    column on the way, and not pyarrow's to_numpy, which imports pandas (~50 MB and a third of
    a second for every command).  Integers beyond 2**53 become the nearest float, as they
    would in any numeric tool."""
    start = 0
    for chunk in pieces:
        values = chunk
        if chunk.type != pa.float64():
            import pyarrow.compute as pc  # only here: a fit of float columns does without it

            values = pc.cast(chunk, pa.float64(), safe=False)
        n, offset = len(values), values.offset
        validity, data = values.buffers()[:2]
        target = out[start : start + n]
        if n:
            target[:] = np.frombuffer(data, np.float64, count=n, offset=8 * offset)
        if values.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            target[bits[offset : offset + n] == 0] = np.nan
        start += n


def first_missing(X: np.ndarray, columns: list[str]) -> tuple[str, int] | None:
    """The column and (1-based) row of the first missing cell of ``X``, or None; in blocks of
    rows, so that no (N, D) mask is made."""
    for start in range(0, len(X), BLOCK_ROWS):
        missing = np.isnan(X[start : start + BLOCK_ROWS])
        if missing.any():
            row = int(np.flatnonzero(missing.any(axis=1))[0])
            return columns[int(np.flatnonzero(missing[row])[0])], start + row + 1
    return None


def append_columns(table: pa.Table, new: dict[str, np.ndarray]) -> pa.Table:
    """``table`` with ``new`` columns appended after its own, in order."""
    clash = [c for c in new if c in table.column_names]
    if clash:
        raise DataError(f"the input already has a column {clash[0]!r}; rename it before predicting")
    for column_name, values in new.items():
        table = table.append_column(column_name, _as_arrow(values))
    return table


def _as_arrow(values: np.ndarray) -> pa.Array:
    """A NumPy column as an Arrow array: float64 and int64 by their buffer, with no copy (and
    without pa.array's import of pandas); anything else by pa.array."""
    if values.dtype in (np.float64, np.int64) and values.ndim == 1:
        values = np.ascontiguousarray(values)
        return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                     [None, pa.py_buffer(values)])
    return pa.array(values)


def _plain_text(table: pa.Table, delimiter: str) -> bool:
    """Whether every text value can be written without quotes (pyarrow otherwise quotes them
    all): none is empty (which would read back as missing) or holds the delimiter, a quote or
    a line break.  Unquoted text keeps a passed-through column as the input had it."""
    import pyarrow.compute as pc

    special = f"^$|[{re.escape(delimiter)}\"\n\r]"
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, special)).as_py():
                return False
    return True


def _csv_options(names: list, delimiter: str, header: bool = True):
    """pyarrow's options for text that needs no quotes (``_plain_text``); names quoted where
    they must be."""
    from pyarrow import csv

    plain = not any(ch in name for name in names for ch in (delimiter, '"', "\n", "\r"))
    return csv.WriteOptions(include_header=header, delimiter=delimiter,
                            quoting_header="none" if plain else "needed", quoting_style="none")


def _as_text(table: pa.Table) -> pa.Table:
    """``table`` with binary columns (from Parquet) as text, for CSV; DataError naming a
    column whose bytes are not UTF-8 text, which CSV cannot carry."""
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type) \
                or pa.types.is_fixed_size_binary(field.type):
            try:
                table = table.set_column(i, field.name, pc.cast(table.column(i), pa.string()))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise DataError(f"column {field.name!r} holds bytes that are not text, which CSV cannot "
                                "carry; write Parquet (--output-format parquet)") from None
    return table


def write_table(table: pa.Table, path: str, fmt: str | None = None) -> None:
    """Write ``table`` to ``path`` (``-`` is stdout) atomically, in the format of its extension."""
    fmt = table_format(path, fmt)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if path == STDOUT:
            sink = io.BytesIO()
            pq.write_table(table, sink)
            write_bytes(path, sink.getvalue())
            return
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return
    table = _as_text(table)
    delimiter = "\t" if fmt == "tsv" else ","
    if path == STDOUT:
        sink = io.BytesIO()
        _write_csv(table, sink, delimiter)
        write_bytes(path, sink.getvalue())
        return
    with atomic_path(path) as tmp:
        _write_csv(table, tmp, delimiter)


def _write_csv(table: pa.Table, target, delimiter: str, header: bool = True) -> None:
    """``table`` as CSV (or TSV) to ``target``, a path or a binary file.  pyarrow quotes every
    text value or none, so a table whose text needs quotes somewhere (a delimiter, a quote, a
    line break in a value) is written by Python's csv module, which quotes only those values:
    every other cell stays as the input had it."""
    import pyarrow.compute as pc

    from pyarrow import csv

    if _plain_text(table, delimiter):
        csv.write_csv(table, target, _csv_options(table.column_names, delimiter, header))
        return
    import csv as pycsv

    text = io.StringIO()
    writer = pycsv.writer(text, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(table.column_names)
    cells = [pc.cast(column, pa.string()).to_pylist() for column in table.columns]
    writer.writerows(zip(*cells))
    payload = text.getvalue().encode()
    if isinstance(target, str):
        with open(target, "wb") as handle:
            handle.write(payload)
    else:
        target.write(payload)


def write_batches(schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: str,
                  fmt: str | None = None) -> None:
    """Write ``batches`` of ``schema`` to ``path`` (``-`` is CSV on stdout) as they come, so
    that the whole table is never in memory: a file atomically; standard output or a special
    file (a pipe) from a temporary file once every batch is written, each write checked, so
    that an error in a later batch leaves nothing behind there either.  Text is quoted where
    it must be."""
    fmt = table_format(path, fmt)
    if path != STDOUT and not is_special(path):
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            _write_batches_to(handle, schema, batches, fmt)
        return
    import tempfile

    with tempfile.TemporaryFile() as spool:
        _write_batches_to(spool, schema, batches, fmt)
        spool.seek(0)
        with contextlib.ExitStack() as stack:
            target = None if path == STDOUT else stack.enter_context(open(path, "wb"))
            while piece := spool.read(1 << 20):
                if target is None:
                    write_stdout(piece)
                else:
                    target.write(piece)


def _write_batches_to(handle, schema: pa.Schema, batches: Iterator[pa.RecordBatch], fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        # no dictionary for floating columns: trying one on every row group of distinct values
        # made writing five times slower
        kept = [field.name for field in schema if not pa.types.is_floating(field.type)]
        with pq.ParquetWriter(handle, schema, use_dictionary=kept) as writer:
            for batch in batches:
                writer.write_batch(batch)
        return
    delimiter = "\t" if fmt == "tsv" else ","
    # each batch quoted only if its own text needs it (pyarrow would otherwise quote every
    # text value); rows quoted and unquoted may follow one another in one CSV file
    handle.write(_csv_bytes(schema.empty_table(), delimiter, header=True))
    for batch in batches:
        handle.write(_csv_bytes(_as_text(pa.Table.from_batches([batch], schema)), delimiter, header=False))


def _csv_bytes(table: pa.Table, delimiter: str, header: bool) -> bytes:
    sink = io.BytesIO()
    _write_csv(table, sink, delimiter, header)
    return sink.getvalue()
