"""One EM iteration of a full-covariance Gaussian mixture, emcli against scikit-learn.

Both start from the same parameters on the same data.  Ours is the time of one batch-EM
iteration as the engine runs it: the E-step over every chunk (``accumulate``) plus the M-step.
scikit-learn's is timed by difference, (t(first + more iterations) - t(first)) / more, with
tol=0 so that it runs every iteration it is given.

    python benchmarks/bench_gmm.py [-n 200000] [-d 16] [-k 16]
"""

import sys
import warnings

import numpy as np

from _common import arguments, best_time, blobs, per_iteration, report

from emcli.em.chunks import accumulate, chunk_rows  # noqa: E402  (after _common fixes sys.path)
from emcli.em.workers import available_cores, workers
from emcli.em.fit import start_params
from emcli.models.gmm import GaussianMixture


def main(argv=None) -> int:
    parser = arguments(__doc__, n=200_000, d=16, k=16, repeat=3, target=5.0,
                       target_help="required speed-up (default 5)")
    args = parser.parse_args(argv)

    from sklearn.mixture import GaussianMixture as Reference

    X = blobs(args.n, args.d, args.k)
    model = GaussianMixture(k=args.k, covariance="full")
    model.prepare(X)
    rows = chunk_rows(model, args.d)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows)
    precisions, _ = params.precision

    def ours():
        stats, _ = accumulate(lambda block: model.e_step(params, block), X, rows)
        return model.m_step(stats, params)

    def reference(max_iter):
        fitted = Reference(args.k, covariance_type="full", tol=0.0, max_iter=max_iter,
                           init_params="random_from_data", weights_init=params.weights,
                           means_init=params.means, precisions_init=precisions,
                           random_state=0).fit(X)
        return fitted.n_iter_

    with workers(available_cores()):  # as a command runs it: every core, one BLAS thread each
        ours_s = best_time(ours, args.repeat)
    ref_s = per_iteration(reference, first=2, more=8, repeat=max(1, args.repeat - 1))

    # Same start: after one iteration scikit-learn's lower_bound_ is the mean log-likelihood
    # of the starting parameters, which is what our E-step scores.
    _, score = accumulate(lambda block: model.e_step(params, block), X, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start_ll = Reference(args.k, covariance_type="full", tol=0.0, max_iter=1,
                             init_params="random_from_data", weights_init=params.weights,
                             means_init=params.means, precisions_init=precisions,
                             random_state=0).fit(X).lower_bound_

    speedup = ref_s / ours_s
    return report(
        f"GMM, full covariance, one EM iteration: N={args.n}, D={args.d}, K={args.k}, float64",
        [{"name": "EM iteration (seconds)", "ours": f"{ours_s:.4f}", "reference": f"{ref_s:.4f}",
          "ratio": f"{speedup:.1f}x", "target": f">= {args.target:g}x",
          "passed": speedup >= args.target,
          "notes": [f"chunk: {rows} rows; reference: sklearn.mixture.GaussianMixture",
                    f"mean log-likelihood at the common start: ours {score / len(X):.10f}, "
                    f"scikit-learn {start_ll:.10f}"]}],
    )


if __name__ == "__main__":
    sys.exit(main())
