"""Stepwise (online) EM on a stream generated on the fly: peak memory against the stream's length,
and the final log-likelihood per row against batch EM's.

The stream: rows of a fixed Gaussian mixture (D=8, K=8, full covariances), drawn in chunks of
``--chunk`` rows by a batch source (one call per epoch, the same rows every call), never held
whole.  Stepwise EM (emcli.em.stepwise.fit_source, one epoch) fits ``--short`` and ``--long``
rows under tracemalloc (numpy reports its allocations to it); its peak should not grow with
the number of rows.

Comparison with batch EM: both start from the same parameters (k-means++ and one hard-assignment
M-step on the stream's first minibatch).  Batch EM (emcli.em.fit.fit, tol 1e-6) fits a sample of
``--sample`` rows drawn from the same mixture with another seed.  Both final parameter sets are
then scored by an exact E-step on that same sample: the mean log-likelihood per row.  Batch EM
maximises exactly that quantity, so the comparison favours it; the target is stepwise within
1e-3 (relative) below it.  A note gives both on a fresh held-out sample too.

    python benchmarks/bench_stepwise.py [--short 2000000] [--long 20000000] [--batch-size 10000]
"""

import argparse
import time
import tracemalloc

import numpy as np

from _common import report


class Mixture:
    """A fixed Gaussian mixture to draw rows from: means around 10, random covariances."""

    def __init__(self, d: int, k: int, separation: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.weights = rng.dirichlet(np.full(k, 5.0))
        self.means = rng.normal(scale=separation, size=(k, d)) + 10.0
        self.mixing = rng.normal(scale=0.4, size=(k, d, d)) + np.eye(d)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, D) rows, in random order."""
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        X = rng.standard_normal((n, self.means.shape[1]))
        for j in range(len(self.weights)):
            rows = labels == j
            X[rows] = X[rows] @ self.mixing[j].T + self.means[j]
        return X

    def source(self, n: int, chunk: int, seed: int):
        """A batch source of ``n`` rows in chunks of ``chunk``: each call draws the same rows."""
        def blocks():
            rng = np.random.default_rng(seed)
            for start in range(0, n, chunk):
                yield self.draw(min(chunk, n - start), rng)
        return blocks


def stream_fit(mixture, n, args, start):
    """(result, tracemalloc peak in bytes, seconds) of one epoch of stepwise EM over n rows."""
    from emcli.em.stepwise import fit_source
    from emcli.models.gmm import GaussianMixture

    model = GaussianMixture(k=args.k, covariance="full")
    tracemalloc.start()
    started = time.perf_counter()
    result = fit_source(model, mixture.source(n, args.chunk, seed=1), rng=np.random.default_rng(0),
                        init=start, batch_size=args.batch_size, kappa=args.kappa, epochs=1,
                        n_rows=n)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, peak, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=2_000_000, help="rows of the short stream")
    parser.add_argument("--long", type=int, default=20_000_000, help="rows of the long stream")
    parser.add_argument("--sample", type=int, default=1_000_000, help="rows for batch EM")
    parser.add_argument("-d", type=int, default=8)
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--separation", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--kappa", type=float, default=0.7)
    parser.add_argument("--chunk", type=int, default=100_000, help="rows the generator draws at a time")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (0: the library's default)")
    parser.add_argument("--target", type=float, default=1e-3,
                        help="largest relative shortfall of the log-likelihood per row")
    args = parser.parse_args(argv)
    if args.threads:
        # The E-step's matrices are 8 x 8: threaded BLAS only adds hand-offs, and on a busy
        # machine its spinning threads made each small triangular solve take milliseconds.
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    return run(args)


def run(args) -> int:
    from emcli.em.batch import evaluate
    from emcli.em.fit import fit, start_params
    from emcli.models.gmm import GaussianMixture

    mixture = Mixture(args.d, args.k, args.separation)
    first = next(mixture.source(args.long, args.batch_size, seed=1)())
    opener = GaussianMixture(k=args.k, covariance="full")
    opener.prepare(first)
    start = start_params(opener, first, "k-means++", np.random.default_rng(0), len(first))

    short, short_peak, short_seconds = stream_fit(mixture, args.short, args, start)
    long, long_peak, long_seconds = stream_fit(mixture, args.long, args, start)

    sample = mixture.draw(args.sample, np.random.default_rng(2))
    started = time.perf_counter()
    batch = fit(GaussianMixture(k=args.k, covariance="full"), sample, init=start, tol=1e-6).best
    batch_seconds = time.perf_counter() - started
    judge = GaussianMixture(k=args.k, covariance="full")
    judge.prepare(sample)

    def per_row(params, X):
        return evaluate(judge, params, X, 20_000)[2] / len(X)

    ours, reference = per_row(long.params, sample), per_row(batch.params, sample)
    shortfall = (reference - ours) / abs(reference)
    held_out = mixture.draw(args.sample, np.random.default_rng(3))
    del sample
    ours_held, reference_held = per_row(long.params, held_out), per_row(batch.params, held_out)
    truth = start.__class__(start.covariance, mixture.weights, mixture.means,
                            np.einsum("kij,klj->kil", mixture.mixing, mixture.mixing))
    truth_held = per_row(truth, held_out)

    mb = 2.0**20
    rows = [
        {"name": f"peak memory, {args.long:,} rows (MB)", "ours": f"{long_peak / mb:.1f}",
         "reference": f"{short_peak / mb:.1f}", "ratio": f"{long_peak / short_peak:.2f}",
         "target": "< 1.1", "passed": long_peak < 1.1 * short_peak,
         "notes": [f"reference: the same fit over {args.short:,} rows; the rows themselves would "
                   f"take {args.long * args.d * 8 / mb:,.0f} MB",
                   f"stepwise over {args.short:,} rows: {short_seconds:.1f} s, "
                   f"{args.long:,} rows: {long_seconds:.1f} s ({short.trace[-1]['minibatches']:,} "
                   f"and {long.trace[-1]['minibatches']:,} minibatches of {args.batch_size:,}, "
                   f"last eta {long.trace[-1]['eta']:.2e}), generation included"]},
        {"name": "log-likelihood per row", "ours": f"{ours:.5f}", "reference": f"{reference:.5f}",
         "ratio": f"{shortfall:.1e}", "target": f"<= {args.target:g}", "passed": shortfall <= args.target,
         "notes": [f"ours: stepwise after {args.long:,} streamed rows; reference: batch EM on the "
                   f"{args.sample:,}-row sample ({batch.n_iter} iterations, {batch_seconds:.1f} s, "
                   f"converged {batch.converged}); both scored on that sample; "
                   "ratio: (reference - ours) / |reference|",
                   f"absolute difference per row {reference - ours:.2e}; on a fresh held-out "
                   f"{args.sample:,}-row sample: ours {ours_held:.5f}, batch {reference_held:.5f}, "
                   f"true parameters {truth_held:.5f}",
                   f"stepwise's running estimate over its last epoch: "
                   f"{long.trace[-1]['log_likelihood_per_row']:.5f} per row"]},
    ]
    title = (f"stepwise EM on a generated stream (D={args.d}, K={args.k}, full covariance, "
             f"{args.threads or 'default'} BLAS threads)")
    return report(title, rows)


if __name__ == "__main__":
    raise SystemExit(main())
