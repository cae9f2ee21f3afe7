"""The fourteen parameterisations of a Gaussian mixture's covariances (Banfield & Raftery 1993;
Celeux & Govaert 1995), as R's mclust names them: Sigma_k = lambda_k D_k A_k D_k', with the
volume lambda (a scalar), the shape A (diagonal, |A| = 1) and the orientation D (orthogonal)
each Equal across the components, Variable, or the Identity:

    EII VII  spherical            EEE VEE EVE VVE  ellipsoidal, common orientation
    EEI VEI EVI VVI  diagonal     EEV VEV EVV VVV  ellipsoidal, varying orientation

emtool's four older names are aliases: spherical = VII, diag = VVI, tied = EEE, full = VVV.

Each form's M-step for the covariances maximises the part of the expected complete
log-likelihood they enter,

    Q(Sigma) = -1/2 sum_k [n_k log|Sigma_k| + tr(W_k Sigma_k^-1)],

given each component's weighted scatter W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)' about its
new mean and its weight n_k = sum_i r_ik.  Closed forms (Celeux & Govaert) where they exist;
iterations that never lower Q where they do not: alternating volume and shape (VEI, VEE, VEV)
and the majorisation-minimisation step for a common orientation of Browne & McNicholas (2014)
(EVE, VVE), each run until Q changes by less than ITERATION_RTOL.

Functions take W (K, D, D) and n (K,) and return the covariances (K, D, D); ``n_parameters``
counts a form's free covariance parameters as mclust's nVarParams does.
"""

import numpy as np

from emcli.models.registry import FORM_OF as ALIASES, FORMS
#: where an iterated M-step stops: Q's relative change in one sweep, or MAX_SWEEPS sweeps
#: (WARM_SWEEPS from EM's previous covariances: a generalised M-step that raises Q, and lets
#: the next E-step in sooner; on iris, EVE k=4 takes 0.7 s instead of 13 s to the same fit)
ITERATION_RTOL = 1e-12
MAX_SWEEPS = 500
WARM_SWEEPS = 10


#: how each form's covariances are stored (emcli.models.gaussian's four shapes): the spherical
#: forms as (K,) variances, the diagonal ones as (K, D), EEE as one (D, D), the rest (K, D, D)
STORAGE = {"EII": "spherical", "VII": "spherical", "EEI": "diag", "VEI": "diag", "EVI": "diag",
           "VVI": "diag", "EEE": "tied", **dict.fromkeys(FORMS[7:], "full")}
#: the forms whose M-step is emcli.models.gaussian's for their storage (the older four)
NATIVE = frozenset(ALIASES.values())
#: the forms in which every component has the same covariance
SHARED = frozenset(("EII", "EEI", "EEE"))


def form_of(name: str) -> str:
    """The mclust name of a covariance name (an alias or a form)."""
    return ALIASES.get(name, name)


def described(form: str) -> str:
    """What the letters of ``form`` say, in words and as the decomposition: "VEV: volumes
    vary, equal shape, orientations vary (Sigma_k = lambda_k D_k A D_k')"."""
    volume, shape, orientation = form = form_of(form)
    words = [{"E": "equal volume", "V": "volumes vary"}[volume],
             {"I": "spherical", "E": "equal shape", "V": "shapes vary"}[shape]]
    if shape != "I":
        words.append({"I": "axes along the columns", "E": "equal orientation", "V": "orientations vary"}[orientation])
    lam, A, D = (symbol + ("_k" if letter == "V" else "")
                 for letter, symbol in zip(form, ("lambda", "A", "D")))
    if shape == "I":
        decomposition = f"{lam} I"
    elif orientation == "I":
        decomposition = f"{lam} {A}"
    else:
        decomposition = f"{lam} {D} {A} {D}'"
    return f"{form}: {', '.join(words)} (Sigma_k = {decomposition})"


