"""Numerical helpers shared by the models."""

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))

#: rows per block of the passes over all rows that must not make an (N, D) temporary (column
#: moments, missing-cell checks, seeding distances): a few MB of scratch whatever N
BLOCK_ROWS = 16384


def normalize_log_rows(log_joint: np.ndarray) -> np.ndarray:
    """Turn log p(x_n, z_n = k) into responsibilities, in place, and return log p(x_n).

    ``log_joint``: (N, K), overwritten with p(z_n = k | x_n); rows always sum to one.  A row
    whose every entry is -inf (so far from every component that no density is a float) gets
    equal responsibilities and log p(x_n) = -inf, never 0 / 0.  Returns the (N,) row
    log-likelihoods.  One compiled pass (``emcli._kernels.normalize_rows``).
    """
    from emcli._kernels import normalize_rows

    row_ll = np.empty(len(log_joint))
    if log_joint.dtype == np.float64 and log_joint.flags.c_contiguous:
        normalize_rows(log_joint, row_ll)
    else:
        work = np.ascontiguousarray(log_joint, dtype=np.float64)
        normalize_rows(work, row_ll)
        log_joint[...] = work
    return row_ll


def cholesky_lower(matrix: np.ndarray, what: str = "covariance") -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive definite (D, D) matrix.

    Raises np.linalg.LinAlgError naming ``what`` when the matrix is not positive definite.
    """
    from scipy import linalg

    try:
        return linalg.cholesky(matrix, lower=True, check_finite=False)
    except linalg.LinAlgError:
        raise np.linalg.LinAlgError(f"{what} is not positive definite") from None


def inverse_and_logdet(cov: np.ndarray, what: str = "covariance") -> tuple[np.ndarray, float]:
    """Inverse of a symmetric positive definite (D, D) matrix and the log-determinant of the
    inverse, through its Cholesky factor."""
    from scipy import linalg

    lower = cholesky_lower(cov, what)
    inverse_lower = linalg.solve_triangular(
        lower, np.eye(len(cov)), lower=True, check_finite=False
    )
    return inverse_lower.T @ inverse_lower, -2.0 * float(np.log(np.diag(lower)).sum())


def column_moments(X: np.ndarray, rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (population) variances of the (N, D) ``X`` over its observed (non-NaN)
    cells, (D,) each, computed in chunks of ``rows`` so that no (N, D) temporary is made."""
    total, count = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start in range(0, len(X), rows):
        block = X[start : start + rows]
        total += np.nansum(block, axis=0)
        count += (~np.isnan(block)).sum(axis=0)
    mean = total / np.maximum(count, 1)
    sq = np.zeros(X.shape[1])
    for start in range(0, len(X), rows):
        centred = X[start : start + rows] - mean
        sq += np.nansum(centred * centred, axis=0)
    return mean, sq / np.maximum(count, 1)

