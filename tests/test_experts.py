"""The mixture of linear experts: its E- and M-steps against scipy and least squares, its gate
step against the bound it promises and against a direct maximisation, the maximum likelihood
it reaches against scipy's optimiser, and the jobs it is for: an inverse problem, where the
mode is the answer, and data from several linear regimes, whose lines it recovers."""

import json
import pathlib

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from emcli.em.batch import run_batch
from emcli.em.fit import fit, start_params
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.experts import SHARPEN, ExpertsParams, MixtureOfExperts, gating_step

from cases.experts import GATE_INTERCEPTS, GATE_SLOPES, INTERCEPTS, SDS, SLOPES
from cases.experts import draw as draw_experts

NOISE = 0.05


def forward(y):
    """The map of Bishop's inverse problem, PRML section 5.6: x = y + 0.3 sin(2 pi y)."""
    return y + 0.3 * np.sin(2.0 * np.pi * y)


def draw_inverse(rng, n):
    """(n, 2) rows [x, y]: y uniform on [0, 1], x = forward(y) + N(0, NOISE^2).  For x in about
    [0.41, 0.59], three values of y lead to it."""
    y = rng.uniform(0.0, 1.0, n)
    return np.column_stack([forward(y) + NOISE * rng.standard_normal(n), y])


LINES = np.array([[1.0, 2.0], [5.0, -1.0], [-4.0, 3.0]])  # intercept, slope of each regime
REGIME_SDS = np.array([0.1, 0.2, 0.15])


def draw_regimes(rng, n):
    """(n, 2) rows [x, y] with x uniform on [0, 3]: regime r = floor(x) follows its own line and
    noise; and the (n,) regimes."""
    x = rng.uniform(0.0, 3.0, n)
    regime = np.minimum(x.astype(int), 2)
    y = LINES[regime, 0] + LINES[regime, 1] * x + REGIME_SDS[regime] * rng.standard_normal(n)
    return np.column_stack([x, y]), regime


def log_likelihood(params: ExpertsParams, data: np.ndarray) -> np.ndarray:
    """(N,) log p(y | x) by scipy, and (N, K) log g_k(x) + log N(y | line_k, s_k^2)."""
    X, y = data[:, :-1], data[:, -1]
    log_gates = special.log_softmax(X @ params.gate_coef.T + params.gate_bias, axis=1)
    log_joint = log_gates + stats.norm.logpdf(y[:, None], X @ params.coef.T + params.intercepts,
                                              np.sqrt(params.variances))
    return special.logsumexp(log_joint, axis=1), log_joint


def random_params(rng, k, d, intercept=True):
    return ExpertsParams(rng.normal(size=(k, d)), rng.normal(size=k) if intercept else np.zeros(k),
                         rng.uniform(0.2, 2.0, k), rng.normal(size=(k, d)), rng.normal(size=k))


def fitted(data, k, **kwargs):
    model = MixtureOfExperts(k, kwargs.pop("intercept", True))
    return model, fit(model, data, **kwargs)


# -- the steps against independent computations ----------------------------------------------------

@pytest.mark.parametrize("intercept", [True, False])
def test_one_expert_is_least_squares(intercept):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) + [5.0, -2.0, 0.0]
    y = X @ [1.0, -0.5, 2.0] + 3.0 + 0.7 * rng.standard_normal(300)
    data = np.column_stack([X, y])
    model, outcome = fitted(data, 1, intercept=intercept)
    design = np.column_stack([X, np.ones(300)]) if intercept else X
    solution, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    params = outcome.best.params
    np.testing.assert_allclose(params.coef[0], solution[:3], rtol=1e-8)
    np.testing.assert_allclose(params.intercepts[0], solution[3] if intercept else 0.0, rtol=1e-8)
    np.testing.assert_allclose(params.variances[0], rss[0] / 300, rtol=1e-8)
    expected = stats.norm.logpdf(y, design @ solution, np.sqrt(rss[0] / 300)).sum()
    assert outcome.best.score == pytest.approx(expected, rel=1e-10)


