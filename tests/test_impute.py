"""emtool impute: acceptance on simulated data, the output table, --draws, --model, bad input."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from emcli.impute.fill import conditional_means
from emcli.models.gmm import GaussianMixture, GMMParams

from conftest import ROOT, draw_mixture
from test_cli import EMTOOL

SURVEY = ROOT / "sample_data" / "survey.csv"
FAITHFUL_MISSING = ROOT / "sample_data" / "faithful_missing.csv"

#: the acceptance tests' normal: AR(1) correlations 0.9^|i-j| (a column tells much about its
#: neighbours, so that imputation has something to gain) and scales from 1 to 3
D = 10
SCALES = np.linspace(1.0, 3.0, D)
CORRELATION = 0.9 ** np.abs(np.subtract.outer(np.arange(D), np.arange(D)))
COV = CORRELATION * np.outer(SCALES, SCALES)
MEAN = np.arange(D, dtype=float)


def save(X: np.ndarray, path: str, names=None) -> list:
    names = names or [f"c{j}" for j in range(X.shape[1])]
    pq.write_table(pa.table({n: X[:, j] for j, n in enumerate(names)}), path)
    return names


def load(path: str, names: list) -> np.ndarray:
    table = pq.read_table(path)
    return np.column_stack([table.column(n).to_numpy() for n in names])


def rmse(filled, truth, hidden):
    """Root mean squared error over the hidden cells, each column in its own standard units."""
    return float(np.sqrt(np.mean(((filled - truth) / truth.std(axis=0))[hidden] ** 2)))


def mean_imputed(X):
    return np.where(np.isnan(X), np.nanmean(X, axis=0), X)


@pytest.mark.parametrize("n,within", [(100, 1.35), (10_000, 1.05)])
def test_mvn_imputations_are_nearly_as_good_as_the_true_parameters(run, n, within):
    """D=10, half the cells missing completely at random (rows with nothing observed too): at
    N=10,000 the EM fit fills within 5% of the RMSE that the true mean and covariance give; at
    N=100 (65 parameters from about 500 observed cells) within 35%; both far below filling
    with the column means."""
    rng = np.random.default_rng(n)
    truth = rng.multivariate_normal(MEAN, COV, size=n)
    hidden = rng.random(truth.shape) < 0.5
    names = save(np.where(hidden, np.nan, truth), "holes.parquet")
    result = run("impute", "holes.parquet", "-o", "filled.parquet")
    assert result.exit_code == 0, result.output
    filled = load("filled.parquet", names)
    exact = conditional_means(GaussianMixture(1), GMMParams("full", np.ones(1), MEAN[None], COV[None]),
                              np.where(hidden, np.nan, truth))
    ours, best, naive = (rmse(x, truth, hidden) for x in (filled, exact, mean_imputed(np.where(hidden, np.nan, truth))))
    assert ours <= within * best
    assert ours < 0.75 * naive and best < 0.6 * naive
    np.testing.assert_array_equal(filled[~hidden], truth[~hidden])


def test_the_prior_fills_small_samples_better():
    """At N=100 the 65 parameters rest on about 500 observed cells; the MAP fit's shrunken
    covariance fills better than the ML fit from every seed tried (over 20 seeds RMSE 0.503
    against 0.546 on average, in the columns' true scales)."""
    from emcli.em.fit import fit

    for seed in range(5):
        rng = np.random.default_rng(seed)
        truth = rng.multivariate_normal(MEAN, COV, size=100)
        hidden = rng.random(truth.shape) < 0.5
        keep = ~hidden.all(axis=1)
        truth, hidden = truth[keep], hidden[keep]
        X = np.where(hidden, np.nan, truth)
        errors = {}
        for prior in ("none", "default"):
            model = GaussianMixture(1, "full", prior=prior)
            errors[prior] = rmse(conditional_means(model, fit(model, X).best.params, X), truth, hidden)
        assert errors["default"] < errors["none"], (seed, errors)


def test_a_mixture_fills_clustered_data_better_than_one_normal(run):
    rng = np.random.default_rng(11)
    means = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, 6.0, -3.0, 2.0], [-4.0, 5.0, 5.0, -5.0]])
    covs = np.array([np.eye(4) + 0.5, np.diag([1.0, 0.5, 1.0, 2.0]), 0.7 * np.eye(4)])
    truth, _ = draw_mixture(rng, [0.4, 0.3, 0.3], means, covs, 1500)
    hidden = rng.random(truth.shape) < 0.3
    names = save(np.where(hidden, np.nan, truth), "holes.parquet")
    scores = {}
    for label, args in (("mvn", []), ("gmm", ["-m", "gmm", "-k", 3, "--restarts", 3]),
                        ("auto", ["-m", "gmm", "-k", "auto", "--k-range", "1:5", "--report", "r.json"])):
        result = run("impute", "holes.parquet", *args, "-o", f"{label}.parquet")
        assert result.exit_code == 0, result.output
        scores[label] = rmse(load(f"{label}.parquet", names), truth, hidden)
    assert scores["gmm"] < 0.7 * scores["mvn"]
    report = json.loads(pathlib.Path("r.json").read_text())
    assert report["model"]["options"]["k"] == 3
    assert [row["k"] for row in report["selection"]] == [1, 2, 3, 4, 5]
    assert scores["auto"] == pytest.approx(scores["gmm"], rel=0.05)


