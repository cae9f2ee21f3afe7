"""Cross-validated log-likelihood: how well a model fit to part of the data predicts the rest.

Unlike BIC it needs no parameter count: the held-out curve over k rises while extra components
capture real structure and flattens or falls once they only fit noise in the training folds.
Higher is better.
"""

from collections.abc import Iterator

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.em.workers import ordered_map
from emcli.errors import UsageError
from emcli.pipeline import FitSpec, fit_array


def fold_indices(n_rows: int, folds: int, seed: int) -> list:
    """``folds`` sorted (n_i,) arrays of row indices partitioning 0..n_rows-1 at random.

    The split depends only on ``n_rows``, ``folds`` and ``seed``, so every grid cell is scored
    on the same folds whichever process runs it, and by every criterion that holds rows out.
    """
    if folds < 2:
        raise UsageError(f"--folds must be at least 2, got {folds}")
    if folds > n_rows:
        raise UsageError(f"--folds {folds} exceeds the {n_rows} rows of the data")
    order = np.random.default_rng(seed).permutation(n_rows)
    return [np.sort(part) for part in np.array_split(order, folds)]


def splits(n_rows: int, folds: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) for each fold of ``fold_indices``, both sorted, so that a
    fit sees its rows in their original order, as it would unsplit."""
    parts = fold_indices(n_rows, folds, seed)
    for i, held_out in enumerate(parts):
        yield np.sort(np.concatenate(parts[:i] + parts[i + 1:])), held_out


def cv_loglik(spec: FitSpec, X: np.ndarray, columns: list, folds: int,
              levels: list | None = None) -> float:
    """Mean held-out log density per row of the (N, D) rows ``X`` over ``folds`` folds, each
    scored by ``spec`` fit to the other folds.  A fold whose fit fails raises."""
    total = 0.0
    for train, held_out in splits(len(X), folds, spec.seed):
        fitted = fit_array(spec, X[train], columns, levels=levels)
        rows = chunk_rows(fitted.model, X.shape[1], spec.chunk_bytes)
        total += sum(ordered_map(lambda block: float(np.sum(fitted.model.responsibilities(fitted.params, block)[1])),
                                 chunks(X[held_out], rows)))
    return total / len(X)
