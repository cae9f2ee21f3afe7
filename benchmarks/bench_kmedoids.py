"""k-medoids (Voronoi iteration): time per iteration and per fit, and peak memory against the
N x N dissimilarity matrix it never builds.

No reference implementation is installed (scikit-learn-extra's KMedoids is not available here),
so the references are measured in the same run from the same start:

- time: the same iteration written the direct way, assigning the rows and then building each
  cluster's whole n_k x n_k matrix with one cdist call per cluster (the sum_k n_k^2
  dissimilarities one iteration needs, with no chunking and no statistics);
- memory: the N x N float64 matrix that methods working from a precomputed matrix (PAM and
  the alternating method in scikit-learn-extra, R's cluster::pam) hold: 8 N^2 bytes.

Ours is the batch engine's own iteration, as ``emtool fit`` runs it: the median of the seconds
its trace records per iteration (the M-step, then the E-step over every chunk), from k-means++
starts, ``--max-iter`` iterations with tol=0; the best of ``--repeat`` runs.  The whole fit is
``emcli.em.fit.fit`` with its defaults (one start, tol 1e-6).  Peak memory is tracemalloc's
peak during that fit (numpy reports its allocations to it), the data made before tracing.

    python benchmarks/bench_kmedoids.py [-n 20000] [-d 10] [-k 8] [--metrics euclidean,cityblock]
"""

import sys
import time
import tracemalloc

import numpy as np

from _common import arguments, best_time, blobs, report

from emcli.em.batch import run_batch  # noqa: E402  (after _common fixes sys.path)
from emcli.em.chunks import chunk_rows
from emcli.em.fit import fit, start_params
from emcli.models.kmedoids import KMedoids


def direct_iteration(X: np.ndarray, medoids: np.ndarray, metric: str) -> np.ndarray:
    """One Voronoi iteration with a whole matrix per cluster; returns the new medoid rows."""
    from scipy.spatial.distance import cdist

    labels = cdist(X, medoids, metric=metric).argmin(axis=1)
    rows = []
    for k in range(len(medoids)):
        members = np.flatnonzero(labels == k)
        rows.append(members[cdist(X[members], X[members], metric=metric).sum(axis=0).argmin()])
    return np.asarray(rows)


def measure(X: np.ndarray, k: int, metric: str, iterations: int, repeat: int) -> dict:
    model = KMedoids(k, metric)
    model.prepare(X)
    rows = chunk_rows(model, X.shape[1])
    start = start_params(model, X, "k-means++", np.random.default_rng(0), rows)

    per_iteration = float("inf")
    for _ in range(repeat):
        model.prepare(X)  # forget the cached assignment, as a new fit would
        run = run_batch(model, X, start, rows=rows, max_iter=iterations, tol=0.0,
                        rng=np.random.default_rng(0), max_reseeds=0)
        per_iteration = min(per_iteration, float(np.median([row["seconds"] for row in run.trace[1:]])))
    direct = best_time(lambda: direct_iteration(X, start.medoids, metric), repeat)
    # the same start, the same step: the medoids after one iteration must be the same rows
    model.prepare(X)
    ours_next = run_batch(model, X, start, rows=rows, max_iter=1, tol=0.0,
                          rng=np.random.default_rng(0), max_reseeds=0).params.rows
    same = bool(np.array_equal(ours_next, direct_iteration(X, start.medoids, metric)))

    started = time.perf_counter()
    outcome = fit(KMedoids(k, metric), X)
    fit_seconds = time.perf_counter() - started

    tracemalloc.start()
    fit(KMedoids(k, metric), X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    sizes = np.bincount(model.labels(start, X), minlength=k)
    return {"per_iteration": per_iteration, "direct": direct, "same": same, "rows": rows,
            "fit_seconds": fit_seconds, "n_iter": outcome.best.n_iter, "peak": peak,
            "inertia": -outcome.best.score, "pairs": int((sizes.astype(np.int64) ** 2).sum())}


def main(argv=None) -> int:
    parser = arguments(__doc__, n=20_000, d=10, k=8, repeat=3, target=0.8,
                       target_help="required ratio direct/ours for the iteration time (default 0.8)")
    parser.add_argument("--metrics", default="euclidean,cityblock",
                        help="comma-separated cdist metrics (default euclidean,cityblock)")
    parser.add_argument("--iterations", type=int, default=6, help="timed iterations per run (default 6)")
    parser.add_argument("--memory-target", type=float, default=0.01,
                        help="required ratio peak/N x N matrix, below (default 0.01)")
    args = parser.parse_args(argv)

    X = blobs(args.n, args.d, args.k, separation=1.0)
    matrix = 8.0 * args.n * args.n
    mb = 1e6
    rows = []
    for metric in args.metrics.split(","):
        m = measure(X, args.k, metric, args.iterations, args.repeat)
        ratio = m["direct"] / m["per_iteration"]
        notes = [f"{metric}: {m['pairs'] / 1e6:.1f} M dissimilarities per iteration (sum_k n_k^2 at the "
                 f"start) against N^2 = {args.n ** 2 / 1e6:.0f} M; chunks of {m['rows']} rows",
                 f"{metric}: medoids after one iteration equal the direct iteration's: "
                 f"{'yes' if m['same'] else 'NO'}",
                 f"{metric}: whole fit (k-means++, one start, tol 1e-6): {m['fit_seconds']:.2f} s, "
                 f"{m['n_iter']} iterations, total dissimilarity {m['inertia']:.6g}"]
        rows.append({"name": f"{metric} iteration (seconds)", "ours": f"{m['per_iteration']:.4f}",
                     "reference": f"{m['direct']:.4f}", "ratio": f"{ratio:.2f}",
                     "target": f">= {args.target:g}", "passed": ratio >= args.target and m["same"],
                     "notes": notes})
        share = m["peak"] / matrix
        rows.append({"name": f"{metric} fit peak memory (MB)", "ours": f"{m['peak'] / mb:.1f}",
                     "reference": f"{matrix / mb:.0f}", "ratio": f"{share:.4f}",
                     "target": f"< {args.memory_target:g}", "passed": share < args.memory_target,
                     "notes": [f"{metric}: data {X.nbytes / mb:.1f} MB (not counted: made before tracing)"]})
    return report(
        f"k-medoids (Voronoi iteration): N={args.n}, D={args.d}, K={args.k}, float64; no reference "
        "implementation installed (scikit-learn-extra is not available): ours against a direct "
        "per-cluster-matrix iteration (time) and the N x N float64 matrix (memory)",
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
