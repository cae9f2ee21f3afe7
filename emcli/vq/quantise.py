"""Vector quantisation: a k-means codebook fit to the rows (pixels or table rows), stored in the
container's dtype, and every row coded as its nearest stored entry.

The codes are computed against the stored codebook (rounded to uint8 for images, cast to
float32 for ``--codebook-dtype float32``), not the fitted centres, so the reported distortion is
exactly that of the file, and decompressing gives codebook[codes] to the bit.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from emcli.em.chunks import DEFAULT_CHUNK_BYTES
from emcli.em.workers import ordered_map
from emcli.errors import DataError
from emcli.pipeline import FitSpec


#: how codebooks are fit: k-means from k-means++ starts, as ``emtool fit -m kmeans``
CODEBOOK = FitSpec("kmeans", init="k-means++")


@dataclass
class Coding:
    """A codebook (K, D) in its stored dtype, the (N,) codes of the rows and their summed
    squared error; ``fit`` describes the k-means fit (empty when every distinct row is its own
    entry) and ``warnings`` are its own (a fit that did not converge)."""

    codebook: np.ndarray
    codes: np.ndarray
    sse: float
    fit: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.codebook)

    def mse(self) -> float:
        """Mean squared error per value (per channel of a pixel, per cell of a row)."""
        return self.sse / self.codes.size / self.codebook.shape[1]


def _row_keys(X: np.ndarray) -> np.ndarray:
    """(N,) one sortable key per row, equal for equal rows: the channels of a pixel of up to
    four 8-bit channels as one integer, other rows as their raw bytes."""
    if X.dtype == np.uint8 and X.shape[1] <= 4:
        keys = np.zeros(len(X), dtype=np.uint32)
        for j in range(X.shape[1]):
            keys <<= 8
            keys |= X[:, j]
        return keys
    X = np.ascontiguousarray(X + np.zeros((), X.dtype))  # + 0 turns -0.0 into 0.0, an equal value
    return X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1])))[:, 0]


def count_distinct(X: np.ndarray) -> int:
    """The number of distinct rows of ``X`` (N, D)."""
    if X.dtype == np.uint8 and X.shape[1] <= 3:
        # Colours of up to 24 bits: a table of 2^24 flags is faster than sorting millions of keys.
        seen = np.zeros(1 << (8 * X.shape[1]), dtype=bool)
        seen[_row_keys(X)] = True
        return int(np.count_nonzero(seen))
    return len(np.unique(_row_keys(X)))


def distinct_coding(X: np.ndarray, dtype: np.dtype) -> Coding:
    """Every distinct row its own codebook entry (sorted), stored as ``dtype``: lossless unless
    the dtype rounds the values."""
    _, first, codes = np.unique(_row_keys(X), return_index=True, return_inverse=True)
    codebook = X[first].astype(dtype)
    return Coding(codebook, _narrow(codes.ravel(), len(codebook)), _sse(X, codebook, codes.ravel()))


def _narrow(codes: np.ndarray, k: int) -> np.ndarray:
    return codes.astype(np.uint8 if k <= 256 else np.uint16 if k <= 65536 else np.uint32)


def _chunk_rows(d: int) -> int:
    return max(1, DEFAULT_CHUNK_BYTES // (8 * d))


def _sse(X: np.ndarray, codebook: np.ndarray, codes: np.ndarray) -> float:
    """Summed squared difference between the rows X (N, D) and codebook[codes]."""
    step = _chunk_rows(X.shape[1])

    def sse(start: int) -> float:
        diff = X[start : start + step].astype(np.float64) - codebook[codes[start : start + step]]
        return float(np.einsum("ij,ij->", diff, diff))

    return sum(ordered_map(sse, range(0, len(X), step)))


def encode(X: np.ndarray, codebook: np.ndarray) -> tuple[np.ndarray, float]:
    """(N,) index of each row's nearest codebook entry (the first on ties) and the summed
    squared distance, for rows X (N, D) of any numeric dtype, in float64 chunks of bounded size
    through the compiled k-means kernel."""
    from emcli._kernels import nearest

    centres = np.ascontiguousarray(codebook, dtype=np.float64)
    codes = np.empty(len(X), dtype=np.int64)
    step = _chunk_rows(X.shape[1])

    def code(start: int) -> float:
        block = np.ascontiguousarray(X[start : start + step], dtype=np.float64)
        return nearest(block, centres, codes[start : start + step], None, None)

    total = sum(ordered_map(code, range(0, len(X), step)))
    return _narrow(codes, len(codebook)), total


def sample_rows(n: int, size: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of ``size`` of ``n`` rows drawn without replacement, or None for all."""
    if size is None or size >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def fit_codebook(X: np.ndarray, k: int, dtype: np.dtype, spec: FitSpec, sample: int | None,
                 unit: str) -> Coding:
    """k-means (as ``spec`` fits it) with ``k`` centres on the rows X (N, D), or on ``sample``
    of them drawn with the spec's seed, the centres stored as ``dtype`` (uint8: rounded and
    clipped to 0..255), every row coded.  ``unit`` names a row in messages ("pixel", "row")."""
    from emcli.pipeline import fit_array

    started = time.perf_counter()
    chosen = sample_rows(len(X), sample, spec.seed)
    rows = X if chosen is None else X[chosen]
    found = k if chosen is None else count_distinct(rows)
    if found < k:
        raise DataError(f"the --sample of {len(rows)} {unit}s has only {found} distinct values, "
                        f"fewer than K={k}; raise --sample")
    fitted = fit_array(spec.with_options(k=k), np.ascontiguousarray(rows, dtype=np.float64), [])
    outcome, centres = fitted.outcome, fitted.params
    if dtype == np.uint8:
        codebook = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
    else:
        codebook = centres.astype(dtype)
    fit_done = time.perf_counter()
    codes, sse = encode(X, codebook)
    fit_summary = {"fit_rows": len(rows), "restarts": spec.restarts, "seed": outcome.seed,
                   "n_iter": outcome.best.n_iter, "converged": outcome.best.converged,
                   "fit_seconds": fit_done - started, "encode_seconds": time.perf_counter() - fit_done}
    return Coding(codebook, codes, sse, fit_summary, [f"k-means with K={k}: {w}" for w in fitted.warnings])


def quantise(X: np.ndarray, k: int, dtype: np.dtype, spec: FitSpec, sample: int | None,
             unit: str, distinct: int) -> Coding:
    """The coding of the rows X (N, D) with ``k`` entries (see ``fit_codebook``), or with one
    entry per distinct row when there are only ``distinct`` <= k of them."""
    if distinct <= k:
        return distinct_coding(X, dtype)
    return fit_codebook(X, k, dtype, spec, sample, unit)