def test_e_and_m_steps_agree_with_scipy_and_weighted_least_squares():
    rng = np.random.default_rng(1)
    data = draw_experts(rng, 400)
    data = np.column_stack([data[:, :1], rng.normal(size=(400, 1)), data[:, 1:]])
    model = MixtureOfExperts(3)
    model.prepare(data)
    params = random_params(rng, 3, 2)
    stats_, score = model.e_step(params, data)
    row_ll, log_joint = log_likelihood(params, data)
    assert score == pytest.approx(row_ll.sum(), rel=1e-12)
    resp = np.exp(log_joint - row_ll[:, None])
    np.testing.assert_allclose(stats_["n"], resp.sum(axis=0), rtol=1e-12)
    new = model.m_step(stats_, params)
    design = np.column_stack([data[:, :-1], np.ones(len(data))])
    for k in range(3):
        root = np.sqrt(resp[:, k])
        solution = np.linalg.lstsq(design * root[:, None], data[:, -1] * root, rcond=None)[0]
        np.testing.assert_allclose(new.coef[k], solution[:2], rtol=1e-7, atol=1e-9)
        assert new.intercepts[k] == pytest.approx(solution[2], rel=1e-7, abs=1e-9)
        residual = data[:, -1] - design @ solution
        assert new.variances[k] == pytest.approx(resp[:, k] @ residual**2 / resp[:, k].sum(), rel=1e-7)


def gate_objective(U, psi, resp):
    """Q(U) = sum_n sum_k r_nk log softmax(U psi_n)_k."""
    return float((resp * special.log_softmax(psi @ U.T, axis=1)).sum())


def gate_statistics(U, psi, resp):
    """What the E-step hands the gate, computed row by row: gradient, scatter, curvature of
    -Q over the first K - 1 rows, and Q at U and at its sharpened copies."""
    k, m = U.shape
    gates = special.softmax(psi @ U.T, axis=1)
    hessian = np.zeros(((k - 1) * m, (k - 1) * m))
    for g, p in zip(gates, psi):
        free = g[:-1]
        hessian += np.kron(np.diag(free) - np.outer(free, free), np.outer(p, p))
    sharpened = np.array([gate_objective(c * U, psi, resp) for c in (1.0,) + SHARPEN])
    return (resp - gates).T @ psi, psi.T @ psi, hessian, sharpened


def random_gate_problem(rng):
    n, d, k = rng.integers(5, 200), rng.integers(1, 4), rng.integers(2, 6)
    psi = np.column_stack([rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, d), np.ones(n)])
    U = rng.normal(size=(k, d + 1)) * rng.choice([0.0, 0.3, 3.0, 30.0])
    U[-1] = 0.0
    # soft labels: sometimes nearly hard, sometimes diffuse
    resp = rng.dirichlet(np.full(k, rng.choice([0.05, 1.0, 10.0])), size=n)
    return U, psi, resp


def test_the_gate_step_never_lowers_the_expected_log_likelihood():
    """On random rows, soft labels and gates (flat, moderate and saturated), the step raises
    Q = sum r log g at least by Boehning's guaranteed rise G'B^{-1}G / 2."""
    rng = np.random.default_rng(2)
    for _ in range(300):
        U, psi, resp = random_gate_problem(rng)
        k, m = U.shape
        gradient, scatter, hessian, sharpened = gate_statistics(U, psi, resp)
        radius = np.sqrt((psi * psi).sum(axis=1).max())
        new = gating_step(U, gradient, scatter, hessian, radius, sharpened)
        bound = np.kron(0.5 * (np.eye(k - 1) - 1.0 / k), scatter)
        g = gradient[:-1].ravel()
        promised = 0.5 * g @ np.linalg.lstsq(bound, g, rcond=None)[0]
        before, after = gate_objective(U, psi, resp), gate_objective(new, psi, resp)
        assert after - before >= promised - 1e-9 * max(1.0, abs(before)), (before, after, promised)
        assert after >= before - 1e-12 * abs(before)


