"""Variational Bayes for the discrete mixtures (``-m bernoulli`` and ``-m categorical`` with
``--algorithm variational``): the conjugate update, KL(q || prior) and the E-step against
closed forms written out here and SciPy's densities, the bound under coordinate ascent, the
posterior predictive, recovery of a known number of components, the model file and the
command line."""

import json
import pathlib

import numpy as np
import pytest
from scipy import stats
from scipy.special import digamma, logsumexp

from emcli.em.fit import fit
from emcli.errors import ModelFileError, UsageError
from emcli.io.modelfile import dumps, model_document, parse_model
from emcli.models.bernoulli import BernoulliMixture
from emcli.models.categorical import CategoricalMixture
from emcli.predict import predict_columns

from cases import bernoulli as bernoulli_case, categorical as categorical_case

K = 3
#: a categorical model's columns of different sizes
LEVELS = [[0, 1], [0, 1, 2], [0, 1, 2, 3]]
#: hyperparameters away from the defaults (some below 1, which only a variational fit takes)
BERNOULLI_PRIOR = {"a": 0.7, "b": 1.3, "alpha": 0.4}
CATEGORICAL_PRIOR = {"beta": 0.6, "alpha": 0.4}
WEIGHT_PRIORS = ["dirichlet", "process"]


def bernoulli_data(n=200, seed=0):
    return bernoulli_case.draw(np.random.default_rng(seed), n)[:, :5]


