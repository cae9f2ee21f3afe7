"""The Gaussian mixture an imputation fills from: fit to the rows (a multivariate normal, K
components, or K chosen by BIC through select-k's grid), or read from a model file and checked
against the chosen columns."""

import os
from dataclasses import dataclass

from emcli import console
from emcli.data import Rows, display_name, require_rows, require_variation
from emcli.em.chunks import DEFAULT_CHUNK_BYTES
from emcli.errors import DataError, FitError, ModelFileError
from emcli.models import registry


@dataclass
class Imputer:
    """A fitted mixture: the model, its parameters, its model file's document, where it came
    from ("fit": fit here, to the rows being filled; else the model file's path) and, when K was
    chosen by BIC, the select-k table of every K tried."""

    model: object
    params: object
    doc: dict
    source: str = "fit"
    selection: list | None = None


def _from_document(doc: dict, n_features: int):
    model = registry.create(doc["model"], doc["options"])
    return model, model.from_json(doc["params"], n_features)


def fit_imputer(rows: Rows, path: str, k: int | None, covariance: str, ks: list,
                fit_options: dict, prior: dict | None = None) -> Imputer:
    """Fit a Gaussian mixture to the (N, D) ``rows.X`` (no row without an observed cell): ``k``
    components, or, when ``k`` is None, the K in ``ks`` with the lowest BIC.  ``fit_options``:
    init, restarts, seed, max_iter, tol; ``prior``: the model options of --prior."""
    from emcli.fitting import fit_rows

    require_variation(rows.X, rows.columns, path, "gmm")
    if k is not None:
        model = registry.create("gmm", {"k": k, "covariance": covariance} | (prior or {}))
        require_rows(rows.X, k, path, model)
        doc = fit_rows(model, rows, chunk_bytes=DEFAULT_CHUNK_BYTES, **fit_options)
        return Imputer(model, model.from_json(doc["params"], rows.X.shape[1]), doc)
    from emcli.select import Cell, best_index, run_grid

    if min(ks) > len(rows.X):
        raise DataError(f"every --k-range value exceeds the {len(rows.X)} rows of {display_name(path)}")
    cells = [Cell(k, covariance) for k in ks]
    with console.progress(len(cells), "choosing K") as advance:
        results = run_grid("gmm", cells, rows.X, rows.columns, fit_options, os.cpu_count() or 1,
                           on_done=advance, model_options=prior)
    table = [row for row, _ in results]
    best = best_index(table, "bic")
    if best is None:
        raise FitError(f"every K failed; the first: {table[0]['error']}")
    doc = results[best][1]
    return Imputer(*_from_document(doc, rows.X.shape[1]), doc, selection=table)


def load_imputer(path: str, rows: Rows, data_path: str) -> Imputer:
    """The Gaussian mixture in the model file ``path``, whose columns must be the chosen
    columns of ``rows`` in any order; ``rows`` is reordered to the model's columns."""
    from emcli.io.modelfile import read_model

    model, params, doc = read_model(path)
    if doc["model"] != "gmm":
        raise ModelFileError(f"{path} holds a {doc['model']} model; impute needs a gmm model")
    if sorted(doc["columns"]) != sorted(rows.columns):
        raise DataError(f"{path} was fit to columns {', '.join(doc['columns'])}, but the chosen "
                        f"columns of {display_name(data_path)} are {', '.join(rows.columns)} "
                        "(choose them with --columns)")
    rows.X = rows.X[:, [rows.columns.index(c) for c in doc["columns"]]]
    rows.columns = list(doc["columns"])
    return Imputer(model, params, doc, source=path)
