"""The variational Gaussian mixture as a user meets it (``emtool fit --algorithm variational``):
the posterior predictive against SciPy's Student-t densities, the model file, predict, sample,
select-k --criterion elbo, recovery of a known K, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from conftest import FAITHFUL
from emcli.models import gmm_variational, variational as vb
from emcli.models.gmm import GaussianMixture

K, D = 3, 3


def posterior(covariance: str, process: bool = False) -> vb.Posterior:
    """A q with distinct hyperparameters per component, about the origin."""
    rng = np.random.default_rng(4)
    weights = rng.uniform(1, 5, size=(2, K)) if process else rng.uniform(1, 50, size=K)
    beta, nu = rng.uniform(2, 40, size=K), rng.uniform(D + 2, 40, size=K)
    means = rng.normal(size=(K, D))
    if covariance in ("full", "tied"):
        a = rng.normal(size=(K, D, D))
        scale_inv = a @ np.swapaxes(a, 1, 2) * nu[:, None, None] / D + np.eye(D)
        if covariance == "tied":
            nu, scale_inv = nu[:1], scale_inv[:1]
    else:
        scale_inv = rng.uniform(1, 30, size=(K, D) if covariance == "diag" else K)
    return vb.Posterior(covariance, weights, beta, means, nu, scale_inv)


def variational_params(covariance: str, process: bool = False, counts=(50.0, 30.0, 0.2)):
    model = GaussianMixture(K, covariance)
    model.center = np.zeros(D)
    post = posterior(covariance, process)
    return model, model.variational_params(post, np.array(counts), 0.01)


def scipy_predictive(post: vb.Posterior, X: np.ndarray, k: int, cells=slice(None)) -> np.ndarray:
    """log St_k over the columns ``cells`` from SciPy, with the degrees of freedom and scale
    written out from Bishop (10.81-10.82) for each form."""
    d = D
    if post.covariance in ("full", "tied"):
        nu, w_inv = (post.nu[0], post.scale_inv[0]) if post.covariance == "tied" else (post.nu[k], post.scale_inv[k])
        dof = nu + 1 - d
        shape = w_inv * (1 + post.beta[k]) / (dof * post.beta[k])
        return stats.multivariate_t(post.means[k][cells], shape[np.ix_(np.arange(d)[cells], np.arange(d)[cells])],
                                    df=dof).logpdf(X[:, cells])
    spread = post.scale_inv[k] if post.covariance == "diag" else np.full(d, post.scale_inv[k])
    scales = np.sqrt(spread * (1 + post.beta[k]) / (post.nu[k] * post.beta[k]))
    if post.covariance == "spherical":
        return stats.multivariate_t(post.means[k][cells], np.diag(scales[cells] ** 2),
                                    df=post.nu[k]).logpdf(X[:, cells])
    return stats.t(post.nu[k], post.means[k][cells], scales[cells]).logpdf(X[:, cells]).sum(axis=1)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("process", [False, True])
def test_the_predictive_is_a_mixture_of_scipy_student_ts(covariance, process):
    """predict's log density: sum_k E[pi_k] St_k(x), each St_k SciPy's density with Bishop's
    degrees of freedom and scale; with a cell missing, the marginal over the observed ones."""
    model, params = variational_params(covariance, process)
    post = params.variational.posterior
    X = np.random.default_rng(1).normal(size=(40, D)) * 2
    expected = np.stack([np.log(params.weights[k]) + scipy_predictive(post, X, k) for k in range(K)], axis=1)
    np.testing.assert_allclose(gmm_variational.predictive_log_joint(model, params, X), expected, rtol=1e-10)
    np.testing.assert_allclose(params.weights, vb.expected_weights(post), rtol=1e-12)
    holed = X.copy()
    holed[::2, 1] = np.nan
    observed = [0, 2]
    marginal = np.stack([np.log(params.weights[k]) + scipy_predictive(post, X[::2], k, observed)
                         for k in range(K)], axis=1)
    np.testing.assert_allclose(gmm_variational.predictive_log_joint(model, params, holed)[::2], marginal, rtol=1e-10)


@pytest.mark.parametrize("covariance", ["full", "diag", "spherical"])
def test_probabilities_are_over_the_live_components_and_the_density_over_all(covariance):
    """Component 2 holds 0.2 of 80.2 rows, below --prune 0.01: its probability is 0, the live
    ones' sum to 1, and the log density still counts its share of the predictive."""
    from scipy.special import logsumexp

    model, params = variational_params(covariance)
    assert model.live_components(params) == [0, 1]
    X = np.random.default_rng(2).normal(size=(30, D))
    resp, logpdf = model.responsibilities(params, X)
    log_joint = gmm_variational.predictive_log_joint(model, params, X)
    assert np.all(resp[:, 2] == 0) and np.allclose(resp.sum(axis=1), 1)
    np.testing.assert_allclose(resp[:, :2], np.exp(log_joint[:, :2] - logsumexp(log_joint[:, :2], axis=1, keepdims=True)))
    np.testing.assert_allclose(logpdf, logsumexp(log_joint, axis=1))


