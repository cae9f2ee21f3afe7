"""Discrete Bayesian networks in the Bayesian Interchange Format (BIF): the text format of the
bnlearn repository (asia.bif, alarm.bif, ...), of pgmpy's BIFReader and BIFWriter, and of
JavaBayes (Cozman's Interchange Format 0.15).

A network is a list of variables, each a dict ``{"name": str, "states": list[str], "parents":
list[str], "cpt": ndarray}``; ``cpt`` has shape (L_parent1, ..., L_parentm, L_node) and each row
(last axis) sums to 1, as emcli.models.bn keeps its tables.

What ``read_bif`` reads:

- ``network NAME { property ...; }``, optional, at most once;
- ``variable NAME { type discrete [ N ] { s1, s2, ... }; property ...; }``;
- ``probability ( NODE | P1, P2 ) { ... }`` (JavaBayes leaves out the '|': ``( NODE P1 P2 )``),
  after the variable blocks of the names it uses, holding ``(a, b) p1, p2;`` rows, one per
  parent configuration; ``default p1, p2;`` for every configuration no row lists; ``table ...;``
  the whole CPT; and ``property ...;`` lines.  A ``table`` lists the node's own state as the
  slowest index, the parents after it with the last fastest: ``light-on | family-out`` writes
  P(on | out), P(on | in), P(off | out), P(off | in).  This is JavaBayes' order (its
  dog-problem.bif) and pgmpy's (BIFReader reshapes a table to (L_node, configurations), and its
  tests read ``(true) 0.6 0.4; (false) 0.05 0.95;`` and ``table 0.6 0.05 0.4 0.95;`` alike);
- ``//`` and ``/* */`` comments.  Commas separate as spaces do (the format's rule).

Keywords are read in any case.  An unquoted name or state is a run of any characters but spaces
and ``{}()[];,|"`` (bnlearn's child.bif has states ``0-3_days`` and ``<5``); a double-quoted one
may hold anything, with JSON's backslash escapes.  Probabilities are decimal numbers, at least 0;
each row must sum to 1 within ROW_TOLERANCE, and a row further from 1 than rounding is divided by
its sum.

Every problem is a one-line UsageError naming the source and, where there is one, the line.
Input is bounded (MAX_BYTES of text, MAX_NUMBERS probabilities, checked before a table is
allocated) and read by loops, never by recursion.
"""

import json
import math
import re
from itertools import product
from typing import Iterator, NamedTuple, NoReturn

import numpy as np

from emcli.models.bn_parse import fail, read_text_file, shown

#: the largest text read (2 MiB): a few hundred nodes of three-parent tables, more than EM fits;
#: the bound keeps a wrong file (a data table, a log) from being parsed at length
MAX_BYTES = 2 << 20
#: the most probabilities a network may hold, all tables together: 80 MB of float64, where
#: ``default`` could otherwise fill huge tables from a few bytes of text
MAX_NUMBERS = 10_000_000
#: how far from 1 a row's probabilities may sum (files round them to a few digits)
ROW_TOLERANCE = 1e-6
#: a row closer to 1 than this is kept as written, not divided by its sum: float sums of
#: decimal probabilities miss 1 by a few ulps, and a file write_bif wrote must read back exactly
ROUNDING = 1e-12

#: a token after any spaces; every position yields one ("unclosed" is an error, "end" the text's)
_LEXER = re.compile(r"""\s*+(?:
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<quoted>"[^"\\]*(?:\\.[^"\\]*)*")
  | (?P<unclosed>/\*|")
  | (?P<punct>[{}()\[\];,|])
  | (?P<word>(?:[^\s{}()\[\];,|"/]++|/(?![/*]))++)
  | (?P<end>\Z))""", re.S | re.X)
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.S)
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: what write_bif leaves unquoted: what every BIF reader takes as a word
_PLAIN = re.compile(r"[A-Za-z0-9_.\-]+")
_KEYWORDS = frozenset({"network", "variable", "probability", "property", "type", "discrete", "table", "default"})