def categorical_data(n=200, seed=0):
    """Codes of the LEVELS columns, about a tenth of the cells missing."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(len(levels), size=n) for levels in LEVELS]).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def model_and_data(name: str):
    if name == "bernoulli":
        return BernoulliMixture(K, prior="default", prior_params=BERNOULLI_PRIOR), bernoulli_data()
    return CategoricalMixture(K, prior="default", prior_params=CATEGORICAL_PRIOR, levels=LEVELS), categorical_data()


def posterior(model, X, weight_prior, seed=1):
    """The prior, and q after one update from random responsibilities."""
    model.prepare(X)
    resp = np.random.default_rng(seed).dirichlet(np.ones(K), size=len(X))
    prior = model.variational_prior(weight_prior)
    return prior, model.variational_update(prior, model.expected_stats(None, X, resp)), resp


def weight_concentrations(alpha, process, n):
    """q's weight hyperparameters written out: Dirichlet alpha + n_k, or the sticks' Beta pairs
    (1 + n_k, alpha + sum_{j > k} n_j)."""
    if not process:
        return alpha + n
    return np.array([[1.0 + n[k] for k in range(len(n))], [alpha + n[k + 1:].sum() for k in range(len(n))]])


def expected_log_joint(model, post, X) -> np.ndarray:
    """(N, K) E_q[log pi_k + log p(x_n | theta_k)], one row, component and cell at a time, with
    E[log theta] = psi(c) - psi(sum c) and E[log pi_k] from the Dirichlet or the sticks."""
    if post.weights.ndim == 2:
        a, b = post.weights
        log_v, log_rest = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
        log_pi = [log_v[k] + log_rest[:k].sum() for k in range(K)]
    else:
        log_pi = digamma(post.weights) - digamma(post.weights.sum())
    out = np.empty((len(X), K))
    for n, row in enumerate(X):
        for k in range(K):
            total = log_pi[k]
            for j, x in enumerate(row):
                if np.isnan(x):
                    continue
                # a Bernoulli column's simplex is (ones, zeros): a 1 is its first entry
                c = post.blocks[0][k, j] if isinstance(model, BernoulliMixture) else post.blocks[j][k]
                level = int(1 - x) if isinstance(model, BernoulliMixture) else int(x)
                total += digamma(c[level]) - digamma(c.sum())
            out[n, k] = total
    return out


# -- the mathematics of q --------------------------------------------------------------------------


@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_one_bernoulli_update_is_the_conjugate_posterior(weight_prior):
    """Beta(a0 + sum_n r_nk x_nd, b0 + sum_n r_nk (1 - x_nd)) per mean, and the weights'
    Dirichlet or sticks, written out row by row (1e-12)."""
    model, X = model_and_data("bernoulli")
    _, post, resp = posterior(model, X, weight_prior)
    a0, b0, alpha = (BERNOULLI_PRIOR[name] for name in ("a", "b", "alpha"))
    ones = np.array([[a0 + sum(resp[n, k] * X[n, d] for n in range(len(X))) for d in range(X.shape[1])]
                     for k in range(K)])
    zeros = np.array([[b0 + sum(resp[n, k] * (1 - X[n, d]) for n in range(len(X))) for d in range(X.shape[1])]
                      for k in range(K)])
    np.testing.assert_allclose(post.blocks[0][..., 0], ones, rtol=1e-12)
    np.testing.assert_allclose(post.blocks[0][..., 1], zeros, rtol=1e-12)
    expected = weight_concentrations(alpha, weight_prior == "process", resp.sum(axis=0))
    np.testing.assert_allclose(post.weights, expected, rtol=1e-12)


@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_one_categorical_update_is_the_conjugate_posterior(weight_prior):
    """Dirichlet(beta0 + sum_n r_nk [x_nj = l]) per class and column over the rows observed
    there (a missing cell counts for no level), written out (1e-12)."""
    model, X = model_and_data("categorical")
    _, post, resp = posterior(model, X, weight_prior)
    beta0, alpha = CATEGORICAL_PRIOR["beta"], CATEGORICAL_PRIOR["alpha"]
    for j, levels in enumerate(LEVELS):
        expected = np.array([[beta0 + sum(resp[n, k] for n in range(len(X)) if X[n, j] == level)
                              for level in range(len(levels))] for k in range(K)])
        np.testing.assert_allclose(post.blocks[j], expected, rtol=1e-12)
    expected = weight_concentrations(alpha, weight_prior == "process", resp.sum(axis=0))
    np.testing.assert_allclose(post.weights, expected, rtol=1e-12)


def test_the_variational_defaults_and_the_options_they_leave():
    """Without --prior-param: a = b = 1 (beta = 1) and alpha = 1/K, recorded as the prior used."""
    bernoulli = BernoulliMixture(10)
    prior = bernoulli.variational_prior("dirichlet")
    assert prior.alpha == 0.1 and prior.blocks[0].tolist() == [1.0, 1.0]
    assert bernoulli.objective == "elbo"
    assert bernoulli.options() == {"k": 10, "prior": "default", "prior_params": {"alpha": 0.1, "a": 1.0, "b": 1.0}}
    categorical = CategoricalMixture(4, prior="default", prior_params={"beta": 0.3}, levels=LEVELS)
    categorical.prepare(categorical_data())
    prior = categorical.variational_prior("process")
    assert prior.process and prior.alpha == 0.25 and all(block == 0.3 for block in prior.blocks)
    assert categorical.options()["prior_params"] == {"alpha": 0.25, "beta": 0.3}
    with pytest.raises(UsageError, match="--weight-prior"):
        BernoulliMixture(2).variational_prior("uniform")
    with pytest.raises(UsageError, match="prior parameter beta must be a number > 0"):
        CategoricalMixture(2, prior="default", prior_params={"beta": 0.0})


def _log_ratio_of_weights(post, alpha, rng, draws) -> np.ndarray:
    """log q(pi) - log prior(pi) at ``draws`` draws from q, by SciPy's Dirichlet, or for the
    sticks SciPy's Beta densities of each stick."""
    if post.weights.ndim == 2:
        out = np.zeros(draws)
        for a, b in post.weights.T:
            v = stats.beta(a, b).rvs(size=draws, random_state=rng)
            out += stats.beta(a, b).logpdf(v) - stats.beta(1.0, alpha).logpdf(v)
        return out
    w = rng.dirichlet(post.weights, size=draws)
    return stats.dirichlet(post.weights).logpdf(w.T) - stats.dirichlet(np.full(K, alpha)).logpdf(w.T)


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_kl_divergence_against_monte_carlo(name, weight_prior):
    """KL(q || prior) in closed form against the mean of log q - log prior over 8,000 draws from
    q (SciPy's Dirichlet and Beta densities), within four standard errors."""
    model, X = model_and_data(name)
    prior, post, _ = posterior(model, X, weight_prior)
    rng = np.random.default_rng(4)
    draws = 8_000
    log_ratio = _log_ratio_of_weights(post, prior.alpha, rng, draws)
    if name == "bernoulli":
        a, b = post.blocks[0][..., 0], post.blocks[0][..., 1]
        theta = stats.beta(a, b).rvs(size=(draws, *a.shape), random_state=rng)
        log_ratio += (stats.beta(a, b).logpdf(theta)
                      - stats.beta(BERNOULLI_PRIOR["a"], BERNOULLI_PRIOR["b"]).logpdf(theta)).sum(axis=(1, 2))
    else:
        for block in post.blocks:
            for concentration in block:
                theta = stats.dirichlet(concentration).rvs(size=draws, random_state=rng)
                flat = stats.dirichlet(np.full(len(concentration), CATEGORICAL_PRIOR["beta"]))
                log_ratio += stats.dirichlet(concentration).logpdf(theta.T) - flat.logpdf(theta.T)
    assert np.all(np.isfinite(log_ratio))
    error = log_ratio.std() / np.sqrt(draws)
    kl = model.kl_divergence(prior, post)
    assert abs(log_ratio.mean() - kl) < 4 * error, (log_ratio.mean(), kl, error)


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_the_e_step_under_q_is_the_expected_log_joint(name, weight_prior):
    """The model's own E-step under ``expected_params`` gives log sum_k exp E_q[log p(x_n, z_n
    = k)] summed over the rows, written out cell by cell (missing cells left out), and the
    statistics of the responsibilities proportional to its terms."""
    model, X = model_and_data(name)
    _, post, _ = posterior(model, X, weight_prior)
    stats_, summed = model.e_step(model.expected_params(post), X)
    rho = expected_log_joint(model, post, X)
    assert summed == pytest.approx(logsumexp(rho, axis=1).sum(), rel=1e-12)
    resp = np.exp(rho - logsumexp(rho, axis=1, keepdims=True))
    expected = model.expected_stats(None, X, resp)
    for field in expected:
        np.testing.assert_allclose(stats_[field], expected[field], rtol=1e-10, atol=1e-12)


