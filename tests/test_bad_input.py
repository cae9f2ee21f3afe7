"""Bad input: exit status 2, one line on stderr naming the problem, and no output file."""

import json
import os
import pathlib

import numpy as np
import pytest

from conftest import FAITHFUL

FILES = {
    "empty.csv": "",
    "header.csv": "a,b\n",
    "text.csv": "a,b\n1,2\n3,x\n4,5\n",
    "inf.csv": "a,b\n1,2\n3,inf\n4,5\n",
    "missing.csv": "a,b\n1,2\n3,\n4,5\n",
    "one.csv": "a,b\n1,2\n",
    "constant.csv": "a,b\n1,2\n1,3\n1,5\n",
    "same.csv": "a,b\n1,2\n1,2\n1,2\n2,3\n",
    "ragged.csv": "a,b\n1,2\n1,2,3\n4,5\n",
    "labels.csv": "name,a\nx,1\ny,2\nz,3\n",
    "corrupt.parquet": "PAR1 this is not parquet",
    "dupcols.csv": "a,a\n1,2\n3,4\n",
    "other.csv": "p,q\n1,2\n3,4\n5,7\n",
    "notjson.json": "{not json",
    "notmodel.json": '{"hello": 1}',
    "allmissing.csv": "a,b\n1,\n2,\n3,\n",
    "counts.csv": "a,b\n1,0\n0,2\n1,1\n",
    "levels.csv": "colour,same\nred,x\nblue,x\nred,x\n",
    "emptyrow.csv": "a,b\n1,2\n,\n3,5\n4,4\n",
}

