"""The structure of a discrete Bayesian network with hidden nodes (``-m bn``): which nodes
there are, which of them are hidden, and each node's parents, checked against the data's
columns; and the structure written back (``describe``, ``to_dot``).  The text of
``--structure`` and ``--hidden`` is read by emcli.models.bn_parse.

The order of ``Structure.nodes`` is topological and deterministic: Kahn's algorithm, taking
among the nodes whose parents are all placed the one that comes first in the priority order:
the hidden nodes in ``--hidden`` order, then the columns in table order.
"""

import dataclasses
import difflib
import heapq
import operator
from functools import cached_property
from typing import Iterable, NoReturn

from emcli.models.bn_parse import argument, dot_id, fail, quote, shown


@dataclasses.dataclass(frozen=True)
class Structure:
    """A network: ``nodes`` (V,) names in topological order (see the module's docstring for the
    rule), ``parents`` (V,) tuples of indices into ``nodes`` in the order first written,
    ``hidden`` (V,) bools, ``cardinality`` (V,) states per node (None where not yet known: an
    observed node's levels come from the data, see with_cardinalities), and ``columns``: every
    column of the table, in table order, including those the network leaves out."""

    nodes: tuple
    parents: tuple
    hidden: tuple
    cardinality: tuple
    columns: tuple

    @cached_property
    def _index(self) -> dict:
        return {name: i for i, name in enumerate(self.nodes)}

    @cached_property
    def _children(self) -> tuple:
        children = [[] for _ in self.nodes]
        for child, parents in enumerate(self.parents):
            for parent in parents:
                children[parent].append(child)
        return tuple(map(tuple, children))

    def index(self, name: str) -> int:
        """The position of node ``name`` in ``nodes`` (KeyError if not a node)."""
        return self._index[name]

    def children(self, i: int) -> tuple:
        """The indices of node ``i``'s children, in node order."""
        return self._children[i]

    def families(self) -> tuple:
        """(node, parents) index pairs, one per node in node order: the CPTs to fit."""
        return tuple(zip(range(len(self.nodes)), self.parents))

    @property
    def edges(self) -> tuple:
        """(parent, child) name pairs, by child in node order, each child's parents in order."""
        return tuple((self.nodes[p], self.nodes[c]) for c, parents in enumerate(self.parents) for p in parents)

    @property
    def observed(self) -> tuple:
        """The observed nodes' names, in table order."""
        names = {name for name, hidden in zip(self.nodes, self.hidden) if not hidden}
        return tuple(column for column in self.columns if column in names)

    @property
    def hidden_nodes(self) -> tuple:
        """The hidden nodes' names, in node order."""
        return tuple(name for name, hidden in zip(self.nodes, self.hidden) if hidden)

    @property
    def unused(self) -> tuple:
        """The table's columns the network leaves out, in table order."""
        return tuple(column for column in self.columns if column not in self._index)

    @property
    def isolated(self) -> tuple:
        """The nodes with no edge (observed ones named alone), in node order."""
        return tuple(name for i, name in enumerate(self.nodes) if not self.parents[i] and not self._children[i])

    def with_cardinalities(self, levels: dict) -> "Structure":
        """This structure with the number of states of every node ``levels`` names (an observed
        node's levels, or a hidden node's chosen size; names that are not nodes are ignored).
        Every observed node must then have one; a hidden node may still lack its (None).
        Numbers below 1 or missing ones are the caller's error (ValueError)."""
        cardinality = []
        for name, hidden, known in zip(self.nodes, self.hidden, self.cardinality):
            states = operator.index(levels[name]) if name in levels else known
            if (states is None and not hidden) or (states is not None and states < 1):
                raise ValueError(f"node {name!r}: {states} states")
            cardinality.append(states)
        return dataclasses.replace(self, cardinality=tuple(cardinality))