def n_parameters(form: str, k: int, d: int) -> int:
    """The free parameters of the K covariances of ``form`` in D dimensions (mclust's
    nVarParams): a volume 1 or K, a shape D - 1 or K (D - 1), an orientation D (D - 1) / 2 or
    K D (D - 1) / 2, or a whole matrix's D (D + 1) / 2."""
    rotation = d * (d - 1) // 2
    return {
        "EII": 1, "VII": k, "EEI": d, "VEI": k + d - 1, "EVI": 1 + k * (d - 1), "VVI": k * d,
        "EEE": d * (d + 1) // 2, "VEE": k + d * (d + 1) // 2 - 1, "EVE": 1 + k * (d - 1) + rotation,
        "VVE": k * d + rotation, "EEV": d + k * rotation, "VEV": k + d - 1 + k * rotation,
        "EVV": 1 + k * (d * (d + 1) // 2 - 1), "VVV": k * d * (d + 1) // 2,
    }[form]


def q_value(covariances: np.ndarray, W: np.ndarray, n: np.ndarray) -> float:
    """Q(Sigma) above for covariances (K, D, D), scatters W (K, D, D) and weights n (K,)."""
    sign, logdet = np.linalg.slogdet(covariances)
    if np.any(sign <= 0):
        return -np.inf
    traces = np.einsum("kij,kji->k", W, np.linalg.inv(covariances))
    return float(-0.5 * np.sum(n * logdet + traces))


def m_step(form: str, W: np.ndarray, n: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """The covariances (K, D, D) of ``form`` maximising Q for scatters W (K, D, D) and weights
    n (K,), each n_k > 0 and W_k positive definite (the caller floors them).

    The iterated forms start from the shape or orientation of ``start`` (K, D, D), the
    covariances EM had: each sweep then raises Q from there, and as EM settles the parameters
    move little between M-steps, so a few sweeps reach the fixed point.  Without ``start``
    they begin at the identity (VEI, VEV, VEE) or at the pooled scatter's axes (EVE, VVE)."""
    form = form_of(form)
    W, n = np.asarray(W, dtype=float), np.asarray(n, dtype=float)
    if form in _ITERATED:
        return _ITERATED[form](W, n, None if start is None else np.asarray(start, dtype=float))
    return _SOLVERS[form](W, n)


def _det_root(values: np.ndarray) -> np.ndarray:
    """|M|^(1/D) of diagonal entries (..., D), by logarithms."""
    return np.exp(np.mean(np.log(values), axis=-1))


def _det_root_matrix(M: np.ndarray) -> np.ndarray:
    """|M|^(1/D) of positive definite matrices (..., D, D)."""
    return np.exp(np.linalg.slogdet(M)[1] / M.shape[-1])


def _diag_matrices(values: np.ndarray) -> np.ndarray:
    """(K, D) diagonals as (K, D, D) matrices."""
    out = np.zeros(values.shape + (values.shape[-1],))
    index = np.arange(values.shape[-1])
    out[..., index, index] = values
    return out


def _repeat(matrix: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(matrix[None], k, axis=0)


def _diagonals(W: np.ndarray) -> np.ndarray:
    return np.einsum("kii->ki", W)


# -- closed forms ------------------------------------------------------------------------------


def _eii(W, n):
    d = W.shape[-1]
    return _repeat(np.eye(d) * np.trace(W.sum(axis=0)) / (n.sum() * d), len(n))


def _vii(W, n):
    d = W.shape[-1]
    return np.einsum("k,ij->kij", np.einsum("kii->k", W) / (n * d), np.eye(d))


def _eei(W, n):
    return _repeat(np.diag(_diagonals(W).sum(axis=0) / n.sum()), len(n))


def _vvi(W, n):
    return _diag_matrices(_diagonals(W) / n[:, None])


def _evi(W, n):
    # Sigma_k = lambda B_k: B_k = diag(W_k) / |diag(W_k)|^(1/D), lambda = sum_k |diag(W_k)|^(1/D) / N
    diagonals = _diagonals(W)
    roots = _det_root(diagonals)
    return _diag_matrices(roots.sum() / n.sum() * diagonals / roots[:, None])


def _eee(W, n):
    return _repeat(W.sum(axis=0) / n.sum(), len(n))


def _vvv(W, n):
    return W / n[:, None, None]


def _evv(W, n):
    # Sigma_k = lambda C_k: C_k = W_k / |W_k|^(1/D), lambda = sum_k |W_k|^(1/D) / N
    roots = _det_root_matrix(W)
    return roots.sum() / n.sum() * W / roots[:, None, None]


def _eev(W, n):
    # W_k = L_k Omega_k L_k' (eigenvalues in decreasing order): D_k = L_k, and lambda A the
    # normalised sum of the Omega_k (Celeux & Govaert's theorem for a common shape)
    values, vectors = _eigen_decreasing(W)
    total = values.sum(axis=0)
    shape = total / _det_root(total)
    volume = _det_root(total) / n.sum()
    return np.einsum("kij,j,klj->kil", vectors, volume * shape, vectors)


def _eigen_decreasing(W):
    """Eigenvalues (K, D) in decreasing order and their vectors (K, D, D) as columns."""
    values, vectors = np.linalg.eigh(W)
    return values[:, ::-1], vectors[:, :, ::-1]


# -- iterated forms: each sweep raises Q, to a fixed point ---------------------------------------


def _sweeps(update, state, W, n, warm: bool):
    """Run ``update(state) -> (state, covariances)`` until Q's relative change is below
    ITERATION_RTOL, or MAX_SWEEPS times (WARM_SWEEPS from a ``warm`` start); the last
    covariances."""
    state, covariances = update(state)
    previous = q_value(covariances, W, n)
    for _ in range(WARM_SWEEPS if warm else MAX_SWEEPS):
        state, covariances = update(state)
        value = q_value(covariances, W, n)
        if abs(value - previous) <= ITERATION_RTOL * abs(value):
            break
        previous = value
    return covariances


def _vei(W, n, start):
    # Sigma_k = lambda_k B: lambda_k = tr(W_k B^-1) / (D n_k); B = diag(sum_k W_k / lambda_k), unit determinant
    d, diagonals = W.shape[-1], _diagonals(W)
    shape = np.ones(d) if start is None else _diagonals(start)[0] / _det_root(_diagonals(start)[0])

    def update(shape):
        volumes = (diagonals / shape).sum(axis=1) / (d * n)
        pooled = (diagonals / volumes[:, None]).sum(axis=0)
        shape = pooled / _det_root(pooled)
        return shape, _diag_matrices(volumes[:, None] * shape)

    return _sweeps(update, shape, W, n, start is not None)


def _vee(W, n, start):
    # Sigma_k = lambda_k C: lambda_k = tr(W_k C^-1) / (D n_k); C = sum_k W_k / lambda_k, unit determinant
    d = W.shape[-1]
    orientation = np.eye(d) if start is None else start[0] / _det_root_matrix(start[0])

    def update(C):
        volumes = np.einsum("kij,ji->k", W, np.linalg.inv(C)) / (d * n)
        pooled = (W / volumes[:, None, None]).sum(axis=0)
        C = pooled / _det_root_matrix(pooled)
        return C, volumes[:, None, None] * C

    return _sweeps(update, orientation, W, n, start is not None)


def _vev(W, n, start):
    # Sigma_k = lambda_k D_k A D_k' with D_k the eigenvectors of W_k (eigenvalues Omega_k, both in
    # decreasing order, as A's diagonal is kept): lambda_k = tr(Omega_k A^-1) / (D n_k);
    # A = sum_k Omega_k / lambda_k, unit determinant
    d = W.shape[-1]
    values, vectors = _eigen_decreasing(W)
    if start is None:
        shape = np.ones(d)
    else:
        shape = _eigen_decreasing(start[:1])[0][0]
        shape = shape / _det_root(shape)

    def update(shape):
        volumes = (values / shape).sum(axis=1) / (d * n)
        pooled = (values / volumes[:, None]).sum(axis=0)
        shape = np.sort(pooled / _det_root(pooled))[::-1]
        return shape, np.einsum("kij,kj,klj->kil", vectors, volumes[:, None] * shape, vectors)

    return _sweeps(update, shape, W, n, start is not None)


def _common_orientation(W, n, start, equal_volume: bool):
    """EVE (``equal_volume``) and VVE: Sigma_k = lambda_k D A_k D'.  Given D, each component's
    lambda_k A_k is diag(D' W_k D) / n_k (VVE), or the shapes diag(D' W_k D) normalised and one
    volume (EVE); given the Psi_k = (lambda_k A_k)^-1, D minimises sum_k tr(W_k D Psi_k D'),
    for which the MM step of Browne & McNicholas (2014) majorises each term with the largest
    eigenvalue w_k of W_k: F = sum_k (Psi_k D' W_k - w_k Psi_k D'), F = P S R' (SVD), D = R P'
    (the minimiser's sign flipped, which D A D' does not see)."""
    largest = np.linalg.eigvalsh(W)[:, -1]

    def scales(D):
        rotated = np.einsum("ji,kjl,lm->kim", D, W, D)
        diagonals = np.einsum("kii->ki", rotated)
        if not equal_volume:
            return diagonals / n[:, None]
        roots = _det_root(diagonals)
        return roots.sum() / n.sum() * diagonals / roots[:, None]

    def update(D):
        psi = 1.0 / scales(D)
        F = np.einsum("ki,ji,kjl->il", psi, D, W) - np.einsum("k,ki,ji->ij", largest, psi, D)
        P, _, Rt = np.linalg.svd(F)
        D = Rt.T @ P.T
        return D, np.einsum("ij,kj,lj->kil", D, scales(D), D)

    # the components share their axes, which are those of their sum
    axes = np.linalg.eigh((W if start is None else start).sum(axis=0))[1]
    return _sweeps(update, axes, W, n, start is not None)


def _eve(W, n, start):
    return _common_orientation(W, n, start, equal_volume=True)


def _vve(W, n, start):
    return _common_orientation(W, n, start, equal_volume=False)


_SOLVERS = {"EII": _eii, "VII": _vii, "EEI": _eei, "EVI": _evi, "VVI": _vvi, "EEE": _eee, "EEV": _eev,
            "EVV": _evv, "VVV": _vvv}
_ITERATED = {"VEI": _vei, "VEE": _vee, "EVE": _eve, "VVE": _vve, "VEV": _vev}
