"""``emtool fit --algorithm stepwise`` on a file: streamed block by block, never read as a table."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from emcli.em.start import START_BUDGET
from emcli.em.stepwise import fit_source
from emcli.models.gmm import GaussianMixture

from conftest import draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

OPTIONS = ("--batch-size", 200, "--kappa", 0.7, "--epochs", 3, "--seed", 4)


def write(path, X, missing_at=None):
    table = pa.table({"a": X[:, 0], "b": X[:, 1]})
    if missing_at is not None:
        column = table.column("b").to_pylist()
        column[missing_at] = None
        table = table.set_column(1, "b", pa.array(column, pa.float64()))
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


@pytest.fixture
def no_tables(monkeypatch):
    """Reading a whole table fails; 500-row Parquet batches, so the stream has several blocks."""
    import emcli.io.stream
    import emcli.io.tables

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read as a table")

    monkeypatch.setattr(emcli.io.tables, "read_table", refuse)
    monkeypatch.setattr(emcli.io.stream, "PARQUET_BATCH_ROWS", 500)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_is_streamed_to_the_model_of_the_in_memory_fit_of_its_rows(run, tmp_path, no_tables, suffix):
    X = draw_mixture(np.random.default_rng(3), WEIGHTS, MEANS, COVS, 2000)[0]
    path = write(tmp_path / f"data{suffix}", X)
    result = run("fit", path, "-k", 3, "--algorithm", "stepwise", *OPTIONS, "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.load(open("m.json"))
    # The same rows in the same order, in memory: stepwise EM over a source of one block.
    model = GaussianMixture(3, "full")
    reference = fit_source(model, lambda: iter([X]), rng=np.random.default_rng(4), batch_size=200,
                           kappa=0.7, epochs=3, tol=1e-6, start_runs=START_BUDGET)
    assert doc["fit"]["n_samples"] == 2000 and doc["columns"] == ["a", "b"]
    assert doc["fit"]["n_iter"] == reference.n_iter
    assert doc["fit"]["log_likelihood"] == pytest.approx(reference.log_likelihood, rel=1e-12)
    expected = model.to_json(reference.params)
    for name, value in expected.items():
        assert np.asarray(doc["params"][name]) == pytest.approx(np.asarray(value), rel=1e-10, abs=1e-12), name


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_missing_cell_is_named_by_column_and_file_row(run, tmp_path, no_tables, suffix):
    X = draw_mixture(np.random.default_rng(3), WEIGHTS, MEANS, COVS, 1200)[0]
    path = write(tmp_path / f"data{suffix}", X, missing_at=1100)
    result = run("fit", path, "-m", "kmeans", "-k", 3, "--algorithm", "stepwise", *OPTIONS, "-o", "m.json")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "column 'b' row 1101 is missing" in lines[0]


def test_an_empty_row_is_skipped_while_streaming(run, tmp_path, no_tables):
    X = draw_mixture(np.random.default_rng(3), WEIGHTS, MEANS, COVS, 1200)[0]
    X[700] = np.nan
    path = write(tmp_path / "data.parquet", X)
    skipped = run("fit", path, "-k", 3, "--algorithm", "stepwise", *OPTIONS, "-o", "m.json")
    assert skipped.exit_code == 0, skipped.output
    assert json.load(open("m.json"))["fit"]["n_samples"] == 1199


def test_a_constant_column_is_named(run, tmp_path, no_tables):
    X = draw_mixture(np.random.default_rng(3), WEIGHTS, MEANS, COVS, 1200)[0]
    X[:, 1] = 5.0
    path = write(tmp_path / "data.csv", X)
    result = run("fit", path, "-k", 3, "--algorithm", "stepwise", *OPTIONS, "-o", "m.json")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "column 'b' is constant" in result.output


@pytest.mark.parametrize("model", ["kmeans", "gmm"])
def test_a_warm_start_streams_too(run, tmp_path, no_tables, model):
    """--init MODEL.json with stepwise EM streams the file as a fresh start does (a kmeans
    warm start once took the model's labels method for categorical levels and read the whole
    table)."""
    X = draw_mixture(np.random.default_rng(3), WEIGHTS, MEANS, COVS, 1500)[0]
    path = write(tmp_path / "data.parquet", X)
    first = run("fit", path, "-m", model, "-k", 3, "--algorithm", "stepwise", *OPTIONS, "-o", "m.json")
    assert first.exit_code == 0, first.output
    again = run("fit", path, "--init", "m.json", "--algorithm", "stepwise", *OPTIONS, "-o", "again.json")
    assert again.exit_code == 0, again.output
    doc = json.load(open("again.json"))
    assert doc["model"] == model and doc["fit"]["algorithm"] == "stepwise"


def test_stepwise_with_its_defaults_reaches_batch_em_on_small_data(run):
    """Issue 13, item 15: with the defaults it made one minibatch step on faithful (272 rows)
    and stopped 1.5% below batch EM; it now runs passes until the running log-likelihood
    settles, and a fixed --epochs is still a fixed budget without a convergence warning."""
    from conftest import FAITHFUL

    assert run("fit", FAITHFUL, "-k", 2, "-o", "batch.json").exit_code == 0
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "-o", "step.json")
    assert result.exit_code == 0 and result.stderr == ""
    batch, step = (json.load(open(name))["fit"] for name in ("batch.json", "step.json"))
    assert step["converged"] and step["n_iter"] > 1
    assert step["log_likelihood"] == pytest.approx(batch["log_likelihood"], rel=1e-5)
    budget = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "--epochs", 2, "-o", "two.json")
    assert budget.exit_code == 0 and budget.stderr == ""
    assert json.load(open("two.json"))["fit"]["n_iter"] == 2
