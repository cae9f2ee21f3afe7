"""Gaussian densities and conditional moments for rows with missing cells.

A row with observed cells O and missing cells M has, under N(m, S), the marginal density
N(x_O | m_O, S_OO), and its missing cells are N(c, C) given the observed ones.  With the
precision P = S^-1 both come from the small M x M block of P rather than the large O x O block
of S (with a minority of cells missing, M is the small side):

    C = P_MM^-1,   c = m_M - C P_MO (x_O - m_O),
    log N(x_O | m_O, S_OO) = -1/2 (|O| log 2 pi + log det S + log det P_MM + q),
    q = (x* - m)' P (x* - m)  for the row x* completed by c.

P_MO (x_O - m_O) for every row is one GEMM with P.  Rows are grouped by their pattern of
observed cells, and the patterns by their number of missing cells, so each pattern's P_MM is
factorised once and every size is one batched call: with 30% of 20 columns missing almost every
row has a pattern of its own, and the per-row work is then on about 6 x 6 matrices, not 14 x 14.
"""

from dataclasses import dataclass

import numpy as np

from emcli.numeric import LOG_2PI, inverse_and_logdet


def patterns(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the (N, D) boolean ``observed`` mask: (P, D) patterns and the (N,)
    pattern of each row."""
    packed = np.packbits(observed, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, index = np.unique(keys, return_index=True, return_inverse=True)
    return observed[first], index.ravel()


@dataclass
class _Size:
    """The patterns with the same number m of missing cells, and their rows.

    ``members`` (P_m,) pattern numbers; ``cells`` (P_m, m) their missing columns, ascending;
    ``cov`` (P_m, m, m) the conditional covariances C; ``rows`` (N_m,) the rows with such a
    pattern and ``slot`` (N_m,) each row's position in ``members``."""

    members: np.ndarray
    cells: np.ndarray
    cov: np.ndarray
    rows: np.ndarray
    slot: np.ndarray


class Conditional:
    """One Gaussian N(mean, cov) seen through the rows' observed cells.

    ``deviation``: (N, D) rows minus ``mean`` with 0 in missing cells; ``unique``, ``index``
    from ``patterns``; ``inverse``: (S^-1 (D, D), log det S^-1), computed from ``cov`` if None.  Attributes: ``log_density`` (N,) log N(x_O | m_O, S_OO); ``filled``
    (N, D) the rows with missing cells replaced by their conditional means (observed cells are
    kept exactly); ``spread(weights)``, the weighted sum of the conditional covariances; and
    ``draw(chosen, rng)``, rows completed by draws from their conditional distribution.
    """

    def __init__(self, deviation: np.ndarray, unique: np.ndarray, index: np.ndarray,
                 mean: np.ndarray, cov: np.ndarray, inverse: tuple | None = None):
        # ``inverse``: the precision and its log-determinant when the caller has them already;
        # factorising here once per chunk costs a small triangular solve each time, which
        # threaded OpenBLAS can make slower than the rest of the chunk's work
        precision, logdet_precision = inverse or inverse_and_logdet(cov)
        d = len(cov)
        gradient = deviation @ precision  # P (x - m) with the missing cells of x - m at 0
        completed = deviation.copy()
        quadratic = np.einsum("ni,ni->n", deviation, gradient)
        hidden = ~unique
        count = hidden.sum(axis=1)
        row_count = count[index]
        logdet_hidden = np.zeros(len(unique))
        slots = np.empty(len(unique), dtype=np.intp)
        self._sizes = []
        for m in np.unique(count[count > 0]):
            members = np.flatnonzero(count == m)
            cells = np.nonzero(hidden[members])[1].reshape(-1, m)
            block = precision[cells[:, :, None], cells[:, None, :]]  # (P_m, m, m) P_MM
            factor = np.linalg.cholesky(block)
            logdet_hidden[members] = 2.0 * np.log(np.diagonal(factor, axis1=1, axis2=2)).sum(axis=1)
            conditional_cov = np.linalg.inv(block)
            rows = np.flatnonzero(row_count == m)
            slots[members] = np.arange(len(members))
            slot = slots[index[rows]]
            row_cells = cells[slot]
            pulled = gradient[rows[:, None], row_cells]  # P_MO (x_O - m_O)
            shift = -np.einsum("nij,nj->ni", conditional_cov[slot], pulled)  # c - m_M
            completed[rows[:, None], row_cells] = shift
            # q = d'P d + 2 s'(P d)_M + s'P_MM s, and P_MM s = -(P d)_M
            quadratic[rows] += np.einsum("ni,ni->n", shift, pulled)
            self._sizes.append(_Size(members, cells, conditional_cov, rows, slot))
        observed_count = d - row_count
        self.log_density = -0.5 * (observed_count * LOG_2PI - logdet_precision
                                   + logdet_hidden[index] + quadratic)
        self.filled = mean + completed
        self._d, self._index, self._patterns = d, index, len(unique)

    def spread(self, weights: np.ndarray) -> np.ndarray:
        """sum_n weights_n Cov(x_M | x_O) as a (D, D) matrix (zero outside missing cells),
        summed per pattern first."""
        d = self._d
        per_pattern = np.bincount(self._index, weights=weights, minlength=self._patterns)
        total = np.zeros(d * d)
        for size in self._sizes:
            flat = size.cells[:, :, None] * d + size.cells[:, None, :]
            weighted = per_pattern[size.members][:, None, None] * size.cov
            total += np.bincount(flat.ravel(), weights=weighted.ravel(), minlength=d * d)
        return total.reshape(d, d)

    def draw(self, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(C, D) the C rows where the (N,) boolean ``chosen`` holds, in order, with their
        missing cells drawn from N(c, C): c plus the lower Cholesky factor of C (one per
        pattern) times standard normal noise."""
        out = self.filled[chosen]
        position = np.cumsum(chosen) - 1
        for size in self._sizes:
            picked = chosen[size.rows]
            if not picked.any():
                continue
            rows, slot = size.rows[picked], size.slot[picked]
            factor = np.linalg.cholesky(size.cov)
            noise = rng.standard_normal((len(rows), size.cells.shape[1]))
            out[position[rows][:, None], size.cells[slot]] += np.einsum("nij,nj->ni", factor[slot], noise)
        return out
