"""Drawing rows from a fitted generative model, as a table with the model's columns."""

import itertools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from emcli.errors import DataError, UsageError
from emcli.models import registry


def sample_table(model, params, columns: list, n: int, rng: np.random.Generator) -> pa.Table:
    """``n`` rows drawn from the model: its columns (0/1 integers for binary data, the stored
    levels for categorical data) and, for mixtures, the drawn ``component`` (a network: each
    hidden node's drawn state, in a column named after it).  A model fit to standardised columns
    draws rows in the data's units."""
    spec = registry.spec(model.name)
    if not spec.has("sampling"):
        raise UsageError(f"{model.name} is not a generative model; it cannot sample")
    X, components = model.sample(params, n, rng)
    transform = getattr(model, "standardization", None)
    if transform is not None:  # drawn in the standardised units it was fit in (emcli.standardize)
        X = transform.inverse(X)
    lost = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if lost.size:
        # a draw beyond float range (a variance near the limit); never written as inf or nan
        raise DataError(f"draw {int(lost[0]) + 1} of {n} is beyond the range of a float: the model's "
                        "scales are too large to sample from")
    table = {}
    for j, name in enumerate(columns):
        if spec.data == "binary":
            table[name] = pa.array(X[:, j].astype(np.int64))
        elif spec.data == "categorical":
            levels = np.array(model.levels[j], dtype=object)
            table[name] = pa.array(levels[X[:, j].astype(np.int64)].tolist())
        else:
            table[name] = pa.array(X[:, j])
    if spec.has("hidden_nodes"):  # the hidden nodes' drawn states, named after them
        for j, name in enumerate(model.hidden_names()):
            table[name] = pa.array(components[:, j].astype(np.int64))
    elif "cluster" in spec.outputs:
        table["component"] = pa.array(components.astype(np.int64))
    return pa.table(table)


#: rows drawn at a time: any number of rows is written in memory bounded by a block
BLOCK_ROWS = 1 << 16


def sample_blocks(model, params, columns: list, n: int, rng: np.random.Generator,
                  rows: int = BLOCK_ROWS) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """``sample_table``'s rows drawn ``rows`` at a time: the schema (from the first block, drawn
    now, so that a model that cannot sample fails before anything is written) and the record
    batches.  Up to ``rows`` rows are the same draws as one ``sample_table``."""
    sizes = [rows] * (n // rows) + ([n % rows] if n % rows else [])
    first = sample_table(model, params, columns, sizes[0], rng)
    rest = (sample_table(model, params, columns, size, rng) for size in sizes[1:])
    return first.schema, (batch for table in itertools.chain([first], rest) for batch in table.to_batches())
