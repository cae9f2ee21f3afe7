"""Completing rows from a fitted Gaussian mixture: each missing cell by its conditional
expectation, or by a draw from its conditional distribution (multiple imputation).

Given a row's observed cells x_O, component k has posterior weight r_k = p(z = k | x_O) and the
missing cells are N(c_k, C_k) under it (``emcli.models.missing``).  The expectation is
sum_k r_k c_k; a draw first picks the component from r, then x_M ~ N(c_z, C_z).  Only rows with
a missing cell are computed, in chunks, each chunk vectorised per missingness pattern.
"""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.em.workers import ordered_map
from emcli.numeric import normalize_log_rows


def _posteriors(model, params, X: np.ndarray):
    """For each chunk (sized for ``model``) of the rows of ``X`` with a missing cell, on the
    worker threads, in order: (row indices, rows, (N, K) posterior probabilities of the
    components, the components' ``missing.Conditional``)."""
    def posterior(rows: np.ndarray):
        block = X[rows]
        resp, conditionals = model.conditionals(params, block)
        normalize_log_rows(resp)
        return rows, block, resp, conditionals

    incomplete = np.flatnonzero(np.isnan(X).any(axis=1))
    return ordered_map(posterior, chunks(incomplete, chunk_rows(model, X.shape[1])))


def conditional_means(model, params, X: np.ndarray) -> np.ndarray:
    """(N, D) copy of ``X`` with each missing (NaN) cell replaced by its expectation given the
    row's observed cells; observed cells are copied exactly.  A row with no observed cell gets
    the mixture's mean."""
    out = X.copy()
    for rows, block, resp, conditionals in _posteriors(model, params, X):
        expected = sum(r[:, None] * c.filled for r, c in zip(resp.T, conditionals))
        out[rows] = np.where(np.isnan(block), expected, block)
    return out


def conditional_draws(model, params, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, D) copy of ``X`` with the missing cells of each row drawn jointly from their
    conditional distribution given the row's observed cells: the component from its posterior
    probabilities, then the cells from that component's conditional normal."""
    out = X.copy()
    for rows, block, resp, conditionals in _posteriors(model, params, X):  # draws in row order
        upper = np.cumsum(resp, axis=1)
        component = (upper < rng.random(len(rows))[:, None] * upper[:, -1:]).sum(axis=1)
        drawn = np.empty_like(block)
        for k, conditional in enumerate(conditionals):
            chosen = component == k
            if chosen.any():
                drawn[chosen] = conditional.draw(chosen, rng)
        out[rows] = np.where(np.isnan(block), drawn, block)
    return out
