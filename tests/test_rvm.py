"""Relevance vector machine: sparsity and accuracy on sinc with the rbf basis, irrelevant
features pruned with the linear basis (against scikit-learn's ARDRegression), the pruning rule
and the log evidence against direct computations, and the command line."""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space
from scipy.stats import multivariate_normal
from sklearn.linear_model import ARDRegression

from emcli.em.fit import fit
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models import rvm
from emcli.models.rvm import RelevanceVectorMachine, deletion_gain

from conftest import assert_bad_input

NOISE_SD = 0.1
RELEVANT = np.array([1.5, -2.0, 0.7])
N_IRRELEVANT = 10


def sinc_data(n, seed, noise=NOISE_SD):
    """(n, 2) rows [x | y], x uniform on [-10, 10], y = sin(x) / x + noise * e."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10.0, 10.0, n)
    return np.column_stack([x, np.sinc(x / np.pi) + noise * rng.standard_normal(n)])


def linear_data(n, seed, noise=0.5):
    """(n, 14) rows: 3 relevant then 10 irrelevant standard normal features, then y = 0.5 +
    x'w + noise * e."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, RELEVANT.size + N_IRRELEVANT))
    y = 0.5 + X[:, :RELEVANT.size] @ RELEVANT + noise * rng.standard_normal(n)
    return np.column_stack([X, y])


def orthogonal_irrelevant(data):
    """``data`` with its irrelevant features replaced by columns orthogonal, in the sample, to
    the ones, the relevant features, the target and each other (scaled to unit variance): then
    nothing in the data supports them, and the evidence is highest without every one of them."""
    n, relevant = len(data), RELEVANT.size
    keep = np.column_stack([np.ones(n), data[:, :relevant], data[:, -1]])
    raw = data[:, relevant:-1]
    basis, _ = np.linalg.qr(np.column_stack([keep, raw]))
    irrelevant = basis[:, keep.shape[1]:] * np.sqrt(n)
    return np.column_stack([data[:, :relevant], irrelevant, data[:, -1]])


def centred(data):
    return data - data.mean(axis=0)


# -- sparsity and accuracy -----------------------------------------------------------------------

def test_sinc_with_rbf_basis_is_sparse_and_accurate():
    """Measured over seeds 0-5 (200 rows, default --tol): 87-91% of the weights pruned, test
    RMSE 0.101-0.110 against noisy targets (noise sd 0.1) and 0.030-0.047 against sinc itself."""
    data = sinc_data(200, seed=0)
    model = RelevanceVectorMachine(basis="rbf")
    outcome = fit(model, data)
    params = outcome.best.params
    assert outcome.best.converged
    assert 1.0 - params.active.mean() > 0.8
    fresh = sinc_data(1000, seed=1000)
    prediction = model.row_outputs(params, fresh[:, :-1])["prediction"]
    assert np.sqrt(np.mean((prediction - fresh[:, -1]) ** 2)) < 1.2 * NOISE_SD
    assert np.sqrt(np.mean((prediction - np.sinc(fresh[:, 0] / np.pi)) ** 2)) < 0.6 * NOISE_SD
    assert params.beta ** -0.5 == pytest.approx(NOISE_SD, rel=0.15)


def test_linear_basis_prunes_exactly_the_irrelevant_features():
    """Irrelevant features that nothing in the sample supports all go; the relevant stay."""
    data = orthogonal_irrelevant(linear_data(200, seed=1))
    params = fit(RelevanceVectorMachine(), data, tol=1e-10, max_iter=10000).best.params
    np.testing.assert_array_equal(params.index[params.active], np.arange(RELEVANT.size))
    np.testing.assert_array_equal(params.mean[1 + RELEVANT.size:], 0.0)
    np.testing.assert_allclose(params.mean[1:1 + RELEVANT.size], RELEVANT, atol=0.1)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pruned_features_are_those_of_scikit_learns_ard_evidence_maximum(seed):
    """On independent random features the evidence maximum keeps an irrelevant feature whose
    chance correlation with the residual beats its noise (q^2 > s), about 32% of them: over
    seeds 0-29, 6.9 of 10 were pruned on average (all 10 once), and the pruned set was
    ARDRegression's every time."""
    data = centred(linear_data(200, seed))
    params = fit(RelevanceVectorMachine(intercept=False), data, tol=1e-10, max_iter=10000).best.params
    ard = ARDRegression(fit_intercept=False, tol=1e-10, max_iter=3000, alpha_1=1e-12, alpha_2=1e-12,
                        lambda_1=1e-12, lambda_2=1e-12, threshold_lambda=1e12).fit(data[:, :-1], data[:, -1])
    ard_pruned = ard.lambda_ > 1e6 * ard.lambda_.min()
    np.testing.assert_array_equal(~params.active, ard_pruned)
    assert params.active[:RELEVANT.size].all()
    # a large precision is poorly determined (the evidence hardly depends on it), so only the
    # relevant features' are compared closely
    np.testing.assert_allclose(params.alpha[:RELEVANT.size], ard.lambda_[:RELEVANT.size], rtol=1e-4)
    np.testing.assert_allclose(params.mean, ard.coef_, rtol=1e-3, atol=2e-4)