def test_draws_spread_as_the_missing_information_says(run):
    """Multiple imputation's between-imputation variance B of a column mean against theory.

    Pairs (x, y) with correlation rho: x complete, half of y missing completely at random
    (fraction f).  The observed-data estimate of y's mean has large-sample variance
    V = s^2 (1 - rho^2) / (N (1 - f)) + rho^2 s^2 / N, and complete data would give
    W = s^2 / N; proper imputations spread by the missing information, B = V - W =
    s^2 (1 - rho^2) f / (N (1 - f)).  (Drawing the cells without refitting to bootstrap
    resamples would give only s^2 (1 - rho^2) f / N, half of it at f = 1/2.)

    With M = 20 draws one B has relative standard deviation sqrt(2/19) = 0.32; the test pools
    4 pairs x 4 data sets, so that the mean ratio B / theory has sd about 0.08, and asks for
    0.75..1.25 (3 sd); each single ratio must lie in 0.25..2.4, beyond the 0.1% and 99.9%
    points of chi2(19)/19.  Four pairs of rho and s in one table of N=2,000 rows."""
    rhos, scales, n, draws = np.array([0.0, 0.5, 0.7, 0.9]), np.array([1.0, 2.0, 0.5, 3.0]), 2000, 20
    ratios = []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        x = rng.standard_normal((n, 4))
        y = scales * (rhos * x + np.sqrt(1 - rhos**2) * rng.standard_normal((n, 4)))
        y[rng.random((n, 4)) < 0.5] = np.nan
        names = save(np.column_stack([x, y]), "pairs.parquet")
        result = run("impute", "pairs.parquet", "--draws", draws, "--long", "--seed", seed,
                     "-o", "long.parquet")
        assert result.exit_code == 0, result.output
        table = pq.read_table("long.parquet")
        assert table.column_names == names + ["imputation"]
        imputation = table.column("imputation").to_numpy()
        assert np.array_equal(np.unique(imputation), np.arange(1, draws + 1))
        completed = np.column_stack([table.column(c).to_numpy() for c in names[4:]])
        means = np.array([completed[imputation == i].mean(axis=0) for i in range(1, draws + 1)])
        f = np.isnan(y).mean(axis=0)
        ratios.append(means.var(axis=0, ddof=1) / (scales**2 * (1 - rhos**2) * f / (n * (1 - f))))
    ratios = np.array(ratios)
    assert 0.75 < ratios.mean() < 1.25, ratios
    assert np.all((ratios > 0.25) & (ratios < 2.4)), ratios


