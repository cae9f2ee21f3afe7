"""Variational EM (variational Bayes): coordinate ascent on the evidence lower bound, for any
model with the ``Variational`` capability.  The E-step is the model's own (gmm's compiled pass)
under the expected parameters of q (``model.expected_params``): it gives the responsibilities'
sufficient statistics and the sum over rows of log sum_k exp E_q[log p(x_n, z_n = k)], which
less KL(q || prior) is the bound at the optimal q(z); the "M-step" updates q's hyperparameters
from those statistics.  Each half step maximises the bound over its factor, so the trace never
goes down.  Components whose expected share of the rows falls below ``prune`` are counted as
switched off (``live`` in the trace): with a weak weight prior the data leave the components
they do not support empty."""

import time

import numpy as np

from emcli.em.batch import RunResult, settled, trace_row
from emcli.em.chunks import accumulate


def live_components(counts: np.ndarray, prune: float) -> np.ndarray:
    """The indices of the components holding at least ``prune`` of the rows by their (K,)
    expected ``counts``, ascending; the largest one when none does (a --prune above 1/K), since
    a mixture has at least one."""
    live = np.flatnonzero(counts >= prune * counts.sum())
    return live if live.size else np.array([int(np.argmax(counts))])


def run_variational(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                    rng: np.random.Generator, max_reseeds: int, weight_prior: str = "dirichlet",
                    prune: float = 0.01) -> RunResult:
    """Start from the responsibilities of ``params`` (an ordinary start), then iterate E-step
    and update until the bound moves at most ``tol`` per row or ``max_iter`` updates have run.
    Returns the model's ``variational_params`` (q, and the components live at ``prune``), the
    bound as the score and the sum of the rows' log normalisers as its data term."""
    prior = model.variational_prior(weight_prior)
    stats, _ = accumulate(lambda block: model.e_step(params, block), X, rows)
    post = model.variational_update(prior, stats)
    n, bound, converged, trace = len(X), -np.inf, False, []
    for iteration in range(max_iter + 1):
        started = time.perf_counter()
        expected = model.expected_params(post)
        stats, summed = accumulate(lambda block: model.e_step(expected, block), X, rows)
        previous, bound = bound, summed - model.kl_divergence(prior, post)
        trace.append(trace_row(iteration, bound, summed, started, "init" if iteration == 0 else None,
                               live=len(live_components(stats["n"], prune))))
        if iteration and settled(bound, previous, iteration, tol, n):
            converged = True
            break
        if iteration < max_iter:
            post = model.variational_update(prior, stats)
    return RunResult(model.variational_params(post, stats["n"], prune), bound, summed, len(trace) - 1,
                     converged, trace)
