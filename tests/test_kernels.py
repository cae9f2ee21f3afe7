"""The compiled kernels against NumPy and SciPy: nearest centres, the log-sum-exp normalisation, the
Gaussian design rows and the fused Gaussian E-step."""

import numpy as np
import pytest

from scipy.special import logsumexp

from emcli._kernels import design, nearest, normalize_rows


def brute(X, centres):
    dist = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    labels = dist.argmin(axis=1)
    sums = np.array([X[labels == k].sum(axis=0) for k in range(len(centres))])
    return labels, dist.min(axis=1).sum(), sums, np.bincount(labels, minlength=len(centres))


@pytest.mark.parametrize("n,d,k", [(1, 1, 1), (5, 3, 2), (7, 2, 9), (2047, 16, 16), (2049, 5, 13),
                                   (10001, 3, 256), (4100, 40, 7)])
def test_matches_brute_force(n, d, k):
    rng = np.random.default_rng(n + d + k)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d)
    centres = X[rng.choice(n, size=min(k, n), replace=False)] + 0.01
    labels, sums, counts = np.empty(n, np.int64), np.empty_like(centres), np.empty(len(centres))
    inertia = nearest(X, centres, labels, sums, counts)
    expected = brute(X, centres)
    np.testing.assert_array_equal(labels, expected[0])
    assert inertia == pytest.approx(expected[1], rel=1e-12)
    np.testing.assert_allclose(sums, expected[2], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(counts, expected[3])
    only = np.empty(n, np.int64)
    assert nearest(X, centres, only, None, None) == inertia
    np.testing.assert_array_equal(only, labels)


def test_ties_go_to_the_first_centre():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    centres = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    labels = np.empty(3, np.int64)
    nearest(X, centres, labels, None, None)
    np.testing.assert_array_equal(labels, [2, 0, 0])


@pytest.mark.parametrize("copies", [(1, 6), (5, 9), (2, 3, 13), (0, 15), (7, 8, 20)])
def test_ties_across_lanes_go_to_the_first_centre(copies):
    """Equal nearest centres at indices in different vector lanes and tiles: the lowest index
    wins, as a plain scan gives."""
    rng = np.random.default_rng(len(copies))
    X = rng.normal(size=(40, 3))
    centres = rng.normal(size=(21, 3)) + 50.0
    centres[list(copies)] = X[0]
    labels = np.empty(len(X), np.int64)
    nearest(X, centres, labels, None, None)
    assert labels[0] == copies[0]
    np.testing.assert_array_equal(labels, brute(X, centres)[0])


def test_large_offsets_lose_no_precision():
    rng = np.random.default_rng(0)
    X = 1e8 + rng.normal(size=(3000, 4)) * 1e-3
    centres = X[:5].copy()
    labels = np.empty(len(X), np.int64)
    inertia = nearest(X, centres, labels, None, None)
    expected = brute(X - 1e8, centres - 1e8)
    np.testing.assert_array_equal(labels, expected[0])
    assert inertia == pytest.approx(expected[1], rel=1e-6)


def test_rejects_wrong_types_and_shapes():
    X, centres = np.zeros((4, 2)), np.zeros((2, 2))
    with pytest.raises(TypeError, match="labels"):
        nearest(X, centres, np.empty(4, np.int32), None, None)
    with pytest.raises(TypeError, match="X"):
        nearest(X.astype(np.float32), centres, np.empty(4, np.int64), None, None)
    with pytest.raises(ValueError, match="contiguous"):
        nearest(np.asfortranarray(np.zeros((4, 3))), np.zeros((2, 3)), np.empty(4, np.int64), None, None)
    with pytest.raises(ValueError, match="shapes"):
        nearest(X, np.zeros((2, 3)), np.empty(4, np.int64), None, None)


# -- normalize_rows ------------------------------------------------------------------------------


@pytest.mark.parametrize("n,k", [(1, 1), (7, 2), (300, 3), (513, 4), (100, 16), (37, 17)])
def test_normalize_rows_against_logsumexp(n, k):
    rng = np.random.default_rng(n * k)
    log_joint = rng.normal(scale=30.0, size=(n, k)) - 500.0
    expected_ll = logsumexp(log_joint, axis=1)
    expected = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    row_ll = np.empty(n)
    normalize_rows(log_joint, row_ll)
    np.testing.assert_allclose(row_ll, expected_ll, rtol=1e-15, atol=0)
    np.testing.assert_allclose(log_joint, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(log_joint.sum(axis=1), 1.0, rtol=1e-15)


def test_normalize_rows_exp_is_within_one_ulp_down_to_subnormals():
    """A row [0, x] with x < -40 has responsibility exactly exp(x) (rounded) for x: the
    kernel's own exp against the C library's, from -40 down through the subnormals to 0."""
    x = np.concatenate([np.linspace(-40.0, -708.0, 100_001), np.linspace(-708.0, -746.0, 10_001)])
    log_joint = np.column_stack([np.zeros_like(x), x])
    normalize_rows(log_joint, np.empty(len(x)))
    expected = np.exp(x)
    normal = expected >= np.finfo(float).tiny
    ulps = np.abs(log_joint[normal, 1] - expected[normal]) / np.spacing(expected[normal])
    assert ulps.max() <= 1.0
    assert np.all(np.abs(log_joint[~normal, 1] - expected[~normal]) <= np.spacing(0.0))
    assert log_joint[-1, 1] == 0.0


def test_normalize_rows_edge_rows():
    """All -inf: equal responsibilities, log density -inf; NaN or +inf anywhere: NaN, as the
    NumPy form of the same steps gives; -inf entries next to finite ones: exactly 0."""
    inf, nan = np.inf, np.nan
    log_joint = np.array([[-inf, -inf, -inf], [0.0, nan, 1.0], [inf, 0.0, 1.0], [-inf, 2.0, -inf],
                          [-1e308, 0.0, -inf]])
    row_ll = np.empty(5)
    normalize_rows(log_joint, row_ll)
    np.testing.assert_array_equal(log_joint[0], [1 / 3, 1 / 3, 1 / 3])
    assert row_ll[0] == -inf
    assert np.isnan(log_joint[1:3]).all() and np.isnan(row_ll[1:3]).all()
    np.testing.assert_array_equal(log_joint[3:], [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(row_ll[3:], [2.0, 0.0])


# -- design and the fused E-step ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [0, 1, 2])
@pytest.mark.parametrize("d", [1, 2, 5, 64, 65])
def test_design_rows(kind, d):
    """Every kind, at the widths where the full design's vector path starts (2) and ends (64)."""
    rng = np.random.default_rng(kind)
    X, centre = rng.normal(size=(50, d)) * 100, rng.normal(size=d)
    Xc = X - centre
    upper = np.triu_indices(d)
    second = [(Xc[:, :, None] * Xc[:, None, :])[:, upper[0], upper[1]], Xc * Xc,
              np.einsum("ij,ij->i", Xc, Xc)[:, None]][kind]
    out = np.full((50, second.shape[1] + d + 1), np.nan)
    design(X, centre, kind, out)
    np.testing.assert_allclose(out, np.hstack([second, Xc, np.ones((50, 1))]), rtol=1e-15)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("n,d,k", [(701, 4, 3), (25, 1, 8), (1, 6, 13), (97, 17, 1), (300, 3, 20)])
def test_gaussian_pass_against_numpy(covariance, n, d, k):
    """The fused pass's statistics and row log densities equal those of its NumPy form (design
    rows, one GEMM, the normalisation, one GEMM), for any number of rows (a last block of any
    length), columns (any padding of the design) and components (any padding of K), with far
    rows (distances beyond float range) left out and marked NaN."""
    from emcli.models import gaussian
    from emcli.models.gmm import GaussianMixture
    from emcli.numeric import normalize_log_rows

    rng = np.random.default_rng(n + d + k)
    X = rng.normal(size=(n + k - 1, d)) + rng.integers(0, 3, size=(n + k - 1, 1)) * 4
    X = np.vstack([X, np.eye(1, d) * 1e200])
    model = GaussianMixture(k=k, covariance=covariance)
    model.prepare(X[:-1])
    params = model.params_from_centres(X[:k])
    A, offsets = params.coefficients(model.center), params.offsets
    S, row_ll = gaussian.complete_pass(X, model.center, covariance, A, offsets)
    assert np.isnan(row_ll[-1]) and not np.isnan(row_ll[:-1]).any()
    F = gaussian.design(X[:-1], model.center, covariance)
    log_joint = offsets - 0.5 * np.maximum(F @ A, 0.0)
    expected_ll = normalize_log_rows(log_joint)
    np.testing.assert_allclose(row_ll[:-1], expected_ll, rtol=1e-13)
    np.testing.assert_allclose(S, F.T @ log_joint, rtol=1e-12, atol=1e-9)


def test_new_kernels_reject_wrong_shapes():
    with pytest.raises(ValueError, match="shapes"):
        normalize_rows(np.zeros((4, 3)), np.empty(5))
    with pytest.raises(TypeError, match="log_joint"):
        normalize_rows(np.zeros((4, 3), np.float32), np.empty(4))
    with pytest.raises(ValueError, match="shapes"):
        design(np.zeros((4, 3)), np.zeros(3), 0, np.empty((4, 9)))
    with pytest.raises(ValueError, match="shapes"):
        design(np.zeros((4, 3)), np.zeros(3), 5, np.empty((4, 10)))
