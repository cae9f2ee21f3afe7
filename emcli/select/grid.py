"""Choosing the number of components, and the covariance structure, by fitting a grid of models
and comparing an information criterion (lower is better, as BIC = -2 log L + p ln N), or, for
variational fits, the evidence lower bound (higher is better: a bound on log p(X | model) that
takes the parameters' uncertainty into account, so models of any K compare by it)."""

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from emcli.data import Rows
from emcli.em.chunks import accumulate, chunk_rows
from emcli.em.protocol import Posterior, has
from emcli.em.stats import Stats
from emcli.errors import DataError, EmtoolError, UsageError
from emcli.models import registry
from emcli.pipeline import FitSpec, fit_array

#: criteria from the fit itself (models with a likelihood), and those that refit on other data
LIKELIHOOD_CRITERIA = ("bic", "aic", "icl", "cv")
CRITERIA = LIKELIHOOD_CRITERIA + ("gap", "reconstruction", "elbo")
#: the criteria that compare variational fits, which have no maximised likelihood
VARIATIONAL_CRITERIA = ("elbo", "cv")
HIGHER_IS_BETTER = frozenset({"cv", "gap", "elbo"})
#: the most values --k-range may hold (each is one fit per covariance type, or more)
MAX_CELLS = 1000
#: extra columns each criterion adds to the table
EXTRA_COLUMNS = {"cv": ("cv",), "gap": ("gap", "gap_se"), "reconstruction": ("reconstruction",)}
#: a variational fit's columns, in place of the likelihood's
VARIATIONAL_COLUMNS = ("elbo", "live")


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
            if low > high:
                raise UsageError(f"--k-range {text} is reversed; write {high}:{low}")
            if high - low >= MAX_CELLS:
                raise UsageError(f"--k-range {text} holds {high - low + 1} values; at most {MAX_CELLS}")
            ks = list(range(low, high + 1))
        else:
            ks = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise UsageError(f"--k-range {text!r} is not a range such as 1:9 or a list such as 2,4,8") from None
    if not ks or min(ks) < 1:
        raise UsageError(f"--k-range {text} must hold positive numbers of components")
    return ks


def covariance_types(model_name: str, text: str | None) -> list:
    """The covariance types to search: ``all`` (by default), the model's (gmm: mclust's
    fourteen forms; student and tmix: the four structures), or a comma-separated list of names
    it takes, in any case; [None] for the models without --covariance."""
    spec = registry.spec(model_name)
    if "covariance" not in spec.options:
        if text not in (None, "all"):
            raise UsageError(f"model {model_name} does not take --covariance")
        return [None]
    if text is None or text.strip().lower() == "all":
        return list(spec.covariances)
    names = {name.lower(): meant for name, meant in registry.covariance_names(spec.covariances).items()}
    chosen = [part.strip() for part in text.split(",")]
    unknown = [c for c in chosen if c.lower() not in names]
    if unknown:
        raise UsageError(f"--covariance {unknown[0]!r} is not one of all, {', '.join(dict.fromkeys(names.values()))}")
    return list(dict.fromkeys(names[c.lower()] for c in chosen))


def _has_likelihood(model_name: str) -> bool:
    """Whether the model's objective is a likelihood (k-means' and k-medoids' is not)."""
    return not registry.spec(model_name).has("hard_labels")


def check_criterion(model_name: str, criterion: str | None, algorithm: str = "batch") -> str:
    """The criterion to decide by: ``criterion``, or by default bic (gap for a model without a
    likelihood, k-means and k-medoids; elbo for variational fits).  It must be computable for
    the model: the likelihood criteria need a model whose objective is a log-likelihood; gap and
    held-out reconstruction suit every model; a variational fit (``algorithm``) is compared by
    its bound or by cross-validation, and only it has a bound."""
    spec = registry.spec(model_name)
    variational = algorithm == "variational"
    if criterion is None:
        criterion = "elbo" if variational else "bic" if _has_likelihood(model_name) else "gap"
    if variational and criterion in CRITERIA and criterion not in VARIATIONAL_CRITERIA:
        raise UsageError(f"--criterion {criterion} compares maximum-likelihood fits; variational fits "
                         f"are compared by {' or '.join(VARIATIONAL_CRITERIA)}")
    if criterion == "elbo" and not variational:
        raise UsageError("--criterion elbo compares variational fits; add --algorithm variational")
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
    return criterion