def test_gate_steps_climb_to_the_maximum_found_by_scipy():
    rng = np.random.default_rng(3)
    n, k = 300, 3
    psi = np.column_stack([rng.normal(size=(n, 2)), np.ones(n)])
    resp = special.softmax(psi @ rng.normal(size=(k, 3)).T + rng.normal(size=(n, k)), axis=1)
    radius = np.sqrt((psi * psi).sum(axis=1).max())
    U = np.zeros((k, 3))
    for _ in range(60):
        U = gating_step(U, *gate_statistics(U, psi, resp)[:3], radius, gate_statistics(U, psi, resp)[3])

    def negative(free):
        return -gate_objective(np.vstack([free.reshape(k - 1, 3), np.zeros(3)]), psi, resp)

    best = optimize.minimize(negative, np.zeros((k - 1) * 3), method="BFGS", options={"gtol": 1e-10})
    assert -gate_objective(U, psi, resp) == pytest.approx(best.fun, rel=1e-12)
    np.testing.assert_allclose(U[:-1].ravel(), best.x, atol=1e-5)


def test_em_reaches_the_maximum_likelihood_found_by_scipy():
    """scipy's BFGS on the log-likelihood, started from the true parameters, finds the same
    maximum as EM."""
    data = draw_experts(np.random.default_rng(4), 600)
    model, outcome = fitted(data, 3, restarts=3, tol=1e-12, max_iter=2000)
    x, y = data[:, :1], data[:, 1]

    def negative(theta):
        gate_coef = np.vstack([theta[9:11, None], [[0.0]]])
        log_gates = special.log_softmax(x @ gate_coef.T + np.append(theta[11:13], 0.0), axis=1)
        log_lines = stats.norm.logpdf(y[:, None], x @ theta[:3, None].T + theta[3:6], np.exp(theta[6:9]))
        return -special.logsumexp(log_gates + log_lines, axis=1).sum()

    truth = np.concatenate([SLOPES.ravel(), INTERCEPTS, np.log(SDS), GATE_SLOPES[:2, 0], GATE_INTERCEPTS[:2]])
    best = optimize.minimize(negative, truth, method="BFGS", options={"gtol": 1e-6})
    assert outcome.best.score >= -best.fun - 1e-6
    assert outcome.best.score == pytest.approx(-best.fun, abs=1e-4)
    params = outcome.best.params
    order = np.argsort(params.coef[:, 0])
    np.testing.assert_allclose(params.coef[order, 0], best.x[:3], atol=1e-3)
    np.testing.assert_allclose(np.sqrt(params.variances[order]), np.exp(best.x[6:9]), atol=1e-3)


# -- the jobs it is for -----------------------------------------------------------------------------

def test_the_mode_answers_an_inverse_problem_where_the_mean_falls_between_branches():
    """Predict y from x where y -> x is x = y + 0.3 sin(2 pi y) + noise (Bishop's example).

    Squared error against the drawn y is the wrong yardstick here: where three values of y
    lead to x, the best guess under squared error is their average, which lies on no branch
    (the predictive mean wins on it, as it must).  The sound measure asks whether a prediction
    could have produced x: its forward residual x - forward(y_hat).  Under the generating
    process the true conditional log-density of y_hat given x is -residual^2 / (2 NOISE^2) + const,
    so the residual's RMS measures how plausible the predictions are, and |residual| <= 2 NOISE
    says a prediction lies on a branch (its true conditional density within e^-2 of the peak).
    Measured on 2000 held-out rows with K = 3: RMS residual 0.015 for the mode against 0.149 for
    the mean; on a branch 100% against 50%; squared error against the drawn y 0.223 against 0.208.
    """
    model, outcome = fitted(draw_inverse(np.random.default_rng(0), 1000), 3, restarts=5)
    held_out = draw_inverse(np.random.default_rng(100), 2000)
    out = model.row_outputs(outcome.best.params, held_out[:, :1])
    x = held_out[:, 0]
    mode_residual, mean_residual = x - forward(out["mode"]), x - forward(out["prediction"])
    rms = lambda r: np.sqrt(np.mean(r * r))
    assert rms(mode_residual) < 0.5 * NOISE
    assert rms(mean_residual) > 2.0 * NOISE
    assert np.mean(np.abs(mode_residual) <= 2 * NOISE) > 0.99
    assert np.mean(np.abs(mean_residual) <= 2 * NOISE) < 0.7
    assert rms(out["prediction"] - held_out[:, 1]) < rms(out["mode"] - held_out[:, 1])


