"""Batch EM: every iteration runs the E-step over all rows (chunk by chunk), then the M-step."""

import time
from dataclasses import dataclass, field

import numpy as np

from emcli.em import watch
from emcli.em.chunks import accumulate
from emcli.em.protocol import Diagnosing, Reseeding, data_term, has, log_prior


@dataclass
class RunResult:
    """One EM run from one start."""

    params: object
    score: float
    log_likelihood: float
    n_iter: int
    converged: bool
    trace: list = field(default_factory=list)
    degenerate: list = field(default_factory=list)  # the model's flat_components, if it has them


def diagnosed(model, result: RunResult) -> RunResult:
    """``result`` with its degenerate components (``Diagnosing.flat_components``) recorded, from
    the model's state of this fit."""
    if has(model, Diagnosing):
        result.degenerate = model.flat_components(result.params)
    return result


def best_index(results: list) -> int:
    """The index of the winning run among ``results`` (RunResult, ``diagnosed``): the highest
    score among the runs with no degenerate component (among all, if none is sound: a spike
    whose likelihood only a floor bounds must not beat a proper fit).  Runs that reach one
    optimum differ only by round-off (and a permutation of the components), which the chunk
    size moves; the first of those within 1e-9 of the top wins, so the choice does not."""
    sound = [i for i, result in enumerate(results) if not result.degenerate] or range(len(results))
    top = max(results[i].score for i in sound)
    return next(i for i in sound if results[i].score >= top - 1e-9 * abs(top))


def trace_row(iteration: int, score: float, data_term: float, started: float, event=None,
              **extra) -> dict:
    """A trace row: the iteration, the score and its data term, the seconds since ``started``,
    the event (None, "init", a re-seeding...), then the algorithm's own columns.  A watcher
    of the fit (em.watch: a progress display) is told of it."""
    watch.tell(iteration, score)
    return {"iter": iteration, "score": score, "log_likelihood": data_term,
            "seconds": time.perf_counter() - started, "event": event, **extra}


def require_finite(score: float, where: str) -> None:
    """FloatingPointError when the objective stopped being finite (``where``: "at iteration 7")."""
    if not np.isfinite(score):
        raise FloatingPointError(f"the objective became {score} {where}")


def settled(score: float, previous: float, iteration: int, tol: float, n: int, event=None) -> bool:
    """Whether a run has converged: the objective's mean per-row change is at most ``tol``
    (never with ``tol`` 0, nor in an iteration with an ``event`` such as a re-seeding); a
    non-finite objective is a FloatingPointError."""
    require_finite(score, f"at iteration {iteration}")
    return tol > 0 and event is None and abs(score - previous) <= tol * n


def evaluate(model, params, X: np.ndarray, rows: int):
    """E-step over every chunk: (summed stats, score, data term of the score).

    The score is what EM climbs: the log-likelihood (minus the inertia, for k-means), plus the
    log prior density of ``params`` for a model fit by MAP (the ``Prior`` capability).  A model
    whose objective does not split over rows (the log evidence of a Bayesian linear model,
    ``WholeScore``) computes it from the summed statistics.
    """
    stats, summed = accumulate(lambda block: model.e_step(params, block), X, rows)
    data = data_term(model, stats, params, summed)
    return stats, data + log_prior(model, params), data


def reseed_degenerate(model, params, stats, X: np.ndarray, rng: np.random.Generator,
                      reseeds_left: int):
    """``params`` with the components ``model.degenerate`` reports re-seeded, at most
    ``reseeds_left`` of them: (parameters, re-seeds left, trace event or None).  A model
    without the ``Reseeding`` capability has no components to re-seed."""
    bad = (model.degenerate(params, stats)[:reseeds_left]
           if reseeds_left > 0 and has(model, Reseeding) else [])
    if not bad:
        return params, reseeds_left, None
    params = model.reseed(params, [k for k, _ in bad], X, rng)
    return params, reseeds_left - len(bad), "; ".join(f"re-seeded component {k} ({why})" for k, why in bad)


def run_batch(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
              rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """Iterate E and M steps from ``params`` until the mean per-row change of the score is at
    most ``tol`` (never when ``tol`` is 0) or ``max_iter`` M-steps have run.

    The returned score is that of the returned parameters.  Trace rows: iteration, score, its
    data term, seconds spent on that iteration, and events (components re-seeded).
    """
    n = len(X)
    reseeds_left = max_reseeds
    started = time.perf_counter()
    stats, score, data = evaluate(model, params, X, rows)
    trace = [trace_row(0, score, data, started, "init")]
    converged = False
    event = None
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        params = model.m_step(stats, params)
        params, reseeds_left, event = reseed_degenerate(model, params, stats, X, rng, reseeds_left)
        previous = score
        stats, score, data = evaluate(model, params, X, rows)
        trace.append(trace_row(iteration, score, data, started, event))
        if settled(score, previous, iteration, tol, n, event):
            converged = True
            break
    return RunResult(params, score, data, len(trace) - 1, converged, trace)