def elbo(model, prior, post, X, resp) -> float:
    """The bound at q(z) = ``resp`` and q(theta) = ``post``: E_q[log p(X, Z, theta)] - E_q[log q]."""
    rho = expected_log_joint(model, post, X)
    return float(np.sum(resp * (rho - np.log(resp))) - model.kl_divergence(prior, post))


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_each_half_step_raises_the_bound(name, weight_prior):
    """Coordinate ascent written out: the update of q(theta) given the responsibilities and the
    responsibilities given q(theta) each raise the bound, and after the latter it is the sum
    of the rows' log normalisers less the KL divergence (the driver's score)."""
    model, X = model_and_data(name)
    X = X[:60]
    prior, _, resp = posterior(model, X, weight_prior)
    bounds = []
    for _ in range(8):
        post = model.variational_update(prior, model.expected_stats(None, X, resp))
        bounds.append(elbo(model, prior, post, X, resp))
        _, summed = model.e_step(model.expected_params(post), X)
        rho = expected_log_joint(model, post, X)
        resp = np.exp(rho - logsumexp(rho, axis=1, keepdims=True))
        bounds.append(elbo(model, prior, post, X, resp))
        assert bounds[-1] == pytest.approx(summed - model.kl_divergence(prior, post), rel=1e-12)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:])), np.diff(bounds)


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_the_bound_never_decreases_over_a_fit(name, weight_prior):
    """The driver's trace, K = 8 on 600 rows of the contract's data, to convergence."""
    X = (bernoulli_case.draw if name == "bernoulli" else categorical_case.draw)(np.random.default_rng(1), 600)
    model = (BernoulliMixture(8) if name == "bernoulli"
             else CategoricalMixture(8, levels=categorical_case.LEVELS))
    result = fit(model, X, algorithm="variational", algorithm_options={"weight_prior": weight_prior},
                 tol=1e-9, max_iter=2000).best
    bounds = np.array([row["score"] for row in result.trace])
    assert result.converged and len(bounds) > 10
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:])), np.diff(bounds).min()
    assert result.degenerate == [] and model.diagnose(result.params, len(X)) == []


# -- the posterior predictive ----------------------------------------------------------------------