def test_three_linear_regimes_give_back_their_lines_and_noise():
    """x in [0, 1), [1, 2), [2, 3) follows three lines.  Tolerances: slopes within 0.06 and
    intercepts within 0.2 of the truth (about four standard errors with 1000 rows a regime:
    the third line's intercept is extrapolated from x = 2.5 to 0), noise within 10%; and within
    1e-4 of least squares on each regime's own rows, which the gate sharpens to pick out."""
    data, regime = draw_regimes(np.random.default_rng(5), 3000)
    model, outcome = fitted(data, 3, restarts=3)
    assert outcome.best.converged
    params = outcome.best.params
    who = model.row_outputs(params, np.array([[0.5], [1.5], [2.5]]))["expert"]
    assert sorted(who) == [0, 1, 2]
    lines = np.column_stack([params.intercepts[who], params.coef[who, 0]])
    np.testing.assert_allclose(lines[:, 1], LINES[:, 1], atol=0.06)
    np.testing.assert_allclose(lines[:, 0], LINES[:, 0], atol=0.2)
    np.testing.assert_allclose(np.sqrt(params.variances[who]), REGIME_SDS, rtol=0.1)
    for r in range(3):
        rows = data[regime == r]
        design = np.column_stack([np.ones(len(rows)), rows[:, 0]])
        np.testing.assert_allclose(lines[r], np.linalg.lstsq(design, rows[:, 1], rcond=None)[0], atol=1e-4)
    # every row goes to its regime's expert
    np.testing.assert_array_equal(model.row_outputs(params, data[:, :1])["expert"], who[regime])


def test_data_far_from_the_origin_give_the_same_lines():
    data = draw_experts(np.random.default_rng(6), 800)
    shift = np.array([1e6, -3e7])
    model, near = fitted(data, 3, restarts=2)
    _, far = fitted(data + shift, 3, restarts=2)
    a, b = near.best.params, far.best.params
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-6)
    np.testing.assert_allclose(b.intercepts, a.intercepts + shift[1] - a.coef[:, 0] * shift[0], rtol=1e-9)
    np.testing.assert_allclose(b.variances, a.variances, rtol=1e-5)
    assert far.best.score == pytest.approx(near.best.score, rel=1e-7)


@pytest.mark.parametrize("intercept", [True, False])
def test_the_objective_never_decreases_with_many_experts(intercept):
    data = draw_inverse(np.random.default_rng(7), 400)
    rng = np.random.default_rng(8)
    for method in ("k-means++", "random"):
        model = MixtureOfExperts(6, intercept)
        model.prepare(data)
        start = start_params(model, data, method, rng, rows=len(data))
        run = run_batch(model, data, start, rows=61, max_iter=150, tol=0, rng=rng, max_reseeds=0)
        scores = np.array([row["score"] for row in run.trace])
        assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:])), scores


def test_collapsed_and_empty_experts_are_re_seeded():
    rng = np.random.default_rng(9)
    data = draw_experts(rng, 200)
    model = MixtureOfExperts(3)
    model.prepare(data)
    params = random_params(rng, 3, 1)
    stats_, _ = model.e_step(params, data)
    params.variances[1] = model.scaling.floor
    fake = dict(stats_)
    fake["n"] = np.array([100.0, 2.5, 0.5])
    assert model.degenerate(params, fake) == [(1, "collapsed"), (2, "empty")]
    fake["n"] = np.array([100.0, 3.5, 96.0])
    assert model.degenerate(params, fake) == []
    again = model.reseed(params, [1, 2], data, np.random.default_rng(0))
    assert np.all(again.coef[1:] == 0.0) and np.all(np.isin(again.intercepts[1:], data[:, 1]))
    np.testing.assert_allclose(again.variances[1:], np.var(data[:, 1]))
    np.testing.assert_array_equal(again.coef[0], params.coef[0])
    # a small data set with too many experts: re-seeds are events, and the fit still ends well
    outcome = fit(MixtureOfExperts(8), draw_experts(np.random.default_rng(1), 40), restarts=2)
    assert any("re-seeded" in (row["event"] or "") for row in outcome.best.trace)
    assert np.isfinite(outcome.best.score)


