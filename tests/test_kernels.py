"""The compiled nearest-centre kernel against a NumPy brute force."""

import subprocess
import sys

import numpy as np
import pytest

from emcli._kernels import nearest


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


def test_large_offsets_lose_no_precision():
    rng = np.random.default_rng(0)
    X = 1e8 + rng.normal(size=(3000, 4)) * 1e-3
    centres = X[:5].copy()
    labels = np.empty(len(X), np.int64)
    inertia = nearest(X, centres, labels, None, None)
    expected = brute(X - 1e8, centres - 1e8)
    np.testing.assert_array_equal(labels, expected[0])
    assert inertia == pytest.approx(expected[1], rel=1e-6)


def test_results_do_not_depend_on_the_thread_count():
    code = ("import numpy as np; from emcli._kernels import nearest\n"
            "X = np.random.default_rng(1).normal(size=(50000, 7)); C = X[:11].copy()\n"
            "l = np.empty(len(X), np.int64); s = np.empty_like(C); c = np.empty(11)\n"
            "i = nearest(X, C, l, s, c); print(repr(i), repr(s.tolist()), l.tolist())")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"OMP_NUM_THREADS": threads, "PATH": ""}).stdout
               for threads in ("1", "2", "3")}
    assert len(outputs) == 1


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
