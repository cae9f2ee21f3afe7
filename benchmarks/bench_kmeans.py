"""One k-means (Lloyd) iteration, emcli against scikit-learn.

Both start from the same centres on the same data.  Ours is the time of one iteration as the
batch engine runs it: ``KMeans.e_step`` over every chunk (``accumulate``) plus ``m_step``.
scikit-learn's KMeans(algorithm="lloyd", n_init=1, init=<the centres>) is timed by difference,
(t(first + more iterations) - t(first)) / more, with tol=0.

    python benchmarks/bench_kmeans.py [-n 1000000] [-d 16] [-k 16] [--reference-threads 1]
"""

import sys
import warnings

import numpy as np

from _common import arguments, best_time, blobs, per_iteration, report

from emcli.em.chunks import accumulate, chunk_rows  # noqa: E402  (after _common fixes sys.path)
from emcli.em.workers import available_cores, workers
from emcli.em.init import initial_centres
from emcli.models.kmeans import KMeans


def main(argv=None) -> int:
    parser = arguments(__doc__, n=1_000_000, d=16, k=16, repeat=5, target=1.0,
                       target_help="required ratio reference/ours (default 1: no slower)")
    parser.add_argument("--reference-threads", type=int, default=None,
                        help="also time scikit-learn limited to this many threads (threadpoolctl)")
    args = parser.parse_args(argv)

    from sklearn.cluster import KMeans as Reference

    # Overlapping clusters: Lloyd needs hundreds of iterations here, so scikit-learn does not
    # stop early by reaching a fixed point, which timing by difference needs.
    X = blobs(args.n, args.d, args.k, separation=1.0)
    centres = initial_centres(X, args.k, "k-means++", np.random.default_rng(0))
    model = KMeans(k=args.k)
    model.prepare(X)
    rows = chunk_rows(model, args.d)

    def ours():
        stats, _ = accumulate(lambda block: model.e_step(centres, block), X, rows)
        return model.m_step(stats, centres)

    def reference(max_iter):
        return Reference(args.k, init=centres, n_init=1, max_iter=max_iter, tol=0.0,
                         algorithm="lloyd").fit(X).n_iter_

    with workers(available_cores()):  # as a command runs it: every core, one BLAS thread each
        ours_s = best_time(ours, args.repeat)
    ref_s = per_iteration(reference, first=5, more=20, repeat=max(1, args.repeat - 2))

    # Same start, same step: the centres after one iteration must agree to round-off.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_next = Reference(args.k, init=centres, n_init=1, max_iter=1, tol=0.0,
                             algorithm="lloyd").fit(X).cluster_centers_
    gap = float(np.abs(ours() - ref_next).max())
    notes = [f"chunk: {rows} rows; reference: sklearn.cluster.KMeans(algorithm='lloyd')",
             f"centres after one iteration: largest difference from scikit-learn {gap:.1e}"]

    if args.reference_threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.reference_threads):
            limited = per_iteration(reference, first=5, more=20, repeat=max(1, args.repeat - 2))
        notes.append(f"scikit-learn limited to {args.reference_threads} thread(s): "
                     f"{limited:.4f} s/iteration, ratio {limited / ours_s:.2f}")

    ratio = ref_s / ours_s
    return report(
        f"k-means (Lloyd), one iteration: N={args.n}, D={args.d}, K={args.k}, float64",
        [{"name": "Lloyd iteration (seconds)", "ours": f"{ours_s:.4f}", "reference": f"{ref_s:.4f}",
          "ratio": f"{ratio:.2f}", "target": f">= {args.target:g}", "passed": ratio >= args.target,
          "notes": notes}],
    )


if __name__ == "__main__":
    sys.exit(main())
