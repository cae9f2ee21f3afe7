"""Exact inference in a discrete Bayesian network by enumerating each row's unobserved states:
the fast path of emcli.models.bn_inference for networks with a few hidden nodes.

A row's likelihood needs a sum only over the nodes it does not observe and that matter: the
hidden nodes and its missing cells that have children.  A missing cell without children sums
out of the joint (its CPT row sums to 1), so it is left out of the sum and its expected counts
are its parents' posterior times its CPT row.  Rows are grouped by which cells with children
they miss; within a group the unobserved set U is fixed, and each node's CPT index is a part
from the row's observed cells plus a part from the joint state of U.  The compiled kernel
(emcli/csrc/network.c) then sums, per row and state, one log-CPT entry per node, normalises
over the states and adds each state's weight into one entry of every node's counts: about
V x N x S steps for S joint states and no (N, S) array, which is why this path is taken
whenever S is at most MAX_STATES.
"""

import functools
import itertools

import numpy as np

#: the most joint states of a row's unobserved nodes enumerated; beyond, variable elimination
MAX_STATES = 4096
#: the scratch ``posteriors`` may take for a sub-block of rows (its (rows, states) arrays)
POSTERIOR_BYTES = 8 << 20
#: how many (rows, states) arrays of 8-byte numbers ``posteriors`` holds at once: the weights,
#: a copy of some of their rows, an index and the values it gathers
_POSTERIOR_ARRAYS = 4


def states_per_group(network, missing_internal: np.ndarray) -> np.ndarray:
    """(G,) the number of joint states to enumerate for each pattern of missing cells with
    children, rows of the (G, V) boolean ``missing_internal``."""
    hidden = np.array(network.hidden)
    sizes = np.array(network.cardinality, dtype=float)
    return np.prod(np.where(hidden | missing_internal, sizes, 1.0), axis=1)


def has_children(network) -> np.ndarray:
    """(V,) whether each node is a parent."""
    parent = np.zeros(len(network.cardinality), dtype=bool)
    for parents in network.parents:
        parent[list(parents)] = True
    return parent


