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

#: criteria from the fit itself (models with a likelihood), and those that refit on other data
LIKELIHOOD_CRITERIA = ("bic", "aic", "icl", "cv")
CRITERIA = LIKELIHOOD_CRITERIA + ("gap", "reconstruction")
HIGHER_IS_BETTER = frozenset({"cv", "gap"})
COVARIANCES = ("full", "tied", "diag", "spherical")
#: extra columns each criterion adds to the table
EXTRA_COLUMNS = {"cv": ("cv",), "gap": ("gap", "gap_se"), "reconstruction": ("reconstruction",)}


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


def _has_likelihood(model_name: str) -> bool:
    return model_name not in ("kmeans", "kmedoids")


def check_criterion(model_name: str, criterion: str) -> None:
    """The criterion must be computable for the model: the likelihood criteria need a model
    whose objective is a log-likelihood; gap and held-out reconstruction suit every model."""
    spec = registry.spec(model_name)
    if "k" not in spec.options:
        raise UsageError(f"model {model_name} has no number of components select-k can choose")
    if criterion not in CRITERIA:
        raise UsageError(f"unknown --criterion {criterion!r}; known: {', '.join(CRITERIA)}")
    if spec.target_kind and criterion not in ("bic", "aic"):
        raise UsageError(f"--criterion {criterion} is not available for the regression model "
                         f"{model_name}; use bic or aic")
    if criterion in LIKELIHOOD_CRITERIA and not _has_likelihood(model_name):
        raise UsageError(f"--criterion {criterion} needs a likelihood, which {model_name} has not; "
                         "use gap or reconstruction")


def table_columns(model_name: str, criterion: str) -> list:
    """The table's columns for ``model_name`` chosen by ``criterion``."""
    scores = (["log_likelihood", "n_parameters", "bic", "aic", "icl"] if _has_likelihood(model_name)
              else ["inertia"])
    return (["model", "covariance", "k", *scores, *EXTRA_COLUMNS.get(criterion, ()),
             "converged", "seconds", "error"])


def _entropy(model, params, X: np.ndarray) -> float:
    """Total entropy of the responsibilities, -sum_n sum_k r_nk log r_nk (in chunks)."""
    total = 0.0
    for block in chunks(X, chunk_rows(model, X.shape[1])):
        resp, _ = model.responsibilities(params, block)
        total -= float(np.sum(resp * np.log(np.where(resp > 0, resp, 1.0))))
    return total


