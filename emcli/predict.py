"""What ``emtool predict`` appends to a table: cluster labels, probabilities, log densities and
the model's own per-row outputs (a Student-t's precision weight, a regression's prediction);
and the table written back with them, block by block where it can be (``predict_file``)."""

import numpy as np

from emcli.em.chunks import DEFAULT_CHUNK_BYTES, chunk_rows, chunks
from emcli.em.workers import ordered_map
from emcli.em.protocol import HardLabels, HiddenNodes, Posterior, RowOutputs, Variational, has
from emcli.errors import DataError, UsageError
from emcli.models import registry


def _block_columns(model, params, block: np.ndarray, *, clusters: bool, proba: bool,
                   logpdf: bool) -> dict:
    """The new columns for one chunk of rows, in output order."""
    out = {}
    if has(model, HiddenNodes):
        return _hidden_columns(model, params, block, proba=proba, logpdf=logpdf)
    if has(model, Posterior) and (clusters or proba or logpdf):
        resp, log_density = model.responsibilities(params, block)
        if clusters:
            out["cluster"] = resp.argmax(axis=1)
        if proba:
            shown = model.live_components(params) if has(model, Variational) else range(model.k)
            out.update({f"p_{k}": resp[:, k] for k in shown})
        if logpdf:
            out["logpdf"] = log_density
    elif clusters and has(model, HardLabels):
        out["cluster"] = model.labels(params, block)
    if has(model, RowOutputs):
        out.update(model.row_outputs(params, block))
    return out


def _hidden_columns(model, params, block: np.ndarray, *, proba: bool, logpdf: bool) -> dict:
    """Each hidden node's most probable state given the row, its probabilities with ``proba``
    (``p_<node>_<state>``), and the log density of the row's observed cells with ``logpdf``."""
    out, (hidden, _, log_density) = {}, model.posteriors(params, block)
    for name, posterior in zip(model.hidden_names(), hidden):
        out[name] = posterior.argmax(axis=1)
        if proba:
            out.update({f"p_{name}_{k}": posterior[:, k] for k in range(posterior.shape[1])})
    if logpdf:
        out["logpdf"] = log_density
    return out


def predict_columns(model, params, X: np.ndarray, *, proba: bool = False, logpdf: bool = False,
                    chunk_bytes: int = DEFAULT_CHUNK_BYTES, name: str = "the data") -> dict:
    """New columns for the (N, D) rows ``X``, each (N,): ``cluster`` (int64) for a model whose
    outputs include it, ``p_0..p_{K-1}`` with ``proba`` (a variational fit's live components'
    only), ``logpdf`` with ``logpdf``, then the model's ``row_outputs``; for a model with
    HiddenNodes, each node's state (int64) and, with ``proba``, its ``p_<node>_<state>``.  Rows are processed in chunks of ``chunk_bytes`` of scratch;
    ``name`` names the rows' file in errors.  A model fit to standardised columns is applied
    to the rows standardised alike, its ``logpdf`` that of the rows in their own units."""
    clusters = "cluster" in registry.spec(model.name).outputs
    hidden_nodes = has(model, HiddenNodes)
    for flag, wanted in (("--proba", proba), ("--logpdf", logpdf)):
        if wanted and not (has(model, Posterior) or hidden_nodes):
            raise UsageError(f"{model.name} gives no {flag[2:]} output; {flag} is not available")
    if hidden_nodes and not model.hidden_names() and not logpdf:
        raise UsageError(f"the {model.name} model has no hidden node to predict; --logpdf gives each row's log density")
    if proba and not (clusters or hidden_nodes):
        raise UsageError(f"{model.name} has a single component; --proba is not available")
    transform = getattr(model, "standardization", None)
    if transform is not None:  # a model fit to standardised columns (emcli.standardize)
        jacobian, X = transform.log_jacobian(X) if logpdf else None, transform.forward(X)
    out, start = {}, 0
    blocks = list(chunks(X, chunk_rows(model, X.shape[1], chunk_bytes, len(X))))
    for block, part in zip(blocks, ordered_map(lambda block: _block_columns(
            model, params, block, clusters=clusters, proba=proba, logpdf=logpdf), blocks)):
        for column, values in part.items():  # each chunk into its place: no second copy
            if column not in out:
                out[column] = np.empty(len(X), np.int64 if values.dtype.kind == "i" else values.dtype)
            out[column][start : start + len(block)] = values
        start += len(block)
    if transform is not None and logpdf:
        out["logpdf"] += jacobian  # the density of the rows in their own units
    _require_finite(out, name)
    return out


