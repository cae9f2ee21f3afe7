"""What impute tells about its work: summary lines for stderr and the --report document."""

import numpy as np


def log_likelihood(imputer, X: np.ndarray) -> float:
    """The observed-data log-likelihood of the rows ``X`` (N, D) under the imputer's mixture: the
    fit's own when it was fit here, to these rows; computed for a model read from a file."""
    if imputer.source == "fit":
        return imputer.doc["fit"]["log_likelihood"]
    from emcli.predict import predict_columns

    return float(predict_columns(imputer.model, imputer.params, X, logpdf=True)["logpdf"].sum())


def report_document(*, data: str, n_rows: int, filled: dict, empty_rows: int, imputer,
                    loglik: float | None, imputations: list) -> dict:
    """The --report JSON object: the cells filled per column, the rows with no observed chosen
    cell, where the model came from and how well it fits (iterations when fit here), the
    select-k table when K was chosen by BIC, one summary per bootstrap refit, and the model
    file's document.  ``imputer`` is None when nothing was missing and nothing was fit."""
    fit = imputer.doc["fit"] if imputer is not None and imputer.source == "fit" else None
    return {
        "input": data, "rows": n_rows, "cells_filled": filled,
        "total_filled": int(sum(filled.values())), "empty_rows": empty_rows,
        "model_source": imputer.source if imputer is not None else None,
        "log_likelihood": loglik,
        "n_iter": fit["n_iter"] if fit else None,
        "converged": fit["converged"] if fit else None,
        "selection": imputer.selection if imputer is not None else None,
        "imputations": imputations,
        "model": imputer.doc if imputer is not None else None,
    }


def summary_lines(report: dict) -> list:
    """A few lines for stderr from the report document."""
    filled = ", ".join(f"{name} {count}" for name, count in report["cells_filled"].items() if count)
    lines = [f"filled {report['total_filled']} cells ({filled or 'none missing'})"]
    if report["empty_rows"]:
        lines.append(f"{report['empty_rows']} rows with every chosen column missing were filled "
                     "from the whole mixture (nothing observed to condition on)")
    doc = report["model"]
    if doc is not None:
        line = (f"{_model_line(doc)}{' (K by BIC)' if report['selection'] else ''}: "
                f"log-likelihood {report['log_likelihood']:.4f}")
        if report["n_iter"] is not None:
            line += (f", {report['n_iter']} iterations, "
                     f"{'converged' if report['converged'] else 'not converged'}")
        lines.append(line)
    if report["imputations"]:
        iterations = [row["n_iter"] for row in report["imputations"]]
        lines.append(f"{len(iterations)} imputations: bootstrap refits took {min(iterations)} to "
                     f"{max(iterations)} iterations (median {np.median(iterations):g})")
    return lines


def _model_line(doc: dict) -> str:
    """The model in a few words: a gmm's K and covariance, a network's hidden nodes."""
    options = doc["options"]
    if doc["model"] == "bn":
        hidden = ", ".join(f"{name}={states}" for name, states in options["hidden"].items())
        return f"bn, hidden {hidden}"
    return f"gmm k={options['k']} {options['covariance']}"
