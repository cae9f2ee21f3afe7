"""The algorithms on unconstrained parameters (over-relaxed EM, Adam, hybrid EM / conjugate
gradient) and the gmm's "vector" capability they stand on."""

import csv
import io
import json
import pathlib

import numpy as np
import pytest

from emcli.em.fit import fit, start_params
from emcli.models.gmm import GaussianMixture

from conftest import FAITHFUL, draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

OPTIONS = {"overrelaxed": {}, "gradient": {"learning_rate": 0.02}, "hybrid": {}}


def overlapping():
    """1500 rows of the contract's three Gaussians with their means pulled together, so that
    the posteriors overlap and EM is slow."""
    return draw_mixture(np.random.default_rng(7), WEIGHTS, 0.4 * MEANS, COVS, 1500)[0]


def started(covariance, X, missing=False):
    model = GaussianMixture(3, covariance)
    if missing:
        X = X.copy()
        X[np.random.default_rng(3).random(X.shape) < 0.1] = np.nan
        X[np.isnan(X).all(axis=1), 0] = 1.0
    model.prepare(X)
    return model, X, start_params(model, X, "k-means++", np.random.default_rng(1), 100)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_vector_round_trip_and_size(covariance):
    model, X, params = started(covariance, overlapping() * [1.0, 30.0] + [0.0, 500.0])
    vector = model.to_vector(params)
    assert vector.shape == (model.n_parameters(params),)
    back = model.from_vector(vector, params)
    for name in ("weights", "means", "cov"):
        np.testing.assert_allclose(getattr(back, name), getattr(params, name), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_score_gradient_matches_finite_differences(covariance, missing):
    # far from the origin and in unequal units, so that centring and scaling matter
    model, X, params = started(covariance, overlapping() * [1.0, 30.0] + [0.0, 500.0], missing)
    vector = model.to_vector(params)
    stats, _ = model.e_step(params, X)
    gradient = model.score_gradient(params, stats)

    def log_likelihood(v):
        return model.e_step(model.from_vector(v, params), X)[1]

    h = 1e-5
    numeric = np.array([(log_likelihood(vector + h * e) - log_likelihood(vector - h * e)) / (2 * h)
                        for e in np.eye(len(vector))])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-5 * np.abs(numeric).max())
    assert np.abs(gradient).max() > 1.0  # the start is not a stationary point


def fit_with(X, algorithm, seed, **extra):
    covariance = "tied" if len(X) == 272 else "full"
    return fit(GaussianMixture(3, covariance), X, seed=seed, algorithm=algorithm,
               algorithm_options=OPTIONS.get(algorithm, {}), **{"max_iter": 3000, **extra}).best


@pytest.mark.parametrize("algorithm", sorted(OPTIONS))
@pytest.mark.parametrize("data", ["faithful", "overlapping"])
def test_algorithms_reach_batch_em(faithful, algorithm, data):
    X = faithful if data == "faithful" else overlapping()
    for seed in range(2):
        batch = fit_with(X, "batch", seed)
        other = fit_with(X, algorithm, seed)
        assert other.converged
        assert other.score >= batch.score - 1e-3 * abs(batch.score), (seed, other.score, batch.score)
        again = fit_with(X, algorithm, seed)
        assert again.score == other.score and np.array_equal(again.params.means, other.params.means)


def test_overrelaxed_never_lowers_the_likelihood_and_saves_passes():
    X = overlapping()
    for seed in range(3):
        trace = fit_with(X, "overrelaxed", seed, tol=0, max_iter=150).trace
        scores = np.array([row["score"] for row in trace])
        assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))
        assert max(row["eta"] for row in trace) > 2.0
        assert any(row["eta"] > 1.0 and row["accepted"] for row in trace)
        assert any(not row["accepted"] for row in trace)
        assert all(row["eta"] == 1.0 for row, before in zip(trace[1:], trace) if not before["accepted"])
        over = fit_with(X, "overrelaxed", seed)
        batch = fit_with(X, "batch", seed)
        assert over.trace[-1]["passes"] < batch.n_iter + 1


def test_hybrid_switches_on_the_posterior_entropy():
    X = overlapping()
    trace = fit_with(X, "hybrid", 0, start_runs=1).trace  # a single seeding: a start far off
    steps = {row["step"] for row in trace[1:]}
    assert steps == {"em", "cg"}
    for row in trace[1:]:
        assert (row["step"] == "cg") <= (row["entropy"] > 0.3)
    scores = np.array([row["score"] for row in trace])
    assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))
    every_em = fit(GaussianMixture(3, "full"), X, algorithm="hybrid",
                   algorithm_options={"entropy_threshold": 1.0}).best
    assert {row["step"] for row in every_em.trace[1:]} == {"em"}
    # the same EM up to rounding: batch's E-step is the compiled pass, the hybrid's NumPy's
    # products (it needs the responsibilities for their entropy), which sum in another order
    assert every_em.score == pytest.approx(fit_with(X, "batch", 0).score, rel=1e-12, abs=0)


def test_gradient_traces_a_shrinking_gradient(faithful):
    trace = fit_with(faithful, "gradient", 0, start_runs=1).trace  # a single seeding: a start far off
    norms = [row["gradient_norm"] for row in trace]
    assert norms[-1] < 0.05 * norms[0]


@pytest.mark.parametrize("algorithm", sorted(OPTIONS))
def test_cli_fits_with_each_algorithm(run, algorithm):
    # Adam's steps shrink and grow again: from a start this close (the short-run start) one
    # step below --tol 1e-6 per row comes 0.06 short of the optimum, so gradient asks for 1e-7
    extra = ["--learning-rate", 0.05, "--tol", 1e-7] if algorithm == "gradient" else []
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", algorithm, "--seed", 3,
                     "--max-iter", 2000, "--trace", "trace.csv", "-o", "m.json", *extra)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["fit"]["algorithm"] == algorithm and doc["fit"]["converged"]
    assert doc["fit"]["log_likelihood"] == pytest.approx(-1130.264, abs=0.01)
    rows = list(csv.DictReader(io.StringIO(pathlib.Path("trace.csv").read_text())))
    own = {"overrelaxed": "eta", "gradient": "gradient_norm", "hybrid": "step"}[algorithm]
    assert own in rows[0] and len(rows) == doc["fit"]["n_iter"] + 1
    float(rows[-1]["log_likelihood"])


def test_gradient_methods_refuse_a_prior(run):
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "gradient", "--prior", "default",
                     "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == ("emtool: error: --algorithm gradient climbs the log-likelihood; "
                             "it does not take a prior\n")
    assert not pathlib.Path("m.json").exists()
