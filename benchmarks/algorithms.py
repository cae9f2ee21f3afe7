"""EM against its gradient-based relatives on Gaussian mixtures, the comparisons of the EM
literature, written as CSV tables to benchmarks/results/.

(a) ``algorithms_dimension.csv``: batch EM against Adam (``--algorithm gradient``) as the
    dimension grows (N=1000, K=10, full covariances, D in 2, 5, 10, 20, 50), from the same
    k-means++ starts, over a few seeds: final log-likelihood, parameter error against the
    generating parameters (components matched by the Hungarian method on their means) and how
    many fits failed numerically (an exception, or a non-finite log-likelihood).
(b) ``algorithms_separation.csv``: E-step passes to converge on a well and a poorly separated
    two-component mixture for batch, overrelaxed and hybrid (EM slows down when the fraction
    of missing information is high, as it is where the components overlap).

(c) ``algorithms_passes.csv``: the log-likelihood per row after each pass over N=1,000,000
    rows (D=4, K=5, full covariances) for batch, incremental and stepwise EM from the same
    k-means++ start (blocks and minibatches of 10,000 rows).  Batch and incremental rows are
    exact (incremental ends each pass with a full E-step); stepwise's are its running estimate
    (each minibatch scored under the parameters that saw it), with the exact value of its start
    and of its final parameters in ``stepwise_exact``.
(d) ``algorithms_annealing.csv``: deterministic annealing against batch EM from the same 20
    poor starts (random rows) on data with many local optima: a 3 x 3 grid of clusters (K=9),
    8 elongated clusters along a line (K=8) and 12 clusters of unequal sizes in 5-D (K=12),
    for full, diagonal and spherical covariances: mean and best final log-likelihood, and
    from how many starts annealing ended at least as high.
(e) ``algorithms_choosing_k.csv``: ways of choosing K, each run as the ``emtool`` command a
    user runs, on mixtures of known K (2, 4, 8; D = 2, 5; N = 2,000; well separated and
    overlapping; one fixed seed per data set): variational Bayes with K = 15 as an upper bound
    (Dirichlet and Dirichlet-process weights), select-k by BIC over K = 1..15 (full
    covariance), and batch EM at the true K, the reference; every one with 4 restarts and
    seed 0.  For each: the K found (live components, BIC's choice), the adjusted Rand index
    against the true labels, the held-out log-likelihood per row on a fresh draw of 2,000 rows
    from the same mixture (``predict --logpdf``; the posterior predictive for variational),
    and the command's seconds as a process, also as a ratio to the fixed-K fit's (and, in
    ``fit_seconds``, the fit's own seconds from the model file; select-k's summed over cells).

The table printed at the end checks the target: over-relaxed EM needs fewer passes than
batch EM on poorly separated data.  (e) prints one more, with no target: each way of choosing
K's median seconds against the fixed-K command's, how often it found the true K, and its mean
ARI and held-out log-likelihood against the fixed-K fit's.

    python benchmarks/algorithms.py [--seeds 3] [--max-iter 1000] [--parts abcde] [--passes 10]
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import report

from emcli.em.fit import fit  # noqa: E402  (after _common fixes sys.path)
from emcli.errors import FitError
from emcli.models.gmm import GaussianMixture

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def mixture(n: int, d: int, k: int, separation: float, rng: np.random.Generator):
    """(n, d) rows from k Gaussians with random covariances, and the generating (weights,
    means, covariances); means drawn with standard deviation ``separation`` around 10."""
    weights = rng.dirichlet(np.full(k, 5.0))
    means = rng.normal(scale=separation, size=(k, d)) + 10.0
    mixing = rng.normal(scale=0.4 / np.sqrt(d), size=(k, d, d)) + np.eye(d)
    covs = mixing @ np.swapaxes(mixing, 1, 2)
    labels = rng.choice(k, size=n, p=weights)
    X = np.einsum("nij,nj->ni", mixing[labels], rng.standard_normal((n, d))) + means[labels]
    return X, (weights, means, covs)


def parameter_errors(params, truth) -> tuple[float, float]:
    """Errors of the means per coordinate after matching the components (Hungarian method):
    the root mean square over all components, and the median of each component's own root
    mean square, which one merged or split pair (a local optimum) does not dominate."""
    from scipy.optimize import linear_sum_assignment

    _, means, _ = truth
    cost = ((params.means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    matched = cost[rows, cols] / means.shape[1]
    return float(np.sqrt(matched.mean())), float(np.median(np.sqrt(matched)))


def one_fit(X, k, covariance, algorithm, seed, max_iter, tol, options=None):
    """(RunResult or None, failure reason or "")."""
    try:
        with np.errstate(all="ignore"):
            run = fit(GaussianMixture(k, covariance), X, seed=seed, algorithm=algorithm,
                      max_iter=max_iter, tol=tol, algorithm_options=options or {}).best
    except (FitError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return None, str(exc)
    if not np.isfinite(run.score):
        return None, "non-finite log-likelihood"
    return run, ""


def dimension_table(seeds: int, max_iter: int, learning_rate: float) -> list[dict]:
    rows = []
    for d in (2, 5, 10, 20, 50):
        for algorithm in ("batch", "gradient"):
            found = []
            failures = 0
            for seed in range(seeds):
                X, truth = mixture(1000, d, 10, 2.0, np.random.default_rng(100 + seed))
                run, _ = one_fit(X, 10, "full", algorithm, seed, max_iter, 1e-6,
                                 {"learning_rate": learning_rate} if algorithm == "gradient" else {})
                if run is None:
                    failures += 1
                else:
                    found.append((run.score, *parameter_errors(run.params, truth), run.n_iter,
                                  run.converged))
            rows.append({
                "D": d, "algorithm": algorithm, "fits": seeds, "failed": failures,
                "mean_log_likelihood": _mean(f[0] for f in found),
                "mean_parameter_error": _mean(f[1] for f in found),
                "mean_median_component_error": _mean(f[2] for f in found),
                "mean_iterations": _mean(f[3] for f in found),
                "converged": sum(f[4] for f in found),
            })
            print(f"  D={d:>2} {algorithm:<8} failed {failures}/{seeds}  "
                  f"log-lik {rows[-1]['mean_log_likelihood']:.2f}  "
                  f"error {rows[-1]['mean_parameter_error']:.3f} "
                  f"(median component {rows[-1]['mean_median_component_error']:.3f})  iterations {rows[-1]['mean_iterations']:.0f}",
                  flush=True)
    return rows


def separation_table(seeds: int, max_iter: int) -> list[dict]:
    rows = []
    for label, gap in (("well separated", 4.0), ("poorly separated", 1.0)):
        for algorithm in ("batch", "overrelaxed", "hybrid"):
            found = []
            for seed in range(seeds):
                rng = np.random.default_rng(200 + seed)
                labels = rng.random(2000) < 0.4
                X = rng.standard_normal((2000, 2))
                X[labels, 0] += gap
                run, why = one_fit(X, 2, "full", algorithm, seed, max_iter, 1e-8)
                if run is None:
                    raise RuntimeError(f"{algorithm} failed on {label} data: {why}")
                passes = run.trace[-1].get("passes", run.n_iter + 1)
                cg = sum(row.get("step") == "cg" for row in run.trace)
                found.append((passes, run.n_iter, run.score, run.converged, cg))
            rows.append({
                "data": label, "gap_sd": gap, "algorithm": algorithm, "fits": seeds,
                "median_passes": float(np.median([f[0] for f in found])),
                "median_iterations": float(np.median([f[1] for f in found])),
                "mean_log_likelihood": _mean(f[2] for f in found),
                "converged": sum(f[3] for f in found),
                "cg_steps": sum(f[4] for f in found),
            })
            print(f"  {label:<16} {algorithm:<11} passes {rows[-1]['median_passes']:>6.0f}  "
                  f"log-lik {rows[-1]['mean_log_likelihood']:.4f}", flush=True)
    return rows


def passes_table(n: int, passes: int, size: int) -> list[dict]:
    """Log-likelihood per row after each of ``passes`` passes, one row per pass (0 = the start)."""
    from emcli.em.batch import run_batch
    from emcli.em.chunks import DEFAULT_CHUNK_BYTES, chunk_rows
    from emcli.em.fit import start_params
    from emcli.em.incremental import run_incremental
    from emcli.em.stepwise import run_stepwise

    X, _ = mixture(n, 4, 5, 2.0, np.random.default_rng(300))
    model = GaussianMixture(5, "full")
    model.prepare(X)
    rows = chunk_rows(model, X.shape[1], DEFAULT_CHUNK_BYTES)
    start = start_params(model, X, "k-means++", np.random.default_rng(0), rows)
    common = {"rows": rows, "max_iter": passes, "tol": 0.0, "max_reseeds": 2 * model.k}
    runs = {
        "batch": run_batch(model, X, start, rng=np.random.default_rng(1), **common),
        "incremental": run_incremental(model, X, start, rng=np.random.default_rng(1),
                                       block_size=size, **common),
        "stepwise": run_stepwise(model, X, start, rng=np.random.default_rng(1), batch_size=size,
                                 epochs=passes, **common),
    }
    table = []
    for p in range(passes + 1):
        row = {"pass": p}
        for name in ("batch", "incremental"):
            row[name] = runs[name].trace[p]["log_likelihood"] / n
        step = runs["stepwise"].trace
        row["stepwise"] = step[p]["log_likelihood"] / n
        exact = [r for r in step if not r["estimated"] and r["iter"] == p]
        row["stepwise_exact"] = exact[-1]["log_likelihood"] / n if exact else ""
        table.append(row)
        print(f"  pass {p:>2}  batch {row['batch']:.6f}  incremental {row['incremental']:.6f}  "
              f"stepwise {row['stepwise']:.6f}"
              + (f" (exact {row['stepwise_exact']:.6f})" if exact else ""), flush=True)
    for name, run in runs.items():
        seconds = sum(r["seconds"] for r in run.trace)
        print(f"  {name:<11} {seconds:.1f} s in all", flush=True)
    return table


def local_optima_data(name: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """(rows, K) of one of (d)'s data sets."""
    if name == "grid 3x3":
        centres = 4.0 * np.array([(i, j) for i in range(3) for j in range(3)])
        return np.vstack([rng.normal(c, 1.0, (100, 2)) for c in centres]), 9
    if name == "line of 8":
        centres = np.c_[np.cumsum(rng.uniform(3, 6, 8)), np.zeros(8)]
        return np.vstack([rng.normal(c, [1.0, 2.0], (100, 2)) for c in centres]), 8
    centres, sizes = rng.uniform(-8, 8, (12, 5)), rng.integers(30, 150, 12)
    return np.vstack([rng.normal(c, 1.0, (n, 5)) for c, n in zip(centres, sizes)]), 12


