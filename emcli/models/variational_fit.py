"""What every variational fit adds to its model's parameters (gmm, bernoulli, categorical with
``--algorithm variational``): q, the expected rows per component and the live components; the
probabilities ``predict`` writes for them; and the fields of ``params.posterior`` that every
such model file shares (``weight_prior``, ``weight_concentration``, ``counts``, ``prune``,
``live``), which ``emtool fit -v`` and ``predict`` read."""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from emcli.errors import ModelFileError, UsageError
from emcli.models.params import check_shape, float_array

#: the weights' prior by its ``--weight-prior`` name: whether it is the stick-breaking process
WEIGHT_PRIORS = {"dirichlet": False, "process": True}
#: the model file's field holding q
FIELD = "params.posterior."


@dataclass(frozen=True)
class Fit:
    """q's hyperparameters ``posterior`` (the model's own kind, with ``weights`` as
    ``variational.weight_posterior`` gives them), the (K,) expected ``counts`` of rows per
    component under the final q(z), and ``prune``, the share of the rows below which a
    component is counted empty."""

    posterior: object
    counts: np.ndarray
    prune: float

    @property
    def live(self) -> np.ndarray:
        """The live components' indices, ascending (``em.variational.live_components``)."""
        from emcli.em.variational import live_components

        return live_components(self.counts, self.prune)


def live_components(params) -> list[int]:
    """The live components of a model's ``params``: its variational Fit's (``params.variational``),
    or every one for parameters not fit variationally (None there)."""
    if params.variational is None:
        return list(range(len(params.weights)))
    return params.variational.live.tolist()


def process(weight_prior: str) -> bool:
    """Whether ``--weight-prior`` names the stick-breaking process; UsageError if neither."""
    if weight_prior not in WEIGHT_PRIORS:
        raise UsageError(f"--weight-prior must be dirichlet or process, got {weight_prior!r}")
    return WEIGHT_PRIORS[weight_prior]


def live_responsibilities(log_joint: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From the (N, K) predictive log joint: the posterior probabilities of the ``live``
    components, renormalised over them (0 for the others), and the (N,) log densities of the
    rows, which count every component."""
    shown = log_joint[:, live]
    resp = np.zeros_like(log_joint)
    resp[:, live] = np.exp(shown - logsumexp(shown, axis=1, keepdims=True))
    return resp, logsumexp(log_joint, axis=1)


# -- the model file --------------------------------------------------------------------------------


def to_json(fit: Fit, blocks: dict) -> dict:
    """``params.posterior``: the weights' prior and q's concentrations, the model's own
    ``blocks`` (name -> JSON value), then the counts, prune and the live components."""
    weights = fit.posterior.weights
    return {"weight_prior": "process" if weights.ndim == 2 else "dirichlet",
            "weight_concentration": weights.tolist(), **blocks,
            "counts": fit.counts.tolist(), "prune": fit.prune, "live": fit.live.tolist()}


def posterior_array(doc: dict, name: str, shape: tuple) -> np.ndarray:
    """``doc[name]`` (of ``params.posterior``) as a finite float array of ``shape``; errors name
    ``params.posterior.NAME``."""
    key = "posterior." + name
    return check_shape(float_array({key: doc[name]} if name in doc else {}, key), shape, FIELD + name)


def read_array(doc: dict, name: str, shape: tuple) -> np.ndarray:
    """``posterior_array``, whose entries must all be > 0, as concentrations' must."""
    value = posterior_array(doc, name, shape)
    if np.any(value <= 0):
        raise ModelFileError(f"{FIELD}{name}: must be positive")
    return value


def from_json(doc, k: int, read_posterior) -> Fit:
    """The Fit of a model file's ``params.posterior`` ``doc`` for K = ``k`` components, every
    field checked; ``read_posterior(doc, weights)`` reads the model's own hyperparameters and
    returns its posterior with the (K,) or (2, K) ``weights``."""
    if not isinstance(doc, dict):
        raise ModelFileError("params.posterior: expected an object")
    weight_prior = doc.get("weight_prior")
    if weight_prior not in WEIGHT_PRIORS:
        raise ModelFileError(f"{FIELD}weight_prior: expected dirichlet or process, found {weight_prior!r}")
    weights = read_array(doc, "weight_concentration", (2, k) if WEIGHT_PRIORS[weight_prior] else (k,))
    counts = posterior_array(doc, "counts", (k,))
    if np.any(counts < 0) or not counts.sum() > 0:
        raise ModelFileError(f"{FIELD}counts: must be non-negative, and not all 0")
    prune = doc.get("prune")
    if isinstance(prune, bool) or not isinstance(prune, (int, float)) or not 0 < prune < 1:
        raise ModelFileError(f"{FIELD}prune: expected a number in (0, 1), found {prune!r}")
    fit = Fit(read_posterior(doc, weights), counts, float(prune))
    if doc.get("live") != fit.live.tolist():
        raise ModelFileError(f"{FIELD}live: expected {fit.live.tolist()}, the components whose counts "
                             "are at least prune times their sum")
    return fit
