"""EM on a Dask cluster against the local engine, on a Parquet directory larger than the workers' memory.

Issue 18's benchmark: N rows x 8 columns (20,000,000 rows, 1.28 GB of float64, by default) in
40 Parquet parts, gmm diag K = 8, 5 batch iterations from one start.  Three runs:

- local: the whole table in this process, the local engine on every core;
- dask: a LocalCluster of 2 single-threaded workers limited to 400 MB each, so that the parts
  cannot stay in memory: each pass reads its parts again (the default);
- dask --persist: the same cluster without the limit, the parts kept in worker memory.

Per-iteration seconds (the 5 iterations' time over 5, after the start) and each worker's peak
resident memory.  From the same start the three end with the same log-likelihood (1e-10,
checked).  The ratio carries to another machine; benchmarks/README.md turns the figures into a
model of the cost per iteration.

    python benchmarks/bench_dask.py [-n 20000000] [--parts 40] [--keep DIR]
"""

import os
import shutil
import tempfile
import time

import numpy as np

from _common import arguments, blobs, report

COLUMNS = [f"x{j}" for j in range(8)]


def write_parts(directory: str, n: int, parts: int) -> None:
    """``n`` rows of 8 columns from 8 clusters, in ``parts`` Parquet files of equal size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    per_part = -(-n // parts)
    for i in range(parts):
        rows = min(per_part, n - i * per_part)
        X = blobs(rows, 8, 8, separation=3.0, seed=i)
        pq.write_table(pa.table({name: X[:, j] for j, name in enumerate(COLUMNS)}),
                       os.path.join(directory, f"part-{i:03d}.parquet"))


def _high_water_mb() -> float:
    """This process's peak resident memory, in MB: VmHWM, which is its own (getrusage's
    ru_maxrss of a worker started by fork counts the parent's pages too)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def peak_memory_mb(client) -> list:
    """Each worker's peak resident memory so far, in MB."""
    return sorted(round(mb) for mb in client.run(_high_water_mb).values())


def five_iterations(model, X, start) -> tuple:
    """(seconds per iteration, final log-likelihood) of 5 batch iterations from ``start``."""
    from emcli.em.batch import run_batch
    from emcli.em.chunks import chunk_rows

    rows = chunk_rows(model, 8, 4 << 20, len(X))
    started = time.perf_counter()
    result = run_batch(model, X, start, rows=rows, max_iter=5, tol=0.0, rng=np.random.default_rng(0),
                       max_reseeds=0)
    return (time.perf_counter() - started) / 6, result.log_likelihood  # the start's pass and 5 more


def on_cluster(directory: str, start, memory_limit, persist: bool) -> tuple:
    """(seconds per iteration, log-likelihood, workers' peak MB) on a fresh LocalCluster."""
    from distributed import Client, LocalCluster

    from emcli.cluster.source import load_partitions
    from emcli.models import registry

    single = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=None,
                      env=single) as cluster, Client(cluster) as client:
        rows = load_partitions(client, directory, None, None, "numeric", "gmm", persist=persist).X
        model = registry.create("gmm", {"k": 8, "covariance": "diag"})
        model.prepare(rows)
        seconds, loglik = five_iterations(model, rows, start)
        return seconds, loglik, peak_memory_mb(client)


def main():
    from emcli.em.start import start_params
    from emcli.em.workers import available_cores, workers
    from emcli.models import registry

    parser = arguments(__doc__, target=1e-10, target_help="largest relative difference of the log-likelihoods",
                       n=20_000_000)
    parser.add_argument("--parts", type=int, default=40, help="Parquet parts (default 40)")
    parser.add_argument("--keep", metavar="DIR", help="write (or reuse) the parts in DIR and keep them")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="bench_dask_")
    try:
        os.makedirs(directory, exist_ok=True)
        if not any(name.endswith(".parquet") for name in os.listdir(directory)):
            write_parts(directory, args.n, args.parts)
        import pyarrow.parquet as pq

        X = np.column_stack([pq.read_table(directory).column(name).to_numpy() for name in COLUMNS])
        model = registry.create("gmm", {"k": 8, "covariance": "diag"})
        with workers(available_cores()):
            model.prepare(X)
            start = start_params(model, X[:: max(1, len(X) // 100_000)], "k-means++", np.random.default_rng(0),
                                 rows=4096)
            local, local_ll = five_iterations(model, X, start)
        del X
        limited, limited_ll, limited_peak = on_cluster(directory, start, "400MB", persist=False)
        persisted, persisted_ll, persisted_peak = on_cluster(directory, start, "4GB", persist=True)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    worst = max(abs(limited_ll - local_ll), abs(persisted_ll - local_ll)) / abs(local_ll)
    rows = [
        {"name": "dask, 400 MB workers, re-read", "ours": f"{limited:.2f} s", "reference": f"{local:.2f} s",
         "ratio": f"{limited / local:.2f}", "target": "completes", "passed": True,
         "notes": [f"workers' peak memory {limited_peak} MB"]},
        {"name": "dask --persist", "ours": f"{persisted:.2f} s", "reference": f"{local:.2f} s",
         "ratio": f"{persisted / local:.2f}", "target": "completes", "passed": True,
         "notes": [f"workers' peak memory {persisted_peak} MB"]},
        {"name": "log-likelihood vs local", "ours": f"{worst:.1e}", "reference": "0", "ratio": "",
         "target": f"< {args.target:g}", "passed": worst < args.target,
         "notes": [f"{args.n:,} rows x 8 in {args.parts} Parquet parts, gmm diag K=8, seconds per iteration; "
                   f"local engine on {available_cores()} threads"]},
    ]
    raise SystemExit(report("EM per iteration on a Dask LocalCluster (2 workers) against the local engine", rows))


if __name__ == "__main__":
    main()
