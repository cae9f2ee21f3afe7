"""Stepwise (online) EM: in memory against batch EM, from a batch source, and the stream reader."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from emcli.em.batch import evaluate
from emcli.em.fit import fit, start_params
from emcli.em.stepwise import fit_source, rebatch, step_size
from emcli.io.stream import batch_source, iter_rows
from emcli.io.tables import numeric_matrix, read_table
from emcli.models.gmm import GaussianMixture

from conftest import FAITHFUL, draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

#: faithful's tied optimum lies along a flat ridge, which shrinking steps climb slowly
OPTIONS = {"faithful": {"batch_size": 50, "kappa": 0.7, "epochs": 300},
           "synthetic": {"batch_size": 100, "kappa": 0.7, "epochs": 30}}


def synthetic(n=1500, seed=7):
    return draw_mixture(np.random.default_rng(seed), WEIGHTS, MEANS, COVS, n)[0]


def run(X, algorithm, options, seed):
    return fit(GaussianMixture(3, "tied" if len(X) == 272 else "full"), X, seed=seed,
               algorithm=algorithm, algorithm_options=options).best


@pytest.mark.parametrize("data", ["faithful", "synthetic"])
def test_stepwise_reaches_batch_em_from_the_same_start(faithful, data):
    X = faithful if data == "faithful" else synthetic()
    gaps = []
    for seed in range(3):
        batch = run(X, "batch", {}, seed)
        stepwise = run(X, "stepwise", OPTIONS[data], seed)
        gaps.append((batch.score - stepwise.score) / abs(batch.score))
        # the reported score is the exact log-likelihood of the returned parameters
        model = GaussianMixture(3, "tied" if data == "faithful" else "full")
        model.prepare(X)
        assert evaluate(model, stepwise.params, X, 100)[1] == pytest.approx(stepwise.score, rel=1e-12)
    # minibatch noise may settle in a neighbouring optimum from one start (faithful, seed 0:
    # 1.1e-3 below), never far from batch EM's, and most starts reach it
    assert max(gaps) <= 2e-3 and sorted(gaps)[1] <= 1e-3, gaps


def test_stepwise_is_reproducible_with_a_seed(faithful):
    first, again = (run(faithful, "stepwise", {"batch_size": 30, "kappa": 0.6, "epochs": 5}, 3)
                    for _ in range(2))
    assert first.score == again.score and np.array_equal(first.params.means, again.params.means)
    other = run(faithful, "stepwise", {"batch_size": 30, "kappa": 0.6, "epochs": 5}, 4)
    assert not np.array_equal(first.params.means, other.params.means)


def test_the_trace_holds_one_row_per_epoch_with_its_step_size(faithful):
    run_ = run(faithful, "stepwise", {"batch_size": 100, "kappa": 0.8, "epochs": 4}, 0)
    trace = run_.trace
    assert [row["iter"] for row in trace] == [0, 1, 2, 3, 4, 4]
    assert [row["minibatches"] for row in trace] == [0, 3, 6, 9, 12, 12]  # 272 rows: 100, 100, 72
    assert trace[0]["eta"] is None
    for row in trace[1:]:
        assert row["eta"] == pytest.approx((row["minibatches"] - 1 + 2) ** -0.8)
    assert [row["estimated"] for row in trace] == [False, True, True, True, True, False]
    assert trace[-1]["log_likelihood"] == run_.log_likelihood
    assert trace[-1]["log_likelihood_per_row"] == pytest.approx(run_.log_likelihood / 272)


def test_step_sizes_and_rebatching():
    assert step_size(0, 1.0) == 0.5 and step_size(2, 0.5) == 0.5
    blocks = [np.arange(n * 2.0).reshape(n, 2) + 100 * i for i, n in enumerate((3, 7, 1, 4))]
    cut = list(rebatch(iter(blocks), 4))
    assert [len(b) for b in cut] == [4, 4, 4, 3]
    assert np.array_equal(np.concatenate(cut), np.concatenate(blocks))


def test_a_batch_source_fit_matches_the_in_memory_optimum():
    X = synthetic(20000, seed=11)
    model = GaussianMixture(3, "full")
    model.prepare(X)
    batch = fit(GaussianMixture(3, "full"), X, seed=0).best
    source = lambda: (X[a : a + 3000] for a in range(0, len(X), 3000))  # noqa: E731
    streamed = fit_source(GaussianMixture(3, "full"), source, rng=np.random.default_rng(0),
                          batch_size=500, epochs=5)
    exact = evaluate(model, streamed.params, X, 1000)[1]
    assert exact >= batch.score - 1e-3 * abs(batch.score)
    assert [row["minibatches"] for row in streamed.trace] == [40, 80, 120, 160, 200]
    # the running estimate of the last epoch is close to the exact value
    assert streamed.log_likelihood == pytest.approx(exact, rel=1e-2)
    again = fit_source(GaussianMixture(3, "full"), source, rng=np.random.default_rng(0),
                       batch_size=500, epochs=5)
    assert np.array_equal(again.params.means, streamed.params.means)


def test_a_batch_source_with_the_length_given_scales_the_same():
    X = synthetic(4000, seed=5)
    source = lambda: iter([X[:1500], X[1500:]])  # noqa: E731
    counted, given = (fit_source(GaussianMixture(3, "full"), source, rng=np.random.default_rng(1),
                                 batch_size=400, epochs=2, n_rows=n) for n in (None, 4000))
    # with a maximum-likelihood M-step only the first epoch's scale differs, not the parameters
    assert np.allclose(counted.params.means, given.params.means, rtol=1e-10)
    assert counted.log_likelihood == pytest.approx(given.log_likelihood, rel=1e-12)


@pytest.fixture
def table_files(tmp_path):
    rng = np.random.default_rng(2)
    n = 30000
    table = pa.table({"count": rng.integers(0, 9, n), "x": rng.normal(size=n), "label": ["a"] * n,
                      "y": np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n))})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=4000)
    pacsv.write_csv(table, tmp_path / "t.csv")
    return tmp_path


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
@pytest.mark.parametrize("columns", [None, ["y", "count"]])
def test_the_stream_reader_yields_the_table_readers_rows(table_files, name, columns):
    path = str(table_files / name)
    expected = numeric_matrix(read_table(path), columns, path)[1]
    blocks = list(iter_rows(path, columns, block_bytes=64 * 1024))
    streamed = np.concatenate(blocks)
    assert streamed.dtype == np.float64 and streamed.shape == expected.shape
    assert np.array_equal(streamed, expected, equal_nan=True)
    if name.endswith("csv"):
        assert len(blocks) > 1
    source = batch_source(path, columns)
    assert np.array_equal(np.concatenate(list(source())), expected, equal_nan=True)
    assert np.array_equal(np.concatenate(list(source())), expected, equal_nan=True)  # re-opened


def test_the_stream_reader_names_bad_columns_and_rows(tmp_path):
    from emcli.errors import DataError

    path = tmp_path / "bad.csv"
    path.write_text("a,b\n" + "1,2\n" * 20000 + "3,inf\n")
    with pytest.raises(DataError, match=r"column 'b' row 20001 is infinite"):
        list(iter_rows(str(path), block_bytes=4096))
    text = tmp_path / "text.csv"
    text.write_text("a,b\n" + "1,2\n" * 20000 + "4,x\n")
    with pytest.raises(DataError, match=r"column 'b' (row 20001 )?is not numeric \(invalid value 'x'\)"):
        list(iter_rows(str(text), block_bytes=4096))
    # pyarrow names the row when Arrow runs on one thread (OMP_NUM_THREADS=1, a one-CPU machine)
    import pyarrow as pa

    threads = pa.cpu_count()
    pa.set_cpu_count(1)
    try:
        with pytest.raises(DataError, match=r"column 'b' row 20001 is not numeric \(invalid value 'x'\)"):
            list(iter_rows(str(text), block_bytes=4096))
    finally:
        pa.set_cpu_count(threads)
    with pytest.raises(DataError, match=r"has no column 'z' \(it has: a, b\)"):
        list(iter_rows(str(path), ["z"]))


@pytest.mark.parametrize("kappa", ["0.5", "1.01", "0"])
def test_kappa_outside_the_open_closed_interval_is_a_usage_error(run, kappa):
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "--kappa", kappa, "-o", "m.json")
    assert result.exit_code == 2 and "--kappa" in result.output


def test_the_cli_fits_stepwise_and_records_the_step_sizes(run):
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "--batch-size", 64,
                 "--kappa", 1, "--epochs", 3, "--seed", 1, "-o", "m.json", "--trace", "t.csv")
    assert result.exit_code == 0, result.output
    doc = json.load(open("m.json"))
    assert doc["fit"]["algorithm"] == "stepwise"
    # a file is streamed, in file order, so the trace has one row per epoch and no init row
    assert [row["eta"] for row in doc["fit"]["trace"] if "eta" in row] == pytest.approx([1 / 6, 1 / 11, 1 / 16])
    assert "eta" in open("t.csv").readline()
    again = run("fit", FAITHFUL, "-k", 2, "--algorithm", "stepwise", "--batch-size", 64,
                "--kappa", 1, "--epochs", 3, "--seed", 1, "-o", "m2.json")
    assert again.exit_code == 0
    assert json.load(open("m2.json"))["params"] == doc["params"]


@pytest.mark.parametrize("name", ["kmeans", "bernoulli", "categorical", "student", "tmix"])
def test_every_listed_model_takes_stepwise(name):
    from emcli.models import registry

    assert "stepwise" in registry.spec(name).algorithms
    model = registry.create(name, {"k": 2} if name != "student" else {})
    rng = np.random.default_rng(0)
    X = (rng.random((600, 4)) < 0.3).astype(float) if name in ("bernoulli", "categorical") else \
        np.vstack([rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 4])
    batch = fit(model, X, seed=0).best
    stepwise = fit(model, X, seed=0, algorithm="stepwise",
                   algorithm_options={"batch_size": 100, "kappa": 0.7, "epochs": 30}).best
    assert stepwise.score >= batch.score - 1e-3 * abs(batch.score)


def test_start_params_from_a_stream_use_its_first_minibatch():
    X = synthetic(3000, seed=9)
    model = GaussianMixture(3, "full")
    streamed = fit_source(model, lambda: iter([X]), rng=np.random.default_rng(4), batch_size=1000,
                          epochs=1)
    assert np.allclose(model.center, X[:1000].mean(axis=0))
    reference = GaussianMixture(3, "full")
    reference.prepare(X[:1000])
    start = start_params(reference, X[:1000], "k-means++", np.random.default_rng(4), 1000)
    warm = fit_source(GaussianMixture(3, "full"), lambda: iter([X]), rng=np.random.default_rng(4),
                      init=start, batch_size=1000, epochs=1)
    assert np.array_equal(warm.params.means, streamed.params.means)
