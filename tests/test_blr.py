"""Bayesian linear regression: MacKay's fixed-point equations at convergence, scikit-learn's
BayesianRidge (with and without an intercept), the log evidence against scipy's multivariate
normal, the predictive standard deviation, and the command line."""

import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.stats import multivariate_normal
from sklearn.linear_model import BayesianRidge

from emcli.em.fit import fit
from emcli.errors import ModelFileError, UsageError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models.blr import BayesianLinearRegression

from conftest import assert_bad_input

WEIGHTS = np.array([0.5, -1.0, 2.0, 0.1])
SCALES = np.array([1.0, 2.0, 0.5, 3.0])
OFFSETS = np.array([1.0, -2.0, 3.0, 0.0])


def draw(n, noise=0.7, seed=0, intercept=3.0):
    """(n, 5) rows [x1..x4 | y], y = intercept + x'w + noise * e, features of unequal scales
    and offsets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, WEIGHTS.size)) * SCALES + OFFSETS
    return np.column_stack([X, intercept + X @ WEIGHTS + noise * rng.standard_normal(n)])


def centred(data):
    return data - data.mean(axis=0)


def design(X, intercept):
    return np.column_stack([np.ones(len(X)), X]) if intercept else X


def tight_fit(data, intercept=True):
    """(model, params, outcome) fit to convergence: the evidence changes by less than 1e-14
    per row between iterations."""
    model = BayesianLinearRegression(intercept=intercept)
    outcome = fit(model, data, tol=1e-14, max_iter=100000)
    assert outcome.best.converged
    return model, outcome.best.params, outcome


def sklearn_ridge(X, y):
    """BayesianRidge without intercept, hyperpriors negligible, run to a fixed point."""
    return BayesianRidge(fit_intercept=False, tol=1e-14, max_iter=100000, alpha_1=1e-12,
                         alpha_2=1e-12, lambda_1=1e-12, lambda_2=1e-12).fit(X, y)


def helmert(n):
    """(n, n - 1) orthonormal basis of the vectors orthogonal to the ones: the coordinates a
    flat intercept leaves to the other weights."""
    return null_space(np.ones((1, n)))


# -- the mathematics -----------------------------------------------------------------------------

@pytest.mark.parametrize("intercept", [True, False])
def test_converged_precisions_satisfy_the_evidence_fixed_point_equations(intercept):
    """gamma = M - alpha tr S_w, alpha = (gamma - [intercept]) / |m_w|^2, beta = (N - gamma) /
    |y - Phi m|^2 (PRML 3.91, 3.92, 3.95), the intercept counted as one well-determined
    weight; computed here from the fitted parameters and the raw rows."""
    data = draw(150, seed=1) if intercept else centred(draw(150, seed=1))
    _, params, _ = tight_fit(data, intercept)
    Phi, y = design(data[:, :-1], intercept), data[:, -1]
    w = slice(int(intercept), None)
    gamma = len(params.mean) - params.alpha * np.trace(params.cov[w, w])
    residual = y - Phi @ params.mean
    assert params.alpha == pytest.approx((gamma - intercept) / (params.mean[w] @ params.mean[w]), rel=1e-6)
    assert params.beta == pytest.approx((len(y) - gamma) / (residual @ residual), rel=1e-6)
    # and the posterior is the one at those precisions
    A = params.alpha * np.diag([0.0] * intercept + [1.0] * WEIGHTS.size) + params.beta * Phi.T @ Phi
    np.testing.assert_allclose(params.cov, np.linalg.inv(A), rtol=1e-8)
    np.testing.assert_allclose(params.mean, params.beta * np.linalg.solve(A, Phi.T @ y), rtol=1e-8)


def test_without_intercept_agrees_with_scikit_learn():
    data = centred(draw(200, seed=2))
    _, params, _ = tight_fit(data, intercept=False)
    reference = sklearn_ridge(data[:, :-1], data[:, -1])
    np.testing.assert_allclose(params.mean, reference.coef_, rtol=1e-4)
    assert params.alpha == pytest.approx(reference.lambda_, rel=1e-4)
    assert params.beta == pytest.approx(reference.alpha_, rel=1e-4)
    np.testing.assert_allclose(params.cov, reference.sigma_, rtol=1e-4)


def test_flat_intercept_is_scikit_learn_on_the_rows_orthogonal_to_the_intercept():
    """Integrating a flat intercept out leaves the data's N - 1 coordinates orthogonal to the
    ones; BayesianRidge without intercept on them gives our weights and precisions, and our
    intercept is then mean(y) - mean(x)'w."""
    data = draw(200, seed=3)
    _, params, _ = tight_fit(data)
    Q = helmert(len(data))
    reference = sklearn_ridge(Q.T @ data[:, :-1], Q.T @ data[:, -1])
    np.testing.assert_allclose(params.mean[1:], reference.coef_, rtol=1e-4)
    assert params.alpha == pytest.approx(reference.lambda_, rel=1e-4)
    assert params.beta == pytest.approx(reference.alpha_, rel=1e-4)
    means = data.mean(axis=0)
    assert params.mean[0] == pytest.approx(means[-1] - means[:-1] @ reference.coef_, rel=1e-4)