def test_the_predictive_of_one_row_is_the_mixture_of_the_expected_parameters():
    """sum_k E[pi_k] prod_d E[theta_kd]^x (1 - E[theta_kd])^(1 - x) is the mean of p(x | pi,
    theta) over draws of q (within four standard errors): exact for one row, as q factorises."""
    model, X = model_and_data("bernoulli")
    _, post, resp = posterior(model, X, "dirichlet")
    params = model.variational_params(post, resp.sum(axis=0), 0.01)
    _, logpdf = model.responsibilities(params, X[:4])
    rng = np.random.default_rng(6)
    draws = 40_000
    pi = rng.dirichlet(post.weights, size=draws)
    theta = stats.beta(post.blocks[0][..., 0], post.blocks[0][..., 1]).rvs(size=(draws, K, X.shape[1]),
                                                                           random_state=rng)
    for row, expected in zip(X[:4], logpdf):
        density = (pi * np.prod(np.where(row == 1, theta, 1 - theta), axis=2)).sum(axis=1)
        error = density.std() / np.sqrt(draws)
        assert abs(density.mean() - np.exp(expected)) < 4 * error


def point_log_joint(name, params, X) -> np.ndarray:
    """(N, K) log E[pi_k] + log p(x_n | E[theta_k]): SciPy's Bernoulli probabilities, or the
    categorical tables' entries at each row's observed levels."""
    if name == "bernoulli":
        cells = [stats.bernoulli(params.means[k]).logpmf(X).sum(axis=1) for k in range(K)]
    else:
        observed = ~np.isnan(X)
        codes = np.where(observed, X, 0).astype(int)
        cells = [sum(np.where(observed[:, j], np.log(table[k, codes[:, j]]), 0.0) for j, table in enumerate(params.tables))
                 for k in range(K)]
    return np.log(params.weights) + np.stack(cells, axis=1)


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
def test_probabilities_for_the_live_components_and_a_density_over_all(name):
    """A component below ``prune`` gets probability 0, the live ones' sum to 1 (renormalised),
    and the log density counts every component: log sum_k E[pi_k] p(x | E[theta_k]), with
    SciPy's Bernoulli or categorical probabilities."""
    model, X = model_and_data(name)
    _, post, _ = posterior(model, X, "dirichlet")
    params = model.variational_params(post, np.array([120.0, 79.0, 1.0]), 0.01)
    assert model.live_components(params) == [0, 1]
    resp, logpdf = model.responsibilities(params, X)
    assert np.all(resp[:, 2] == 0) and np.allclose(resp.sum(axis=1), 1.0)
    log_joint = point_log_joint(name, params, X)
    np.testing.assert_allclose(logpdf, logsumexp(log_joint, axis=1), rtol=1e-12)
    live = log_joint[:, :2]
    np.testing.assert_allclose(resp[:, :2], np.exp(live - logsumexp(live, axis=1, keepdims=True)), rtol=1e-10)
    assert model.n_parameters(params) == 1 + 2 * (X.shape[1] if name == "bernoulli" else 1 + 2 + 3)


# -- the data choose K -----------------------------------------------------------------------------


def separated(seed: int, n: int = 1500, d: int = 20) -> np.ndarray:
    """Rows of 3 well-separated Bernoulli components (each mean 0.1 or 0.9, weights 0.5, 0.3,
    0.2); the same means for every seed."""
    means = np.where(np.random.default_rng(100).random((3, d)) < 0.5, 0.1, 0.9)
    rng = np.random.default_rng(seed)
    z = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return (rng.random((n, d)) < means[z]).astype(float)


@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_three_separated_components_are_found_from_ten(weight_prior):
    """K = 10 on 1,500 rows of 3 well-separated components (D = 20), one start per data set:
    exactly 3 live components for at least 9 of 10 seeds (measured: 10 of 10 for both weight
    priors, about 0.05-0.15 s a fit), and the weights found are the truth's."""
    found = []
    for seed in range(10):
        params = fit(BernoulliMixture(10), separated(seed), algorithm="variational", seed=seed,
                     algorithm_options={"weight_prior": weight_prior}).best.params
        found.append(len(params.variational.live))
        if found[-1] == 3:
            np.testing.assert_allclose(np.sort(params.weights[params.variational.live]), [0.2, 0.3, 0.5], atol=0.04)
    assert sum(n == 3 for n in found) >= 9, found


# -- the model file and the command line -----------------------------------------------------------


