"""Starts that do not depend on the units (issue 14, item 1): k-means++ and the first hard
assignment measure distances in em.init.seeding_frame, so that an affine map of the data
(full, tied) or a rescaling of its columns (diag) seeds the same rows, and EM, equivariant,
reaches the same optimum: the same log-likelihood up to the Jacobian."""

import pathlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from emcli.em.fit import fit
from emcli.models.gmm import GaussianMixture

QUAKES = np.loadtxt(pathlib.Path(__file__).parent / "data" / "quakes.csv", delimiter=",", skiprows=1)
FAITHFUL = np.loadtxt(pathlib.Path(__file__).parent.parent / "sample_data" / "faithful.csv",
                      delimiter=",", skiprows=1)


def _score(X, covariance, k=3, seed=4):
    # a floor far below the data's scale: the floor alone is not equivariant (it follows the
    # columns' variances), and convergence run to the end so that both fits stop at the optimum
    model = GaussianMixture(k, covariance, reg_covar=1e-12)
    return fit(model, X, seed=seed, tol=1e-12, max_iter=5000).best.score


@settings(max_examples=12, deadline=None, derandomize=True)
@given(covariance=st.sampled_from(["full", "tied"]), seed=st.integers(0, 2**32 - 1))
def test_an_affine_map_of_the_data_gives_the_same_fit(covariance, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(2, 2)) * 10.0 ** rng.uniform(-3, 3, size=2)
    if abs(np.linalg.det(A)) < 1e-9 * np.abs(A).max() ** 2:
        return  # nearly singular: a different problem, not another set of units
    b = rng.normal(size=2) * 1e3
    raw = _score(FAITHFUL, covariance)
    mapped = _score(FAITHFUL @ A + b, covariance) + len(FAITHFUL) * np.log(abs(np.linalg.det(A)))
    assert mapped == pytest.approx(raw, abs=1e-6 * abs(raw))


@pytest.mark.parametrize("covariance", ["diag", "full", "tied"])
def test_rescaled_columns_give_the_same_fit(covariance):
    scales = np.array([1e-3, 1e4, 0.5, 30.0, 1.0])
    raw = _score(QUAKES, covariance, k=2)
    rescaled = _score(QUAKES * scales, covariance, k=2) + len(QUAKES) * np.log(scales).sum()
    assert rescaled == pytest.approx(raw, abs=1e-6 * abs(raw))
