"""What ``emtool predict`` appends to a table: cluster labels, probabilities, log densities and
the model's own per-row outputs (a Student-t's precision weight, a regression's prediction)."""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.errors import UsageError


def _block_columns(model, params, block: np.ndarray, *, clusters: bool, proba: bool,
                   logpdf: bool) -> dict:
    """The new columns for one chunk of rows, in output order."""
    out = {}
    if hasattr(model, "responsibilities") and (clusters or proba or logpdf):
        resp, log_density = model.responsibilities(params, block)
        if clusters:
            out["cluster"] = resp.argmax(axis=1)
        if proba:
            out.update({f"p_{k}": resp[:, k] for k in range(model.k)})
        if logpdf:
            out["logpdf"] = log_density
    elif clusters:
        out["cluster"] = model.labels(params, block)
    out.update(getattr(model, "row_outputs", lambda *_: {})(params, block))
    return out


def predict_columns(model, params, X: np.ndarray, *, clusters: bool, proba: bool,
                    logpdf: bool) -> dict:
    """New columns for the (N, D) rows ``X``, each (N,): ``cluster`` (int64) when ``clusters``,
    ``p_0..p_{K-1}`` with ``proba``, ``logpdf`` with ``logpdf``, then whatever the model's
    ``row_outputs`` gives.  Rows are processed in chunks."""
    soft = hasattr(model, "responsibilities")
    for flag, wanted in (("--proba", proba), ("--logpdf", logpdf)):
        if wanted and not soft:
            raise UsageError(f"{model.name} gives no {flag[2:]} output; {flag} is not available")
    if proba and not clusters:
        raise UsageError(f"{model.name} has a single component; --proba is not available")
    parts = [_block_columns(model, params, block, clusters=clusters, proba=proba, logpdf=logpdf)
             for block in chunks(X, chunk_rows(model, X.shape[1]))]
    out = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    if clusters:
        out["cluster"] = out["cluster"].astype(np.int64)
    return out
