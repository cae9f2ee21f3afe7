"""EM passes over rows held in partitions on a real Dask LocalCluster (two worker processes)
equal the local engine's passes over the same rows (issue 18's first acceptance line)."""

import numpy as np
import pytest

from emcli.em.batch import run_batch
from emcli.em.start import start_params
from emcli.models import registry

from test_contract import CASES, assert_json_close, data


@pytest.fixture(scope="module")
def client():
    from emcli.cluster.client import connect

    with connect(workers=2) as client:
        yield client


CELLS = [("gmm", {"covariance": covariance}) for covariance in (*registry.COVARIANCE_TYPES, "VEV")] + [
    ("kmeans", {}), ("bernoulli", {}), ("categorical", {}), ("tmix", {})]


@pytest.mark.parametrize("name, options", CELLS, ids=[f"{n}-{o.get('covariance', '')}" for n, o in CELLS])
def test_batch_em_over_partitions_equals_the_local_engine(client, name, options):
    """From the same start, 30 iterations over three partitions on the cluster end where the
    local engine ends: score and parameters to 1e-10 relative (the sums differ only in the
    order of their rounding).  gmm's and categorical's rows have missing cells."""
    from emcli.cluster.rows import PartitionedRows

    X = data(name, n=900, seed=4)
    if name == "gmm":
        X = X.copy()
        X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
        X = X[~np.isnan(X).all(axis=1)]
    make = lambda: registry.create(name, {**CASES[name]["options"], **options})
    model = make()
    model.prepare(X)
    start = start_params(model, X, "k-means++" if not model.default_init == "random" else "random",
                         np.random.default_rng(3), rows=len(X))
    settings = dict(rows=128, max_iter=30, tol=0.0, max_reseeds=0)
    local = run_batch(model, X, start, rng=np.random.default_rng(0), **settings)
    parts = PartitionedRows.scatter(client, X, 3)
    remote = run_batch(model, parts, start, rng=np.random.default_rng(0), **settings)
    assert remote.n_iter == local.n_iter == 30
    assert remote.score == pytest.approx(local.score, rel=1e-10)
    np.testing.assert_allclose([row["score"] for row in remote.trace], [row["score"] for row in local.trace],
                               rtol=1e-10)
    assert_json_close(model.to_json(remote.params), model.to_json(local.params), rtol=1e-10, atol=1e-12)


def _runs(client, name: str, algorithm: str, options: dict, times: int = 1):
    """(local run, ``times`` runs over three partitions) of ``algorithm`` from one start."""
    from emcli.cluster.rows import PartitionedRows
    from emcli.em import algorithms

    X = data(name, n=900, seed=4)
    model = registry.create(name, CASES[name]["options"])
    model.prepare(X)
    start = start_params(model, X, "k-means++", np.random.default_rng(3), rows=len(X))
    settings = dict(rows=128, max_iter=20, tol=0.0, max_reseeds=0, **options)
    driver = algorithms.load(algorithm)
    parts = PartitionedRows.scatter(client, X, 3)
    local = driver(model, X, start, rng=np.random.default_rng(0), **settings)
    return model, local, [driver(model, parts, start, rng=np.random.default_rng(0), **settings) for _ in range(times)]


@pytest.mark.parametrize("name, algorithm", [("gmm", "overrelaxed"), ("gmm", "gradient"), ("gmm", "hybrid"),
                                             ("tmix", "ecm"), ("gmm", "variational")])
