"""The input's own text for the columns a command passes through.

predict and impute write the input table back with columns added or cells filled.  Read with
types, a CSV's cells come back changed: ``007`` as ``7``, ``True`` as ``true``, ``1.0`` as
``1``.  So for a CSV or TSV input every input column is written as the text it was read from
(each cell the input's characters; quotes only where a value needs them), except the cells a
command filled, which hold their typed value's text.  Parquet keeps types, so its tables are
written as they are.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from emcli.io.atomic import STDOUT
from emcli.io.formats import table_format
from emcli.io.streams import delimited_source


def output_format(output: str, override: str | None, source_path: str, source_fmt: str | None) -> str:
    """The output table's format: --output-format, else the output's extension; standard output
    is TSV for a TSV input (a pipeline keeps its delimiter) and CSV otherwise."""
    if override is None and output == STDOUT:
        return "tsv" if table_format(source_path, source_fmt) == "tsv" else "csv"
    return table_format(output, override, flag="--output-format")


def read_text(path: str, fmt: str | None, names: list) -> pa.Table | None:
    """The input's ``names`` columns as read, every cell a string (an empty cell null); None
    for Parquet, whose types are its own."""
    from pyarrow import csv

    fmt = table_format(path, fmt)
    if fmt == "parquet":
        return None
    source = delimited_source(path)
    table = csv.read_csv(
        pa.BufferReader(source) if isinstance(source, bytes) else source,
        parse_options=csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
        convert_options=csv.ConvertOptions(column_types={name: pa.string() for name in names},
                                           strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    return empty_as_null(table.select(names))


def empty_as_null(table: pa.Table) -> pa.Table:
    """A table of text cells with each empty cell null (a missing value, written back empty)."""
    # no Python scalars here: making one imports pandas
    return pa.table({name: pc.if_else(pc.invert(pc.cast(pc.utf8_length(column), pa.bool_())),
                                      pa.nulls(len(column), pa.string()), column)
                     for name, column in zip(table.column_names, table.columns)})


def with_input_text(table: pa.Table, text: pa.Table | None, filled: dict | None = None) -> pa.Table:
    """``table`` (the input's columns, then any new ones) with each input column replaced by
    its ``text``; ``filled`` maps a column to the (N,) mask of cells a command filled, which
    keep their typed value, as text.  ``text`` None (a Parquet input): ``table`` unchanged."""
    if text is None:
        return table
    for name in text.column_names:
        column = text.column(name)
        mask = (filled or {}).get(name)
        if mask is not None and np.any(mask):
            typed = pc.cast(table.column(name), pa.string())
            column = pc.if_else(pa.array(mask), typed, column)
        table = table.set_column(table.column_names.index(name), pa.field(name, pa.string()), column)
    return table
