"""The Bayesian Interchange Format (emcli.models.bn_bif): write then read is exact, real files
from bnlearn and JavaBayes read with the right numbers (the ``table`` order pinned down), and
every bad input is a one-line UsageError naming its line and variable."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emcli.errors import UsageError
from emcli.models import bn_bif
from emcli.models.bn_bif import read_bif, read_bif_file, write_bif

#: bnlearn's cancer.bif, as the repository has it
CANCER = """\
network unknown {
}
variable Pollution {
  type discrete [ 2 ] { low, high };
}
variable Smoker {
  type discrete [ 2 ] { True, False };
}
variable Cancer {
  type discrete [ 2 ] { True, False };
}
variable Xray {
  type discrete [ 2 ] { positive, negative };
}
variable Dyspnoea {
  type discrete [ 2 ] { True, False };
}
probability ( Pollution ) {
  table 0.9, 0.1;
}
probability ( Smoker ) {
  table 0.3, 0.7;
}
probability ( Cancer | Pollution, Smoker ) {
  (low, True) 0.03, 0.97;
  (high, True) 0.05, 0.95;
  (low, False) 0.001, 0.999;
  (high, False) 0.02, 0.98;
}
probability ( Xray | Cancer ) {
  (True) 0.9, 0.1;
  (False) 0.2, 0.8;
}
probability ( Dyspnoea | Cancer ) {
  (True) 0.65, 0.35;
  (False) 0.3, 0.7;
}
"""

#: JavaBayes' dog-problem.bif (as pgmpy's tests carry it): quoted names, no '|', states
#: separated by spaces, properties, comments, and ``table`` for nodes with parents
DOG = """\
network "Dog-Problem" { //5 variables and 5 probability distributions
        property "credal-set constant-density-bounded 1.1" ;
}
variable  "light-on" { //2 values
        type discrete[2] {  "true"  "false" };
        property "position = (218, 195)" ;
}
variable  "bowel-problem" { //2 values
        type discrete[2] {  "true"  "false" };
        property "position = (335, 99)" ;
}
variable  "dog-out" { //2 values
        type discrete[2] {  "true"  "false" };
        property "position = (300, 195)" ;
}
variable  "hear-bark" { //2 values
        type discrete[2] {  "true"  "false" };
        property "position = (296, 268)" ;
}
variable  "family-out" { //2 values
        type discrete[2] {  "true"  "false" };
        property "position = (257, 99)" ;
}
probability (  "light-on"  "family-out" ) { //2 variable(s) and 4 values
        table 0.6 0.05 0.4 0.95 ;
}
probability (  "bowel-problem" ) { //1 variable(s) and 2 values
        table 0.01 0.99 ;
}
probability (  "dog-out"  "bowel-problem"  "family-out" ) { //3 variable(s) and 8 values
        table 0.99 0.97 0.9 0.3 0.01 0.03 0.1 0.7 ;
}
probability (  "hear-bark"  "dog-out" ) { //2 variable(s) and 4 values
        table 0.7 0.01 0.3 0.99 ;
}
probability (  "family-out" ) { //1 variable(s) and 2 values
        table 0.15 0.85 ;
}
"""

#: a small valid network the error tests break one line of (line numbers matter)
BASE = """\
network test {
}
variable A {
  type discrete [ 2 ] { yes, no };
}
variable B {
  type discrete [ 3 ] { low, mid, high };
}
probability ( A ) {
  table 0.25, 0.75;
}
probability ( B | A ) {
  (yes) 0.2, 0.3, 0.5;
  (no) 0.1, 0.1, 0.8;
}
"""

AWKWARD = ["a b", "x,y", 'q"t', "1.5", "true", "0", "ünïcødé", "日本", "", "back\\slash", "tab\there",
           "new\nline", "(paren)", "semi;colon", "{brace}", "// not a comment", "/* nor this */", "table",
           "default", "Variable", "a|b", "-", "<5", "0-3_days"]


def network_by_name(network: list) -> dict:
    return {variable["name"]: variable for variable in network}


def random_network(rng: np.random.Generator, size: int) -> list:
    """A random DAG over ``size`` variables (each its parents among the earlier ones, then
    shuffled so the blocks are not in topological order), awkward names and states, Dirichlet
    CPTs."""
    names = [f"v{i}" if rng.random() < 0.6 else f"{AWKWARD[rng.integers(len(AWKWARD))]}#{i}" for i in range(size)]
    cards = rng.integers(1, 5, size=size)
    network = []
    for i in range(size):
        pool = rng.permutation(i)[:rng.integers(0, min(i, 3) + 1)]
        parents = [names[p] for p in pool]
        states = list(dict.fromkeys(AWKWARD[j] if rng.random() < 0.5 else f"s{j}"
                                    for j in rng.integers(len(AWKWARD), size=cards[i])))
        shape = tuple(len(network[p]["states"]) for p in pool) + (len(states),)
        cpt = rng.dirichlet(np.ones(len(states)) * rng.uniform(0.1, 3), size=shape[:-1])
        network.append({"name": names[i], "states": states, "parents": parents, "cpt": cpt})
    return [network[i] for i in rng.permutation(size)]


def assert_one_line_error(text: str, *pieces: str) -> str:
    with pytest.raises(UsageError) as caught:
        read_bif(text, "net.bif")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("net.bif: ")
    for piece in pieces:
        assert piece in message, message
    return message


# -- writing and reading back ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_write_then_read_is_exact(seed):
    """Names, states and parents come back as given, CPTs bit for bit, in the order written."""
    rng = np.random.default_rng(seed)
    network = random_network(rng, int(rng.integers(1, 9)))
    back = read_bif(write_bif(f"net {seed}", network), "written")
    assert [v["name"] for v in back] == [v["name"] for v in network]
    for original, read in zip(network, back):
        assert read["states"] == original["states"]
        assert read["parents"] == original["parents"]
        assert read["cpt"].dtype == np.float64 and read["cpt"].shape == original["cpt"].shape
        assert np.array_equal(read["cpt"].view(np.uint64), original["cpt"].view(np.uint64))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=4, unique=True), st.text(min_size=1, max_size=8))
def test_any_state_and_name_reads_back(states, name):
    cpt = np.full(len(states), 1 / len(states))
    network = [{"name": name, "states": states, "parents": [], "cpt": cpt}]
    back = read_bif(write_bif(name, network), "written")
    assert back[0]["name"] == name and back[0]["states"] == states


def test_the_layout_is_bnlearns():
    """Line for line bnlearn's, but for the order of the rows: bnlearn (R) lists the first parent
    fastest, write_bif the last, as pgmpy's BIFWriter does; readers take rows in any order."""
    network = read_bif(CANCER, "cancer.bif")
    text = write_bif("unknown", network)
    high_true, low_false = "  (high, True) 0.05, 0.95;\n", "  (low, False) 0.001, 0.999;\n"
    assert text == CANCER.replace(high_true + low_false, low_false + high_true)