# -- the mathematics -----------------------------------------------------------------------------

def evolved(data, model, iterations):
    """Parameters after a few EM iterations, and the statistics under them."""
    params = model.init_params(data, "random", np.random.default_rng(0))
    for _ in range(iterations):
        params = model.m_step(model.e_step(params, data)[0], params)
    return params, model.e_step(params, data)[0]


def test_deletion_gain_is_the_change_of_the_evidence():
    data = sinc_data(60, seed=2)
    model = RelevanceVectorMachine(basis="rbf", threshold=1e12)
    model.prepare(data)
    params, stats = evolved(data, model, 30)
    active = np.flatnonzero(params.active)
    post = model.posterior(stats, params.alpha, params.beta)
    gains = deletion_gain(params.alpha[active], post, intercept=True)
    assert gains.max() > 0 > gains.min()
    for j in range(len(active)):
        alpha = params.alpha.copy()
        alpha[active[j]] = np.inf
        direct = model.posterior(stats, alpha, params.beta).log_evidence - post.log_evidence
        assert gains[j] == pytest.approx(direct, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("intercept", [True, False])
def test_log_evidence_is_the_marginal_density_of_the_targets(intercept):
    """log N(y | 0, I/beta + Phi diag(1/alpha) Phi') over the weights still in the model, by
    scipy (with a flat intercept: over the coordinates orthogonal to the ones, less log N / 2)."""
    data = linear_data(40, seed=3)
    if not intercept:
        data = centred(data)
    model = RelevanceVectorMachine(intercept=intercept)
    model.prepare(data)
    params, stats = evolved(data, model, 25)
    assert 0 < params.active.sum() < params.active.size
    X = data[:, :-1][:, params.active]
    Q = null_space(np.ones((1, len(data)))) if intercept else np.eye(len(data))
    prior = np.diag(1.0 / params.alpha[params.active])
    cov = np.eye(Q.shape[1]) / params.beta + (Q.T @ X) @ prior @ (Q.T @ X).T
    expected = multivariate_normal(np.zeros(Q.shape[1]), cov).logpdf(Q.T @ data[:, -1])
    expected -= 0.5 * np.log(len(data)) if intercept else 0.0
    assert model.total_score(stats, params) == pytest.approx(expected, rel=1e-10)


def test_evidence_never_decreases_with_the_rbf_basis_through_pruning():
    data = sinc_data(100, seed=4)
    outcome = fit(RelevanceVectorMachine(basis="rbf"), data, tol=0, max_iter=150)
    scores = np.array([row["score"] for row in outcome.best.trace])
    assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:]))
    assert outcome.best.params.active.sum() < 30


def test_rbf_fit_in_chunks_of_seven_rows_equals_the_whole():
    data = sinc_data(100, seed=5)
    chunked = fit(RelevanceVectorMachine(basis="rbf"), data, rows=7).best
    whole = fit(RelevanceVectorMachine(basis="rbf"), data).best
    assert chunked.n_iter == whole.n_iter
    np.testing.assert_array_equal(chunked.params.active, whole.params.active)
    np.testing.assert_allclose(chunked.params.mean, whole.params.mean, rtol=1e-8, atol=1e-12)


def test_gamma_defaults_to_one_over_the_number_of_features():
    data = np.column_stack([sinc_data(50, seed=6)[:, :1], np.zeros((50, 3)), sinc_data(50, seed=6)[:, 1]])
    model = RelevanceVectorMachine(basis="rbf")
    fit(model, data, max_iter=3)
    assert model.options() == {"intercept": True, "basis": "rbf", "gamma": 0.25, "threshold": 1e6}


