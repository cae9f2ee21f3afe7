"""Choosing K from a target instead of ``-k``.

``--max-bits``: the theoretical size K D b + N ceil(log2 K) grows with K and does not depend
on the fit, so the largest K within the budget is found by bisection on the formula alone, and
only that K is fit.

``--target-psnr`` / ``--target-mse``: the smallest K whose coding meets the distortion target.
K = 2, 4, 8, ... is fit until one meets it (or the ceiling, the number of distinct rows or
``--k-max``, is reached), then K is bisected between the last that failed and the first that
met it, fitting each midpoint.  This assumes the distortion decreases with K, as the optimal
k-means distortion does; a fitted k-means is a local optimum, so it may not.  The K returned
always meets the target (it was fit and measured), and is the smallest that met it among
those tried; when the measured distortion rose with K somewhere, a warning says that a
smaller K might also meet the target (more ``--restarts`` make this rarer).
"""

from collections.abc import Callable

from emcli.errors import FitError, UsageError
from emcli.vq.container import theoretical_bits


def largest_k_within(max_bits: int, n: int, d: int, value_bits: int, ceiling: int) -> int:
    """The largest K in [2, ceiling] whose theoretical size is at most ``max_bits``; the
    ceiling itself may be below 2 (one distinct row), then it is K."""
    smallest = min(2, ceiling)
    if theoretical_bits(smallest, n, d, value_bits) > max_bits:
        raise UsageError(f"--max-bits {max_bits} is below the smallest coding: K={smallest} takes "
                         f"{theoretical_bits(smallest, n, d, value_bits)} bits")
    lo, hi = smallest, ceiling  # lo fits the budget; the answer is in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if theoretical_bits(mid, n, d, value_bits) <= max_bits:
            lo = mid
        else:
            hi = mid - 1
    return lo


def smallest_k_meeting(code: Callable, target_mse: float, ceiling: int, describe: Callable):
    """The smallest K in [2, ceiling] whose coding ``code(K)`` has an MSE of at most
    ``target_mse``, by doubling then bisection (see the module's docstring): (its coding, the
    list of (K, MSE) tried in order, and a warning when the distortion rose with K somewhere).
    ``describe(mse)`` words a distortion for messages.  FitError when even K = ceiling misses
    the target."""
    tried, lo, k = [], 1, min(2, ceiling)
    while True:
        coding = code(k)
        tried.append((k, coding.mse()))
        if coding.mse() <= target_mse:
            break
        if k >= ceiling:
            raise FitError(f"no K up to {ceiling} meets the target: K={ceiling} gives {describe(coding.mse())}; "
                           "raise --k-max or lower the target")
        lo, k = k, min(2 * k, ceiling)
    best, hi = coding, k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        coding = code(mid)
        tried.append((mid, coding.mse()))
        if coding.mse() <= target_mse:
            best, hi = coding, mid
        else:
            lo = mid
    return best, tried, _not_decreasing(tried, describe)


def _not_decreasing(tried: list, describe: Callable) -> list:
    ordered = sorted(tried)
    for (k1, mse1), (k2, mse2) in zip(ordered, ordered[1:]):
        if mse2 > mse1:
            return [f"the distortion rose from K={k1} ({describe(mse1)}) to K={k2} ({describe(mse2)}): "
                    "k-means stopped in a poorer local optimum, so a smaller K than the one "
                    "chosen may meet the target; more --restarts make this rarer"]
    return []
