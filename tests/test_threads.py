"""--threads (and EMTOOL_THREADS): every command that makes passes over the data gives the same
bytes for any number of worker threads, since chunks never depend on it and are summed in order."""

import json

import numpy as np
import pytest

from conftest import BLOBS, FAITHFUL

#: small chunks, so that even the sample data make passes of several chunks
SMALL_CHUNKS = ["--chunk-bytes", "4K"]


def _without_timings(doc):
    """A model file without what a clock measured."""
    if isinstance(doc, dict):
        return {key: _without_timings(value) for key, value in doc.items() if key not in ("seconds", "created")}
    if isinstance(doc, list):
        return [_without_timings(value) for value in doc]
    return doc


@pytest.mark.parametrize("model", [["-m", "gmm", "-k", "3"], ["-m", "gmm", "-k", "3", "--covariance", "diag"],
                                   ["-m", "kmeans", "-k", "3"], ["-m", "tmix", "-k", "2", "--max-iter", "20"],
                                   ["-m", "tmix", "-k", "2", "--algorithm", "ecme"],
                                   ["-m", "gmm", "-k", "3", "--algorithm", "mcem", "--max-iter", "10"],
                                   ["-m", "gmm", "-k", "3", "--algorithm", "saem", "--max-iter", "10"],
                                   ["-m", "gmm", "-k", "3", "--algorithm", "annealed", "--max-iter", "30"]],
                         ids=["gmm", "diag", "kmeans", "tmix", "ecme", "mcem", "saem", "annealed"])
def test_fit_is_the_same_for_any_number_of_threads(run, model):
    """Also for the algorithms that draw random numbers in every chunk (mcem, annealed): each
    chunk has a generator of its own."""
    docs = []
    for threads in (1, 2, 3):
        result = run("fit", BLOBS, *model, "--restarts", "2", *SMALL_CHUNKS, "--threads", threads, "-o", "-")
        assert result.exit_code == 0, result.output
        docs.append(_without_timings(json.loads(result.stdout)))
    assert docs[0]["fit"]["restarts"] and docs[0] == docs[1] == docs[2]


def test_predict_select_k_compress_and_impute_are_the_same_for_any_number_of_threads(run, tmp_path):
    run("fit", FAITHFUL, "-k", "3", "-o", "m.json")
    rng = np.random.default_rng(0)
    table = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    table[rng.random(table.shape) < 0.1] = np.nan
    np.savetxt("holes.csv", table, delimiter=",", header="eruptions,waiting", comments="", fmt="%.6g")
    outputs = {}
    for threads in (1, 2, 3):
        option = ["--threads", threads]
        runs = {
            "predict": run("predict", "m.json", FAITHFUL, "--proba", "--logpdf", *SMALL_CHUNKS, *option),
            "select-k": run("select-k", FAITHFUL, "--k-range", "1:3", "--covariance", "full,diag",
                            "--jobs", 1, *SMALL_CHUNKS, *option, "--output-format", "json"),
            "compress": run("compress", BLOBS, "--columns", "x,y", "-k", "4", *option, "-o", "-"),
            "impute": run("impute", "holes.csv", "-m", "gmm", "-k", "2", *SMALL_CHUNKS, *option),
        }
        for name, result in runs.items():
            assert result.exit_code == 0, (name, result.output)
        select = json.loads(runs["select-k"].stdout)
        for row in select:
            row.pop("seconds")
        outputs[threads] = (runs["predict"].stdout, select, runs["compress"].stdout_bytes, runs["impute"].stdout)
    assert outputs[1] == outputs[2] == outputs[3]


def test_select_k_processes_share_the_threads(run):
    """Cells in two processes, each with its share of the threads: the table of one process."""
    tables = []
    for jobs, threads in ((1, 1), (2, 3)):
        result = run("select-k", FAITHFUL, "--k-range", "1:4", "--covariance", "full", "--jobs", jobs,
                     "--threads", threads, "--output-format", "json")
        assert result.exit_code == 0, result.output
        tables.append([{key: value for key, value in row.items() if key != "seconds"}
                       for row in json.loads(result.stdout)])
    assert tables[0] == tables[1]


def test_emtool_threads_sets_the_default_and_a_bad_value_names_it(run, monkeypatch):
    monkeypatch.setenv("EMTOOL_THREADS", "2")
    assert run("fit", FAITHFUL, "-k", "2", "-o", "m.json").exit_code == 0
    monkeypatch.setenv("EMTOOL_THREADS", "many")
    result = run("fit", FAITHFUL, "-k", "2", "-o", "m.json")
    assert result.exit_code == 2
    assert "EMTOOL_THREADS" in result.output and "--threads" in result.output
    # the option given on the command line wins over the variable
    assert run("fit", FAITHFUL, "-k", "2", "--threads", "1", "-o", "m.json").exit_code == 0


@pytest.mark.parametrize("threads", ["0", "1025", "two"])
def test_bad_thread_counts_are_usage_errors(run, threads):
    result = run("predict", "m.json", FAITHFUL, "--threads", threads)
    assert result.exit_code == 2
    assert "--threads" in result.output


def test_libraries_loaded_inside_the_workers_run_one_thread_each():
    """Opening the workers does not import SciPy (a third of a second of start-up), and a BLAS
    that loads after they open (SciPy's own OpenBLAS, imported only by the commands that use
    it) starts with one thread, as the ones already loaded are limited to, while Arrow, loaded
    there too, keeps a thread per CPU; the environment is the caller's again afterwards.  In a
    fresh interpreter, where SciPy is not loaded yet."""
    import subprocess
    import sys

    script = """
import os, sys, numpy
from emcli.em.workers import ONE_THREAD, workers
os.environ["OPENBLAS_NUM_THREADS"] = "7"
with workers(2):
    print("scipy" in sys.modules)
    import scipy.linalg
    from threadpoolctl import threadpool_info
    counts = sorted({pool["num_threads"] for pool in threadpool_info()})
    import pyarrow
    arrow_threads = pyarrow.cpu_count()
others = [name for name in ONE_THREAD if name != "OPENBLAS_NUM_THREADS" and name in os.environ]
print(counts, os.environ["OPENBLAS_NUM_THREADS"], others, arrow_threads == os.cpu_count())
"""
    env = {key: value for key, value in __import__("os").environ.items() if not key.endswith("_THREADS")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "[1]", "7", "[]", "True"]