def _require_finite(columns: dict, name: str) -> None:
    """DataError naming the first row whose output is not a float (a regression's prediction
    for features of 1e308, say): never written as inf or nan.  A log density of -inf is a
    Gaussian's below float range, which --logpdf documents."""
    for column, values in columns.items():
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad = ~np.isfinite(values) & ~((column == "logpdf") & np.isneginf(values))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{name}: row {row + 1}: its {column} is beyond the range of a float; the "
                            "row is too far from what the model was fit to")


def predict_file(model, params, columns: list, source, output: str, output_format: str, *,
                 proba: bool = False, logpdf: bool = False, unseen: str = "error",
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
    """Write the table ``source`` (a pipeline.Source) with the new columns of the model fit to
    ``columns`` appended, to ``output`` in ``output_format``.

    A model of numeric columns applied to a file is predicted block by block (io.blocks), so
    that memory does not grow with the rows.  A block that cannot be read or predicted alone
    (a cell that is not a number, a column empty everywhere, a row beyond float range) sends
    the command to the whole table, whose checks say exactly what is wrong, with the row
    counted from the top of the file; the output is put in place only once complete, so
    nothing of the block-wise attempt remains."""
    import pyarrow as pa

    from emcli.io.blocks import streamable

    if registry.spec(model.name).data == "numeric" and streamable(source.path, source.fmt, output_format):
        try:
            _predict_blocks(model, params, columns, source, output, output_format, proba=proba,
                            logpdf=logpdf, chunk_bytes=chunk_bytes)
            return
        except (DataError, pa.ArrowException, OSError):
            pass  # the whole table's path reads it again and says what is wrong
    _predict_whole(model, params, columns, source, output, output_format, proba=proba,
                   logpdf=logpdf, unseen=unseen, chunk_bytes=chunk_bytes)


def _predict_whole(model, params, columns: list, source, output: str, output_format: str, *,
                   proba: bool, logpdf: bool, unseen: str, chunk_bytes: int) -> None:
    from emcli.data import display_name
    from emcli.io.passthrough import read_text, with_input_text
    from emcli.io.tables import append_columns, write_table
    from emcli.pipeline import load_for_predict

    rows = load_for_predict(model, columns, source, unseen)
    new = predict_columns(model, params, rows.X, proba=proba, logpdf=logpdf, chunk_bytes=chunk_bytes,
                          name=display_name(source.path))
    # a CSV or TSV output carries the input's cells as their text; Parquet keeps the types
    text = read_text(source.path, source.fmt, rows.table.column_names) if output_format != "parquet" else None
    write_table(with_input_text(append_columns(rows.table, new), text), output, output_format)


def _predict_blocks(model, params, columns: list, source, output: str, output_format: str, *,
                    proba: bool, logpdf: bool, chunk_bytes: int) -> None:
    """``predict_file`` block by block; DataError (or an Arrow or OS error) for anything the
    whole table's checks are to judge."""
    import itertools

    from emcli.data import require_complete, require_no_empty_rows
    from emcli.io.blocks import blocks
    from emcli.io.tables import append_columns, numeric_matrix, write_batches

    entry = registry.spec(model.name)
    observed = np.zeros(len(columns), dtype=bool)

    def batches():
        for typed, passing in blocks(source.path, source.fmt, columns):
            X = numeric_matrix(typed, columns, source.path)[1]
            if entry.target_kind or not entry.missing:
                require_complete(X, columns, source.path, model.name)
            else:
                require_no_empty_rows(X, source.path)
            observed[:] |= ~np.isnan(X).all(axis=0)
            new = predict_columns(model, params, X, proba=proba, logpdf=logpdf, chunk_bytes=chunk_bytes)
            yield from append_columns(passing, new).to_batches()
        if not observed.all():
            raise DataError("a column has no values")  # the whole table's reader names it

    stream = batches()
    first = next(stream, None)
    if first is None:
        raise DataError("no rows")  # the whole table's reader says so
    write_batches(first.schema, itertools.chain([first], stream), output, output_format)
