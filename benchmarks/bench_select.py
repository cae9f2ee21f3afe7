"""How often BIC picks the true number of components.

Data from K = 4 Gaussian components (random means at a given separation, random covariances) in
D = 2, 5 and 10 dimensions, well separated (means 6 sd apart on average) and moderately (3 sd),
10 seeds each; select-k's grid is k = 1..8 with full covariances.  Prints the rate per setting.

    python benchmarks/bench_select.py [--seeds 10] [-n 800] [--dims 2 5 10]
"""

import argparse
import time

import numpy as np

from emcli.data import Rows
from emcli.pipeline import FitSpec
from emcli.select.grid import Cell, best_index, run_grid

TRUE_K = 4


def draw(rng, d, separation, n):
    means = rng.normal(scale=separation, size=(TRUE_K, d))
    factors = rng.normal(scale=0.4, size=(TRUE_K, d, d)) + np.eye(d)
    labels = rng.integers(TRUE_K, size=n)
    noise = np.einsum("nij,nj->ni", factors[labels], rng.standard_normal((n, d)))
    return means[labels] + noise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("-n", type=int, default=800)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 5, 10])
    args = parser.parse_args()
    print(f"BIC's choice of K (true K = {TRUE_K}), grid k = 1..8, full covariance, N = {args.n}")
    print(f"{'D':>3} {'separation':>11} {'picked true K':>14}  picks")
    for d in args.dims:
        for name, separation in (("well", 6.0), ("moderate", 3.0)):
            started = time.perf_counter()
            picks = []
            for seed in range(args.seeds):
                X = draw(np.random.default_rng(seed), d, separation, args.n)
                rows = [row for row, _ in run_grid(FitSpec("gmm", restarts=3, seed=seed),
                                                   [Cell(k, "full") for k in range(1, 9)],
                                                   Rows(None, [f"c{j}" for j in range(d)], X), jobs=2)]
                picks.append(rows[best_index(rows, "bic")]["k"])
            rate = sum(p == TRUE_K for p in picks)
            print(f"{d:>3} {name:>11} {rate:>9}/{args.seeds:<4}  {picks}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
