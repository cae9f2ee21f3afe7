"""Exact inference in a discrete Bayesian network by enumerating each row's unobserved states:
the fast path of emcli.models.bn_inference for networks with a few hidden nodes.

A row's likelihood needs a sum only over the nodes it does not observe and that matter: the
hidden nodes and its missing cells that have children.  A missing cell without children sums
out of the joint (its CPT row sums to 1), so it is left out here and its expected counts are
its parents' posterior times its CPT row.  Rows are grouped by which cells with children they
miss; within a group the unobserved set U is fixed, so the log joint of every row and every
joint state of U is one gather per node from its log CPT, (rows, states), and the expected
family counts are one weighted bincount per node.  The work is about V x N x S for S joint
states, against the contraction's many small steps, which is why this path is taken whenever
S is at most MAX_STATES.
"""

import itertools

import numpy as np
from scipy.special import logsumexp

#: the most joint states of a row's unobserved nodes enumerated; beyond, variable elimination
MAX_STATES = 4096
#: rows x joint states enumerated at once (each holds a log joint, a posterior weight and a CPT
#: index per node): rows that hide more states than the block's typical row go in pieces
MAX_ELEMENTS = 1 << 18


def states_per_group(network, missing_internal: np.ndarray) -> np.ndarray:
    """(G,) the number of joint states to enumerate for each pattern of missing cells with
    children, rows of the (G, V) boolean ``missing_internal``."""
    hidden = np.array(network.hidden)
    sizes = np.array(network.cardinality, dtype=float)
    return np.prod(np.where(hidden | missing_internal, sizes, 1.0), axis=1)


def fewest_states(network) -> int:
    """The joint states of a row that misses no cell with children: the hidden nodes'."""
    return int(states_per_group(network, np.zeros((1, len(network.cardinality)), dtype=bool))[0])


def _has_children(network) -> np.ndarray:
    """(V,) whether each node is a parent."""
    has_children = np.zeros(len(network.cardinality), dtype=bool)
    for parents in network.parents:
        has_children[list(parents)] = True
    return has_children


def missing_patterns(network, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns of missing cells with children among the rows ``codes`` (N, V)
    (level codes of every node, NaN where unobserved): (G, V) booleans, and the (N,) pattern of
    each row.  Each pattern is one integer's bits (a node per bit), which np.unique sorts fast."""
    internal = np.flatnonzero(_has_children(network) & ~np.array(network.hidden))
    bits = np.isnan(codes[:, internal]).astype(np.int64) @ (np.int64(1) << np.arange(len(internal), dtype=np.int64))
    keys, group = np.unique(bits, return_inverse=True)
    patterns = np.zeros((len(keys), len(network.cardinality)), dtype=bool)
    patterns[:, internal] = (keys[:, None] >> np.arange(len(internal))) & 1 == 1
    return patterns, group.ravel()


def e_step(network, cpts: list, codes: np.ndarray, multiplicity: np.ndarray):
    """(expected family counts per node, (N,) log Z_n) of the rows ``codes`` (N, V): a level
    code per node in node order (NaN where unobserved: hidden nodes and missing cells), each
    row counted ``multiplicity`` (N,) times.  Every row's group must have at most MAX_STATES
    joint states (``states_per_group``)."""
    keys, group = missing_patterns(network, codes)
    log_cpts = [np.log(cpt) for cpt in cpts]
    counts = [np.zeros(cpt.size) for cpt in cpts]
    log_z = np.empty(len(codes))
    sizes = states_per_group(network, keys)
    for g, pattern in enumerate(keys):
        unobserved = np.flatnonzero(np.array(network.hidden) | pattern)
        members = np.flatnonzero(group == g)
        # rows that hide many states go in pieces, so that memory follows the rows' states
        for rows in np.array_split(members, max(1, int(np.ceil(len(members) * sizes[g] / MAX_ELEMENTS)))):
            log_z[rows] = _group(network, log_cpts, cpts, codes[rows], multiplicity[rows], unobserved, counts)
    return [c.reshape(cpt.shape) for c, cpt in zip(counts, cpts)], log_z


def _group(network, log_cpts: list, cpts: list, codes: np.ndarray, multiplicity: np.ndarray,
           unobserved: np.ndarray, counts: list) -> np.ndarray:
    """log Z of rows sharing the unobserved set ``unobserved`` (node indices), adding their
    expected family counts into ``counts`` (flat, per node).  A node outside the set is
    observed in a row, or missing there without children (then its factor is 1)."""
    states = np.array(list(itertools.product(*(range(network.cardinality[u]) for u in unobserved))),
                      dtype=np.intp).reshape(-1, len(unobserved))
    column = {int(u): i for i, u in enumerate(unobserved)}
    absent = np.isnan(codes)
    values = np.where(absent, 0, codes).astype(np.intp)
    shape = (len(codes), len(states))
    log_joint = np.zeros(shape)
    terms = []
    for v in range(len(network.cardinality)):
        flat = _flat_index(network, network.family(v), column, values, states)
        seen = None if v in column else ~absent[:, v]
        gathered = log_cpts[v].ravel()[flat]
        log_joint += gathered if seen is None else np.where(seen[:, None], gathered, 0.0)
        terms.append((v, flat, seen))
    log_z = logsumexp(log_joint, axis=1)
    weights = np.exp(log_joint - log_z[:, None]) * multiplicity[:, None]
    for v, flat, seen in terms:
        own = weights if seen is None else weights * seen[:, None]
        counts[v] += np.bincount(np.broadcast_to(flat, shape).ravel(), own.ravel(), minlength=counts[v].size)
        if seen is not None and not seen.all():
            _missing_counts(network, v, cpts[v], column, values, states, weights * ~seen[:, None], counts)
    return log_z


def _flat_index(network, family: list, column: dict, values: np.ndarray, states: np.ndarray) -> np.ndarray:
    """The flat index into a CPT over ``family`` for every row (from ``values``) and joint state
    (from ``states``): (N, S), or broadcastable to it."""
    flat = np.zeros((1, 1), dtype=np.intp)
    for u in family:
        part = states[None, :, column[u]] if u in column else values[:, u, None]
        flat = flat * network.cardinality[u] + part
    return flat


def _missing_counts(network, v: int, cpt: np.ndarray, column: dict, values: np.ndarray,
                    states: np.ndarray, weights: np.ndarray, counts: list) -> None:
    """Expected counts of node ``v`` (no children) from the rows that miss its cell, whose
    posterior ``weights`` (N, S) are 0 elsewhere: each parent configuration's weight times the
    CPT's row for it."""
    parents = list(network.parents[v])
    flat = _flat_index(network, parents, column, values, states)
    configurations = cpt.size // cpt.shape[-1]
    per_parent = np.bincount(np.broadcast_to(flat, weights.shape).ravel(), weights.ravel(), minlength=configurations)
    counts[v] += (per_parent[:, None] * cpt.reshape(configurations, -1)).ravel()