def test_plain_names_stay_bare_and_others_are_quoted():
    network = [{"name": "A", "states": ["0", "1.5", "a b", 'q"t', "table"], "parents": [], "cpt": np.full(5, 0.2)}]
    text = write_bif("n", network)
    assert '{ 0, 1.5, "a b", "q\\"t", "table" }' in text


def test_write_refuses_tables_that_do_not_fit():
    a = {"name": "A", "states": ["x", "y"], "parents": [], "cpt": np.array([0.5, 0.5])}
    with pytest.raises(ValueError):
        write_bif("n", [a, {"name": "B", "states": ["u"], "parents": ["A"], "cpt": np.ones((3, 1))}])
    with pytest.raises(ValueError):
        write_bif("n", [{"name": "B", "states": ["u"], "parents": ["Z"], "cpt": np.ones((3, 1))}])


# -- real files ------------------------------------------------------------------------------------


def test_bnlearn_cancer():
    network = read_bif(CANCER, "cancer.bif")
    assert [v["name"] for v in network] == ["Pollution", "Smoker", "Cancer", "Xray", "Dyspnoea"]
    nodes = network_by_name(network)
    cancer = nodes["Cancer"]
    assert cancer["parents"] == ["Pollution", "Smoker"] and cancer["states"] == ["True", "False"]
    assert cancer["cpt"].shape == (2, 2, 2)
    # P(Cancer | Pollution, Smoker): [pollution][smoker][cancer]
    assert cancer["cpt"][1, 0, 0] == 0.05  # high, True
    assert cancer["cpt"][0, 1, 1] == 0.999  # low, False
    assert nodes["Pollution"]["cpt"].tolist() == [0.9, 0.1]
    assert nodes["Xray"]["cpt"][1].tolist() == [0.2, 0.8]


