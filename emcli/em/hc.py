"""Model-based agglomerative hierarchical clustering, as R's mclust does it (Banfield & Raftery
1993; Fraley 1998, SIAM J. Sci. Comput. 20:270-281), to start EM deterministically.

Every row starts as a cluster of its own; each step merges the two clusters whose merge raises
a classification criterion (to be minimised) the least.  The tree is built on ``transformed(X)``,
mclust's ``hcUse = "SVD"`` transform (``mclust.options``: ``hcModelName = "VVV"``,
``hcUse = "SVD"``, ``subset = 2000``; ``R/options.R``, ``hc()`` in ``R/mbahc.R``, mclust 6.1.3).

The criteria are sums of one term per cluster k, with n_k rows, scatter W_k (the sum of the
outer products of the deviations from the cluster mean, p x p) and p the transformed columns:

- "EII" (spherical, equal volume): tr(sum_k W_k), the within-cluster sum of squares.  A merge
  of i and j costs n_i n_j / (n_i + n_j) |m_i - m_j|^2, Ward's criterion (mclust's ``hceii``
  updates exactly this by the Lance-Williams formula).  scipy's ``linkage(method="ward")``
  reports sqrt(2 x that cost) as its height, a monotone function of it, and Ward's cost is
  reducible, so its nearest-neighbour-chain merges, sorted by height, are the greedy merges;
  EII uses it.  Exact ties follow scipy's order.
- "VII" (spherical, varying volume): n_k log((tr W_k + alpha) / n_k) (``hcvii``).
- "VVV" (unconstrained): n_k log(|W_k / n_k| + beta (tr W_k + alpha) / n_k), with the
  determinant taken as 0 while n_k <= p (``vvvtij`` in ``src/mclust.f``, called by ``hcvvv``).
  The plain classification likelihood sum_k n_k log|W_k / n_k| is -inf for every cluster of
  at most p rows, so Fraley adds the trace term: small clusters are compared by their spread,
  and the determinant counts once a cluster has more than p rows.  A singleton costs
  log(alpha beta).

alpha = ALPHA x tr(W) / (N p), W the scatter of all N transformed rows, floored at the machine
epsilon, and beta = BETA; ALPHA = BETA = 1 are the defaults of ``hcVVV``/``hcVII`` in
``R/mbahc.R`` (the S-PLUS MCLUST help for ``mhtreeVVV`` describes them the same way).

The criterion is not scale-free, and the SVD transform makes the data small: the columns of
Z have sums of squares d_j <= sqrt((N - 1) p), so per-row variances near sqrt(p / N), and the
covariance of a cluster of more than sqrt(N p) rows has eigenvalues below 1.  Its determinant
is then smaller than its trace, and VVV's terms are VII's plus n_k log(1 + a small ratio).
VVV trees are in practice VII trees: their cuts at K = 2..9 were identical on
sample_data/faithful.csv and blobs.csv.  Both follow clusters of unequal volume (Ward does
not), but neither separates parallel elongated clusters reliably (adjusted Rand index 0.1-0.4
at K = 3 for three parallel Gaussian strips, as Ward); mclust's defaults behave the same,
leaving the shapes to EM.

"EEE" is not offered: its criterion (the determinant of the pooled scatter) is no sum of
per-cluster terms, and mclust itself calls its algorithm much slower.

VII and VVV keep the (N, N) matrix of merge costs, its row minima, and per cluster n, mean,
scatter (N, p, p) and term: O(N^2 + N p^2) memory (32 MB at N = 2000, p = 4).  After a merge only the costs
involving the merged cluster are recomputed (vectorised over the other clusters), and only the
rows whose minimum pointed at one of the two merged clusters are rescanned: O(N^2 p^3) time
in all.  Measured for 2000 x 4 random rows (2 shared cores, numpy 2.4): VVV 1.7-2.6 s,
VII 0.6-0.9 s, EII 0.1-0.2 s (scipy's ward, O(N^2) memory too); VVV on 2000 x 10, 1.7 s.
Ties go to the pair (i, j), i < j, that comes first; no random numbers are drawn.

Every row starts alone, as in mclust's ``Mclust``: ``hc()``'s default ``partition =
dupPartition(data)`` (duplicated rows grouped) is never forced, since ``hc()`` rebuilds its call
to ``hcVVV`` etc. with ``match.call()``, which holds only the arguments given.
"""

import hashlib
import threading

import numpy as np

MODELS = ("VVV", "VII", "EII")
DEFAULT_MODEL = "VVV"

#: mclust's ``hcVVV``/``hcVII`` defaults (R/mbahc.R): alpha is ALPHA times the mean squared
#: deviation per coordinate of all the rows, beta is BETA.
ALPHA = 1.0
BETA = 1.0

#: rows on which the tree is built at most: ``mclust.options("subset")`` (R/options.R).
HC_SAMPLE = 2000

