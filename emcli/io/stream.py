"""Reading a table as a stream of row blocks, for data larger than memory: CSV or TSV through
pyarrow's streaming CSV reader (blocks of ``block_bytes``), Parquet one record batch at a time.
Each block becomes a float64 array of the chosen columns, as ``tables.numeric_matrix`` makes
it (missing cells NaN, the same errors), so a stream yields the rows the table reader does.
"""

import os
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from emcli.errors import DataError, UsageError
from emcli.io.atomic import STDOUT
from emcli.io.formats import table_format
from emcli.io.tables import numeric_columns, numeric_matrix

DEFAULT_BLOCK_BYTES = 4 * 2**20
PARQUET_BATCH_ROWS = 65536


def _batches(path: str, fmt: str, columns: list | None, block_bytes: int) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        # pre-buffering keeps every row group read so far: memory would grow with the file
        yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                                                       columns=columns, use_threads=False)
        return
    from pyarrow import csv

    # Chosen columns are read as float64 from the start: the streaming reader infers types from
    # its first block only, and a column of integers there may hold decimals further on.
    reader = csv.open_csv(
        path,
        read_options=csv.ReadOptions(block_size=block_bytes),
        parse_options=csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
        convert_options=csv.ConvertOptions(
            include_columns=columns, strings_can_be_null=True,
            column_types={name: pa.float64() for name in columns or ()}),
    )
    yield from reader


def _first_block(path: str, fmt: str, block_bytes: int) -> pa.Table:
    """The table's first block, every column, for its header and types."""
    if path == STDOUT:
        raise UsageError("a stream is read from a file, not from standard input")
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path} is empty")
    try:
        first = next(_batches(path, fmt, None, block_bytes), None)
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: {str(exc).splitlines()[0]}") from None
    if first is None or first.num_rows == 0:
        raise DataError(f"{path} has a header but no data rows")
    return pa.Table.from_batches([first])


def chosen_columns(path: str, fmt: str | None = None, block_bytes: int = DEFAULT_BLOCK_BYTES,
                   exclude: list | None = None) -> list:
    """Every numeric column of the table at ``path`` but those in ``exclude``, judged on its
    first block."""
    from emcli.data import _choosable

    block = _choosable(_first_block(path, table_format(path, fmt), block_bytes), exclude, path)
    return numeric_columns(block, path)


def iter_rows(path: str, columns: list | None = None, fmt: str | None = None,
              block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[np.ndarray]:
    """(n, D) float64 blocks of ``columns`` (every numeric column, judged on the first block,
    when None) of the table at ``path``, in file order.  Errors name the file and, for a bad
    cell, the row within the file."""
    fmt = table_format(path, fmt)
    header = _first_block(path, fmt, block_bytes)
    if columns is None:
        columns = numeric_columns(header, path)
    absent = [c for c in columns if c not in header.column_names]
    if absent:
        raise DataError(f"{path} has no column {absent[0]!r} (it has: {', '.join(header.column_names)})")
    offset = 0
    try:
        for batch in _batches(path, fmt, list(columns), block_bytes):
            if batch.num_rows == 0:
                continue
            try:
                yield numeric_matrix(pa.Table.from_batches([batch]), list(columns), path)[1]
            except DataError as exc:
                raise DataError(shift_row(str(exc), offset)) from None
            offset += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: {_conversion_error(str(exc).splitlines()[0], header)}") from None


def _conversion_error(message: str, header: pa.Table) -> str:
    """pyarrow's "In CSV column #j: [Row #r: ]CSV conversion error to double: invalid value 'x'"
    said with the column's name, and the row when pyarrow gives it (its reader does when Arrow
    runs on one thread; r counts the header line)."""
    import re

    found = re.match(r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to double: (.*)",
                     message)
    if not found:
        return message
    column, line, why = found.groups()
    row = f" row {int(line) - 1}" if line else ""
    return f"column {header.column_names[int(column)]!r}{row} is not numeric ({why})"


def shift_row(message: str, offset: int) -> str:
    """A block's error message with its row number counted from the start of the file."""
    import re

    return re.sub(r"row (\d+)", lambda m: f"row {int(m.group(1)) + offset}", message, count=1)


def batch_source(path: str, columns: list | None = None, fmt: str | None = None,
                 block_bytes: int = DEFAULT_BLOCK_BYTES) -> Callable[[], Iterator[np.ndarray]]:
    """A batch source for emcli.em.stepwise: each call re-opens the file and streams its rows."""
    if columns is None:
        columns = chosen_columns(path, fmt, block_bytes)
    return lambda: iter_rows(path, columns, fmt, block_bytes)