def annealing_table(starts: int) -> list[dict]:
    rows = []
    for name in ("grid 3x3", "line of 8", "12 in 5-D"):
        X, k = local_optima_data(name, np.random.default_rng(1))
        for covariance in ("full", "diag", "spherical"):
            scores = {"batch": [], "annealed": []}
            for seed in range(starts):
                for algorithm, found in scores.items():
                    found.append(fit(GaussianMixture(k, covariance), X, init="random", seed=seed,
                                     algorithm=algorithm).best.score)
            batch, annealed = np.array(scores["batch"]), np.array(scores["annealed"])
            rows.append({"data": name, "k": k, "covariance": covariance, "starts": starts,
                         "batch_mean": batch.mean(), "annealed_mean": annealed.mean(),
                         "batch_best": batch.max(), "annealed_best": annealed.max(),
                         "annealed_at_least_as_high": int(np.sum(annealed >= batch - 1e-9 * np.abs(batch)))})
            print(f"  {name:<10} {covariance:<9} mean batch {batch.mean():.1f} annealed "
                  f"{annealed.mean():.1f}  at least as high {rows[-1]['annealed_at_least_as_high']}/{starts}",
                  flush=True)
    return rows


#: (e)'s data sets, (K, D, label, the distance from each new mean to the one it is placed
#: beside, in the components' standard deviations of about 1); data set i draws from seed 500 + i
CHOICE_DATA = [(k, d, label, gap) for k in (2, 4, 8) for d in (2, 5)
               for label, gap in (("well separated", 6.0), ("overlapping", 2.5))]
