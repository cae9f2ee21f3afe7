"""The Bayesian network model (emcli.models.bn) fit by EM: the latent class model as a special
case, the log-likelihood against brute-force marginalisation, monotone EM, and the model file."""

import itertools

import numpy as np
import pytest

from emcli.em.fit import fit
from emcli.io.modelfile import dumps, model_document
from emcli.models.bn import BayesianNetwork, BNParams
from emcli.models.categorical import CategoricalMixture, CategoricalParams


def coded(rng, n: int, sizes: list, missing: float = 0.0) -> np.ndarray:
    X = np.stack([rng.integers(size, size=n) for size in sizes], axis=1).astype(float)
    X[rng.random(X.shape) < missing] = np.nan
    return X


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_one_hidden_root_over_every_column_is_the_latent_class_model(missing):
    """From the same start, EM on "H -> every column" follows -m categorical step for step
    (1e-10), and counts the same parameters.  With missing cells the two are different EMs to
    the same maximum: the network's complete data includes the missing cells (their expected
    counts enter the M-step), categorical's leaves them out; both reach the same fit."""
    rng = np.random.default_rng(0)
    sizes = [2, 3, 4, 3]
    X = coded(rng, 400, sizes, missing=missing)
    columns = [f"c{j}" for j in range(len(sizes))]
    weights = rng.dirichlet(np.ones(3) * 5)
    tables = [rng.dirichlet(np.ones(size), size=3) for size in sizes]
    categorical = CategoricalMixture(3)
    network = BayesianNetwork(", ".join(f"H -> {c}" for c in columns), {"H": 3}, columns)
    network.prepare(X)
    assert network.network.names[0] == "H"
    steps = {"max_iter": 30, "tol": 0} if not missing else {"max_iter": 20000, "tol": 1e-13}
    a = fit(categorical, X, init=CategoricalParams(weights, tables), **steps)
    b = fit(network, X, init=BNParams([weights, *tables]), **steps)
    if not missing:
        np.testing.assert_allclose([r["score"] for r in b.best.trace], [r["score"] for r in a.best.trace], rtol=1e-10)
    rtol = 1e-10 if not missing else 1e-5
    assert b.best.score == pytest.approx(a.best.score, rel=1e-10 if not missing else 1e-9)
    np.testing.assert_allclose(b.best.params.cpts[0], a.best.params.weights, rtol=rtol)
    for table, cpt in zip(a.best.params.tables, b.best.params.cpts[1:]):
        np.testing.assert_allclose(cpt, table, rtol=rtol, atol=1e-14 if not missing else 1e-6)
    assert network.n_parameters(b.best.params) == categorical.n_parameters(a.best.params)


STRUCTURE = "H -> a, H -> b, G -> b, G -> c, H -> G, a -> c"


def brute_log_likelihood(network: BayesianNetwork, params: BNParams, X: np.ndarray) -> float:
    """sum_n log p(observed cells of row n), enumerating every joint state."""
    net = network.network
    total = 0.0
    for row in X:
        p = 0.0
        for state in itertools.product(*(range(c) for c in net.cardinality)):
            if any(not np.isnan(row[network.observed.index(name)]) and row[network.observed.index(name)] != state[v]
                   for v, name in enumerate(net.names) if not net.hidden[v]):
                continue
            p += np.prod([params.cpts[v][tuple(state[u] for u in net.family(v))] for v in range(len(net.names))])
        total += np.log(p)
    return total


@pytest.mark.parametrize("missing", [0.0, 0.25])
def test_the_log_likelihood_is_brute_force_marginalisation_and_never_falls(missing):
    rng = np.random.default_rng(3)
    X = coded(rng, 120, [2, 3, 2], missing)
    network = BayesianNetwork(STRUCTURE, {"H": 2, "G": 3}, ["a", "b", "c"])
    outcome = fit(network, X, seed=1, max_iter=40, tol=0)
    scores = np.array([row["score"] for row in outcome.best.trace])
    assert np.all(np.diff(scores) >= -1e-9 * np.abs(scores[1:]))
    assert outcome.best.score == pytest.approx(brute_log_likelihood(network, outcome.best.params, X), rel=1e-10)


def draw(rng, network: BayesianNetwork, cpts: list, n: int) -> np.ndarray:
    """(n, observed) level codes drawn from the network by ancestral sampling."""
    net = network.network
    states = np.zeros((n, len(net.names)), dtype=np.intp)
    for v in range(len(net.names)):
        table = np.broadcast_to(cpts[v][tuple(states[:, u] for u in net.parents[v])], (n, net.cardinality[v]))
        states[:, v] = (rng.random((n, 1)) > np.cumsum(table, axis=1)).sum(axis=1)
    return np.stack([states[:, net.names.index(name)] for name in network.observed], axis=1).astype(float)