CASES = [
    (["fit", "empty.csv"], "empty.csv is empty"),
    (["fit", "header.csv"], "header.csv has a header but no data rows"),
    (["fit", "text.csv"], "column 'b' is not numeric (row 2: 'x')"),
    (["fit", "inf.csv"], "column 'b' row 2 is infinite"),
    (["fit", "missing.csv", "-m", "kmeans"], "column 'b' row 2 is missing; kmeans cannot use incomplete rows"),
    (["fit", "allmissing.csv"], "allmissing.csv: column 'b' has no values; leave it out with --columns"),
    (["fit", "allmissing.csv", "--columns", "a,b"], "column 'b' has no values"),
    (["select-k", "one.csv", "--k-range", "1:2"], "one.csv has 1 row, fewer than the 2 that gmm needs"),
    (["select-k", "one.csv", "-m", "kmeans", "--criterion", "gap"], "one.csv has one distinct row; the gap statistic needs spread"),
    (["select-k", "constant.csv", "--k-range", "1:2"], "column 'a' is constant"),
    (["select-k", "allmissing.csv", "--k-range", "1:2"], "column 'b' has no values"),
    (["fit", FAITHFUL, "-m", "kmeans", "--prior", "default"], "model kmeans does not take --prior"),
    (["fit", FAITHFUL, "--prior-param", "kappa"], "'kappa' is not NAME=VALUE"),
    (["fit", FAITHFUL, "--prior-param", "zeta=1"], "unknown prior parameter 'zeta'"),
    (["fit", FAITHFUL, "--dof", "0"], "Invalid value for '--dof'"),
    (["sample", "good.json"], "Missing option '-n'"),
    (["fit", "counts.csv", "-m", "bernoulli", "--columns", "a,b"], "column 'b' row 2 is 2, not 0/1 or true/false"),
    (["fit", "levels.csv", "-m", "categorical"], "column 'same' has a single level ('x')"),
    (["fit", FAITHFUL, "-m", "tmix", "-k", "2", "--dof", "-1"], "Invalid value for '--dof'"),
    (["fit", FAITHFUL, "-m", "kmedoids", "-k", "2", "--metric", "nope"], "--metric 'nope' is not a scipy.spatial.distance metric"),
    (["fit", FAITHFUL, "-m", "student", "-k", "2"], "model student does not take -k"),
    (["sample", "kmeans.json", "-n", "5"], "kmeans is not a generative model"),
    (["fit", "one.csv"], "one.csv has 1 row, fewer than the 2 that gmm needs"),
    (["fit", "constant.csv"], "column 'a' is constant"),
    (["fit", "same.csv", "-m", "kmeans", "-k", "3"], "only 2 distinct rows"),
    (["fit", "ragged.csv"], "ragged.csv: line 3 has 3 fields, the header has 2"),
    (["fit", "labels.csv", "--columns", "name"], "column 'name' is not numeric (row 1: 'x')"),
    (["fit", FAITHFUL, "-k", "300"], "has 272 rows, fewer than the 300 components asked for"),
    (["fit", "corrupt.parquet"], "corrupt.parquet is not a readable Parquet file"),
    (["fit", "dupcols.csv"], "column name 'a' appears more than once"),
    (["fit", "nosuch.csv"], "nosuch.csv: no such file"),
    (["fit", "data.xlsx"], "cannot tell the format of data.xlsx"),
    (["fit", FAITHFUL, "--columns", "eruptions,nope"], "has no column 'nope'"),
    (["fit", FAITHFUL, "--bogus"], "No such option '--bogus'"),
    (["fit", FAITHFUL, "-m", "nope"], "unknown model 'nope'; known models: gmm, kmeans"),
    (["fit", FAITHFUL, "-k", "0"], "Invalid value for '-k'"),
    (["fit", FAITHFUL, "--init", "notjson.json"], "notjson.json is not an emtool model file"),
    (["fit", FAITHFUL, "--init", "kmeans+"], "--init 'kmeans+' is neither k-means++, robust, random, hc nor a model file"),
    (["predict", "notjson.json", FAITHFUL], "notjson.json is not an emtool model file (not JSON"),
    (["predict", "notmodel.json", FAITHFUL], "notmodel.json is not an emtool model file"),
    (["predict", "version2.json", FAITHFUL], "format_version 2 is not supported"),
    (["predict", "badshape.json", FAITHFUL], "params.means: expected shape (2, 2)"),
    (["predict", "good.json", "other.csv"], "other.csv has no column 'eruptions'"),
    (["predict", "good.json", "missing.csv"], "has no column 'eruptions'"),
    (["fit", FAITHFUL, "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0"),
    (["sample", "good.json", "-n", "5", "--seed", "-1"], "Invalid value for '--seed'"),
    (["select-k", FAITHFUL, "--k-range", "1:2", "--seed", "-1"], "Invalid value for '--seed'"),
    (["impute", "missing.csv", "--seed", "-1"], "Invalid value for '--seed'"),
    (["compress", FAITHFUL, "-k", "2", "--seed", "-1"], "Invalid value for '--seed'"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    assert run("fit", FAITHFUL, "-k", 2, "-o", "good.json").exit_code == 0
    assert run("fit", FAITHFUL, "-m", "kmeans", "-k", 2, "-o", "kmeans.json").exit_code == 0
    good = json.loads((tmp_path / "good.json").read_text())
    (tmp_path / "version2.json").write_text(json.dumps(dict(good, format_version=2)))
    params = dict(good["params"], means=good["params"]["means"][:1])
    (tmp_path / "badshape.json").write_text(json.dumps(dict(good, params=params)))
    return tmp_path


@pytest.mark.parametrize("args,message", CASES, ids=[" ".join(map(str, a))[:40] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_no_output(workdir, run, args, message):
    before = sorted(os.listdir(workdir))
    result = run(*args, "-o", "out.file" + (".json" if args[0] == "fit" else ".csv"))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(os.listdir(workdir)) == before


def test_unwritable_output_fails_before_any_work(workdir, run):
    result = run("fit", FAITHFUL, "-o", "no/such/dir/m.json")
    assert result.exit_code == 2
    assert "directory" in result.stderr and "does not exist" in result.stderr


def test_failed_command_keeps_the_previous_output(workdir, run):
    pathlib.Path("m.json").write_text("previous")
    assert run("fit", "text.csv", "-o", "m.json").exit_code == 2
    assert pathlib.Path("m.json").read_text() == "previous"


def test_verbose_shows_the_traceback(workdir, run):
    result = run("-v", "fit", "empty.csv")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and result.stderr.endswith("emtool: error: empty.csv is empty\n")


def test_duplicate_rows_are_fine_when_there_are_enough_distinct_ones(workdir, run):
    (workdir / "dups.csv").write_text("a,b\n" + "1,2\n" * 50 + "3,5\n" * 50 + "2,9\n" * 3)
    result = run("fit", "dups.csv", "-m", "kmeans", "-k", 3, "-o", "m.json")
    assert result.exit_code == 0, result.output
    centres = sorted(json.loads(pathlib.Path("m.json").read_text())["params"]["centres"])
    np.testing.assert_allclose(centres, [[1.0, 2.0], [2.0, 9.0], [3.0, 5.0]], rtol=1e-12)