def test_drivers_built_on_full_passes_equal_the_local_engine(client, name, algorithm):
    """Every deterministic driver whose passes are sums over rows runs over partitions and ends
    where the local engine ends, to 1e-10."""
    model, local, (remote,) = _runs(client, name, algorithm, {})
    assert remote.n_iter == local.n_iter
    assert remote.score == pytest.approx(local.score, rel=1e-10)
    assert_json_close(model.to_json(remote.params), model.to_json(local.params), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("algorithm, options", [("stochastic", {}), ("mcem", {"mc_samples": 3}), ("saem", {}),
                                                ("annealed", {}), ("stepwise", {"batch_size": 100})])
def test_drivers_that_draw_or_stream_run_over_partitions_reproducibly(client, algorithm, options):
    """Drivers that draw (one generator per partition, spawned in partition order) or stream
    (the running state carried from partition to partition, minibatches shuffled within each)
    give the same result for the same seed, near the local engine's."""
    model, local, (first, second) = _runs(client, "gmm", algorithm, options, times=2)
    assert first.score == second.score and np.isfinite(first.score)
    assert model.to_json(first.params) == model.to_json(second.params)
    assert first.score == pytest.approx(local.score, rel=1e-2)


def test_partitioned_rows_gather_the_rows_asked_for(client):
    from emcli.cluster.rows import PartitionedRows

    X = np.arange(40.0).reshape(20, 2)
    parts = PartitionedRows.scatter(client, X, 3)
    assert len(parts) == 20 and parts.shape == (20, 2)
    index = np.array([19, 0, 7, 8, 13, 7])
    np.testing.assert_array_equal(parts[index], X[index])


@pytest.mark.parametrize("name, covariance", [("gmm", c) for c in registry.COVARIANCE_TYPES] + [("tmix", "full")])
def test_prepare_over_partitions_sets_what_it_sets_over_the_array(client, name, covariance):
    """The column summaries prepare takes (em.moments: means, variances, missing cells, the
    seeding frame) are the same passes on partitions: equal to 1e-12 relative."""
    from emcli.cluster.rows import PartitionedRows

    X = data(name, n=900, seed=4) * [1e3, 1e-2] + [5e4, 0.0]
    if name == "gmm":
        X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
        X = X[~np.isnan(X).all(axis=1)]
    local, remote = (registry.create(name, {**CASES[name]["options"], "covariance": covariance}) for _ in range(2))
    local.prepare(X)
    remote.prepare(PartitionedRows.scatter(client, X, 4))
    for field in ("center", "data_var", "floor", "frame") + (("start_var",) if name == "tmix" else ("incomplete",)):
        a, b = getattr(local, field), getattr(remote, field)
        if a is None or isinstance(a, bool):
            assert a == b, field
        else:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=field)


@pytest.mark.parametrize("name", ["gmm", "kmeans"])
def test_a_whole_fit_over_partitions_reaches_the_local_optimum(client, name):
    """em.fit over partitions (prepare, a start seeded from a sample, restarts) ends at the
    local engine's best score on these well separated clusters."""
    from emcli.cluster.rows import PartitionedRows
    from emcli.em.fit import fit

    X = data(name, n=3000, seed=6)
    make = lambda: registry.create(name, CASES[name]["options"])
    local = fit(make(), X, restarts=3, seed=1)
    remote = fit(make(), PartitionedRows.scatter(client, X, 3), restarts=3, seed=1)
    assert remote.best.score == pytest.approx(local.best.score, rel=1e-6)


# -- the command line -------------------------------------------------------------------------


def write_parts(directory, frame, n_parts, fmt="csv"):
    """``frame`` cut into ``n_parts`` consecutive part files in ``directory``."""
    import os

    os.makedirs(directory, exist_ok=True)
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), n_parts)):
        part = frame.iloc[piece]
        path = os.path.join(directory, f"part-{i}.{fmt}")
        part.to_csv(path, index=False) if fmt == "csv" else part.to_parquet(path, index=False)


@pytest.fixture
def cluster_run(run, client):
    """emtool in-process, --engine dask on the module's cluster."""
    address = client.scheduler.address
    return lambda *args: run(*args, "--engine", "dask", "--scheduler", address)


