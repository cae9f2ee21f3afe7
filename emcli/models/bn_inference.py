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
once and at about twice the cost of Z; no per-row posterior is stored.  Rows with any pattern
of missing cells go through the same contraction, with no grouping by pattern.  Each node's
posterior given a row (predict, impute) is the derivative with respect to its evidence, with an
all-ones evidence leaf for each hidden node:

    p(x_v = l | observed cells of row n) = lambda_nv[l] dZ_n / dlambda_nv[l] / Z_n.

The backward pass keeps every intermediate that carries the row, so a block's memory is its
rows times the sum of those intermediates' states (``workspace_bytes_per_row``).

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
#: rows of the stand-in evidence a contraction is planned on
_PLAN_ROWS = 256


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
        """einsum's interleaved operands: every CPT, then each node's evidence that is not None."""
        return [item for leaf in self._leaves(cpts, evidence) for item in leaf]

    def _path(self, every_node: bool) -> tuple[list, list]:
        """(each operand's labels, the pairwise contractions of Z_n: numpy.einsum_path's greedy
        order, in its positions) with evidence for every node if ``every_node`` (posteriors),
        else for the observed ones; planned on stand-ins of _PLAN_ROWS rows whatever the block,
        and its cliques not checked.  The greedy search's memory limit is the clique bound: by
        default it is the largest operand, and past it the search gives up and contracts all
        that is left in one step, a loop over every remaining state per row."""
        cpts = [np.ones(self.cpt_shape(v)) for v in range(len(self.cardinality))]
        evidence = [None if hidden and not every_node else np.ones((_PLAN_ROWS, size))
                    for hidden, size in zip(self.hidden, self.cardinality)]
        operands = self._operands(cpts, evidence)
        path, _ = np.einsum_path(*operands, [self.row], optimize=("greedy", _PLAN_ROWS * MAX_CLIQUE_STATES))
        return operands[1::2], path[1:]

    @cached_property
    def _likelihood_path(self) -> tuple[list, list]:
        return self._path(every_node=False)

    @cached_property
    def _posterior_path(self) -> tuple[list, list]:
        return self._path(every_node=True)

    def _steps(self, labels: list, path: list):
        """Per step of ``path`` over operands labelled ``labels``: (the labels it spans, the
        labels its output keeps), by replaying the contractions over index sets."""
        sets = [set(own) for own in labels]
        for step in path:
            merged = set().union(*(sets[i] for i in step))
            rest = [s for i, s in enumerate(sets) if i not in step]
            kept = merged & {self.row}.union(*rest)
            yield merged, kept
            sets = rest + [kept]

    def _states(self, labels: set) -> int:
        """The states per row of an array labelled ``labels``."""
        return int(np.prod([self.cardinality[u] for u in labels if u != self.row], dtype=float))

    def _check_cliques(self, labels: list, path: list) -> list:
        """``path``, after a UsageError naming its largest clique when that clique's states per row
        exceed MAX_CLIQUE_STATES."""
        for merged, _ in self._steps(labels, path):
            states = self._states(merged)
            if states > MAX_CLIQUE_STATES:
                names = ", ".join(self.names[u] for u in sorted(merged - {self.row}))
                raise UsageError(f"exact inference in this network needs a clique of {states:,} states "
                                 f"({names}), more than {MAX_CLIQUE_STATES:,}; use fewer states or edges")
        return path

    def _contraction_bytes(self, labels: list, path: list) -> int:
        """Bytes per row the contraction ``path`` and its derivative hold: every operand that
        carries the row (the evidence and those intermediates) is kept for the backward pass,
        and about as much again is its derivative.  0 when its cliques are refused
        (``_check_cliques``), as that happens before anything is spent."""
        steps = list(self._steps(labels, path))
        if max(self._states(merged) for merged, _ in steps) > MAX_CLIQUE_STATES:
            return 0
        rowed = [set(own) for own in labels] + [kept for _, kept in steps]
        return 2 * 8 * sum(self._states(own) for own in rowed if self.row in own)

    @cached_property
    def likelihood_plan(self) -> list:
        """The pairwise contractions of Z_n (numpy.einsum_path's positions), cliques checked."""
        return self._check_cliques(*self._likelihood_path)

    @cached_property
    def posterior_plan(self) -> list:
        """``likelihood_plan`` with evidence for the hidden nodes too (all ones), whose
        derivatives are their posteriors."""
        return self._check_cliques(*self._posterior_path)

    @cached_property
    def likelihood_contraction_bytes(self) -> int:
        """Bytes per row of ``contracted_e_step``."""
        return self._contraction_bytes(*self._likelihood_path)

    @cached_property
    def posterior_contraction_bytes(self) -> int:
        """Bytes per row of ``contracted_posteriors``."""
        return self._contraction_bytes(*self._posterior_path)

    def _may_contract(self) -> bool:
        """Whether some rows (those missing every cell with children) would have more than
        bn_enumeration.MAX_STATES joint states to enumerate, so that a block may go through the
        contraction."""
        from emcli.models import bn_enumeration

        worst = bn_enumeration.has_children(self)[None, :]
        return bool(bn_enumeration.states_per_group(self, worst)[0] > bn_enumeration.MAX_STATES)

    def _enumeration_bytes(self) -> int:
        """Bytes per row of enumeration: per node the row's code, level, CPT index part and
        whether seen, with temporaries (bn_enumeration's layout; the kernel's scratch is per
        joint state, not per row), and the row's pattern, group, weight and log Z."""
        return 8 * (5 * len(self.cardinality) + 6)

    def workspace_bytes_per_row(self) -> int:
        """Scratch bytes per row of ``e_step``: enumeration's, and the contraction's too when a
        pattern of missing cells may send a block through it (and its cliques are within the
        bound: it is refused only when a block needs it, as blocks that enumerate may do)."""
        contraction = self.likelihood_contraction_bytes if self._may_contract() else 0
        return self._enumeration_bytes() + contraction

    def posterior_bytes_per_row(self) -> int:
        """Bytes per row of ``posteriors``: its (N, L_v) marginals and log Z, enumeration's
        scratch (bn_enumeration.posteriors keeps its (rows, states) arrays within a fixed
        budget), and the contraction's when a block may go through it."""
        outputs = 8 * (sum(self.cardinality) + 1)
        contraction = self.posterior_contraction_bytes if self._may_contract() else 0
        return outputs + self._enumeration_bytes() + contraction

    def _enumerable(self, full: np.ndarray):
        """The ``bn_enumeration.missing_patterns`` of the rows ``full`` (N, V) when every row has
        at most bn_enumeration.MAX_STATES joint states to enumerate, else None."""
        from emcli.models import bn_enumeration

        groups = bn_enumeration.missing_patterns(self, full)
        few = np.all(bn_enumeration.states_per_group(self, groups[0]) <= bn_enumeration.MAX_STATES)
        return groups if few else None

    def prepare(self, codes: np.ndarray):
        """The rows ``codes`` (N, observed nodes: level codes in node order, NaN for a missing
        cell) laid out for inference, whatever the CPTs: a bn_enumeration.Block when every
        row's unobserved states are few enough to enumerate, else their evidence for the
        contraction (``evidence_of``).  A fit prepares each block once for every iteration."""
        from emcli.models import bn_enumeration

        full = self._node_codes(codes)
        groups = self._enumerable(full)
        return bn_enumeration.Block(self, full, groups) if groups is not None else evidence_of(codes, self)

    def e_step(self, cpts: list, rows, multiplicity: np.ndarray | None = None):
        """(expected family counts per node, (N,) log Z_n) of the ``rows`` (codes as ``prepare``
        takes them, or what it made of them), each counted ``multiplicity`` times (1 by default
        for codes; given with prepared rows): by enumeration of each row's unobserved states
        (emcli.models.bn_enumeration) when they are few, else by the contraction below."""
        from emcli.models import bn_enumeration

        if isinstance(rows, np.ndarray):
            multiplicity = np.ones(len(rows)) if multiplicity is None else multiplicity
            rows = self.prepare(rows)
        if isinstance(rows, bn_enumeration.Block):
            return bn_enumeration.e_step(self, cpts, rows, multiplicity)
        return self.contracted_e_step(cpts, rows, multiplicity)

    def posteriors(self, cpts: list, rows) -> tuple[np.ndarray, list]:
        """((N,) log Z_n, per node the (N, L_v) distribution of its state given row n's observed
        cells) of the ``rows`` as ``e_step`` takes them; an observed cell's level is certain.
        By enumeration when every row's unobserved states are few, else by the contraction
        (``contracted_posteriors``)."""
        from emcli.models import bn_enumeration

        prepared = self.prepare(rows) if isinstance(rows, np.ndarray) else rows
        if isinstance(prepared, bn_enumeration.Block):
            return bn_enumeration.posteriors(self, cpts, prepared)
        return self.contracted_posteriors(cpts, prepared)

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
        z, values, tape = self._forward(self._leaves(cpts, evidence), self.likelihood_plan)
        with np.errstate(divide="ignore"):
            log_z = np.log(z)
        seed = multiplicity / np.where(z > 0, z, 1.0)
        grads = self._backward(values, tape, np.broadcast_to(seed, z.shape).copy(), range(len(cpts)))
        return [cpt * grad for cpt, grad in zip(cpts, grads)], log_z

    def contracted_posteriors(self, cpts: list, evidence: list) -> tuple[np.ndarray, list]:
        """``posteriors`` by the contraction, from the evidence (``evidence_of``).

        Every node gets an evidence leaf, a hidden node's all ones; Z_n is linear in each, so
        p(x_v = l | observed cells of row n) = lambda_nv[l] dZ_n/dlambda_nv[l] / Z_n, and the
        backward pass seeded with 1 / Z_n gives every node's at once (per row: the leaves carry
        the row).  A row of probability 0 gets zeros."""
        n = len(next(lam for lam in evidence if lam is not None))
        every = [np.ones((n, size)) if lam is None else lam for lam, size in zip(evidence, self.cardinality)]
        z, values, tape = self._forward(self._leaves(cpts, every), self.posterior_plan)
        with np.errstate(divide="ignore"):
            log_z = np.log(z)
        grads = self._backward(values, tape, 1.0 / np.where(z > 0, z, 1.0), range(len(cpts), 2 * len(cpts)))
        return log_z, [lam * grad for lam, grad in zip(every, grads)]

    def _leaves(self, cpts: list, evidence: list) -> list:
        """(array, labels) of every CPT (ids 0..V-1) then of each node's evidence that is not None
        (with evidence for every node, node v's is id V + v)."""
        leaves = [(cpt, self.family(v)) for v, cpt in enumerate(cpts)]
        return leaves + [(lam, [self.row, v]) for v, lam in enumerate(evidence) if lam is not None]

    def _forward(self, leaves: list, plan: list):
        """(N,) Z_n by the contractions ``plan`` (``likelihood_plan`` or ``posterior_plan``, for
        these ``leaves``), every operand (id -> (array, labels): the leaves, then each step's
        output, numbered as created) and the tape: per step, its inputs' ids and its output's
        labels."""
        live = list(range(len(leaves)))  # operand ids in numpy.einsum_path's positions
        values = dict(enumerate(leaves))
        tape = []
        for step in plan:
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

    def _backward(self, values: dict, tape: list, seed: np.ndarray, wanted) -> list:
        """d(seed . Z) / d(each leaf whose id is in ``wanted``), in the leaves' shapes (0.0 for a
        leaf Z does not depend on), from ``_forward``'s operands and tape; derivatives that lead
        to no wanted leaf are not computed."""
        wanted = list(wanted)
        n_leaves = len(values) - len(tape)
        needed = set(wanted)  # the wanted leaves and every step output made from one
        for step_index, (inputs, _) in enumerate(tape):
            if needed.intersection(inputs):
                needed.add(n_leaves + step_index)
        grads = {len(values) - 1: seed}
        for step_index in range(len(tape) - 1, -1, -1):
            inputs, labels = tape[step_index]
            output = n_leaves + step_index
            upstream = grads.pop(output, None)
            if upstream is None:
                continue
            for position, o in enumerate(inputs):
                if o not in needed:
                    continue
                array, own = values[o]
                others = [item for k, p in enumerate(inputs) if k != position for item in values[p]]
                present = set(labels).union(*(values[p][1] for k, p in enumerate(inputs) if k != position))
                kept = [label for label in own if label in present]
                grad = np.einsum(upstream, labels, *others, kept)
                if len(kept) < len(own):  # labels only this input had: summed with weight 1
                    grad = np.broadcast_to(np.expand_dims(grad, [own.index(l) for l in own if l not in kept]),
                                           array.shape)
                grads[o] = grads[o] + grad if o in grads else grad
        return [grads.get(o, 0.0) for o in wanted]


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