@pytest.mark.parametrize("covariance", ["full", "diag", "spherical"])
def test_sample_draws_from_the_predictive(covariance):
    """Rows drawn from one component follow its Student-t: column by column, a KS test against
    SciPy's marginal t (a multivariate t's margins are t's of the same degrees of freedom)."""
    model, params = variational_params(covariance)
    X, components = model.sample(params, 4000, np.random.default_rng(3))
    post = params.variational.posterior
    assert abs(np.mean(components == 0) - params.weights[0]) < 0.03
    chosen = X[components == 0]
    dof, scale = gmm_variational._student(post)
    for j in range(D):
        spread = scale[0][j] if covariance == "diag" else scale[0][j, j]
        assert stats.kstest(chosen[:, j], stats.t(dof[0], post.means[0, j], np.sqrt(spread)).cdf).pvalue > 1e-3


def write(run, *args):
    result = run("fit", FAITHFUL, "--algorithm", "variational", *args, "-o", "m.json")
    assert result.exit_code == 0, result.output
    return json.load(open("m.json"))


def test_fit_writes_q_and_predict_writes_the_live_components(run, tmp_path):
    doc = write(run, "-k", "10")
    posterior = doc["params"]["posterior"]
    assert doc["fit"]["algorithm"] == "variational" and "bic" not in doc["fit"]
    assert posterior["live"] == [k for k, n in enumerate(posterior["counts"]) if n >= 0.01 * 272]
    assert len(posterior["live"]) == 2 and doc["fit"]["n_parameters"] == 1 + 4 + 6
    assert doc["options"]["prior_params"] == {"alpha": 0.1, "kappa": 1.0, "nu": 4.0, "scale": 1.0}
    elbo = [row["elbo"] for row in doc["fit"]["trace"]]
    assert elbo[-1] == doc["fit"]["elbo"] and all(b >= a - 1e-9 * abs(a) for a, b in zip(elbo, elbo[1:]))
    result = run("predict", "m.json", FAITHFUL, "--proba", "--logpdf", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    header = open("out.csv").readline().strip().split(",")
    assert header == ["eruptions", "waiting", "cluster", *(f"p_{k}" for k in posterior["live"]), "logpdf"]
    assert run("sample", "m.json", "-n", "50", "--seed", "1", "-o", "s.csv").exit_code == 0
    assert len(open("s.csv").readlines()) == 51


def test_the_summary_says_how_many_components_the_data_support(tmp_path):
    """fit -v, as a user runs it: the last note."""
    done = subprocess.run([sys.executable, "-m", "emcli", "fit", str(FAITHFUL), "-k", "10", "--covariance", "diag",
                           "--algorithm", "variational", "--weight-prior", "process", "-o", "m.json", "-v"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "3 of 10 components supported" in done.stderr.splitlines()[-2]  # before -v's timings


def test_a_model_file_round_trip_keeps_q(tmp_path):
    from emcli.em.fit import fit
    from emcli.io.modelfile import dumps, model_document, parse_model

    X = np.random.default_rng(0).normal(size=(300, 2)) + np.repeat([[0, 0], [6, 6]], 150, axis=0)
    for covariance in ("full", "tied", "diag", "spherical"):
        model = GaussianMixture(6, covariance)
        outcome = fit(model, X, algorithm="variational", algorithm_options={"weight_prior": "process", "prune": 0.05})
        loaded, params, _ = parse_model(dumps(model_document(model, ["a", "b"], outcome, n_samples=300)), "m.json")
        before, after = outcome.best.params.variational, params.variational
        assert loaded.objective == "elbo" and after.prune == 0.05
        np.testing.assert_array_equal(after.live, before.live)
        for name in ("weights", "beta", "nu", "scale_inv"):
            np.testing.assert_allclose(getattr(after.posterior, name), getattr(before.posterior, name), rtol=1e-15)
        np.testing.assert_allclose(loaded.responsibilities(params, X)[1],
                                   model.responsibilities(outcome.best.params, X)[1], rtol=1e-12)


@pytest.mark.parametrize("edit, field", [
    (lambda p: p.update(nu=[-1.0] * 10), "params.posterior.nu: must be positive"),
    (lambda p: p.update(live=[0]), "params.posterior.live: expected"),
    (lambda p: p.update(prune=1.5), "params.posterior.prune"),
    (lambda p: p.update(weight_prior="uniform"), "params.posterior.weight_prior"),
    (lambda p: p.update(scale_inv=[[[1.0, 2.0], [2.0, 1.0]]] * 10), "params.posterior.scale_inv: not positive definite"),
    (lambda p: p.pop("counts"), "params.posterior.counts: missing"),
])
def test_a_bad_posterior_in_a_model_file_is_one_line(run, edit, field):
    doc = write(run, "-k", "10")
    edit(doc["params"]["posterior"])
    json.dump(doc, open("bad.json", "w"))
    result = run("predict", "bad.json", FAITHFUL)
    assert result.exit_code == 2 and field in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["-m", "kmeans", "--algorithm", "variational"], "does not take --algorithm variational"),
    (["--algorithm", "variational", "--prune", "0"], "--prune"),
    (["--algorithm", "variational", "--prune", "1"], "--prune"),
    (["--weight-prior", "process"], "--weight-prior applies to another --algorithm than batch"),
    (["--prune", "0.1", "--algorithm", "mcem"], "--prune applies to another --algorithm than mcem"),
    (["--prior-param", "alpha=1"], "--prior-param alpha applies to --algorithm variational"),
    (["--algorithm", "variational", "--prior-param", "alpha=0"], "alpha and kappa must be > 0"),
    (["--algorithm", "variational", "--prior-param", "kappa=0"], "alpha and kappa must be > 0"),
])
def test_bad_options_are_one_line_and_write_nothing(run, args, message):
    result = run("fit", FAITHFUL, "-k", "3", *args, "-o", "m.json")
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    import os

    assert not os.path.exists("m.json")