def equal_from_the_same_start(run, cluster_run, model_args: list, extra: tuple = ()) -> tuple:
    """(local, dask) model documents of the fits of whole.csv here and of parts/ on the cluster
    from one start (a 3-iteration fit of whole.csv by ``model_args``), ``extra`` options given
    to both; asserted equal, score and parameters, to 1e-10."""
    import json

    run("fit", "whole.csv", *model_args, *extra, "--max-iter", "3", "-o", "start.json")
    common = ["--init", "start.json", "--max-iter", "30", "--tol", "0", *extra]
    assert run("fit", "whole.csv", *common, "-o", "local.json").exit_code == 0
    result = cluster_run("fit", "parts", *common, "-o", "dask.json")
    assert result.exit_code == 0, result.output
    local, dask = (json.loads(open(name).read()) for name in ("local.json", "dask.json"))
    score = "inertia" if "inertia" in local["fit"] else "log_likelihood"
    assert dask["fit"][score] == pytest.approx(local["fit"][score], rel=1e-10)
    assert_json_close(dask["params"], local["params"], rtol=1e-10, atol=1e-12)
    return local, dask


@pytest.mark.parametrize("fmt, covariance, persist", [("csv", "full", []), ("parquet", "diag", ["--persist"])])
def test_fit_on_a_directory_of_parts_equals_the_local_fit_from_the_same_start(run, cluster_run, fmt, covariance,
                                                                             persist):
    """From the same --init model, the dask engine's fit of a directory (or a glob) of parts
    equals the local fit of the whole table: log-likelihood and parameters to 1e-10, whether
    each pass reads the parts again (the default) or the workers keep them (--persist)."""
    import json

    import pandas as pd

    from conftest import FAITHFUL

    table = pd.read_csv(FAITHFUL)
    table.to_csv("whole.csv", index=False)
    write_parts("parts", table, 3, fmt)
    assert run("fit", "whole.csv", "-k", "3", "--covariance", covariance, "--max-iter", "5", "-o", "start.json").exit_code == 0
    common = ["--init", "start.json", "--max-iter", "40", "--tol", "0"]
    assert run("fit", "whole.csv", *common, "-o", "local.json").exit_code == 0
    data = "parts" if fmt == "csv" else "parts/*.parquet"
    result = cluster_run("fit", data, *common, *persist, "-o", "dask.json")
    assert result.exit_code == 0, result.output
    local, dask = (json.loads(open(name).read()) for name in ("local.json", "dask.json"))
    assert dask["fit"]["engine"] == "dask" and local["fit"]["engine"] == "local"
    assert dask["fit"]["log_likelihood"] == pytest.approx(local["fit"]["log_likelihood"], rel=1e-10)
    assert dask["columns"] == local["columns"] and dask["fit"]["n_samples"] == local["fit"]["n_samples"]
    assert_json_close(dask["params"], local["params"], rtol=1e-10, atol=1e-12)


def test_a_bad_cell_in_a_part_is_the_local_one_line_error(cluster_run):
    import os

    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 0.5})
    write_parts("parts", frame, 3)
    lines = open("parts/part-1.csv").read().splitlines()
    lines[4] = "4.0,oops"
    open("parts/part-1.csv", "w").write("\n".join(lines) + "\n")
    result = cluster_run("fit", "parts", "-k", "2", "-o", "m.json")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "part-1.csv" in result.stderr and "'y'" in result.stderr and "oops" in result.stderr
    assert not os.path.exists("m.json")


def test_a_part_without_a_column_is_one_line(cluster_run):
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 0.5})
    write_parts("parts", frame, 3)
    frame.iloc[20:, :1].to_csv("parts/part-2.csv", index=False)
    result = cluster_run("fit", "parts", "-k", "2", "-o", "m.json")
    assert result.exit_code == 2 and result.stderr == "emtool: error: parts/part-2.csv has no column 'y' (it has: x)\n"


