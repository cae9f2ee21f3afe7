"""The contract every registered model keeps (DESIGN.md, "Tests and habits")."""

import importlib
import json

import numpy as np
import pytest

from emcli.em.batch import run_batch
from emcli.em.protocol import HiddenNodes, has
from emcli.em.fit import fit, start_params
from emcli.errors import ModelFileError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models import registry

from conftest import ROOT, assert_monotone_batch

CASE_DIR = ROOT / "tests" / "cases"


def _load_cases() -> dict:
    """Every tests/cases/<model>.py's CASE (see tests/cases/README.md)."""
    cases = {}
    for path in sorted(CASE_DIR.glob("*.py")):
        module = importlib.import_module(f"cases.{path.stem}")
        cases[path.stem] = module.CASE
    return cases


CASES = _load_cases()
NAMES = sorted(CASES)


def make(name):
    return registry.create(name, CASES[name]["options"])


def data(name, n=600, seed=0):
    return CASES[name]["draw"](np.random.default_rng(seed), n)


def features(name, X):
    """The rows a fitted model is applied to: a regression model's rows end with the target,
    which ``emtool predict`` never passes."""
    return X[:, :-1] if registry.spec(name).target_kind else X


def columns(name, X):
    """Names of the model file's columns: the features."""
    return [f"c{j}" for j in range(features(name, X).shape[1])]


