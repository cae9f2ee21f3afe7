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
    for plan in ("likelihood_plan", "posterior_plan"):
        with pytest.raises(UsageError, match=r"needs a clique of [\d,]+ states \(.*x\d.*\)"):
            getattr(network, plan)
    # only a block that needs the contraction is refused: its bytes do not shrink the blocks
    assert network.workspace_bytes_per_row() < 1000


def test_a_chain_is_eliminated_pairwise_within_small_cliques():
    """A hidden node of 4 states over 8 chained children of 8 levels: variable elimination needs
    cliques of 4 x 8 x 8 states; a plan that contracted what is left in one step (numpy's greedy
    search at its default memory limit) would span 4 x 8^8 per row and be refused."""
    n_children = 8
    parents = [()] + [(0,) if c == 1 else (0, c - 1) for c in range(1, n_children + 1)]
    network = Network((4,) + (8,) * n_children, tuple(parents), (True,) + (False,) * n_children,
                      tuple(f"x{v}" for v in range(n_children + 1)))
    for plan in (network.likelihood_plan, network.posterior_plan):
        assert all(len(step) == 2 for step in plan)
    assert network.likelihood_contraction_bytes < 2 * 8 * 2 * n_children * 4 * 8 * 8


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


def posteriors(network: Network, cpts: list, codes: np.ndarray, engine: str):
    if engine == "enumerated":
        return network.posteriors(cpts, codes)
    return network.contracted_posteriors(cpts, evidence_of(codes, network))


def node_marginals(network: Network, families: list) -> list:
    """Per node, the (N, L_v) marginals of the brute-force family marginals (its own axis is
    the last of its family's)."""
    return [f.reshape(len(f), -1, network.cardinality[v]).sum(axis=1) for v, f in enumerate(families)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("missing", [0.0, 0.3])
@pytest.mark.parametrize("engine", ["enumerated", "contracted"])
def test_posterior_marginals_equal_brute_force(seed, missing, engine):
    """Each node's distribution given each row's observed cells (predict's hidden states,
    impute's missing cells), with the row's likelihood, by both engines."""
    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes=6, n_hidden=2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 40, missing)
    log_z, marginals = posteriors(network, cpts, codes, engine)
    z, families = brute_force(network, cpts, codes)
    np.testing.assert_allclose(log_z, np.log(z), rtol=1e-12, atol=1e-14)
    for marginal, expected in zip(marginals, node_marginals(network, families)):
        np.testing.assert_allclose(marginal, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("engine", ["enumerated", "contracted"])
def test_a_row_with_every_cell_missing_gets_the_prior_marginals(engine):
    rng = np.random.default_rng(3)
    network = random_network(rng, n_nodes=6, n_hidden=2)
    cpts = random_cpts(rng, network)
    codes = np.full((2, 4), np.nan)
    log_z, marginals = posteriors(network, cpts, codes, engine)
    np.testing.assert_allclose(log_z, 0.0, atol=1e-12)
    _, families = brute_force(network, cpts, codes)
    for marginal, expected in zip(marginals, node_marginals(network, families)):
        np.testing.assert_allclose(marginal, expected, rtol=1e-10, atol=1e-12)


def test_enumerated_posteriors_do_not_depend_on_the_sub_blocks(monkeypatch):
    """A budget of one byte takes each group's rows one at a time."""
    from emcli.models import bn_enumeration

    rng = np.random.default_rng(4)
    network = random_network(rng, n_nodes=6, n_hidden=2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 30, 0.3)
    whole = network.posteriors(cpts, codes)
    monkeypatch.setattr(bn_enumeration, "POSTERIOR_BYTES", 1)
    single = network.posteriors(cpts, codes)
    np.testing.assert_array_equal(single[0], whole[0])
    for a, b in zip(single[1], whole[1]):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_posteriors_of_rows_hiding_too_many_states_go_through_the_contraction(monkeypatch):
    from emcli.models import bn_enumeration

    rng = np.random.default_rng(5)
    network = random_network(rng, 6, 2)
    cpts = random_cpts(rng, network)
    codes = random_rows(rng, network, 40, 0.3)
    fast = network.posteriors(cpts, codes)
    monkeypatch.setattr(bn_enumeration, "MAX_STATES", 1)
    monkeypatch.setattr(bn_enumeration, "posteriors", None)  # would fail if called
    slow = network.posteriors(cpts, codes)
    np.testing.assert_allclose(slow[0], fast[0], rtol=1e-12, atol=1e-14)
    for a, b in zip(slow[1], fast[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def held_bytes_per_row(network: Network, leaves: list, plan: list, n: int) -> tuple[int, int]:
    """(bytes per row of every array that carries the row in the forward pass, of its
    largest), measured on ``n`` rows."""
    _, values, _ = network._forward(leaves, plan)
    rowed = [array.nbytes // n for array, labels in values.values() if network.row in labels]
    return sum(rowed), max(rowed)


def test_the_workspace_per_row_covers_a_large_clique():
    """A hidden node over six columns of 6 levels and a column depending on all six: rows missing
    them hide 3 x 6^6 states, past enumeration, and the contraction's intermediates per row run
    to thousands of states (none a row times every joint state).  The workspace covers all the
    arrays that carry the row, measured."""
    n_columns = 6
    parents = [()] + [(0,)] * n_columns + [tuple(range(1, n_columns + 1))]
    network = Network((3,) + (6,) * n_columns + (2,), tuple(parents), (True,) + (False,) * (n_columns + 1),
                      tuple(f"x{v}" for v in range(n_columns + 2)))
    rng = np.random.default_rng(6)
    cpts = random_cpts(rng, network)
    evidence = evidence_of(random_rows(rng, network, 20, 0.5), network)
    held, largest = held_bytes_per_row(network, network._leaves(cpts, evidence), network.likelihood_plan, 20)
    assert largest >= 8 * 1000
    assert largest < 8 * np.prod(network.cardinality)
    assert network.workspace_bytes_per_row() >= held
    every = [np.ones((20, 3)), *evidence[1:]]
    held, _ = held_bytes_per_row(network, network._leaves(cpts, every), network.posterior_plan, 20)
    assert network.posterior_bytes_per_row() >= held


def test_the_workspace_per_row_of_small_cliques_is_a_few_numbers_per_node():
    """bench_bn's network: hidden nodes of 3 and 2 states over 12 columns, two of which have
    children; enumeration always suffices."""
    parents = [(), (0,)] + [(0,)] * 6 + [(1,)] * 6
    parents[2 + 3], parents[8 + 3] = (0, 2), (1, 8)
    sizes = (3, 2) + (4,) * 12
    network = Network(sizes, tuple(parents), (True, True) + (False,) * 12, tuple(f"x{v}" for v in range(14)))
    assert network.workspace_bytes_per_row() <= 8 * 8 * len(sizes)
    assert network.posterior_bytes_per_row() <= 8 * (8 * len(sizes) + sum(sizes))
