"""Filling the missing cells of categorical rows from a fitted model with hidden nodes (a
Bayesian network, ``-m bn``): each cell by its most probable level given the row's observed
cells, or every missing cell of a row drawn jointly from its posterior.

A joint draw goes column by column: the first missing cell from its posterior given the
observed cells, the next given those and the cell just drawn, and so on, which is the chain
rule p(x_M | x_O) = prod_j p(x_mj | x_O, x_m1, ..., x_m(j-1)), exact under the model whatever
the hidden nodes between the cells.  Each step is one exact inference on the rows still
missing that column.
"""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.em.workers import ordered_map


def _incomplete_chunks(model, X: np.ndarray) -> list:
    """Row indices of the rows of ``X`` with a missing cell, in chunks sized for ``model``."""
    incomplete = np.flatnonzero(np.isnan(X).any(axis=1))
    return list(chunks(incomplete, chunk_rows(model, X.shape[1])))


def most_probable(model, params, X: np.ndarray) -> np.ndarray:
    """(N, D) level codes: ``X`` with each missing (NaN) cell replaced by the level of highest
    posterior probability given the row's observed cells (each cell's own mode, not the joint
    mode of the row's missing cells); observed cells copied exactly."""
    out = X.copy()

    def fill(rows: np.ndarray):
        block = X[rows]
        _, columns, _ = model.posteriors(params, block)
        modes = np.stack([posterior.argmax(axis=1) for posterior in columns], axis=1)
        return rows, np.where(np.isnan(block), modes, block)

    for rows, filled in ordered_map(fill, _incomplete_chunks(model, X)):
        out[rows] = filled
    return out


def joint_draws(model, params, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, D) level codes: ``X`` with each row's missing cells drawn jointly from their
    posterior given its observed cells (see the module docstring).  Each chunk of rows draws
    from a generator spawned from ``rng`` in chunk order, so the draws do not depend on the
    number of threads."""
    out = X.copy()
    parts = _incomplete_chunks(model, X)

    def draw(pair):
        rows, chunk_rng = pair
        block = X[rows]
        for j in range(block.shape[1]):
            missing = np.flatnonzero(np.isnan(block[:, j]))
            if missing.size:
                _, columns, _ = model.posteriors(params, block[missing])
                upper = np.cumsum(columns[j], axis=1)
                level = (upper < chunk_rng.random(missing.size)[:, None] * upper[:, -1:]).sum(axis=1)
                block[missing, j] = np.minimum(level, upper.shape[1] - 1)
        return rows, block

    for rows, filled in ordered_map(draw, zip(parts, rng.spawn(len(parts)))):
        out[rows] = filled
    return out
