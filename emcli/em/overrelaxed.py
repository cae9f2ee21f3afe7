"""Adaptive over-relaxed EM (Salakhutdinov & Roweis 2003): from parameters theta, the EM update
M(theta) is extended to theta + eta (M(theta) - theta) in the model's unconstrained coordinates
(``to_vector``), so the weights stay on the simplex and the covariances positive definite for
any eta.  While such steps raise the likelihood, eta grows by ``GROWTH``; a step that would
lower it is refused, the plain EM step M(theta) is taken instead and eta starts again at 1.
So the score never falls, as with EM, and where EM crawls (much missing information) eta
grows and one step covers many EM steps."""

import time

import numpy as np

from emcli.em.batch import RunResult, evaluate, reseed_degenerate, settled, trace_row

#: Factor by which eta grows after each accepted over-relaxed step (the paper's alpha; it
#: reports values just above 1 working best, large ones wasting passes on refused steps).
GROWTH = 1.1


def em_step(model, stats, params, X: np.ndarray, rng: np.random.Generator, reseeds_left: int):
    """The M-step from ``stats``, with degenerate components re-seeded as batch EM does:
    (parameters, reseeds left, trace event or None)."""
    return reseed_degenerate(model, model.m_step(stats, params), stats, X, rng, reseeds_left)


def run_overrelaxed(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                    rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """Over-relaxed EM from ``params`` until the mean per-row change of the score is at most
    ``tol`` (never when ``tol`` is 0) or ``max_iter`` iterations have run.

    Trace rows add ``eta`` (the step tried), ``accepted`` (whether the over-relaxed step was
    kept; with eta = 1 it is the EM step itself) and ``passes`` (E-steps over the data so far:
    one per iteration, two when a step is refused).
    """
    n = len(X)
    reseeds_left = max_reseeds
    started = time.perf_counter()
    stats, score, data_term = evaluate(model, params, X, rows)
    passes = 1
    trace = [trace_row(0, score, data_term, started, "init", eta=1.0, accepted=True, passes=passes)]
    eta = 1.0
    converged = False
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        target, reseeds_left, event = em_step(model, stats, params, X, rng, reseeds_left)
        tried, accepted = eta, False
        if event is None and eta > 1.0:
            here = model.to_vector(params)
            passes += 1
            try:
                # a long step can overflow; it is then refused like any step that loses
                with np.errstate(over="ignore", invalid="ignore"):
                    candidate = model.from_vector(here + eta * (model.to_vector(target) - here), target)
                    new_stats, new_score, new_data_term = evaluate(model, candidate, X, rows)
            except np.linalg.LinAlgError:
                new_score = -np.inf
            accepted = bool(new_score >= score)
            if accepted:
                params, data_term, eta = candidate, new_data_term, eta * GROWTH
        if not accepted:
            params = target
            new_stats, new_score, data_term = evaluate(model, params, X, rows)
            passes += 1
            # eta = 1 is the EM step itself, taken as such; after a refused step, start again
            accepted = tried == 1.0
            eta = GROWTH if accepted and event is None else 1.0
        previous, stats, score = score, new_stats, new_score
        trace.append(trace_row(iteration, score, data_term, started, event, eta=tried,
                               accepted=accepted, passes=passes))
        if settled(score, previous, iteration, tol, n, event):
            converged = True
            break
    return RunResult(params, score, data_term, len(trace) - 1, converged, trace)
