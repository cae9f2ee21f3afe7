"""Shared helpers of the benchmark scripts: synthetic data, timing, and the result table.

Not a test module: benchmarks are run by hand (``python benchmarks/bench_gmm.py``) and never
collected by pytest.
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

# Let ``python benchmarks/bench_x.py`` work from a source checkout without installing emcli.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))


def arguments(doc: str, *, target: float, target_help: str, **sizes: int) -> argparse.ArgumentParser:
    """A parser with what every benchmark takes: the sizes given as ``n`` (rows), ``d``
    (columns), ``k`` (components), ``repeat`` (timings per measurement) with their defaults,
    and ``--target``, the ratio the benchmark must reach.  ``doc``'s first line describes it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    words = {"n": "rows", "d": "columns", "k": "components"}
    for name, default in sizes.items():
        if name == "repeat":
            parser.add_argument("--repeat", type=int, default=default,
                                help="timings per measurement; the best counts")
        else:
            parser.add_argument(f"-{name}", type=int, default=default, help=f"{words[name]} (default {default})")
    parser.add_argument("--target", type=float, default=target, help=target_help)
    return parser


def blobs(n: int, d: int, k: int, separation: float = 2.0, seed: int = 0) -> np.ndarray:
    """(n, d) float64 rows from k Gaussian clusters with random covariances, whose means are
    drawn with standard deviation ``separation`` around 10 (away from the origin, so that the
    models' centring matters); the smaller ``separation``, the more the clusters overlap."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=separation, size=(k, d)) + 10.0
    mixing = rng.normal(scale=0.4, size=(k, d, d)) + np.eye(d)
    labels = rng.integers(k, size=n)
    X = rng.standard_normal((n, d))
    for j in range(k):
        rows = labels == j
        X[rows] = X[rows] @ mixing[j].T + means[j]
    return X


def best_time(fn, repeat: int) -> float:
    """Smallest wall-clock time of ``repeat`` calls of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def per_iteration(fit_with, first: int, more: int, repeat: int) -> float:
    """Seconds per iteration of an iterative fitter: (t(first + more) - t(first)) / more,
    each time the best of ``repeat`` runs, so that set-up, initialisation and the final
    pass cancel.  ``fit_with(max_iter)`` runs one fit and returns its iteration count."""
    times = {}
    for max_iter in (first, first + more):
        def run():
            done = fit_with(max_iter)
            if done != max_iter:
                raise RuntimeError(f"the reference stopped after {done} of {max_iter} iterations; "
                                   "timing by difference needs it to run them all")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: we stop it early on purpose
            times[max_iter] = best_time(run, repeat)
    return (times[first + more] - times[first]) / more


def environment() -> str:
    import sklearn

    return (f"python {platform.python_version()}, numpy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs")


def report(title: str, rows: list[dict]) -> int:
    """Print the result table; return the exit status (0 when every row passes)."""
    print(title)
    print(environment())
    header = f"{'benchmark':<34} {'ours':>10} {'reference':>10} {'ratio':>8}  {'target':<10} result"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['name']:<34} {row['ours']:>10} {row['reference']:>10} {row['ratio']:>8}  "
              f"{row['target']:<10} {'PASS' if row['passed'] else 'FAIL'}")
    for row in rows:
        for note in row.get("notes", ()):
            print(f"  {note}")
    return 0 if all(row["passed"] for row in rows) else 1
