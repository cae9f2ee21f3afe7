"""Gaussian mixtures fit on rows with missing cells: EM with the missing cells as hidden values."""

import json
import pathlib

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import multivariate_normal

from emcli.em.fit import fit
from emcli.models.registry import COVARIANCE_TYPES
from emcli.models.gmm import GaussianMixture
from emcli.models.missing import Conditional, patterns

from cases.gmm import COVS, MEANS, WEIGHTS
from conftest import draw_mixture


def hide(X, rng, share=0.3):
    """X with about ``share`` of its cells missing completely at random, no row left empty."""
    X = X.copy()
    hidden = rng.random(X.shape) < share
    hidden[hidden.all(axis=1), 0] = False
    X[hidden] = np.nan
    return X


def test_conditional_moments_match_the_textbook_formulas():
    rng = np.random.default_rng(0)
    d = 5
    a = rng.normal(size=(d, d))
    cov, mean = a @ a.T + np.eye(d), rng.normal(size=d)
    X = rng.multivariate_normal(mean, cov, size=60)
    observed = rng.random(X.shape) > 0.4
    observed[~observed.any(axis=1), 0] = True
    unique, index = patterns(observed)
    assert len(unique) < len(X)
    cond = Conditional(np.where(observed, X - mean, 0.0), unique, index, mean, cov)
    weights = rng.random(len(X))
    spread = np.zeros((d, d))
    for n, (x, o) in enumerate(zip(X, observed)):
        m = ~o
        assert cond.log_density[n] == pytest.approx(
            multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(x[o]), rel=1e-12)
        regression = cov[np.ix_(m, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
        filled = x.copy()
        filled[m] = mean[m] + regression @ (x[o] - mean[o])
        np.testing.assert_allclose(cond.filled[n], filled, rtol=1e-12, atol=1e-12)
        spread[np.ix_(m, m)] += weights[n] * (cov[np.ix_(m, m)] - regression @ cov[np.ix_(o, m)])
    np.testing.assert_allclose(cond.spread(weights), spread, atol=1e-10)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_log_likelihood_of_incomplete_rows_is_the_marginal_density(covariance):
    rng = np.random.default_rng(1)
    X = hide(draw_mixture(rng, WEIGHTS, MEANS, COVS, 400)[0], rng)
    model = GaussianMixture(3, covariance)
    params = fit(model, X).best.params
    covs = model._component_covs(params)
    _, score = model.e_step(params, X)
    expected = 0.0
    for x in X:
        o = ~np.isnan(x)
        expected += np.log(sum(w * multivariate_normal(m[o], c[np.ix_(o, o)]).pdf(x[o])
                               for w, m, c in zip(params.weights, params.means, covs)))
    assert score == pytest.approx(expected, rel=1e-10)


def test_single_gaussian_with_missing_cells_is_the_observed_data_maximum():
    """K = 1 is the multivariate normal with missing data: EM reaches the maximum of the
    observed-data likelihood found by a general-purpose optimiser."""
    rng = np.random.default_rng(2)
    X = hide(rng.multivariate_normal([1.0, -2.0, 0.5], [[2, 0.8, 0.3], [0.8, 1, -0.4], [0.3, -0.4, 1.5]], 300), rng)
    params = fit(GaussianMixture(1, "full", reg_covar=0.0), X, tol=1e-12, max_iter=5000).best.params

    observed = ~np.isnan(X)
    groups = [(o, X[(observed == o).all(axis=1)][:, o]) for o in np.unique(observed, axis=0)]

    def negative_loglik(theta):
        mean, lower = theta[:3], np.zeros((3, 3))
        lower[np.tril_indices(3)] = theta[3:]
        cov = lower @ lower.T
        return -sum(multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(rows).sum()
                    for o, rows in groups)

    start = np.concatenate([np.nanmean(X, axis=0), np.eye(3)[np.tril_indices(3)]])
    best = optimize.minimize(negative_loglik, start, method="BFGS", options={"gtol": 1e-7})
    lower = np.zeros((3, 3))
    lower[np.tril_indices(3)] = best.x[3:]
    np.testing.assert_allclose(params.means[0], best.x[:3], atol=1e-4)
    np.testing.assert_allclose(params.cov[0], lower @ lower.T, atol=1e-4)


@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
def test_likelihood_never_decreases_and_chunks_agree(covariance):
    rng = np.random.default_rng(3)
    X = hide(draw_mixture(rng, WEIGHTS, MEANS, COVS, 500)[0], rng)
    run = fit(GaussianMixture(3, covariance), X, tol=0, max_iter=40, max_reseeds=0).best
    scores = np.array([row["score"] for row in run.trace])
    assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))
    chunked = fit(GaussianMixture(3, covariance), X, rows=7).best
    whole = fit(GaussianMixture(3, covariance), X, rows=len(X)).best
    assert chunked.score == pytest.approx(whole.score, rel=1e-12)
    np.testing.assert_allclose(chunked.params.means, whole.params.means, rtol=1e-9)


