"""ECM and ECME (emcli.em.ecm) on the Student-t models: they reach batch EM's likelihood, never
lower it, ECME's dof step maximises the observed likelihood (checked against scipy's t density),
and ECME needs fewer iterations than ECM."""

import csv
import io
import json
import pathlib

import numpy as np
import pytest
from scipy import optimize, stats

from emcli.em.batch import run_batch
from emcli.em.ecm import run_ecm, run_ecme
from emcli.em.fit import fit, start_params
from emcli.models.registry import COVARIANCE_TYPES
from emcli.models.student import StudentMixture, StudentT

from cases.gmm import COVS, MEANS
from cases.student import draw_t_mixture

DRIVERS = {"batch": run_batch, "ecm": run_ecm, "ecme": run_ecme}


def single_t(n=800, seed=0):
    return draw_t_mixture(np.random.default_rng(seed), [1.0], MEANS[:1], COVS[:1], [3.0], n)[0]


def two_t(n=1000, seed=1):
    return draw_t_mixture(np.random.default_rng(seed), [0.4, 0.6], MEANS[:2], COVS[:2],
                          [3.0, 8.0], n)[0]


CASES = {
    "student": (lambda: StudentT(), single_t),
    "tmix": (lambda: StudentMixture(2), two_t),
    "tmix shared": (lambda: StudentMixture(2, shared_dof=True), two_t),
}


def started(case, **options):
    make, draw = CASES[case]
    model, X = make(), draw()
    for name, value in options.items():
        setattr(model, name, value)
    model.prepare(X)
    return model, X, start_params(model, X, "k-means++", np.random.default_rng(2), 100)


def drive(name, model, X, params, rows=97, max_iter=2000, tol=1e-8):
    return DRIVERS[name](model, X, params, rows=rows, max_iter=max_iter, tol=tol,
                         rng=np.random.default_rng(3), max_reseeds=4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_reach_batch_likelihood_and_ecme_is_faster(case):
    model, X, params = started(case)
    runs = {name: drive(name, model, X, params) for name in DRIVERS}
    assert all(r.converged for r in runs.values())
    batch = runs["batch"].log_likelihood
    for name in ("ecm", "ecme"):
        assert runs[name].log_likelihood == pytest.approx(batch, rel=1e-3)
    # Q splits into a location/scale part and a dof part, so ECM is this model's EM
    assert runs["ecm"].log_likelihood == pytest.approx(batch, rel=1e-12)
    assert runs["ecm"].n_iter == runs["batch"].n_iter
    # ECME maximises the likelihood over the dof at each step: at least as high at the end
    assert runs["ecme"].log_likelihood >= batch - 1e-6 * abs(batch)
    assert runs["ecme"].n_iter <= runs["ecm"].n_iter


@pytest.mark.parametrize("algorithm", ["ecm", "ecme"])
@pytest.mark.parametrize("covariance", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_never_lowers_the_likelihood(case, covariance, algorithm):
    model, X, params = started(case, covariance=covariance)
    trace = drive(algorithm, model, X, params, rows=101, max_iter=40, tol=0.0).trace
    scores = np.array([row["log_likelihood"] for row in trace])
    assert len(scores) == 41 and all(row["event"] in (None, "init") for row in trace)
    assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))


@pytest.mark.parametrize("algorithm", ["ecm", "ecme"])
def test_fixed_dof_is_batch_em(algorithm):
    model, X, params = started("tmix", dof=4.0)
    batch, other = drive("batch", model, X, params), drive(algorithm, model, X, params)
    assert other.n_iter == batch.n_iter
    np.testing.assert_allclose([r["log_likelihood"] for r in other.trace],
                               [r["log_likelihood"] for r in batch.trace], rtol=1e-13)
    assert {row["dof"] for row in other.trace} == {4.0}
    assert other.trace[1]["cm"] == "location/scale on Q" and other.trace[1]["passes"] == 2


