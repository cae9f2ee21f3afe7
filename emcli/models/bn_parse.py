"""Reading ``--structure`` and ``--hidden`` for a discrete Bayesian network (``-m bn``): the
edges written, and the hidden nodes with their numbers of states; emcli.models.bn_structure
checks them against the data and orders the nodes.

``--structure`` is the path of an existing file or an edge list written inline.

- Inline: edges ``A -> B`` (chains ``A -> B -> C``) separated by commas, semicolons or
  newlines.  A name standing alone is a node with no edge, so that ``describe`` can write every
  structure back.
- A file whose first token (after comments) is ``digraph`` or ``strict digraph`` is Graphviz
  DOT, in the subset people write for DAGs: an optional graph name, statements separated by
  ``;`` or newlines, edges ``A -> B`` with chains and groups (``A -> {B C}``, ``{A B} -> C``,
  ``subgraph x {...}``), node statements (``A;``, ``A [label=...]``: the node belongs to the
  network even with no edge), ``graph/node/edge [...]`` defaults, ``rankdir=LR`` assignments,
  attribute lists (ignored) and ``//``, ``#`` and ``/* */`` comments.  ``--`` is refused.
- Any other file holds the inline syntax, one edge per line, with ``#`` comments.

An unquoted name is a run of letters, digits, ``_``, ``.`` and ``-`` (not in ``->`` or
``--``); a double-quoted name may hold anything, with ``\\"`` for a quote and ``\\\\`` for a
backslash (Graphviz keeps ``\\\\`` as two characters; no real column name has one).  DOT
keywords (``node``, ``edge``, ``graph``, ``digraph``, ``subgraph``, ``strict``, in any case)
need quotes in a DOT file only.

Every problem is a one-line ``UsageError`` naming ``--structure`` (and the file and line) or
``--hidden``.  Input is bounded (MAX_BYTES, MAX_EDGES, MAX_DEPTH) and parsed by loops over an
explicit stack, never by recursion.
"""

import dataclasses
import os
import re
from typing import Iterable, Iterator, NamedTuple, NoReturn

from emcli.errors import UsageError

#: the largest structure (file or inline text) read: a DAG over table columns is a few
#: kilobytes, and the bound keeps a wrong path (a data file, a log) from being parsed at length
MAX_BYTES = 1 << 20
#: the most edges a structure may write (counted as written, groups expanded, before
#: duplicates are dropped), so that ``{a b ...} -> {c d ...}`` cannot multiply without bound
MAX_EDGES = 10_000
#: the deepest nesting of DOT groups ``{...}``; real files nest two or three
MAX_DEPTH = 100
#: the most states a hidden node may be given: beyond it no table of probabilities fits memory
MAX_STATES = 1_000_000

#: an unquoted name: letters, digits, '_', '.', and '-' unless it starts '->' or '--'
NAME = re.compile(r"(?:\w|\.|-(?![->]))+")
#: a name Graphviz itself reads unquoted (ASCII identifier or numeral), which to_dot leaves bare
DOT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)")
DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_ESCAPE = re.compile(r'\\(["\\\n])')
_ANGLE = re.compile(r"[<>]")


def _lexer(comment: str, unclosed: str, html: bool) -> re.Pattern:
    """The token pattern of one format: spaces, then named groups tried in order ("trailing":
    the spaces ended the text), the last matching any character so that every position yields
    a token (an unexpected character becomes a token the parser names in its message)."""
    groups = [r"(?P<newline>\n)", r"(?P<trailing>\Z)"]
    groups += [f"(?P<comment>{comment})"] if comment else []
    # the unrolled loop "[^"\\]*(?:\\.[^"\\]*)*" stays linear on an unclosed quote
    groups += [r'(?P<quoted>"[^"\\]*(?:\\.[^"\\]*)*")', r"(?P<arrow>->)", r"(?P<undirected>--)",
               f"(?P<name>{NAME.pattern})", r"(?P<punct>[{}\[\];,=])", f"(?P<unclosed>{unclosed})"]
    groups += [r"(?P<html><)"] if html else []
    # the spaces before a token belong to its match, which halves the matches made
    return re.compile(r"[^\S\n]*+(?:" + "|".join(groups + [r"(?P<other>.)"]) + ")", re.S)