def missing_patterns(network, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns of missing cells with children among the rows ``codes`` (N, V)
    (level codes of every node, NaN where unobserved): (G, V) booleans, and the (N,) pattern of
    each row.  Each pattern is one integer's bits (a node per bit), which np.unique sorts fast."""
    internal = np.flatnonzero(has_children(network) & ~np.array(network.hidden))
    bits = np.isnan(codes[:, internal]).astype(np.int64) @ (np.int64(1) << np.arange(len(internal), dtype=np.int64))
    keys, group = np.unique(bits, return_inverse=True)
    patterns = np.zeros((len(keys), len(network.cardinality)), dtype=bool)
    patterns[:, internal] = (keys[:, None] >> np.arange(len(internal))) & 1 == 1
    return patterns, group.ravel()


class Block:
    """A block of rows as the enumeration indexes them, whatever the CPTs (so that a fit may
    lay a block out once for all its iterations): the rows' missing-pattern groups
    (``missing_patterns``), which cells are ``absent``, the level ``values`` (0 where absent),
    and per group its unobserved nodes, member rows and CPT index parts (``_indices``)."""

    def __init__(self, network, codes: np.ndarray, groups=None):
        self.keys, self.group = groups if groups is not None else missing_patterns(network, codes)
        self.absent = np.isnan(codes)
        self.values = np.where(self.absent, 0, codes).astype(np.int64)
        hidden = np.array(network.hidden)
        self.parts = []
        for g, pattern in enumerate(self.keys):
            unobserved, members = np.flatnonzero(hidden | pattern), np.flatnonzero(self.group == g)
            self.parts.append((unobserved, members, *_indices(network, unobserved, self.values[members])))

    def __len__(self) -> int:
        return len(self.absent)


class _Tables:
    """The CPTs concatenated: ``flat_cpt``, its logs and each node's ``offset`` in it."""

    def __init__(self, cpts: list):
        self.flat_cpt = np.concatenate([cpt.ravel() for cpt in cpts])
        with np.errstate(divide="ignore"):
            self.log_cpt = np.log(self.flat_cpt)
        self.offset = np.concatenate([[0], np.cumsum([cpt.size for cpt in cpts])[:-1]]).astype(np.int64)

    def split(self, flat: np.ndarray, cpts: list) -> list:
        """A concatenated array like ``flat_cpt`` cut back into the CPTs' shapes."""
        return [flat[o : o + cpt.size].reshape(cpt.shape) for o, cpt in zip(self.offset, cpts)]


def e_step(network, cpts: list, block: Block, multiplicity: np.ndarray):
    """(expected family counts per node, (N,) log Z_n) of the rows of ``block``, each counted
    ``multiplicity`` (N,) times.  Every row's group must have at most MAX_STATES joint states
    (``states_per_group``).  The loops over rows, states and nodes are the compiled kernel's
    (emcli/csrc/network.c); the block holds its indices."""
    from emcli import _kernels

    tables = _Tables(cpts)
    sizes = np.array(network.cardinality, dtype=np.int64)
    counts = np.zeros(len(tables.log_cpt))
    log_z = np.empty(len(block))
    for unobserved, members, rows, states, _ in block.parts:
        seen = ~block.absent[members]
        seen[:, unobserved] = True
        part = np.empty(len(members))
        _kernels.enumerate(rows, seen.astype(np.int64), states, tables.offset, sizes, tables.log_cpt,
                           tables.flat_cpt, np.ascontiguousarray(multiplicity[members], dtype=np.float64),
                           part, counts)
        log_z[members] = part
    return tables.split(counts, cpts), log_z


def _indices(network, unobserved: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each node's CPT index split in two parts that add up: (N, V) from the rows' observed
    cells ``values`` (N, V) (0 where unobserved) and (S, V) from each joint state of the
    ``unobserved`` nodes; and those states, (S, len(unobserved)) levels in the order
    itertools.product enumerates them."""
    strides, state_part, states = _pattern(network, tuple(int(u) for u in unobserved))
    # one product with the observed cells' strides; float64 holds the integer sums exactly
    rows = (values.astype(np.float64) @ strides).astype(np.int64)
    return rows, state_part, states


@functools.lru_cache(maxsize=1024)
def _pattern(network, unobserved: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``_indices`` needs of one set of unobserved nodes, computed once per network and
    set: (V, V) the stride of node u's level in node v's CPT index where u is observed (0
    elsewhere), the (S, V) state part and the (S, U) joint states.  A block of rows has a few
    missing patterns, each met again in every block and iteration."""
    joint = list(itertools.product(*(range(network.cardinality[u]) for u in unobserved)))
    # a complete row of a network without hidden nodes has one joint state: the empty one
    states = np.array(joint, dtype=np.int64).reshape(len(joint), len(unobserved))
    column = {u: i for i, u in enumerate(unobserved)}
    n_nodes = len(network.cardinality)
    strides = np.zeros((n_nodes, n_nodes))
    state_part = np.zeros((len(states), n_nodes), dtype=np.int64)
    for v in range(n_nodes):
        stride = 1
        for u in reversed(network.family(v)):
            if u in column:
                state_part[:, v] += states[:, column[u]] * stride
            else:
                strides[u, v] = stride
            stride *= network.cardinality[u]
    for array in (strides, state_part, states):
        array.flags.writeable = False  # shared by every call: never changed in place
    return strides, state_part, states


def posteriors(network, cpts: list, block: Block) -> tuple[np.ndarray, list]:
    """(N,) log Z_n and, per node, the (N, L_v) distribution of its state given each row's
    observed cells, for the rows of ``block``: the hidden nodes' posteriors, a missing cell's,
    and an observed cell's level as certain.  For predict and impute, in NumPy: unlike the
    kernel it keeps each row's posterior over the joint states, so a group's rows go in
    sub-blocks whose (rows, states) arrays stay within POSTERIOR_BYTES, and the rest is a few
    numbers per node and row."""
    tables = _Tables(cpts)
    n_nodes = len(network.cardinality)
    log_z = np.empty(len(block))
    marginals = [np.zeros((len(block), size)) for size in network.cardinality]
    for v, marginal in enumerate(marginals):
        seen = np.flatnonzero(~block.absent[:, v])
        marginal[seen, block.values[seen, v]] = 1.0
    for unobserved, members, rows, state_part, states in block.parts:
        enumerated = np.isin(np.arange(n_nodes), unobserved)
        step = max(1, POSTERIOR_BYTES // (len(states) * 8 * _POSTERIOR_ARRAYS))
        for start in range(0, len(members), step):
            sub, sub_rows = members[start : start + step], rows[start : start + step]
            weights, log_z[sub] = _state_posterior(tables, block.absent[sub], sub_rows, state_part, enumerated)
            for i, u in enumerate(unobserved):
                marginals[u][sub] = weights @ np.eye(network.cardinality[u])[states[:, i]]
            for v in np.flatnonzero(~enumerated):
                missing = np.flatnonzero(block.absent[sub, v])
                if missing.size:
                    marginals[v][sub[missing]] = _childless_marginal(
                        tables, v, network.cardinality[v], weights[missing], sub_rows[missing], state_part)
    return log_z, marginals


def _state_posterior(tables: _Tables, absent: np.ndarray, rows: np.ndarray, state_part: np.ndarray,
                     enumerated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((n, S) posterior of each joint state, (n,) log Z) of n rows of one group, whose missing
    cells are ``absent`` (n, V) and CPT index parts ``rows`` (n, V) and ``state_part`` (S, V);
    ``enumerated`` (V,) marks the group's unobserved nodes.  The log joint is summed node by
    node, so the scratch is three (n, S) arrays whatever V."""
    log_joint = np.zeros((len(rows), len(state_part)))
    for v in range(len(enumerated)):
        uncounted = absent[:, v] & ~enumerated[v]  # a missing cell without children: factor 1
        if uncounted.all():
            continue
        terms = tables.log_cpt[tables.offset[v] + rows[:, v, None] + state_part[:, v]]
        terms[uncounted] = 0.0
        log_joint += terms
    top = log_joint.max(axis=1, keepdims=True)
    weights = np.exp(np.subtract(log_joint, top, out=log_joint), out=log_joint)
    total = weights.sum(axis=1, keepdims=True)
    weights /= total
    return weights, (top + np.log(total)).ravel()


def _childless_marginal(tables: _Tables, v: int, size: int, weights: np.ndarray, rows: np.ndarray,
                        state_part: np.ndarray) -> np.ndarray:
    """(m, L_v) distribution of node ``v``'s missing cells that have no children, in m rows of
    ``weights`` (m, S) over the joint states: its parents' posterior times its CPT row, found
    with its own level taken as 0 (``rows`` (m, V) and ``state_part`` (S, V) index parts)."""
    out = np.empty((len(weights), size))
    index = tables.offset[v] + rows[:, v, None] + state_part[:, v]
    for level in range(size):
        out[:, level] = np.einsum("ns,ns->n", weights, tables.flat_cpt[index])
        index += 1  # the next level's entry, in place: one (m, S) index array for all levels
    return out
