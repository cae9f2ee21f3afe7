"""Exact inference in discrete Bayesian networks (emcli.models.bn_inference) against brute-force
enumeration of the full joint."""

import itertools

import numpy as np
import pytest

from emcli.errors import UsageError
from emcli.models.bn_inference import MAX_CLIQUE_STATES, Network, evidence_of


def random_network(rng, n_nodes: int, n_hidden: int, max_parents: int = 2) -> Network:
    """A random DAG in node order (parents among earlier nodes), the first ``n_hidden`` hidden."""
    parents = []
    for v in range(n_nodes):
        count = min(v, int(rng.integers(0, max_parents + 1)))
        parents.append(tuple(sorted(rng.choice(v, size=count, replace=False).tolist())) if count else ())
    return Network(tuple(int(c) for c in rng.integers(2, 4, size=n_nodes)), tuple(parents),
                   tuple(v < n_hidden for v in range(n_nodes)), tuple(f"n{v}" for v in range(n_nodes)))


def random_cpts(rng, network: Network) -> list:
    return [rng.dirichlet(np.ones(network.cardinality[v]), size=network.cpt_shape(v)[:-1])
            for v in range(len(network.cardinality))]


def random_rows(rng, network: Network, n: int, missing: float) -> np.ndarray:
    observed = [v for v, hidden in enumerate(network.hidden) if not hidden]
    codes = np.stack([rng.integers(network.cardinality[v], size=n) for v in observed], axis=1).astype(float)
    codes[rng.random(codes.shape) < missing] = np.nan
    return codes


def brute_force(network: Network, cpts: list, codes: np.ndarray):
    """(N,) Z_n and per node the (N, *CPT shape) posterior family marginals, by enumerating every
    joint state."""
    n_nodes = len(network.cardinality)
    observed = [v for v, hidden in enumerate(network.hidden) if not hidden]
    z = np.zeros(len(codes))
    families = [np.zeros((len(codes), *network.cpt_shape(v))) for v in range(n_nodes)]
    for state in itertools.product(*(range(c) for c in network.cardinality)):
        joint = np.prod([cpts[v][tuple(state[u] for u in network.family(v))] for v in range(n_nodes)])
        agrees = np.ones(len(codes), dtype=bool)
        for column, v in enumerate(observed):
            cell = codes[:, column]
            agrees &= np.isnan(cell) | (cell == state[v])
        z += agrees * joint
        for v in range(n_nodes):
            families[v][(slice(None), *(state[u] for u in network.family(v)))] += agrees * joint
    return z, [f / z.reshape(-1, *[1] * (f.ndim - 1)) for f in families]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("missing", [0.0, 0.3])
@pytest.mark.parametrize("engine", ["enumerated", "contracted"])
def test_likelihoods_and_family_counts_equal_brute_force(seed, missing, engine):
    """Both engines: enumerating each row's unobserved states (the fast path) and the
    contraction with its derivative (for networks whose rows hide too many states)."""
    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes=6, n_hidden=2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 50, missing)
    multiplicity = rng.integers(1, 4, size=len(codes)).astype(float)
    if engine == "enumerated":
        counts, log_z = network.e_step(cpts, codes, multiplicity)
    else:
        counts, log_z = network.contracted_e_step(cpts, evidence_of(codes, network), multiplicity)
    z, families = brute_force(network, cpts, codes)
    np.testing.assert_allclose(log_z, np.log(z), rtol=1e-12, atol=1e-14)
    for v, count in enumerate(counts):
        np.testing.assert_allclose(count, np.tensordot(multiplicity, families[v], axes=1), rtol=1e-10, atol=1e-12)
        # every row puts its multiplicity into each family once
        assert count.sum() == pytest.approx(multiplicity.sum(), rel=1e-12)


def test_a_row_with_every_cell_missing_has_probability_one():
    rng = np.random.default_rng(1)
    network = random_network(rng, 4, 1)
    codes = np.full((3, 3), np.nan)
    _, log_z = network.e_step(random_cpts(rng, network), codes)
    np.testing.assert_allclose(log_z, 0.0, atol=1e-12)


def test_a_clique_beyond_the_bound_is_refused_naming_its_nodes():
    """A hidden node of 4 states over 10 children that are also chained to one another
    (each child a parent of the next): eliminating the hidden node first, or the chain, gives
    cliques of more than a million states per row when the children have 8 levels."""
    n_children = 8
    parents = [()] + [(0,) if c == 1 else (0, c - 1) for c in range(1, n_children + 1)]
    # and a node that depends on every child: its CPT alone exceeds the bound
    parents.append(tuple(range(1, n_children + 1)))
    network = Network((4,) + (8,) * n_children + (2,), tuple(parents),
                      (True,) + (False,) * (n_children + 1), tuple(f"x{v}" for v in range(n_children + 2)))
    assert 8 ** n_children > MAX_CLIQUE_STATES
    with pytest.raises(UsageError, match=r"needs a clique of [\d,]+ states \(.*x\d.*\)"):
        network.likelihood_plan


def test_rows_hiding_too_many_states_go_through_the_contraction(monkeypatch):
    from emcli.models import bn_enumeration

    rng = np.random.default_rng(2)
    network = random_network(rng, 6, 2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 40, 0.3)
    fast = network.e_step(cpts, codes)
    monkeypatch.setattr(bn_enumeration, "MAX_STATES", 1)
    monkeypatch.setattr(bn_enumeration, "e_step", None)  # would fail if called
    slow = network.e_step(cpts, codes)
    np.testing.assert_allclose(slow[1], fast[1], rtol=1e-12, atol=1e-14)
    for a, b in zip(slow[0], fast[0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_posterior_marginals_equal_brute_force(seed):
    """Each node's distribution given each row's observed cells (predict's hidden states,
    impute's missing cells), with the row's likelihood."""
    from emcli.models import bn_enumeration

    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes=6, n_hidden=2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 40, 0.3)
    log_z, marginals = bn_enumeration.posteriors(network, cpts, network._node_codes(codes))
    z, families = brute_force(network, cpts, codes)
    np.testing.assert_allclose(log_z, np.log(z), rtol=1e-12, atol=1e-14)
    for v, marginal in enumerate(marginals):
        # the node's own axis is the last of its family's
        expected = families[v].reshape(len(codes), -1, network.cardinality[v]).sum(axis=1)
        np.testing.assert_allclose(marginal, expected, rtol=1e-10, atol=1e-12)
