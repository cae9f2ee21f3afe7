"""Conjugate-prior helpers shared by the discrete mixtures (Bernoulli and categorical).

The same --prior-param values serve two fits: MAP (the batch family of algorithms), which needs
every value at least 1, and variational Bayes (--algorithm variational), which needs them only
positive.  The model is built before the algorithm is known, so construction checks what both
need (``hyperparameters``, ``given_hyperparameters``) and the MAP fit checks the rest
(``require_mode``) where only MAP goes: its log prior density, which every MAP driver scores
from its start on, before any output (``require_stored_mode`` for a MAP model file)."""

import numpy as np
from scipy.special import gammaln, xlogy

from emcli.errors import ModelFileError, UsageError


def dirichlet_log_density(values: np.ndarray, alpha: float) -> float:
    """Log density of the symmetric Dirichlet(alpha) at each row of ``values`` (..., L), summed
    over the rows."""
    length = values.shape[-1]
    rows = values.size // length
    return float(rows * (gammaln(length * alpha) - length * gammaln(alpha))
                 + xlogy(alpha - 1.0, values).sum())


def given_hyperparameters(prior: str, given: dict | None, names) -> dict:
    """The hyperparameters set with --prior-param, as floats: each one of ``names`` and a
    finite number > 0 (every fit's need); {} without a prior, which takes none.  Raises
    UsageError on an unknown prior, an unknown name or a bad value."""
    if prior not in ("none", "default"):
        raise UsageError(f"--prior must be none or default, got {prior!r}")
    given = dict(given or {})
    if prior == "none":
        if given:
            raise UsageError("--prior-param needs --prior default")
        return {}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise UsageError(f"unknown prior parameter {unknown[0]!r}; known: {', '.join(names)}")
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < np.inf:
            raise UsageError(f"prior parameter {name} must be a number > 0, got {value!r}")
    return {name: float(given[name]) for name in names if name in given}


def hyperparameters(prior: str, given: dict | None, defaults: dict) -> dict:
    """The MAP prior's hyperparameters: ``defaults`` overridden by ``given`` (checked as
    ``given_hyperparameters``); {} without a prior."""
    given = given_hyperparameters(prior, given, list(defaults))
    return {name: given.get(name, default) for name, default in defaults.items()} if prior != "none" else {}


def require_mode(hyper: dict) -> None:
    """UsageError unless every MAP hyperparameter is at least 1: below 1 a Beta or Dirichlet
    density is unbounded at the edge of the simplex, so the posterior has no mode (a
    variational fit, whose posterior is a distribution, takes any value > 0)."""
    for name, value in hyper.items():
        if value < 1.0:
            raise UsageError(f"prior parameter {name} must be at least 1 for a MAP fit (--algorithm "
                             f"variational takes any value > 0), got {value:g}")


def require_stored_mode(hyper: dict) -> None:
    """``require_mode`` for a MAP fit read from a model file (one without ``params.posterior``):
    a ModelFileError naming the option."""
    for name, value in hyper.items():
        if value < 1.0:
            raise ModelFileError(f"options.prior_params.{name}: {value:g} is below 1, which only a "
                                 "variational fit (with params.posterior) takes")


def map_pseudo_counts(hyper: dict, names) -> tuple:
    """The pseudo-counts h - 1 that a MAP M-step adds for each of ``names`` (0 without a prior).
    A value below 1 counts as 1 (none added): ``require_mode`` refuses it for a MAP fit, so
    only the start of a variational fit meets one, and its step must stay a valid maximum
    (weights and probabilities >= 0) rather than the mode that does not exist."""
    return tuple(max(hyper[name] - 1.0, 0.0) if hyper else 0.0 for name in names)