def table_columns(model_name: str, criterion: str, variational: bool = False) -> list:
    """The table's columns for ``model_name`` chosen by ``criterion`` (of ``variational`` fits:
    the bound and the number of live components)."""
    scores = (list(VARIATIONAL_COLUMNS) if variational
              else ["log_likelihood", "n_parameters", "bic", "aic", "icl"] if _has_likelihood(model_name)
              else ["inertia"])
    return (["model", "covariance", "k", *scores, *EXTRA_COLUMNS.get(criterion, ()),
             "converged", "seconds", "error"])


def _entropy(model, params, X: np.ndarray, chunk_bytes: int) -> float:
    """Total entropy of the responsibilities, -sum_n sum_k r_nk log r_nk: a pass as an E-step's
    (em.chunks.accumulate), in chunks, over rows anywhere."""
    def entropy(block: np.ndarray):
        resp, _ = model.responsibilities(params, block)
        return Stats(), -float(np.sum(resp * np.log(np.where(resp > 0, resp, 1.0))))

    return accumulate(entropy, X, chunk_rows(model, X.shape[1], chunk_bytes))[1]


@dataclass(frozen=True)
class Scoring:
    """How cells are scored: the ``criterion``, and the ``folds`` and ``reference_draws`` of
    the criteria that refit on other data."""

    criterion: str = "bic"
    folds: int = 5
    reference_draws: int = 10


def cell_spec(spec: FitSpec, cell: Cell) -> FitSpec:
    """``spec`` with the cell's k (and covariance type, where it has one)."""
    return spec.with_options(k=cell.k, **({"covariance": cell.covariance} if cell.covariance else {}))


def _degenerate(fitted, n_rows: int) -> FloatingPointError:
    """The cell's error for a fit with degenerate components: the model's own diagnosis."""
    return FloatingPointError("degenerate: " + "; ".join(fitted.model.diagnose(fitted.params, n_rows)))


def _scores(spec: FitSpec, rows: Rows, fitted, scoring: Scoring) -> dict:
    """The cell's figures: the fit's own (log-likelihood, parameters, BIC, AIC, ICL; the
    inertia for models without a likelihood) and the refitting criterion's."""
    fit, X = fitted.doc["fit"], rows.X
    if "elbo" in fit:
        out = {"elbo": fit["elbo"], "live": len(fitted.model.live_components(fitted.params))}
    elif _has_likelihood(spec.model):
        icl = (fit["bic"] + 2.0 * _entropy(fitted.model, fitted.params, X, spec.chunk_bytes)
               if has(fitted.model, Posterior) else None)
        out = {"log_likelihood": fit["log_likelihood"], "n_parameters": fit["n_parameters"],
               "bic": fit["bic"], "aic": fit["aic"], "icl": icl}
    else:
        out = {"inertia": fit["inertia"]}
    if scoring.criterion == "cv":
        from emcli.select.cv import cv_loglik

        out["cv"] = cv_loglik(spec, X, rows.columns, scoring.folds, rows.levels)
    elif scoring.criterion == "gap":
        from emcli.select.gap import gap_statistic

        out["gap"], out["gap_se"] = gap_statistic(spec, X, rows.columns, scoring.reference_draws)
    elif scoring.criterion == "reconstruction":
        from emcli.select.gap import heldout_reconstruction

        out["reconstruction"] = heldout_reconstruction(spec, X, rows.columns, scoring.folds)
    return out