def test_table_lists_the_nodes_own_state_slowest():
    """JavaBayes' dog problem: ``dog-out | bowel-problem family-out`` has table 0.99 0.97 0.9
    0.3 0.01 0.03 0.1 0.7, P(dog-out = true) given (true, true), (true, false), (false, true),
    (false, false) then P(false) likewise; read the other way no row would sum to 1."""
    nodes = network_by_name(read_bif(DOG, "dog-problem.bif"))
    dog = nodes["dog-out"]
    assert dog["parents"] == ["bowel-problem", "family-out"]
    assert dog["cpt"][:, :, 0].tolist() == [[0.99, 0.97], [0.9, 0.3]]
    assert dog["cpt"][0, 1].tolist() == [0.97, 0.03]
    assert nodes["light-on"]["cpt"].tolist() == [[0.6, 0.4], [0.05, 0.95]]
    assert nodes["hear-bark"]["cpt"].tolist() == [[0.7, 0.3], [0.01, 0.99]]


def test_table_and_rows_say_the_same():
    """pgmpy's tests read one network written both ways alike."""
    rows = DOG.replace("table 0.6 0.05 0.4 0.95 ;", "(true) 0.6 0.4 ;\n(false) 0.05 0.95 ;")
    assert rows != DOG
    a, b = network_by_name(read_bif(DOG, "a")), network_by_name(read_bif(rows, "b"))
    assert np.array_equal(a["light-on"]["cpt"], b["light-on"]["cpt"])


def test_rows_in_any_order_comments_caps_and_properties():
    text = """/* a network */ NETWORK "x y" { property version 1.0 ; }
    Variable A { // the root
      property position = (1, 2);
      TYPE Discrete[3]{a,b c};
    }
    variable B { type discrete [ 2 ] { "0" 1 }; }
    probability ( B A ) {
      (c) 0.5 0.5;   (a) 0.25, 0.75;
      (b) 1, 0;
      property note = 3;
    }
    probability(A){table 1e-1,2E-1,.7;}
    """
    nodes = network_by_name(read_bif(text, "x.bif"))
    assert nodes["A"]["states"] == ["a", "b", "c"] and nodes["B"]["states"] == ["0", "1"]
    assert nodes["B"]["cpt"].tolist() == [[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]]
    assert nodes["A"]["cpt"].tolist() == [0.1, 0.2, 0.7]


def test_default_fills_the_configurations_not_listed():
    text = BASE.replace("  (no) 0.1, 0.1, 0.8;\n", "  default 0.1, 0.1, 0.8;\n")
    b = network_by_name(read_bif(text, "d.bif"))["B"]
    assert b["cpt"].tolist() == [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]
    # a row overrides the default, wherever the default is written
    text = BASE.replace("  (yes) 0.2, 0.3, 0.5;\n", "  default 0.6, 0.2, 0.2;\n  (yes) 0.2, 0.3, 0.5;\n")
    text = text.replace("  (no) 0.1, 0.1, 0.8;\n", "")
    assert network_by_name(read_bif(text, "d.bif"))["B"]["cpt"][1].tolist() == [0.6, 0.2, 0.2]


