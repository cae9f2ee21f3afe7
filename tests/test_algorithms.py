"""The EM family: every algorithm against batch EM from the same start."""

import numpy as np
import pytest

from emcli.em import algorithms
from emcli.em.fit import fit
from emcli.models import registry
from emcli.models.gmm import GaussianMixture

from conftest import draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

DETERMINISTIC = {"incremental": {"block_size": 50}, "annealed": {}}
STOCHASTIC = {"stochastic": {}, "mcem": {"mc_samples": 20}, "saem": {"mc_samples": 10}}


def synthetic():
    return draw_mixture(np.random.default_rng(7), WEIGHTS, MEANS, COVS, 1500)[0]


def score(X, algorithm, options, seed=0, **extra):
    return fit(GaussianMixture(3, "tied" if len(X) == 272 else "full"), X, seed=seed,
               algorithm=algorithm, algorithm_options=options, **extra).best


def test_the_registry_lists_what_each_model_supports():
    for name, spec in registry.MODELS.items():
        for algorithm in spec.algorithms:
            assert set(algorithms.algorithm(algorithm).needs) <= set(spec.capabilities), (name, algorithm)


@pytest.mark.parametrize("algorithm", sorted(DETERMINISTIC))
@pytest.mark.parametrize("data", ["faithful", "synthetic"])
def test_deterministic_algorithms_reach_batch_em(faithful, algorithm, data):
    X = faithful if data == "faithful" else synthetic()
    for seed in range(3):
        batch = score(X, "batch", {}, seed)
        other = score(X, algorithm, DETERMINISTIC[algorithm], seed)
        assert other.score >= batch.score - 1e-3 * abs(batch.score), (seed, other.score, batch.score)
        again = score(X, algorithm, DETERMINISTIC[algorithm], seed)
        assert again.score == other.score and np.array_equal(again.params.means, other.params.means)


@pytest.mark.parametrize("algorithm", sorted(STOCHASTIC))
@pytest.mark.parametrize("data", ["faithful", "synthetic"])
def test_stochastic_algorithms_reach_batch_em_on_average(faithful, algorithm, data):
    X = faithful if data == "faithful" else synthetic()
    batch = np.mean([score(X, "batch", {}, seed).score for seed in range(4)])
    runs = [score(X, algorithm, STOCHASTIC[algorithm], seed, max_iter=100) for seed in range(4)]
    assert np.mean([r.score for r in runs]) >= batch - 1e-3 * abs(batch)
    again = score(X, algorithm, STOCHASTIC[algorithm], 0, max_iter=100)
    assert again.score == runs[0].score


@pytest.mark.parametrize("data", ["faithful", "synthetic"])
def test_saem_reaches_batch_em_and_ends_closer_than_mcem(faithful, data):
    """Over 10 seeds, SAEM's parameters are within 1e-3 (relative, on average) of batch EM's
    log-likelihood, and nearer to it than where MCEM's chain ends with the same draws (10 per
    row) and iterations: MCEM's parameters keep wandering with the draws' noise, SAEM's average
    it out.  (MCEM returns the best parameters its chain met, which is another matter.)"""
    X = faithful if data == "faithful" else synthetic()
    batch = np.mean([score(X, "batch", {}, seed).score for seed in range(10)])
    saem = [score(X, "saem", {"mc_samples": 10}, seed, max_iter=100) for seed in range(10)]
    mcem = [score(X, "mcem", {"mc_samples": 10}, seed, max_iter=100) for seed in range(10)]
    saem_end = np.mean([run.score for run in saem])
    mcem_end = np.mean([run.trace[-1]["score"] for run in mcem])
    assert abs(saem_end - batch) <= 1e-3 * abs(batch)
    assert abs(saem_end - batch) < abs(mcem_end - batch), (saem_end, mcem_end, batch)


def test_saem_steps_are_one_for_the_burn_in_then_shrink(faithful):
    run = score(faithful, "saem", {"mc_samples": 2, "kappa": 0.8}, max_iter=30)
    steps = [row["step"] for row in run.trace]
    assert steps[:7] == [1.0] * 7  # the initial E-step and a fifth of 30 iterations
    np.testing.assert_allclose(steps[7:], (np.arange(24) + 2.0) ** -0.8)
    assert all(row["draws"] == 2 for row in run.trace) and not run.converged
    assert run.score == run.trace[-1]["score"]  # the last parameters, not the best met
    given = score(faithful, "saem", {"mc_samples": 2, "kappa": 0.8, "burn_in": 0}, max_iter=3)
    np.testing.assert_allclose([row["step"] for row in given.trace], [1.0, 2 ** -0.8, 3 ** -0.8, 4 ** -0.8])


def test_incremental_never_lowers_the_likelihood():
    X = synthetic()
    for seed in range(3):
        run = score(X, "incremental", {"block_size": 100}, seed, tol=0, max_iter=30)
        scores = np.array([row["score"] for row in run.trace])
        assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))
        assert run.trace[-1]["m_steps"] == 30 * 16


def test_trace_records_the_algorithms_quantities(faithful):
    annealed = score(faithful, "annealed", {"anneal_start": 2.0, "anneal_rate": 0.5}).trace
    temperatures = [row["temperature"] for row in annealed]
    assert temperatures[0] == 2.0 and temperatures[-1] == 1.0
    assert set(temperatures) == {2.0, 1.0} and temperatures == sorted(temperatures, reverse=True)
    mcem = score(faithful, "mcem", {"mc_samples": 3}, max_iter=5).trace
    assert all(row["draws"] == 3 for row in mcem)


def test_unsupported_pairs_are_one_line_usage_errors(run):
    from conftest import FAITHFUL

    result = run("fit", FAITHFUL, "-m", "kmedoids", "-k", 2, "--algorithm", "annealed", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: model kmedoids does not take --algorithm annealed (it takes: batch)\n"
    result = run("fit", FAITHFUL, "-k", 2, "--burn-in", 5, "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: --burn-in applies to another --algorithm than batch\n"
    result = run("fit", FAITHFUL, "-k", 2, "--algorithm", "saem", "--burn-in", -1, "-o", "m.json")
    assert result.exit_code == 2 and "--burn-in" in result.stderr
    assert not __import__("pathlib").Path("m.json").exists()
    stray = run("fit", FAITHFUL, "--mc-samples", 5, "-o", "m.json")
    assert stray.exit_code == 2 and "--mc-samples applies to another --algorithm" in stray.stderr
    good = run("fit", FAITHFUL, "-k", 2, "--algorithm", "mcem", "--mc-samples", 2, "--max-iter", 5, "-o", "m.json")
    assert good.exit_code == 0 and good.stderr == ""