def fit_cell(model_name: str, cell: Cell, X: np.ndarray, columns: list, fit_options: dict,
             levels: list | None = None, criterion: str = "bic", folds: int = 5,
             reference_draws: int = 10, target: str | None = None, model_options: dict | None = None):
    """(table row, model document or None) for one grid point; a fit that fails is a row with
    its reason in ``error``.  ``levels``: categorical columns' levels, kept in the model file;
    ``target``: a regression model's target (the rows' last column); ``model_options``: the
    same for every cell (a prior).  cv, gap and reconstruction refit the cell on folds or
    reference sets."""
    options = ({"k": cell.k} | ({"covariance": cell.covariance} if cell.covariance else {})
               | (model_options or {}))
    row = dict.fromkeys(table_columns(model_name, criterion))
    row.update(model=model_name, covariance=cell.covariance or "", k=cell.k, converged=False, error="")
    started = time.perf_counter()
    seed = fit_options.get("seed", 0)
    try:
        if cell.k > len(X):
            raise UsageError(f"{cell.k} components but only {len(X)} rows")
        model = registry.create(model_name, options)
        if levels is not None:
            model.levels = levels
        outcome = fit(model, X, **fit_options)
        flat = getattr(model, "flat_components", lambda _: [])(outcome.best.params)
        if flat:
            raise FloatingPointError(
                f"degenerate: component{'s' if len(flat) > 1 else ''} {', '.join(map(str, flat))} "
                f"{'rest' if len(flat) > 1 else 'rests'} on the covariance floor (no spread in some direction)")
        doc = model_document(model, columns, outcome, n_samples=len(X), target=target)
        if _has_likelihood(model_name):
            loglik, p = doc["fit"]["log_likelihood"], doc["fit"]["n_parameters"]
            bic = -2.0 * loglik + p * math.log(len(X))
            icl = (bic + 2.0 * _entropy(model, outcome.best.params, X)
                   if hasattr(model, "responsibilities") else None)
            row.update(log_likelihood=loglik, n_parameters=p, bic=bic, aic=-2.0 * loglik + 2.0 * p, icl=icl)
        else:
            row["inertia"] = -outcome.best.score
        if criterion == "cv":
            from emcli.select_cv import cv_loglik

            row["cv"] = cv_loglik(model_name, options, X, fit_options, folds, seed)
        elif criterion == "gap":
            from emcli.select_gap import gap_statistic

            row["gap"], row["gap_se"] = gap_statistic(model_name, cell.k, X, fit_options,
                                                      reference_draws, seed)
        elif criterion == "reconstruction":
            from emcli.select_gap import heldout_reconstruction

            row["reconstruction"] = heldout_reconstruction(model_name, cell.k, X, fit_options, folds, seed)
        row.update(converged=outcome.best.converged, seconds=time.perf_counter() - started)
        return row, doc
    except (EmtoolError, np.linalg.LinAlgError, FloatingPointError) as exc:
        keep = ("model", "covariance", "k", "converged", "error")
        row.update({key: None for key in row if key not in keep})
        row.update(seconds=time.perf_counter() - started, error=str(exc))
        return row, None


def _fit_one(args):
    return fit_cell(*args)


def _one_thread_each():
    """Worker start-up: one BLAS / OpenMP thread per process, since the processes already fill
    the cores (two threads each made a 2-core grid slower than one process)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run_grid(model_name: str, cells: list, X: np.ndarray, columns: list, fit_options: dict,
             jobs: int, on_done=None, levels: list | None = None, criterion: str = "bic",
             folds: int = 5, reference_draws: int = 10, target: str | None = None,
             model_options: dict | None = None) -> list:
    """Every cell's (row, document), in grid order.  Cells run in ``jobs`` processes; each cell
    is seeded by itself, so the results do not depend on ``jobs``."""
    work = [(model_name, cell, X, columns, fit_options, levels, criterion, folds, reference_draws,
             target, model_options) for cell in cells]
    if jobs <= 1 or len(cells) == 1:
        results = []
        for item in work:
            results.append(_fit_one(item))
            if on_done:
                on_done()
        return results
    import multiprocessing

    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_one_thread_each) as pool:
        results = []
        for result in pool.map(_fit_one, work):
            results.append(result)
            if on_done:
                on_done()
    return results


def best_index(rows: list, criterion: str) -> int | None:
    """Index of the chosen row, None if every cell failed.  gap: the one-standard-error rule
    of Tibshirani et al. within each covariance type, then the largest gap among those choices;
    cv: the highest held-out log-likelihood; the others: the lowest value (first on ties)."""
    scored = [i for i, row in enumerate(rows) if row.get(criterion) is not None]
    if not scored:
        return None
    if criterion == "gap":
        from emcli.select_gap import gap_choice

        choices = []
        for covariance in dict.fromkeys(rows[i]["covariance"] for i in scored):
            group = sorted((rows[i]["k"], i) for i in scored if rows[i]["covariance"] == covariance)
            k = gap_choice([k for k, _ in group], [rows[i]["gap"] for _, i in group],
                           [rows[i]["gap_se"] for _, i in group])
            choices.append(next(i for kk, i in group if kk == k))
        return max(choices, key=lambda i: (rows[i]["gap"], -i))
    sign = -1.0 if criterion in HIGHER_IS_BETTER else 1.0
    return min(scored, key=lambda i: (sign * rows[i][criterion], i))
