"""Peak memory of a Gaussian-mixture fit (emcli.em.fit.fit) against the size of its data.

The fit runs in a fresh child process, so that nothing else is counted.  The child makes the
data, then starts tracemalloc (numpy reports its allocations to it) and fits; the peak is
(data + the largest extra allocation during the fit) / data.  A second pass times the same
steps one by one (prepare, initialisation, the EM iterations) to show where the peak comes
from, and the child's resident-set growth is printed as a cross-check.

    python benchmarks/bench_memory.py [-n 1000000] [-d 16] [-k 16] [--iterations 3]
"""

import argparse
import json
import subprocess
import sys
import tracemalloc

import numpy as np

from _common import arguments, blobs, report


def child(n: int, d: int, k: int, iterations: int) -> dict:
    """Measure in this process; returns bytes."""
    import resource

    import psutil

    from emcli.em.batch import run_batch
    from emcli.em.chunks import chunk_rows
    from emcli.em.fit import fit, start_params
    from emcli.models.gmm import GaussianMixture

    X = blobs(n, d, k)
    rss_before = psutil.Process().memory_info().rss
    tracemalloc.start()
    fit(GaussianMixture(k=k, covariance="full"), X, max_iter=iterations, tol=0.0, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    phases = {}
    model = GaussianMixture(k=k, covariance="full")
    tracemalloc.reset_peak()
    model.prepare(X)
    phases["prepare (column means, variances)"] = tracemalloc.get_traced_memory()[1]
    rows = chunk_rows(model, d)
    rng = np.random.default_rng(0)
    tracemalloc.reset_peak()
    params = start_params(model, X, "k-means++", rng, rows)
    phases["initialisation (k-means++, assign)"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    run_batch(model, X, params, rows=rows, max_iter=iterations, tol=0.0, rng=rng, max_reseeds=0)
    phases[f"{iterations} EM iterations ({rows}-row chunks)"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"data": X.nbytes, "peak": peak, "rss_growth": max(0, rss_peak - rss_before),
            "phases": phases}


def main(argv=None) -> int:
    parser = arguments(__doc__, n=1_000_000, d=16, k=16, target=2.0,
                       target_help="required (data + peak) / data ratio, below (default 2)")
    parser.add_argument("--iterations", type=int, default=3, help="EM iterations (default 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.n, args.d, args.k, args.iterations)))
        return 0

    done = subprocess.run([sys.executable, __file__, "--child", "-n", str(args.n), "-d", str(args.d),
                           "-k", str(args.k), "--iterations", str(args.iterations)],
                          check=True, capture_output=True, text=True)
    m = json.loads(done.stdout)
    mb = 1e6
    data, peak = m["data"], m["peak"]
    ratio = (data + peak) / data
    notes = [f"largest extra allocation during the fit (tracemalloc): {peak / mb:.1f} MB "
             f"= {peak / data:.2f} x data",
             f"resident-set growth during the fit (ru_maxrss - rss before): {m['rss_growth'] / mb:.1f} MB",
             "peak extra allocation by step:"]
    notes += [f"  {name:<40} {value / mb:8.1f} MB" for name, value in m["phases"].items()]
    return report(
        f"GMM fit memory: N={args.n}, D={args.d}, K={args.k}, full covariance, "
        f"{args.iterations} iterations; ours = data + peak, reference = data (MB)",
        [{"name": "peak memory (MB)", "ours": f"{(data + peak) / mb:.1f}",
          "reference": f"{data / mb:.1f}", "ratio": f"{ratio:.2f}", "target": f"< {args.target:g}",
          "passed": ratio < args.target, "notes": notes}],
    )


if __name__ == "__main__":
    sys.exit(main())
