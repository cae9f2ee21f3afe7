"""emtool describe: a summary of any model file, as plain text, rich text on a terminal, or JSON.

The golden texts, tests/data/describe/<name>.txt, describe model files written here from fixed
numbers (not fitted, so that no BLAS build can move a digit).  After a deliberate change of the
layout, regenerate them and review the difference before committing it:

    UPDATE_GOLDEN=1 python -m pytest -q -p no:cacheprovider tests/test_describe.py -k golden
"""

import json
import math
import os
import pathlib

import numpy as np
import pytest

from emcli.describe import render, summary
from emcli.em.fit import fit
from emcli.io.modelfile import dumps, model_document, parse_model, read_model
from emcli.models import registry

from conftest import ROOT
from test_contract import columns, data, make

GOLDEN = ROOT / "tests" / "data" / "describe"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
#: characters rich draws boxes with, which plain text must not hold
BOX_DRAWING = {chr(c) for c in range(0x2500, 0x2580)}


def record(objective: str, score: float, n_parameters: int, restarts: list, events: dict, best: int = -1) -> dict:
    """A fit as modelfile.model_document records it, for 272 rows: ``restarts`` (seed, score,
    iterations, converged), of which ``best`` won; a trace of 6 iterations with ``events``
    {iteration: text}; BIC and AIC for a likelihood."""
    seed, _, n_iter, converged = restarts[best]
    out = {objective: score, "n_samples": 272, "n_parameters": n_parameters}
    if objective == "log_likelihood":
        out.update(bic=-2 * score + n_parameters * math.log(272), aic=-2 * score + 2 * n_parameters)
    out.update(converged=converged, n_iter=n_iter, algorithm="batch", engine="local", seed=seed,
               restarts=[{"seed": s, objective: v, "n_iter": i, "converged": c} for s, v, i, c in restarts],
               trace=[{"iter": i, objective: score - 2.0 ** -i, "seconds": 0.001, "event": events.get(i)}
                      for i in range(6)])
    return out


def document(model: str, options: dict, cols: list, params: dict, fit_record: dict, target=None) -> dict:
    return {"format": "emtool-model", "format_version": 1, "emtool_version": "0.1.0", "model": model,
            "options": options, "columns": cols, "target": target, "params": params, "fit": fit_record}


GAUSSIAN = {"reg_covar": 1e-6}

DOCUMENTS = {
    "gmm": document(
        "gmm", {"k": 2, "covariance": "full", **GAUSSIAN, "prior": "none", "prior_params": {}},
        ["eruptions", "waiting"],
        {"weights": [0.35, 0.65], "means": [[2.04, 54.5], [4.29, 80.0]],
         "covariances": [[[0.0692, 0.4352], [0.4352, 33.7]], [[0.17, 0.94], [0.94, 36.0]]]},
        record("log_likelihood", -1130.2641, 11, [(0, -1131.50123, 20, True), (1, -1130.2641, 12, True)],
               {0: "init", 4: "re-seeded component 1 (empty)"})),
    "tmix": document(
        "tmix", {"k": 2, "covariance": "tied", **GAUSSIAN, "dof": None, "shared_dof": False},
        ["eruptions", "waiting"],
        {"weights": [0.4, 0.6], "means": [[2.0, 54.0], [4.3, 80.1]],
         "covariance": [[0.1, 0.6], [0.6, 34.0]], "dof": [4.5, 30.0]},
        record("log_likelihood", -1129.5, 10, [(3, -1129.5, 9, False)], {0: "init"})),
    "experts": document(
        "experts", {"k": 2, "intercept": True}, ["x"],
        {"coefficients": [[2.0], [-1.0]], "intercepts": [0.5, 3.0], "variances": [0.04, 0.09],
         "gating_coefficients": [[1.5], [0.0]], "gating_intercepts": [-0.2, 0.0]},
        record("log_likelihood", -45.25, 9, [(0, -47.0, 30, True), (1, -45.25, 25, True)], {0: "init"}),
        target="y"),
    "rvm": document(
        "rvm", {"intercept": True, "basis": "linear", "gamma": None, "threshold": 1e6}, ["a", "b", "c"],
        {"weights": [-1.0, 1.02, 0.0, -0.49],
         "weights_cov": [[0.004, 0.0001, 0.0, 0.0], [0.0001, 0.0004, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0001]],
         "relevant": [0, 2], "alpha": [0.96, 4.1], "beta": 11.0},
        record("log_evidence", -54.91, 6, [(0, -54.91, 14, True)], {0: "init"}), target="y"),
    "bernoulli": document(
        "bernoulli", {"k": 2, "prior": "none", "prior_params": {}}, ["q1", "q2", "q3", "q4"],
        {"weights": [0.4, 0.6], "means": [[0.9, 0.8, 0.15, 0.05], [0.1, 0.3, 0.7, 0.95]]},
        record("log_likelihood", -610.75, 9, [(0, -610.75, 18, True), (1, -612.0, 22, True)], {0: "init"},
               best=0)),
    "kmeans": document(
        "kmeans", {"k": 3}, ["x", "y"], {"centres": [[0.0, 0.1], [6.0, 1.0], [2.0, 7.0]]},
        record("inertia", 401.25, 6, [(0, 401.25, 7, True)], {0: "init"})),
}


