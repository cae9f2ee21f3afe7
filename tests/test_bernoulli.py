"""The Bernoulli mixture: E-step and M-steps against brute force and closed forms, the MAP prior,
the binarised handwritten digits, and the command line."""

import itertools
import json
import os
import pathlib

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emcli.em.fit import fit
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.bernoulli import FLOOR, BernoulliMixture, BernoulliParams

from conftest import assert_monotone_batch

from cases.bernoulli import MEANS, WEIGHTS, draw

TINY_X = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 1, 1]], dtype=float)
TINY = BernoulliParams(np.array([0.3, 0.7]), np.array([[0.8, 0.3, 0.6], [0.2, 0.4, 0.7]]))


def brute_joint(params, X):
    """(N, K) p(x_n, z_n = k), one product per row, component and column."""
    out = np.empty((len(X), len(params.weights)))
    for n, k in itertools.product(range(len(X)), range(len(params.weights))):
        p = params.weights[k]
        for d in range(X.shape[1]):
            p *= params.means[k, d] if X[n, d] == 1 else 1.0 - params.means[k, d]
        out[n, k] = p
    return out


def expected_complete(params, X, resp):
    """Q: the expected complete-data log-likelihood, sum_n sum_k r_nk log p(x_n, z_n = k)."""
    return float((resp * np.log(brute_joint(params, X))).sum())


