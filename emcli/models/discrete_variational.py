"""Variational Bayes for the discrete mixtures (``-m bernoulli`` and ``-m categorical`` with
``--algorithm variational``; the driver is emcli.em.variational).

Both models are products of Dirichlets: each component's distribution of each column is a
point on a simplex (a Bernoulli column's (theta, 1 - theta), a categorical column's level
probabilities), with a conjugate Dirichlet (for a Bernoulli, Beta) prior, and the weights have
a Dirichlet(alpha) or stick-breaking prior (emcli.models.variational).  The posterior q keeps
the same forms, so the update adds the E-step's expected counts to the prior's pseudo-counts,
E_q[log theta] = psi(c) - psi(sum of the simplex's c) is all the E-step needs, and KL(q ||
prior) is a sum of Dirichlet divergences.

Here the components' concentrations are a list of ``blocks``, each (K, ..., L) with the
simplex on the last axis: Bernoulli's one (K, D, 2) block (the pseudo-counts of a 1, then of
a 0), categorical's one (K, L_j) block per column.

What every variational fit shares (the live components, the model file's fields) is in
emcli.models.variational_fit.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from emcli.errors import ModelFileError
from emcli.models import variational


@dataclass(frozen=True)
class Prior:
    """The weights' concentration ``alpha`` and whether they are stick-breaking (``process``);
    ``blocks``: the components' prior concentrations, one array per block of the posterior,
    broadcastable to its (K, ..., L) shape."""

    alpha: float
    process: bool
    blocks: list


@dataclass(frozen=True)
class Posterior:
    """q's hyperparameters: ``weights`` (K,) Dirichlet concentrations or (2, K) the sticks' Beta
    pairs (``variational.weight_posterior``); ``blocks``, the components' Dirichlet
    concentrations, each (K, ..., L)."""

    weights: np.ndarray
    blocks: list


def update(prior: Prior, n: np.ndarray, counts: list) -> Posterior:
    """q from the (K,) expected rows ``n`` per component and the expected ``counts`` per block
    (shaped as the posterior's blocks): the prior's concentrations plus the counts."""
    return Posterior(variational.weight_posterior(prior.alpha, prior.process, n),
                     [c0 + c for c0, c in zip(prior.blocks, counts)])


def expected_log(concentration: np.ndarray) -> np.ndarray:
    """E[log theta] under Dirichlet(c) on the last axis: psi(c) - psi(sum c), shaped as
    ``concentration``.  Their exponentials sum to less than 1 (Jensen), so the E-step takes
    them as logs, not as probabilities."""
    return digamma(concentration) - digamma(concentration.sum(axis=-1, keepdims=True))


def expected_value(concentration: np.ndarray) -> np.ndarray:
    """E[theta] = c / sum c on the last axis."""
    return concentration / concentration.sum(axis=-1, keepdims=True)


def kl_dirichlet(concentration: np.ndarray, prior: np.ndarray) -> float:
    """Sum over the simplices of KL(Dirichlet(c) || Dirichlet(c0)): ``concentration`` (..., L)
    and ``prior`` broadcastable to it."""
    c0 = np.broadcast_to(prior, concentration.shape)
    total, total0 = concentration.sum(axis=-1), c0.sum(axis=-1)
    return float(np.sum(gammaln(total) - gammaln(total0) - gammaln(concentration).sum(axis=-1)
                        + gammaln(c0).sum(axis=-1)
                        + ((concentration - c0) * expected_log(concentration)).sum(axis=-1)))


def kl_divergence(prior: Prior, post: Posterior) -> float:
    """KL(q || prior) of the weights and of every component's simplices."""
    return variational.kl_weights(prior.alpha, post.weights) + sum(
        kl_dirichlet(c, c0) for c, c0 in zip(post.blocks, prior.blocks))


def check_point(found: np.ndarray, expected: np.ndarray, field: str, what: str) -> None:
    """ModelFileError unless the point parameters ``found`` in ``field`` are q's ``expected``
    ones (``what``, for the message), to float precision."""
    if not np.allclose(found, expected, rtol=1e-9, atol=1e-12):
        raise ModelFileError(f"{field}: does not match params.posterior (expected {what})")
