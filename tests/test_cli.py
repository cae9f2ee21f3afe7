"""The command line: fit, predict and models, in-process and as a real subprocess."""

import csv
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from emcli.cli import COMMANDS

from conftest import BLOBS, FAITHFUL, ROOT

EMTOOL = shutil.which("emtool", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("emtool")


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_fit_writes_the_model_file(run):
    result = run("fit", FAITHFUL, "-m", "gmm", "-k", 3, "--covariance", "tied", "--restarts", 10,
                 "-o", "faithful.json")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    doc = json.loads(pathlib.Path("faithful.json").read_text())
    assert doc["format"] == "emtool-model" and doc["format_version"] == 1
    assert doc["model"] == "gmm" and doc["columns"] == ["eruptions", "waiting"]
    assert doc["options"] == {"k": 3, "covariance": "tied", "reg_covar": 1e-6, "prior": "none",
                              "prior_params": {}}
    fit = doc["fit"]
    assert fit["log_likelihood"] >= -1126.32
    assert fit["n_parameters"] == 11 and fit["n_samples"] == 272
    assert fit["bic"] == pytest.approx(-2 * fit["log_likelihood"] + 11 * np.log(272), rel=1e-14)
    assert fit["aic"] == pytest.approx(-2 * fit["log_likelihood"] + 22, rel=1e-14)
    assert fit["converged"] is True
    assert len(fit["restarts"]) == 10 and [r["seed"] for r in fit["restarts"]] == list(range(10))
    assert fit["trace"][0]["event"] == "init" and len(fit["trace"]) == fit["n_iter"] + 1
    assert fit["trace"][-1]["log_likelihood"] == fit["log_likelihood"]


def test_fit_reads_stdin_and_writes_stdout(run):
    result = run("fit", "-", "-m", "kmeans", "-k", 3, input=BLOBS.read_text())
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"] == "kmeans" and len(doc["params"]["centres"]) == 3
    assert doc["fit"]["inertia"] > 0 and "log_likelihood" not in doc["fit"]
    assert doc["columns"] == ["x", "y"]


def test_predict_reproduces_the_fit(run):
    assert run("fit", FAITHFUL, "-k", 3, "--covariance", "tied", "-o", "m.json").exit_code == 0
    result = run("predict", "m.json", FAITHFUL, "--proba", "--logpdf")
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert list(rows[0]) == ["eruptions", "waiting", "cluster", "p_0", "p_1", "p_2", "logpdf"]
    assert len(rows) == 272
    proba = np.array([[float(r[f"p_{k}"]) for k in range(3)] for r in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    labels = np.array([int(r["cluster"]) for r in rows])
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))
    # the fit's own final E-step assigns the same clusters, and its log-likelihood is the sum
    from emcli.io.modelfile import read_model

    model, params, doc = read_model("m.json")
    X = np.array([[float(r["eruptions"]), float(r["waiting"])] for r in rows])
    model.prepare(X)
    resp, logpdf = model.responsibilities(params, X)
    np.testing.assert_array_equal(resp.argmax(axis=1), labels)
    assert sum(float(r["logpdf"]) for r in rows) == pytest.approx(doc["fit"]["log_likelihood"], rel=1e-12)


def test_predict_passes_other_columns_through(run):
    assert run("fit", BLOBS, "-k", 3, "-o", "m.json").exit_code == 0
    result = run("predict", "m.json", BLOBS, "-o", "out.parquet")
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    out = pq.read_table("out.parquet")
    assert out.column_names == ["x", "y", "truth", "cluster"]
    truth = out.column("truth").to_pylist()
    cluster = out.column("cluster").to_pylist()
    # each true component maps to one cluster
    assert all(len({c for t, c in zip(truth, cluster) if t == name}) == 1 for name in "abc")


def test_kmeans_has_no_probabilities(run):
    assert run("fit", BLOBS, "-m", "kmeans", "-k", 3, "-o", "m.json").exit_code == 0
    result = run("predict", "m.json", BLOBS, "--proba", "-o", "out.csv")
    assert result.exit_code == 2
    assert "--proba is not available" in result.stderr
    assert not os.path.exists("out.csv")


def test_tol_zero_runs_exactly_max_iter_and_warns(run):
    result = run("fit", FAITHFUL, "-k", 2, "--tol", 0, "--max-iter", 7, "-o", "m.json")
    assert result.exit_code == 0
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["fit"]["n_iter"] == 7 and len(doc["fit"]["trace"]) == 8
    assert doc["fit"]["converged"] is False
    assert result.stderr == ""  # --tol 0 asks for a fixed number of iterations: no warning


def test_not_converged_warns_on_one_line(run):
    result = run("fit", FAITHFUL, "-k", 3, "--max-iter", 2, "-o", "m.json")
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("emtool: warning: the best restart did not converge in 2 iterations")
    assert json.loads(pathlib.Path("m.json").read_text())["fit"]["converged"] is False
    assert run("-q", "fit", FAITHFUL, "-k", 3, "--max-iter", 2, "-o", "m.json").stderr == ""
    assert run("fit", FAITHFUL, "-k", 3, "--max-iter", 2, "-o", "m.json", "-q").stderr == ""
    assert run("fit", FAITHFUL, "-k", 3, "--max-iter", 2, "-o", "m.json").stderr != ""


def test_verbose_after_the_subcommand_prints_a_summary(run):
    result = run("fit", FAITHFUL, "-k", 2, "-o", "m.json", "-v")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("emtool: gmm with k=2, covariance=full,")  # the resolved options
    assert lines[1:3] == ["emtool: columns: eruptions, waiting", lines[2]]
    assert lines[2].startswith("emtool: gmm: log-likelihood -1130.2") and lines[3].startswith("emtool: time: ")


def test_trace_csv_matches_the_model_file(run):
    result = run("fit", FAITHFUL, "-k", 2, "--trace", "trace.csv", "-o", "m.json")
    assert result.exit_code == 0
    rows = read_csv(pathlib.Path("trace.csv").read_text())
    trace = json.loads(pathlib.Path("m.json").read_text())["fit"]["trace"]
    assert list(rows[0]) == ["iter", "log_likelihood", "seconds", "event"]
    assert [float(r["log_likelihood"]) for r in rows] == [t["log_likelihood"] for t in trace]
    assert rows[0]["event"] == "init"


def test_same_seed_same_parameters_other_seed_other_start(run):
    for name, seed in (("a.json", 4), ("b.json", 4), ("c.json", 5)):
        assert run("fit", FAITHFUL, "-k", 3, "--seed", seed, "-o", name).exit_code == 0
    a, b, c = (json.loads(pathlib.Path(n).read_text()) for n in ("a.json", "b.json", "c.json"))
    assert a["params"] == b["params"] and a["fit"]["log_likelihood"] == b["fit"]["log_likelihood"]
    assert a["fit"]["trace"][0]["log_likelihood"] != c["fit"]["trace"][0]["log_likelihood"]


def test_restart_r_is_seed_plus_r(run):
    assert run("fit", FAITHFUL, "-k", 3, "--restarts", 4, "--seed", 10, "-o", "all.json").exit_code == 0
    runs = json.loads(pathlib.Path("all.json").read_text())["fit"]["start_runs"]
    assert runs == 5  # the 20 short runs of a start shared among 4 restarts
    assert run("fit", FAITHFUL, "-k", 3, "--seed", 12, "--start-runs", runs, "-o", "one.json").exit_code == 0
    restarts = json.loads(pathlib.Path("all.json").read_text())["fit"]["restarts"]
    one = json.loads(pathlib.Path("one.json").read_text())["fit"]
    assert restarts[2] == one["restarts"][0]


def test_warm_start_from_a_model_file(run):
    assert run("fit", FAITHFUL, "-k", 3, "--covariance", "tied", "--restarts", 5, "-o", "a.json").exit_code == 0
    result = run("fit", FAITHFUL, "--init", "a.json", "-o", "b.json")
    assert result.exit_code == 0, result.output
    a, b = (json.loads(pathlib.Path(n).read_text()) for n in ("a.json", "b.json"))
    assert b["options"] == a["options"]
    assert b["fit"]["n_iter"] <= 2
    assert b["fit"]["trace"][0]["log_likelihood"] == pytest.approx(a["fit"]["log_likelihood"], rel=1e-12)
    clash = run("fit", FAITHFUL, "--init", "a.json", "-k", 4, "-o", "c.json")
    assert clash.exit_code == 2 and "-k 4 differs from 3" in clash.stderr
    assert not os.path.exists("c.json")


def test_option_a_model_does_not_take_is_an_error(run):
    result = run("fit", FAITHFUL, "-m", "kmeans", "--covariance", "tied", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: model kmeans does not take --covariance\n"


def test_models_lists_the_registry(run):
    from emcli.models.registry import MODELS

    result = run("models")
    assert result.exit_code == 0
    for name, spec in MODELS.items():
        assert re.search(rf"^{name}\s", result.stdout, re.M)
        assert spec.needs in result.stdout
    listed = json.loads(run("models", "--json").stdout)
    assert [row["name"] for row in listed] == list(MODELS)
    assert listed[0]["options"] == ["-k", "--covariance", "--reg-covar", "--prior", "--prior-param"]


def _help_examples(name) -> list:
    """The example lines of ``emtool [NAME] --help``."""
    args = [EMTOOL, "--help"] if name is None else [EMTOOL, name, "--help"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "Examples:" in text, name
    return [line.strip() for line in text.split("Examples:")[1].strip().split("\n\n")[0].splitlines()]


def test_help_examples_work(tmp_path):
    """Every example line in every command's --help runs, as a user types it, and succeeds.
    The top-level and fit examples run first (they write the model files the others read);
    then each other command's lines run in order in a copy of that directory of its own, two
    commands at a time."""
    from concurrent.futures import ThreadPoolExecutor

    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    env = dict(os.environ, PATH=os.path.dirname(EMTOOL) + os.pathsep + os.environ["PATH"])

    def run_lines(lines: list, cwd) -> list:
        done = [subprocess.run(line, shell=True, cwd=cwd, env=env, capture_output=True, text=True)
                for line in lines]
        return [(line, run.stderr) for line, run in zip(lines, done) if run.returncode != 0]

    first = _help_examples(None) + _help_examples("fit")
    assert run_lines(first, tmp_path) == []
    others = sorted(set(COMMANDS) - {"fit"})
    groups = {name: _help_examples(name) for name in others}
    assert len(first) + sum(map(len, groups.values())) >= 7
    for name in others:
        shutil.copytree(tmp_path, tmp_path.parent / f"{tmp_path.name}-{name}")
    with ThreadPoolExecutor(2) as pool:
        failed = pool.map(lambda name: run_lines(groups[name], tmp_path.parent / f"{tmp_path.name}-{name}"), others)
        assert [failure for failures in failed for failure in failures] == []


def test_installed_emtool_runs_in_a_subprocess(tmp_path):
    assert EMTOOL, "the emtool console script is not installed"
    done = subprocess.run([EMTOOL, "fit", str(FAITHFUL), "-k", "2", "-o", "m.json"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    done = subprocess.run([sys.executable, "-m", "emcli", "predict", "m.json", str(FAITHFUL)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "eruptions,waiting,cluster"
    version = subprocess.run([EMTOOL, "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == "emtool 0.1.0"


@pytest.mark.parametrize("args", [["--help"], ["models"], ["fit", "--help"]])
def test_start_up_does_not_import_the_numeric_stack(args):
    """emtool --help and emtool models must start fast: numpy, pandas, scipy and pyarrow are
    imported only by the commands that compute."""
    code = ("import sys; from emcli.cli import cli\n"
            f"try: cli.main({args!r}, prog_name='emtool')\n"
            "except SystemExit: pass\n"
            "heavy = [m for m in ('numpy', 'pandas', 'scipy', 'pyarrow', 'rich') if m in sys.modules]\n"
            "sys.stderr.write(repr(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr == "[]"


def test_sample_draws_from_the_fitted_model(run):
    assert run("fit", BLOBS, "-k", 3, "--restarts", 3, "-o", "m.json").exit_code == 0
    result = run("sample", "m.json", "-n", 3000, "--seed", 1, "-o", "drawn.parquet")
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    drawn = pq.read_table("drawn.parquet")
    assert drawn.column_names == ["x", "y", "component"] and drawn.num_rows == 3000
    doc = json.loads(pathlib.Path("m.json").read_text())
    components = np.asarray(drawn.column("component"))
    np.testing.assert_allclose(np.bincount(components, minlength=3) / 3000, doc["params"]["weights"], atol=0.03)
    X = np.column_stack([drawn.column("x"), drawn.column("y")])
    for k, mean in enumerate(doc["params"]["means"]):
        np.testing.assert_allclose(X[components == k].mean(axis=0), mean, atol=0.1)
    same = run("sample", "m.json", "-n", 3000, "--seed", 1)
    assert same.stdout == run("sample", "m.json", "-n", 3000, "--seed", 1).stdout
