"""Long work told to the person at the terminal: the iterations a fit records reach a watcher,
the impute draws and compress's search report each step, and -v lists the resolved options
and the time each part took. In a pipe none of it is shown."""

import numpy as np

from conftest import FAITHFUL


def test_every_recorded_iteration_reaches_the_watcher():
    from emcli.em.fit import fit
    from emcli.em.watch import watching
    from emcli.models import registry

    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    told = []
    with watching(lambda iteration, score: told.append((iteration, score))):
        outcome = fit(registry.create("gmm", {"k": 2}), X, init="random", restarts=1, seed=3)
    trace = outcome.best.trace
    assert told[-len(trace):] == [(row["iter"], row["score"]) for row in trace]
    told.clear()
    fit(registry.create("gmm", {"k": 2}), X, init="random", restarts=1, seed=3)
    assert told == []  # no watcher once the block is left


def test_stepwise_epochs_reach_the_watcher():
    from emcli.em.stepwise import run_stepwise
    from emcli.em.watch import watching
    from emcli.models import registry

    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    model = registry.create("gmm", {"k": 2})
    model.prepare(X)
    from emcli.em.start import start_params

    start = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    told = []
    with watching(lambda iteration, score: told.append(iteration)):
        run_stepwise(model, X, start, rows=128, max_iter=3, tol=0.0, rng=np.random.default_rng(1), max_reseeds=0,
                     batch_size=50)
    assert [i for i in told if i > 0][:3] == [1, 2, 3]


class Recorder:
    """console.activity as a test sees it: every step and detail, terminal or not."""

    def __init__(self):
        self.opened, self.steps, self.details = [], 0, []

    def __call__(self, total, description):
        import contextlib

        self.opened.append((total, description))
        recorder = self

        class Shown:
            def advance(self, *_):
                recorder.steps += 1

            def detail(self, text):
                recorder.details.append(text)

        return contextlib.nullcontext(Shown())


def test_impute_tells_each_draw_and_compress_each_k_it_tries(run, monkeypatch):
    import json

    from emcli import console

    from conftest import ROOT

    shown = Recorder()
    monkeypatch.setattr(console, "activity", shown)
    assert run("impute", ROOT / "sample_data" / "survey.csv", "--draws", "3", "-o", "s_{i}.csv").exit_code == 0
    assert shown.opened == [(3, "imputing")] and shown.steps == 3
    shown = Recorder()
    monkeypatch.setattr(console, "activity", shown)
    result = run("compress", ROOT / "sample_data" / "scene.png", "--target-psnr", "30", "--report", "r.json",
                 "-o", "s.emq")
    assert result.exit_code == 0, result.output
    tried = [row["k"] for row in json.load(open("r.json"))["search"]]
    assert [int(text.split(":")[0][2:]) for text in shown.details] == tried
    assert all("PSNR" in text for text in shown.details)


def test_verbose_lists_the_resolved_options_and_the_timings(run):
    quiet = run("fit", FAITHFUL, "-k", "2", "-o", "m.json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    loud = run("-v", "fit", FAITHFUL, "-k", "2", "--restarts", "2", "-o", "m.json")
    lines = loud.stderr.splitlines()
    assert lines[0].startswith("emtool: gmm with k=2, covariance=full,") and "restarts=2" in lines[0]
    assert "init=k-means++" in lines[0] and "threads=" in lines[0] and "engine=local" in lines[0]
    assert "emtool: columns: eruptions, waiting" in lines
    assert lines[-1].startswith("emtool: time: read ") and " fit " in lines[-1] and " write " in lines[-1]