def test_duplicated_and_constant_features_leave_the_fit_unchanged():
    data = draw_experts(np.random.default_rng(12), 500)
    single = fitted(data, 3, restarts=2, tol=1e-11)[1].best
    twice = fitted(np.column_stack([data[:, :1], 2 * data[:, :1], data[:, 1:]]), 3, restarts=2, tol=1e-11)[1].best
    constant = fitted(np.column_stack([data[:, :1], np.full(500, 7.0), data[:, 1:]]), 3, restarts=2, tol=1e-11)[1].best
    assert twice.score == pytest.approx(single.score, rel=1e-8)
    assert constant.score == pytest.approx(single.score, rel=1e-8)
    np.testing.assert_allclose(twice.params.coef @ [1.0, 2.0], single.params.coef[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(constant.params.coef[:, 1], 0.0)


def test_prediction_std_is_the_predictive_distributions():
    rng = np.random.default_rng(10)
    model = MixtureOfExperts(3)
    params = random_params(rng, 3, 2)
    X = rng.normal(size=(4, 2))
    out = model.row_outputs(params, X)
    for x, mean, sd, mode, expert in zip(X, out["prediction"], out["prediction_std"], out["mode"], out["expert"]):
        gates = special.softmax(params.gate_coef @ x + params.gate_bias)
        lines = params.coef @ x + params.intercepts
        density = lambda y: gates @ stats.norm.pdf(y, lines, np.sqrt(params.variances))
        first = integrate.quad(lambda y: y * density(y), -np.inf, np.inf, epsabs=1e-12)[0]
        second = integrate.quad(lambda y: (y - first) ** 2 * density(y), -np.inf, np.inf, epsabs=1e-12)[0]
        assert mean == pytest.approx(first, rel=1e-7, abs=1e-9)
        assert sd == pytest.approx(np.sqrt(second), rel=1e-7)
        assert expert == np.argmax(gates) and mode == pytest.approx(lines[expert], rel=1e-12)
    assert out["expert"].dtype == np.int64


def test_n_parameters_counts_lines_variances_and_the_free_gate_rows():
    params = random_params(np.random.default_rng(0), 4, 3)
    assert MixtureOfExperts(4).n_parameters(params) == 4 * 4 + 4 + 3 * 4
    assert MixtureOfExperts(4, intercept=False).n_parameters(params) == 4 * 3 + 4 + 3 * 4


# -- options, data and model files -----------------------------------------------------------------

@pytest.mark.parametrize("options", [{"k": 0}, {"k": 2.5}, {"k": 2, "intercept": "yes"}])
def test_bad_options_are_usage_errors(options):
    with pytest.raises(UsageError):
        MixtureOfExperts(**options)


def test_a_constant_target_is_a_data_error():
    x = np.random.default_rng(11).normal(size=50)
    with pytest.raises(DataError, match="target is constant"):
        MixtureOfExperts(2).prepare(np.column_stack([x, np.full(50, 0.1)]))


@pytest.mark.parametrize("field,value,message", [
    ("variances", [1.0, -1.0], "params.variances: every variance must be positive"),
    ("gating_coefficients", [[1.0, 2.0]], "params.gating_coefficients: expected shape"),
    ("gating_intercepts", [1.0, "a"], "params.gating_intercepts: not an array of numbers"),
    ("intercepts", None, "params.intercepts: missing"),
    ("coefficients", [[1.0], [float("nan")]], "params.coefficients: holds a non-finite number"),
])
def test_bad_model_file_fields_are_named(field, value, message):
    model = MixtureOfExperts(2)
    doc = model.to_json(random_params(np.random.default_rng(0), 2, 1))
    if value is None:
        del doc[field]
    else:
        doc[field] = value
    with pytest.raises(ModelFileError, match=message):
        model.from_json(doc, 1)


def test_a_model_without_intercept_stores_none():
    model = MixtureOfExperts(2, intercept=False)
    doc = model.to_json(random_params(np.random.default_rng(0), 2, 1, intercept=False))
    assert "intercepts" not in doc
    with pytest.raises(ModelFileError, match="params.intercepts: present"):
        model.from_json(dict(doc, intercepts=[0.0, 0.0]), 1)


# -- the command line -------------------------------------------------------------------------------

def write_table(path, data, names=("x", "y")):
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in data]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def test_fit_and_predict_from_the_command_line(run):
    data = draw_inverse(np.random.default_rng(0), 500)
    write_table("inverse.csv", data)
    result = run("fit", "inverse.csv", "-m", "experts", "-k", 3, "--target", "y", "--restarts", 3,
                 "-o", "experts.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("experts.json").read_text())
    assert doc["options"] == {"k": 3, "intercept": True}
    assert doc["columns"] == ["x"] and doc["target"] == "y"
    assert list(doc["params"]) == ["coefficients", "intercepts", "variances", "gating_coefficients",
                                   "gating_intercepts"]
    assert doc["fit"]["n_parameters"] == 3 * 2 + 3 + 2 * 2
    result = run("predict", "experts.json", "inverse.csv", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    import pandas as pd

    out = pd.read_csv("out.csv")
    assert list(out.columns) == ["x", "y", "prediction", "prediction_std", "mode", "expert"]
    from emcli.io.modelfile import read_model

    model, params, _ = read_model("experts.json")
    expected = model.row_outputs(params, data[:, :1])
    for column in ("prediction", "prediction_std", "mode"):
        np.testing.assert_allclose(out[column], expected[column], rtol=1e-12)
    np.testing.assert_array_equal(out["expert"], expected["expert"])
    assert out["expert"].dtype == np.int64
    assert run("predict", "experts.json", "inverse.csv", "--proba").exit_code == 2


def test_no_intercept_from_the_command_line(run):
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 2, 200)
    write_table("line.csv", np.column_stack([x, 3 * x + 0.1 * rng.normal(size=200)]))
    result = run("fit", "line.csv", "-m", "experts", "--target", "y", "--no-intercept", "-o", "line.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("line.json").read_text())
    assert doc["options"] == {"k": 1, "intercept": False} and "intercepts" not in doc["params"]
    assert doc["params"]["coefficients"][0][0] == pytest.approx(3.0, abs=0.02)


@pytest.mark.parametrize("args,text,message", [
    (["-k", "0", "--target", "y"], "x,y\n1,2\n2,3\n3,5\n", "-k"),
    ([], "x,y\n1,2\n2,3\n3,5\n", "needs --target"),
    (["--target", "z"], "x,y\n1,2\n2,3\n3,5\n", "no target column 'z'"),
    (["--target", "y"], "x,y\n1,a\n2,b\n3,c\n", "column 'y' is not numeric"),
    (["--target", "y"], "x,y\n1,2\n2,\n3,5\n", "column 'y' row 2 is missing"),
    (["--target", "y", "--columns", "x,y"], "x,y\n1,2\n2,3\n3,5\n", "both the target and a feature"),
    (["--target", "y"], "x,y\n1,2\n2,2\n3,2\n", "the target is constant"),
    (["--target", "y", "--covariance", "diag"], "x,y\n1,2\n2,3\n3,5\n", "does not take --covariance"),
])
def test_bad_input_is_one_line_and_exit_2(run, args, text, message):
    pathlib.Path("data.csv").write_text(text)
    result = run("fit", "data.csv", "-m", "experts", *args, "-o", "m.json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not pathlib.Path("m.json").exists()
