"""Latent class analysis: E-step and M-steps against brute force and closed forms, columns with
different numbers of levels and missing cells, the model file's levels, and the command line."""

import csv
import io
import itertools
import json
import os
import pathlib

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emcli.em.batch import run_batch
from emcli.em.fit import fit
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models.bernoulli import BernoulliMixture, BernoulliParams
from emcli.models.categorical import CategoricalMixture, CategoricalParams

from conftest import assert_monotone_batch

LEVELS = [["no", "yes"], ["a", "b", "c"], [1, 2, 3, 4]]
WEIGHTS = np.array([0.6, 0.4])
TABLES = [np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]),
          np.array([[0.1, 0.8, 0.05, 0.05], [0.4, 0.1, 0.2, 0.3]])]
NAN = np.nan
TINY_X = np.array([[0, 2, 3], [1, NAN, 0], [NAN, 0, 1], [1, 1, NAN], [0, 0, 2], [NAN, NAN, 3]])


def model_with(levels, **options):
    model = CategoricalMixture(len(WEIGHTS), **options)
    model.levels = levels
    return model


def params():
    return CategoricalParams(WEIGHTS.copy(), [t.copy() for t in TABLES])


def draw(rng, n, missing=0.15):
    components = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    X = np.empty((n, len(TABLES)))
    for j, table in enumerate(TABLES):
        cumulative = np.cumsum(table[components], axis=1)
        X[:, j] = np.minimum((rng.random((n, 1)) >= cumulative).sum(axis=1), table.shape[1] - 1)
    X[rng.random(X.shape) < missing] = np.nan
    return X, components


def brute_joint(p, X):
    """(N, K) p(x_n observed, z_n = k), one product per row, component and observed cell."""
    out = np.empty((len(X), len(p.weights)))
    for n, k in itertools.product(range(len(X)), range(len(p.weights))):
        out[n, k] = p.weights[k]
        for j, table in enumerate(p.tables):
            if not np.isnan(X[n, j]):
                out[n, k] *= table[k, int(X[n, j])]
    return out


def expected_complete(p, X, resp):
    return float((resp * np.log(brute_joint(p, X))).sum())


def brute_counts(X, resp, j, size):
    """(K, L_j) responsibility-weighted counts of column j's levels over its observed rows."""
    return np.array([[sum(resp[n, k] for n in range(len(X)) if X[n, j] == level)
                      for level in range(size)] for k in range(resp.shape[1])])