class _Token(NamedTuple):
    kind: str  # "word", "quoted", "punct" or "end"
    value: str  # the name for a quoted token, else the text
    text: str  # as written
    at: int  # its offset in the text; the line is counted only for a message


def _unescape(match: re.Match) -> str:
    if match.group(1):
        return chr(int(match.group(1), 16))
    return _ESCAPED.get(match.group(2), match.group(2))


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of ``text``, comments dropped; the last is "end", or "unclosed" for a quote or
    comment that never closes."""
    for match in _LEXER.finditer(text):
        kind = match.lastgroup
        if kind == "quoted":
            raw = match.group(kind)
            yield _Token(kind, _ESCAPE.sub(_unescape, raw[1:-1]), raw, match.start(kind))
        elif kind == "end":  # on the last line, not the empty one after a final newline
            yield _Token(kind, "", "", len(text) - text.endswith("\n"))
        elif kind != "comment":
            raw = match.group(kind)
            yield _Token(kind, raw, raw, match.start(kind))
            if kind == "unclosed":
                return


def _found(token: _Token) -> str:
    return "the end of the input" if token.kind == "end" else shown(token.text)


def _is(token: _Token, mark: str) -> bool:
    return token.kind == "punct" and token.text == mark


def _keyword(token: _Token) -> str:
    """The keyword ``token`` is (lower case), or "" when it is none."""
    return token.value.lower() if token.kind == "word" else ""


def _listed(names: list) -> str:
    """Names for a message: the first few, quoted."""
    return ", ".join(map(shown, names[:5])) + (", ..." if len(names) > 5 else "")


def _count(number: int, noun: str, nouns: str = "") -> str:
    return f"{number:,} {noun if number == 1 else nouns or noun + 's'}"


class _Variable:
    def __init__(self, name: str, at: int):
        self.name, self.at = name, at
        self.states, self.index = [], {}
        self.parents, self.cpt, self.block_at = [], None, None


class _Reader:
    """One pass over the tokens with one of look-ahead; each block is checked as it ends."""

    def __init__(self, text: str, source: str):
        self.text, self.source = text, source
        self.tokens = _tokens(text)
        self.ahead = None
        self.variables = {}
        self.network_at = None
        self.numbers = 0

    def line(self, at: int) -> int:
        return self.text.count("\n", 0, at) + 1

    def fail(self, at: int, what: str) -> NoReturn:
        fail(f"{self.source}: line {self.line(at)}: {what}")

    def next(self) -> _Token:
        token = self.peek()
        self.ahead = None
        return token

    def peek(self) -> _Token:
        if self.ahead is None:
            self.ahead = next(self.tokens, None) or _Token("end", "", "", len(self.text))
            if self.ahead.kind == "unclosed":
                what = "quoted name" if self.ahead.text == '"' else "comment '/*'"
                self.fail(self.ahead.at, f"unclosed {what}: its end is missing")
        return self.ahead

    def expect(self, mark: str, context: str) -> _Token:
        token = self.next()
        if not _is(token, mark):
            self.fail(token.at, f"expected '{mark}' {context}, found {_found(token)}")
        return token

    def name(self, token: _Token, expected: str) -> str:
        if token.kind not in ("word", "quoted"):
            self.fail(token.at, f"expected {expected}, found {_found(token)}")
        return token.value

    def variable(self, token: _Token, context: str) -> _Variable:
        """The declared variable ``token`` names."""
        name = self.name(token, f"a variable name {context}")
        if name not in self.variables:
            self.fail(token.at, f"unknown variable {shown(name)} {context} (no 'variable' block before it declares it)")
        return self.variables[name]

    # -- blocks --------------------------------------------------------------------------------

    def read(self) -> list:
        while True:
            token = self.next()
            keyword = _keyword(token)
            if token.kind == "end":
                return self.finish()
            if keyword == "network":
                self.network(token)
            elif keyword == "variable":
                self.declaration(token)
            elif keyword == "probability":
                self.probability(token)
            else:
                self.fail(token.at, f"expected a 'network', 'variable' or 'probability' block, found {_found(token)}")

    def network(self, token: _Token) -> None:
        if self.network_at is not None:
            self.fail(token.at, f"a second 'network' block (the first is on line {self.line(self.network_at)})")
        self.network_at = token.at
        if self.peek().kind in ("word", "quoted"):
            self.next()
        self.expect("{", "to open the network block")
        while True:
            token = self.next()
            if _is(token, "}"):
                return
            if _keyword(token) != "property":
                self.fail(token.at, f"expected 'property' or '}}' in the network block, found {_found(token)}")
            self.skip_property(token)

    def skip_property(self, opening: _Token) -> None:
        """Consume a ``property ...;`` line (its content is not used)."""
        token = self.next()
        while not _is(token, ";"):
            if token.kind == "end" or _is(token, "{") or _is(token, "}"):
                self.fail(token.at, f"expected ';' to end the property of line {self.line(opening.at)}, found "
                                    f"{_found(token)}")
            token = self.next()

    def declaration(self, token: _Token) -> None:
        """A ``variable`` block."""
        name_token = self.next()
        name = self.name(name_token, "a variable name after 'variable'")
        if not name:
            self.fail(name_token.at, 'a variable name cannot be empty ("")')
        if name in self.variables:
            self.fail(name_token.at, f"variable {shown(name)} is declared twice (first on line "
                                     f"{self.line(self.variables[name].at)})")
        variable = _Variable(name, token.at)
        self.expect("{", f"after the variable name {shown(name)}")
        typed = False
        while True:
            token = self.next()
            if _is(token, "}"):
                break
            if _keyword(token) == "property":
                self.skip_property(token)
            elif _keyword(token) == "type":
                if typed:
                    self.fail(token.at, f"variable {shown(name)} has a second 'type'")
                self.states(variable)
                typed = True
            else:
                self.fail(token.at, f"expected 'type', 'property' or '}}' in the block of variable {shown(name)}, "
                                    f"found {_found(token)}")
        if not typed:
            self.fail(token.at, f"variable {shown(name)} has no 'type discrete [ N ] {{ ... }};'")
        self.variables[name] = variable

    def states(self, variable: _Variable) -> None:
        """``discrete [ N ] { s1, s2, ... };`` after ``type``."""
        name = shown(variable.name)
        kind = self.next()
        if _keyword(kind) != "discrete":
            self.fail(kind.at, f"variable {name}: only 'type discrete' can be read, found {_found(kind)}")
        self.expect("[", f"after 'discrete' for variable {name}")
        count = self.next()
        if count.kind != "word" or not re.fullmatch(r"[0-9]{1,9}", count.text):
            self.fail(count.at, f"variable {name}: expected the number of states, found {_found(count)}")
        self.expect("]", f"after the number of states of variable {name}")
        self.expect("{", f"to open the states of variable {name}")
        while True:
            token = self.next()
            if _is(token, "}"):
                break
            if _is(token, ","):
                continue
            state = self.name(token, f"a state of variable {name} or '}}'")
            if state in variable.index:
                self.fail(token.at, f"variable {name}: state {shown(state)} is listed twice")
            variable.index[state] = len(variable.states)
            variable.states.append(state)
        self.expect(";", f"after the states of variable {name}")
        if not variable.states:
            self.fail(token.at, f"variable {name} has no states")
        if len(variable.states) != int(count.text):
            self.fail(count.at, f"variable {name} declares {_count(int(count.text), 'state')} but lists "
                                f"{len(variable.states):,}")

    def probability(self, token: _Token) -> None:
        """A ``probability`` block: the node's parents and CPT, its rows not yet renormalised."""
        at = token.at
        self.expect("(", "after 'probability'")
        node = self.variable(self.next(), "in 'probability ('")
        if node.block_at is not None:
            self.fail(at, f"a second probability block for {shown(node.name)} (the first is on line "
                          f"{self.line(node.block_at)})")
        parents, bar = [], False
        while True:
            token = self.next()
            if _is(token, ")"):
                break
            if _is(token, ","):
                continue
            if _is(token, "|"):
                if bar or parents:
                    self.fail(token.at, f"'|' must come right after the node's name {shown(node.name)}")
                bar = True
                continue
            parent = self.variable(token, f"among the parents of {shown(node.name)}")
            if parent is node:
                self.fail(token.at, f"{shown(node.name)} cannot be its own parent")
            if parent in parents:
                self.fail(token.at, f"parent {shown(parent.name)} of {shown(node.name)} is listed twice")
            parents.append(parent)
        if bar and not parents:
            self.fail(token.at, f"expected a parent of {shown(node.name)} after '|', found ')'")
        node.parents, node.block_at = parents, at
        node.cpt = self.entries(node, at)

    def entries(self, node: _Variable, at: int) -> np.ndarray:
        """The CPT the body ``{ ... }`` of ``node``'s probability block gives."""
        name, size = shown(node.name), len(node.states)
        configurations = 1
        for parent in node.parents:
            configurations *= len(parent.states)
            if configurations * size > MAX_NUMBERS:
                break  # the product, already too large, is refused below
        self.numbers += configurations * size
        if self.numbers > MAX_NUMBERS:
            self.fail(at, f"the table of {name} takes the network past {MAX_NUMBERS:,} probabilities, the most "
                          "that can be read")
        cpt = np.empty((configurations, size))
        filled = np.zeros(configurations, dtype=bool)
        default = table = None
        self.expect("{", f"to open the probability block of {name}")
        while True:
            token = self.next()
            keyword = _keyword(token)
            if _is(token, "}"):
                break
            if keyword == "property":
                self.skip_property(token)
                continue
            entry = keyword in ("table", "default") or _is(token, "(")
            if entry and (table is not None or (keyword == "table" and (default is not None or filled.any()))):
                self.fail(token.at, f"{name}: a 'table' gives every probability, so it cannot be joined by "
                                    "another 'table', '(...)' rows or a 'default'")
            if keyword == "table":
                table = self.values(f"in the table of {name}")
                if len(table) != configurations * size:
                    self.fail(token.at, f"the table of {name} needs {configurations * size:,} probabilities "
                                        f"({_count(size, 'state')} x {_count(configurations, 'parent configuration')})"
                                        f", found {len(table):,}")
                # the node's own state is the table's slowest index (see the module docstring)
                cpt[:] = np.array(table).reshape(size, configurations).T
                filled[:] = True
                wrong = np.flatnonzero(np.abs(cpt.sum(axis=1) - 1) > ROW_TOLERANCE)
                if wrong.size:
                    self.sums_to_one(cpt[wrong[0]], token.at, node, self.configuration_name(node, wrong[0]))
            elif keyword == "default":
                if default is not None:
                    self.fail(token.at, f"{name} has a second 'default'")
                default = self.row(node, token.at, "by default")
            elif _is(token, "("):
                c = self.configuration(node, token)
                if filled[c]:
                    self.fail(token.at, f"{name} {self.configuration_name(node, c)} is given twice")
                cpt[c] = self.row(node, token.at, self.configuration_name(node, c))
                filled[c] = True
            else:
                self.fail(token.at, f"expected '(', 'table', 'default', 'property' or '}}' in the probability "
                                    f"block of {name}, found {_found(token)}")
        if not filled.all():
            if default is None:
                missing = self.configuration_name(node, int(np.argmin(filled)))
                self.fail(at, f"no probabilities for {name} {missing}, and no 'default'")
            cpt[~filled] = default
        return cpt.reshape([len(parent.states) for parent in node.parents] + [size])

    def configuration(self, node: _Variable, opening: _Token) -> int:
        """The flat (C order) index of the configuration ``(a, b, ...)`` opened by ``opening``."""
        states = []
        while True:
            token = self.next()
            if _is(token, ")"):
                break
            if not _is(token, ","):
                states.append((self.name(token, f"a state of a parent of {shown(node.name)} or ')'"), token.at))
        if len(states) != len(node.parents):
            self.fail(opening.at, f"{shown(node.name)} has {_count(len(node.parents), 'parent')} "
                                  f"({_listed([p.name for p in node.parents])}), found a configuration of "
                                  f"{_count(len(states), 'state')}")
        index = 0
        for parent, (state, at) in zip(node.parents, states):
            if state not in parent.index:
                self.fail(at, f"{shown(state)} is not a state of {shown(parent.name)} (its states: "
                              f"{_listed(parent.states)})")
            index = index * len(parent.states) + parent.index[state]
        return index

    def configuration_name(self, node: _Variable, index: int) -> str:
        """``given ('a', 'b')`` for a message; empty for a node with no parents."""
        states = []
        for parent in reversed(node.parents):
            index, state = divmod(int(index), len(parent.states))
            states.append(parent.states[state])
        return f"given ({', '.join(map(shown, reversed(states)))})" if states else ""

    def row(self, node: _Variable, at: int, given: str) -> list:
        values = self.values(f"for {shown(node.name)} {given}".rstrip())
        if len(values) != len(node.states):
            self.fail(at, f"{shown(node.name)} has {_count(len(node.states), 'state')}, found "
                          f"{_count(len(values), 'probability', 'probabilities')} {given}".rstrip())
        self.sums_to_one(values, at, node, given)
        return values

    def sums_to_one(self, values, at: int, node: _Variable, given: str) -> None:
        total = math.fsum(values)
        if abs(total - 1) > ROW_TOLERANCE:
            self.fail(at, " ".join(filter(None, [f"the probabilities of {shown(node.name)}", given,
                                                 f"sum to {total:.10g}, not 1"])))

    def values(self, context: str) -> list:
        """Probabilities up to the next ';'."""
        values = []
        while True:
            token = self.next()
            if _is(token, ";"):
                return values
            if _is(token, ","):
                continue
            text = token.text if token.kind == "word" else ""
            if _NUMBER.fullmatch(text):
                value = float(text)
                if not math.isfinite(value):
                    self.fail(token.at, f"probability {shown(text)} {context} is not a finite number")
                if value < 0:
                    self.fail(token.at, f"negative probability {shown(text)} {context}")
                values.append(value)
            elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                self.fail(token.at, f"probability {shown(text)} {context} is not a finite number")
            else:
                self.fail(token.at, f"expected a probability or ';' {context}, found {_found(token)}")

    # -- the network -----------------------------------------------------------------------------

    def finish(self) -> list:
        if not self.variables:
            fail(f"{self.source}: no 'variable' block: not a BIF network")
        for variable in self.variables.values():
            if variable.cpt is None:
                self.fail(variable.at, f"variable {shown(variable.name)} has no probability block")
        self.refuse_cycles()
        network = []
        for variable in self.variables.values():
            cpt = variable.cpt
            totals = cpt.sum(axis=-1, keepdims=True)
            cpt = np.where(np.abs(totals - 1) > ROUNDING, cpt / totals, cpt)
            network.append({"name": variable.name, "states": list(variable.states),
                            "parents": [parent.name for parent in variable.parents], "cpt": cpt})
        return network

    def refuse_cycles(self) -> None:
        """Kahn's algorithm; a cycle is refused, naming one."""
        waiting = {v.name: len(v.parents) for v in self.variables.values()}
        children = {name: [] for name in self.variables}
        for variable in self.variables.values():
            for parent in variable.parents:
                children[parent.name].append(variable.name)
        ready = [name for name, count in waiting.items() if count == 0]
        while ready:
            for child in children[ready.pop()]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        left = [name for name, count in waiting.items() if count > 0]
        if not left:
            return
        # every node left has a parent left: walking up from one comes round to a node seen
        walked, name = {}, left[0]
        while name not in walked:
            walked[name] = len(walked)
            name = next(p.name for p in self.variables[name].parents if waiting[p.name] > 0)
        cycle = list(walked)[walked[name]:][::-1]  # walked child to parent: reversed, edges run forward
        edges = [*map(shown, cycle[:10]), "..."] if len(cycle) > 10 else [*map(shown, cycle), shown(cycle[0])]
        fail(f"{self.source}: the parents form a cycle through {shown(name)}: {' -> '.join(edges)}")