def test_scikit_learn_fit_intercept_counts_one_residual_degree_of_freedom_more():
    """BayesianRidge(fit_intercept=True) centres and then divides by N where the flat
    intercept divides by N - 1: its beta is (N - gamma_w) / (N - 1 - gamma_w) times ours."""
    data = draw(200, seed=3)
    _, params, _ = tight_fit(data)
    reference = BayesianRidge(fit_intercept=True, tol=1e-14, max_iter=100000, alpha_1=1e-12,
                              alpha_2=1e-12, lambda_1=1e-12, lambda_2=1e-12).fit(data[:, :-1], data[:, -1])
    gamma_w = WEIGHTS.size - params.alpha * np.trace(params.cov[1:, 1:])
    n = len(data)
    assert reference.alpha_ / params.beta == pytest.approx((n - gamma_w) / (n - 1 - gamma_w), rel=1e-4)
    np.testing.assert_allclose(params.mean[1:], reference.coef_, rtol=1e-3)


@pytest.mark.parametrize("intercept", [True, False])
def test_log_evidence_is_the_marginal_density_of_the_targets(intercept):
    """log N(y | 0, I/beta + Phi Phi'/alpha) by scipy, at the start and at convergence.  With a
    flat intercept the marginal density is that of the N - 1 coordinates orthogonal to the
    ones, times 1/sqrt(N) (the intercept's integral)."""
    data = draw(12, noise=0.5, seed=4)
    if not intercept:
        data = centred(data)
    model = BayesianLinearRegression(intercept=intercept)
    model.prepare(data)
    X, y = data[:, :-1], data[:, -1]
    Q = helmert(len(data)) if intercept else np.eye(len(data))
    start = model.init_params(data, "k-means++", np.random.default_rng(0))
    for params in (start, fit(BayesianLinearRegression(intercept=intercept), data).best.params):
        stats, _ = model.e_step(params, data)
        cov = np.eye(Q.shape[1]) / params.beta + (Q.T @ X) @ (Q.T @ X).T / params.alpha
        expected = multivariate_normal(np.zeros(Q.shape[1]), cov).logpdf(Q.T @ y)
        expected -= 0.5 * np.log(len(data)) if intercept else 0.0
        assert model.total_score(stats, params) == pytest.approx(expected, rel=1e-10)


def test_log_evidence_never_decreases_and_the_trace_records_it():
    data = draw(300, seed=5)
    outcome = fit(BayesianLinearRegression(), data, tol=0, max_iter=60)
    scores = np.array([row["score"] for row in outcome.best.trace])
    assert len(scores) == 61
    assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:]))
    assert scores[-1] > scores[0]


def test_a_shift_of_the_target_or_a_feature_moves_only_the_intercept():
    """The statistics are taken about the training means, so data far from the origin (y near
    1e6, a feature near 1e4) give the same precisions and slopes, to round-off."""
    data = draw(200, seed=6)
    far = data + np.r_[0.0, 1e4, 0.0, 0.0, 1e6]
    _, near_params, _ = tight_fit(data)
    _, far_params, _ = tight_fit(far)
    assert far_params.alpha == pytest.approx(near_params.alpha, rel=1e-7)
    assert far_params.beta == pytest.approx(near_params.beta, rel=1e-7)
    np.testing.assert_allclose(far_params.mean[1:], near_params.mean[1:], rtol=1e-7)
    moved = near_params.mean[0] + 1e6 - 1e4 * near_params.mean[2]
    assert far_params.mean[0] == pytest.approx(moved, rel=1e-9)