def test_e_step_matches_brute_force():
    joint = brute_joint(TINY, TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    stats, score = BernoulliMixture(2).e_step(TINY, TINY_X)
    assert score == pytest.approx(np.log(joint.sum(axis=1)).sum(), rel=1e-13)
    np.testing.assert_allclose(stats["n"], resp.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats["s"], [[sum(resp[n, k] * TINY_X[n, d] for n in range(6))
                                             for d in range(3)] for k in range(2)], rtol=1e-13)
    proba, logpdf = BernoulliMixture(2).responsibilities(TINY, TINY_X)
    np.testing.assert_allclose(proba, resp, rtol=1e-13)
    np.testing.assert_allclose(logpdf, np.log(joint.sum(axis=1)), rtol=1e-13)


def perturbations(params, rng, count=200, size=0.02):
    """Parameters near ``params``, weights kept on the simplex and means inside (0, 1)."""
    for _ in range(count):
        weights = np.abs(params.weights + rng.normal(0, size, params.weights.shape))
        means = np.clip(params.means + rng.normal(0, size, params.means.shape), 1e-3, 1 - 1e-3)
        yield BernoulliParams(weights / weights.sum(), means)


def test_mle_m_step_is_the_weighted_average_and_maximises_q():
    model = BernoulliMixture(2)
    stats, _ = model.e_step(TINY, TINY_X)
    new = model.m_step(stats, TINY)
    joint = brute_joint(TINY, TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(new.weights, resp.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(new.means, (resp.T @ TINY_X) / resp.sum(axis=0)[:, None], rtol=1e-13)
    best = expected_complete(new, TINY_X, resp)
    assert all(expected_complete(p, TINY_X, resp) < best for p in perturbations(new, np.random.default_rng(0)))


def test_map_m_step_is_the_posterior_mode_and_log_prior_is_normalised():
    model = BernoulliMixture(2, prior="default", prior_params={"a": 3.0, "b": 1.5, "alpha": 2.5})
    stats, _ = model.e_step(TINY, TINY_X)
    new = model.m_step(stats, TINY)
    n_k, s = stats["n"], stats["s"]
    np.testing.assert_allclose(new.weights, (n_k + 1.5) / (6 + 2 * 1.5), rtol=1e-13)
    np.testing.assert_allclose(new.means, (s + 2.0) / (n_k[:, None] + 2.5), rtol=1e-13)
    expected_prior = (scipy_stats.beta(3.0, 1.5).logpdf(new.means).sum()
                      + scipy_stats.dirichlet([2.5, 2.5]).logpdf(new.weights))
    assert model.log_prior(new) == pytest.approx(expected_prior, rel=1e-12)
    joint = brute_joint(TINY, TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    best = expected_complete(new, TINY_X, resp) + model.log_prior(new)
    for p in perturbations(new, np.random.default_rng(1)):
        assert expected_complete(p, TINY_X, resp) + model.log_prior(p) < best


def test_default_prior_is_recorded_and_checked():
    model = BernoulliMixture(3, prior="default", prior_params={"a": 1.5})
    assert model.objective == "log_posterior"
    assert model.options() == {"k": 3, "prior": "default",
                               "prior_params": {"a": 1.5, "b": 2.0, "alpha": 2.0}}
    assert BernoulliMixture(3).options() == {"k": 3, "prior": "none", "prior_params": {}}
    assert BernoulliMixture(3).objective == "log_likelihood"
    for prior, given, message in (("default", {"kappa": 1.0}, "unknown prior parameter 'kappa'"),
                                  ("default", {"a": 0.0}, "a must be a number > 0"),
                                  ("none", {"a": 2.0}, "needs --prior default"),
                                  ("flat", None, "--prior must be none or default")):
        with pytest.raises(UsageError, match=message):
            BernoulliMixture(2, prior=prior, prior_params=given)
    # below 1 the posterior has no mode: a MAP fit refuses it (a variational one takes it)
    with pytest.raises(UsageError, match="a must be at least 1 for a MAP fit"):
        fit(BernoulliMixture(2, prior="default", prior_params={"a": 0.5}), TINY_X)
    with pytest.raises(UsageError, match="-k"):
        BernoulliMixture(0)


@pytest.mark.parametrize("n", [600, 40])
def test_log_posterior_never_decreases(n):
    """MAP EM, also on fewer rows than parameters, where MLE means sit on 0 and 1."""
    X = draw(np.random.default_rng(2), n)
    for run in assert_monotone_batch(BernoulliMixture(6, prior="default"), X, rows=17):
        assert np.all((run.params.means > 0.0) & (run.params.means < 1.0))


def test_columns_a_component_agrees_on_keep_the_likelihood_finite():
    """MLE means of a column that is all 0 (or all 1) are clipped just inside (0, 1): a new row
    with the other value still gets a finite density and probabilities."""
    X = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=float)
    model = BernoulliMixture(1)
    params = fit(model, X).best.params
    np.testing.assert_array_equal(params.means[0, :2], [FLOOR, 1 - FLOOR])
    assert params.means[0, 2] == 0.5
    proba, logpdf = model.responsibilities(params, np.array([[1.0, 0.0, 1.0]]))
    assert proba[0, 0] == 1.0
    assert logpdf[0] == pytest.approx(2 * np.log(FLOOR) + np.log(0.5), rel=1e-12)


def test_equal_means_never_move_so_starts_are_distinct_and_inside():
    """The reason for the start: components with equal means get equal responsibilities, so EM
    leaves them equal for ever."""
    X = draw(np.random.default_rng(4), 300)
    model = BernoulliMixture(3)
    stuck = BernoulliParams(np.full(3, 1 / 3), np.full((3, 10), 0.5))
    for _ in range(3):
        stuck = model.m_step(model.e_step(stuck, X)[0], stuck)
    np.testing.assert_allclose(stuck.means, np.broadcast_to(X.mean(axis=0), (3, 10)), rtol=1e-12)
    start = model.params_from_centres(X[:3])
    np.testing.assert_array_equal(start.means, 0.25 + 0.5 * X[:3])
    assert len({row.tobytes() for row in start.means}) == 3


def test_empty_component_is_reseeded():
    X = draw(np.random.default_rng(5), 200)
    model = BernoulliMixture(2)
    params = BernoulliParams(np.array([1.0, 0.0]), np.full((2, 10), 0.5))
    stats, _ = model.e_step(params, X)
    assert model.degenerate(params, stats) == [(1, "empty")]
    fresh = model.reseed(params, [1], X, np.random.default_rng(0))
    assert fresh.weights.tolist() == [2 / 3, 1 / 3]
    assert set(np.unique(fresh.means[1])) <= {0.25, 0.75}


def test_sample_draws_rows_of_zeros_and_ones():
    model = BernoulliMixture(3)
    params = BernoulliParams(WEIGHTS, MEANS)
    X, components = model.sample(params, 30000, np.random.default_rng(6))
    assert set(np.unique(X)) == {0.0, 1.0}
    np.testing.assert_allclose(np.bincount(components) / 30000, WEIGHTS, atol=0.01)
    for k in range(3):
        np.testing.assert_allclose(X[components == k].mean(axis=0), MEANS[k], atol=0.02)
    assert model.n_parameters(params) == 2 + 3 * 10


def test_prepare_and_from_json_reject_bad_values():
    with pytest.raises(DataError, match="column 2 row 3 of the data is 0.5"):
        BernoulliMixture(2).prepare(np.array([[0, 1], [1, 0], [1, 0.5]]))
    doc = BernoulliMixture(2).to_json(TINY)
    with pytest.raises(ModelFileError, match="params.means: every mean must lie strictly"):
        BernoulliMixture(2).from_json(dict(doc, means=[[1.0, 0.3, 0.6], [0.2, 0.4, 0.7]]), 3)


def test_binarised_digits_cluster_by_digit():
    """scikit-learn's 8x8 digits, binarised at half range: 10 components from 5 restarts give
    clusters with an adjusted Rand index of 0.607 against the digit labels (k-means on the same
    binary rows: 0.53 to 0.61)."""
    from sklearn.datasets import load_digits
    from sklearn.metrics import adjusted_rand_score

    digits = load_digits()
    X = (digits.data > 8).astype(np.float64)
    model = BernoulliMixture(10)
    params = fit(model, X, restarts=5, seed=0).best.params
    proba, _ = model.responsibilities(params, X)
    assert adjusted_rand_score(digits.target, proba.argmax(axis=1)) > 0.58


# -- command line ------------------------------------------------------------------------------------


@pytest.fixture
def binary_csv(tmp_path):
    rng = np.random.default_rng(7)
    X = draw(rng, 300).astype(int)[:, :4]
    lines = ["a,b,c,flag"] + [f"{r[0]},{r[1]},{r[2]},{'true' if r[3] else 'false'}" for r in X]
    path = tmp_path / "binary.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_fit_predict_sample(run, binary_csv):
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 2, "--restarts", 3,
                 "--prior-param", "a=1.5", "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["columns"] == ["a", "b", "c", "flag"]
    assert doc["options"] == {"k": 2, "prior": "default", "prior_params": {"a": 1.5, "b": 2.0, "alpha": 2.0}}
    assert "log_posterior" in doc["fit"] and doc["fit"]["n_parameters"] == 1 + 2 * 4
    predicted = run("predict", "m.json", binary_csv, "--proba", "--logpdf")
    assert predicted.exit_code == 0, predicted.output
    header, *rows = predicted.stdout.splitlines()
    assert header == "a,b,c,flag,cluster,p_0,p_1,logpdf" and len(rows) == 300
    sampled = run("sample", "m.json", "-n", 50, "--seed", 1)
    assert sampled.exit_code == 0, sampled.output
    header, *rows = sampled.stdout.splitlines()
    assert header == "a,b,c,flag,component"
    assert {cell for row in rows for cell in row.split(",")[:4]} <= {"0", "1"}


def test_cli_non_binary_value_is_one_line_exit_2(run, binary_csv):
    text = binary_csv.read_text().splitlines()
    text[5] = "1,2,0,true"
    binary_csv.write_text("\n".join(text) + "\n")
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 2, "--columns", "a,b,c", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "column 'b' row 5 is 2" in result.stderr and "bernoulli needs binary columns" in result.stderr
    assert not os.path.exists("m.json")


def test_cli_unknown_prior_parameter_is_exit_2(run, binary_csv):
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 2, "--prior-param", "nu=3", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: unknown prior parameter 'nu'; known: a, b, alpha\n"
