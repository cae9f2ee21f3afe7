"""The Gaussian mixture in each of mclust's fourteen covariance forms: EM never lowers its
objective (by maximum likelihood with the floor's penalty, by MAP, with missing cells), the
fitted covariances keep their form, the MAP M-step agrees with the older four's closed forms,
and every algorithm that cannot fit a form says so in one line."""

import json

import numpy as np
import pytest

from emcli.em.fit import fit, start_params
from emcli.errors import UsageError
from emcli.models import forms, gmm_forms
from emcli.models.gaussian import as_full
from emcli.models.gmm import GaussianMixture
from emcli.models.student import StudentMixture

from conftest import FAITHFUL, assert_monotone_batch, draw_mixture


@pytest.fixture(scope="module")
def three_d():
    """(240, 3) rows of three elongated, differently oriented clusters."""
    rng = np.random.default_rng(5)
    rotation = lambda a: np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    covs = [rotation(a) @ np.diag([4.0, 0.5, 1.0]) @ rotation(a).T * v for a, v in ((0.0, 1.0), (1.0, 2.0), (2.2, 0.5))]
    X, _ = draw_mixture(rng, [0.3, 0.3, 0.4], [[0, 0, 0], [6, 2, 1], [-3, 6, -1]], covs, 240)
    return X


def form_holds(form: str, covariances: np.ndarray) -> None:
    """``covariances`` (K, D, D) have the volume, shape and orientation ``form`` names."""
    values, vectors = np.linalg.eigh(covariances)
    volumes = np.exp(np.log(values).mean(axis=1))
    shapes = np.sort(values / volumes[:, None], axis=1)
    volume, shape, orientation = form
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-6)
    if shape == "E":
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-6)
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-6)
    d = covariances.shape[-1]
    off = ~np.eye(d, dtype=bool)
    if orientation == "I":
        assert np.all(covariances[:, off] == 0)
    if orientation == "E" and shape != "I":
        # one set of axes: every covariance is diagonal in the first one's eigenvectors
        rotated = np.swapaxes(vectors[0], 0, 1) @ covariances @ vectors[0]
        assert np.abs(rotated[:, off]).max() <= 1e-6 * np.abs(rotated).max()


@pytest.mark.parametrize("form", forms.FORMS)
def test_em_never_lowers_the_objective_and_keeps_the_form(three_d, form):
    """The score (the log-likelihood, plus the floor's penalty in the eight forms where the
    floor is one) never falls; so the log-likelihood falls by at most the penalty, which is
    tiny while no component rests on the floor."""
    for run in assert_monotone_batch(GaussianMixture(3, form), three_d, rows=97, max_iter=25):
        form_holds(form, as_full(run.params.cov, forms.STORAGE[form], 3, 3))
        scores, loglik = (np.array([row[key] for row in run.trace]) for key in ("score", "log_likelihood"))
        penalty = np.abs(scores - loglik).max()
        assert penalty < 1e-4 and (penalty == 0) == (form not in gmm_forms.RIDGED)
        assert np.all(np.diff(loglik) >= -penalty - 1e-12 * np.abs(loglik[1:]))


@pytest.mark.parametrize("form", forms.FORMS)
def test_map_em_never_lowers_the_log_posterior(three_d, form):
    assert_monotone_batch(GaussianMixture(3, form, prior="default"), three_d, rows=240, max_iter=15)