def test_every_registered_model_has_a_contract_case():
    assert set(CASES) == set(registry.MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_objective_never_decreases(name):
    assert_monotone_batch(make(name), data(name), rows=97, seed=5)


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
    assert_json_close(a, b, rtol=1e-9, atol=1e-12)


def assert_json_close(a, b, **tolerance):
    """Two JSON values equal in structure, their numbers to ``tolerance`` (assert_allclose's)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_json_close(a[key], b[key], **tolerance)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_json_close(x, y, **tolerance)
    elif isinstance(a, float):
        np.testing.assert_allclose(a, b, **tolerance)
    else:
        assert a == b


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_model_files(name):
    X = data(name)
    first, second = (fit(make(name), X, restarts=3, seed=11) for _ in range(2))
    strip = lambda doc: {k: v for k, v in doc.items() if k != "fit"} | {
        "trace": [{k: v for k, v in row.items() if k != "seconds"} for row in doc["fit"]["trace"]]}
    docs = [strip(model_document(make(name), columns(name, X), o, n_samples=len(X))) for o in (first, second)]
    assert docs[0] == docs[1]


@pytest.mark.parametrize("name", NAMES)
def test_model_file_round_trips_exactly(name):
    X = data(name)
    model = make(name)
    outcome = fit(model, X, restarts=2)
    doc = model_document(model, columns(name, X), outcome, n_samples=len(X))
    text = dumps(doc)
    loaded, params, loaded_doc = parse_model(text, "model.json")
    assert loaded_doc == json.loads(text) == doc
    assert loaded.options() == model.options()
    assert loaded.to_json(params) == model.to_json(outcome.best.params)
    assert dumps(model_document(loaded, columns(name, X), outcome, n_samples=len(X))) == text


@pytest.mark.parametrize("name", NAMES)
def test_recovers_the_parameters_it_was_drawn_from(name):
    case = CASES[name]
    X = data(name, n=case.get("recover_rows", 20000), seed=3)
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
    broken = dict(doc, **{key: doc[key][:-1]})
    with pytest.raises(ModelFileError, match=f"params.{key}"):
        model.from_json(broken, features(name, X).shape[1])
    with pytest.raises(ModelFileError, match="params"):
        model.from_json(doc, features(name, X).shape[1] + 1)


@pytest.mark.parametrize("name", NAMES)
def test_predict_gives_probabilities_that_sum_to_one(name):
    from emcli.predict import predict_columns

    X = data(name)
    model = make(name)
    params = fit(model, X).best.params
    spec = registry.spec(name)
    clusters = "cluster" in spec.outputs
    soft = "p_<k>" in spec.outputs
    out = predict_columns(model, params, features(name, X), proba=soft, logpdf="logpdf" in spec.outputs)
    if clusters:
        assert out["cluster"].min() >= 0 and out["cluster"].max() < model.k
    if soft:
        proba = np.stack([out[f"p_{k}"] for k in range(model.k)], axis=1)
        assert np.all(np.isfinite(proba))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(proba.argmax(axis=1), out["cluster"])
    if "logpdf" in out:
        assert np.all(np.isfinite(out["logpdf"]))


@pytest.mark.parametrize("name", [n for n in NAMES if registry.spec(n).generative])
def test_samples_come_from_the_model(name):
    """Rows sampled from a fitted model, fitted again, give that model back."""
    case = CASES[name]
    model = make(name)
    params = fit(model, data(name, n=20000, seed=3), restarts=3).best.params
    X, components = model.sample(params, 20000, np.random.default_rng(9))
    assert X.shape[0] == 20000 and components.min() >= 0
    if has(model, HiddenNodes):  # each hidden node's states
        assert components.shape == (20000, len(model.hidden_names()))
        assert np.all(components.max(axis=0) < [model.hidden[name] for name in model.hidden_names()])
    else:
        assert components.shape == (20000,) and components.max() < model.k
    again = fit(make(name), X, restarts=3).best.params
    original, refit = case["read"](params), case["read"](again)
    for key, expected in original.items():
        np.testing.assert_allclose(refit[key], expected, atol=case["atol"] * max(1.0, np.abs(expected).max()))


# -- declared capabilities -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_class_declares_the_capabilities_its_registry_entry_names(name):
    from emcli.em.protocol import declared

    entry = registry.spec(name)
    assert declared(entry.load()) == set(entry.capabilities)
    assert len({"seeded", "self_starting"} & set(entry.capabilities)) == 1  # one way to start


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_capability_is_implemented_by_the_model_itself(name):
    """A protocol's methods are placeholders: a model declaring it must define each one, so
    that no capability is a stub, and no method of an undeclared capability."""
    from emcli.em.protocol import CAPABILITIES

    entry = registry.spec(name)
    cls = entry.load()
    for capability, protocol in CAPABILITIES.items():
        methods = [m for m, v in vars(protocol).items() if callable(v) and not m.startswith("_")]
        for method in methods:
            own = getattr(cls, method, None) is not None and getattr(cls, method) is not getattr(protocol, method)
            assert own == (capability in entry.capabilities), (name, capability, method)


PAIRS = [(name, algorithm) for name in NAMES for algorithm in registry.spec(name).algorithms]
#: stepwise EM makes one pass by default; twenty of minibatches of 100 rows let it settle
DRIVER_OPTIONS = {"stepwise": {"epochs": 20, "batch_size": 100, "kappa": 0.7}}


@pytest.mark.parametrize("name, algorithm", PAIRS)
def test_every_algorithm_fits_every_model_that_declares_it(name, algorithm):
    """Every --algorithm a model takes runs on its contract data from the same start as batch
    EM and ends within 0.01 per row of batch EM's objective (measured: at most 0.005, tmix's
    stepwise and annealed; the stochastic ones wander by 0.002 at most around the optimum).  A
    variational fit's objective is a lower bound on the evidence, not a likelihood: its
    posterior predictive's log-likelihood of the rows is held to batch EM's instead, less p / 2
    for p parameters, AIC's measure of how far a maximum likelihood exceeds a predictive
    density on the rows it was fit to (measured: 9.0 below, p / 2 = 8.5)."""
    from emcli.predict import predict_columns

    X = data(name, n=600)
    batch = fit(make(name), X, seed=2, max_iter=200)
    other = fit(make(name), X, seed=2, max_iter=200, algorithm=algorithm,
                algorithm_options=DRIVER_OPTIONS.get(algorithm))
    assert np.isfinite(other.best.score)
    doc = model_document(make(name), columns(name, X), other, n_samples=len(X))
    assert doc["fit"]["algorithm"] == algorithm
    # the tool reads every model it writes, and predicts with it (issue 13, item 8: an annealed
    # fit once wrote a covariance that predict refused)
    loaded, params, _ = parse_model(dumps(doc), "m.json")
    predicted = predict_columns(loaded, params, features(name, X), logpdf="logpdf" in registry.spec(name).outputs)
    for column in predicted.values():
        assert len(column) == len(X) and np.all(np.isfinite(column))
    score, allowance = other.best.score, 0.0
    if algorithm == "variational":
        score, allowance = predicted["logpdf"].sum(), 0.5 * doc["fit"]["n_parameters"]
    assert score >= batch.best.score - allowance - 0.01 * len(X)


@pytest.mark.parametrize("covariance", registry.COVARIANCE_TYPES)
def test_gmm_keeps_the_contract_for_every_covariance_type(covariance):
    X = data("gmm")
    make_gmm = lambda: registry.create("gmm", {"k": 3, "covariance": covariance})
    model = make_gmm()
    assert_monotone_batch(model, X, rows=97, seed=5)
    start = start_params(model, X, "k-means++", np.random.default_rng(5), rows=len(X))
    whole, _ = model.e_step(start, X)
    merged = model.e_step(start, X[:250])[0] + model.e_step(start, X[250:])[0]
    for field in whole:
        np.testing.assert_allclose(merged[field], whole[field], rtol=1e-11, atol=1e-9)
    chunked, unchunked = fit(make_gmm(), X, restarts=2, rows=7), fit(make_gmm(), X, restarts=2, rows=len(X))
    assert chunked.best.score == pytest.approx(unchunked.best.score, rel=1e-12)
    doc = model_document(model, ["a", "b"], unchunked, n_samples=len(X))
    loaded, params, _ = parse_model(dumps(doc), "m.json")
    assert loaded.to_json(params) == model.to_json(unchunked.best.params)


def _state(model) -> dict:
    """The model object's attributes, arrays as bytes, for comparing before and after; a memo
    of work done for some parameters (named ``_cache``, as k-medoids' assignment) is not state."""
    return {key: (value.tobytes() if isinstance(value, np.ndarray) else repr(value))
            for key, value in vars(model).items() if not key.startswith("_cache")}


@pytest.mark.parametrize("name", NAMES)
def test_data_derived_state_is_set_once(name):
    """A model takes its settings from the data in ``prepare`` (a fit) or ``from_json`` (a
    model file) and nowhere else: running EM, predicting and sampling leave it as it was."""
    from emcli.em.protocol import Sampling
    from emcli.predict import predict_columns

    X = data(name)
    model = make(name)
    model.prepare(X)
    prepared = _state(model)
    start = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    run_batch(model, X, start, rows=97, max_iter=5, tol=0, rng=np.random.default_rng(0), max_reseeds=2)
    assert _state(model) == prepared
    doc = model_document(model, columns(name, X), fit(make(name), X), n_samples=len(X))
    loaded, loaded_params, _ = parse_model(dumps(doc), "m.json")
    read = _state(loaded)
    predict_columns(loaded, loaded_params, features(name, X), logpdf="logpdf" in registry.spec(name).outputs)
    if has(loaded, Sampling):
        loaded.sample(loaded_params, 10, np.random.default_rng(0))
    assert _state(loaded) == read


@pytest.mark.parametrize("name", NAMES)
def test_threads_give_the_same_statistics_bit_for_bit(name):
    """The E-step is a map-reduce over the worker threads: statistics and score summed in chunk
    order, so any number of threads gives those of one, bit for bit."""
    from emcli.em.chunks import accumulate
    from emcli.em.workers import workers

    X = data(name)
    model = make(name)
    model.prepare(X)
    params = start_params(model, X, "k-means++", np.random.default_rng(0), rows=len(X))
    passes = {}
    for threads in (1, 2, 3):
        with workers(threads):
            passes[threads] = accumulate(lambda block: model.e_step(params, block), X, 37)
    one = passes[1]
    for many in (passes[2], passes[3]):
        assert many[1] == one[1]
        assert set(many[0]) == set(one[0])
        for field in one[0]:
            np.testing.assert_array_equal(np.asarray(many[0][field]), np.asarray(one[0][field]))