def test_missing_at_random_beats_complete_rows_only():
    """30% of the cells missing, more often where the first (always observed) column is large:
    EM on every row stays close to the fit on the complete data, while the fit on the complete
    rows alone is biased."""
    rng = np.random.default_rng(4)
    means = np.array([[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, 0.0, 2.0], [0.0, 5.0, 5.0, -2.0]])
    covs = np.array([np.eye(4) + 0.3, np.diag([1.0, 0.5, 1.0, 2.0]), np.eye(4)])
    X, _ = draw_mixture(rng, [0.4, 0.3, 0.3], means, covs, 4000)
    chance = 0.6 * (X[:, [0]] > np.median(X[:, 0])) * np.ones((1, 4))
    chance[:, 0] = 0.0
    hidden = rng.random(X.shape) < chance
    incomplete = np.where(hidden, np.nan, X)
    assert 0.25 < np.isnan(incomplete[:, 1:]).mean() < 0.35
    complete_rows = X[~hidden.any(axis=1)]

    def means_of(data):
        found = fit(GaussianMixture(3, "full"), data, restarts=3).best.params.means
        return found[np.argsort(found[:, 0] + 0.1 * found[:, 2])]

    truth = means_of(X)
    em_error = np.abs(means_of(incomplete) - truth).max()
    complete_error = np.abs(means_of(complete_rows) - truth).max()
    assert em_error < 0.15
    assert complete_error > 3 * em_error


def test_fit_predict_and_empty_rows_from_the_command_line(run):
    rng = np.random.default_rng(5)
    X = hide(draw_mixture(rng, WEIGHTS, MEANS, COVS, 300)[0], rng)
    lines = ["x,y"] + [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in X]
    pathlib.Path("holes.csv").write_text("\n".join(lines) + "\n")
    pathlib.Path("empty.csv").write_text("\n".join(lines[:5] + [","] + lines[5:]) + "\n")
    result = run("fit", "holes.csv", "-k", 3, "--restarts", 3, "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["fit"]["n_samples"] == 300
    out = run("predict", "m.json", "holes.csv", "--proba")
    assert out.exit_code == 0
    rows = out.stdout.splitlines()[1:]
    assert len(rows) == 300 and all("nan" not in r.lower() for r in rows)
    # a row with no observed cell adds nothing to the likelihood: skipped, with a note under -v
    skipped = run("-v", "fit", "empty.csv", "-k", 3, "-o", "e.json")
    assert skipped.exit_code == 0 and "skipped 1 row with every chosen column missing" in skipped.stderr
    assert json.loads(pathlib.Path("e.json").read_text())["fit"]["n_samples"] == 300
    # the flag that used to ask for it is still taken, and does the same
    assert run("fit", "empty.csv", "-k", 3, "--skip-empty-rows", "-o", "e2.json").exit_code == 0
    again = json.loads(pathlib.Path("e2.json").read_text())
    assert again["params"] == json.loads(pathlib.Path("e.json").read_text())["params"]


def test_fit_skips_rows_with_nothing_observed_and_predict_names_them(run, tmp_path):
    """Issue 13, item 15: fit refused the rows impute accepted; they carry no information, so a
    fit skips them (the observed-data likelihood is the same) and predict, which must label
    every row it writes, names them."""
    pathlib.Path("e.csv").write_text("a,b\n1,2\n,\n3,5\n4,4\n2,1\n")
    pathlib.Path("full.csv").write_text("a,b\n1,2\n3,5\n4,4\n2,1\n")
    assert run("fit", "e.csv", "-o", "e.json").exit_code == 0
    assert run("fit", "full.csv", "-o", "f.json").exit_code == 0
    skipped, full = (json.loads(pathlib.Path(p).read_text())["fit"] for p in ("e.json", "f.json"))
    assert skipped["log_likelihood"] == full["log_likelihood"] and skipped["n_samples"] == 4
    result = run("predict", "e.json", "e.csv")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: e.csv: row 2 has every chosen column missing; drop them\n"