def write(name: str, doc: dict) -> str:
    path = f"{name}.json"
    pathlib.Path(path).write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_golden_text(run, name):
    result = run("describe", write(name, DOCUMENTS[name]))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_plain_text_has_no_escape_codes_or_boxes_and_a_terminal_gets_rich(run):
    path = write("gmm", DOCUMENTS["gmm"])
    text = run("describe", path).stdout
    assert "\x1b" not in text and not set(text) & BOX_DRAWING
    facts = summary.facts(*read_model(path), path)
    styled = render.render(facts, "text", terminal=True)
    assert "\x1b[1m" in styled and set(styled) & BOX_DRAWING
    for fact in ("Means", "54.5", "80", "-1130.264", "re-seeded component 1 (empty)"):
        assert fact in styled and fact in text


def test_json_holds_the_same_facts_as_the_text(run):
    doc = DOCUMENTS["gmm"]
    result = run("describe", write("gmm", doc), "--output-format", "json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout, parse_constant=pytest.fail)
    assert facts["model"] == "gmm" and facts["k"] == 2
    assert [c["weight"] for c in facts["components"]] == doc["params"]["weights"]
    assert facts["components"][1]["mean"] == {"eruptions": 4.29, "waiting": 80.0}
    assert facts["components"][0]["covariance"]["sd"]["waiting"] == pytest.approx(math.sqrt(33.7))
    assert facts["fit"]["log_likelihood"] == -1130.2641 and facts["fit"]["n_iter"] == 12
    assert [row["seed"] for row in facts["fit"]["restarts"]] == [0, 1]
    assert facts["fit"]["events"] == [{"iter": 0, "event": "init"}, {"iter": 4, "event": "re-seeded component 1 (empty)"}]


def test_json_is_strict_where_the_model_holds_infinities(run):
    """A pruned rvm weight's precision is infinite: null in the JSON."""
    result = run("describe", write("rvm", DOCUMENTS["rvm"]), "--output-format", "json")
    facts = json.loads(result.stdout, parse_constant=pytest.fail)
    pruned = [row for row in facts["coefficients"] if row["relevant"] is False]
    assert [row["term"] for row in pruned] == ["b"] and pruned[0]["precision"] is None
    assert facts["parameters"]["relevant"] == ["a", "c"]


def test_many_columns_list_the_largest_correlations_and_wide_tables_fold(run):
    rng = np.random.default_rng(0)
    d, k = 8, 30
    factor = rng.standard_normal((d, d))
    cov = factor @ factor.T + d * np.eye(d)
    cols = [f"column_{j}" for j in range(d)]
    doc = document("gmm", {"k": k, "covariance": "tied", **GAUSSIAN, "prior": "none", "prior_params": {}}, cols,
                   {"weights": [1 / k] * k, "means": rng.standard_normal((k, d)).tolist(), "covariance": cov.tolist()},
                   record("log_likelihood", -5000.0, 300, [(0, -5000.0, 40, True)], {0: "init"}))
    path = write("wide", doc)
    shared = summary.facts(*read_model(path), path)["shared_covariance"]
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    largest = np.sort(np.abs(corr[np.triu_indices(d, 1)]))[::-1][:summary.LARGEST_CORRELATIONS]
    np.testing.assert_allclose([abs(pair["correlation"]) for pair in shared["largest_correlations"]], largest)
    assert "correlation" not in shared
    text = run("describe", path).stdout
    assert "largest correlations" in text
    assert max(map(len, text.splitlines())) <= render.WIDTH
    lines = text.split("\nMeans\n")[1].splitlines()
    means = lines[:next(i for i, line in enumerate(lines) if line and not line.startswith(" "))]
    headers = [line.split() for line in means if line.startswith("  column ")]
    assert len(headers) > 1 and sum(len(h) - 1 for h in headers) == k  # folded, every component once


def _fitted(name: str, algorithm: str = "batch") -> dict:
    """A small fit of the contract case of model ``name``, as its model file."""
    X = data(name, n=150)
    model = make(name)
    outcome = fit(model, X, restarts=2, max_iter=15, algorithm=algorithm)
    target = "y" if registry.spec(name).target_kind else None
    return json.loads(dumps(model_document(model, columns(name, X), outcome, n_samples=len(X), target=target)))


CASES = [(name, "batch") for name in sorted(registry.MODELS)] + [
    (name, "variational") for name in ("gmm", "bernoulli", "categorical")]


@pytest.mark.parametrize("name, algorithm", CASES)
def test_every_registered_model_can_be_described(run, name, algorithm):
    path = write(name, _fitted(name, algorithm))
    text = run("describe", path)
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith(f"{name}: ") and "\nFit\n" in text.stdout and text.stderr == ""
    assert "\x1b" not in text.stdout and not set(text.stdout) & BOX_DRAWING
    as_json = run("describe", path, "--output-format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout, parse_constant=pytest.fail)["model"] == name


@pytest.mark.parametrize("covariance, shown", [("diag", "\nStandard deviations\n"), ("spherical", " sd\n")])
def test_every_covariance_structure_is_described(run, covariance, shown):
    assert run("fit", ROOT / "sample_data" / "faithful.csv", "-k", 2, "--covariance", covariance,
               "-o", "m.json").exit_code == 0
    component = json.loads(run("describe", "m.json", "--output-format", "json").stdout)["components"][0]
    assert isinstance(component["sd"], dict if covariance == "diag" else float)
    assert shown in run("describe", "m.json").stdout


def test_rbf_relevance_vectors_are_listed(run):
    X = data("rvm", n=80)
    model = registry.create("rvm", {"basis": "rbf", "gamma": 0.5})
    doc = model_document(model, ["c0", "c1", "c2"], fit(model, X), n_samples=len(X), target="y")
    loaded = parse_model(dumps(doc), "m.json")
    facts = summary.facts(*loaded, "m.json")
    rows = [vector["row"] for vector in facts["relevance_vectors"]]
    assert rows == doc["params"]["relevant"] and rows
    assert "Relevance vectors" in render.render(facts, "text", terminal=False)


def test_output_file_holds_what_stdout_would(run):
    path = write("kmeans", DOCUMENTS["kmeans"])
    result = run("describe", path, "-o", "summary.txt")
    assert result.exit_code == 0 and result.stdout == ""
    assert pathlib.Path("summary.txt").read_text() == run("describe", path, "-o", "-").stdout
    assert run("describe", "-", input=pathlib.Path(path).read_text()).stdout == run("describe", path).stdout


@pytest.mark.parametrize("text, message", [
    ("not json", "bad.json is not an emtool model file"),
    (json.dumps({**DOCUMENTS["kmeans"], "fit": {**DOCUMENTS["kmeans"]["fit"], "restarts": "all"}}),
     "bad.json: fit.restarts: expected a list of objects"),
    (json.dumps({**DOCUMENTS["kmeans"], "fit": [1]}), "bad.json: fit: expected an object"),
])
def test_a_bad_model_file_is_one_line_and_status_2_writing_nothing(run, text, message):
    pathlib.Path("bad.json").write_text(text)
    result = run("describe", "bad.json", "-o", "out.txt")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not pathlib.Path("out.txt").exists()


def test_the_output_may_not_be_the_input(run):
    path = write("kmeans", DOCUMENTS["kmeans"])
    before = pathlib.Path(path).read_text()
    result = run("describe", path, "-o", path)
    assert result.exit_code == 2 and "is the input" in result.stderr
    assert pathlib.Path(path).read_text() == before


def test_a_file_without_a_fit_record_is_described(run):
    doc = {key: value for key, value in DOCUMENTS["kmeans"].items() if key != "fit"}
    result = run("describe", write("bare", doc))
    assert result.exit_code == 0, result.output
    assert "not recorded in the model file" in result.stdout