@pytest.mark.parametrize("form", forms.FORMS)
def test_em_with_missing_cells_never_lowers_the_objective(three_d, form):
    X = three_d.copy()
    X[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    for run in assert_monotone_batch(GaussianMixture(3, form), X, rows=240, max_iter=12):
        form_holds(form, as_full(run.params.cov, forms.STORAGE[form], 3, 3))


@pytest.mark.parametrize("form, storage", [("VVV", "full"), ("VVI", "diag"), ("VII", "spherical")])
def test_form_map_step_is_the_structures_posterior_mode(faithful, form, storage):
    """The constrained forms' MAP step (form_terms, then the form's solver) on a form that is one
    of the older four gives that structure's closed-form posterior mode."""
    from emcli.models.gaussian import scatter

    model = GaussianMixture(3, storage, prior="default")
    model.prepare(faithful)
    start = start_params(model, faithful, "k-means++", np.random.default_rng(0), rows=len(faithful))
    stats, _ = model.e_step(start, faithful)
    mc, spread = scatter(stats["n"], stats["s1"], stats["s2"], storage)
    expected_means, expected = model.conjugate.posterior_mode(stats["n"], mc, spread)
    means, counts, scatters = model.conjugate.form_terms(stats["n"], mc, as_full(spread, storage, 3, 2))
    np.testing.assert_allclose(means, expected_means, rtol=1e-12)
    np.testing.assert_allclose(forms.m_step(form, scatters, counts), as_full(expected, storage, 3, 2), rtol=1e-10)


def test_shared_form_map_step_is_the_tied_posterior_mode(faithful):
    """One prior on a shared covariance, split among the components by form_terms, gives
    the tied structure's posterior mode."""
    from emcli.models.gaussian import scatter
    from emcli.models.gaussian_prior import ConjugatePrior

    model = GaussianMixture(3, "full", prior="default")
    model.prepare(faithful)
    start = start_params(model, faithful, "k-means++", np.random.default_rng(0), rows=len(faithful))
    stats, _ = model.e_step(start, faithful)
    mc, spread = scatter(stats["n"], stats["s1"], stats["s2"], "full")
    prior = lambda covariance, shared: ConjugatePrior(covariance, 3, np.zeros(2), model.data_var, {}, shared)
    _, expected = prior("tied", True).posterior_mode(stats["n"], mc, spread.sum(axis=0))
    _, counts, scatters = prior("full", True).form_terms(stats["n"], mc, spread)
    np.testing.assert_allclose(forms.m_step("EEE", scatters, counts), np.broadcast_to(expected, (3, 2, 2)), rtol=1e-10)


def test_floor_penalty_keeps_a_component_on_repeated_rows_finite():
    """A component that settles on a repeated value rests on the floor's penalty: the fit ends
    finite, its covariance at about the floor, and the score is the likelihood plus the penalty."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)) * [1.0, 3.0], np.tile([8.0, 8.0], (20, 1))])
    model = GaussianMixture(2, "VEV")
    outcome = fit(model, X, seed=0)
    run = outcome.best
    assert np.isfinite(run.score)
    assert run.score == pytest.approx(run.log_likelihood + model.log_prior(run.params), rel=1e-12)
    assert model.log_prior(run.params) < 0


@pytest.mark.parametrize("algorithm", ["incremental", "stepwise", "annealed", "stochastic", "mcem", "saem"])
def test_every_algorithm_of_the_m_step_fits_a_constrained_form(faithful, algorithm):
    model = GaussianMixture(2, "VEV")
    options = {"stepwise": {"batch_size": 100, "kappa": 0.7, "epochs": 3}, "incremental": {"block_size": 100},
               "annealed": {"anneal_start": 3.0, "anneal_rate": 0.9}, "mcem": {"mc_samples": 3},
               "saem": {"mc_samples": 3, "kappa": 0.7, "burn_in": 5}}.get(algorithm, {})
    run = fit(model, faithful, algorithm=algorithm, algorithm_options=options, max_iter=20, seed=1).best
    assert np.isfinite(run.log_likelihood)
    form_holds("VEV", run.params.cov)


@pytest.mark.parametrize("algorithm", ["gradient", "overrelaxed", "hybrid", "variational"])
def test_drivers_of_the_unconstrained_parameters_refuse_a_constrained_form(faithful, algorithm):
    with pytest.raises(UsageError, match=f"--algorithm {algorithm} needs --covariance full, tied, diag or spherical; EVE"):
        fit(GaussianMixture(2, "EVE"), faithful, algorithm=algorithm)
    fit(GaussianMixture(2, "VVV"), faithful, algorithm=algorithm, max_iter=3)  # the alias of full still runs


def test_student_takes_the_four_structures_by_either_name():
    assert StudentMixture(2, "EEE").covariance == "tied"
    with pytest.raises(UsageError, match="VEV is one of gmm's fourteen forms; this model takes full, tied, diag, spherical"):
        StudentMixture(2, "VEV")


def test_cli_fits_predicts_samples_and_describes_a_form(run, tmp_path):
    model = tmp_path / "vev.json"
    assert run("fit", FAITHFUL, "-m", "gmm", "-k", "2", "--covariance", "vev", "-o", model).exit_code == 0
    doc = json.loads(model.read_text())
    assert doc["options"]["covariance"] == "VEV"
    assert doc["fit"]["n_parameters"] == 1 + 2 * 2 + forms.n_parameters("VEV", 2, 2)
    assert len(doc["params"]["covariances"]) == 2
    predicted = run("predict", model, FAITHFUL, "-o", "-")
    assert predicted.exit_code == 0 and predicted.output.count("\n") == 273
    assert run("sample", model, "-n", "5", "--seed", "1", "-o", "-").exit_code == 0
    described = run("describe", model)
    assert described.exit_code == 0 and "VEV" in described.output


def test_cli_refuses_an_unknown_form_in_one_line(run):
    result = run("fit", FAITHFUL, "-m", "gmm", "--covariance", "VVX", "-o", "m.json")
    assert result.exit_code == 2
    assert "'VVX' is not one of 'spherical', 'diag', 'tied', 'full', 'EII'" in result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("form", forms.FORMS)
def test_which_forms_do_not_depend_on_the_columns_scales(form):
    """Rescaling columns changes nothing but the Jacobian for the forms whose volume, shape or
    orientation constraints survive a diagonal map (what --standardize's help and the README
    say), and changes the fit of the others.  The hc start is itself unit-free, so for the
    former every iterate is the same map of the other's, and 50 iterations tell them apart."""
    import pandas as pd

    X = pd.read_csv(str(FAITHFUL).replace("faithful.csv", "iris.csv")).iloc[:, :4].to_numpy(float)
    scale = np.array([10.0, 0.1, 3.0, 0.5])
    ours = fit(GaussianMixture(3, form), X, init="hc", tol=0, max_iter=50).best.log_likelihood
    scaled = fit(GaussianMixture(3, form), X * scale, init="hc", tol=0, max_iter=50).best.log_likelihood
    invariant = form not in ("EII", "VII", "EVE", "VVE", "EEV", "VEV")
    assert (abs(scaled + len(X) * np.log(scale).sum() - ours) < 1e-6) == invariant
