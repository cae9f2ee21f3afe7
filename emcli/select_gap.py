"""Criteria for choosing k without a likelihood: the gap statistic (Tibshirani, Walther & Hastie,
"Estimating the number of clusters in a data set via the gap statistic", JRSS B 63, 2001) with
its one-standard-error rule, and the held-out reconstruction error.

Every random draw is seeded by (seed, k, draw), so a cell's figures do not depend on which
process computes it or in what order.
"""

import numpy as np

from emcli.em.fit import fit
from emcli.errors import FitError, UsageError
from emcli.models import registry

#: the objectives that already are a within-cluster dispersion (summed over rows)
_DISPERSIONS = ("inertia",)


def _labels(model, params, X: np.ndarray) -> np.ndarray:
    """(N,) cluster of each row of X (N, D): the model's own hard assignment."""
    if hasattr(model, "labels"):
        return model.labels(params, X)
    return model.responsibilities(params, X)[0].argmax(axis=1)


def _centres(params) -> np.ndarray:
    """(K, D) centres: k-means' centres, k-medoids' medoids, a mixture's means."""
    if isinstance(params, np.ndarray):
        return params
    for name in ("medoids", "means"):
        if hasattr(params, name):
            return getattr(params, name)
    raise UsageError("held-out reconstruction needs a model with centres (kmeans, kmedoids, gmm)")


def _fit(model_name: str, k: int, X: np.ndarray, fit_options: dict):
    model = registry.create(model_name, {"k": k})
    return model, fit(model, X, **fit_options).best


def dispersion(model_name: str, k: int, X: np.ndarray, fit_options: dict) -> float:
    """W_k of the model fit to X (N, D): the objective itself for k-means (the inertia) and
    k-medoids (the summed dissimilarity to the medoids); for other models the pooled
    within-cluster sum of squares about the cluster means of their hard assignment."""
    model, best = _fit(model_name, k, X, fit_options)
    if getattr(model, "objective", None) in _DISPERSIONS:
        return -best.score
    labels = _labels(model, best.params, X)
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    means = sums / np.maximum(counts, 1)[:, None]
    return float(np.sum((X - means[labels]) ** 2))


def _log_dispersion(model_name: str, k: int, X: np.ndarray, fit_options: dict) -> float:
    w = dispersion(model_name, k, X, fit_options)
    if not w > 0:
        raise FitError(f"k={k}: the within-cluster dispersion is zero (as many clusters as distinct rows)")
    return float(np.log(w))


def gap_statistic(model_name: str, k: int, X: np.ndarray, fit_options: dict,
                  reference_draws: int, seed: int) -> tuple[float, float]:
    """(Gap(k), s_k) for rows X (N, D).

    Gap(k) = mean_b log W*_kb - log W_k, where W*_kb is the dispersion of the same model fit
    (with the same ``fit_options``) to reference set b: N rows drawn uniformly over the bounding
    box of X's columns.  s_k = sd_b(log W*_kb) * sqrt(1 + 1/B), sd with divisor B as in the
    paper.  Reference set b for k is drawn from ``default_rng([seed, k, b])``.
    """
    if reference_draws < 1:
        raise UsageError(f"--reference-draws must be at least 1, got {reference_draws}")
    low, high = X.min(axis=0), X.max(axis=0)
    observed = _log_dispersion(model_name, k, X, fit_options)
    reference = np.empty(reference_draws)
    for b in range(reference_draws):
        rng = np.random.default_rng([seed, k, b])
        reference[b] = _log_dispersion(model_name, k, rng.uniform(low, high, size=X.shape), fit_options)
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


def heldout_reconstruction(model_name: str, k: int, X: np.ndarray, fit_options: dict,
                           folds: int, seed: int) -> float:
    """Mean over ``folds`` folds of the mean squared Euclidean distance of the held-out rows to
    their centre under a model fit to the other folds.

    The folds split ``default_rng([seed, folds]).permutation(N)`` (the same split for every k).
    A held-out row goes to the cluster the model assigns it (the nearest centre under the
    model's own dissimilarity: squared Euclidean for k-means, ``--metric`` for k-medoids) and
    its error is the squared Euclidean distance to that centre (the medoid, for k-medoids), so
    the figure is comparable across models and metrics.
    """
    if not 2 <= folds <= len(X):
        raise UsageError(f"--folds must be between 2 and the {len(X)} rows, got {folds}")
    order = np.random.default_rng([seed, folds]).permutation(len(X))
    errors = []
    for held in np.array_split(order, folds):
        train = np.ones(len(X), dtype=bool)
        train[held] = False
        model, best = _fit(model_name, k, X[train], fit_options)
        labels = _labels(model, best.params, X[held])
        residual = X[held] - _centres(best.params)[labels]
        errors.append(float(np.mean(np.sum(residual**2, axis=1))))
    return float(np.mean(errors))
