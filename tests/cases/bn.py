import numpy as np

from emcli.models.bn_parse import parse_edges
from emcli.models.bn_structure import build

# Two hidden nodes, H over a, b, c, g and G (a child of H) over c, d, e, f, and one edge between columns
# (a -> b): the rows' dependence runs through both hidden nodes and around them.
STRUCTURE = "H -> G, H -> a, H -> b, a -> b, H -> c, G -> c, G -> d, G -> e, G -> f, H -> g"
HIDDEN = {"H": 2, "G": 2}
COLUMNS = ["a", "b", "c", "d", "e", "f", "g"]
LEVELS = [[0, 1, 2], [0, 1], [0, 1, 2], [0, 1], [0, 1, 2], [0, 1], [0, 1]]
MISSING = 0.1

_edges = parse_edges(STRUCTURE)
NODES = build(_edges, COLUMNS, HIDDEN, _edges.mentioned)
ORDER = NODES.nodes  # the network's node order, which its CPTs follow
#: per node, its CPT (parents' states..., own states), hidden states in the order ``read`` sorts
#: them: H by p(a = 0 | H), G by p(d = 0 | G), each increasing
TRUTH = {
    "H": np.array([0.4, 0.6]),
    "G": np.array([[0.6, 0.4], [0.3, 0.7]]),
    "a": np.array([[0.2, 0.3, 0.5], [0.6, 0.25, 0.15]]),
    "b": np.array([[[0.8, 0.2], [0.5, 0.5], [0.2, 0.8]], [[0.6, 0.4], [0.3, 0.7], [0.1, 0.9]]]),
    "c": np.array([[[0.7, 0.2, 0.1], [0.2, 0.6, 0.2]], [[0.3, 0.3, 0.4], [0.1, 0.2, 0.7]]]),
    "d": np.array([[0.1, 0.9], [0.9, 0.1]]),
    "e": np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]),
    "f": np.array([[0.85, 0.15], [0.2, 0.8]]),
    "g": np.array([[0.85, 0.15], [0.15, 0.85]]),
}


def draw(rng, n):
    """Level codes drawn node by node (ancestral sampling), about 10% of the cells missing."""
    states = {}
    for name in ORDER:
        v = NODES.index(name)
        table = TRUTH[name]
        rows = table[tuple(states[NODES.nodes[p]] for p in NODES.parents[v])] if NODES.parents[v] else \
            np.broadcast_to(table, (n, table.shape[-1]))
        states[name] = (rng.random((n, 1)) > np.cumsum(rows, axis=1)[:, :-1]).sum(axis=1)
    X = np.stack([states[c] for c in COLUMNS], axis=1).astype(np.float64)
    X[rng.random(X.shape) < MISSING] = np.nan
    return X


def read(params):
    """The CPTs by node name, each hidden node's states sorted as TRUTH's."""
    cpts = dict(zip(ORDER, params.cpts))
    order = {"H": np.argsort(cpts["a"][:, 0]), "G": np.argsort(cpts["d"][:, 0])}
    out = {}
    for name, cpt in cpts.items():
        v = NODES.index(name)
        family = [NODES.nodes[p] for p in NODES.parents[v]] + [name]
        for axis, member in enumerate(family):
            if member in order:
                cpt = np.take(cpt, order[member], axis=axis)
        out[name] = cpt
    return out


CASE = dict(
    options={"structure": STRUCTURE, "hidden": HIDDEN, "observed": COLUMNS, "levels": LEVELS},
    draw=draw,
    truth=TRUTH,
    read=read, atol=0.03,
)