def build(edges: Iterable, columns: list[str], hidden: dict[str, int | None], mentioned: Iterable = ()) -> Structure:
    """The Structure of ``edges`` (parent, child) over the table's ``columns`` and the
    ``hidden`` nodes (from parse_hidden), ``mentioned`` naming nodes that may have no edge.  A
    repeated edge counts once; the columns no edge or mention names are left out (see
    Structure.unused).  Refuses, in this order: a hidden node named as a column, no edge, an
    unknown name, a self-loop, a hidden node with no edge, a cycle, a hidden node with no
    observed descendant."""
    columns = tuple(columns)
    for name in hidden:
        if name in columns:
            fail(f"--hidden {argument(name)}: {shown(name)} is a column of the data; give the hidden node another name")
    edges = list(dict.fromkeys(edges))
    if not edges:
        fail("--structure has no edge (write edges as 'A -> B')")
    mentioned = list(dict.fromkeys(mentioned))
    _check_names(edges, mentioned, columns, hidden)
    named = {name for edge in edges for name in edge}
    for name in hidden:
        if name not in named:
            fail(f"--hidden {argument(name)}: {shown(name)} is in no edge of --structure")
    named.update(mentioned)
    # the priority order: hidden nodes in --hidden order, then the columns in table order
    ranked = [*hidden, *(column for column in dict.fromkeys(columns) if column in named)]
    rank = {name: r for r, name in enumerate(ranked)}
    parents, children = [[] for _ in ranked], [[] for _ in ranked]
    for parent, child in edges:
        parents[rank[child]].append(rank[parent])
        children[rank[parent]].append(rank[child])
    order = _topological_order(parents, children, ranked)
    position = {r: i for i, r in enumerate(order)}
    structure = Structure(
        nodes=tuple(ranked[r] for r in order),
        parents=tuple(tuple(position[p] for p in parents[r]) for r in order),
        hidden=tuple(ranked[r] in hidden for r in order),
        cardinality=tuple(hidden.get(ranked[r]) for r in order),
        columns=columns)
    _check_identifiable(structure, hidden)
    return structure


def _check_names(edges: list, mentioned: list, columns: tuple, hidden: dict) -> None:
    """Refuse a name that is neither a column nor a hidden node, and a self-loop."""
    known = set(columns) | set(hidden)
    for parent, child in edges:
        for name in (parent, child):
            if name not in known:
                _unknown(name, f" in {shown(f'{parent} -> {child}')}", columns, hidden)
        if parent == child:
            fail(f"--structure: {shown(f'{parent} -> {child}')} is a self-loop; a node cannot be its own parent")
    for name in mentioned:
        if name not in known:
            _unknown(name, "", columns, hidden)


def _unknown(name: str, context: str, columns: tuple, hidden: dict) -> NoReturn:
    close = difflib.get_close_matches(name, [*columns, *hidden], n=1)
    suggestion = f" (did you mean {shown(close[0])}?)" if close else ""
    fail(f"--structure: {shown(name)}{context} is neither a column of the data nor a --hidden node{suggestion}")


def _topological_order(parents: list, children: list, ranked: list) -> list:
    """The nodes (ranks) in Kahn's order, the lowest rank first among those ready; a cycle is
    refused, naming one."""
    waiting = [len(p) for p in parents]
    ready = [r for r, count in enumerate(waiting) if count == 0]  # ascending: already a heap
    order = []
    while ready:
        r = heapq.heappop(ready)
        order.append(r)
        for child in children[r]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) < len(ranked):
        cycle = _find_cycle(parents, waiting)
        fail("--structure has a cycle: " + " -> ".join(quote(ranked[r]) for r in [*cycle, cycle[0]]))
    return order


def _find_cycle(parents: list, waiting: list) -> list:
    """One cycle among the nodes Kahn's algorithm could not place (``waiting`` > 0, each with a
    parent among them), as ranks in edge order starting at its lowest rank: walk from the lowest
    unplaced node to its first unplaced parent until a node repeats."""
    r = min(r for r, count in enumerate(waiting) if count)
    seen, walk = {}, []
    while r not in seen:
        seen[r] = len(walk)
        walk.append(r)
        r = next(p for p in parents[r] if waiting[p])
    cycle = walk[seen[r]:][::-1]  # the walk went from child to parent
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def _check_identifiable(structure: Structure, hidden: dict) -> None:
    """Refuse a hidden node with no observed descendant: nothing in the data depends on it, so
    its distribution cannot be estimated."""
    below = [False] * len(structure.nodes)  # whether an observed node lies below each node
    for i in reversed(range(len(structure.nodes))):
        below[i] = any(not structure.hidden[c] or below[c] for c in structure.children(i))
    for name in hidden:
        if not below[structure.index(name)]:
            fail(f"--structure: hidden node {shown(name)} has no observed descendant, so the data cannot identify it")


def describe(structure: Structure) -> str:
    """The structure as an inline edge list (each child's parent edges in node order, then the
    nodes with no edge), which parse_edges and build read back to the same Structure."""
    return ", ".join([*(f"{quote(p)} -> {quote(c)}" for p, c in structure.edges),
                      *map(quote, structure.isolated)])


def to_dot(structure: Structure) -> str:
    """The structure as a Graphviz digraph (hidden nodes dashed), which parse_edges and build
    read back to the same Structure."""
    lines = ["digraph {"]
    lines += [f"  {dot_id(name)} [style=dashed];" for name in structure.hidden_nodes]
    lines += [f"  {dot_id(p)} -> {dot_id(c)};" for p, c in structure.edges]
    lines += [f"  {dot_id(name)};" for name in structure.isolated]
    return "\n".join(lines + ["}"]) + "\n"
