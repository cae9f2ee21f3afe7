"""Criteria for choosing k without a likelihood: the gap statistic (Tibshirani, Walther & Hastie,
"Estimating the number of clusters in a data set via the gap statistic", JRSS B 63, 2001) with
its one-standard-error rule, and the held-out reconstruction error.

Every fit is the cell's own spec (model, k, covariance, prior...) fit by the pipeline, and every
random draw is seeded by (seed, k, draw), so a cell's figures do not depend on which process
computes it or in what order.
"""

import numpy as np

from emcli.em.protocol import Centres, HardLabels, has
from emcli.errors import FitError, UsageError
from emcli.pipeline import FitSpec, fit_array
from emcli.select.cv import splits


def _labels(model, params, X: np.ndarray) -> np.ndarray:
    """(N,) cluster of each row of X (N, D): the model's own hard assignment."""
    if has(model, HardLabels):
        return model.labels(params, X)
    return model.responsibilities(params, X)[0].argmax(axis=1)


def dispersion(spec: FitSpec, X: np.ndarray, columns: list) -> float:
    """W_k of ``spec`` fit to X (N, D): the objective itself for k-means (the inertia) and
    k-medoids (the summed dissimilarity to the medoids); for other models the pooled
    within-cluster sum of squares about the cluster means of their hard assignment."""
    fitted = fit_array(spec, X, columns)
    if fitted.model.objective == "inertia":
        return -fitted.outcome.best.score
    k = spec.k
    labels = _labels(fitted.model, fitted.params, X)
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    means = sums / np.maximum(counts, 1)[:, None]
    return float(np.sum((X - means[labels]) ** 2))


def _log_dispersion(spec: FitSpec, X: np.ndarray, columns: list) -> float:
    w = dispersion(spec, X, columns)
    if not w > 0:
        raise FitError(f"k={spec.k}: the within-cluster dispersion is zero (as many clusters as distinct rows)")
    return float(np.log(w))


def gap_statistic(spec: FitSpec, X: np.ndarray, columns: list, reference_draws: int) -> tuple[float, float]:
    """(Gap(k), s_k) for rows X (N, D), k the spec's.

    Gap(k) = mean_b log W*_kb - log W_k, where W*_kb is the dispersion of the same spec fit to
    reference set b: N rows drawn uniformly over the bounding box of X's columns.
    s_k = sd_b(log W*_kb) * sqrt(1 + 1/B), sd with divisor B as in the paper.  Reference set b
    is drawn from ``default_rng([seed, k, b])``.
    """
    if reference_draws < 1:
        raise UsageError(f"--reference-draws must be at least 1, got {reference_draws}")
    low, high = X.min(axis=0), X.max(axis=0)
    observed = _log_dispersion(spec, X, columns)
    reference = np.empty(reference_draws)
    for b in range(reference_draws):
        rng = np.random.default_rng([spec.seed, spec.k, b])
        reference[b] = _log_dispersion(spec, rng.uniform(low, high, size=X.shape), columns)
    sd = float(np.sqrt(np.mean((reference - reference.mean()) ** 2)))
    return float(reference.mean() - observed), sd * float(np.sqrt(1.0 + 1.0 / reference_draws))


def gap_choice(ks: list, gaps: list, s: list) -> int:
    """The one-standard-error rule: the smallest k (ks taken in ascending order) with
    Gap(k) >= Gap(k') - s_k', k' the next k in the list; the k of the largest gap when none is.
    A gap of None (a failed cell) never qualifies and is never the next k."""
    cells = sorted((k, g, sd) for k, g, sd in zip(ks, gaps, s) if g is not None)
    if not cells:
        raise FitError("no k has a gap statistic")
    for (k, gap, _), (_, next_gap, next_s) in zip(cells, cells[1:]):
        if gap >= next_gap - next_s:
            return k
    return max(cells, key=lambda cell: (cell[1], -cell[0]))[0]


def heldout_reconstruction(spec: FitSpec, X: np.ndarray, columns: list, folds: int) -> float:
    """Mean over ``folds`` folds (those of the cross-validated log-likelihood) of the mean
    squared Euclidean distance of the held-out rows to their centre under ``spec`` fit to the
    other folds.

    A held-out row goes to the cluster the model assigns it (the nearest centre under the
    model's own dissimilarity: squared Euclidean for k-means, ``--metric`` for k-medoids) and
    its error is the squared Euclidean distance to that centre (the medoid, for k-medoids), so
    the figure is comparable across models and metrics.
    """
    errors = []
    for train, held in splits(len(X), folds, spec.seed):
        fitted = fit_array(spec, X[train], columns)
        if not has(fitted.model, Centres):
            raise UsageError("held-out reconstruction needs a model with centres (kmeans, kmedoids, gmm)")
        labels = _labels(fitted.model, fitted.params, X[held])
        residual = X[held] - fitted.model.centres(fitted.params)[labels]
        errors.append(float(np.mean(np.sum(residual**2, axis=1))))
    return float(np.mean(errors))
