"""Cross-validated log-likelihood: how well a model fit to part of the data predicts the rest.

Unlike BIC it needs no parameter count: the held-out curve over k rises while extra components
capture real structure and flattens or falls once they only fit noise in the training folds.
Higher is better.
"""

import numpy as np

from emcli.em.chunks import chunk_rows, chunks
from emcli.em.fit import fit
from emcli.errors import UsageError
from emcli.models import registry


def fold_indices(n_rows: int, folds: int, seed: int) -> list:
    """``folds`` sorted (n_i,) arrays of row indices partitioning 0..n_rows-1 at random.

    The split depends only on ``n_rows``, ``folds`` and ``seed``, so every grid cell is scored
    on the same folds whichever process runs it.
    """
    if folds < 2:
        raise UsageError(f"--folds must be at least 2, got {folds}")
    if folds > n_rows:
        raise UsageError(f"--folds {folds} exceeds the {n_rows} rows of the data")
    order = np.random.default_rng(seed).permutation(n_rows)
    return [np.sort(part) for part in np.array_split(order, folds)]


def cv_loglik(model_name: str, options: dict, X: np.ndarray, fit_options: dict, folds: int,
              seed: int) -> float:
    """Mean held-out log density per row of the (N, D) rows ``X`` over ``folds`` folds.

    Each fold is scored by a model built from ``options`` and fit (with ``fit_options``) to the
    other folds; the rows keep their original order within the training and held-out sets, so
    a fit sees its rows as it would unsplit.  A fold whose fit fails raises.
    """
    parts = fold_indices(len(X), folds, seed)
    total = 0.0
    for i, held_out in enumerate(parts):
        train = np.sort(np.concatenate(parts[:i] + parts[i + 1:]))
        model = registry.create(model_name, options)
        params = fit(model, X[train], **fit_options).best.params
        X_test = X[held_out]
        for block in chunks(X_test, chunk_rows(model, X.shape[1])):
            total += float(np.sum(model.responsibilities(params, block)[1]))
    return total / len(X)
