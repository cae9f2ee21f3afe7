"""What ``emtool predict`` appends to a table: cluster labels, probabilities, log densities."""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.errors import UsageError


def predict_columns(model, params, X: np.ndarray, *, proba: bool, logpdf: bool) -> dict:
    """New columns for the (N, D) rows ``X``: ``cluster`` (N,) int64, ``p_0..p_{K-1}`` (N,)
    each with ``proba``, ``logpdf`` (N,) with ``logpdf``.  Rows are processed in chunks."""
    soft = hasattr(model, "responsibilities")
    if (proba or logpdf) and not soft:
        wanted = "--proba" if proba else "--logpdf"
        raise UsageError(f"{model.name} assigns rows to clusters without probabilities; {wanted} is not available")
    rows = chunk_rows(model, X.shape[1])
    labels = np.empty(len(X), dtype=np.int64)
    resp = np.empty((len(X), model.k)) if proba else None
    density = np.empty(len(X)) if logpdf else None
    for start, block in zip(range(0, len(X), rows), chunks(X, rows)):
        part = slice(start, start + len(block))
        if soft:
            r, log_density = model.responsibilities(params, block)
            labels[part] = r.argmax(axis=1)
            if proba:
                resp[part] = r
            if logpdf:
                density[part] = log_density
        else:
            labels[part] = model.labels(params, block)
    out = {"cluster": labels}
    if proba:
        out.update({f"p_{k}": resp[:, k].copy() for k in range(model.k)})
    if logpdf:
        out["logpdf"] = density
    return out