@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_the_model_file_round_trips_and_predicts_the_same(name, weight_prior):
    model, X = model_and_data(name)
    model = type(model)(6, **({"levels": LEVELS} if name == "categorical" else {}))
    outcome = fit(model, X, algorithm="variational", algorithm_options={"weight_prior": weight_prior})
    columns = [f"c{j}" for j in range(X.shape[1])]
    doc = model_document(model, columns, outcome, n_samples=len(X))
    assert "elbo" in doc["fit"] and "bic" not in doc["fit"] and doc["fit"]["degenerate"] == []
    live = doc["params"]["posterior"]["live"]
    assert doc["params"]["posterior"]["weight_prior"] == weight_prior and 1 <= len(live) < 6
    loaded, params, loaded_doc = parse_model(dumps(doc), "m.json")
    assert loaded_doc == json.loads(dumps(doc)) and loaded.objective == "elbo"
    assert loaded.options() == model.options() and loaded.to_json(params) == model.to_json(outcome.best.params)
    assert loaded.n_parameters(params) == doc["fit"]["n_parameters"]
    ours = predict_columns(model, outcome.best.params, X, proba=True, logpdf=True)
    theirs = predict_columns(loaded, params, X, proba=True, logpdf=True)
    assert sorted(theirs) == sorted(["cluster", "logpdf", *(f"p_{k}" for k in live)])
    for column in ours:
        np.testing.assert_array_equal(ours[column], theirs[column])


def _broken(doc: dict, change) -> dict:
    doc = json.loads(json.dumps(doc))
    change(doc["params"])
    return doc


BAD_POSTERIORS = [
    ("live", lambda p: p["posterior"].update(live=[0]), "params.posterior.live: expected"),
    ("prune", lambda p: p["posterior"].update(prune=1.5), "params.posterior.prune"),
    ("weight_prior", lambda p: p["posterior"].update(weight_prior="flat"), "params.posterior.weight_prior"),
    ("counts", lambda p: p["posterior"]["counts"].pop(), "params.posterior.counts: expected shape"),
    ("concentration", lambda p: p["posterior"].update(weight_concentration=[-1.0] * 4),
     "params.posterior.weight_concentration: must be positive"),
    ("weights", lambda p: p.update(weights=[0.25] * 4), "params.weights: does not match params.posterior"),
]


@pytest.mark.parametrize("field, change, message", BAD_POSTERIORS, ids=[case[0] for case in BAD_POSTERIORS])
@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
def test_a_bad_posterior_is_refused_naming_the_field(name, field, change, message):
    model, X = model_and_data(name)
    model = type(model)(4, **({"levels": LEVELS} if name == "categorical" else {}))
    outcome = fit(model, X, algorithm="variational", max_iter=20)
    doc = model_document(model, [f"c{j}" for j in range(X.shape[1])], outcome, n_samples=len(X))
    with pytest.raises(ModelFileError, match=message.replace("[", r"\[")):
        parse_model(json.dumps(_broken(doc, change)), "m.json")


def test_the_models_own_posterior_fields_are_checked():
    """Bernoulli's (K, D) ``a`` and ``b``, categorical's per-column ``concentration``, and the
    means and probabilities they imply; a MAP file's prior below 1 has no mode."""
    for name, change, message in [
            ("bernoulli", lambda p: p["posterior"]["a"][0].__setitem__(0, 0.0), "params.posterior.a: must be positive"),
            ("bernoulli", lambda p: p["posterior"]["b"].pop(), r"params.posterior.b: expected shape \(4, 5\)"),
            ("bernoulli", lambda p: p["means"][1].__setitem__(2, 0.5), "params.means: does not match"),
            ("categorical", lambda p: p["posterior"]["concentration"][1].pop(),
             r"params.posterior.concentration\[1\]: expected shape \(4, 3\)"),
            ("categorical", lambda p: p["posterior"].pop("concentration"), "params.posterior.concentration"),
            ("categorical", lambda p: p["probabilities"][0].__setitem__(0, [0.5, 0.5]),
             r"params.probabilities\[0\]: does not match")]:
        model, X = model_and_data(name)
        model = type(model)(4, **({"levels": LEVELS} if name == "categorical" else {}))
        outcome = fit(model, X, algorithm="variational", max_iter=20)
        doc = model_document(model, [f"c{j}" for j in range(X.shape[1])], outcome, n_samples=len(X))
        with pytest.raises(ModelFileError, match=message):
            parse_model(json.dumps(_broken(doc, change)), "m.json")
    model = BernoulliMixture(2)
    doc = model_document(model, [f"c{j}" for j in range(5)], fit(model, bernoulli_data()), n_samples=200)
    doc["options"] = {"k": 2, "prior": "default", "prior_params": {"a": 0.5}}
    with pytest.raises(ModelFileError, match="options.prior_params.a: 0.5 is below 1"):
        parse_model(json.dumps(doc), "m.json")


