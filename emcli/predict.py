"""What ``emtool predict`` appends to a table: cluster labels, probabilities, log densities and
the model's own per-row outputs (such as a Student-t's precision weight)."""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.errors import UsageError


def predict_columns(model, params, X: np.ndarray, *, clusters: bool, proba: bool,
                    logpdf: bool) -> dict:
    """New columns for the (N, D) rows ``X``, each (N,): ``cluster`` (int64) when ``clusters``,
    ``p_0..p_{K-1}`` with ``proba``, ``logpdf`` with ``logpdf``, then whatever the model's
    ``row_outputs`` gives.  Rows are processed in chunks."""
    soft = hasattr(model, "responsibilities")
    if (proba or logpdf) and not soft:
        wanted = "--proba" if proba else "--logpdf"
        raise UsageError(f"{model.name} assigns rows to clusters without probabilities; {wanted} is not available")
    if proba and not clusters:
        raise UsageError(f"{model.name} has a single component; --proba is not available")
    n = len(X)
    out = {}
    if clusters:
        out["cluster"] = np.empty(n, dtype=np.int64)
    resp = np.empty((n, model.k)) if proba else None
    if logpdf:
        out["logpdf"] = np.empty(n)
    rows = chunk_rows(model, X.shape[1])
    for start, block in zip(range(0, n, rows), chunks(X, rows)):
        part = slice(start, start + len(block))
        if soft:
            r, log_density = model.responsibilities(params, block)
            if clusters:
                out["cluster"][part] = r.argmax(axis=1)
            if proba:
                resp[part] = r
            if logpdf:
                out["logpdf"][part] = log_density
        else:
            out["cluster"][part] = model.labels(params, block)
        for name, values in getattr(model, "row_outputs", lambda *_: {})(params, block).items():
            out.setdefault(name, np.empty(n))[part] = values
    if proba:
        probabilities = {f"p_{k}": resp[:, k].copy() for k in range(model.k)}
        out = {**({"cluster": out.pop("cluster")} if clusters else {}), **probabilities, **out}
    return out
