"""A table file as blocks of rows for a command that passes it through with columns added
(predict): each block's model columns as numbers and its own cells to write back, so that the
command's memory does not grow with the rows.

Parquet: one record batch of about BLOCK_BYTES at a time, typed as the file says (what passes
through is the batch).
CSV or TSV: two streaming readers over the file, in step: the model's columns read as float64
(a streaming reader infers types from its first block only, and a column of integers there may
hold decimals further on), and every column as the text it is, which is what passes through
(see io.passthrough).  A block the readers cannot convert raises pa.ArrowInvalid; the caller
then reads the whole table, whose reader says exactly what is wrong.
"""

from collections.abc import Iterator

import pyarrow as pa

from emcli.io.formats import table_format
from emcli.io.stream import DEFAULT_BLOCK_BYTES

#: bytes of cells per block, as the streaming readers of stepwise EM take them
BLOCK_BYTES = DEFAULT_BLOCK_BYTES


def streamable(path: str, fmt: str | None, output_format: str) -> bool:
    """Whether ``path`` can be read in blocks for an output of ``output_format``: a file (not
    standard input or a FIFO, whose bytes are read whole anyway), and for a CSV or TSV input a
    CSV or TSV output (Parquet output needs one type per column, which only the whole file's
    reader knows)."""
    import os
    import stat

    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
    return regular and (table_format(path, fmt) == "parquet" or output_format != "parquet")


def blocks(path: str, fmt: str | None, columns: list) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(the block's ``columns`` with types, the block as it passes through) for each block of
    about BLOCK_BYTES of rows of the table at ``path``, in file order."""
    fmt = table_format(path, fmt)
    block_bytes = BLOCK_BYTES
    if fmt == "parquet":
        import pyarrow.parquet as pq

        # pre-buffering keeps every row group read so far: memory would grow with the file
        opened = pq.ParquetFile(path, pre_buffer=False)
        rows = max(1024, block_bytes // (8 * max(1, len(opened.schema_arrow))))
        for batch in opened.iter_batches(batch_size=rows, use_threads=False):
            table = pa.Table.from_batches([batch])
            yield table, table
        return
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
    read = csv.ReadOptions(block_size=block_bytes)
    values = csv.open_csv(path, read_options=read, parse_options=parse, convert_options=csv.ConvertOptions(
        include_columns=columns, strings_can_be_null=True,
        column_types={name: pa.float64() for name in columns}))
    names = csv.open_csv(path, read_options=read, parse_options=parse).schema.names
    text = csv.open_csv(path, read_options=read, parse_options=parse, convert_options=csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False, quoted_strings_can_be_null=False))
    from emcli.io.passthrough import empty_as_null

    for typed, cells in _in_step(values, text):
        yield typed, empty_as_null(cells)


def _in_step(left, right) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Pairs of equally long tables from two streams of record batches over the same rows,
    however each stream cuts them."""
    pending = {0: [], 1: []}
    sources = {0: iter(left), 1: iter(right)}
    while True:
        for side in (0, 1):
            while sum(len(b) for b in pending[side]) == 0:
                batch = next(sources[side], None)
                if batch is None:
                    return
                pending[side] = [b for b in pending[side] + [batch] if len(b)]
        rows = min(sum(len(b) for b in pending[side]) for side in (0, 1))
        pair = []
        for side in (0, 1):
            table = pa.Table.from_batches(pending[side]).combine_chunks()
            pair.append(table.slice(0, rows))
            rest = table.slice(rows)
            pending[side] = rest.to_batches() if rest.num_rows else []
        yield pair[0], pair[1]
