"""What ``emtool predict`` appends to a table: cluster labels, probabilities, log densities and
the model's own per-row outputs (a Student-t's precision weight, a regression's prediction)."""

import numpy as np

from emcli.em.chunks import DEFAULT_CHUNK_BYTES, chunk_rows, chunks
from emcli.em.workers import ordered_map
from emcli.em.protocol import HardLabels, Posterior, RowOutputs, has
from emcli.errors import DataError, UsageError
from emcli.models import registry


def _block_columns(model, params, block: np.ndarray, *, clusters: bool, proba: bool,
                   logpdf: bool) -> dict:
    """The new columns for one chunk of rows, in output order."""
    out = {}
    if has(model, Posterior) and (clusters or proba or logpdf):
        resp, log_density = model.responsibilities(params, block)
        if clusters:
            out["cluster"] = resp.argmax(axis=1)
        if proba:
            out.update({f"p_{k}": resp[:, k] for k in range(model.k)})
        if logpdf:
            out["logpdf"] = log_density
    elif clusters and has(model, HardLabels):
        out["cluster"] = model.labels(params, block)
    if has(model, RowOutputs):
        out.update(model.row_outputs(params, block))
    return out


def predict_columns(model, params, X: np.ndarray, *, proba: bool = False, logpdf: bool = False,
                    chunk_bytes: int = DEFAULT_CHUNK_BYTES, name: str = "the data") -> dict:
    """New columns for the (N, D) rows ``X``, each (N,): ``cluster`` (int64) for a model whose
    outputs include it, ``p_0..p_{K-1}`` with ``proba``, ``logpdf`` with ``logpdf``, then the
    model's ``row_outputs``.  Rows are processed in chunks of ``chunk_bytes`` of scratch;
    ``name`` names the rows' file in errors."""
    clusters = "cluster" in registry.spec(model.name).outputs
    for flag, wanted in (("--proba", proba), ("--logpdf", logpdf)):
        if wanted and not has(model, Posterior):
            raise UsageError(f"{model.name} gives no {flag[2:]} output; {flag} is not available")
    if proba and not clusters:
        raise UsageError(f"{model.name} has a single component; --proba is not available")
    parts = list(ordered_map(lambda block: _block_columns(model, params, block, clusters=clusters,
                                                          proba=proba, logpdf=logpdf),
                             chunks(X, chunk_rows(model, X.shape[1], chunk_bytes))))
    out = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    if clusters:
        out["cluster"] = out["cluster"].astype(np.int64)
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
