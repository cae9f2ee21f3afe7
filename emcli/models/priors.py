"""Conjugate-prior helpers shared by the discrete mixtures (Bernoulli and categorical)."""

import numpy as np
from scipy.special import gammaln, xlogy

from emcli.errors import UsageError


def dirichlet_log_density(values: np.ndarray, alpha: float) -> float:
    """Log density of the symmetric Dirichlet(alpha) at each row of ``values`` (..., L), summed
    over the rows."""
    length = values.shape[-1]
    rows = values.size // length
    return float(rows * (gammaln(length * alpha) - length * gammaln(alpha))
                 + xlogy(alpha - 1.0, values).sum())


def hyperparameters(prior: str, given: dict | None, defaults: dict) -> dict:
    """The prior's hyperparameters: ``defaults`` overridden by ``given``, each at least 1 (below
    1 a density is unbounded at the edge of the simplex and the posterior has no mode); {} without
    a prior.  Raises UsageError on unknown names and bad values."""
    if prior not in ("none", "default"):
        raise UsageError(f"--prior must be none or default, got {prior!r}")
    given = dict(given or {})
    if prior == "none":
        if given:
            raise UsageError("--prior-param needs --prior default")
        return {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise UsageError(f"unknown prior parameter {unknown[0]!r}; known: {', '.join(defaults)}")
    out = {}
    for name, default in defaults.items():
        value = given.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1.0 <= value < np.inf:
            raise UsageError(f"prior parameter {name} must be a number of at least 1, got {value!r}")
        out[name] = float(value)
    return out