#: (e): the upper bound of variational Bayes and of select-k's grid
UPPER_K = 15


def emtool() -> list:
    found = shutil.which("emtool")
    return [found] if found else [sys.executable, "-m", "emcli"]


def known_mixture(k: int, d: int, gap: float, rng: np.random.Generator):
    """(weights, means, factors) of k Gaussians in d dimensions, covariance factors @ factors.T
    (about the identity): each mean after the first is placed ``gap`` to 1.3 ``gap`` from a
    mean already drawn, in a random direction, and kept if no other mean is nearer than
    ``gap``, so that every component has a neighbour at about ``gap`` whatever d is."""
    weights = rng.dirichlet(np.full(k, 5.0))
    means = [np.zeros(d)]
    while len(means) < k:
        direction = rng.standard_normal(d)
        candidate = means[rng.integers(len(means))] + (gap * rng.uniform(1.0, 1.3)
                                                       * direction / np.linalg.norm(direction))
        if min(np.linalg.norm(candidate - m) for m in means) >= gap * (1 - 1e-9):
            means.append(candidate)
    factors = rng.normal(scale=0.4 / np.sqrt(d), size=(k, d, d)) + np.eye(d)
    return weights, np.array(means) + 10.0, factors


def draw_known(mixture_params, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    weights, means, factors = mixture_params
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.einsum("nij,nj->ni", factors[labels], rng.standard_normal((n, means.shape[1]))) + means[labels]
    return X, labels


def true_log_density(mixture_params, X: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    weights, means, factors = mixture_params
    return logsumexp([np.log(w) + multivariate_normal(m, f @ f.T).logpdf(X)
                      for w, m, f in zip(weights, means, factors)], axis=0)


def true_labels(mixture_params, X: np.ndarray) -> np.ndarray:
    """The component each row is most probably from under the true parameters (Bayes' rule):
    the best labels any fit could give, whose ARI bounds the fits'."""
    from scipy.stats import multivariate_normal

    weights, means, factors = mixture_params
    return np.argmax([np.log(w) + multivariate_normal(m, f @ f.T).logpdf(X)
                      for w, m, f in zip(weights, means, factors)], axis=0)


def timed_command(args: list) -> tuple[float, str, str, int]:
    """Seconds of ``emtool ARGS`` as a process of its own (start-up, read, fit, write), its
    stdout, stderr and exit status."""
    started = time.perf_counter()
    proc = subprocess.run(emtool() + args, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.stdout, proc.stderr, proc.returncode


def write_table(X: np.ndarray, path: str) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({f"x{j}": X[:, j] for j in range(X.shape[1])}), path)
    return path


def choosing_k_table(restarts: int) -> list[dict]:
    """(e): one row per data set and method."""
    import pyarrow.parquet as pq
    from sklearn.metrics import adjusted_rand_score

    methods = {
        "fixed K": lambda k, data: ["fit", data, "-m", "gmm", "-k", str(k)],
        "variational": lambda k, data: ["fit", data, "-m", "gmm", "--algorithm", "variational",
                                        "-k", str(UPPER_K)],
        "variational process": lambda k, data: ["fit", data, "-m", "gmm", "--algorithm", "variational",
                                                "-k", str(UPPER_K), "--weight-prior", "process"],
        "select-k BIC": lambda k, data: ["select-k", data, "-m", "gmm", "--k-range", f"1:{UPPER_K}",
                                         "--covariance", "full", "--criterion", "bic",
                                         "--output-format", "json"],
    }
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        train, both, model, labelled = (os.path.join(scratch, name) for name in
                                        ("train.parquet", "both.parquet", "model.json", "labelled.parquet"))
        for index, (k, d, label, gap) in enumerate(CHOICE_DATA):
            rng = np.random.default_rng(500 + index)
            params = known_mixture(k, d, gap, rng)
            X, labels = draw_known(params, 2000, rng)
            held_out, _ = draw_known(params, 2000, rng)
            write_table(X, train)
            write_table(np.vstack([X, held_out]), both)
            truth = float(true_log_density(params, held_out).mean())
            bayes = float(adjusted_rand_score(labels, true_labels(params, X)))
            print(f"  K={k} D={d} {label}: the true mixture's held-out log-lik per row {truth:.4f}, "
                  f"ARI of its own labels {bayes:.3f}", flush=True)
            reference = None
            for method, command in methods.items():
                row = {"K": k, "D": d, "data": label, "gap": gap, "method": method, "K_found": "",
                       "ARI": "", "true_ARI": bayes, "held_out_log_lik_per_row": "",
                       "true_held_out_log_lik_per_row": truth, "seconds": "", "time_ratio": "",
                       "fit_seconds": "", "objective": "", "note": ""}
                rows.append(row)
                args = command(k, train) + ["--restarts", str(restarts), "--seed", "0", "-o", model]
                seconds, out, err, status = timed_command(args)
                if status != 0:
                    row["note"] = f"failed ({status}): emtool {' '.join(args)}: {err.strip()}"
                    print(f"    {method:<20} {row['note']}", flush=True)
                    continue
                warnings = [line for line in err.splitlines() if line.strip()]
                with open(model) as handle:
                    fitted = json.load(handle)
                if method.startswith("variational"):
                    posterior = fitted["params"]["posterior"]
                    found = len(posterior["live"])
                    row["objective"] = fitted["fit"]["elbo"]
                    counts = np.asarray(posterior["counts"], dtype=float)
                    row["note"] = "live counts " + " ".join(f"{counts[j]:.0f}" for j in posterior["live"])
                else:
                    found = len(fitted["params"]["weights"])
                    row["objective"] = fitted["fit"]["log_likelihood"]
                row["fit_seconds"] = fitted["fit"]["seconds"]
                if warnings:
                    row["note"] = "; ".join(filter(None, [row["note"], "stderr: " + " / ".join(warnings)]))
                if method == "select-k BIC":
                    cells = json.loads(out)
                    row["fit_seconds"] = sum(cell.get("seconds") or 0.0 for cell in cells)
                    bic = {cell["k"]: cell["bic"] for cell in cells if cell.get("bic") is not None}
                    if k in bic and found != k:
                        row["note"] = "; ".join(filter(None, [
                            f"BIC at K={found} {bic[found]:.1f}, at the true K={k} {bic[k]:.1f}", row["note"]]))
                predict = subprocess.run(emtool() + ["predict", model, both, "--logpdf", "-o", labelled, "-q"],
                                         capture_output=True, text=True, check=False)
                if predict.returncode != 0:
                    row["note"] += f"; predict failed: {predict.stderr.strip()}"
                    print(f"    {method:<20} {row['note']}", flush=True)
                    continue
                predicted = pq.read_table(labelled, columns=["cluster", "logpdf"])
                cluster = predicted.column("cluster").to_numpy()
                logpdf = predicted.column("logpdf").to_numpy()
                if method == "fixed K":
                    reference = seconds
                row.update({"K_found": found, "ARI": float(adjusted_rand_score(labels, cluster[:2000])),
                            "held_out_log_lik_per_row": float(logpdf[2000:].mean()), "seconds": seconds,
                            "time_ratio": seconds / reference if reference else ""})
                print(f"    {method:<20} K {found:>2}{'' if found == k else ' (wrong)':<8}  "
                      f"ARI {row['ARI']:.3f}  held-out {row['held_out_log_lik_per_row']:.4f}  "
                      f"{seconds:5.1f} s"
                      + (f" ({row['time_ratio']:.1f}x fixed K)" if reference and method != "fixed K" else "")
                      + (f"  {row['note']}" if row["note"] and found != k else ""), flush=True)
    return rows


def choosing_k_summary(rows: list[dict]) -> list[dict]:
    """report() rows for (e): per method, the median seconds against fixed K's and the median
    ratio; notes: how often it found the true K, and its mean ARI and held-out log-likelihood per
    row against fixed K's."""
    out = []
    fixed_row = {(r["K"], r["D"], r["data"]): r for r in rows if r["method"] == "fixed K" and r["seconds"] != ""}
    fixed = [r["seconds"] for r in fixed_row.values()]
    for method in ("variational", "variational process", "select-k BIC"):
        mine = [r for r in rows if r["method"] == method and r["seconds"] != ""]
        failed = sum(r["method"] == method and r["seconds"] == "" for r in rows)
        if not mine:
            continue
        wrong = [f"K={r['K']} D={r['D']} {r['data']}: {r['K_found']}" for r in mine if r["K_found"] != r["K"]]
        pairs = [(r, fixed_row[r["K"], r["D"], r["data"]]) for r in mine
                 if (r["K"], r["D"], r["data"]) in fixed_row]
        out.append({"name": f"{method}, median s", "ours": f"{np.median([r['seconds'] for r in mine]):.2f}",
                    "reference": f"{np.median(fixed):.2f}",
                    "ratio": f"{np.median([r['time_ratio'] for r in mine if r['time_ratio'] != '']):.2f}",
                    "target": "reported", "passed": True,
                    "notes": [f"{method}: true K in {len(mine) - len(wrong)}/{len(mine)} data sets"
                              + (f" ({failed} failed)" if failed else "")
                              + (f"; otherwise {', '.join(wrong)}" if wrong else ""),
                              (f"{method}: mean ARI {np.mean([r['ARI'] for r, _ in pairs]):.3f} (fixed K "
                               f"{np.mean([f['ARI'] for _, f in pairs]):.3f}), held-out log-lik per row "
                               f"{np.mean([r['held_out_log_lik_per_row'] - f['held_out_log_lik_per_row'] for r, f in pairs]):+.4f}"
                               " against fixed K's on average")]})
    return out


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")


def write(name: str, rows: list[dict]) -> None:
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="fits per cell (default 3)")
    parser.add_argument("--max-iter", type=int, default=1000, help="iterations per fit (default 1000)")
    parser.add_argument("--learning-rate", type=float, default=0.01, help="Adam's step (default 0.01)")
    parser.add_argument("--parts", default="abcde", help="which comparisons to run (default abcde; "
                        "e: ways of choosing K, ~5 min)")
    parser.add_argument("--restarts", type=int, default=4, help="(e): restarts of every command (default 4)")
    parser.add_argument("-n", type=int, default=1_000_000, help="rows for (c) (default 1,000,000)")
    parser.add_argument("--passes", type=int, default=10, help="passes for (c) (default 10)")
    parser.add_argument("--block-size", type=int, default=10_000,
                        help="(c): incremental's blocks and stepwise's minibatches (default 10,000)")
    args = parser.parse_args(argv)

    if "a" in args.parts:
        print("(a) EM against gradient ascent as the dimension grows (N=1000, K=10)")
        dimension = dimension_table(args.seeds, args.max_iter, args.learning_rate)
        write("algorithms_dimension.csv", dimension)
    if "b" in args.parts:
        print("(b) passes to converge, two components (N=2000, D=2, tol 1e-8)")
        separation = separation_table(2 * args.seeds, 20 * args.max_iter)
        write("algorithms_separation.csv", separation)
    if "c" in args.parts:
        print(f"(c) log-likelihood per row after each pass (N={args.n:,}, D=4, K=5)")
        write("algorithms_passes.csv", passes_table(args.n, args.passes, args.block_size))
    if "d" in args.parts:
        print("(d) annealed against batch EM from 20 random-row starts")
        write("algorithms_annealing.csv", annealing_table(20))
    status = 0
    if "e" in args.parts:
        print(f"(e) choosing K: variational (K <= {UPPER_K}), select-k by BIC (1..{UPPER_K}), "
              f"batch EM at the true K; N=2000, {args.restarts} restarts, emtool as a process")
        choosing = choosing_k_table(args.restarts)
        write("algorithms_choosing_k.csv", choosing)
        status = report("Seconds as a process against batch EM at the true K "
                        "(benchmarks/results/algorithms_choosing_k.csv)", choosing_k_summary(choosing))
    if "b" not in args.parts:
        return status

    by = {(r["data"], r["algorithm"]): r["median_passes"] for r in separation}
    rows = []
    for algorithm in ("overrelaxed", "hybrid"):
        for label in ("poorly separated", "well separated"):
            ours, reference = by[(label, algorithm)], by[(label, "batch")]
            rows.append({"name": f"{algorithm} passes, {label}", "ours": f"{ours:.0f}",
                         "reference": f"{reference:.0f}", "ratio": f"{ours / reference:.2f}",
                         "target": "< 1" if (algorithm, label) == ("overrelaxed", "poorly separated") else "-",
                         "passed": ours < reference or (algorithm, label) != ("overrelaxed", "poorly separated")})
    return max(status, report("Median E-step passes to converge, against batch EM (benchmarks/results/*.csv)", rows))


if __name__ == "__main__":
    raise SystemExit(main())