def test_models_and_options_the_dask_engine_does_not_take_are_one_line(run, cluster_run):
    import pandas as pd

    pd.DataFrame({"a": ["x", "y"] * 10, "b": ["u", "v", "w", "u"] * 5}).to_csv("c.csv", index=False)
    result = cluster_run("fit", "c.csv", "-m", "kmedoids", "-k", "2", "-o", "m.json")
    assert result.exit_code == 2 and "--engine dask fits gmm" in result.stderr
    result = run("fit", "c.csv", "-m", "categorical", "-k", "2", "--scheduler", "tcp://127.0.0.1:1", "-o", "m.json")
    assert result.exit_code == 2 and result.stderr == "emtool: error: --scheduler applies to --engine dask\n"
    result = cluster_run("fit", "-", "-k", "2", "-o", "m.json")
    assert result.exit_code == 2 and "not standard input" in result.stderr
    pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 0.5}).to_csv("n.csv", index=False)
    result = cluster_run("fit", "n.csv", "-k", "2", "--algorithm", "incremental", "-o", "m.json")
    assert result.exit_code == 2 and "does not run --algorithm incremental" in result.stderr
    assert result.stderr.count("\n") == 1
    result = run("fit", "c.csv", "-m", "categorical", "-k", "2", "--persist", "-o", "m.json")
    assert result.exit_code == 2 and result.stderr == "emtool: error: --persist applies to --engine dask\n"


def test_without_dask_installed_the_engine_names_the_extra(run, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    open("d.csv", "w").write("x,y\n1,2\n3,5\n4,4\n")
    result = run("fit", "d.csv", "--engine", "dask", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: --engine dask needs dask and distributed: pip install 'emtool[dask]'\n"


def test_a_worker_killed_in_the_middle_of_a_fit(tmp_path):
    """A worker process killed while EM passes over parts read from files: Dask runs the lost
    tasks again (reading their parts again) and the fit ends as it would have, to 1e-10; were
    the work lost for good, a FitError, never a wrong model."""
    import os
    import signal
    import threading
    import time

    import pandas as pd

    from emcli.cluster.client import connect
    from emcli.cluster.source import load_partitions
    from emcli.em.batch import run_batch
    from emcli.errors import FitError

    X = data("gmm", n=60_000, seed=2)
    for i, piece in enumerate(np.array_split(X, 6)):
        pd.DataFrame(piece, columns=["a", "b"]).to_csv(tmp_path / f"part-{i}.csv", index=False)
    model = registry.create("gmm", {"k": 3})
    model.prepare(X)
    start = start_params(model, X, "k-means++", np.random.default_rng(3), rows=len(X))
    settings = dict(rows=4096, max_iter=25, tol=0.0, max_reseeds=0, rng=np.random.default_rng(0))
    expected = run_batch(model, X, start, **settings)
    with connect(workers=2) as client:
        rows = load_partitions(client, str(tmp_path), None, None, "numeric", None).X
        victim = next(iter(client.run(os.getpid).values()))
        timer = threading.Timer(1.0, os.kill, (victim, signal.SIGKILL))
        timer.start()
        started = time.perf_counter()
        try:
            found = run_batch(model, rows, start, **{**settings, "rng": np.random.default_rng(0)})
        except FitError as exc:
            assert "Dask cluster lost the work" in str(exc)
            return
        finally:
            timer.cancel()
        assert time.perf_counter() - started > 1.0, "the fit ended before the worker was killed"
    assert found.score == pytest.approx(expected.score, rel=1e-10)
    np.testing.assert_allclose(found.params.means, expected.params.means, rtol=1e-10)


def test_predict_writes_one_parquet_part_per_input_part_equal_to_the_local_predict(run, cluster_run):
    import os

    import pandas as pd

    from conftest import FAITHFUL

    table = pd.read_csv(FAITHFUL)
    table.to_csv("whole.csv", index=False)
    write_parts("parts", table, 3)
    run("fit", "whole.csv", "-k", "3", "-o", "m.json")
    assert run("predict", "m.json", "whole.csv", "--proba", "--logpdf", "-o", "local.parquet").exit_code == 0
    result = cluster_run("predict", "m.json", "parts", "--proba", "--logpdf", "-o", "out")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir("out")) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [name for name in os.listdir(".") if name.startswith(".out")] == []
    parts = pd.concat([pd.read_parquet(f"out/{name}") for name in sorted(os.listdir("out"))], ignore_index=True)
    pd.testing.assert_frame_equal(parts, pd.read_parquet("local.parquet"), rtol=1e-12)


def test_predict_on_the_cluster_writes_nothing_when_a_part_is_bad_or_the_output_exists(run, cluster_run):
    import os

    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 0.5})
    frame.to_csv("whole.csv", index=False)
    run("fit", "whole.csv", "-k", "2", "-o", "m.json")
    write_parts("parts", frame, 3)
    lines = open("parts/part-2.csv").read().splitlines()
    lines[3] = "oops,1.0"
    open("parts/part-2.csv", "w").write("\n".join(lines) + "\n")
    result = cluster_run("predict", "m.json", "parts", "-o", "out")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "part-2.csv" in result.stderr, result.output
    assert sorted(os.listdir(".")) == ["m.json", "parts", "whole.csv"]
    os.mkdir("taken")
    result = cluster_run("predict", "m.json", "whole.csv", "-o", "taken")
    assert result.exit_code == 2 and "it is a directory" in result.stderr
    open("file.parquet", "w").write("")
    result = cluster_run("predict", "m.json", "whole.csv", "-o", "file.parquet")
    assert result.exit_code == 2 and "writes a new directory of Parquet parts" in result.stderr


