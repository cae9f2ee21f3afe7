"""emtool select-k: the grid, the criteria, the table and the chosen model."""

import json
import pathlib

import numpy as np
import pytest

from emcli.errors import UsageError
from emcli.data import Rows
from emcli.pipeline import FitSpec
from emcli.select.grid import Cell, best_index, fit_cell, parse_k_range, run_grid

from conftest import BLOBS, FAITHFUL


def test_faithful_picks_tied_three_like_mclust(run):
    """mclust's fourteen forms by BIC pick EEE (tied) with 3 components; VVV with 2 comes
    second in mclust's ranking at BIC -2322.192, ours 2322.19 (its sign flipped)."""
    result = run("select-k", FAITHFUL, "-m", "gmm", "--k-range", "1:5", "--covariance", "all",
                 "--format", "json", "-o", "best.json", "--table", "table.csv")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 14 * 5
    best = [row for row in rows if row["best"] is True]
    assert len(best) == 1 and (best[0]["covariance"], best[0]["k"]) == ("EEE", 3)
    vvv_two = next(row for row in rows if (row["covariance"], row["k"]) == ("VVV", 2))
    assert vvv_two["bic"] == pytest.approx(2322.192, abs=0.001)
    assert best[0]["bic"] == pytest.approx(2314.30, abs=0.01)
    assert best[0]["bic"] == min(row["bic"] for row in rows if row["bic"] is not None)
    doc = json.loads(pathlib.Path("best.json").read_text())
    assert doc["options"]["covariance"] == "EEE" and doc["options"]["k"] == 3
    assert doc["fit"]["bic"] == pytest.approx(best[0]["bic"], rel=1e-12)
    assert pathlib.Path("table.csv").read_text().splitlines()[0].startswith("model,covariance,k,")


def test_degenerate_cells_are_rows_with_their_reason(faithful):
    """full k=3 on faithful with sixty more eruptions all waiting exactly 83 minutes puts a
    component on that line: no spread across it, a likelihood only the floor bounds; it must
    not win."""
    durations = np.random.default_rng(0).uniform(1.5, 5.0, 60).round(3)
    spiked = np.vstack([faithful, np.column_stack([durations, np.full(60, 83.0)])])
    row, doc, _ = fit_cell(FitSpec("gmm", restarts=3), Cell(3, "full"),
                           Rows(None, ["eruptions", "waiting"], spiked))
    assert doc is None and row["bic"] is None
    assert row["error"].startswith("degenerate: component")
    too_many, _, _ = fit_cell(FitSpec("gmm"), Cell(300, "full"), Rows(None, ["a", "b"], faithful))
    assert "300 components but only 272 rows" in too_many["error"]


def test_icl_adds_twice_the_entropy(faithful):
    row, _, _ = fit_cell(FitSpec("gmm"), Cell(1, "full"), Rows(None, ["a", "b"], faithful))
    assert row["icl"] == pytest.approx(row["bic"])  # one component: no uncertainty
    row, _, _ = fit_cell(FitSpec("gmm", restarts=3), Cell(3, "tied"), Rows(None, ["a", "b"], faithful))
    assert row["icl"] > row["bic"]


def test_results_do_not_depend_on_jobs():
    X = np.loadtxt(BLOBS, delimiter=",", skiprows=1, usecols=(0, 1))
    cells = [Cell(k, cov) for cov in ("full", "diag") for k in (1, 2, 3, 4)]
    spec, rows = FitSpec("gmm", restarts=2, seed=3), Rows(None, ["x", "y"], X)
    one = run_grid(spec, cells, rows, jobs=1)
    two = run_grid(spec, cells, rows, jobs=2)
    strip = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row, _, _ in rows]
    assert strip(one) == strip(two)
    assert best_index([row for row, _, _ in one], "bic") == best_index([row for row, _, _ in two], "bic")


def test_bic_recovers_the_true_number_of_components():
    """Data from K = 3 well separated components in D = 2, 5 and 10: BIC picks 3 in most seeds."""
    hits = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        for d in (2, 5, 10):
            means = rng.normal(scale=6.0, size=(3, d))
            X = means[rng.integers(3, size=600)] + rng.normal(size=(600, d))
            rows = [row for row, _, _ in run_grid(FitSpec("gmm", restarts=2), [Cell(k, "full") for k in range(1, 6)],
                                               Rows(None, [f"c{j}" for j in range(d)], X), jobs=1)]
            hits += rows[best_index(rows, "bic")]["k"] == 3
    assert hits >= 13  # of 15


@pytest.mark.parametrize("text,expected", [("1:4", [1, 2, 3, 4]), ("2,8,4", [2, 4, 8]), ("3", [3])])
def test_k_range(text, expected):
    assert parse_k_range(text) == expected


@pytest.mark.parametrize("args,message", [
    (["--k-range", "5:2"], "--k-range 5:2 is reversed"),
    (["--k-range", "a:b"], "is not a range such as 1:9"),
    (["--k-range", "0:3"], "must hold positive numbers"),
    (["--k-range", "300:400"], "every --k-range value exceeds the 272 rows"),
    (["-m", "kmeans", "--criterion", "bic"], "--criterion bic needs a likelihood, which kmeans has not"),
    (["-m", "blr", "--criterion", "bic"], "model blr has no number of components select-k can choose"),
    (["-m", "experts", "--criterion", "bic"], "model experts needs --target COLUMN"),
    (["-m", "experts", "--target", "waiting", "--criterion", "cv"], "--criterion cv is not available"),
    (["--criterion", "nope"], "unknown --criterion 'nope'"),
    (["--covariance", "wide"], "--covariance 'wide' is not one of"),
    (["--criterion", "cv", "--folds", "300"], "--folds 300 is more than the 272 rows of"),
    (["-m", "bernoulli", "--covariance", "full"], "model bernoulli does not take --covariance"),
])
def test_bad_input_is_one_line_and_writes_nothing(run, args, message):
    result = run("select-k", FAITHFUL, *args, "-o", "best.json")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not pathlib.Path("best.json").exists()


