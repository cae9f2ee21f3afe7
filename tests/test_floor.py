"""The covariance floor as a constraint (issue 14, item 4): the M-step maximises over
covariances at least diag(floor), by clipping the scaled scatter's eigenvalues, rather than
adding the floor after maximising (which left the maximiser, so that the objective could fall)."""

import pathlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from emcli.em.fit import fit
from emcli.models import registry
from emcli.models.gaussian import clipped_to_floor

RETURNS = np.loadtxt(pathlib.Path(__file__).parent / "data" / "bmw_siemens.csv", delimiter=",", skiprows=1)


def q(sigma: np.ndarray, scatter: np.ndarray) -> float:
    """The M-step's objective in one covariance, per unit weight: -(log|S| + tr(S^-1 C))."""
    return -(np.linalg.slogdet(sigma)[1] + np.trace(np.linalg.solve(sigma, scatter)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 5))
def test_clipping_is_the_constrained_maximiser(seed, d):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    scatter = (basis * 10.0 ** rng.uniform(-8, 1, size=d)) @ basis.T  # some directions below the floor
    floor = 10.0 ** rng.uniform(-4, -1, size=d)
    best = clipped_to_floor(scatter[None], floor, "full")[0]
    scaled = best / np.sqrt(np.outer(floor, floor))
    assert np.linalg.eigvalsh(scaled).min() >= 1.0 - 1e-9  # feasible: at least the floor
    added = scatter + np.diag(floor)  # the old rule: feasible, but not the maximiser
    assert q(best, scatter) >= q(added, scatter) - 1e-9
    for _ in range(20):  # and no feasible neighbour does better
        step = rng.normal(size=(d, d)) * 1e-3 * np.sqrt(np.outer(floor, floor))
        other = best + step @ step.T  # moves up, so stays feasible
        assert q(best, scatter) >= q(other, scatter) - 1e-9
    if np.linalg.eigvalsh(scatter / np.sqrt(np.outer(floor, floor))).min() >= 1.0:
        np.testing.assert_array_equal(best, scatter)  # a floor that does not bind changes nothing


def test_diag_spherical_and_tied_clip_in_their_own_shape():
    floor = np.array([1.0, 4.0])
    np.testing.assert_array_equal(clipped_to_floor(np.array([[0.5, 9.0]]), floor, "diag"), [[1.0, 9.0]])
    np.testing.assert_array_equal(clipped_to_floor(np.array([1.0, 3.0]), floor, "spherical"), [2.5, 3.0])
    tied = clipped_to_floor(np.diag([0.25, 16.0]), floor, "tied")
    np.testing.assert_allclose(tied, np.diag([1.0, 16.0]), atol=1e-12)
    assert clipped_to_floor(np.diag([0.25, 16.0]), np.zeros(2), "tied")[0, 0] == 0.25  # no floor


def test_a_floor_that_does_not_bind_leaves_the_optimum_where_it_was():
    """student --dof 4 on the daily returns: the floor (1e-6 of each column's variance) is far
    below the fitted scale, so the fit must reach the optimum of --reg-covar 0; adding the floor
    at every M-step ended 1.1e-7 below it."""
    floored = fit(registry.create("student", {"dof": 4.0}), RETURNS, tol=0, max_iter=400).best
    free = fit(registry.create("student", {"dof": 4.0, "reg_covar": 0.0}), RETURNS, tol=0, max_iter=400).best
    assert floored.log_likelihood == pytest.approx(free.log_likelihood, rel=1e-13)


@pytest.mark.parametrize("name, options, iterations", [("gmm", {"k": 3}, 400), ("gmm", {"k": 4}, 200),
                                                       ("tmix", {"k": 3, "dof": 4.0}, 400)])
def test_the_trace_never_falls_where_the_floor_binds(name, options, iterations):
    """The 312 days at (0, 0) draw a component (weight 312/6146) whose covariance comes to rest
    on the floor, where the old rule let the objective fall."""
    model = registry.create(name, options)
    run = fit(model, RETURNS, tol=0, max_iter=iterations, max_reseeds=0).best
    spike = int(np.argmin(np.abs(run.params.weights - 312 / len(RETURNS))))
    assert run.params.weights[spike] == pytest.approx(312 / len(RETURNS), abs=1e-3)
    root = np.sqrt(model.floor)
    assert np.linalg.eigvalsh(run.params.cov[spike] / np.outer(root, root)).min() == pytest.approx(1.0)
    scores = np.array([row["score"] for row in run.trace])
    assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:]))
