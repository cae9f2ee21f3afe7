"""Exact inference in a discrete Bayesian network, for a block of rows at once.

Each row's unobserved variables are the hidden nodes and its missing cells.  Writing an
observed node's evidence as an indicator vector lambda_v (one-hot at the row's level, all ones
for a missing cell), the probability of a row's observed cells is one sum over every node's
states,

    Z_n = sum_x prod_v theta_v[x_pa(v), x_v] lambda_nv[x_v],

a tensor contraction of the conditional probability tables (CPTs) and the evidence, with the
row as a free index.  ``numpy.einsum`` contracts it pairwise in an order chosen once per network
(``numpy.einsum_path``, greedy): that order is variable elimination, and its largest
intermediate is the elimination's largest clique, which bounds memory and is checked before
any is spent.  A node's expected family counts

    N_v[x_pa, x_v] = sum_n w_n p(x_pa(v), x_v | observed cells of row n)
                   = theta_v[x_pa, x_v] d(sum_n w_n log Z_n) / d theta_v[x_pa, x_v],

come from the contraction's derivative, taken backwards through its steps, for every node at
once and at about twice the cost of Z; no per-row posterior is stored.  Rows with any pattern of missing cells go through the
same contraction, with no grouping by pattern.

Shapes: a node's CPT is (L_pa1, ..., L_pam, L_v), normalised over its last axis; evidence is a
list with an (N, L_v) array per observed node and None per hidden node.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from emcli.errors import UsageError

#: numpy.einsum labels indices with at most 52 symbols; one is the row's
MAX_NODES = 51
#: the most numbers the largest intermediate of a contraction may hold per row
MAX_CLIQUE_STATES = 1 << 20


@dataclass(frozen=True)
class Network:
    """The shape of a network: ``cardinality`` (V,) states per node, ``parents`` (V,) tuples
    of parent indices, ``hidden`` (V,) whether each node is never observed; ``names`` (V,) for
    messages."""

    cardinality: tuple
    parents: tuple
    hidden: tuple
    names: tuple

    def __post_init__(self):
        if len(self.cardinality) > MAX_NODES:
            raise UsageError(f"a network of {len(self.cardinality)} nodes; at most {MAX_NODES}")

    @property
    def row(self) -> int:
        """The einsum label of the row index (each node's label is its index)."""
        return len(self.cardinality)

    def family(self, v: int) -> list:
        """The einsum labels of node ``v``'s CPT: its parents, then itself."""
        return [*self.parents[v], v]

    def cpt_shape(self, v: int) -> tuple:
        return tuple(self.cardinality[u] for u in self.family(v))

    def _operands(self, cpts: list, evidence: list) -> list:
        """einsum's interleaved operands: every CPT, then every observed node's evidence."""
        return [item for leaf in self._leaves(cpts, evidence) for item in leaf]

    @cached_property
    def _sample(self) -> tuple:
        """Stand-in CPTs and evidence of 256 rows, to plan contractions whatever the block."""
        cpts = [np.ones(self.cpt_shape(v)) for v in range(len(self.cardinality))]
        evidence = [None if hidden else np.ones((256, size)) for hidden, size in zip(self.hidden, self.cardinality)]
        return cpts, evidence

    def _plan(self, output: list) -> list:
        """The contraction order for ``output`` labels (numpy.einsum_path, greedy), after checking
        that its largest clique is within MAX_CLIQUE_STATES per row."""
        cpts, evidence = self._sample
        operands = self._operands(cpts, evidence)
        path, _ = np.einsum_path(*operands, output, optimize="greedy")
        self._check_cliques(operands, output, path)
        return path

    def _check_cliques(self, operands: list, output: list, path: list) -> None:
        """UsageError naming the largest clique of the contraction ``path`` when its states per
        row exceed MAX_CLIQUE_STATES: replays the pairwise contractions over index sets."""
        sets = [set(labels) for labels in operands[1::2]]
        for step in path[1:]:
            merged = set().union(*(sets[i] for i in step))
            states = int(np.prod([self.cardinality[u] for u in merged if u != self.row], dtype=float))
            if states > MAX_CLIQUE_STATES:
                names = ", ".join(self.names[u] for u in sorted(merged - {self.row}))
                raise UsageError(f"exact inference in this network needs a clique of {states:,} states "
                                 f"({names}), more than {MAX_CLIQUE_STATES:,}; use fewer states or edges")
            rest = [s for i, s in enumerate(sets) if i not in step]
            needed = set(output).union(*rest)
            sets = rest + [merged & needed]

    @cached_property
    def likelihood_plan(self) -> list:
        """The pairwise contractions of Z_n (numpy.einsum_path's positions)."""
        return self._plan([self.row])[1:]

    def e_step(self, cpts: list, codes: np.ndarray, multiplicity: np.ndarray | None = None):
        """(expected family counts per node, (N,) log Z_n) of the rows ``codes`` (N, observed
        nodes: level codes in node order, NaN for a missing cell), each counted
        ``multiplicity`` times (1 by default).  By enumeration of each row's unobserved states
        (emcli.models.bn_enumeration) when they are few, else by the contraction below."""
        from emcli.models import bn_enumeration

        multiplicity = np.ones(len(codes)) if multiplicity is None else multiplicity
        full = self._node_codes(codes)
        groups = bn_enumeration.missing_patterns(self, full)
        if bn_enumeration.states_per_group(self, groups[0]).max() <= bn_enumeration.MAX_STATES:
            return bn_enumeration.e_step(self, cpts, full, multiplicity, groups)
        return self.contracted_e_step(cpts, evidence_of(codes, self), multiplicity)

    def _node_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, V) codes of every node: the observed ones' from ``codes``, NaN for hidden nodes."""
        full = np.full((len(codes), len(self.cardinality)), np.nan)
        full[:, [v for v, hidden in enumerate(self.hidden) if not hidden]] = codes
        return full

    def contracted_e_step(self, cpts: list, evidence: list, multiplicity: np.ndarray):
        """``e_step`` by the contraction, from the evidence (``evidence_of``).

        The counts are N_v = theta_v * d(sum_n w_n log Z_n) / d theta_v with w the
        multiplicities: the derivative of the contraction, taken backwards through its steps
        (each step's inputs get the contraction of its output's derivative with its other
        inputs), costs about twice the forward pass and gives every family at once."""
        z, values, tape = self._forward(self._leaves(cpts, evidence))
        with np.errstate(divide="ignore"):
            log_z = np.log(z)
        seed = multiplicity / np.where(z > 0, z, 1.0)
        grads = self._backward(values, tape, np.broadcast_to(seed, z.shape).copy())
        return [cpt * grads[v] for v, cpt in enumerate(cpts)], log_z

    def _leaves(self, cpts: list, evidence: list) -> list:
        """(array, labels) of every CPT (positions 0..V-1, as the counts need) then every
        observed node's evidence."""
        leaves = [(cpt, self.family(v)) for v, cpt in enumerate(cpts)]
        return leaves + [(lam, [self.row, v]) for v, lam in enumerate(evidence) if lam is not None]

    def _forward(self, leaves: list):
        """(N,) Z_n, every operand (id -> (array, labels): the leaves, then each step's output,
        numbered as created) and the tape: per step, its inputs' ids and its output's labels."""
        live = list(range(len(leaves)))  # operand ids in numpy.einsum_path's positions
        values = dict(enumerate(leaves))
        tape = []
        for step in self.likelihood_plan:
            inputs = [live[i] for i in step]
            live = [operand for i, operand in enumerate(live) if i not in step]
            needed = {self.row}.union(*(values[o][1] for o in live))
            labels = sorted(set().union(*(values[o][1] for o in inputs)) & needed)
            operands = [item for o in inputs for item in values[o]]
            result = np.einsum(*operands, labels)
            tape.append((inputs, labels))
            values[len(values)] = (result, labels)
            live.append(len(values) - 1)
        z, labels = values[live[0]]
        return z if labels == [self.row] else np.einsum(z, labels, [self.row]), values, tape

    def _backward(self, values: dict, tape: list, seed: np.ndarray) -> list:
        """d(seed . Z) / d(each CPT), in the CPTs' shapes, from ``_forward``'s operands and tape."""
        n_leaves = len(values) - len(tape)
        grads = {len(values) - 1: seed}
        for step_index in range(len(tape) - 1, -1, -1):
            inputs, labels = tape[step_index]
            output = n_leaves + step_index
            upstream = grads.pop(output, None)
            if upstream is None:
                continue
            for position, o in enumerate(inputs):
                array, own = values[o]
                others = [item for k, p in enumerate(inputs) if k != position for item in values[p]]
                present = set(labels).union(*(values[p][1] for k, p in enumerate(inputs) if k != position))
                kept = [label for label in own if label in present]
                grad = np.einsum(upstream, labels, *others, kept)
                if len(kept) < len(own):  # labels only this input had: summed with weight 1
                    grad = np.broadcast_to(np.expand_dims(grad, [own.index(l) for l in own if l not in kept]),
                                           array.shape)
                grads[o] = grads[o] + grad if o in grads else grad
        return [grads.get(v, 0.0) for v in range(len(self.cardinality))]


def evidence_of(codes: np.ndarray, network: Network) -> list:
    """The evidence of rows ``codes`` (N, number of observed nodes): level codes 0..L-1 of the
    observed nodes in node order, NaN for a missing cell; a list with (N, L_v) indicators per
    observed node (ones where the cell is missing) and None per hidden node."""
    out, column = [], 0
    for hidden, size in zip(network.hidden, network.cardinality):
        if hidden:
            out.append(None)
            continue
        values = codes[:, column]
        column += 1
        missing = np.isnan(values)
        lam = np.zeros((len(values), size))
        lam[missing] = 1.0
        observed = np.flatnonzero(~missing)
        lam[observed, values[observed].astype(np.intp)] = 1.0
        out.append(lam)
    return out
