"""Gaussian densities and conditional moments for rows with missing cells.

A row with observed cells O and missing cells M has, under N(m, S), the marginal density
N(x_O | m_O, S_OO), and its missing cells have the conditional mean
m_M + S_MO S_OO^-1 (x_O - m_O) and covariance S_MM - S_MO S_OO^-1 S_OM.  Rows are grouped by
their pattern of observed cells, so each pattern's S_OO is factorised once, and every pattern is
handled as a D x D problem: the masked matrix  A = S_OO (+) I_MM  has inverse S_OO^-1 (+) I_MM,
so one batched inverse covers patterns of every size.
"""

import numpy as np

from emcli.numeric import LOG_2PI


def patterns(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the (N, D) boolean ``observed`` mask: (P, D) patterns and the (N,)
    pattern of each row."""
    packed = np.packbits(observed, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    return observed[first], index.ravel()


class Conditional:
    """One Gaussian N(mean, cov) seen through the rows' observed cells.

    ``deviation``: (N, D) rows minus ``mean`` with 0 in missing cells; ``unique``, ``index``
    from ``patterns``.  Attributes: ``log_density`` (N,) log N(x_O | m_O, S_OO); ``filled``
    (N, D) the rows with missing cells replaced by their conditional means (observed cells are
    kept exactly); and ``spread(weights)``, the weighted sum of the conditional covariances.
    """

    def __init__(self, deviation: np.ndarray, unique: np.ndarray, index: np.ndarray,
                 mean: np.ndarray, cov: np.ndarray):
        masked = cov * (unique[:, :, None] & unique[:, None, :])
        masked[:, np.arange(len(cov)), np.arange(len(cov))] += ~unique
        inverse = np.linalg.inv(masked)  # (P, D, D): S_OO^-1 on O x O, identity on M x M
        inverse *= unique[:, :, None] & unique[:, None, :]  # keep only S_OO^-1
        logdet = np.linalg.slogdet(masked)[1]
        solved = np.einsum("nij,nj->ni", inverse[index], deviation)  # S_OO^-1 (x_O - m_O)
        observed_count = unique.sum(axis=1)[index]
        self.log_density = -0.5 * (observed_count * LOG_2PI + logdet[index]
                                   + np.einsum("ni,ni->n", deviation, solved))
        self.filled = mean + solved @ cov  # cov symmetric: S_.O S_OO^-1 (x_O - m_O)
        self._cov, self._inverse, self._index = cov, inverse, index

    def spread(self, weights: np.ndarray) -> np.ndarray:
        """sum_n weights_n Cov(x_M | x_O) as a (D, D) matrix (zero outside missing cells):
        sum_n w_n (S - S Q_n S) with Q_n = S_OO^-1 embedded, summed per pattern first."""
        per_pattern = np.bincount(self._index, weights=weights, minlength=len(self._inverse))
        q = np.einsum("p,pij->ij", per_pattern, self._inverse)
        return weights.sum() * self._cov - self._cov @ q @ self._cov