def read_bif(text: str, source: str) -> list[dict]:
    """The network ``text`` writes in BIF: per ``variable`` block, in their order, ``{"name",
    "states", "parents", "cpt"}`` with cpt a float64 (L_parent1, ..., L_parentm, L_node) array whose
    rows sum to 1.  ``source`` (a file name) opens every error message."""
    if len(text) > MAX_BYTES:
        fail(f"{source}: larger than 2 MB; a BIF network is at most {MAX_BYTES:,} characters")
    return _Reader(text.removeprefix("\ufeff"), source).read()


def read_bif_file(path: str) -> list[dict]:
    """The network of the BIF file ``path`` (UTF-8, at most MAX_BYTES), as read_bif reads it."""
    return read_bif(read_text_file(path, path, MAX_BYTES, "a BIF file"), path)


# -- writing ---------------------------------------------------------------------------------------


def bif_name(name: str) -> str:
    """``name`` (of the network, a variable or a state) as BIF writes it: bare when every reader
    takes it as one word, else double-quoted with JSON's escapes, which read_bif undoes."""
    if _PLAIN.fullmatch(name) and name.lower() not in _KEYWORDS:
        return name
    return json.dumps(name, ensure_ascii=False)


def write_bif(name: str, variables: list) -> str:
    """The network ``variables`` (dicts as read_bif returns) as BIF text, laid out as bnlearn's
    files: every variable block, then the probability blocks in the same order, a root's as
    ``table``, any other's as one ``(a, b) p, q;`` row per parent configuration, the last parent
    fastest (as pgmpy's BIFWriter; bnlearn, from R, runs the first fastest).  Probabilities are
    written as repr writes floats, so they read back exactly.  A ValueError for a network read_bif
    would refuse (a bug of the caller, not bad input)."""
    states = {v["name"]: [bif_name(s) for s in v["states"]] for v in variables}
    lines = [f"network {bif_name(name)} {{", "}"]
    if len(states) < len(variables):
        raise ValueError("two variables have the same name")
    for variable in variables:
        if not variable["name"] or not variable["states"] or len(set(variable["states"])) < len(variable["states"]):
            raise ValueError(f"variable {variable['name']!r}: an empty name, no states or a state twice")
        own = states[variable["name"]]
        lines += [f"variable {bif_name(variable['name'])} {{",
                  f"  type discrete [ {len(own)} ] {{ {', '.join(own)} }};", "}"]
    for variable in variables:
        cpt, parents = np.asarray(variable["cpt"], dtype=np.float64), list(variable["parents"])
        unknown = [parent for parent in parents if parent not in states]
        if unknown:
            raise ValueError(f"{variable['name']!r} has parent {unknown[0]!r}, which is no variable of the network")
        shape = tuple(len(states[parent]) for parent in parents) + (len(variable["states"]),)
        if cpt.shape != shape:
            raise ValueError(f"the CPT of {variable['name']!r} has shape {cpt.shape}, its states make {shape}")
        if not (np.isfinite(cpt).all() and (cpt >= 0).all()):
            raise ValueError(f"the CPT of {variable['name']!r} has a negative or non-finite probability")
        head = bif_name(variable["name"]) + (" | " + ", ".join(map(bif_name, parents)) if parents else "")
        lines.append(f"probability ( {head} ) {{")
        rows = cpt.reshape(-1, shape[-1]).tolist()
        if not parents:
            lines.append(f"  table {', '.join(map(repr, rows[0]))};")
        for configuration, row in zip(product(*(states[parent] for parent in parents)) if parents else (), rows):
            lines.append(f"  ({', '.join(configuration)}) {', '.join(map(repr, row))};")
        lines.append("}")
    return "\n".join(lines) + "\n"