def test_select_k_on_the_cluster_fits_each_cell_over_the_parts(run, cluster_run):
    """Each cell's fit runs over the partitions; the table has bic and icl as the local one's
    (the starts differ: the cluster's are seeded from a sample), and criteria that refit to
    rows drawn here are one line."""
    import json

    import pandas as pd

    from conftest import FAITHFUL

    write_parts("parts", pd.read_csv(FAITHFUL), 3)
    result = cluster_run("select-k", "parts", "--k-range", "1:3", "--covariance", "tied", "--criterion", "icl",
                         "--output-format", "json", "-o", "best.json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert [row["k"] for row in table] == [1, 2, 3] and all(row["icl"] >= row["bic"] for row in table)
    assert json.loads(open("best.json").read())["fit"]["engine"] == "dask"
    refused = cluster_run("select-k", "parts", "--k-range", "1:3", "--criterion", "cv", "-o", "cv.json")
    assert refused.exit_code == 2 and "--engine dask chooses by bic, aic or icl" in refused.stderr


def test_bernoulli_on_the_cluster_from_the_same_start(run, cluster_run):
    """0/1 and true/false parts are coded on the workers as the local reader codes them."""

    import pandas as pd

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.random((600, 4)) < [0.2, 0.5, 0.7, 0.9], columns=list("abcd")).astype(int)
    frame["d"] = frame["d"].astype(bool)
    frame.to_csv("whole.csv", index=False)
    write_parts("parts", frame, 3)
    equal_from_the_same_start(run, cluster_run, ["-m", "bernoulli", "-k", "2"])


def test_categorical_parts_are_coded_with_the_whole_tables_levels(run, cluster_run):
    """Parts that each hold some of a column's levels (one holds a single level, one a level no
    other part has) are coded with the levels of the whole table: from the same start, the fit
    with missing cells equals the local fit to 1e-10, and predict's parts equal the local
    predict."""
    import os

    import pandas as pd

    rng = np.random.default_rng(5)
    n = 900
    group = rng.integers(0, 2, n)
    frame = pd.DataFrame({
        "colour": np.where(group == 0, rng.choice(["red", "green"], n, p=[0.8, 0.2]),
                           rng.choice(["red", "green"], n, p=[0.1, 0.9])).astype(object),
        "size": np.where(group == 0, rng.integers(1, 3, n), rng.integers(2, 4, n)).astype(float),
        "shape": np.where(rng.random(n) < 0.5, "round", "square").astype(object)})
    frame.loc[rng.random(n) < 0.1, "colour"] = None
    frame.loc[rng.random(n) < 0.1, "size"] = np.nan
    frame["size"] = frame["size"].astype("Int64")
    frame.loc[:299, "shape"] = "round"         # the first part holds one shape
    frame.loc[600:, "colour"] = frame.loc[600:, "colour"].replace("green", "teal")  # only the last has teal
    frame = frame[frame.notna().any(axis=1)]
    frame.to_csv("whole.csv", index=False)
    write_parts("parts", frame, 3)
    local, dask = equal_from_the_same_start(run, cluster_run, ["-m", "categorical", "-k", "2"])
    assert dask["params"]["levels"] == local["params"]["levels"] and ["green", "red", "teal"] in local["params"]["levels"]
    assert run("predict", "dask.json", "whole.csv", "--proba", "-o", "local.parquet").exit_code == 0
    assert cluster_run("predict", "dask.json", "parts", "--proba", "-o", "out").exit_code == 0
    parts = pd.concat([pd.read_parquet(f"out/{name}") for name in sorted(os.listdir("out"))], ignore_index=True)
    pd.testing.assert_frame_equal(parts, pd.read_parquet("local.parquet"), rtol=1e-12)