def test_predictive_standard_deviation_is_scikit_learns_and_is_calibrated():
    data = centred(draw(2000, seed=7))
    model, params, _ = tight_fit(data, intercept=False)
    fresh = draw(4000, seed=8) - draw(2000, seed=7).mean(axis=0)
    out = model.row_outputs(params, fresh[:, :-1])
    mean, std = sklearn_ridge(data[:, :-1], data[:, -1]).predict(fresh[:, :-1], return_std=True)
    np.testing.assert_allclose(out["prediction"], mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["prediction_std"], std, rtol=1e-4)
    z = (fresh[:, -1] - out["prediction"]) / out["prediction_std"]
    assert np.std(z) == pytest.approx(1.0, abs=0.05)


def test_describe_gives_the_precisions_as_standard_deviations():
    model, params, _ = tight_fit(draw(200, seed=9))
    (line,) = model.describe(params, ["a", "b", "c", "d"])
    assert line.startswith("blr: prior sd of the weights ") and "of 5" in line


def test_constant_target_is_a_data_error():
    from emcli.errors import DataError

    data = np.column_stack([np.arange(5.0), np.full(5, 2.0)])
    with pytest.raises(DataError, match="the target is 2 in every row"):
        fit(BayesianLinearRegression(), data)


def test_intercept_option_must_be_a_boolean():
    with pytest.raises(UsageError, match="intercept must be true or false"):
        BayesianLinearRegression(intercept="yes")


@pytest.mark.parametrize("change,message", [
    ({"alpha": -1.0}, "params.alpha: must be positive"),
    ({"beta": None}, "params.beta: missing"),
    ({"weights": [1.0, 2.0]}, r"params.weights: expected shape \(5,\)"),
    ({"weights_cov": np.triu(np.ones((5, 5))).tolist()}, "params.weights_cov: not a covariance"),
])
def test_bad_parameters_name_the_field(change, message):
    data = draw(50, seed=10)
    model = BayesianLinearRegression()
    doc = model_document(model, ["a", "b", "c", "d"], fit(model, data), n_samples=len(data), target="y")
    params = {key: value for key, value in {**doc["params"], **change}.items() if value is not None}
    with pytest.raises(ModelFileError, match=message):
        parse_model(dumps(dict(doc, params=params)), "m.json")


# -- the command line -----------------------------------------------------------------------------

def write_csv(path, data, names=("a", "b", "c", "d", "y")):
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in data]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def read_csv(path):
    import pandas as pd

    return pd.read_csv(path)


def test_fit_and_predict_from_the_command_line(run):
    data = draw(120, seed=11)
    write_csv("train.csv", data)
    write_csv("test.csv", draw(30, seed=12))
    fitted = run("fit", "train.csv", "-m", "blr", "--target", "y", "-o", "m.json")
    assert fitted.exit_code == 0, fitted.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["columns"] == ["a", "b", "c", "d"] and doc["target"] == "y"
    assert doc["options"] == {"intercept": True}
    assert set(doc["params"]) == {"weights", "weights_cov", "alpha", "beta"}
    assert "log_evidence" in doc["fit"] and "bic" not in doc["fit"]
    evidence = [row["log_evidence"] for row in doc["fit"]["trace"]]
    assert np.all(np.diff(evidence) >= -1e-9 * np.abs(evidence[1:]))
    predicted = run("predict", "m.json", "test.csv", "-o", "out.csv")
    assert predicted.exit_code == 0, predicted.output
    out = read_csv("out.csv")
    assert list(out.columns) == ["a", "b", "c", "d", "y", "prediction", "prediction_std"]
    model = BayesianLinearRegression()
    params = fit(model, data).best.params
    expected = model.row_outputs(params, draw(30, seed=12)[:, :-1])
    np.testing.assert_allclose(out["prediction"], expected["prediction"], rtol=1e-12)
    np.testing.assert_allclose(out["prediction_std"], expected["prediction_std"], rtol=1e-12)