def test_ecme_dof_step_maximises_scipy_likelihood():
    model, X, params = started("student")
    located = model.cm_steps(model.e_step(params, X)[0], params)
    found = model.cm_likelihood_step(located, X, rows=53).dof[0]

    def scipy_ll(nu):
        return stats.multivariate_t(located.means[0], located.cov[0], df=nu).logpdf(X).sum()

    best = optimize.minimize_scalar(lambda t: -scipy_ll(np.exp(t)), bounds=(0.0, 5.0),
                                    method="bounded", options={"xatol": 1e-10})
    assert found == pytest.approx(np.exp(best.x), rel=1e-5)
    np.testing.assert_allclose(located.means, model.cm_likelihood_step(located, X, 53).means)


def test_ecme_per_component_dof_are_a_joint_maximum():
    model, X, params = started("tmix")
    located = model.cm_steps(model.e_step(params, X)[0], params)
    result = model.cm_likelihood_step(located, X, rows=64)
    best = model.e_step(result, X)[1]
    assert best > model.e_step(located, X)[1]
    for k in range(2):
        for factor in (0.99, 1.01):
            dof = result.dof.copy()
            dof[k] *= factor
            moved = type(result)(result.covariance, result.weights, result.means, result.cov, dof)
            assert model.e_step(moved, X)[1] < best


@pytest.mark.parametrize("algorithm", ["ecm", "ecme"])
def test_chunk_size_and_seed_do_not_matter(algorithm):
    X = two_t()
    fits = [fit(StudentMixture(2), X, seed=5, rows=rows, restarts=2, algorithm=algorithm).best
            for rows in (7, 10_000, 10_000)]
    np.testing.assert_array_equal(fits[1].params.dof, fits[2].params.dof)
    np.testing.assert_array_equal(fits[1].params.means, fits[2].params.means)
    # other chunks sum in another order; the likelihood is flat in nu, so its maximiser moves by
    # a little more than the rounding of the sums (1.4e-7 relative here)
    np.testing.assert_allclose(fits[0].params.dof, fits[1].params.dof, rtol=1e-6)
    assert fits[0].log_likelihood == pytest.approx(fits[1].log_likelihood, rel=1e-10)


def test_trace_records_cm_steps_and_dof():
    model, X, params = started("tmix")
    trace = drive("ecme", model, X, params, max_iter=5, tol=0.0).trace
    assert trace[1]["cm"] == "location/scale on Q; dof on likelihood"
    assert [row["passes"] for row in trace] == [1, 3, 5, 7, 9, 11]
    assert {"dof_1", "dof_2"} <= set(trace[0])
    trace = drive("ecm", model, X, params, max_iter=2, tol=0.0).trace
    assert trace[2]["cm"] == "location/scale on Q; dof on Q" and trace[2]["passes"] == 3


def test_cli_fits_student_by_ecme(run_cli):
    np.savetxt("data.csv", single_t(300), delimiter=",", header="a,b", comments="")
    result = run_cli("fit", "data.csv", "-m", "student", "--algorithm", "ecme", "--trace", "t.csv",
                     "-o", "m.json", "--seed", 1)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(pathlib.Path("m.json").read_text())
    assert doc["fit"]["algorithm"] == "ecme" and doc["fit"]["converged"]
    rows = list(csv.DictReader(io.StringIO(pathlib.Path("t.csv").read_text())))
    assert len(rows) == doc["fit"]["n_iter"] + 1
    assert rows[-1]["cm"] == "location/scale on Q; dof on likelihood"
    assert float(rows[-1]["dof"]) == pytest.approx(doc["params"]["dof"][0])


def test_cli_refuses_ecme_for_gmm(run_cli):
    np.savetxt("data.csv", single_t(50), delimiter=",", header="a,b", comments="")
    result = run_cli("fit", "data.csv", "-m", "gmm", "--algorithm", "ecme", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "ecme" in result.stderr
    assert not pathlib.Path("m.json").exists()


@pytest.fixture
def run_cli(run):
    return run