def test_draws_write_one_file_each_reproducibly(run):
    assert run("impute", SURVEY, "--draws", 3, "--seed", 4, "-o", "s_{i}.csv").exit_code == 0
    assert run("impute", SURVEY, "--draws", 3, "--seed", 4, "-o", "again_{i}.parquet").exit_code == 0
    assert run("impute", SURVEY, "--draws", 3, "--seed", 5, "-o", "other_{i}.csv").exit_code == 0
    source = pacsv.read_csv(SURVEY)
    tables = [pacsv.read_csv(f"s_{i}.csv") for i in (1, 2, 3)]
    for i, table in enumerate(tables, start=1):
        assert table.schema == source.schema
        assert table.column("respondent").equals(source.column("respondent"))
        assert not any(column.null_count for column in table.columns)
        assert table.equals(pq.read_table(f"again_{i}.parquet"))
    assert not tables[0].equals(tables[1])
    assert not tables[0].equals(pacsv.read_csv("other_1.csv"))


def test_survey_output_keeps_columns_types_and_observed_cells(run):
    result = run("impute", SURVEY, "--clip", "-o", "filled.parquet", "--report", "r.json",
                 "--model-out", "m.json", "-v")
    assert result.exit_code == 0, result.output
    source, filled = pacsv.read_csv(SURVEY), pq.read_table("filled.parquet")
    assert filled.schema == source.schema
    assert filled.schema.field("age").type == pa.int64()
    assert filled.column("respondent").equals(source.column("respondent"))
    assert filled.column("region").equals(source.column("region"))
    for name in ("age", "income", "hours", "satisfaction"):
        before, after = source.column(name).to_numpy(zero_copy_only=False), filled.column(name).to_numpy()
        seen = ~np.isnan(before)
        np.testing.assert_array_equal(after[seen], before[seen])
        assert before[seen].min() <= after.min() and after.max() <= before[seen].max()
    report = json.loads(pathlib.Path("r.json").read_text())
    counts = {name: source.column(name).null_count for name in ("age", "income", "hours", "satisfaction")}
    assert report["cells_filled"] == counts and report["total_filled"] == sum(counts.values())
    assert report["model"] == json.loads(pathlib.Path("m.json").read_text())
    assert report["log_likelihood"] == report["model"]["fit"]["log_likelihood"]
    assert report["n_iter"] == report["model"]["fit"]["n_iter"] and report["converged"]
    assert f"filled {sum(counts.values())} cells (age {counts['age']}" in result.stderr
    assert "log-likelihood" in result.stderr and "iterations, converged" in result.stderr

    again = run("impute", SURVEY, "--model", "m.json", "--clip", "-o", "again.parquet", "--report", "r2.json")
    assert again.exit_code == 0, again.output
    assert pq.read_table("again.parquet").equals(filled)
    second = json.loads(pathlib.Path("r2.json").read_text())
    assert second["model_source"] == "m.json" and second["n_iter"] is None
    assert second["log_likelihood"] == pytest.approx(report["log_likelihood"], rel=1e-10)


def test_a_saved_model_fills_columns_in_another_order_and_rows_never_seen(run):
    rng = np.random.default_rng(12)
    data = rng.multivariate_normal(MEAN[:3], COV[:3, :3], size=400)
    data[rng.random(data.shape) < 0.2] = np.nan
    save(data[:300], "train.parquet", ["a", "b", "c"])
    save(data[300:, ::-1], "new.parquet", ["c", "b", "a"])
    assert run("impute", "train.parquet", "--model-out", "m.json", "-o", "t.parquet").exit_code == 0
    result = run("impute", "new.parquet", "--model", "m.json", "-o", "n.parquet")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    params = GMMParams("full", np.array(doc["params"]["weights"]), np.array(doc["params"]["means"]),
                       np.array(doc["params"]["covariances"]))
    expected = conditional_means(GaussianMixture(1), params, data[300:])
    np.testing.assert_allclose(load("n.parquet", ["a", "b", "c"]), expected, rtol=1e-12)


