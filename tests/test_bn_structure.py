"""The structure of a Bayesian network (emcli.models.bn_parse, emcli.models.bn_structure):
parsing --structure (inline, DOT, one edge per line) and --hidden, the checks of build with their one-line messages, the
topological order rule, and round trips through describe and to_dot."""

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from emcli.errors import UsageError
from emcli.models.bn_parse import MAX_BYTES, EdgeList, parse_edges, parse_hidden
from emcli.models.bn_structure import Structure, build, describe, to_dot

COLUMNS = ["age", "smoke", "cough", "region"]


def error(call, *args) -> str:
    """The message of the UsageError ``call(*args)`` raises, checked to be one line."""
    with pytest.raises(UsageError) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


def write(tmp_path, name: str, text) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


# --- inline edge lists -----------------------------------------------------------------------

def test_inline_edges_separated_by_commas_semicolons_and_newlines():
    edges = parse_edges("H -> smoke, H -> cough;smoke->cough\n  H   ->   age  ")
    assert edges == [("H", "smoke"), ("H", "cough"), ("smoke", "cough"), ("H", "age")]
    assert isinstance(edges, EdgeList) and edges.mentioned == ()


def test_inline_chains_and_lone_names():
    edges = parse_edges("a -> b -> c, d, ,b -> d;")
    assert edges == [("a", "b"), ("b", "c"), ("b", "d")]
    assert edges.mentioned == ("d",)


def test_inline_names_quoted_dotted_dashed_and_unicode():
    edges = parse_edges('"body mass" -> bmi.z, x-1 -> -2.5, "say \\"hi\\"" -> é_1, "a\\\\b" -> "->"')
    assert edges == [("body mass", "bmi.z"), ("x-1", "-2.5"), ('say "hi"', "é_1"), ("a\\b", "->")]


def test_inline_has_no_comments():
    assert error(parse_edges, "a -> b # c") == "--structure: line 1: expected '->' or the end of the edge after 'b', found '#'"


# --- DOT ---------------------------------------------------------------------------------------

DOT = r'''// a survey
/* the hidden
   class */
strict digraph "survey net" {
  graph [rankdir=LR, label="a -> b"];  node [shape=box]
  edge [color=gray]
  rankdir = LR
  H [style=dashed, label=<<b>H</b> <i>x</i>>];
  H -> {smoke cough} [weight=2]  # groups on the right
  {H smoke} -> "cough"
  "the \"age\"" ; region
  subgraph cluster_0 { label = "x"; age -> region }
  age -> income -> region [a=1][b=2]
}
'''


def test_dot_with_groups_quotes_comments_attributes_and_strict(tmp_path):
    edges = parse_edges(write(tmp_path, "net.dot", DOT))
    assert edges == [("H", "smoke"), ("H", "cough"), ("H", "cough"), ("smoke", "cough"), ("age", "region"),
                     ("age", "income"), ("income", "region")]
    assert edges.mentioned == ("H", "smoke", "cough", 'the "age"', "region", "age")


def test_dot_group_operands_expand_both_sides_and_nest():
    edges = parse_edges("digraph { {a b} -> {c {d}} -> e; subgraph s {f -> g} -> h }")
    assert edges == [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e"),
                     ("f", "g"), ("f", "h"), ("g", "h")]


def test_dot_keywords_any_case_and_quoted_keywords_as_names(tmp_path):
    edges = parse_edges(write(tmp_path, "g.gv", 'DiGraph G { Node [x=1]; "node" -> "Edge" }'))
    assert edges == [("node", "Edge")]


def test_dot_is_known_by_content_not_extension(tmp_path):
    assert parse_edges(write(tmp_path, "net.dot", "a -> b\n")) == [("a", "b")]
    assert parse_edges(write(tmp_path, "net.txt", "# c\ndigraph{a->b}")) == [("a", "b")]
    # an edge list whose first node is named digraph
    assert parse_edges(write(tmp_path, "list.txt", "digraph -> b")) == [("digraph", "b")]


# --- one edge per line -----------------------------------------------------------------------

def test_edge_per_line_file_with_comments_blank_lines_and_chains(tmp_path):
    path = write(tmp_path, "net.txt", "\ufeff# the survey\n\nH -> smoke   # why\n  H -> cough -> age\n\n lone\n")
    edges = parse_edges(path)
    assert edges == [("H", "smoke"), ("H", "cough"), ("cough", "age")]
    assert edges.mentioned == ("lone",)


