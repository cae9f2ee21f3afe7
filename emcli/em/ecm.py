"""ECM (Meng & Rubin 1993) and ECME (Liu & Rubin 1994, 1995): the M-step split into conditional
maximisations (CM-steps), each over one group of parameters with the others held fixed.

A model with the ``ecm`` capability names its groups in ``cm_groups`` and implements:

- ``cm_steps(stats, previous)``: the first CM-step, maximising Q over the first group with the
  rest held at ``previous``;
- ``cm_q_step(stats, params)``: the second group maximised on Q (ECM);
- ``cm_likelihood_step(params, X, rows)``: the second group maximised on the observed
  log-likelihood with the first held at its new values (ECME), a further pass over the rows;
- ``cm_trace(params)``: trace columns of the groups' values (a Student-t's dof).

Each CM-step raises Q or the likelihood itself, so neither algorithm lowers the likelihood.  A
model whose ``cm_groups`` has a single group (a Student-t with fixed dof) makes both of them
batch EM.  ECME costs two passes per iteration against ECM's one, and in return converges in
fewer iterations where the second group is poorly determined by Q (the dof: Liu & Rubin).
"""

import time

import numpy as np

from emcli.em.batch import RunResult, evaluate, reseed_degenerate, settled, trace_row


def run_ecm(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
            rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """ECM from ``params``: every CM-step on Q.  See ``_run`` for the stopping rule and trace."""
    return _run(model, X, params, "Q", lambda stats, cm: model.cm_q_step(stats, cm),
                rows=rows, max_iter=max_iter, tol=tol, rng=rng, max_reseeds=max_reseeds)


def run_ecme(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
             rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """ECME from ``params``: the last CM-step on the observed likelihood.  See ``_run``."""
    return _run(model, X, params, "likelihood",
                lambda stats, cm: model.cm_likelihood_step(cm, X, rows),
                rows=rows, max_iter=max_iter, tol=tol, rng=rng, max_reseeds=max_reseeds)


def _run(model, X: np.ndarray, params, target: str, last_step, *, rows: int, max_iter: int,
         tol: float, rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """Iterate the E-step and the CM-steps (``last_step(stats, params)`` maximising the second
    group on ``target``) until the mean per-row change of the score is at most ``tol`` (never
    when ``tol`` is 0) or ``max_iter`` iterations have run; components are re-seeded as in
    batch EM.

    Trace rows add ``cm`` (the CM-steps run: groups and what each maximised), ``passes``
    (passes over the rows so far) and the model's ``cm_trace`` columns after the iteration.
    """
    n = len(X)
    groups = model.cm_groups
    cm = "; ".join([groups[0] + " on Q"] + [f"{g} on {target}" for g in groups[1:]])
    extra_passes = 1 if target == "likelihood" and len(groups) > 1 else 0
    reseeds_left = max_reseeds
    started = time.perf_counter()
    stats, score, data_term = evaluate(model, params, X, rows)
    passes = 1
    trace = [trace_row(0, score, data_term, started, "init", cm=None, passes=passes,
                       **model.cm_trace(params))]
    converged = False
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        params = model.cm_steps(stats, params)
        if len(groups) > 1:
            params = last_step(stats, params)
        params, reseeds_left, event = reseed_degenerate(model, params, stats, X, rng, reseeds_left)
        previous = score
        stats, score, data_term = evaluate(model, params, X, rows)
        passes += 1 + extra_passes
        trace.append(trace_row(iteration, score, data_term, started, event, cm=cm, passes=passes,
                               **model.cm_trace(params)))
        if settled(score, previous, iteration, tol, n, event):
            converged = True
            break
    return RunResult(params, score, data_term, len(trace) - 1, converged, trace)