@pytest.fixture
def binary_csv(tmp_path):
    X = separated(3, n=400, d=8).astype(int)
    path = tmp_path / "binary.csv"
    path.write_text("\n".join([",".join(f"q{j}" for j in range(8))] + [",".join(map(str, row)) for row in X]) + "\n")
    return path


def test_cli_fit_and_predict_write_the_live_components_only(run, binary_csv):
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 8, "--algorithm", "variational", "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["options"] == {"k": 8, "prior": "default", "prior_params": {"alpha": 0.125, "a": 1.0, "b": 1.0}}
    assert doc["fit"]["algorithm"] == "variational" and "elbo" in doc["fit"]
    live = doc["params"]["posterior"]["live"]
    assert len(live) == 3
    predicted = run("predict", "m.json", binary_csv, "--proba")
    assert predicted.exit_code == 0, predicted.output
    header, *rows = predicted.stdout.splitlines()
    assert header.split(",") == [f"q{j}" for j in range(8)] + ["cluster"] + [f"p_{k}" for k in live]
    cells = np.array([row.split(",")[8:] for row in rows], dtype=float)
    assert len(rows) == 400 and set(cells[:, 0].astype(int)) <= set(live)
    np.testing.assert_allclose(cells[:, 1:].sum(axis=1), 1.0)
    sampled = run("sample", "m.json", "-n", 20, "--seed", 1)
    assert sampled.exit_code == 0 and len(sampled.stdout.splitlines()) == 21


def test_cli_prior_parameters_below_1_are_variational_only(run, binary_csv):
    """--prior-param a=0.5 alpha=0.05 fits variationally; by MAP it is one line and exit 2."""
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 4, "--algorithm", "variational",
                 "--prior-param", "a=0.5", "--prior-param", "alpha=0.05", "-o", "m.json")
    assert result.exit_code == 0, result.output
    assert json.loads(pathlib.Path("m.json").read_text())["options"]["prior_params"] == {
        "alpha": 0.05, "a": 0.5, "b": 1.0}
    result = run("fit", binary_csv, "-m", "bernoulli", "-k", 4, "--prior-param", "a=0.5", "-o", "map.json")
    assert result.exit_code == 2 and not pathlib.Path("map.json").exists()
    assert result.stderr == ("emtool: error: prior parameter a must be at least 1 for a MAP fit "
                             "(--algorithm variational takes any value > 0), got 0.5\n")
    result = run("fit", binary_csv, "-m", "bernoulli", "--algorithm", "variational", "--prior-param", "b=-1")
    assert result.exit_code == 2 and "prior parameter b must be a number > 0" in result.stderr


def test_cli_categorical_with_text_levels_and_missing_cells(run, tmp_path):
    rng = np.random.default_rng(2)
    tables = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    z = rng.choice(3, size=300)
    codes = np.array([[rng.choice(3, p=tables[(k + j) % 3]) for j in range(6)] for k in z])
    names = np.array(["red", "green", "blue"])
    lines = [",".join("" if rng.random() < 0.1 else names[c] for c in row) for row in codes]
    (tmp_path / "answers.csv").write_text("a,b,c,d,e,f\n" + "\n".join(lines) + "\n")
    result = run("fit", "answers.csv", "-m", "categorical", "-k", 6, "--algorithm", "variational",
                 "--weight-prior", "process", "-o", "m.json")
    assert result.exit_code == 0, result.output
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["params"]["levels"] == [["blue", "green", "red"]] * 6
    assert len(doc["params"]["posterior"]["live"]) == 3
    predicted = run("predict", "m.json", "answers.csv", "--proba", "--logpdf")
    assert predicted.exit_code == 0, predicted.output
    header = predicted.stdout.splitlines()[0].split(",")
    assert header[6:] == ["cluster", *(f"p_{k}" for k in doc["params"]["posterior"]["live"]), "logpdf"]
