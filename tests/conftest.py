import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from emcli.cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAITHFUL = ROOT / "sample_data" / "faithful.csv"
BLOBS = ROOT / "sample_data" / "blobs.csv"


@pytest.fixture
def faithful():
    import pandas as pd

    return pd.read_csv(FAITHFUL).to_numpy(dtype=float)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke emtool in-process, in a temporary directory; returns the click Result."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, [str(a) for a in args], input=input)

    return invoke


def draw_mixture(rng, weights, means, covs, n):
    """(n, D) rows from a Gaussian mixture, and their (n,) component labels."""
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, len(means[0])))
    for k in range(len(weights)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covs[k], size=rows.sum())
    return X, labels


def assert_monotone_batch(model, X: np.ndarray, rows: int, seed: int = 3, max_iter: int = 40) -> list:
    """Batch EM from a k-means++ and a random start (``model`` prepared on ``X``), each for
    ``max_iter`` iterations in chunks of ``rows``: the objective never falls (float noise
    allowed).  Returns the two runs."""
    from emcli.em.batch import run_batch
    from emcli.em.fit import start_params

    model.prepare(X)
    rng = np.random.default_rng(seed)
    runs = []
    for method in ("k-means++", "random"):
        start = start_params(model, X, method, rng, rows=len(X))
        run = run_batch(model, X, start, rows=rows, max_iter=max_iter, tol=0, rng=rng, max_reseeds=0)
        scores = np.array([row["score"] for row in run.trace])
        assert run.n_iter == max_iter
        assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:])), np.diff(scores) / np.abs(scores[1:])
        runs.append(run)
    return runs


def assert_bad_input(run, name: str, text: str, args: list, message: str) -> None:
    """``emtool ARGS -o m.json`` on the file ``name`` holding ``text`` (in the current
    directory): exit 2, one line on stderr holding ``message``, nothing on stdout or disk."""
    import os

    pathlib.Path(name).write_text(text)
    before = sorted(os.listdir("."))
    result = run(*args, "-o", "m.json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(os.listdir(".")) == before


def pytest_addoption(parser):
    """--fuzz-long, the fuzz suite's long profile, from any directory (see tests/fuzz/plugin.py);
    --record-durations."""
    from fuzz.plugin import pytest_addoption as fuzz_options

    fuzz_options(parser)
    parser.addoption("--record-durations", action="store_true",
                     help="write each test's seconds to tests/durations.json, which marks the slow ones")


# -- the quick subset: `pytest -m "not slow"` ---------------------------------------------------

#: each test's seconds (setup, call and teardown) in a recorded run; `python -m pytest -q
#: -p no:cacheprovider --record-durations [TESTS]` updates those of the tests it runs
DURATIONS = pathlib.Path(__file__).parent / "durations.json"
#: a test that took at least this long in the recorded run is marked slow
SLOW_SECONDS = 0.1
_measured: dict = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: took at least SLOW_SECONDS in the run recorded in "
                                       "tests/durations.json (deselect with -m 'not slow')")


def pytest_collection_modifyitems(config, items):
    import json

    recorded = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    for item in items:
        if recorded.get(item.nodeid, 0.0) >= SLOW_SECONDS:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: a finished worker's fuzz counts join the controller's."""
    from fuzz import contract

    contract.merge(getattr(node, "workeroutput", {}).get("fuzz_stats", {}))


def pytest_terminal_summary(terminalreporter):
    from fuzz.conftest import write_summary

    write_summary(terminalreporter)


def pytest_runtest_logreport(report):
    _measured[report.nodeid] = _measured.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    import json

    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller, which sees every report, records them
    if session.config.getoption("record_durations") and _measured:
        # a run of some tests updates theirs and keeps the others'
        recorded = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        recorded.update({k: round(v, 2) for k, v in _measured.items()})
        DURATIONS.write_text(json.dumps(dict(sorted(recorded.items())), indent=0) + "\n")