def test_rows_with_nothing_observed_are_filled_and_integers_can_stay_fractional(run):
    pathlib.Path("gaps.csv").write_text("id,a,b\nx,1,2\ny,,\nz,3,5\nw,4,\nv,2,3\n")
    result = run("impute", "gaps.csv", "--no-round", "-o", "out.csv", "-v")
    assert result.exit_code == 0, result.output
    out = pacsv.read_csv("out.csv")
    assert out.column("a").type == pa.float64()
    assert not any(column.null_count for column in out.columns[1:])
    assert out.column("a").to_pylist()[1] == pytest.approx(2.5)
    assert "1 rows with every chosen column missing" in result.stderr
    assert run("impute", "gaps.csv", "-o", "int.csv").exit_code == 0
    assert pacsv.read_csv("int.csv").column("b").type == pa.int64()


def test_nothing_missing_is_a_notice_and_the_input_unchanged(run):
    text = "a,b,name\n1,2.0,x\n2,3.5,y\n4,1.5,z\n"
    pathlib.Path("full.csv").write_text(text)
    result = run("impute", "full.csv", "-v")
    assert result.exit_code == 0
    assert "no missing values in the chosen columns of full.csv" in result.stderr
    assert result.stdout == text
    assert run("impute", "full.csv", "--draws", 2, "-o", "d_{i}.csv").exit_code == 0
    assert pathlib.Path("d_2.csv").read_text() == text
    assert run("impute", "full.csv", "-o", "full.parquet").exit_code == 0
    assert pq.read_table("full.parquet").equals(pacsv.read_csv("full.csv"))


def test_every_file_or_none(run, monkeypatch):
    """--draws writes M files: a failure while writing the third leaves none of them."""
    import emcli.io.tables

    real, calls = emcli.io.tables.write_table, []

    def failing(table, path, fmt=None):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(table, path, fmt)

    monkeypatch.setattr(emcli.io.tables, "write_table", failing)
    result = run("impute", SURVEY, "--draws", 4, "-o", "s_{i}.csv", "--report", "r.json")
    assert result.exit_code != 0 and len(calls) == 3
    assert sorted(os.listdir(".")) == []


