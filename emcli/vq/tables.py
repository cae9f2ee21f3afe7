"""Tables as rows to quantise: the chosen numeric columns of a CSV, TSV or Parquet file, and the
decoded rows written back under the same column names."""

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from emcli.data import load_rows, require_complete
from emcli.io.tables import write_batches


def read_rows(path: str, fmt: str | None, columns: list | None,
              exclude: list | None = None) -> tuple[list, np.ndarray, int]:
    """(column names, (N, D) float64 rows, bits per row as read): every numeric column (but
    those in ``exclude``) unless ``columns`` chooses.  A missing cell is a DataError naming its column and row: a code
    stands for a whole row, and a cell that has no value has no nearest centre."""
    rows = load_rows(path, fmt, columns, exclude=exclude)
    require_complete(rows.X, rows.columns, path, "compress")
    row_bits = sum(rows.table.schema.field(name).type.bit_width for name in rows.columns)
    return rows.columns, rows.X, row_bits


def write_rows(path: str, columns: list, blocks: Iterator[np.ndarray], dtype: np.dtype) -> None:
    """Write decoded rows, given as (rows, D) ``blocks`` of ``dtype``, as a table with ``columns``
    (CSV, TSV or Parquet by the extension of ``path``; ``-`` is CSV on stdout), block by block."""
    schema = pa.schema([(name, pa.from_numpy_dtype(dtype)) for name in columns])
    write_batches(schema, (pa.record_batch(list(block.T), schema=schema) for block in blocks), path)