#: trees kept by ``cached_tree``: select-k asks one X for several K, rarely two X at once.
_CACHE_SIZE = 2
_cache: list = []
_cache_lock = threading.Lock()


def transformed(X: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` transform of the complete rows X (N, D): Z (N, r).

    S = (X - column means) / column standard deviations (denominator N - 1, as R's ``scale``),
    columns that are constant dropped (R's ``scale`` makes them NaN and ``hc`` drops them);
    with the thin SVD S = U diag(d) V^T, Z = S V diag(d)^(-1/2) = U diag(d)^(1/2).  The columns
    of Z are uncorrelated with sums of squares d_j: rotated to the principal axes, and the
    spread along each shrunk to its square root.  Directions with d_j = 0 (r < min(N, D) when
    columns are collinear) are dropped, where R would divide by zero.  Z is computed row by
    row from S, as in R, so equal rows stay bit-for-bit equal and their ties exact.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise ValueError("transformed needs a 2-D array of finite values")
    sd = X.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    keep = sd > 0
    S = (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]
    _, d, Vt = np.linalg.svd(S, full_matrices=False)
    rank = d > d.max(initial=0.0) * max(S.shape) * np.finfo(float).eps
    return np.einsum("nd,rd->nr", S, Vt[rank] / np.sqrt(d[rank, None]))


def tree(X: np.ndarray, model: str = DEFAULT_MODEL) -> np.ndarray:
    """The merges of model-based agglomerative clustering of the rows X (N, D), built on
    ``transformed(X)``: (N - 1, 2) int, row s = (i, j), i < j, the smallest row indices of the
    two clusters merged at step s; the merged cluster is known by i from then on."""
    if model not in MODELS:
        raise ValueError(f"unknown hc model {model!r}; known: {', '.join(MODELS)}")
    Z = transformed(X)
    n = len(Z)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    if Z.shape[1] == 0:
        # every row equal: every criterion ties, so merge in row order
        return np.column_stack([np.zeros(n - 1, dtype=np.int64), np.arange(1, n)])
    if model == "EII":
        from scipy.cluster.hierarchy import linkage  # 0.6 s of imports, for EII only

        return _from_linkage(linkage(Z, method="ward"), n)
    return _Agglomeration(Z, model).run()


def cut(merges: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """The partition into k clusters: the first n_rows - k merges applied.  Returns labels (N,)
    in 0..k-1, numbered by the first row of each cluster, so equal partitions get equal
    labels."""
    if not 1 <= k <= n_rows:
        raise ValueError(f"cannot cut {n_rows} rows into {k} clusters")
    parent = np.arange(n_rows)
    done = merges[: n_rows - k]
    parent[done[:, 1]] = done[:, 0]
    # each parent is a smaller index, so pointer jumping ends at the cluster's first row
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            break
        parent = up
    return np.unique(parent, return_inverse=True)[1]


def cached_tree(X: np.ndarray, model: str = DEFAULT_MODEL) -> np.ndarray:
    """``tree(X, model)``, remembered for the last _CACHE_SIZE (rows, model): rows of the same
    shape and bytes get the same tree without a rebuild.  The key is the rows' digest, not the
    array, because each select-k cell starts from its own copy of the rows (missing cells
    filled, or the same seeded sample drawn again); hashing 2,000 x 10 rows takes 0.1 ms.
    One tree is built at a time (select-k's cells may run in threads)."""
    key = (X.shape, model, hashlib.blake2b(np.ascontiguousarray(X, dtype=float).tobytes()).hexdigest())
    with _cache_lock:
        for held, merges in _cache:
            if held == key:
                return merges
        merges = tree(X, model)
        _cache.insert(0, (key, merges))
        del _cache[_CACHE_SIZE:]
    return merges


def partition(X: np.ndarray, k: int, model: str = DEFAULT_MODEL) -> np.ndarray:
    """Labels (N,) in 0..k-1 of the rows X (N, D): the hc tree of X cut at k clusters."""
    return cut(cached_tree(X, model), len(X), k)


def sample_rows(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices for the tree, sorted: all n_rows if n_rows <= size, else size of them drawn
    uniformly without replacement (as mclust's ``Mclust`` when N > ``subset``)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _from_linkage(link: np.ndarray, n: int) -> np.ndarray:
    """scipy's linkage (N - 1, 4) as merges (N - 1, 2): cluster n + s, formed at step s, is
    known by its smallest row."""
    first = np.concatenate([np.arange(n), np.empty(n - 1, dtype=np.int64)])
    merges = np.empty((n - 1, 2), dtype=np.int64)
    for s, (a, b) in enumerate(link[:, :2].astype(np.int64)):
        merges[s] = sorted((first[a], first[b]))
        first[n + s] = merges[s, 0]
    return merges


class _Agglomeration:
    """Greedy merging under a criterion that is a sum of per-cluster terms (VII, VVV).  Arrays
    are indexed by a cluster's first row; a merged-away cluster's row and column of ``cost``
    are +inf."""

    def __init__(self, Z: np.ndarray, model: str):
        n, p = Z.shape
        self.model, self.p = model, p
        self.alpha = max(ALPHA * float(((Z - Z.mean(axis=0)) ** 2).sum()) / (n * p),
                         np.finfo(float).eps)
        self.size = np.ones(n)
        self.mean = Z.copy()
        self.trace = np.zeros(n)
        # VII needs only traces; VVV needs the scatters for the determinants
        self.scatter = np.zeros((n, p, p)) if model == "VVV" else None
        self.term = self._terms(self.size, self.trace, lambda big: None)
        self.cost = np.full((n, n), np.inf)
        for i in range(n - 1):
            others = np.arange(i + 1, n)
            self.cost[i, others] = self._merge_costs(i, others)[0]
        self.cost = np.minimum(self.cost, self.cost.T)
        self.best = self.cost.argmin(axis=1)
        self.best_cost = self.cost[np.arange(n), self.best]

    def _terms(self, size, trace, scatter_of):
        """Per-cluster terms of clusters with ``size`` rows and scatter traces (M,).
        ``scatter_of(big)`` gives the scatters (B, p, p) of the clusters where ``big`` (M,),
        size > p, is True: only VVV evaluates it, and only there is the determinant non-zero."""
        if self.model == "VII":
            return size * np.log((trace + self.alpha) / size)
        log_t = np.log(BETA * (trace + self.alpha) / size)
        big = size > self.p
        if big.any():
            sign, log_det = np.linalg.slogdet(scatter_of(big) / size[big, None, None])
            # a scatter singular to rounding (sign <= 0) counts as determinant 0, as in mclust
            log_t[big] = np.where(sign > 0, np.logaddexp(log_det, log_t[big]), log_t[big])
        return size * log_t

    def _merge_costs(self, i: int, others: np.ndarray):
        """Rise of the criterion (M,) if cluster i merged with each of ``others`` (M,), and
        the merged clusters' sizes (M,), traces (M,) and ``scatter_of`` (see ``_terms``)."""
        n_i, n_o = self.size[i], self.size[others]
        size = n_i + n_o
        diff = self.mean[others] - self.mean[i]
        weight = n_i * n_o / size
        trace = self.trace[i] + self.trace[others] + weight * np.einsum("mj,mj->m", diff, diff)

        def scatter_of(big):
            d = diff[big]
            return (self.scatter[i] + self.scatter[others[big]]
                    + weight[big, None, None] * d[:, :, None] * d[:, None, :])

        terms = self._terms(size, trace, scatter_of)
        return terms - self.term[i] - self.term[others], size, trace, scatter_of

    def run(self) -> np.ndarray:
        n = len(self.size)
        alive = np.ones(n, dtype=bool)
        merges = np.empty((n - 1, 2), dtype=np.int64)
        for s in range(n - 1):
            i = int(self.best_cost.argmin())  # smallest row achieving the minimum
            j = int(self.best[i])
            merges[s] = (i, j) if i < j else (j, i)
            i, j = merges[s]
            self._merge(i, j)
            alive[j] = False
            self.cost[j, :] = self.cost[:, j] = np.inf
            self.best_cost[j] = np.inf
            others = np.flatnonzero(alive)
            others = others[others != i]
            if len(others) == 0:
                break
            new = self._merge_costs(i, others)[0]
            self.cost[i, others] = self.cost[others, i] = new
            self.best[i] = self.cost[i].argmin()
            self.best_cost[i] = self.cost[i, self.best[i]]
            # rows whose minimum was at i or j may have lost it: rescan them; others can
            # only gain the new cost at i, which wins if lower, or equal with i first
            stale = (self.best[others] == i) | (self.best[others] == j)
            gain = ~stale & ((new < self.best_cost[others])
                             | ((new == self.best_cost[others]) & (i < self.best[others])))
            self.best[others[gain]] = i
            self.best_cost[others[gain]] = new[gain]
            rescan = others[stale]
            if len(rescan):
                self.best[rescan] = self.cost[rescan].argmin(axis=1)
                self.best_cost[rescan] = self.cost[rescan, self.best[rescan]]
        return merges

    def _merge(self, i: int, j: int):
        """Cluster j joins cluster i: i's size, mean, trace, scatter and term updated."""
        _, size, trace, scatter_of = self._merge_costs(i, np.array([j]))
        if self.scatter is not None:
            self.scatter[i] = scatter_of(np.array([True]))[0]
        self.mean[i] = (self.size[i] * self.mean[i] + self.size[j] * self.mean[j]) / size[0]
        self.size[i], self.trace[i] = size[0], trace[0]
        self.term[i] = self._terms(self.size[i : i + 1], self.trace[i : i + 1],
                                   lambda big: self.scatter[i : i + 1])[0]
