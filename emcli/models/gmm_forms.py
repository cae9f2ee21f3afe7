"""The M-step of a Gaussian mixture whose covariances take one of mclust's constrained forms
(emcli.models.forms) beyond the four that emcli.models.gaussian estimates in their own shapes
(VVV, EEE, VVI, VII: full, tied, diag, spherical).

The covariance floor F = diag(--reg-covar x the column variances) keeps a component from
shrinking onto a point.  In the forms whose components share one covariance (EII, EEI) the
estimate is clipped to the floor, which is the exact maximum over covariances at least F, as
for the older four.  In the others (RIDGED) clipping would break the form, so the floor is a
penalty instead: the M-step maximises

    Q(Sigma) - 1/2 sum_k tr(F Sigma_k^-1),

which is the form's M-step on the scatters W_k + F.  The penalty is part of the score EM climbs
(``floor_penalty``, reported as the model's log prior); the log-likelihood in the model file
and the criteria are the likelihood's own.  With --prior default the M-step maximises the
posterior with the same form solvers on the prior's counts and scatters
(``ConjugatePrior.form_terms``).
"""

import numpy as np

from emcli.models import forms, gaussian

#: the forms whose floor is a penalty rather than a clip
RIDGED = frozenset(forms.FORMS) - forms.NATIVE - forms.SHARED


def to_storage(covariances: np.ndarray, storage: str) -> np.ndarray:
    """(K, D, D) covariances in the ``storage`` shape: (K,) variances (spherical), (K, D)
    (diag), or (K, D, D) made exactly symmetric (full)."""
    if storage == "spherical":
        return covariances[:, 0, 0].copy()
    if storage == "diag":
        return np.einsum("kii->ki", covariances).copy()
    return gaussian.symmetrised(covariances, "full")


def estimate(form: str, storage: str, n_k: np.ndarray, alive: np.ndarray, mc: np.ndarray,
             spread: np.ndarray, floor: np.ndarray, previous_cov: np.ndarray) -> np.ndarray:
    """Maximum-likelihood covariances of ``form`` in its ``storage`` shape, from the weights
    ``n_k`` (K,) and each component's scatter about its new mean ``spread`` (storage shape).
    Only the ``alive`` components (K,) enter: the others keep ``previous_cov`` until they are
    re-seeded, and add nothing to the shared parts.  An iterated form's sweeps start from
    ``previous_cov`` (``forms.m_step``)."""
    k, d = mc.shape
    live = np.flatnonzero(alive)
    W = np.array(gaussian.as_full(spread, storage, k, d)[live])
    if form in RIDGED:
        W[:, np.arange(d), np.arange(d)] += floor
    start = gaussian.as_full(previous_cov, storage, k, d)[live]
    cov = to_storage(forms.m_step(form, W, n_k[live], start), storage)
    if form not in RIDGED:
        cov = gaussian.clipped_to_floor(cov, floor, storage)
    out = np.array(previous_cov, dtype=float)
    out[live] = cov
    return out


def floor_penalty(form: str, storage: str, precision: np.ndarray, floor: np.ndarray) -> float:
    """-1/2 sum_k tr(F Sigma_k^-1) of a RIDGED form (0 for the others), from the precisions
    in the ``storage`` shape (diag (K, D) or full (K, D, D))."""
    if form not in RIDGED:
        return 0.0
    diagonals = precision if storage == "diag" else np.einsum("kii->ki", precision)
    return float(-0.5 * (diagonals @ floor).sum())