def test_too_many_rows_for_the_rbf_basis_is_a_data_error(monkeypatch):
    monkeypatch.setattr(rvm, "MAX_RBF_ROWS", 50)
    with pytest.raises(DataError, match="takes at most 50 rows, the data has 60"):
        RelevanceVectorMachine(basis="rbf").prepare(sinc_data(60, seed=7))


@pytest.mark.parametrize("options,message", [
    ({"basis": "poly"}, "--basis must be one of linear, rbf"),
    ({"gamma": 0.5}, "--gamma applies only to --basis rbf"),
    ({"basis": "rbf", "gamma": -1.0}, "--gamma must be positive"),
    ({"threshold": 1.0}, "--threshold must be greater than 1"),
    ({"intercept": 1}, "intercept must be true or false"),
])
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        RelevanceVectorMachine(**options)


def test_describe_names_the_relevant_features_and_rows():
    data = orthogonal_irrelevant(linear_data(100, seed=8))
    model = RelevanceVectorMachine()
    params = fit(model, data, tol=1e-10, max_iter=10000).best.params
    names = [f"x{j}" for j in range(data.shape[1] - 1)]
    assert model.describe(params, names) == ["rvm: 3 of 13 features relevant: x0, x1, x2"]
    model = RelevanceVectorMachine(basis="rbf")
    params = fit(model, sinc_data(100, seed=8)).best.params
    (line,) = model.describe(params, ["x"])
    expected = f"rvm: {params.active.sum()} relevance vectors of 100 training rows (0-based rows "
    assert line.startswith(expected)


def fitted_document(basis):
    data = sinc_data(80, seed=9) if basis == "rbf" else linear_data(80, seed=9)
    model = RelevanceVectorMachine(basis=basis)
    columns = [f"x{j}" for j in range(data.shape[1] - 1)]
    return model_document(model, columns, fit(model, data), n_samples=len(data), target="y")


@pytest.mark.parametrize("basis,change,message", [
    ("linear", {"relevant": [2, 1]}, "params.relevant: expected increasing non-negative integers below 13"),
    ("linear", {"relevant": [0, 13]}, "params.relevant: expected increasing"),
    ("rbf", {"relevant": [0.5]}, "params.relevant: expected increasing non-negative integers"),
    ("linear", {"alpha": [1.0]}, "params.alpha: expected shape"),
    ("rbf", {"relevance_vectors": [[0.0]]}, "params.relevance_vectors: expected shape"),
    ("rbf", {"beta": 0.0}, "params.beta: must be positive"),
])
def test_bad_parameters_name_the_field(basis, change, message):
    doc = fitted_document(basis)
    params = dict(doc["params"], **change)
    with pytest.raises(ModelFileError, match=message):
        parse_model(dumps(dict(doc, params=params)), "m.json")


@pytest.mark.parametrize("basis", ["linear", "rbf"])
def test_model_file_round_trips_exactly(basis):
    doc = fitted_document(basis)
    model, params, loaded = parse_model(dumps(doc), "m.json")
    assert loaded == json.loads(dumps(doc))
    assert model.options() == doc["options"]
    assert model.to_json(params) == doc["params"]


def test_an_rbf_model_file_cannot_start_a_fit():
    data = sinc_data(80, seed=9)
    model, params, _ = parse_model(dumps(fitted_document("rbf")), "m.json")
    with pytest.raises(UsageError, match="an rbf rvm cannot start from a model file"):
        fit(model, data, init=params)


def test_a_pruned_feature_with_a_weight_is_refused():
    doc = fitted_document("linear")
    pruned = next(j for j in range(13) if j not in doc["params"]["relevant"])
    weights = list(doc["params"]["weights"])
    weights[1 + pruned] = 0.5
    with pytest.raises(ModelFileError, match="params.weights: a feature not in params.relevant"):
        parse_model(dumps(dict(doc, params=dict(doc["params"], weights=weights))), "m.json")


# -- the command line -----------------------------------------------------------------------------

