"""Variational EM (variational Bayes) for the Gaussian mixture: coordinate ascent on the evidence
lower bound.  The E-step is the model's own (its compiled pass) under the expected parameters of
q (``model.expected_params``): it gives the responsibilities' sufficient statistics and the sum
over rows of log sum_k exp E_q[log p(x_n, z_n = k)], which less KL(q || prior) is the bound at
the optimal q(z); the "M-step" updates q's hyperparameters from those statistics.  Each half
step maximises the bound over its factor, so the trace never goes down.  Components whose
expected share of the rows falls below ``prune`` are counted as switched off (``live`` in the
trace): with a weak weight prior the data leave the components they do not support empty."""

import time

import numpy as np

from emcli.em.batch import RunResult, settled, trace_row
from emcli.em.chunks import accumulate


def run_variational(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                    rng: np.random.Generator, max_reseeds: int, weight_prior: str = "dirichlet",
                    prune: float = 0.01) -> RunResult:
    """Start from the responsibilities of ``params`` (an ordinary start), then iterate E-step
    and update until the bound moves at most ``tol`` per row or ``max_iter`` updates have run.
    Returns q's hyperparameters (a ``models.variational.Posterior``) as the parameters, the
    bound as the score and the sum of the rows' log normalisers as its data term."""
    from emcli.models import variational

    prior = model.variational_prior(weight_prior)
    stats, _ = accumulate(lambda block: model.e_step(params, block), X, rows)
    post = model.variational_update(prior, stats)
    n, bound, converged, trace = len(X), -np.inf, False, []
    for iteration in range(max_iter + 1):
        started = time.perf_counter()
        expected = model.expected_params(post)
        stats, summed = accumulate(lambda block: model.e_step(expected, block), X, rows)
        previous, bound = bound, summed - variational.kl_divergence(prior, post)
        live = int(np.sum(stats["n"] >= prune * n))
        trace.append(trace_row(iteration, bound, summed, started, "init" if iteration == 0 else None,
                               live=live))
        if iteration and settled(bound, previous, iteration, tol, n):
            converged = True
            break
        if iteration < max_iter:
            post = model.variational_update(prior, stats)
    return RunResult(post, bound, summed, len(trace) - 1, converged, trace)