def test_range_text_errors_are_usage_errors():
    with pytest.raises(UsageError):
        parse_k_range("")


def test_gap_and_reconstruction_for_kmeans_and_the_plot(run):
    result = run("select-k", BLOBS, "-m", "kmeans", "--k-range", "1:6", "--criterion", "gap",
                 "--format", "json", "--plot", "gap.png", "--jobs", 1)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["k"] for row in rows if row["best"] is True] == [3]
    assert set(rows[0]) >= {"inertia", "gap", "gap_se"} and "bic" not in rows[0]
    from PIL import Image

    assert Image.open("gap.png").format == "PNG"
    again = run("select-k", BLOBS, "-m", "kmeans", "--k-range", "1:5", "--criterion",
                "reconstruction", "--format", "json", "--jobs", 1)
    errors = [row["reconstruction"] for row in json.loads(again.stdout)]
    assert errors[2] < 0.5 * errors[1] and abs(errors[3] - errors[2]) < 0.2 * errors[2]


def test_gap_is_allowed_for_gmm_and_cv_does_not_depend_on_jobs(run):
    gap = run("select-k", BLOBS, "--k-range", "1:4", "--covariance", "full", "--criterion", "gap",
              "--reference-draws", 3, "--format", "json", "--jobs", 1)
    assert gap.exit_code == 0, gap.output
    # three restarts per fit (select-k's default was 3; every command's is now 1): with one, a
    # fold's k=3 fit may stop in a poorer optimum and k=4 wins by 0.003 per row
    cv = [run("select-k", BLOBS, "--k-range", "1:5", "--covariance", "full", "--criterion", "cv",
              "--format", "json", "--jobs", jobs, "--restarts", 3) for jobs in (1, 2)]
    picks = [[row["k"] for row in json.loads(r.stdout) if row["best"] is True] for r in cv]
    assert picks == [[3], [3]]
    curves = [[row["cv"] for row in json.loads(r.stdout)] for r in cv]
    assert curves[0] == curves[1]


def test_experts_are_searched_with_their_target(run):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, size=600)
    slope = np.choose((x // 1).astype(int), [2.0, -1.0, 3.0])
    y = slope * x + np.choose((x // 1).astype(int), [1.0, 5.0, -4.0]) + rng.normal(scale=0.1, size=600)
    pathlib.Path("regimes.csv").write_text("x,y\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)) + "\n")
    result = run("select-k", "regimes.csv", "-m", "experts", "--target", "y", "--k-range", "1:4",
                 "--format", "json", "--jobs", 1, "-o", "best.json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["k"] for row in rows if row["best"] is True] == [3]
    assert json.loads(pathlib.Path("best.json").read_text())["target"] == "y"


def test_a_prior_makes_every_cell_a_map_fit(run):
    result = run("select-k", FAITHFUL, "--k-range", "2:3", "--covariance", "full", "--prior", "default",
                 "--prior-param", "kappa=0.1", "--jobs", 1, "--format", "json", "-o", "best.json")
    assert result.exit_code == 0, result.output
    best = json.loads(pathlib.Path("best.json").read_text())
    assert best["options"]["prior"] == "default" and best["options"]["prior_params"]["kappa"] == 0.1
    assert "log_posterior" in best["fit"]
    row = next(r for r in json.loads(result.stdout) if r["best"] is True)
    assert row["log_likelihood"] == best["fit"]["log_likelihood"]
    fitted = run("fit", FAITHFUL, "-k", best["options"]["k"], "--prior-param", "kappa=0.1", "--restarts", 3,
                 "-o", "fit.json")
    assert fitted.exit_code == 0
    # the same optimum to the convergence tolerance, its components perhaps in another order
    refit = json.loads(pathlib.Path("fit.json").read_text())["params"]
    order = lambda params: np.argsort([mean[0] for mean in params["means"]])
    for key in ("weights", "means", "covariances"):
        assert np.allclose(np.asarray(refit[key])[order(refit)], np.asarray(best["params"][key])[order(best["params"])],
                           rtol=1e-3)
    refused = run("select-k", FAITHFUL, "-m", "tmix", "--k-range", "1:3", "--prior", "default")
    assert refused.exit_code == 2 and "model tmix does not take --prior" in refused.stderr


def test_the_table_is_typed_for_scripts(run):
    """Issue 13, item 14: ``best`` is a boolean (true in exactly one row), ``error`` and an
    absent covariance are null in JSON and empty in CSV, booleans are true/false in CSV."""
    result = run("select-k", BLOBS, "-m", "kmeans", "--k-range", "1:3", "--criterion", "gap",
                 "--output-format", "json", "--table", "t.csv")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["best"] for row in rows].count(True) == 1
    assert all(isinstance(row["best"], bool) and isinstance(row["converged"], bool) for row in rows)
    assert all(row["error"] is None and row["covariance"] is None for row in rows)
    import csv

    table = list(csv.DictReader(open("t.csv")))
    assert {row["best"] for row in table} == {"true", "false"}
    assert {row["converged"] for row in table} == {"true"}
    assert {row["error"] for row in table} == {""} and {row["covariance"] for row in table} == {""}


def test_a_trace_csv_writes_booleans_as_true_false(run):
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "--trace", "t.csv", "-o", "m.json")
    assert result.exit_code == 0, result.output
    import csv

    assert {row["estimated"] for row in csv.DictReader(open("t.csv"))} == {"true"}
    assert "True" not in open("t.csv").read()