def write_csv(path, data, names):
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in row) for row in data]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def test_rbf_model_file_predicts_what_the_fitted_model_does(run):
    data, fresh = sinc_data(150, seed=10), sinc_data(40, seed=11)
    write_csv("train.csv", data, ["x", "y"])
    write_csv("test.csv", fresh, ["x", "y"])
    fitted = run("fit", "train.csv", "-m", "rvm", "--target", "y", "--basis", "rbf", "--gamma", "0.5",
                 "-o", "m.json")
    assert fitted.exit_code == 0, fitted.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["options"] == {"intercept": True, "basis": "rbf", "gamma": 0.5, "threshold": 1e6}
    relevant = doc["params"]["relevant"]
    assert len(relevant) < 0.2 * len(data)
    np.testing.assert_array_equal(doc["params"]["relevance_vectors"], data[relevant, :1])
    assert len(doc["params"]["weights"]) == len(relevant) + 1
    predicted = run("predict", "m.json", "test.csv", "-o", "out.csv")
    assert predicted.exit_code == 0, predicted.output
    out = pd.read_csv("out.csv")
    assert list(out.columns) == ["x", "y", "prediction", "prediction_std"]
    model = RelevanceVectorMachine(basis="rbf", gamma=0.5)
    expected = model.row_outputs(fit(model, data).best.params, fresh[:, :-1])
    np.testing.assert_allclose(out["prediction"], expected["prediction"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["prediction_std"], expected["prediction_std"], rtol=1e-12)


def test_linear_model_file_lists_the_relevant_features(run):
    names = [f"x{j}" for j in range(13)] + ["y"]
    write_csv("train.csv", orthogonal_irrelevant(linear_data(200, seed=12)), names)
    result = run("fit", "train.csv", "-m", "rvm", "--target", "y", "--tol", "1e-10", "--max-iter", "10000",
                 "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["params"]["relevant"] == [0, 1, 2]
    assert len(doc["params"]["weights"]) == 14 and doc["params"]["weights"][4:] == [0.0] * 10
    write_csv("test.csv", linear_data(20, seed=13), names)
    assert run("predict", "m.json", "test.csv", "-o", "out.csv").exit_code == 0
    assert list(pd.read_csv("out.csv").columns)[-2:] == ["prediction", "prediction_std"]


def test_no_intercept_from_the_command_line(run):
    write_csv("train.csv", centred(linear_data(100, seed=14))[:, [0, 1, -1]], ["a", "b", "y"])
    result = run("fit", "train.csv", "-m", "rvm", "--target", "y", "--no-intercept", "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["options"]["intercept"] is False and len(doc["params"]["weights"]) == 2


BAD = {
    "no_target.csv": ("a,b\n1,2\n2,3\n3,5\n", ["--target", "y"], "has no target column 'y'"),
    "text_target.csv": ("a,y\n1,2\n2,x\n3,5\n", ["--target", "y"], "column 'y' is not numeric"),
    "target_feature.csv": ("a,y\n1,2\n2,3\n3,5\n", ["--target", "y", "--columns", "a,y"],
                           "column 'y' is both the target and a feature"),
    "gamma_linear.csv": ("a,y\n1,2\n2,3\n3,5\n", ["--target", "y", "--gamma", "2"],
                         "--gamma applies only to --basis rbf"),
    "threshold.csv": ("a,y\n1,2\n2,3\n3,5\n", ["--target", "y", "--threshold", "0.5"],
                      "--threshold must be greater than 1"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(run, name):
    text, args, message = BAD[name]
    assert_bad_input(run, name, text, ["fit", name, "-m", "rvm", *args], message)


def test_the_evidence_is_at_least_blrs_whose_prior_it_generalises():
    """An rvm with every alpha_i equal is blr, so its evidence maximum is at least blr's; on
    the breast-cancer columns, where blr's evidence has two maxima (issue 14, item 3), both
    search from every decade of the basis functions' scales."""
    from sklearn.datasets import load_breast_cancer

    from emcli.models.blr import BayesianLinearRegression

    data = load_breast_cancer()
    rows = np.column_stack([data.data[:, :5], data.target.astype(float)])
    rvm = fit(RelevanceVectorMachine(), rows).best.score
    blr = fit(BayesianLinearRegression(), rows).best.score
    assert blr == pytest.approx(-134.427, abs=1e-3)
    assert rvm >= blr and rvm == pytest.approx(-113.051, abs=1e-3)
