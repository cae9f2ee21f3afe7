"""The contract every registered model keeps (DESIGN.md, "Tests and habits")."""

import json

import numpy as np
import pytest

from emcli.em.batch import run_batch
from emcli.em.fit import fit, start_params
from emcli.errors import ModelFileError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models import registry

from conftest import draw_mixture

# Components listed in the order the readers below sort them (by x + y / 10).
TRUE_MEANS = np.array([[0.0, 0.0], [1.0, 7.0], [6.0, 1.0]])
TRUE_COVS = np.array([[[1.0, 0.3], [0.3, 0.5]], [[1.5, 0.0], [0.0, 0.4]], [[0.6, -0.2], [-0.2, 1.2]]])
TRUE_WEIGHTS = np.array([0.5, 0.2, 0.3])


def gmm_truth(params):
    order = np.argsort(params.means[:, 0] + 0.1 * params.means[:, 1])
    return {"weights": params.weights[order], "means": params.means[order], "cov": params.cov[order]}


def kmeans_truth(centres):
    return {"means": centres[np.argsort(centres[:, 0] + 0.1 * centres[:, 1])]}


# Per model: options, a data generator (rng, n) -> X, the parameters it was drawn from, a way to
# read those parameters off a fit, and tolerances.  Every registered model must have an entry.
CASES = {
    "gmm": dict(
        options={"k": 3, "covariance": "full"},
        draw=lambda rng, n: draw_mixture(rng, TRUE_WEIGHTS, TRUE_MEANS, TRUE_COVS, n)[0],
        truth={"weights": TRUE_WEIGHTS, "means": TRUE_MEANS, "cov": TRUE_COVS},
        read=gmm_truth, atol=0.05,
    ),
    "kmeans": dict(
        options={"k": 3},
        draw=lambda rng, n: draw_mixture(rng, TRUE_WEIGHTS, TRUE_MEANS * 3, TRUE_COVS * 0.2, n)[0],
        truth={"means": TRUE_MEANS * 3},
        read=kmeans_truth, atol=0.05,
    ),
}

NAMES = sorted(registry.MODELS)


def make(name):
    return registry.create(name, CASES[name]["options"])


def data(name, n=600, seed=0):
    return CASES[name]["draw"](np.random.default_rng(seed), n)


def test_every_registered_model_has_a_contract_case():
    assert set(CASES) == set(registry.MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_objective_never_decreases(name):
    X = data(name)
    model = make(name)
    model.prepare(X)
    rng = np.random.default_rng(5)
    for method in ("k-means++", "random"):
        start = start_params(model, X, method, rng, rows=len(X))
        run = run_batch(model, X, start, rows=97, max_iter=40, tol=0, rng=rng, max_reseeds=0)
        scores = np.array([row["score"] for row in run.trace])
        assert run.n_iter == 40
        assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:])), scores


@pytest.mark.parametrize("name", NAMES)
def test_statistics_of_two_blocks_add_up(name):
    X = data(name)
    model = make(name)
    model.prepare(X)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    whole, whole_score = model.e_step(params, X)
    first, first_score = model.e_step(params, X[:250])
    second, second_score = model.e_step(params, X[250:])
    merged = first + second
    assert set(merged) == set(whole)
    for field in whole:
        np.testing.assert_allclose(merged[field], whole[field], rtol=1e-11, atol=1e-9)
    assert first_score + second_score == pytest.approx(whole_score, rel=1e-12)
    np.testing.assert_allclose((merged - second)[next(iter(whole))], first[next(iter(whole))],
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_chunk_of_seven_rows_equals_unchunked(name):
    X = data(name)
    chunked = fit(make(name), X, restarts=2, rows=7)
    whole = fit(make(name), X, restarts=2, rows=len(X))
    assert chunked.best.n_iter == whole.best.n_iter
    assert chunked.best.score == pytest.approx(whole.best.score, rel=1e-12)
    a = make(name).to_json(chunked.best.params)
    b = make(name).to_json(whole.best.params)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_model_files(name):
    X = data(name)
    first, second = (fit(make(name), X, restarts=3, seed=11) for _ in range(2))
    strip = lambda doc: {k: v for k, v in doc.items() if k != "fit"} | {
        "score": doc["fit"].get("log_likelihood", doc["fit"].get("inertia"))}
    docs = [strip(model_document(make(name), ["x", "y"], o, n_samples=len(X))) for o in (first, second)]
    assert docs[0] == docs[1]


@pytest.mark.parametrize("name", NAMES)
def test_model_file_round_trips_exactly(name):
    X = data(name)
    model = make(name)
    outcome = fit(model, X, restarts=2)
    doc = model_document(model, ["x", "y"], outcome, n_samples=len(X))
    text = dumps(doc)
    loaded, params, loaded_doc = parse_model(text, "model.json")
    assert loaded_doc == json.loads(text) == doc
    assert loaded.options() == model.options()
    assert loaded.to_json(params) == model.to_json(outcome.best.params)
    assert dumps(model_document(loaded, ["x", "y"], outcome, n_samples=len(X))) == text


@pytest.mark.parametrize("name", NAMES)
def test_recovers_the_parameters_it_was_drawn_from(name):
    case = CASES[name]
    X = data(name, n=20000, seed=3)
    outcome = fit(make(name), X, restarts=3)
    found = case["read"](outcome.best.params)
    for key, expected in case["truth"].items():
        np.testing.assert_allclose(found[key], expected, atol=case["atol"] * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameter_shapes_name_the_field(name):
    X = data(name)
    model = make(name)
    doc = model.to_json(fit(model, X).best.params)
    key = next(iter(doc))
    broken = dict(doc, **{key: np.asarray(doc[key])[:-1].tolist()})
    with pytest.raises(ModelFileError, match=f"params.{key}"):
        model.from_json(broken, 2)
    with pytest.raises(ModelFileError, match="params"):
        model.from_json(doc, 3)