def test_missing_cells_are_refused_and_impute_says_why(run):
    open("holes.csv", "w").write("eruptions,waiting\n1.8,54\n3.3,\n4.5,80\n2.0,52\n4.1,75\n4.7,88\n")
    result = run("fit", "holes.csv", "-k", "2", "--algorithm", "variational", "-o", "m.json")
    assert result.exit_code == 2 and "needs complete rows" in result.output
    write(run, "-k", "4")
    result = run("impute", "holes.csv", "--model", "m.json", "-o", "filled.csv")
    assert result.exit_code == 2 and "Student-t" in result.output, result.output


def test_select_k_compares_variational_fits_by_the_bound(run):
    result = run("select-k", FAITHFUL, "--algorithm", "variational", "--k-range", "1:4", "--covariance", "full",
                 "--output-format", "json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.output)
    best = next(row for row in table if row["best"])
    assert best["elbo"] == max(row["elbo"] for row in table) and best["k"] == 2 and best["live"] == 2
    assert {"elbo", "live"} <= set(best) and "bic" not in best
    assert "compares maximum-likelihood fits" in run("select-k", FAITHFUL, "--algorithm", "variational",
                                                     "--criterion", "bic").output
    assert "add --algorithm variational" in run("select-k", FAITHFUL, "--criterion", "elbo").output


def separated(seed: int):
    """2,000 rows of D = 5 from 4 unit-variance components whose centres are 6 apart on average."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 5)) * 6
    return centres[rng.integers(4, size=2000)] + rng.normal(size=(2000, 5))


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_four_separated_components_are_found_from_fifteen(covariance):
    """K = 15 on 4 well-separated components: exactly 4 live in at least 9 of 10 seeds (measured:
    10 of 10 for full, diag and spherical; 9 of 10 for tied with Dirichlet weights, 6 in one)."""
    from emcli.em.fit import fit

    found = []
    for seed in range(10):
        model = GaussianMixture(15, covariance)
        outcome = fit(model, separated(seed), seed=seed, algorithm="variational",
                      algorithm_options={"weight_prior": "dirichlet", "prune": 0.01})
        found.append(len(model.live_components(outcome.best.params)))
    assert sum(n == 4 for n in found) >= 9, found


def test_a_prune_above_one_over_k_keeps_the_largest_component(run):
    """No component holds 90% of Old Faithful; a mixture keeps at least its largest one."""
    doc = write(run, "-k", "3", "--prune", "0.9")
    posterior = doc["params"]["posterior"]
    assert posterior["live"] == [int(np.argmax(posterior["counts"]))]
    assert run("predict", "m.json", FAITHFUL, "--proba", "-o", "out.csv").exit_code == 0
    header = open("out.csv").readline().strip().split(",")
    assert header == ["eruptions", "waiting", "cluster", f"p_{posterior['live'][0]}"]


def test_select_k_stops_at_a_prior_every_cell_would_refuse(run):
    result = run("select-k", FAITHFUL, "--k-range", "1:3", "--prior-param", "nu=0.5")
    assert result.exit_code == 2 and result.output.strip() == "emtool: error: prior parameter nu must exceed 1"
