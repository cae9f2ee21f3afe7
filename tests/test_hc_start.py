"""--init hc: EM started from model-based hierarchical clustering (emcli.em.hc), and the
published mclust results it reproduces on the sample data."""

import json

import numpy as np
import pandas as pd
import pytest

from emcli.em import hc
from emcli.em.fit import fit
from emcli.models.gmm import GaussianMixture

from conftest import FAITHFUL

IRIS = str(FAITHFUL).replace("faithful.csv", "iris.csv")


def test_hc_start_is_the_same_every_run_and_seed(faithful):
    runs = [fit(GaussianMixture(3, "VVV"), faithful, init="hc", seed=seed).best for seed in (0, 1, 7)]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.params.means, runs[0].params.means)
        assert run.log_likelihood == runs[0].log_likelihood


def test_hc_start_is_the_m_step_of_the_cut_tree(faithful):
    model = GaussianMixture(3, "EEE")
    model.prepare(faithful)
    from emcli.em.start import start_params

    params = start_params(model, faithful, "hc", np.random.default_rng(0), rows=len(faithful))
    labels = hc.partition(faithful, 3)
    for k in range(3):
        np.testing.assert_allclose(params.means[k], faithful[labels == k].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(params.weights[k], np.mean(labels == k), rtol=1e-12)


def test_hc_sample_draws_the_rows_with_the_seed(faithful):
    first = fit(GaussianMixture(2, "VVI"), faithful, init="hc", seed=3, hc_sample=50).best
    again = fit(GaussianMixture(2, "VVI"), faithful, init="hc", seed=3, hc_sample=50).best
    np.testing.assert_array_equal(first.params.means, again.params.means)


def test_faithful_eee_three_from_hc_is_mclusts_fit(run):
    """mclust's Mclust(faithful) picks EEE with 3 components, log-likelihood -1126.36: its EM
    from the same hierarchical start, stopped where its relative change falls below 1e-5
    (1e-5 x 1126 / 272 rows: --tol 4.1e-5 per row).  Run on, the same optimum is -1126.317."""
    assert run("fit", FAITHFUL, "--covariance", "EEE", "-k", "3", "--init", "hc", "--tol", "4.1e-5",
               "-o", "mclust.json").exit_code == 0
    assert json.load(open("mclust.json"))["fit"]["log_likelihood"] == pytest.approx(-1126.36, abs=0.01)
    assert run("fit", FAITHFUL, "--covariance", "EEE", "-k", "3", "--init", "hc", "--tol", "1e-10",
               "-o", "converged.json").exit_code == 0
    assert json.load(open("converged.json"))["fit"]["log_likelihood"] == pytest.approx(-1126.316, abs=0.001)


def test_iris_fourteen_form_bic_search_picks_vev_two(run, monkeypatch):
    """mclust's BIC over its fourteen forms picks VEV with 2 components on iris, log-likelihood
    -215.726; select-k with --init hc builds one tree for every cell."""
    built = []
    real = hc.tree
    monkeypatch.setattr(hc, "tree", lambda X, model=hc.DEFAULT_MODEL: built.append(len(X)) or real(X, model))
    monkeypatch.setattr(hc, "_cache", [])
    result = run("select-k", IRIS, "--k-range", "1:4", "--init", "hc", "-o", "best.json", "--output-format", "json")
    assert result.exit_code == 0, result.output
    best = json.load(open("best.json"))
    assert (best["options"]["covariance"], best["options"]["k"]) == ("VEV", 2)
    assert best["fit"]["log_likelihood"] == pytest.approx(-215.726, abs=0.01)
    assert built == [150]
    rows = json.loads(result.output)["rows"] if result.output.startswith("{") else json.loads(result.output)
    assert len({(row["covariance"], row["k"]) for row in rows}) == 14 * 4


@pytest.mark.parametrize("args, message", [
    (["-m", "kmeans", "--init", "hc"], "model kmeans does not take --init hc (gmm, student and tmix do)"),
    (["--init", "hc", "--restarts", "3"], "--init hc is one deterministic start; it takes neither --restarts nor --start-runs"),
    (["--hc-sample", "100"], "--hc-sample applies to --init hc"),
    (["--init", "hc", "-k", "5", "--hc-sample", "3"], "--hc-sample 3 is fewer rows than the 5 components"),
    (["--init", "hc", "--hc-sample", "20000"], "20000 is not in the range 2<=x<=10000"),
])
def test_hc_options_are_checked_in_one_line(run, args, message):
    result = run("fit", FAITHFUL, *args, "-o", "m.json")
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_student_mixture_starts_from_hc(faithful):
    from emcli.models.student import StudentMixture

    runs = [fit(StudentMixture(2, "full"), faithful, init="hc", seed=seed).best for seed in (0, 5)]
    assert runs[0].log_likelihood == runs[1].log_likelihood and np.isfinite(runs[0].log_likelihood)


def test_hc_start_on_rows_with_missing_cells(faithful):
    X = pd.read_csv(str(FAITHFUL).replace("faithful.csv", "faithful_missing.csv")).to_numpy(float)
    run = fit(GaussianMixture(2, "VEV"), X, init="hc").best
    assert np.isfinite(run.log_likelihood)
