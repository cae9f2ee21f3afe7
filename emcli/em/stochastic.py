"""Stochastic EM (Celeux & Diebolt 1985), Monte Carlo EM (Wei & Tanner 1990) and
stochastic-approximation EM (SAEM; Delyon, Lavielle & Moulines 1999): the E-step's expectation
is replaced by draws of the hidden labels from their posterior; one draw per row (stochastic) or
the average of ``mc_samples`` draws (MCEM, which tends to EM as the draws grow).  The parameters
of those two then wander around a maximum instead of settling, so the run returns the
parameters with the highest observed log-likelihood it met.  SAEM blends each iteration's drawn
statistics into a running average with step sizes 1 for ``burn_in`` iterations, then (k + 2)^-kappa
(as stepwise EM's), so that the draws' noise averages out and the parameters settle.  The trace
reports the observed log-likelihood at every iteration."""

import time

import numpy as np

from emcli.em.batch import RunResult, require_finite, trace_row
from emcli.em.chunks import accumulate_drawn
from emcli.em.protocol import log_prior
from emcli.numeric import normalize_log_rows


def drawn_step(model, params, X: np.ndarray, rows: int, rng: np.random.Generator, draws: int):
    """(stats from ``draws`` posterior draws of each row's label, averaged; the observed
    log-likelihood of ``params``)."""
    def block_step(block, rng):
        resp = model.log_joint(params, block)
        row_ll = normalize_log_rows(resp)
        cumulative = np.cumsum(resp, axis=1)
        counts = np.zeros_like(resp)
        rows_index = np.arange(len(block))
        for _ in range(draws):
            labels = (rng.random((len(block), 1)) * cumulative[:, -1:] > cumulative).sum(axis=1)
            counts[rows_index, np.minimum(labels, resp.shape[1] - 1)] += 1.0
        return model.expected_stats(params, block, counts / draws), float(row_ll.sum())

    return accumulate_drawn(block_step, X, rows, rng)


def _run(model, X, params, *, rows, max_iter, rng, draws, steps=None):
    """The loop of drawn statistics.  Without ``steps`` (stochastic EM, MCEM) each iteration's
    draws replace the statistics, and the run keeps the best parameters it met: draws keep the
    chain moving, so there is no convergence to test.  With ``steps``, a function of the
    iteration giving gamma (SAEM), the draws are blended in, s <- s + gamma (drawn - s), and
    the run ends with the last parameters, those of the averaged statistics.  Either way it
    spends ``max_iter`` iterations."""
    started = time.perf_counter()
    stats, data_term = drawn_step(model, params, X, rows, rng, draws)
    score = data_term + log_prior(model, params)
    best = (score, data_term, params)
    trace = [trace_row(0, score, data_term, started, "init", draws=draws,
                       **({} if steps is None else {"step": 1.0}))]
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        params = model.m_step(stats, params)
        drawn, data_term = drawn_step(model, params, X, rows, rng, draws)
        score = data_term + log_prior(model, params)
        require_finite(score, f"at iteration {iteration}")
        if steps is None:
            stats, extra = drawn, {}
            if score > best[0]:
                best = (score, data_term, params)
        else:
            step = steps(iteration)
            stats, extra = stats + step * (drawn - stats), {"step": step}
            best = (score, data_term, params)
        event = "best so far" if steps is None and best[2] is params else None
        trace.append(trace_row(iteration, score, data_term, started, event, draws=draws, **extra))
    return RunResult(best[2], best[0], best[1], len(trace) - 1, False, trace)


def run_stochastic(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                   rng: np.random.Generator, max_reseeds: int) -> RunResult:
    """Stochastic EM: one posterior draw of each row's label per iteration."""
    return _run(model, X, params, rows=rows, max_iter=max_iter, rng=rng, draws=1)


def run_mcem(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
             rng: np.random.Generator, max_reseeds: int, mc_samples: int = 10) -> RunResult:
    """Monte Carlo EM: ``mc_samples`` posterior draws of each row's label per iteration."""
    return _run(model, X, params, rows=rows, max_iter=max_iter, rng=rng, draws=mc_samples)


def run_saem(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
             rng: np.random.Generator, max_reseeds: int, mc_samples: int = 10, kappa: float = 0.7,
             burn_in: int | None = None) -> RunResult:
    """SAEM: ``mc_samples`` draws per row blended in with gamma_k = 1 for the first
    ``burn_in`` iterations (by default a fifth of ``max_iter``), then (j + 2)^-kappa for the
    j-th after them (j = 0, 1, ...).  Like MCEM it runs ``max_iter`` iterations (a change in
    the drawn log-likelihood says little about convergence while the draws' noise is still in
    it); unlike MCEM it returns the last parameters."""
    from emcli.em.stepwise import step_size

    burn_in = max_iter // 5 if burn_in is None else burn_in
    return _run(model, X, params, rows=rows, max_iter=max_iter, rng=rng, draws=mc_samples,
                steps=lambda k: 1.0 if k <= burn_in else step_size(k - burn_in - 1, kappa))