def test_no_intercept_from_the_command_line(run):
    write_csv("train.csv", centred(draw(100, seed=13)))
    result = run("fit", "train.csv", "-m", "blr", "--target", "y", "--no-intercept", "--columns", "a,b",
                 "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["options"] == {"intercept": False} and doc["columns"] == ["a", "b"]
    assert len(doc["params"]["weights"]) == 2


BAD = {
    "no_target.csv": ("a,b\n1,2\n2,3\n3,5\n", ["--target", "y"], "has no target column 'y'"),
    "text_target.csv": ("a,y\n1,2\n2,x\n3,5\n", ["--target", "y"], "column 'y' is not numeric"),
    "target_feature.csv": ("a,y\n1,2\n2,3\n3,5\n", ["--target", "y", "--columns", "a,y"],
                           "column 'y' is both the target and a feature"),
    "no_target_given.csv": ("a,y\n1,2\n2,3\n3,5\n", [], "model blr needs --target COLUMN"),
    "constant_target.csv": ("a,y\n1,2\n2,2\n3,2\n", ["--target", "y"], "the target is 2 in every row"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(run, name):
    text, args, message = BAD[name]
    assert_bad_input(run, name, text, ["fit", name, "-m", "blr", *args], message)


def test_installed_emtool_fits_from_stdin_and_predicts(tmp_path):
    emtool = shutil.which("emtool", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("emtool")
    write_csv(tmp_path / "data.csv", draw(100, seed=14))
    text = (tmp_path / "data.csv").read_text()
    subprocess.run([emtool, "fit", "-", "-m", "blr", "--target", "y", "-o", "m.json"], input=text,
                   cwd=tmp_path, check=True, capture_output=True, text=True)
    done = subprocess.run([emtool, "predict", "m.json", "data.csv"], cwd=tmp_path, check=True,
                          capture_output=True, text=True)
    assert done.stdout.splitlines()[0] == "a,b,c,d,y,prediction,prediction_std"
    assert done.stderr == ""


def breast_cancer_columns():
    """The first five columns of the breast-cancer data (radius, texture, perimeter, area,
    smoothness: scales from 0.1 to 1,000) and the diagnosis as a 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return np.column_stack([data.data[:, :5], data.target.astype(float)])


def test_the_highest_of_two_evidence_maxima_is_found():
    """Issue 14, item 3: the log evidence has a maximum at alpha 66.7 (-141.581), where the
    single start stopped, and the higher one at alpha 0.119 (-134.427), scikit-learn's."""
    data = breast_cancer_columns()
    best = fit(BayesianLinearRegression(), data).best
    assert best.score == pytest.approx(-134.427, abs=1e-3)
    assert best.params.alpha == pytest.approx(0.1186, abs=1e-3)
    reference = BayesianRidge(tol=1e-12, max_iter=100000, alpha_1=0, alpha_2=0, lambda_1=0,
                              lambda_2=0).fit(data[:, :-1], data[:, -1])
    assert best.params.alpha == pytest.approx(reference.lambda_, rel=1e-3)
    # the other maximum is a fixed point of the same EM, reached from a larger alpha
    model = BayesianLinearRegression()
    model.prepare(data)
    stats, _ = model.e_step(None, data)
    params = model._params(stats, 1e3, best.params.beta)
    for _ in range(300):
        params = model.m_step(stats, params)
    assert model.total_score(stats, params) == pytest.approx(-141.581, abs=1e-3)


def test_the_evidence_search_is_deterministic_and_spans_the_scales():
    from emcli.models.linear import start_alphas

    data = breast_cancer_columns()
    model = BayesianLinearRegression()
    model.prepare(data)
    stats, _ = model.e_step(None, data)
    alphas = start_alphas(stats, model._penalised(len(stats["moment"])))
    assert alphas.min() < 0.1186 / 10 and alphas.max() > 66.7 * 10  # both maxima lie inside
    assert np.allclose(np.diff(np.log10(alphas)), 1.0)
    runs = [fit(BayesianLinearRegression(), data, seed=seed).best.score for seed in (0, 1)]
    assert runs[0] == runs[1]
