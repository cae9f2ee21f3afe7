"""Splitting components that annealing merged.

Hot posteriors pull components together; with free covariances the merged (symmetric) fixed
point stays stable down to T = 1, where it is a saddle that EM leaves only very slowly.  So
when the temperature reaches 1, components whose densities coincide are split apart the way a
phase transition would split them: their rows are cut along the principal direction of the
rows they share, recursively, into as many parts as there are merged components."""

import numpy as np

from emcli.numeric import normalize_log_rows

#: Components whose log densities differ by less than this (standard deviation over the rows,
#: after removing a constant: their weights) count as one.
COINCIDENT = 0.1


def coincident_groups(log_joint: np.ndarray) -> list[list[int]]:
    """Groups (two or more components each) of the (N, K) ``log_joint``'s columns that differ
    only by a constant."""
    k = log_joint.shape[1]
    left = list(range(k))
    groups = []
    while left:
        first = left.pop(0)
        same = [j for j in left if np.std(log_joint[:, j] - log_joint[:, first]) < COINCIDENT]
        if same:
            groups.append([first, *same])
            left = [j for j in left if j not in same]
    return groups


def bisect(X: np.ndarray, weights: np.ndarray, parts: int) -> list[np.ndarray]:
    """``parts`` (N,) weight vectors that share out ``weights`` (N,) over the rows ``X`` (N, D):
    cut along the weighted principal direction at the weighted quantile that gives each side
    mass in proportion to its number of parts, then cut each side again."""
    if parts == 1:
        return [weights]
    total = weights.sum()
    centre = weights @ X / total
    deviation = X - centre
    scatter = (deviation * weights[:, None]).T @ deviation
    direction = np.linalg.eigh(scatter)[1][:, -1]
    projection = deviation @ direction
    order = np.argsort(projection, kind="stable")
    left_parts = parts // 2
    cut = np.searchsorted(np.cumsum(weights[order]), total * left_parts / parts, side="right")
    left = np.zeros(len(X), dtype=bool)
    left[order[:cut]] = True
    return bisect(X, weights * left, left_parts) + bisect(X, weights * ~left, parts - left_parts)


def split_merged(model, params, X: np.ndarray):
    """(params, event): ``params`` with merged components split, and a trace event naming them
    (None and ``params`` unchanged when none are merged)."""
    log_joint = model.log_joint(params, X)
    groups = coincident_groups(log_joint)
    if not groups:
        return params, None
    normalize_log_rows(log_joint)
    # Less than a row's worth of mass per component: nothing to split.
    groups = [g for g in groups if log_joint[:, g].sum() >= len(g)]
    if not groups:
        return params, None
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    for group in groups:
        shares = bisect(filled, log_joint[:, group].sum(axis=1), len(group))
        log_joint[:, group] = np.column_stack(shares)
    params = model.m_step(model.expected_stats(params, X, log_joint), params)
    names = "; ".join(",".join(map(str, g)) for g in groups)
    return params, f"split merged components {names}"

