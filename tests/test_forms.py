"""The fourteen covariance forms' M-steps (emcli.models.forms) against a direct numerical
maximisation of Q over each form's parameters, their structure, and mclust's parameter counts."""

import numpy as np
import pytest
from scipy import optimize

from emcli.models import forms


def scatters(seed: int, k: int = 3, d: int = 3, n: int = 60):
    """Weighted scatters W (K, D, D) about each component's weighted mean, and weights n (K,),
    of random rows with random responsibilities."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    resp = rng.dirichlet(np.ones(k), size=n)
    weights = resp.sum(axis=0)
    means = resp.T @ X / weights[:, None]
    W = np.stack([(resp[:, j, None] * (X - means[j])).T @ (X - means[j]) for j in range(k)])
    return W, weights


def _rotation(theta: np.ndarray, d: int) -> np.ndarray:
    """The rotation (I - S)^-1 (I + S) of the skew matrix S of ``theta`` (Cayley's transform:
    every rotation without an eigenvalue -1, enough for a maximum)."""
    skew = np.zeros((d, d))
    skew[np.triu_indices(d, 1)] = theta
    skew -= skew.T
    return np.linalg.solve(np.eye(d) - skew, np.eye(d) + skew)


def numerical_best(form: str, W: np.ndarray, n: np.ndarray, starts: int = 4) -> float:
    """The largest Q found by BFGS over the form's own parameters, Sigma_k = lambda_k D_k
    diag(a_k) D_k' (log volumes, log shapes summing to 0, rotations of a
    skew matrix, Cayley's transform), from ``starts`` random starts."""
    k, d = len(n), W.shape[-1]
    count = lambda letter, size: 0 if letter == "I" else size if letter == "E" else k * size
    sizes = [count(form[0], 1), count(form[1], d - 1), count(form[2], d * (d - 1) // 2)]
    if form[0] == "I":
        sizes[0] = 0

    def covariances(theta):
        volume, shape, turn = np.split(theta, np.cumsum(sizes)[:2])
        volumes = np.exp(np.broadcast_to(volume, (k,))) if volume.size else np.ones(k)
        logs = shape.reshape(-1, d - 1) if shape.size else np.zeros((1, d - 1))
        logs = np.broadcast_to(np.column_stack([logs, -logs.sum(axis=1)]), (k, d))
        if turn.size:
            turns = turn.reshape(-1, d * (d - 1) // 2)
            rotations = np.broadcast_to(np.stack([_rotation(t, d) for t in turns]), (k, d, d))
        else:
            rotations = np.broadcast_to(np.eye(d), (k, d, d))
        return np.einsum("kij,kj,klj->kil", rotations, volumes[:, None] * np.exp(logs), rotations)

    rng = np.random.default_rng(0)
    best = -np.inf
    for _ in range(starts):
        found = optimize.minimize(lambda theta: -forms.q_value(covariances(theta), W, n),
                                  rng.normal(scale=0.5, size=sum(sizes)), method="BFGS",
                                  options={"gtol": 1e-10, "maxiter": 5000})
        best = max(best, -found.fun)
    return best


@pytest.mark.parametrize("form", forms.FORMS)
def test_each_form_maximises_q(form):
    W, n = scatters(1, k=2)
    found = forms.q_value(forms.m_step(form, W, n), W, n)
    assert found >= numerical_best(form, W, n) - 1e-6 * abs(found)


@pytest.mark.parametrize("form", forms.FORMS)
def test_each_forms_covariances_have_its_structure(form):
    """Volume |Sigma_k|^(1/D), shape and orientation equal across components (E), varying (V)
    or, for the orientation and the spherical shape, the identity (I)."""
    W, n = scatters(3, k=4, d=3)
    covariances = forms.m_step(form, W, n)
    assert np.allclose(covariances, np.transpose(covariances, (0, 2, 1)))
    assert np.all(np.linalg.eigvalsh(covariances) > 0)
    volumes = np.exp(np.linalg.slogdet(covariances)[1] / 3)
    assert np.allclose(volumes, volumes[0]) == (form[0] == "E")
    off_diagonal = covariances - np.einsum("kii,ij->kij", covariances, np.eye(3))
    assert np.allclose(off_diagonal, 0.0) == (form[2] == "I")
    if form[1] == "I":
        assert np.allclose(covariances, np.einsum("k,ij->kij", volumes, np.eye(3)))
    normalised = covariances / volumes[:, None, None]
    assert np.allclose(normalised, normalised[0], atol=1e-9) == (form in ("EII", "VII", "EEI", "VEI", "EEE", "VEE"))
    if form[2] == "E":  # a common orientation: the matrices commute
        assert np.allclose(covariances[0] @ covariances[1], covariances[1] @ covariances[0], atol=1e-8)


def test_the_older_names_are_the_forms_they_always_were():
    W, n = scatters(4)
    assert np.allclose(forms.m_step("full", W, n), W / n[:, None, None])
    assert np.allclose(forms.m_step("tied", W, n), W.sum(axis=0) / n.sum())
    assert np.allclose(forms.m_step("diag", W, n), np.einsum("kii,ij->kij", W, np.eye(3)) / n[:, None, None])
    assert np.allclose(forms.m_step("spherical", W, n),
                       np.einsum("k,ij->kij", np.einsum("kii->k", W) / (3 * n), np.eye(3)))


def test_parameter_counts_are_mclusts():
    """mclust's nVarParams, written out for G = 3 components in d = 4 dimensions."""
    expected = {"EII": 1, "VII": 3, "EEI": 4, "VEI": 6, "EVI": 10, "VVI": 12, "EEE": 10, "VEE": 12, "EVE": 16,
                "VVE": 18, "EEV": 22, "VEV": 24, "EVV": 28, "VVV": 30}
    assert {form: forms.n_parameters(form, 3, 4) for form in forms.FORMS} == expected