def test_rows_off_by_rounding_are_renormalised():
    text = BASE.replace("0.2, 0.3, 0.5", "0.3333333, 0.3333333, 0.3333333")
    b = network_by_name(read_bif(text, "r.bif"))["B"]["cpt"]
    assert np.allclose(b[0], 1 / 3, rtol=1e-15) and abs(b[0].sum() - 1) < 1e-15
    assert b[1].tolist() == [0.1, 0.1, 0.8]  # within rounding of 1: kept as written


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, pieces", [
    # syntax
    ("variable B {", "variable B", ["line 7", "expected '{' after the variable name 'B', found 'type'"]),
    ("  table 0.25, 0.75;", "  table 0.25, 0.75", ["line 11", "expected a probability or ';'", "'}'"]),
    ("network test {", "netwrk test {", ["line 1", "expected a 'network', 'variable' or 'probability' block"]),
    ("{ low, mid, high }", "{ low, mid, high", ["line 7", "expected a state of variable 'B' or '}', found ';'"]),
    ("{ yes, no }", "{ yes, no, \"open }", ["line 4", "unclosed quoted name"]),
    ("network test {", "/* network test {", ["line 1", "unclosed comment"]),
    ("type discrete [ 2 ]", "type continuous [ 2 ]", ["line 4", "only 'type discrete'", "'A'"]),
    ("type discrete [ 2 ]", "type discrete [ two ]", ["line 4", "number of states", "'A'"]),
    ("type discrete [ 2 ]", "type discrete [ 3 ]", ["line 4", "'A' declares 3 states but lists 2"]),
    ("{ yes, no }", "{ yes, yes }", ["line 4", "state 'yes' is listed twice", "'A'"]),
    ("  type discrete [ 2 ] { yes, no };\n", "", ["line 4", "'A' has no 'type"]),
    ("probability ( B | A )", "probability ( B | )", ["line 12", "after '|'", "'B'"]),
    ("(yes) 0.2", "[yes] 0.2", ["line 13", "expected '(', 'table', 'default'", "'B'"]),
    # names
    ("probability ( B | A )", "probability ( B | C )", ["line 12", "unknown variable 'C'", "'B'"]),
    ("probability ( B | A )", "probability ( Z | A )", ["line 12", "unknown variable 'Z'"]),
    ("(yes) 0.2", "(maybe) 0.2", ["line 13", "'maybe' is not a state of 'A'"]),
    ("(yes) 0.2", "(yes, no) 0.2", ["line 13", "'B' has 1 parent ('A'), found a configuration of 2 states"]),
    ("probability ( B | A )", "probability ( B | A, A )", ["line 12", "parent 'A' of 'B' is listed twice"]),
    ("probability ( B | A )", "probability ( B | B )", ["line 12", "'B' cannot be its own parent"]),
    ("variable B {", "variable A {", ["line 6", "variable 'A' is declared twice (first on line 3)"]),
    ("variable B {", 'variable "" {', ["line 6", "cannot be empty"]),
    # numbers
    ("(yes) 0.2, 0.3, 0.5", "(yes) 0.2, 0.3", ["line 13", "'B' has 3 states, found 2 probabilities", "'yes'"]),
    ("table 0.25, 0.75", "table 0.25, 0.5, 0.25", ["line 10", "the table of 'A' needs 2 probabilities", "found 3"]),
    ("(yes) 0.2, 0.3, 0.5", "(yes) -0.2, 0.7, 0.5", ["line 13", "negative probability '-0.2'", "'B'"]),
    ("(yes) 0.2, 0.3, 0.5", "(yes) 0.2, nan, 0.5", ["line 13", "'nan'", "not a finite number", "'B'"]),
    ("(yes) 0.2, 0.3, 0.5", "(yes) 0.2, 1e999, 0.5", ["line 13", "'1e999'", "not a finite number"]),
    ("(yes) 0.2, 0.3, 0.5", "(yes) 0.2, 0.3, 0.6", ["line 13", "the probabilities of 'B' given ('yes') sum to 1.1"]),
    ("table 0.25, 0.75", "table 0.25, 0.7", ["line 10", "the probabilities of 'A' sum to 0.95, not 1"]),
    ("(yes) 0.2, 0.3, 0.5", "(yes) 0.2, 0.3, 0.5000011", ["line 13", "sum to 1.0000011"]),
    # blocks
    ("  (no) 0.1, 0.1, 0.8;\n", "", ["line 12", "no probabilities for 'B' given ('no'), and no 'default'"]),
    ("  (no) 0.1, 0.1, 0.8;\n", "  (yes) 0.1, 0.1, 0.8;\n", ["line 14", "'B' given ('yes') is given twice"]),
    ("  (no) 0.1, 0.1, 0.8;\n", "  default 0.1, 0.1, 0.8;\n  default 0.1, 0.1, 0.8;\n",
     ["line 15", "'B' has a second 'default'"]),
    ("  (no) 0.1, 0.1, 0.8;\n", "  table 0.2, 0.1, 0.3, 0.1, 0.5, 0.8;\n", ["line 14", "'table' gives every"]),
    ("probability ( A ) {\n  table 0.25, 0.75;\n}\n", "", ["line 3", "variable 'A' has no probability block"]),
    ("probability ( B | A ) {", "probability ( A ) {\n  table 0.5, 0.5;\n}\nprobability ( B | A ) {",
     ["line 12", "a second probability block for 'A' (the first is on line 9)"]),
    ("}\nvariable A", "}\nnetwork again { }\nvariable A", ["line 3", "a second 'network' block"]),
])
def test_each_error_is_one_line_naming_its_line_and_variable(old, new, pieces):
    assert old in BASE
    assert_one_line_error(BASE.replace(old, new, 1), *pieces)