def test_impute_runs_as_a_subprocess(tmp_path):
    done = subprocess.run([EMTOOL, "impute", str(FAITHFUL_MISSING), "-m", "gmm", "-k", "2"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "eruptions,waiting" and len(lines) == 273 and ",," not in done.stdout
    assert all(not line.startswith(",") and not line.endswith(",") for line in lines)


BAD = [
    (["impute", "allmissing.csv"], "allmissing.csv: column 'b' has no values; leave it out with --columns"),
    (["impute", "allmissing.csv", "--columns", "a,b"], "allmissing.csv: column 'b' has no values"),
    (["impute", "nanparquet.parquet"], "nanparquet.parquet: column 'b' has no values"),
    (["impute", "labels.csv", "--columns", "name,a"], "column 'name' is not numeric (row 1: 'x')"),
    (["impute", "holes.csv", "--model", "other.json"], "other.json was fit to columns p, q, but the chosen columns of holes.csv are a, b"),
    (["impute", "holes.csv", "--model", "kmeans.json"], "kmeans.json holds a kmeans model; impute needs a gmm or bn model"),
    (["impute", "holes.csv", "--model", "nosuch.json"], "nosuch.json: no such file"),
    (["impute", "holes.csv", "--model", "good.json", "--draws", "2", "--long"], "--draws refits the model"),
    (["impute", "holes.csv", "--model", "good.json", "-k", "2"], "-k applies to fitting"),
    (["impute", "holes.csv", "-m", "gmm", "-k", "9"], "holes.csv has 4 rows, fewer than the 9 components asked for"),
    (["impute", "holes.csv", "-m", "gmm", "-k", "auto", "--k-range", "6:9"], "every --k-range value exceeds the 4 rows"),
    (["impute", "holes.csv", "-m", "gmm"], "-m gmm needs -k K"),
    (["impute", "holes.csv", "-m", "gmm", "-k", "two"], "-k must be a positive number of components or auto"),
    (["impute", "holes.csv", "-k", "3"], "-m mvn is one multivariate normal"),
    (["impute", "holes.csv", "--covariance", "diag"], "--covariance applies to -m gmm"),
    (["impute", "holes.csv", "--draws", "3"], "put {i} in -o"),
    (["impute", "holes.csv", "--long"], "--long needs --draws"),
    (["impute", "holes.csv", "--report", "no/such/dir/r.json"], "directory"),
    (["impute", "constant.csv"], "column 'a' is constant"),
    (["impute", "imputation.csv", "--draws", "2", "--long"], "already has a column 'imputation'"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    files = {"allmissing.csv": "a,b\n1,\n2,\n3,\n", "labels.csv": "name,a\nx,1\ny,\nz,3\n",
             "holes.csv": "a,b\n1,2\n2,\n3,5\n5,4\n", "other.csv": "p,q\n1,2\n3,4\n5,7\n",
             "constant.csv": "a,b\n1,2\n1,\n1,5\n", "imputation.csv": "a,imputation\n1,2\n,3\n4,5\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [None, float("nan"), None]}), "nanparquet.parquet")
    assert run("fit", "other.csv", "-o", "other.json").exit_code == 0
    assert run("fit", "holes.csv", "-o", "good.json").exit_code == 0
    assert run("fit", "other.csv", "-m", "kmeans", "-k", 2, "-o", "kmeans.json").exit_code == 0
    return tmp_path


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a)[:50] for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_no_output(workdir, run, args, message):
    before = sorted(os.listdir(workdir))
    result = run(*args, "-o", "out.csv")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(os.listdir(workdir)) == before


def test_a_prior_fills_from_the_map_fit_that_emtool_fit_gives(run):
    result = run("impute", FAITHFUL_MISSING, "--prior", "default", "--model-out", "map.json", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    imputed = json.loads(pathlib.Path("map.json").read_text())
    assert imputed["options"]["prior"] == "default" and "log_posterior" in imputed["fit"]
    assert run("fit", FAITHFUL_MISSING, "--prior", "default", "-o", "fit.json").exit_code == 0
    assert json.loads(pathlib.Path("fit.json").read_text())["params"] == imputed["params"]
    auto = run("impute", FAITHFUL_MISSING, "-m", "gmm", "-k", "auto", "--k-range", "1:2", "--prior-param",
               "kappa=0.1", "--model-out", "auto.json", "-o", "auto.csv")
    assert auto.exit_code == 0, auto.output
    assert json.loads(pathlib.Path("auto.json").read_text())["options"]["prior_params"]["kappa"] == 0.1
    again = run("impute", FAITHFUL_MISSING, "--model", "map.json", "--prior", "default", "-o", "x.csv")
    assert again.exit_code == 2 and "--prior applies to fitting" in again.stderr


def test_nothing_missing_with_an_empty_line_writes_the_rows_read(run):
    """The reader skips an empty line; the output, which would otherwise be the input's bytes,
    then holds only the rows read, so that no reader takes the empty line for a row (found by
    the fuzz suite: a one-column table with a blank second line)."""
    import pathlib

    pathlib.Path("in.csv").write_bytes(b"a\n\n0.0\n0.0\n0.0\n0.0\n")
    assert run("impute", "in.csv", "--max-iter", "1", "-o", "out.csv").exit_code == 0
    assert pathlib.Path("out.csv").read_bytes() == b"a\n0.0\n0.0\n0.0\n0.0\n"
