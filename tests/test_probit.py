"""Probit regression by EM: against direct optimisation of the likelihood and the posterior, the
linear rate the fraction of missing information predicts, stable truncated-normal moments, and the
command line with 0/1, true/false and text labels."""

import csv
import json
import shutil
import subprocess
import sys
import pathlib

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_ndtr
from scipy.stats import norm

from emcli.em.fit import fit
from emcli.errors import ModelFileError, UsageError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models.probit import ProbitRegression, inverse_mills

from conftest import assert_bad_input

WEIGHTS = np.array([1.0, -0.5])
INTERCEPT = 0.3


def draw(n, noise=1.0, seed=0):
    """(n, 3) rows [x1, x2 | y], y = 1 when 0.3 + x'w + noise * e > 0: the smaller ``noise``,
    the better the true boundary separates the classes (76% of rows on their side at 1, 91% at
    0.3), and the larger the fitted weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, WEIGHTS.size))
    y = (INTERCEPT + X @ WEIGHTS + noise * rng.standard_normal(n) > 0).astype(float)
    return np.column_stack([X, y])


def design(data, intercept=True):
    X = data[:, :-1]
    return np.column_stack([np.ones(len(X)), X]) if intercept else X


def penalty(size, tau, intercept=True):
    """Prior precisions: none on the intercept, 1/tau^2 on every weight (0 for tau None)."""
    out = np.full(size, 0.0 if tau is None else tau ** -2.0)
    if intercept:
        out[0] = 0.0
    return out


def direct_fit(data, tau=None, intercept=True):
    """(coefficients, maximum) of sum log Phi((2y - 1) f'c) - c'Pc / 2 by a trust-region Newton
    method on the exact gradient and Hessian, to a gradient of 1e-8 (Newton's step then
    moves the coefficients by about 1e-10): maximum likelihood when
    ``tau`` is None, else the posterior mode without the prior's normalising constant.
    Coefficients: intercept first."""
    F = design(data, intercept)
    sign = 2.0 * data[:, -1] - 1.0
    pen = penalty(F.shape[1], tau, intercept)

    def ratio(c):
        t = sign * (F @ c)
        return t, np.exp(norm.logpdf(t) - log_ndtr(t))

    def objective(c):
        t, r = ratio(c)
        return -log_ndtr(t).sum() + 0.5 * pen @ (c * c), -(F.T @ (sign * r)) + pen * c

    def hessian(c):
        t, r = ratio(c)
        return (F.T * (r * (r + t))) @ F + np.diag(pen)

    found = minimize(objective, np.zeros(F.shape[1]), jac=True, hess=hessian, method="trust-exact",
                     options={"gtol": 1e-9})
    assert np.abs(found.jac).max() < 1e-8, found.message
    return found.x, -found.fun


def coefficients(params, intercept=True):
    return np.concatenate([[params.intercept], params.weights]) if intercept else params.weights


def prior_constant(tau, n_weights):
    return -n_weights * (np.log(tau) + 0.5 * np.log(2 * np.pi))


def scores(outcome):
    return np.array([row["score"] for row in outcome.best.trace])


# -- truncated-normal moments ---------------------------------------------------------------------

def test_inverse_mills_ratio_matches_scipy_and_the_asymptotic_series():
    t = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(inverse_mills(t), norm.pdf(t) / norm.cdf(t), rtol=1e-12)
    x = np.array([1e2, 1e3, 1e6, 1e100])
    # phi(-x) / Phi(-x) = x + 1/x - 2/x^3 + ... where both densities underflow
    np.testing.assert_allclose(inverse_mills(-x), x + 1 / x - 2 / x**3, rtol=1e-10)
    assert np.all(inverse_mills(np.array([40.0, 1e3, 1e300])) == 0.0)


def test_rows_far_from_the_boundary_give_finite_statistics():
    """mu = +-60 on both sides of the boundary, with right and wrong labels: E[z] is mu plus
    about 0 (right side) or about 60 + 1/60 (wrong side), and the log-likelihood is finite."""
    model = ProbitRegression()
    data = np.array([[1.0, 1.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 1.0]])
    model.prepare(data)
    params = model.init_params(data, "k-means++", None)
    params.weights[:] = 60.0
    stats, score = model.e_step(params, data)
    assert all(np.all(np.isfinite(value)) for value in stats.values()) and np.isfinite(score)
    assert score == pytest.approx(2 * log_ndtr(-60.0), rel=1e-12)
    expected = np.array([60.0, 60.0 - 60 - 1 / 60, -60.0, -60.0 + 60 + 1 / 60])
    F = np.column_stack([np.ones(4), data[:, 0]])
    np.testing.assert_allclose(stats["moment"], F.T @ expected, rtol=1e-6, atol=1e-6)


# -- agreement with direct optimisation -----------------------------------------------------------

def test_weak_prior_gives_the_maximum_likelihood_probit_fit():
    """tau = 1e4 against the likelihood alone: the prior's pull is about |w| / (tau^2 n), far
    below the tolerance.  EM runs 200 iterations, at a rate of 0.79 per iteration (see below):
    measured difference 3e-11 (2.9e-3 at the default --tol 1e-6, 22 iterations)."""
    data = draw(500)
    reference, log_likelihood = direct_fit(data)
    outcome = fit(ProbitRegression(prior_scale=1e4), data, tol=0, max_iter=200)
    np.testing.assert_allclose(coefficients(outcome.best.params), reference, atol=1e-6)
    assert outcome.best.log_likelihood == pytest.approx(log_likelihood, abs=1e-8)


@pytest.mark.parametrize("intercept", [True, False])
def test_finite_prior_gives_the_direct_posterior_mode(intercept):
    """tau = 0.2 shrinks the weights well away from maximum likelihood; EM finds the mode of the
    posterior with the intercept unpenalised (or every weight penalised with --no-intercept), and
    its objective is that posterior's log density including the prior's normalising constant."""
    data = draw(500)
    tau = 0.2
    reference, log_posterior = direct_fit(data, tau, intercept)
    unshrunk, _ = direct_fit(data, None, intercept)
    assert np.abs(reference - unshrunk).max() > 0.1
    model = ProbitRegression(intercept=intercept, prior_scale=tau)
    outcome = fit(model, data, tol=0, max_iter=200)
    np.testing.assert_allclose(coefficients(outcome.best.params, intercept), reference, atol=1e-6)
    assert outcome.best.score == pytest.approx(log_posterior + prior_constant(tau, 2), abs=1e-8)
    assert model.objective == "log_posterior"


def test_shifting_a_feature_only_moves_the_intercept():
    """The intercept is not penalised, so adding 1000 to a column leaves the weights alone and
    moves the intercept by -1000 w; the features are centred inside, so F'F stays well posed."""
    data = draw(500)
    shifted = data.copy()
    shifted[:, 0] += 1000.0
    tau = 0.5
    base = fit(ProbitRegression(prior_scale=tau), data, tol=0, max_iter=200).best
    moved = fit(ProbitRegression(prior_scale=tau), shifted, tol=0, max_iter=200).best
    np.testing.assert_allclose(moved.params.weights, base.params.weights, atol=1e-8)
    assert moved.params.intercept == pytest.approx(base.params.intercept - 1000 * base.params.weights[0], abs=1e-6)
    assert moved.score == pytest.approx(base.score, abs=1e-8)


# -- the rate of convergence ----------------------------------------------------------------------

def missing_information_rate(data, coef, tau):
    """Largest eigenvalue of EM's rate matrix at the optimum, (F'F + P)^-1 F'VF, with V the
    variances of the utilities given the labels, 1 - lambda (lambda + t): the fraction of the
    complete-data information that the labels leave missing (Dempster, Laird & Rubin 1977)."""
    F = design(data)
    t = (2.0 * data[:, -1] - 1.0) * (F @ coef)
    ratio = np.exp(norm.logpdf(t) - log_ndtr(t))
    variance = 1.0 - ratio * (ratio + t)
    rate = np.linalg.solve(F.T @ F + np.diag(penalty(F.shape[1], tau)), (F.T * variance) @ F)
    return np.linalg.eigvals(rate).real.max()


@pytest.mark.parametrize("noise,iterations", [(1.0, (10, 40)), (0.3, (150, 400))])
def test_convergence_is_linear_at_the_missing_information_rate(noise, iterations):
    """The log-posterior gap to the optimum shrinks by a constant factor per iteration, the
    square of the largest eigenvalue of the missing-information rate matrix (the gap is
    quadratic in the distance to the optimum).  Measured: 0.626 on overlapping classes, 22
    iterations at the default --tol; 0.9754 on well separated ones, 227 iterations."""
    data = draw(500, noise)
    tau = 10.0
    reference, log_posterior = direct_fit(data, tau)
    predicted = missing_information_rate(data, reference, tau) ** 2
    trace = scores(fit(ProbitRegression(prior_scale=tau), data, tol=0, max_iter=2000))
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))
    gap = log_posterior + prior_constant(tau, 2) - trace
    # ratios are clean while the gap is well above round-off; the first half is transient
    usable = np.flatnonzero(gap > 1e-8 * abs(log_posterior))
    tail = usable[len(usable) // 2 :]
    ratios = gap[tail + 1] / gap[tail]
    assert ratios == pytest.approx(np.full(tail.size, predicted), abs=3e-3)
    default = fit(ProbitRegression(prior_scale=tau), data)
    assert default.best.converged and iterations[0] <= default.best.n_iter <= iterations[1]
    if noise < 1:
        assert predicted > 0.95
    else:
        assert predicted < 0.7


# -- options and model files ----------------------------------------------------------------------

@pytest.mark.parametrize("options,message", [
    ({"prior_scale": 0.0}, "--prior-scale must be a positive finite number"),
    ({"prior_scale": float("inf")}, "--prior-scale must be a positive finite number"),
    ({"prior_scale": "10"}, "--prior-scale must be a positive finite number"),
    ({"intercept": "yes"}, "intercept must be true or false"),
])
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        ProbitRegression(**options)


def fitted_document(labels=("no", "yes"), intercept=True):
    model = ProbitRegression(intercept=intercept, levels=list(labels))
    data = draw(200)
    doc = model_document(model, ["x1", "x2"], fit(model, data), n_samples=200, target="y")
    return json.loads(dumps(doc))


def test_model_file_keeps_the_labels_and_the_intercept():
    doc = fitted_document()
    assert list(doc["params"]) == ["weights", "intercept", "labels"]
    assert doc["params"]["labels"] == ["no", "yes"]
    model, params, _ = parse_model(dumps(doc), "m.json")
    assert model.levels == ["no", "yes"] and model.options() == {"intercept": True, "prior_scale": 10.0}
    assert model.to_json(params) == doc["params"]
    bare = fitted_document(labels=(False, True), intercept=False)
    assert list(bare["params"]) == ["weights", "labels"] and bare["params"]["labels"] == [False, True]


@pytest.mark.parametrize("change,message", [
    ({"labels": ["no", "yes", "maybe"]}, "params.labels: expected two distinct labels"),
    ({"labels": ["no", "no"]}, "params.labels: expected two distinct labels"),
    ({"labels": [None, "yes"]}, "params.labels: expected two distinct labels"),
    ({"labels": None}, "params.labels: missing"),
    ({"intercept": None}, "params.intercept: missing"),
    ({"intercept": [0.1, 0.2]}, r"params.intercept: expected shape \(\)"),
    ({"weights": [0.1, "x"]}, "params.weights: not an array of numbers"),
    ({"weights": [[0.1, 0.2]]}, "params.weights: expected one weight per feature column"),
])
def test_bad_parameters_name_the_field(change, message):
    doc = fitted_document()
    params = {key: value for key, value in {**doc["params"], **change}.items() if value is not None}
    with pytest.raises(ModelFileError, match=message):
        parse_model(dumps(dict(doc, params=params)), "m.json")


# -- the command line -----------------------------------------------------------------------------

def write_table(path, data, labels):
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["x1", "x2", "y"])
        for x1, x2, y in data:
            out.writerow([repr(float(x1)), repr(float(x2)), labels[int(y)]])


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("labels,written,stored", [
    ((0, 1), ("0", "1"), [0, 1]),
    ((False, True), ("false", "true"), [False, True]),
    (("no", "yes"), ("no", "yes"), ["no", "yes"]),
])
def test_fit_and_predict_keep_the_original_labels(run, labels, written, stored):
    data = draw(300)
    write_table("data.csv", data, written)
    result = run("fit", "data.csv", "-m", "probit", "--target", "y", "-o", "m.json", "--trace", "t.csv")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["params"]["labels"] == stored and doc["columns"] == ["x1", "x2"] and doc["target"] == "y"
    assert {"log_posterior", "log_likelihood", "bic"} <= set(doc["fit"])
    assert read_rows("t.csv")[0].keys() >= {"log_posterior", "log_likelihood"}
    result = run("predict", "m.json", "data.csv", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    rows = read_rows("out.csv")
    assert list(rows[0]) == ["x1", "x2", "y", "p_1", "prediction"]
    p_1 = np.array([float(r["p_1"]) for r in rows])
    model = ProbitRegression()
    params = model.from_json(doc["params"], 2)
    np.testing.assert_allclose(p_1, norm.cdf(data[:, :2] @ params.weights + params.intercept), rtol=1e-12)
    assert [r["prediction"] for r in rows] == [written[int(p > 0.5)] for p in p_1]
    # the fit classifies most rows as drawn, so both labels occur and mostly agree with y
    assert np.mean([r["prediction"] == r["y"] for r in rows]) > 0.7


def test_warm_start_from_a_model_file_keeps_its_labels(run):
    write_table("data.csv", draw(300), ("no", "yes"))
    assert run("fit", "data.csv", "-m", "probit", "--target", "y", "--tol", "1e-10",
               "-o", "m.json").exit_code == 0
    result = run("fit", "data.csv", "-m", "probit", "--target", "y", "--init", "m.json", "-o", "again.json")
    assert result.exit_code == 0, result.output
    first, again = (json.loads(pathlib.Path(p).read_text()) for p in ("m.json", "again.json"))
    assert again["params"]["labels"] == ["no", "yes"] and again["fit"]["n_iter"] == 1
    np.testing.assert_allclose(again["params"]["weights"], first["params"]["weights"], atol=1e-4)


BAD = {
    "constant.csv": ("x,y\n1,no\n2,no\n3,no\n", [], "target 'y' has 1 distinct value ('no'); it needs exactly two"),
    "three.csv": ("x,y\n1,a\n2,b\n3,c\n4,a\n", [], "target 'y' has 3 distinct values ('a', 'b', 'c'); it needs exactly two"),
    "missing.csv": ("x,y\n1,0\n2,\n3,1\n", [], "target 'y' row 2 is missing"),
    "feature.csv": ("x,y\n1,0\n2,1\n3,0\n", ["--columns", "x,y"], "column 'y' is both the target and a feature"),
    "scale.csv": ("x,y\n1,0\n2,1\n3,0\n", ["--prior-scale", "inf"], "--prior-scale': inf is not a finite number"),
    "notarget.csv": ("x,y\n1,0\n2,1\n3,0\n", ["--target", "z"], "has no target column 'z'"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(run, name):
    text, extra, message = BAD[name]
    args = ["--target", "y", *extra] if "--target" not in extra else extra
    assert_bad_input(run, name, text, ["fit", name, "-m", "probit", *args], message)


def test_installed_emtool_pipes_a_probit_fit_into_predict(tmp_path):
    emtool = shutil.which("emtool", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("emtool")
    write_table(tmp_path / "data.csv", draw(200), ("no", "yes"))
    subprocess.run([emtool, "fit", "data.csv", "-m", "probit", "--target", "y", "-o", "m.json"],
                   cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run([emtool, "predict", "m.json", "data.csv"], cwd=tmp_path, check=True,
                          capture_output=True, text=True)
    header, first = done.stdout.splitlines()[:2]
    assert header == "x1,x2,y,p_1,prediction" and first.split(",")[-1].strip('"') in ("no", "yes")