def test_a_categorical_column_with_one_level_over_all_parts_is_the_local_error(run, cluster_run):
    import pandas as pd

    frame = pd.DataFrame({"a": ["x", "y", "z"] * 10, "b": ["u"] * 30})
    write_parts("parts", frame, 3)
    frame.to_csv("whole.csv", index=False)
    local = run("fit", "whole.csv", "-m", "categorical", "-k", "2", "-o", "m.json")
    result = cluster_run("fit", "parts", "-m", "categorical", "-k", "2", "-o", "m.json")
    assert result.exit_code == 2 and local.exit_code == 2
    assert result.stderr == local.stderr.replace("whole.csv", "parts")


def test_experts_on_the_cluster_from_the_same_start(run, cluster_run):
    """A mixture of experts reads its target beside its features on the workers: from the same
    start the fit equals the local fit to 1e-10, and a fit from its own start (standardised on
    the parts, seeded from a sample) reaches the local optimum."""
    import json
    import os

    import pandas as pd

    rng = np.random.default_rng(8)
    x = rng.uniform(-3, 3, 1200)
    y = np.where(x < 0, 2.0 * x + 1.0, -x + 4.0) + rng.normal(0, 0.3, x.size)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=x.size), "y": y})
    frame.to_csv("whole.csv", index=False)
    write_parts("parts", frame, 3)
    local, dask = equal_from_the_same_start(run, cluster_run, ["-m", "experts", "-k", "2"], ("--target", "y"))
    assert dask["columns"] == local["columns"] == ["x", "noise"] and dask["target"] == "y"
    own = ["-m", "experts", "--target", "y", "-k", "2", "--restarts", "3", "--seed", "2"]
    assert run("fit", "whole.csv", *own, "-o", "l2.json").exit_code == 0
    assert cluster_run("fit", "parts", *own, "-o", "d2.json").exit_code == 0
    l2, d2 = (json.loads(open(name).read())["fit"]["log_likelihood"] for name in ("l2.json", "d2.json"))
    assert d2 == pytest.approx(l2, rel=1e-6)
    assert cluster_run("predict", "dask.json", "parts", "-o", "out").exit_code == 0
    assert run("predict", "dask.json", "whole.csv", "-o", "local.parquet").exit_code == 0
    parts = pd.concat([pd.read_parquet(f"out/{name}") for name in sorted(os.listdir("out"))], ignore_index=True)
    pd.testing.assert_frame_equal(parts, pd.read_parquet("local.parquet"), rtol=1e-12)
    missing = frame.copy()
    missing.loc[700, "y"] = np.nan
    write_parts("bad", missing, 3)
    refused = cluster_run("fit", "bad", "--target", "y", "-m", "experts", "-k", "2", "-o", "m.json")
    assert refused.exit_code == 2 and refused.stderr == ("emtool: error: bad/part-1.csv: column 'y' row 301 is "
                                                         "missing; a regression cannot use incomplete rows (fill "
                                                         "them with 'emtool impute' or choose other --columns)\n")