def test_a_cycle_is_refused_naming_a_node_on_it():
    text = """variable R { type discrete [2] {a b}; }
    variable A { type discrete [2] {a b}; }
    variable B { type discrete [2] {a b}; }
    variable C { type discrete [2] {a b}; }
    variable D { type discrete [2] {a b}; }
    probability ( R ) { table 0.5 0.5; }
    probability ( D | C ) { default 0.5 0.5; }
    probability ( A | R, C ) { default 0.5 0.5; }
    probability ( B | A ) { default 0.5 0.5; }
    probability ( C | B ) { default 0.5 0.5; }
    """
    message = assert_one_line_error(text, "cycle")
    cycle = message.split(": ")[-1].split(" -> ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"'A'", "'B'", "'C'"}
    assert "'D'" not in message and "'R'" not in message


def test_empty_and_non_bif_text():
    assert_one_line_error("", "no 'variable' block")
    assert_one_line_error("// nothing\n", "no 'variable' block")
    assert_one_line_error("a,b,c\n1,2,3\n", "line 1", "expected a 'network'")


def test_names_with_control_characters_stay_on_one_line():
    assert_one_line_error('variable "a\\nb" { type discrete [ 1 ] { x }; }\nprobability ( "a\\nb" ) { }',
                          "line 2", "no probabilities")


def test_resources_are_checked_before_memory_is_spent():
    states = ", ".join(f"s{i}" for i in range(1000))
    text = "".join(f"variable P{i} {{ type discrete [ 1000 ] {{ {states} }}; }}\n" for i in range(3))
    text += "variable C { type discrete [ 2 ] { a, b }; }\n"
    text += "probability ( C | P0, P1, P2 ) { default 0.5, 0.5; }\n"
    assert_one_line_error(text, "line 5", "the table of 'C'", "10,000,000 probabilities")
    # many tables each below the bound, together above it
    text = "variable P { type discrete [ 1000 ] { " + states + " }; }\n"
    text += "".join(f"variable C{i} {{ type discrete [ 1000 ] {{ {states} }}; }}\n" for i in range(11))
    text += "probability ( P ) { default " + ", ".join(["0.001"] * 1000) + "; }\n"
    row = ", ".join(["0.001"] * 1000)
    text += "".join(f"probability ( C{i} | P ) {{ default {row}; }}\n" for i in range(11))
    assert_one_line_error(text, "line 23", "the table of 'C9'", "past 10,000,000")


def test_text_past_the_bound_is_refused():
    assert_one_line_error(" " * (bn_bif.MAX_BYTES + 1), "larger than 2 MB")


# -- files -------------------------------------------------------------------------------------------


def test_read_bif_file(tmp_path):
    path = tmp_path / "cancer.bif"
    path.write_text(CANCER, encoding="utf-8")
    assert [v["name"] for v in read_bif_file(str(path))][:2] == ["Pollution", "Smoker"]
    bad = tmp_path / "latin1.bif"
    bad.write_bytes(CANCER.replace("low", "l\xf6w").encode("latin-1"))
    with pytest.raises(UsageError, match=r"latin1\.bif: not UTF-8 text"):
        read_bif_file(str(bad))
    with pytest.raises(UsageError, match=r"missing\.bif: cannot read it"):
        read_bif_file(str(tmp_path / "missing.bif"))
    with pytest.raises(UsageError, match="cannot read it"):
        read_bif_file(str(tmp_path))
    big = tmp_path / "big.bif"
    big.write_bytes(b" " * (bn_bif.MAX_BYTES + 1))
    with pytest.raises(UsageError, match="larger than 2 MB"):
        read_bif_file(str(big))
    broken = tmp_path / "broken.bif"
    broken.write_text(BASE.replace("(yes) 0.2", "(maybe) 0.2"), encoding="utf-8")
    with pytest.raises(UsageError, match=r"broken\.bif: line 13: 'maybe'"):
        read_bif_file(str(broken))


# -- any input ---------------------------------------------------------------------------------------

#: pieces of BIF, so that random text reaches past the first token
PIECES = ["network", "variable", "probability", "type", "discrete", "table", "default", "property", "A", "B",
          "yes", "no", "0.5", "1", "-1", "nan", "1e999", "2", "{", "}", "(", ")", "[", "]", ";", ",", "|", '"',
          '"a b"', "//", "/*", "*/", "\n", " ", "\\"]


def _must_be_usage_error_or_network(text: str) -> None:
    try:
        network = read_bif(text, "fuzz")
    except UsageError as error:
        assert "\n" not in str(error)
        return
    for variable in network:
        assert np.allclose(variable["cpt"].sum(axis=-1), 1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_usage_error(text):
    _must_be_usage_error_or_network(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=80).map(" ".join))
def test_arbitrary_bif_pieces_raise_only_usage_error(text):
    _must_be_usage_error_or_network(text)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_real_network_with_one_piece_changed_raises_only_usage_error(data):
    tokens = BASE.split(" ")
    at = data.draw(st.integers(0, len(tokens) - 1))
    tokens[at] = data.draw(st.sampled_from(PIECES + [""]))
    _must_be_usage_error_or_network(" ".join(tokens))