def fit_cell(spec: FitSpec, cell: Cell, rows: Rows, scoring: Scoring = Scoring()):
    """(table row, model document or None, the fit's warnings) for one grid point: ``spec``
    with the cell's k and covariance fit to ``rows`` (their ``levels`` and ``target`` kept in
    the model file).  A fit that fails, or rests on a degenerate component, is a row with its
    reason in ``error``; a UsageError (a prior the model refuses) is the command's."""
    row = dict.fromkeys(table_columns(spec.model, scoring.criterion, spec.algorithm == "variational"))
    row.update(model=spec.model, covariance=cell.covariance, k=cell.k, converged=False, error=None)
    started = time.perf_counter()
    spec = cell_spec(spec, cell)
    try:
        if cell.k > len(rows.X):
            raise DataError(f"{cell.k} components but only {len(rows.X)} rows")
        fitted = fit_array(spec, rows.X, rows.columns, levels=rows.levels, target=rows.target)
        if fitted.flat_components():
            raise _degenerate(fitted, len(rows.X))
        row.update(_scores(spec, rows, fitted, scoring))
        row.update(converged=fitted.converged, seconds=time.perf_counter() - started)
        return row, fitted.doc, fitted.warnings
    except UsageError:
        raise  # about the command, not the cell: every cell would say the same
    except (EmtoolError, np.linalg.LinAlgError, FloatingPointError) as exc:
        keep = ("model", "covariance", "k", "converged", "error")
        row.update({key: None for key in row if key not in keep})
        row.update(seconds=time.perf_counter() - started, error=str(exc))
        return row, None, []


def _fit_one(args):
    return fit_cell(*args)


def _cell_process(model_name: str, threads: int):
    """Worker start-up: the model's module imported, then its share of the command's threads
    (``em.workers``, one BLAS thread each), since the processes together fill the cores."""
    from emcli.em.workers import for_this_process

    registry.spec(model_name).load()
    for_this_process(threads)


def run_grid(spec: FitSpec, cells: list, rows: Rows, jobs: int, on_done=None,
             scoring: Scoring = Scoring()) -> list:
    """Every cell's (row, document, warnings), in grid order.  Cells run in ``jobs`` processes,
    which share the command's worker threads (``em.workers``); each cell is seeded by itself,
    so the results depend on neither."""
    rows = Rows(None, rows.columns, rows.X, rows.levels, rows.target)  # the table stays here
    work = [(spec, cell, rows, scoring) for cell in cells]
    if jobs <= 1 or len(cells) == 1:
        results = []
        for item in work:
            results.append(_fit_one(item))
            if on_done:
                on_done()
        return results
    import multiprocessing

    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    from emcli.em.workers import current

    spec.entry.load()  # imported once here rather than in every forked worker
    if spec.init == "hc" and isinstance(rows.X, np.ndarray):
        # the tree every cell cuts, built before the workers fork so that they share it
        from emcli.em import hc
        from emcli.em.start import hc_rows

        hc.cached_tree(hc_rows(rows.X, np.random.default_rng(spec.seed), spec.hc_sample))
    processes = min(jobs, len(cells))
    with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_cell_process,
                             initargs=(spec.model, max(1, current() // processes))) as pool:
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
        from emcli.select.gap import gap_choice

        choices = []
        for covariance in dict.fromkeys(rows[i]["covariance"] for i in scored):
            group = sorted((rows[i]["k"], i) for i in scored if rows[i]["covariance"] == covariance)
            k = gap_choice([k for k, _ in group], [rows[i]["gap"] for _, i in group],
                           [rows[i]["gap_se"] for _, i in group])
            choices.append(next(i for kk, i in group if kk == k))
        return max(choices, key=lambda i: (rows[i]["gap"], -i))
    sign = -1.0 if criterion in HIGHER_IS_BETTER else 1.0
    return min(scored, key=lambda i: (sign * rows[i][criterion], i))