_LEXERS = {
    "inline": _lexer("", '"', html=False),
    "list": _lexer(r"#[^\n]*", '"', html=False),
    "dot": _lexer(r"#[^\n]*|//[^\n]*|/\*.*?\*/", r'"|/\*', html=True),
}


class EdgeList(list):
    """The edges of a structure as (parent, child) name pairs, in the order written (groups
    expanded, repeats kept), with ``mentioned``: the names written alone (a DOT node statement
    ``A;`` or ``A [...]``, or a name standing alone in an edge list), which belong to the network
    even with no edge.  Pass both to ``build``; a plain copy of the list drops ``mentioned``."""

    def __init__(self, edges: Iterable = (), mentioned: Iterable = ()):
        super().__init__(edges)
        self.mentioned = tuple(mentioned)


class _Token(NamedTuple):
    kind: str  # a group name of the lexer, or "end"
    value: str  # the name for a quoted token, else the text
    text: str  # as written
    line: int


def fail(message: str) -> NoReturn:
    """Raise the UsageError, on one line whatever the names in it hold."""
    raise UsageError("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


def _fail_at(where: str, line: int, what: str) -> NoReturn:
    fail(f"{where}: line {line}: {what}")


def shown(text: str) -> str:
    """``text`` quoted for a message, shortened past 60 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def argument(value: str) -> str:
    """An option's value as a message shows it: bare when plain, else quoted."""
    return value if value and value.isprintable() and value.strip() == value else repr(value)


def _found(token: _Token) -> str:
    """What a message says was found instead of what was expected."""
    if token.kind == "end":
        return "the end of the input"
    if token.kind == "newline":
        return "the end of the line"
    return shown(token.text)


def _tokens(text: str, mode: str, where: str) -> Iterator[_Token]:
    """The tokens of ``text`` in format ``mode`` ("inline", "list" or "dot"), spaces and
    comments dropped (newlines too in DOT, where they only separate), then one "end" token."""
    lexer, line, pos = _LEXERS[mode], 1, 0
    skipped = ("trailing", "comment", "newline") if mode == "dot" else ("trailing", "comment")
    while pos < len(text):
        match = lexer.match(text, pos)
        kind, start, end = match.lastgroup, match.start(match.lastgroup), match.end()
        if kind == "unclosed":
            what, closing = ("quoted name", "'\"'") if text[start] == '"' else ("comment '/*'", "'*/'")
            _fail_at(where, line, f"unclosed {what}: expected {closing}, found the end of the input")
        if kind == "html":
            end = _html_end(text, start, where, line)
        raw = text[start:end]
        if kind not in skipped:
            value = _ESCAPE.sub(_unescape, raw[1:-1]) if kind == "quoted" else raw
            yield _Token(kind, value, raw, line)
        line += raw.count("\n")
        pos = end
    yield _Token("end", "", "", line - text.endswith("\n"))  # the last line, not the empty one after it


def _unescape(match: re.Match) -> str:
    """A quoted name's escape: a quote or a backslash stands for itself; a backslash before a
    newline continues the line (Graphviz's rule)."""
    return "" if match.group(1) == "\n" else match.group(1)


def _html_end(text: str, start: int, where: str, line: int) -> int:
    """Where the DOT HTML string ``<...>`` opened at ``start`` ends (its angle brackets nest)."""
    depth = 0
    for match in _ANGLE.finditer(text, start):
        depth += 1 if match.group() == "<" else -1
        if depth == 0:
            return match.end()
    _fail_at(where, line, "unclosed '<': expected its '>', found the end of the input")


class _Stream:
    """Tokens with one token of look-ahead."""

    def __init__(self, tokens: Iterator[_Token]):
        self._tokens = tokens
        self._ahead = None

    def peek(self) -> _Token:
        if self._ahead is None:
            self._ahead = next(self._tokens)
        return self._ahead

    def next(self) -> _Token:
        token = self.peek()
        self._ahead = None
        return token


def _is(token: _Token, *texts: str) -> bool:
    """Whether ``token`` is one of the punctuation marks ``texts``."""
    return token.kind == "punct" and token.text in texts


def _is_word(token: _Token, word: str) -> bool:
    """Whether ``token`` is the unquoted keyword ``word`` (any case, as DOT reads it)."""
    return token.kind == "name" and token.text.lower() == word


def _node_name(token: _Token, where: str, context: str, dot: bool = False) -> str:
    """The node ``token`` names, or a UsageError saying a name was expected ``context``."""
    if token.kind not in ("name", "quoted"):
        _fail_at(where, token.line, f"expected a node name{context}, found {_found(token)}")
    if not token.value:
        _fail_at(where, token.line, "a node name cannot be empty (\"\")")
    if dot and token.kind == "name" and token.text.lower() in DOT_KEYWORDS:
        _fail_at(where, token.line, f"expected a node name{context}, found the DOT keyword {shown(token.text)} "
                                    f"(quote it, {quoted(token.text)}, to name a node so)")
    return token.value


def _undirected(where: str, token: _Token) -> NoReturn:
    _fail_at(where, token.line, "found '--', an undirected edge: write 'A -> B' for an edge from parent A to child B")


class _Found:
    """The edges and lone names collected while parsing, with the edge bound enforced."""

    def __init__(self, where: str):
        self.where = where
        self.edges = []
        self.mentioned = []

    def statement(self, operands: list, line: int) -> None:
        """Record one statement: ``operands`` are the lists of names between its arrows; a lone
        operand names nodes, several make edges from every name of one to every name of the
        next."""
        if len(operands) == 1:
            self.mentioned.extend(operands[0])
        for tails, heads in zip(operands, operands[1:]):
            for tail in tails:
                for head in heads:
                    if len(self.edges) == MAX_EDGES:
                        _fail_at(self.where, line, f"more than {MAX_EDGES:,} edges; a structure may have at most "
                                                   f"{MAX_EDGES:,}")
                    self.edges.append((tail, head))

    def result(self) -> EdgeList:
        return EdgeList(self.edges, dict.fromkeys(self.mentioned))


def _parse_list(stream: _Stream, where: str) -> EdgeList:
    """The edges of the inline syntax: items ``A -> B -> C`` or ``A`` separated by ',', ';' or
    newlines."""
    found, chain, after_arrow = _Found(where), [], False
    while True:
        token = stream.next()
        if after_arrow:
            chain.append([_node_name(token, where, " after '->'")])
            after_arrow = False
        elif token.kind == "arrow":
            if not chain:
                _fail_at(where, token.line, "expected a node name before '->'")
            after_arrow = True
        elif token.kind in ("newline", "end") or _is(token, ",", ";"):
            found.statement(chain, token.line)
            chain = []
            if token.kind == "end":
                return found.result()
        elif token.kind == "undirected":
            _undirected(where, token)
        elif chain:
            _after_name(where, chain[-1][0], token)
        else:
            chain = [[_node_name(token, where, "")]]


def _after_name(where: str, previous: str, token: _Token) -> NoReturn:
    """Refuse ``token`` after the name ``previous``.  Two bare words in a row are most likely one
    column name with a space, so then say how to quote it."""
    hint = f" (quote a name with spaces: {quote(previous + ' ' + token.value)})" if token.kind == "name" else ""
    _fail_at(where, token.line, f"expected '->' or the end of the edge after {shown(previous)}, found "
                                f"{_found(token)}{hint}")


@dataclasses.dataclass
class _Group:
    """A DOT body being read: the graph's or a ``{...}`` group's."""

    line: int  # of its '{', for the message when it never closes
    names: dict = dataclasses.field(default_factory=dict)  # every node named in it, in order
    chain: list = dataclasses.field(default_factory=list)  # the operands of the statement being read
    after_arrow: bool = False


def _parse_dot(stream: _Stream, where: str) -> EdgeList:
    """The edges of a DOT digraph.  Groups are kept on an explicit stack: a group closing
    becomes an operand (its nodes) of the statement around it."""
    found = _Found(where)
    groups = [_Group(_read_header(stream, where))]
    while groups:
        token, group = stream.next(), groups[-1]
        if group.after_arrow:
            group.after_arrow = False
            if _is(token, "{") or _is_word(token, "subgraph"):
                groups.append(_open_group(stream, token, where, len(groups)))
            else:
                group.chain.append([_node_name(token, where, " after '->'", dot=True)])
            continue
        if group.chain:
            if token.kind == "arrow":
                group.after_arrow = True
                continue
            if token.kind == "undirected":
                _undirected(where, token)
            _end_statement(group, found, token.line)
            if _is(token, "["):
                _skip_attributes(stream, token, where)
                continue
        # a statement starts at ``token``
        if _is(token, "}"):
            closed = groups.pop()
            if groups:
                groups[-1].chain.append(list(closed.names))
        elif _is(token, "{") or _is_word(token, "subgraph"):
            groups.append(_open_group(stream, token, where, len(groups)))
        elif token.kind == "name" and token.text.lower() in ("graph", "node", "edge"):
            opening = stream.next()
            if not _is(opening, "["):
                _fail_at(where, opening.line, f"expected '[' after the DOT keyword {shown(token.text)}, found "
                                              f"{_found(opening)} (quote it, {quoted(token.text)}, to name a node so)")
            _skip_attributes(stream, opening, where)
        elif token.kind in ("name", "quoted") and _is(stream.peek(), "="):
            stream.next()
            _attribute_value(stream, where)
        elif token.kind in ("name", "quoted"):
            group.chain.append([_node_name(token, where, "", dot=True)])
        elif token.kind == "end":
            opened = "graph" if len(groups) == 1 else "group"
            _fail_at(where, token.line, f"expected '}}' to close the {opened} opened on line {group.line}, found "
                                        "the end of the input")
        elif token.kind == "arrow":
            _fail_at(where, token.line, "expected a node name before '->'")
        elif token.kind == "undirected":
            _undirected(where, token)
        elif not _is(token, ";"):
            _fail_at(where, token.line, f"expected a statement (an edge 'A -> B' or a node), found {_found(token)}")
    last = stream.next()
    if last.kind != "end":
        _fail_at(where, last.line, f"expected the end of the input after the graph's '}}', found {_found(last)}")
    return found.result()


def _read_header(stream: _Stream, where: str) -> int:
    """Read ``[strict] digraph [NAME] {`` (the caller has seen the keywords); returns the line
    of the '{'."""
    if _is_word(stream.next(), "strict"):
        stream.next()
    token = stream.next()
    if token.kind in ("name", "quoted"):
        token = stream.next()
    if not _is(token, "{"):
        _fail_at(where, token.line, f"expected '{{' to open the graph, found {_found(token)}")
    return token.line


def _open_group(stream: _Stream, token: _Token, where: str, depth: int) -> _Group:
    """The group opened by ``token`` ('{', or ``subgraph [NAME] {``), at nesting ``depth``."""
    if _is_word(token, "subgraph"):
        token = stream.next()
        if token.kind in ("name", "quoted"):
            token = stream.next()
        if not _is(token, "{"):
            _fail_at(where, token.line, f"expected '{{' to open the subgraph, found {_found(token)}")
    if depth > MAX_DEPTH:
        _fail_at(where, token.line, f"groups '{{' nested more than {MAX_DEPTH} deep")
    return _Group(token.line)


def _end_statement(group: _Group, found: _Found, line: int) -> None:
    """Record the statement ``group`` was reading, and count its nodes as the group's."""
    found.statement(group.chain, line)
    for names in group.chain:
        group.names.update(dict.fromkeys(names))
    group.chain = []


def _attribute_value(stream: _Stream, where: str) -> None:
    """Consume the value after an attribute's '='."""
    token = stream.next()
    if token.kind not in ("name", "quoted", "html"):
        _fail_at(where, token.line, f"expected a value after '=', found {_found(token)}")


def _skip_attributes(stream: _Stream, opening: _Token, where: str) -> None:
    """Consume the attribute list opened by ``opening`` ('[') and any lists right after it."""
    while True:
        token = stream.next()
        while not _is(token, "]"):
            if token.kind not in ("name", "quoted", "html") and not _is(token, "=", ",", ";"):
                _fail_at(where, token.line, f"expected ']' to close the attribute list opened on line "
                                            f"{opening.line}, found {_found(token)}")
            token = stream.next()
        if not _is(stream.peek(), "["):
            return
        opening = stream.next()


def _format(text: str, where: str) -> str:
    """"dot" when ``text`` opens a DOT digraph; refuses an undirected DOT graph; else "list"."""
    stream = _Stream(_tokens(text, "dot", where))
    first = stream.next()
    # look no further unless the text starts as DOT: in an edge list, DOT's lexer could misread
    # what follows (a '<' opens an HTML string)
    if not any(_is_word(first, word) for word in ("strict", "digraph", "graph")):
        return "list"
    if _is_word(first, "strict") and stream.peek().kind == "name":
        first = stream.next()
    if stream.peek().kind in ("arrow", "undirected"):  # an edge list whose first node is named so
        return "list"
    if _is_word(first, "graph"):
        _fail_at(where, first.line, "an undirected 'graph': a Bayesian network is a 'digraph'")
    return "dot" if _is_word(first, "digraph") else "list"


def read_text_file(path: str, where: str, limit: int, what: str) -> str:
    """The UTF-8 text of the file ``path`` (``what`` it is, for messages), refused past
    ``limit`` bytes, which are all that is read; ``where`` opens every message."""
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        fail(f"{where}: cannot read it: {error.strerror or error}")
    if len(data) > limit:
        fail(f"{where}: larger than {limit >> 20} MB; {what} is at most {limit:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        fail(f"{where}: not UTF-8 text (byte {error.start:,} cannot be read)")


def parse_edges(spec: str, inline: bool = False) -> EdgeList:
    """The edges ``spec`` writes, as (parent, child) name pairs in the order written, with the
    names written alone in ``.mentioned`` (see EdgeList).  ``spec`` is the path of an existing
    file (DOT, or one edge per line) or an edge list written inline (only that with
    ``inline``: a model file's structure never names a file to read); nothing is checked
    against the data here (``build`` does)."""
    if not inline and os.path.isfile(spec):
        where = f"--structure {argument(spec)}"
        text, mode = read_text_file(spec, where, MAX_BYTES, "a structure file"), "list"
    else:
        where, text, mode = "--structure", spec, "inline"
        if not inline and os.path.exists(spec):
            fail(f"--structure {argument(spec)}: not a regular file")
        if not spec.strip():
            fail("--structure is empty: give a file or edges such as 'A -> B'")
        if len(spec) > MAX_BYTES:
            fail(f"--structure: longer than 1 MB; a structure is at most {MAX_BYTES:,} characters")
        # one word, or a path, with no arrow is a file name mistyped, not a network of one node
        if "->" not in spec and ("/" in spec or "\\" in spec or NAME.fullmatch(spec.strip())):
            fail(f"--structure {argument(spec)}: no such file, and no edge such as 'A -> B' to read inline")
    if _format(text, where) == "dot":
        return _parse_dot(_Stream(_tokens(text, "dot", where)), where)
    return _parse_list(_Stream(_tokens(text, mode, where)), where)


def parse_hidden(values: list[str]) -> dict[str, int | None]:
    """The hidden nodes ``--hidden`` declares, in the order given: ``NAME=N`` gives NAME N
    states (2 <= N <= MAX_STATES), ``NAME`` leaves them to be chosen (-k, select-k): None."""
    hidden = {}
    for value in values:
        name, equals, number = value.partition("=")
        name = name.strip()
        if not name:
            fail(f"--hidden {argument(value)}: expected NAME or NAME=STATES, found no name")
        if name in hidden:
            fail(f"--hidden {argument(value)}: {shown(name)} is declared twice")
        hidden[name] = _states(value, number.strip()) if equals else None
    return hidden


def _states(value: str, number: str) -> int:
    """The number of states in ``--hidden NAME=number``."""
    if not re.fullmatch(r"[0-9]{1,7}", number) or not 2 <= int(number) <= MAX_STATES:
        fail(f"--hidden {argument(value)}: the number of states must be a whole number from 2 to {MAX_STATES:,}, "
              f"found {shown(number)}")
    return int(number)


# -- writing names back, as the syntax reads them ------------------------------------------------


def quote(name: str) -> str:
    """``name`` as the edge-list syntax writes it: bare when it lexes as one name, else quoted."""
    return name if NAME.fullmatch(name) else quoted(name)


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_id(name: str) -> str:
    """``name`` as a DOT ID: bare when Graphviz reads it so (and it is no keyword), else quoted."""
    return name if DOT_ID.fullmatch(name) and name.lower() not in DOT_KEYWORDS else quoted(name)