def test_a_network_with_two_hidden_nodes_gives_its_cpts_back():
    """50,000 rows from a network with hidden nodes of 2 and 3 states over six columns, each
    hidden state favouring its own level of every child (70%): the fitted CPTs equal the true
    ones up to the hidden states' relabelling (max abs error 0.02; measured 0.014, the maximum
    likelihood estimate's sampling error: every restart reaches the same optimum, 20 above the
    truth's log-likelihood, about half the 43 parameters)."""
    rng = np.random.default_rng(7)
    structure = "H -> a, H -> b, H -> c, H -> G, G -> d, G -> e, G -> f, a -> b"
    columns = list("abcdef")
    network = BayesianNetwork(structure, {"H": 2, "G": 3}, columns)
    network.levels = [[0, 1, 2]] * 6
    network._plan()
    net = network.network
    truth = []
    for v in range(len(net.names)):
        shape = net.cpt_shape(v)
        table = rng.dirichlet(np.full(shape[-1], 2.0), size=shape[:-1])
        if any(net.hidden[u] for u in net.parents[v]):
            # each state of a hidden parent favours its own level: the hidden states are told apart
            state = np.indices(shape[:-1])[net.parents[v].index(next(u for u in net.parents[v] if net.hidden[u]))]
            table = 0.3 * table + 0.7 * np.eye(shape[-1])[state % shape[-1]]
        truth.append(table)
    X = draw(rng, network, truth, 50_000)
    fitted = fit(BayesianNetwork(structure, {"H": 2, "G": 3}, columns, levels=network.levels), X,
                 seed=0, restarts=4, max_iter=1000, tol=1e-9).best.params.cpts
    h, g = net.names.index("H"), net.names.index("G")
    best = min((max(np.abs(relabel(fitted, net, {h: ph, g: pg})[v] - truth[v]).max() for v in range(len(truth))), ph, pg)
               for ph in itertools.permutations(range(2)) for pg in itertools.permutations(range(3)))
    assert best[0] < 0.02, best


def relabel(cpts: list, net, permutations: dict) -> list:
    """``cpts`` with hidden node h's states renamed by ``permutations[h]`` (new state i is old
    state perm[i]) wherever h appears, as the node or as a parent."""
    out = []
    for v, cpt in enumerate(cpts):
        for axis, u in enumerate(net.family(v)):
            if u in permutations:
                cpt = np.take(cpt, list(permutations[u]), axis=axis)
        out.append(cpt)
    return out


def test_the_model_file_round_trips():
    """The document's options rebuild the network, and its params the same CPTs."""
    import json

    rng = np.random.default_rng(5)
    X = coded(rng, 200, [2, 3, 2], 0.1)
    network = BayesianNetwork(STRUCTURE, {"H": 2, "G": 3}, ["a", "b", "c"])
    outcome = fit(network, X, seed=0, max_iter=20)
    doc = json.loads(dumps(model_document(network, ["a", "b", "c"], outcome, n_samples=200)))
    loaded = BayesianNetwork(**doc["options"])
    params = loaded.from_json(doc["params"], 3)
    assert loaded.network.names == network.network.names
    for mine, theirs in zip(outcome.best.params.cpts, params.cpts):
        np.testing.assert_array_equal(mine, theirs)


def test_blocks_of_the_fit_rows_are_laid_out_once_with_the_same_statistics():
    """EM's chunks are views of the rows prepare saw: their layout is kept for the next
    iteration, and gives what a fresh layout of a copy gives; a copy is never mistaken for one."""
    from emcli.models.bn import _block_of

    rng = np.random.default_rng(4)
    X = coded(rng, 500, [2, 3, 2, 3], missing=0.2)
    network = BayesianNetwork("H -> a, H -> b, G -> b, G -> c, H -> G, a -> c, H -> d", {"H": 2, "G": 3},
                              ["a", "b", "c", "d"])
    network.prepare(X)
    params = network.init_params(X, "random", rng)
    assert _block_of(X, X[100:300]) == (100, 200) and _block_of(X, X[100:300].copy()) is None
    assert _block_of(X, X[::2]) is None and _block_of(X, X[:, :2]) is None
    first = network.e_step(params, X[100:300])
    assert (100, 200) in network._cache_blocks
    again, fresh = network.e_step(params, X[100:300]), network.e_step(params, X[100:300].copy())
    for other in (again, fresh):
        assert other[1] == first[1]
        for field in first[0]:
            np.testing.assert_array_equal(other[0][field], first[0][field])
