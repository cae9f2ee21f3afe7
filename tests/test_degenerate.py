"""Degenerate fits in every model with a scale (issue 14, item 2): a component (or a
regression's noise) resting on a floor or a bound is named by the model (``flat_components``),
loses to any restart without one, is warned about (an error under --strict), recorded in the
model file and screened by select-k."""

import json
import pathlib

import numpy as np
import pytest

from emcli.em.fit import fit
from emcli.models import registry
from emcli.models.student import DOF_RANGE, StudentParams

DATA = pathlib.Path(__file__).parent / "data"
GEYSER = DATA / "geyser.csv"
RETURNS = DATA / "bmw_siemens.csv"
EXPERTS = ["-m", "experts", "--target", "duration", "-k", "3"]

#: every model with a scale: a covariance, a noise variance, or probabilities
SCALED = ("gmm", "student", "tmix", "experts", "blr", "rvm", "bernoulli", "categorical")


def test_every_model_with_a_scale_declares_its_degenerate_fits():
    for name in SCALED:
        assert registry.spec(name).has("diagnosing"), name


def test_an_expert_on_one_target_value_is_flagged_and_recorded(run):
    """R's geyser, duration on waiting, three experts, seed 4: one expert threads the 53
    durations of exactly 4 minutes with no noise (log-likelihood -1.27 against -178.91)."""
    result = run("fit", GEYSER, *EXPERTS, "--seed", 4, "-o", "m.json")
    assert result.exit_code == 0, result.output
    assert "expert 2 has no noise" in result.stderr
    fit_doc = json.loads(pathlib.Path("m.json").read_text())["fit"]
    assert fit_doc["degenerate"] == [2] and fit_doc["log_likelihood"] > -2.0
    strict = run("fit", GEYSER, *EXPERTS, "--seed", 4, "--strict", "-o", "s.json")
    assert strict.exit_code == 3 and "expert 2 has no noise" in strict.stderr
    assert not pathlib.Path("s.json").exists()


def test_a_sound_restart_wins_over_a_degenerate_one(run):
    """Of ten restarts, seed 4's spike has the highest likelihood; the proper fit wins."""
    result = run("fit", GEYSER, *EXPERTS, "--restarts", 10, "-o", "m.json")
    assert result.exit_code == 0 and result.stderr == ""
    fit_doc = json.loads(pathlib.Path("m.json").read_text())["fit"]
    assert fit_doc["degenerate"] == [] and fit_doc["log_likelihood"] == pytest.approx(-178.905, abs=1e-2)
    flagged = [row["seed"] for row in fit_doc["restarts"] if row.get("degenerate")]
    assert flagged == [4]


def test_select_k_never_picks_a_degenerate_expert(run):
    result = run("select-k", GEYSER, "-m", "experts", "--target", "duration", "--k-range", "1:4",
                 "--seed", 4, "--output-format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["k"]: row for row in json.loads(result.stdout)}
    assert rows[3]["error"].startswith("degenerate: expert 2 has no noise")
    assert rows[3]["bic"] is None and rows[3]["best"] is False
    assert [k for k, row in rows.items() if row["best"]] == [2]


def test_a_student_t_component_on_repeated_rows_is_flagged(run):
    """The BMW-Siemens returns: three t components with 4 degrees of freedom, one settles on
    the 312 days at (0, 0), its scale on the floor."""
    result = run("fit", RETURNS, "-m", "tmix", "-k", 3, "--dof", 4, "--max-iter", 3000, "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    spike = doc["fit"]["degenerate"]
    assert len(spike) == 1 and doc["params"]["weights"][spike[0]] == pytest.approx(312 / 6146, abs=1e-4)
    assert f"component {spike[0]} has almost no spread" in result.stderr


def test_degrees_of_freedom_at_their_lower_bound_are_degenerate():
    X = np.random.default_rng(0).standard_t(3, size=(400, 2))
    model = registry.create("tmix", {"k": 2})
    params = fit(model, X).best.params
    assert model.flat_components(params) == []
    low = StudentParams(params.covariance, params.weights, params.means, params.cov,
                        np.array([DOF_RANGE[0], params.dof[1]]))
    assert model.flat_components(low) == [0]
    assert "degrees of freedom at the lower bound" in model.diagnose(low, len(X))[0]
    fixed = registry.create("tmix", {"k": 2, "dof": DOF_RANGE[0]})
    fixed.prepare(X)
    assert fixed.flat_components(low) == []  # a dof the user fixed is not an estimate at a bound


@pytest.mark.parametrize("name", ["blr", "rvm"])
def test_a_target_the_features_fit_exactly_rests_on_the_noise_floor(run, tmp_path, name):
    """y = 2x + 1 exactly: the noise precision would go to infinity (the fit used to end in
    'the objective became nan'); it stops at its cap, flagged."""
    x = np.arange(50.0)
    (tmp_path / "line.csv").write_text("x,y\n" + "".join(f"{a:g},{2 * a + 1:g}\n" for a in x))
    result = run("fit", "line.csv", "-m", name, "--target", "y", "-o", "m.json")
    assert result.exit_code == 0, result.output
    assert "the features fit the target exactly" in result.stderr
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["fit"]["degenerate"] == [0] and doc["fit"]["converged"]
    predicted = run("predict", "m.json", "line.csv", "--output-format", "csv")
    assert predicted.exit_code == 0, predicted.output
    column = [float(line.split(",")[2]) for line in predicted.stdout.splitlines()[1:]]
    np.testing.assert_allclose(column, 2 * x + 1, rtol=1e-6)


def test_a_noisy_target_is_not_degenerate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    data = np.column_stack([x, x @ [1.0, -2.0] + 1e-3 * rng.normal(size=200)])
    for name in ("blr", "rvm"):
        model = registry.create(name, {})
        assert model.flat_components(fit(model, data).best.params) == [], name


def test_a_class_spent_on_a_few_copies_of_one_row_is_flagged():
    """A discrete likelihood is bounded: a class of 50 identical rows is a real cluster (not
    flagged, and EM finds it), but one at 0/1 on 2 rows spends 6 parameters on them."""
    from emcli.models.bernoulli import BernoulliParams
    from emcli.models.categorical import CategoricalParams

    rng = np.random.default_rng(2)
    X = np.vstack([np.ones((50, 6)), (rng.random((100, 6)) < 0.2).astype(float)])
    for name in ("bernoulli", "categorical"):
        model = registry.create(name, {"k": 3})
        outcome = fit(model, X, restarts=3, seed=1)
        assert not any(row.get("degenerate") for row in outcome.restarts), name
    edge = np.clip(np.array([[1.0, 0, 1, 1, 0, 1], [0.5] * 6]), 1e-9, 1 - 1e-9)

    def params(name, weight):
        weights = np.array([weight, 1.0 - weight])
        if name == "bernoulli":
            return BernoulliParams(weights, edge)
        return CategoricalParams(weights, [np.column_stack([1 - edge[:, j], edge[:, j]]) for j in range(6)])

    for name in ("bernoulli", "categorical"):
        model = registry.create(name, {"k": 2})
        model.prepare(X)
        assert model.flat_components(params(name, 2 / 150)) == [0]
        assert model.flat_components(params(name, 50 / 150)) == []
        assert "single row pattern" in model.diagnose(params(name, 2 / 150), len(X))[0]
        prior = registry.create(name, {"k": 2, "prior": "default"})
        prior.prepare(X)
        assert prior.flat_components(params(name, 2 / 150)) == []