# --- syntax errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("digraph {\n a -> b\n c -> ;\n}", "line 3: expected a node name after '->', found ';'"),
    ("digraph {\n a -- b\n}", "line 2: found '--', an undirected edge: write 'A -> B' for an edge from parent A to "
                              "child B"),
    ("graph {\n a -- b\n}", "line 1: an undirected 'graph': a Bayesian network is a 'digraph'"),
    ("strict graph { a -- b }", "line 1: an undirected 'graph': a Bayesian network is a 'digraph'"),
    ("digraph {\n a -> b\n", "line 2: expected '}' to close the graph opened on line 1, found the end of the input"),
    ("digraph {\n a -> {b\n", "line 2: expected '}' to close the group opened on line 2, found the end of the input"),
    ("digraph { a -> b } c", "line 1: expected the end of the input after the graph's '}', found 'c'"),
    ("digraph a -> b", "line 1: expected '{' to open the graph, found '->'"),
    ("digraph { subgraph x -> b }", "line 1: expected '{' to open the subgraph, found '->'"),
    ("digraph { a [color=red\n b -> c }", "line 2: expected ']' to close the attribute list opened on line 1, "
                                          "found '->'"),
    ("digraph { a = }", "line 1: expected a value after '=', found '}'"),
    ("digraph { node -> a }", "line 1: expected '[' after the DOT keyword 'node', found '->' (quote it, \"node\", "
                              "to name a node so)"),
    ("digraph { a -> edge }", "line 1: expected a node name after '->', found the DOT keyword 'edge' (quote it, "
                              "\"edge\", to name a node so)"),
    ("digraph { -> a }", "line 1: expected a node name before '->'"),
    ("digraph { a:p -> b }", "line 1: expected a statement (an edge 'A -> B' or a node), found ':'"),
    ("digraph { a -> \"\" }", "line 1: a node name cannot be empty (\"\")"),
    ("digraph {\n /* open", "line 2: unclosed comment '/*': expected '*/', found the end of the input"),
    ("digraph { a [label=<x] }", "line 1: unclosed '<': expected its '>', found the end of the input"),
    ("a -> b\nc -> \"d\n", "line 2: unclosed quoted name: expected '\"', found the end of the input"),
    ("a -> b\n# fine\nc ->\n", "line 3: expected a node name after '->', found the end of the line"),
    ("a -> b\nc ->", "line 2: expected a node name after '->', found the end of the input"),
    ("a -> b c", "line 1: expected '->' or the end of the edge after 'b', found 'c' (quote a name with spaces: "
                 "\"b c\")"),
    ("a <- b", "line 1: expected '->' or the end of the edge after 'a', found '<'"),
    ("{a b} -> c", "line 1: expected a node name, found '{'"),
])
def test_syntax_errors_name_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "net.dot", text)
    assert error(parse_edges, path) == f"--structure {path}: {message}"


@pytest.mark.parametrize("spec, message", [
    ("H -> smoke, -> cough", "--structure: line 1: expected a node name before '->'"),
    ("a -- b", "--structure: line 1: found '--', an undirected edge: write 'A -> B' for an edge from parent A to "
               "child B"),
    ("body mass -> bmi", "--structure: line 1: expected '->' or the end of the edge after 'body', found 'mass' "
                         "(quote a name with spaces: \"body mass\")"),
    ("a -> b\nb -> \n", "--structure: line 2: expected a node name after '->', found the end of the line"),
    ("net.dot", "--structure net.dot: no such file, and no edge such as 'A -> B' to read inline"),
    ("nets/survey.dot", "--structure nets/survey.dot: no such file, and no edge such as 'A -> B' to read inline"),
    ("  ", "--structure is empty: give a file or edges such as 'A -> B'"),
    ("digraph {" + "{" * 150 + "}" * 151, "--structure: line 1: groups '{' nested more than 100 deep"),
    ("{" * 10_000, "--structure: line 1: expected a node name, found '{'"),
])
def test_inline_errors(spec, message):
    assert error(parse_edges, spec) == message


def test_a_directory_is_refused(tmp_path):
    assert error(parse_edges, str(tmp_path)) == f"--structure {tmp_path}: not a regular file"


