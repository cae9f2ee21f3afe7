"""Incremental EM (Neal & Hinton 1998): the rows fall into fixed blocks; each step recomputes
one block's expected statistics, swaps them for that block's previous ones in the running total,
and runs the M-step.  Parameters move after every block rather than every pass, which speeds up
the early passes; the free energy never falls."""

import time

import numpy as np

from emcli.em.batch import RunResult, settled, trace_row
from emcli.em.chunks import accumulate
from emcli.em.protocol import data_term, log_prior


def _evaluate_blocks(model, params, X: np.ndarray, bounds: list, rows: int):
    """Each block's statistics under ``params``, their total, and the objective over all rows
    (score, data term) as ``batch.evaluate`` defines it."""
    parts, summed = [], 0.0
    for a, b in bounds:
        stats, block_score = accumulate(lambda block: model.e_step(params, block), X[a:b], rows)
        parts.append(stats)
        summed += block_score
    total = sum(parts[1:], parts[0])
    data = data_term(model, total, params, summed)
    return parts, total, data + log_prior(model, params), data


def run_incremental(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                    rng: np.random.Generator, max_reseeds: int, block_size: int = 1000) -> RunResult:
    """Passes of incremental EM over blocks of ``block_size`` rows (each block's E-step in
    chunks of ``rows``).  One iteration is one pass: an M-step and a fresh E-step per block.
    Each pass ends with an E-step of every block under the final parameters, which gives the
    exact objective for the trace and the convergence test and refreshes every block's
    statistics for the next pass."""
    n = len(X)
    bounds = [(start, min(start + block_size, n)) for start in range(0, n, block_size)]
    started = time.perf_counter()
    parts, total, score, data = _evaluate_blocks(model, params, X, bounds, rows)
    trace = [trace_row(0, score, data, started, "init", m_steps=0)]
    converged = False
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        for index, (a, b) in enumerate(bounds):
            params = model.m_step(total, params)
            fresh = accumulate(lambda block: model.e_step(params, block), X[a:b], rows)[0]
            total = total - parts[index] + fresh
            parts[index] = fresh
        params = model.m_step(total, params)
        previous = score
        parts, total, score, data = _evaluate_blocks(model, params, X, bounds, rows)
        trace.append(trace_row(iteration, score, data, started, None,
                               m_steps=iteration * (len(bounds) + 1)))
        if settled(score, previous, iteration, tol, n):
            converged = True
            break
    return RunResult(params, score, data, len(trace) - 1, converged, trace)
