"""Gaussian building blocks shared by the mixtures of Gaussians and of Student-t distributions.

Covariance types: full (K, D, D), tied (D, D), diag (K, D) and spherical (K,).  Rows are centred
on a fixed reference point.  The Mahalanobis term of component k is  x'P_k x - 2 x'P_k m_k +
m_k'P_k m_k  (P_k the precision): linear in each row's design [x x' packed, x, 1], so the
E-step is one compiled pass that writes the design rows (``design``), one GEMM with the stacked
coefficients of every component (``distance_coefficients``), the compiled log-sum-exp, and one
GEMM of the design with the responsibilities, which gives all the weighted moments at once
(``design_moments``).
"""

import numpy as np

from emcli.em.protocol import ShortRuns
from emcli.errors import UsageError
from emcli.models.registry import COVARIANCE_TYPES, FORMS, covariance_names
from emcli.numeric import cholesky_lower, inverse_and_logdet

COVARIANCE_KEY = {"full": "covariances", "tied": "covariance", "diag": "variances",
                  "spherical": "variances"}


def checked_options(k, covariance: str, reg_covar, accepted: tuple = COVARIANCE_TYPES) -> tuple[int, str, float]:
    """(k, covariance, reg_covar) of a Gaussian-shaped mixture, checked (UsageError naming the
    option otherwise).  ``accepted``: the model's own covariance names; the name returned is
    the one ``covariance`` means (``registry.covariance_names``: VVV is full to student)."""
    if k < 1:
        raise UsageError(f"-k must be at least 1, got {k}")
    names = covariance_names(accepted)
    if covariance not in names:
        if covariance in FORMS:
            raise UsageError(f"--covariance {covariance} is one of gmm's fourteen forms; this model takes "
                             f"{', '.join(accepted)} (or their forms VVV, EEE, VVI, VII)")
        raise UsageError(f"--covariance must be one of {', '.join(dict.fromkeys(names))}, got {covariance!r}")
    covariance = names[covariance]
    if not reg_covar >= 0:
        raise UsageError(f"reg_covar must be non-negative, got {reg_covar}")
    return int(k), covariance, float(reg_covar)


def cov_shape(covariance: str, k: int, d: int) -> tuple:
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance]


def n_cov_parameters(covariance: str, k: int, d: int) -> int:
    return {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
            "spherical": k}[covariance]