def test_a_file_over_1_mb_is_refused_unread(tmp_path):
    path = write(tmp_path, "big.dot", "a -> b\n" + "#" * MAX_BYTES)
    assert error(parse_edges, path) == f"--structure {path}: larger than 1 MB; a structure file is at most 1,048,576 bytes"
    assert error(parse_edges, "a -> b, " * (MAX_BYTES // 8 + 1)) == (
        "--structure: longer than 1 MB; a structure is at most 1,048,576 characters")


def test_a_file_not_utf8_is_refused(tmp_path):
    path = write(tmp_path, "net.txt", b"a -> b\n\xff -> c\n")
    assert error(parse_edges, path) == f"--structure {path}: not UTF-8 text (byte 7 cannot be read)"


def test_more_than_10000_edges_is_refused_as_groups_expand():
    left = " ".join(f"a{i}" for i in range(100))
    right = " ".join(f"b{i}" for i in range(100))
    assert len(parse_edges(f"digraph {{ {{{left}}} -> {{{right}}} }}")) == 10_000
    assert error(parse_edges, f"digraph {{\n {{{left} extra}} -> {{{right}}} }}") == (
        "--structure: line 2: more than 10,000 edges; a structure may have at most 10,000")


def test_a_10000_node_chain_parses_and_builds_without_recursion():
    names = [f"n{i}" for i in range(10_000)]
    edges = parse_edges(" -> ".join(reversed(names)))
    assert len(edges) == 9_999 and edges[-1] == ("n1", "n0")
    structure = build(edges, names, {})
    assert structure.nodes == tuple(reversed(names)) and structure.parents[-1] == (9_998,)


def test_names_with_control_characters_give_one_line_messages():
    message = error(build, [("a\nb", "c")], ["c"], {})
    assert message == "--structure: 'a\\nb' in 'a\\nb -> c' is neither a column of the data nor a --hidden node"
    assert error(parse_edges, "a -> b\x01c") == (
        "--structure: line 1: expected '->' or the end of the edge after 'b', found '\\x01'")


# --- --hidden -----------------------------------------------------------------------------------

def test_parse_hidden_keeps_order_and_optional_sizes():
    assert list(parse_hidden(["H=3", " G ", "Z = 12"]).items()) == [("H", 3), ("G", None), ("Z", 12)]
    assert parse_hidden([]) == {}


@pytest.mark.parametrize("values, message", [
    (["H=3", "H"], "--hidden H: 'H' is declared twice"),
    (["H=1"], "--hidden H=1: the number of states must be a whole number from 2 to 1,000,000, found '1'"),
    (["H=x"], "--hidden H=x: the number of states must be a whole number from 2 to 1,000,000, found 'x'"),
    (["H=2.5"], "--hidden H=2.5: the number of states must be a whole number from 2 to 1,000,000, found '2.5'"),
    (["H=-3"], "--hidden H=-3: the number of states must be a whole number from 2 to 1,000,000, found '-3'"),
    (["H="], "--hidden H=: the number of states must be a whole number from 2 to 1,000,000, found ''"),
    (["H=" + "9" * 5000], "--hidden " + "H=" + "9" * 5000 + ": the number of states must be a whole number from 2 "
                          "to 1,000,000, found '" + "9" * 57 + "...'"),
    (["=3"], "--hidden =3: expected NAME or NAME=STATES, found no name"),
    ([""], "--hidden '': expected NAME or NAME=STATES, found no name"),
    (["H=\n"], "--hidden 'H=\\n': the number of states must be a whole number from 2 to 1,000,000, found ''"),
])
def test_parse_hidden_errors(values, message):
    assert error(parse_hidden, values) == message


# --- build ----------------------------------------------------------------------------------------

def survey(spec="H -> smoke, H -> cough, smoke -> cough, H -> age", hidden=None, columns=COLUMNS) -> Structure:
    edges = parse_edges(spec)
    return build(edges, columns, {"H": 3} if hidden is None else hidden, edges.mentioned)


def test_build_the_survey_network():
    s = survey()
    assert s.nodes == ("H", "age", "smoke", "cough")
    assert s.parents == ((), (0,), (0,), (0, 2))
    assert s.hidden == (True, False, False, False)
    assert s.cardinality == (3, None, None, None)
    assert s.observed == ("age", "smoke", "cough") and s.hidden_nodes == ("H",)
    assert s.unused == ("region",) and s.isolated == ()
    assert s.children(0) == (1, 2, 3) and s.children(2) == (3,) and s.children(3) == ()
    assert s.families() == ((0, ()), (1, (0,)), (2, (0,)), (3, (0, 2)))
    assert s.edges == (("H", "age"), ("H", "smoke"), ("H", "cough"), ("smoke", "cough"))
    assert s.index("smoke") == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.nodes = ()


def test_parents_keep_the_order_first_written_and_duplicates_count_once():
    s = survey("smoke -> cough, H -> cough, smoke -> cough, H -> smoke, H -> cough")
    assert s.parents[s.index("cough")] == (s.index("smoke"), s.index("H"))
    assert len(s.edges) == 3


def test_a_lone_node_belongs_to_the_network():
    s = survey("H -> smoke, H -> cough, region")
    assert s.observed == ("smoke", "cough", "region") and s.isolated == ("region",) and s.unused == ("age",)


def test_topological_order_takes_hidden_in_hidden_order_then_columns_in_table_order():
    columns = ["d", "c", "b", "a"]
    edges = [("a", "b"), ("G", "c"), ("H", "a"), ("H", "d"), ("G", "d")]
    # G, then H (in --hidden order) before c, which G made ready; then d, c, a as the table has them
    s = build(edges, columns, {"G": 2, "H": None})
    assert s.nodes == ("G", "H", "d", "c", "a", "b")
    s = build(edges, columns, {"H": None, "G": 2})
    assert s.nodes == ("H", "G", "d", "c", "a", "b")
    # a column placed early in the table waits for its parents
    assert build([("b", "a")], ["a", "b", "z"], {}, ["z"]).nodes == ("b", "a", "z")


def test_with_cardinalities_fills_observed_and_given_hidden_sizes():
    s = survey(hidden={"H": None})
    filled = s.with_cardinalities({"age": 5, "smoke": 2, "cough": 3, "region": 4})
    assert filled.cardinality == (None, 5, 2, 3)
    assert filled.with_cardinalities({"H": 4}).cardinality == (4, 5, 2, 3)
    assert s.cardinality == (None, None, None, None)
    with pytest.raises(ValueError):
        s.with_cardinalities({"age": 5, "smoke": 2})
    with pytest.raises(ValueError):
        s.with_cardinalities({"age": 5, "smoke": 0, "cough": 2})


@pytest.mark.parametrize("spec, hidden, message", [
    ("H -> smok, smok -> cough", {"H": 3}, "--structure: 'smok' in 'H -> smok' is neither a column of the data nor "
                                           "a --hidden node (did you mean 'smoke'?)"),
    ("H -> zzz", {"H": 3}, "--structure: 'zzz' in 'H -> zzz' is neither a column of the data nor a --hidden node"),
    ("HH -> smoke", {"H": 3}, "--structure: 'HH' in 'HH -> smoke' is neither a column of the data nor a --hidden "
                              "node (did you mean 'H'?)"),
    ("H -> smoke, regoin", {"H": 3}, "--structure: 'regoin' is neither a column of the data nor a --hidden node "
                                     "(did you mean 'region'?)"),
    ("age -> smoke, smoke -> cough, cough -> age", {}, "--structure has a cycle: age -> smoke -> cough -> age"),
    ("H -> cough, cough -> smoke, smoke -> age, age -> smoke", {"H": 3},
     "--structure has a cycle: age -> smoke -> age"),
    ("H -> smoke, smoke -> smoke", {"H": 3}, "--structure: 'smoke -> smoke' is a self-loop; a node cannot be its "
                                             "own parent"),
    ("H -> smoke", {"H": 3, "G": 2}, "--hidden G: 'G' is in no edge of --structure"),
    ("H -> smoke, G", {"H": 3, "G": 2}, "--hidden G: 'G' is in no edge of --structure"),
    ("age -> smoke", {"age": 3}, "--hidden age: 'age' is a column of the data; give the hidden node another name"),
    ("G -> H, H -> smoke, smoke -> G2", {"H": 3, "G": 2, "G2": 2},
     "--structure: hidden node 'G2' has no observed descendant, so the data cannot identify it"),
    ("G -> G2, H -> smoke", {"H": 3, "G": 2, "G2": 2},
     "--structure: hidden node 'G' has no observed descendant, so the data cannot identify it"),
    ("age, smoke", {}, "--structure has no edge (write edges as 'A -> B')"),
])
def test_build_errors(spec, hidden, message):
    assert error(survey, spec, hidden) == message


def test_a_cycle_through_a_quoted_name_is_written_as_the_syntax_reads_it():
    assert error(build, [("a b", "c"), ("c", "a b")], ["c", "a b"], {}) == '--structure has a cycle: c -> "a b" -> c'


def test_a_cycle_is_found_among_many_nodes_without_recursion():
    names = [f"n{i}" for i in range(5_000)]
    edges = [*zip(names, names[1:]), ("n4999", "n2500"), ("n10", "n5")]
    message = error(build, edges, names, {})
    assert message == "--structure has a cycle: n5 -> n6 -> n7 -> n8 -> n9 -> n10 -> n5"


# --- round trips -----------------------------------------------------------------------------------

def test_describe_and_to_dot_of_the_survey():
    s = survey("H -> smoke, H -> cough, smoke -> cough, H -> age, region", {"H": 3})
    assert describe(s) == "H -> age, H -> smoke, H -> cough, smoke -> cough, region"
    assert to_dot(s) == ("digraph {\n  H [style=dashed];\n  H -> age;\n  H -> smoke;\n  H -> cough;\n"
                         "  smoke -> cough;\n  region;\n}\n")


def test_to_dot_quotes_names_graphviz_would_not_read_bare(tmp_path):
    names = ["node", "a b", 'q"x', "x-1", "1.5", "-2", "é", "ok_1"]
    s = build([(a, b) for a, b in zip(names, names[1:])], names, {})
    text = to_dot(s)
    for quoted in ['"node"', '"a b"', '"q\\"x"', '"x-1"', '"é"']:
        assert quoted in text
    for bare in ["1.5 -> -2", "-2 -> \"é\"", "-> ok_1"]:
        assert bare in text
    assert build(parse_edges(write(tmp_path, "n.dot", text)), names, {}) == s


NAMES = st.one_of(
    st.text(alphabet="ab_.-19 é\"\\\n#{>;", min_size=1, max_size=4),
    st.sampled_from(["node", "Digraph", "strict", "graph", "->", "--", "a b", "//", "1.5", "-1", "-", "x-", "[a]"]))


@st.composite
def networks(draw):
    """A valid build call: (edges, columns, hidden, mentioned), over 2 to 8 nodes and up to two
    columns outside the network."""
    n = draw(st.integers(2, 8))
    names = draw(st.lists(NAMES, min_size=n + 2, max_size=n + 2, unique=True))
    nodes, spare = names[:n], names[n:]
    pairs = [(i, j) for j in range(n) for i in range(j)]
    chosen = draw(st.integers(1, 2 ** len(pairs) - 1))
    edges = [pair for k, pair in enumerate(pairs) if chosen >> k & 1]
    wants_hidden = draw(st.integers(0, 2 ** n - 1))
    hidden_flags, below = [False] * n, [False] * n
    for i in reversed(range(n)):  # hidden only where an observed node lies below
        below[i] = any(not hidden_flags[j] or below[j] for a, j in edges if a == i)
        hidden_flags[i] = bool(wants_hidden >> i & 1) and below[i]
    edges = [(nodes[i], nodes[j]) for i, j in draw(st.permutations(edges))]
    hidden_names = draw(st.permutations([name for name, h in zip(nodes, hidden_flags) if h]))
    sizes = draw(st.lists(st.sampled_from([None, 2, 3]), min_size=len(hidden_names), max_size=len(hidden_names)))
    observed = [name for name, h in zip(nodes, hidden_flags) if not h]
    columns = draw(st.permutations(observed + spare[: draw(st.integers(0, 2))]))
    in_edges = {name for edge in edges for name in edge}
    also = draw(st.integers(0, 2 ** n - 1))  # some nodes with edges are named alone too
    mentioned = [name for k, name in enumerate(observed) if name not in in_edges or also >> k & 1]
    return edges, columns, dict(zip(hidden_names, sizes)), mentioned


@settings(max_examples=40, deadline=None)
@given(networks())
def test_round_trips_and_the_order_rule_on_random_networks(network):
    edges, columns, hidden, mentioned = network
    s = build(edges, columns, hidden, mentioned)
    for text in (describe(s), to_dot(s)):
        again = parse_edges(text)
        assert build(again, columns, hidden, again.mentioned) == s
    assert s.unused == tuple(c for c in columns if c not in s.nodes)
    # the order: at each step the first ready node in (hidden in --hidden order, then columns)
    priority = [*hidden, *columns]
    parents = {name: {p for p, c in edges if c == name} for name in s.nodes}
    placed = []
    for name in s.nodes:
        ready = [n for n in s.nodes if n not in placed and parents[n] <= set(placed)]
        assert name == min(ready, key=priority.index)
        placed.append(name)


SYNTAX = st.sampled_from(["a", "b", "c d", "->", "-", ">", "--", "{", "}", "[", "]", "=", ";", ",", "\n", " ", '"',
                          '\\"', "#", "//", "/*", "*/", "<", "digraph", "strict", "graph", "node", "subgraph", ":",
                          "\x00", "é"])


@settings(max_examples=100, deadline=None)
@given(st.lists(SYNTAX, max_size=30).map("".join), st.booleans())
def test_any_text_parses_or_fails_with_one_line(text, as_dot):
    text = f"digraph {{{text}" if as_dot else text
    try:
        edges = parse_edges(text)
    except UsageError as caught:
        assert "\n" not in str(caught) and str(caught).startswith("--structure")
    else:
        assert all(isinstance(a, str) and isinstance(b, str) and a and b for a, b in edges)
