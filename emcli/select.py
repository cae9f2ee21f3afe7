"""Choosing the number of components, and the covariance structure, by fitting a grid of models
and comparing an information criterion (lower is better, as BIC = -2 log L + p ln N)."""

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.em.fit import fit
from emcli.errors import EmtoolError, UsageError
from emcli.io.modelfile import model_document
from emcli.models import registry

CRITERIA = ("bic", "aic", "icl")
COVARIANCES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class Cell:
    """One grid point: a model with k components (and a covariance type, where it has one)."""

    k: int
    covariance: str | None


def parse_k_range(text: str) -> list:
    """``1:9`` (inclusive) or ``2,4,8`` as a sorted list of distinct positive integers."""
    try:
        if ":" in text:
            low, high = (int(part) for part in text.split(":"))
            ks = list(range(low, high + 1))
            if low > high:
                raise UsageError(f"--k-range {text} is reversed; write {high}:{low}")
        else:
            ks = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise UsageError(f"--k-range {text!r} is not a range such as 1:9 or a list such as 2,4,8") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"--k-range {text} must hold positive numbers of components")
    return ks


def covariance_types(model_name: str, text: str | None) -> list:
    """The covariance types to search: ``all`` or a comma-separated list, for the models that
    take --covariance; [None] for the others."""
    takes = "covariance" in registry.spec(model_name).options
    if not takes:
        if text not in (None, "all"):
            raise UsageError(f"model {model_name} does not take --covariance")
        return [None]
    if text in (None, "all"):
        return list(COVARIANCES)
    chosen = [part.strip() for part in text.split(",")]
    unknown = [c for c in chosen if c not in COVARIANCES]
    if unknown:
        raise UsageError(f"--covariance {unknown[0]!r} is not one of all, {', '.join(COVARIANCES)}")
    return list(dict.fromkeys(chosen))


def check_criterion(model_name: str, criterion: str) -> None:
    """The criterion must be computable for the model: the likelihood criteria need a model
    whose objective is a log-likelihood."""
    spec = registry.spec(model_name)
    if "k" not in spec.options:
        raise UsageError(f"model {model_name} has no number of components to choose")
    if criterion not in CRITERIA:
        raise UsageError(f"unknown --criterion {criterion!r}; known: {', '.join(CRITERIA)}")
    if spec.name in ("kmeans", "kmedoids"):
        raise UsageError(f"--criterion {criterion} needs a likelihood, which {model_name} has not")


def _entropy(model, params, X: np.ndarray) -> float:
    """Total entropy of the responsibilities, -sum_n sum_k r_nk log r_nk (in chunks)."""
    total = 0.0
    for block in chunks(X, chunk_rows(model, X.shape[1])):
        resp, _ = model.responsibilities(params, block)
        total -= float(np.sum(resp * np.log(np.where(resp > 0, resp, 1.0))))
    return total


def fit_cell(model_name: str, cell: Cell, X: np.ndarray, columns: list, fit_options: dict):
    """(table row, model document or None) for one grid point; a fit that fails is a row with
    its reason in ``error``."""
    options = {"k": cell.k} | ({"covariance": cell.covariance} if cell.covariance else {})
    row = {"model": model_name, "covariance": cell.covariance or "", "k": cell.k}
    started = time.perf_counter()
    try:
        if cell.k > len(X):
            raise UsageError(f"{cell.k} components but only {len(X)} rows")
        model = registry.create(model_name, options)
        outcome = fit(model, X, **fit_options)
        flat = getattr(model, "flat_components", lambda _: [])(outcome.best.params)
        if flat:
            raise FloatingPointError(
                f"degenerate: component{'s' if len(flat) > 1 else ''} {', '.join(map(str, flat))} "
                f"{'rest' if len(flat) > 1 else 'rests'} on the covariance floor (no spread in some direction)")
        doc = model_document(model, columns, outcome, n_samples=len(X))
        loglik, p = doc["fit"]["log_likelihood"], doc["fit"]["n_parameters"]
        bic = -2.0 * loglik + p * math.log(len(X))
        row.update(log_likelihood=loglik, n_parameters=p, bic=bic, aic=-2.0 * loglik + 2.0 * p,
                   icl=bic + 2.0 * _entropy(model, outcome.best.params, X),
                   converged=outcome.best.converged, seconds=time.perf_counter() - started, error="")
        return row, doc
    except (EmtoolError, np.linalg.LinAlgError, FloatingPointError) as exc:
        row.update(log_likelihood=None, n_parameters=None, bic=None, aic=None, icl=None,
                   converged=False, seconds=time.perf_counter() - started, error=str(exc))
        return row, None


def _fit_one(args):
    return fit_cell(*args)


def run_grid(model_name: str, cells: list, X: np.ndarray, columns: list, fit_options: dict,
             jobs: int, on_done=None) -> list:
    """Every cell's (row, document), in grid order.  Cells run in ``jobs`` processes; each cell
    is seeded by itself, so the results do not depend on ``jobs``."""
    work = [(model_name, cell, X, columns, fit_options) for cell in cells]
    if jobs <= 1 or len(cells) == 1:
        results = []
        for item in work:
            results.append(_fit_one(item))
            if on_done:
                on_done()
        return results
    import multiprocessing

    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        results = []
        for result in pool.map(_fit_one, work):
            results.append(result)
            if on_done:
                on_done()
    return results


def best_index(rows: list, criterion: str) -> int | None:
    """Index of the row with the lowest criterion (the first on ties), None if every cell failed."""
    scored = [(row[criterion], i) for i, row in enumerate(rows) if row[criterion] is not None]
    return min(scored)[1] if scored else None