def test_parts_at_a_url_are_listed_and_read_through_fsspec(run, cluster_run, tmp_path):
    """DATA as a URL (here file://, as s3:// or gs:// would be with s3fs or gcsfs installed): a
    directory or a glob of parts listed by fsspec and read by the workers, fitting as the local
    paths do; a URL the local engine reads too.  Unknown protocols and absent parts are one
    line."""
    import json

    import pandas as pd

    from conftest import FAITHFUL

    write_parts("parts", pd.read_csv(FAITHFUL), 3, "parquet")
    common = ["-k", "2", "--seed", "4", "--max-iter", "20"]
    url = (tmp_path / "parts").as_uri()
    for where, output in (("parts", "a.json"), (url, "b.json"), (url + "/*.parquet", "c.json")):
        result = cluster_run("fit", where, *common, "-o", output)
        assert result.exit_code == 0, result.output
    fits = [json.loads(open(name).read())["fit"]["log_likelihood"] for name in ("a.json", "b.json", "c.json")]
    assert fits[0] == fits[1] == fits[2]
    assert run("fit", url + "/part-0.parquet", "-k", "2", "-o", "d.json").exit_code == 0
    assert cluster_run("predict", "a.json", url, "-o", "out").exit_code == 0
    assert len(pd.read_parquet("out")) == len(pd.read_csv(FAITHFUL))
    result = cluster_run("fit", url + "/none-*.parquet", "-k", "2", "-o", "e.json")
    assert result.exit_code == 2 and result.stderr.endswith("none-*.parquet: no such file, directory or matching parts\n")
    result = run("fit", "nosuch://bucket/t.csv", "-k", "2", "-o", "e.json")
    assert result.stderr == "emtool: error: nosuch://bucket/t.csv: cannot read (Protocol not known: nosuch)\n"


def test_standardize_on_the_cluster_equals_the_local_engine(run, cluster_run):
    """--standardize over parts: the columns' moments are passes over them, each partition is
    standardised on its worker, and the fit equals the local one from the same start."""
    import json

    import pandas as pd

    from conftest import FAITHFUL

    table = pd.read_csv(FAITHFUL)
    table.to_csv("whole.csv", index=False)
    write_parts("parts", table, 3, "parquet")
    run("fit", "whole.csv", "-m", "kmeans", "-k", "3", "--standardize", "--max-iter", "2", "-o", "start.json")
    local_own = run("fit", "whole.csv", "-k", "2", "--covariance", "spherical", "--standardize", "-o", "lo.json")
    dask_own = cluster_run("fit", "parts", "-k", "2", "--covariance", "spherical", "--standardize", "-o", "do.json")
    assert local_own.exit_code == dask_own.exit_code == 0, dask_own.output
    lo, do = (json.loads(open(name).read())["standardize"] for name in ("lo.json", "do.json"))
    for field in ("center", "scale", "log_jacobian"):
        np.testing.assert_allclose(do[field], lo[field], rtol=1e-12)
    common = ["--init", "start.json", "--max-iter", "20", "--tol", "0"]
    assert run("fit", "whole.csv", *common, "-o", "local.json").exit_code == 0
    for persist in ([], ["--persist"]):
        result = cluster_run("fit", "parts", *common, *persist, "-o", "dask.json")
        assert result.exit_code == 0, result.output
        local, dask = (json.loads(open(name).read()) for name in ("local.json", "dask.json"))
        assert dask["standardize"] == local["standardize"]
        assert dask["fit"]["inertia"] == pytest.approx(local["fit"]["inertia"], rel=1e-10)
        assert_json_close(dask["params"], local["params"], rtol=1e-10, atol=1e-12)


def test_a_second_cluster_at_once_says_nothing(client, recwarn):
    """Two commands with --engine dask at once: the second's scheduler takes a free port
    without a word (Dask warned on stderr when both wanted 8787)."""
    from emcli.cluster.client import connect

    with connect(workers=1):
        pass
    assert [str(w.message) for w in recwarn] == []