def precision_of(covariance: str, cov: np.ndarray, k: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Precisions in the shape of ``cov`` and the (K,) log-determinants of the precisions.

    Raises np.linalg.LinAlgError naming the component whose covariance is not positive definite.
    """
    if covariance == "full":
        # one batched factorisation: a LAPACK call per component cost more in call overhead
        # than in arithmetic, and the M-step is the part of an iteration that no thread shares
        try:
            lower = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            for j, c in enumerate(cov):  # name the first component that fails
                cholesky_lower(c, f"covariance of component {j}")
            raise
        inverse_lower = np.linalg.solve(lower, np.broadcast_to(np.eye(d), cov.shape))
        precision = np.swapaxes(inverse_lower, 1, 2) @ inverse_lower
        return precision, -2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    if covariance == "tied":
        precision, logdet = inverse_and_logdet(cov, "tied covariance")
        return precision, np.full(k, logdet)
    if np.any(cov <= 0):
        raise np.linalg.LinAlgError("a variance is not positive")
    precision = 1.0 / cov
    if covariance == "diag":
        return precision, np.log(precision).sum(axis=1)
    return precision, d * np.log(precision)


def second_features(Xc: np.ndarray, covariance: str) -> np.ndarray | None:
    """Row-wise second-moment features of the centred rows ``Xc`` (N, D): for full, the upper
    triangles of x x' stored transposed as (D(D+1)/2, N), so that each product is one
    contiguous SIMD pass; (N, D) squares for diag; (N,) squared norms for spherical; none for
    tied."""
    if covariance == "full":
        n, d = Xc.shape
        columns = np.ascontiguousarray(Xc.T)
        packed = np.empty((d * (d + 1) // 2, n))
        start = 0
        for i in range(d):
            np.multiply(columns[i:], columns[i], out=packed[start : start + d - i])
            start += d - i
        return packed
    if covariance == "diag":
        return Xc * Xc
    if covariance == "spherical":
        return np.einsum("ij,ij->i", Xc, Xc)
    return None


#: the compiled ``design`` kernel's code for each covariance type's second-moment features
DESIGN_KIND = {"full": 0, "tied": 0, "diag": 1, "spherical": 2}


def n_second(covariance: str, d: int) -> int:
    """Second-moment features per row in a ``design`` row."""
    return {"full": d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance]


def design(X: np.ndarray, center: np.ndarray, covariance: str) -> np.ndarray:
    """(N, P) design rows [s(x - c), x - c, 1] of the rows ``X`` (N, D) about ``center`` (D,):
    s the upper triangle of (x - c)(x - c)' row by row for full and tied, the squares for diag,
    the squared norm for spherical (P = ``n_second`` + D + 1), in one compiled pass.  One GEMM
    with ``distance_coefficients`` gives every row's distance to every component, and one with
    the responsibilities gives the weighted moments (``design_moments``)."""
    from emcli._kernels import design as compiled

    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    out = np.empty((n, n_second(covariance, d) + d + 1))
    compiled(X, np.ascontiguousarray(center, dtype=np.float64), DESIGN_KIND[covariance], out)
    return out


def distance_coefficients(mc: np.ndarray, precision: np.ndarray, covariance: str) -> np.ndarray:
    """(P, K) coefficients A such that ``design`` rows @ A are the squared Mahalanobis distances
    x'P_k x - 2 x'P_k m_k + m_k'P_k m_k of centred rows to the centred means ``mc`` (K, D)
    under ``precision`` (in the shape of the covariance type): the packed precisions (the
    off-diagonal entries doubled), -2 P_k m_k and m_k'P_k m_k."""
    k, d = mc.shape
    if covariance in ("full", "tied"):
        upper = np.triu_indices(d)
        doubled = np.where(upper[0] == upper[1], 1.0, 2.0)
        if covariance == "full":
            linear = np.einsum("kij,kj->ki", precision, mc)
            packed = precision[:, upper[0], upper[1]] * doubled
        else:
            linear = mc @ precision
            packed = np.broadcast_to(precision[upper] * doubled, (k, len(doubled)))
    elif covariance == "diag":
        linear, packed = precision * mc, precision
    else:
        linear, packed = precision[:, None] * mc, precision[:, None]
    constant = np.einsum("ki,ki->k", linear, mc)
    return np.ascontiguousarray(np.vstack([packed.T, -2.0 * linear.T, constant[None, :]]))


def design_moments(F: np.ndarray, W: np.ndarray, covariance: str, d: int):
    """``split_moments`` of F' W: the weighted moments of the centred rows whose ``design``
    rows are ``F`` (N, P), under the weights ``W`` (N, K)."""
    return split_moments(F.T @ W, covariance, d)


def split_moments(S: np.ndarray, covariance: str, d: int):
    """Weight totals (K,), first moments (K, D) sum_n W_nk x_n and second moments from the
    (P, K) products S = sum_n design(x_n)' W_n: packed upper triangles (K, D(D+1)/2) for
    full, one (D, D) sum weighted by each row's total weight for tied, (K, D) squares for
    diag, (K,) for spherical."""
    q = len(S) - d - 1
    if covariance == "tied":
        s2 = unpack(S[:q].sum(axis=1)[None, :], d)[0]
    else:
        s2 = S[:q].T if covariance != "spherical" else S[0]
    return S[-1], S[q : q + d].T, s2


def complete_pass(X: np.ndarray, center: np.ndarray, covariance: str, coefficients: np.ndarray,
                  offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The E-step of a Gaussian mixture over complete rows ``X`` (N, D) in one compiled pass
    (``emcli._kernels.gaussian_pass``): the (P, K) products sum_n design(x_n)' r_n for
    ``split_moments``, and the (N,) log p(x_n), given the ``distance_coefficients`` and the
    (K,) log-density ``offsets``.  Rows whose distances overflow add nothing and have log
    p(x_n) NaN, for the caller to redo."""
    from emcli._kernels import gaussian_pass

    X = np.ascontiguousarray(X, dtype=np.float64)
    S, row_ll = np.empty(coefficients.shape), np.empty(len(X))
    gaussian_pass(X, np.ascontiguousarray(center, dtype=np.float64),
                  DESIGN_KIND[covariance], coefficients, np.ascontiguousarray(offsets), S, row_ll)
    return S, row_ll


def as_full(matrices: np.ndarray, covariance: str, k: int, d: int) -> np.ndarray:
    """(K, D, D) matrices from covariances or precisions in the shape of ``covariance``."""
    if covariance == "full":
        return matrices
    if covariance == "tied":
        return np.broadcast_to(matrices, (k, d, d))
    variances = matrices if covariance == "diag" else matrices[:, None] * np.ones(d)
    return variances[:, None, :] * np.eye(d)


def far_rows(quad: np.ndarray) -> np.ndarray:
    """(N,) rows whose squared distances (N, K) overflowed (inf, or nan from inf - inf): rows
    more than about 1e154 standard deviations from the means."""
    return ~np.isfinite(quad).all(axis=1)


def far_distances(Xc: np.ndarray, mc: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared Mahalanobis distances of far rows, without overflow where it can be avoided.

    ``Xc`` (N, D) centred rows, ``mc`` (K, D) centred means, ``precision`` (K, D, D).  Returns
    (N, K) excesses q_nk - q_nr over each row's nearest component r, all finite or +inf, and
    (N,) q_nr (inf when it is beyond float range).  Each row is scaled by s = max |x|, and
    q_k - q_r = s^2 (a_k - a_r) - 2 s (b_k - b_r) + (c_k - c_r) with a = z'Pz, b = z'Pm,
    c = m'Pm, z = x / s: every bracket is formed before it is multiplied up, so that equal
    precisions (a tied covariance, k-means) still order the components by the linear term,
    the exact limit of the posterior as the row moves away."""
    scale = np.abs(Xc).max(axis=1)
    scale[scale == 0] = 1.0
    z = Xc / scale[:, None]
    pm = np.einsum("kij,kj->ki", precision, mc)
    a = np.einsum("ni,kij,nj->nk", z, precision, z)
    b = z @ pm.T
    c = np.einsum("ki,ki->k", mc, pm)
    s, rows = scale[:, None], np.arange(len(Xc))

    def excess_over(ref: np.ndarray) -> np.ndarray:
        return s * (s * (a - a[rows, ref][:, None]) - 2.0 * (b - b[rows, ref][:, None])) + (c - c[ref][:, None])

    with np.errstate(over="ignore", invalid="ignore"):
        ref = np.argmin(excess_over(np.argmin(a, axis=1)), axis=1)
        excess = excess_over(ref)
        nearest = scale * (scale * a[rows, ref] - 2.0 * b[rows, ref]) + c[ref]
    excess = np.where(np.isnan(excess), np.inf, np.maximum(excess, 0.0))
    return excess, np.where(np.isnan(nearest), np.inf, np.maximum(nearest, 0.0))


def far_log_distances(Xc: np.ndarray, mc: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """(N, K) log squared Mahalanobis distances of far rows ``Xc`` (N, D) to the centred means
    ``mc`` (K, D) under ``precision`` (K, D, D), finite for every finite row: log q = 2 log s +
    log (z - m/s)' P (z - m/s) with s = max |x| and z = x / s."""
    scale = np.abs(Xc).max(axis=1)
    scale[scale == 0] = 1.0
    w = (Xc / scale[:, None])[:, None, :] - mc[None] / scale[:, None, None]
    with np.errstate(divide="ignore"):
        return 2.0 * np.log(scale)[:, None] + np.log(np.einsum("nki,kij,nkj->nk", w, precision, w))


def unpack(packed: np.ndarray, d: int) -> np.ndarray:
    """(K, D, D) symmetric matrices from their (K, D(D+1)/2) packed upper triangles."""
    upper = np.triu_indices(d)
    out = np.empty((len(packed), d, d))
    out[:, upper[0], upper[1]] = packed
    out[:, upper[1], upper[0]] = packed
    return out


def scatter(wsum: np.ndarray, s1: np.ndarray, s2: np.ndarray, covariance: str):
    """Weighted means (K, D) and scatter about them, sum_n W_nk (x_n - m_k)(x_n - m_k)', in
    the shape of the covariance type (tied: summed over components), from weighted moments.
    Components with no weight get zero means and scatter."""
    safe = np.where(wsum > 0, wsum, 1.0)
    means = s1 / safe[:, None]
    d = s1.shape[1]
    if covariance == "full":
        out = unpack(s2, d) - wsum[:, None, None] * means[:, :, None] * means[:, None, :]
    elif covariance == "tied":
        out = s2 - (wsum[:, None] * means).T @ means
    elif covariance == "diag":
        out = s2 - wsum[:, None] * means * means
    else:
        out = (s2 - wsum * np.einsum("ki,ki->k", means, means)) / d
    return means, out


def symmetrised(cov: np.ndarray, covariance: str) -> np.ndarray:
    """``cov`` with each full or tied matrix made exactly symmetric, (S + S') / 2: a matrix
    product's rounding may leave its triangles a few ulps apart, and a model file must hold
    covariances that read back as symmetric."""
    if covariance in ("full", "tied"):
        return 0.5 * (cov + np.swapaxes(cov, -1, -2))
    return cov


def clipped_to_floor(cov: np.ndarray, floor: np.ndarray, covariance: str) -> np.ndarray:
    """The covariances nearest to ``cov`` that the per-column ``floor`` (D,) allows, exactly
    maximising the M-step's objective -n/2 (log|S| + tr(S^-1 C)) over S >= F = diag(floor)
    for the estimate C = ``cov``: with C scaled to F^-1/2 C F^-1/2, every eigenvalue below 1 is
    raised to 1 (the objective splits over the scaled eigenvalues, each maximised at
    max(lambda, 1)).  diag: each variance at least its column's floor; spherical: at least
    their mean.  Adding the floor instead would leave the maximiser, so that EM's objective
    could fall; clipping keeps every step a maximisation over the same constrained set."""
    if not np.any(floor > 0):
        return cov
    if covariance == "diag":
        return np.maximum(cov, floor)
    if covariance == "spherical":
        return np.maximum(cov, floor.mean())
    root = np.sqrt(floor)
    scale = np.outer(root, root)
    scaled = cov / scale
    values, vectors = np.linalg.eigh(scaled)
    low = values.min(axis=-1) < 1.0
    if not np.any(low):
        return cov
    clipped = (vectors * np.maximum(values, 1.0)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    clipped = symmetrised(clipped, covariance)
    if covariance == "tied":
        return clipped * scale
    out = cov.copy()
    out[low] = clipped[low] * scale  # components above the floor keep their estimate exactly
    return out


def total_variance(cov: np.ndarray, covariance: str, d: int) -> np.ndarray:
    """(K,) trace of each component's covariance (not defined for tied)."""
    if covariance == "full":
        return np.einsum("kii->k", cov)
    if covariance == "diag":
        return cov.sum(axis=1)
    return d * cov


def degenerate_components(n_k: np.ndarray, cov: np.ndarray, covariance: str,
                          floor: np.ndarray) -> list[tuple[int, str]]:
    """Components holding less than one row's worth of responsibility ("empty"), or whose
    variance before the floor is no larger than the floor ("collapsed" onto a point)."""
    bad = {int(k): "empty" for k in np.flatnonzero(n_k < 1.0)}
    if covariance != "tied":
        spread = total_variance(cov, covariance, len(floor))
        for k in np.flatnonzero(spread <= 2.0 * floor.sum()):
            bad.setdefault(int(k), "collapsed")
    return sorted(bad.items())


def reseeded(weights: np.ndarray, means: np.ndarray, cov: np.ndarray, fresh_means: np.ndarray,
             fresh_cov: np.ndarray, components: list, covariance: str):
    """(weights, means, cov) with ``components`` restarted at ``fresh_means`` (one row each)
    and ``fresh_cov`` (the shared covariance stays), each at weight 1/K before renormalising."""
    weights, means, cov = weights.copy(), means.copy(), cov.copy()
    means[components] = fresh_means
    weights[components] = 1.0 / len(weights)
    if covariance != "tied":
        cov[components] = fresh_cov[: len(components)]
    return weights / weights.sum(), means, cov


def reseed_from_rows(model, params, components: list, X: np.ndarray, rng: np.random.Generator):
    """(weights, means, cov) of ``params`` with ``components`` restarted at random rows of
    ``X`` with the broad covariance ``model.params_from_centres`` gives a fresh component."""
    fresh = model.params_from_centres(X[rng.integers(len(X), size=len(components))])
    return reseeded(params.weights, params.means, params.cov, fresh.means, fresh.cov, components,
                    model.covariance)


def floored_estimate(n_k: np.ndarray, alive: np.ndarray, centred_means: np.ndarray,
                     spread: np.ndarray, covariance: str, floor: np.ndarray, center: np.ndarray,
                     previous):
    """Maximum-likelihood means (K, D) and covariances at least the floor (``clipped_to_floor``)
    from the centred weighted means and the scatter about them: scatter over each component's
    weight ``n_k`` (over the total, for tied).  Components not ``alive`` keep ``previous``'s means and covariances until
    ``degenerate`` re-seeds them."""
    if covariance == "tied":
        cov = spread / n_k.sum()
    else:
        cov = spread / np.where(alive, n_k, 1.0).reshape((-1,) + (1,) * (spread.ndim - 1))
    cov = clipped_to_floor(symmetrised(cov, covariance), floor, covariance)
    means = centred_means + center
    if not alive.all():
        means[~alive] = previous.means[~alive]
        if covariance != "tied":
            cov[~alive] = previous.cov[~alive]
    return means, cov


def broad_covariances(variances: np.ndarray, covariance: str, k: int) -> np.ndarray:
    """Starting covariances of ``k`` components, the (D,) column ``variances`` on the diagonal,
    in the shape of the covariance type."""
    d = len(variances)
    return {"full": np.broadcast_to(np.diag(variances), (k, d, d)).copy(),
            "tied": np.diag(variances), "diag": np.tile(variances, (k, 1)),
            "spherical": np.full(k, variances.mean())}[covariance]


class UnitFreeSeeding(ShortRuns):
    """For Gaussian-family mixtures: the start's distances (k-means++ and the first hard
    assignment) measured in ``em.init.seeding_frame``, so that the start, like the likelihood,
    does not depend on the units (any affine map for full and tied, each column's scale for
    diag, a common scale for spherical); the start is the best of several short EM runs
    (``em.start``)."""

    frame = None  # (D, D), set with the rest of the data-derived state in prepare

    def _prepare_frame(self, X: np.ndarray) -> None:
        """The frame of the rows ``X`` (N, D), missing cells at their column means (``center``),
        from their covariance (one pass, as em.moments makes it on any rows)."""
        from emcli.em.init import seeding_frame
        from emcli.em.moments import filled_covariance

        self.frame = None if len(X) < 2 else seeding_frame(filled_covariance(X, self.center), self.covariance)


def floored_components(cov: np.ndarray, covariance: str, k: int, data_var: np.ndarray,
                       reg_covar: float) -> list[int]:
    """Components with (almost) no spread in some direction: the smallest eigenvalue of their
    covariance (K, D, D after ``as_full``), each column scaled by its data variance (D,),
    within twice the relative floor ``reg_covar``."""
    scale = np.sqrt(data_var)
    covs = as_full(cov, covariance, k, len(data_var)) / np.outer(scale, scale)
    lowest = np.linalg.eigvalsh(covs)[:, 0]
    return [int(j) for j in np.flatnonzero(lowest <= 2.0 * reg_covar)]


def nearest_centre(Xc: np.ndarray, mc: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray:
    """(N, K) one-hot responsibilities of each centred row (N, D) for its nearest centred
    mean (K, D), distances measured in ``frame`` (``em.init.seeding_frame``)."""
    if frame is not None:
        Xc, mc = Xc @ frame, mc @ frame
    dist = np.einsum("ij,ij->i", mc, mc)[None, :] - 2.0 * (Xc @ mc.T)
    resp = np.zeros_like(dist)
    resp[np.arange(len(Xc)), dist.argmin(axis=1)] = 1.0
    return resp