def test_e_step_leaves_missing_cells_out_as_brute_force_does():
    model = model_with(LEVELS)
    joint = brute_joint(params(), TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    stats, score = model.e_step(params(), TINY_X)
    assert score == pytest.approx(np.log(joint.sum(axis=1)).sum(), rel=1e-13)
    np.testing.assert_allclose(stats["n"], resp.sum(axis=0), rtol=1e-13)
    expected = np.concatenate([brute_counts(TINY_X, resp, j, len(l)) for j, l in enumerate(LEVELS)], axis=1)
    np.testing.assert_allclose(stats["counts"], expected, rtol=1e-13, atol=1e-15)
    proba, logpdf = model.responsibilities(params(), TINY_X)
    np.testing.assert_allclose(proba, resp, rtol=1e-13)


def perturbations(p, rng, count=200, size=0.02):
    """Parameters near ``p``, every row kept on its simplex."""
    for _ in range(count):
        weights = np.abs(p.weights + rng.normal(0, size, p.weights.shape))
        tables = [np.clip(t + rng.normal(0, size, t.shape), 1e-3, None) for t in p.tables]
        yield CategoricalParams(weights / weights.sum(), [t / t.sum(axis=1, keepdims=True) for t in tables])


def test_mle_m_step_is_the_observed_frequency_and_maximises_q():
    model = model_with(LEVELS)
    stats, _ = model.e_step(params(), TINY_X)
    new = model.m_step(stats, params())
    joint = brute_joint(params(), TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(new.weights, resp.mean(axis=0), rtol=1e-13)
    for j, levels in enumerate(LEVELS):
        counts = brute_counts(TINY_X, resp, j, len(levels))
        # denominators: the responsibility of the rows where column j is observed, not n_k
        np.testing.assert_allclose(new.tables[j], counts / counts.sum(axis=1, keepdims=True), rtol=1e-12)
    best = expected_complete(new, TINY_X, resp)
    rng = np.random.default_rng(0)
    # levels no row shows get probability FLOOR: perturb only around the others
    seen = [t > 1e-10 for t in new.tables]
    for p in perturbations(new, rng):
        p.tables = [np.where(s, t, n) for s, t, n in zip(seen, p.tables, new.tables)]
        p.tables = [t / t.sum(axis=1, keepdims=True) for t in p.tables]
        assert expected_complete(p, TINY_X, resp) < best


def test_map_m_step_is_the_posterior_mode_and_log_prior_is_normalised():
    model = model_with(LEVELS, prior="default", prior_params={"alpha": 3.0, "beta": 1.5})
    stats, _ = model.e_step(params(), TINY_X)
    new = model.m_step(stats, params())
    n_k = stats["n"]
    np.testing.assert_allclose(new.weights, (n_k + 2.0) / (6 + 2 * 2.0), rtol=1e-13)
    joint = brute_joint(params(), TINY_X)
    resp = joint / joint.sum(axis=1, keepdims=True)
    expected_prior = scipy_stats.dirichlet([3.0, 3.0]).logpdf(new.weights)
    for j, levels in enumerate(LEVELS):
        counts = brute_counts(TINY_X, resp, j, len(levels)) + 0.5
        np.testing.assert_allclose(new.tables[j], counts / counts.sum(axis=1, keepdims=True), rtol=1e-12)
        expected_prior += sum(scipy_stats.dirichlet(np.full(len(levels), 1.5)).logpdf(row) for row in new.tables[j])
    assert model.log_prior(new) == pytest.approx(expected_prior, rel=1e-12)
    best = expected_complete(new, TINY_X, resp) + model.log_prior(new)
    for p in perturbations(new, np.random.default_rng(1)):
        assert expected_complete(p, TINY_X, resp) + model.log_prior(p) < best


@pytest.mark.parametrize("prior", ["none", "default"])
def test_objective_never_decreases_with_missing_cells_and_mixed_sizes(prior):
    X, _ = draw(np.random.default_rng(2), 500, missing=0.3)
    model = model_with(LEVELS, prior=prior)
    model.k = 4
    assert_monotone_batch(model, X, rows=31)


def test_recovers_columns_of_different_sizes_with_missing_cells():
    X, _ = draw(np.random.default_rng(4), 20000)
    model = model_with(LEVELS)
    found = fit(model, X, restarts=3).best.params
    order = np.argsort(-found.tables[0][:, 0])
    np.testing.assert_allclose(found.weights[order], WEIGHTS, atol=0.02)
    for table, expected in zip(found.tables, TABLES):
        np.testing.assert_allclose(table[order], expected, atol=0.03)


@pytest.mark.parametrize("prior", ["none", "default"])
def test_two_levels_fit_exactly_as_the_bernoulli_mixture(prior):
    """A two-level column is a Bernoulli, and Dirichlet(2) on two levels is Beta(2, 2): from the
    same start both models take the same path."""
    rng = np.random.default_rng(5)
    X = (rng.random((400, 6)) < np.linspace(0.2, 0.8, 6)).astype(np.float64)
    X[:200, :3] = 1.0 - X[:200, :3]
    means = rng.uniform(0.25, 0.75, (3, 6))
    starts = (BernoulliParams(np.full(3, 1 / 3), means),
              CategoricalParams(np.full(3, 1 / 3), [np.stack([1 - m, m], axis=1) for m in means.T]))
    runs = []
    for model, start in zip((BernoulliMixture(3, prior=prior), CategoricalMixture(3, prior=prior)), starts):
        model.prepare(X)
        runs.append(run_batch(model, X, start, rows=len(X), max_iter=30, tol=0, rng=rng, max_reseeds=0))
    bernoulli, categorical = runs
    np.testing.assert_allclose([r["score"] for r in categorical.trace], [r["score"] for r in bernoulli.trace],
                               rtol=1e-12)
    np.testing.assert_allclose(categorical.params.weights, bernoulli.params.weights, rtol=1e-9)
    found = np.stack([t[:, 1] for t in categorical.params.tables], axis=1)
    np.testing.assert_allclose(found, bernoulli.params.means, rtol=1e-9)


def test_start_is_peaked_on_the_centre_but_never_degenerate():
    model = model_with(LEVELS)
    start = model.params_from_centres(np.array([[0.0, 2.0, 3.0], [0.8, NAN, -1.0]]))
    np.testing.assert_array_equal(start.tables[0], [[0.75, 0.25], [0.25, 0.75]])
    np.testing.assert_allclose(start.tables[1], [[1 / 6, 1 / 6, 2 / 3], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(start.tables[2], [[0.125, 0.125, 0.125, 0.625], [0.625, 0.125, 0.125, 0.125]])


def test_prepare_takes_codes_as_levels_and_checks_them():
    model = CategoricalMixture(2)
    model.prepare(np.array([[0, 2], [1, NAN], [1, 0]]))
    assert model.levels == [[0, 1], [0, 1, 2]]
    with pytest.raises(DataError, match="column 2 row 1 of the data is 1.5, not a level code 0..2"):
        model.prepare(np.array([[0, 1.5], [1, 0]]))
    with pytest.raises(DataError, match="column 1 of the data has fewer than 2 levels"):
        CategoricalMixture(1).prepare(np.array([[0, 1], [0, 0]]))
    with pytest.raises(UsageError, match="unknown prior parameter 'a'"):
        CategoricalMixture(2, prior="default", prior_params={"a": 2.0})
    assert CategoricalMixture(2, prior="default").options()["prior_params"] == {"alpha": 2.0, "beta": 2.0}


def test_sample_draws_codes_with_the_tables_frequencies():
    model = model_with(LEVELS)
    X, components = model.sample(params(), 40000, np.random.default_rng(6))
    np.testing.assert_allclose(np.bincount(components) / 40000, WEIGHTS, atol=0.01)
    for j, table in enumerate(TABLES):
        for k in range(2):
            codes = X[components == k, j].astype(int)
            np.testing.assert_allclose(np.bincount(codes, minlength=table.shape[1]) / codes.size, table[k], atol=0.015)
    assert model.n_parameters(params()) == 1 + 2 * (1 + 2 + 3)


def test_model_file_keeps_text_levels_and_tables_of_different_sizes():
    X, _ = draw(np.random.default_rng(7), 300)
    model = model_with(LEVELS)
    outcome = fit(model, X)
    doc = model_document(model, ["answer", "grade", "score"], outcome, n_samples=len(X))
    assert doc["params"]["levels"] == LEVELS
    assert [np.shape(t) for t in doc["params"]["probabilities"]] == [(2, 2), (2, 3), (2, 4)]
    loaded, loaded_params, _ = parse_model(dumps(doc), "m.json")
    assert loaded.levels == LEVELS
    assert loaded.to_json(loaded_params) == doc["params"]


@pytest.mark.parametrize("change, message", [
    ({"levels": [["no", "yes"], ["a", "b", "c"]]}, r"params.levels: expected a list of 3"),
    ({"levels": [["no"], ["a", "b", "c"], [1, 2, 3, 4]]}, r"params.levels\[0\]: expected at least 2"),
    ({"levels": [["no", "no"], ["a", "b", "c"], [1, 2, 3, 4]]}, r"params.levels\[0\]"),
    ({"levels": [["no", 1], ["a", "b", "c"], [1, 2, 3, 4]]}, r"params.levels\[0\]"),
    ({"levels": [["no", "yes"], ["a", "b", 1.5], [1, 2, 3, 4]]}, r"params.levels\[1\]"),
    ({"levels": [["no", "yes", "maybe"], ["a", "b", "c"], [1, 2, 3, 4]]},
     r"params.probabilities\[0\]: expected shape \(2, 3\)"),
    ({"probabilities": [[[0.5, 0.5], [0.5, 0.5]]]}, r"params.probabilities: expected a list of 3"),
    ({"probabilities": [[[0.9, 0.2], [0.2, 0.8]], TABLES[1].tolist(), TABLES[2].tolist()]},
     r"params.probabilities\[0\]: every row must be positive and sum to 1"),
    ({"probabilities": [[[0.9, "x"], [0.2, 0.8]], TABLES[1].tolist(), TABLES[2].tolist()]},
     r"params.probabilities\[0\]: not an array of numbers"),
])
def test_bad_model_file_fields_are_named(change, message):
    model = model_with(LEVELS)
    doc = dict(model.to_json(params()), **change)
    with pytest.raises(ModelFileError, match=message):
        CategoricalMixture(2).from_json(doc, 3)


# -- command line ------------------------------------------------------------------------------------


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")


@pytest.fixture
def survey(tmp_path):
    """Two latent classes answering three text questions, some answers missing."""
    rng = np.random.default_rng(8)
    X, _ = draw(rng, 400, missing=0.05)
    names = [["no", "yes"], ["low", "mid", "high"], ["red", "green", "blue", "grey"]]
    rows = [["" if np.isnan(v) else names[j][int(v)] for j, v in enumerate(row)] for row in X]
    write_csv(tmp_path / "survey.csv", ["smoker", "income", "colour"], rows)
    write_csv(tmp_path / "new.csv", ["smoker", "income", "colour"],
              [["yes", "high", "blue"], ["no", "low", "purple"]])
    return tmp_path


def test_cli_fit_predict_and_unseen_levels(run, survey):
    result = run("fit", survey / "survey.csv", "-m", "categorical", "-k", 2, "--restarts", 3, "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["params"]["levels"] == [["no", "yes"], ["high", "low", "mid"], ["blue", "green", "grey", "red"]]
    assert doc["fit"]["n_parameters"] == 1 + 2 * (1 + 2 + 3)

    unseen = run("predict", "m.json", survey / "new.csv", "-o", "out.csv")
    assert unseen.exit_code == 2
    assert unseen.stderr.count("\n") == 1
    assert "column 'colour' row 2 has level 'purple', which the model never saw" in unseen.stderr
    assert not os.path.exists("out.csv")

    missing = run("predict", "m.json", survey / "new.csv", "--unseen", "missing", "--proba", "--logpdf")
    assert missing.exit_code == 0, missing.output
    rows = list(csv.DictReader(io.StringIO(missing.stdout)))
    assert list(rows[1]) == ["smoker", "income", "colour", "cluster", "p_0", "p_1", "logpdf"]
    assert [rows[1][c] for c in ("smoker", "income", "colour")] == ["no", "low", "purple"]
    # the unseen cell drops out: the row's density is that of its first two answers
    from emcli.io.modelfile import read_model

    model, params, _ = read_model("m.json")
    expected = model.responsibilities(params, np.array([[0.0, 1.0, NAN]]))[1][0]
    assert float(rows[1]["logpdf"]) == pytest.approx(expected, rel=1e-12)

    sampled = run("sample", "m.json", "-n", 30, "--seed", 2)
    assert sampled.exit_code == 0, sampled.output
    rows = list(csv.DictReader(io.StringIO(sampled.stdout)))
    assert list(rows[0]) == ["smoker", "income", "colour", "component"]
    assert {r["income"] for r in rows} <= {"low", "mid", "high"} and len(rows) == 30


def test_cli_column_with_one_level_is_exit_2(run, tmp_path):
    write_csv(tmp_path / "one.csv", ["answer", "country"], [["yes", "fr"], ["no", "fr"], ["yes", "fr"]])
    result = run("fit", tmp_path / "one.csv", "-m", "categorical", "-k", 2, "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == ("emtool: error: " + str(tmp_path / "one.csv") + ": column 'country' has a single "
                             "level ('fr'); categorical needs at least two levels\n")
    assert not os.path.exists("m.json")
