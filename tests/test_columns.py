"""Choosing columns (issue 13, item 12): an identifier column became a feature silently.
``--exclude`` leaves columns out of the default choice wherever ``--columns`` is taken; an
integer column unique to every row is warned about; -v names the columns used."""

import json

import numpy as np
import pytest


@pytest.fixture
def ids(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    (tmp_path / "ids.csv").write_text("id,x,y\n" + "".join(f"{1001 + i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in enumerate(X)))
    return "ids.csv"


WARNING = ("emtool: warning: column 'id' holds a different integer in every row, as an identifier "
           "does; if it is one, leave it out with --exclude id\n")


@pytest.mark.parametrize("command", [["fit", "-k", "2"], ["select-k", "--k-range", "1:2", "--covariance", "full"], ["impute"],
                                     ["compress", "-k", "4"]])
def test_exclude_leaves_a_column_out_everywhere_columns_is_taken(run, ids, command):
    output = {"fit": "m.json", "select-k": "m.json", "impute": "out.csv", "compress": "c.emq"}[command[0]]
    result = run(command[0], ids, *command[1:], "--exclude", "id", "-o", output)
    assert result.exit_code == 0, result.output
    assert "identifier" not in result.stderr
    if command[0] in ("fit", "select-k"):
        assert json.load(open(output))["columns"] == ["x", "y"]
    if command[0] == "compress":
        assert run("decompress", output, "-o", "-").stdout.splitlines()[0] == "x,y"
    unknown = run(command[0], ids, *command[1:], "--exclude", "idd", "-o", "other" + output[-4:])
    assert unknown.exit_code == 2
    assert unknown.stderr == "emtool: error: ids.csv has no column 'idd' to --exclude (it has: id, x, y)\n"
    both = run(command[0], ids, *command[1:], "--exclude", "id", "--columns", "x", "-o", "other" + output[-4:])
    assert both.exit_code == 2 and "--columns and --exclude both choose the columns" in both.stderr


@pytest.mark.parametrize("command", [["fit", "-k", "2", "-o", "m.json"], ["select-k", "--k-range", "1:2", "--covariance", "full"],
                                     ["impute", "-o", "out.csv"]])
def test_an_identifier_chosen_by_default_is_warned_about(run, ids, command):
    result = run(command[0], ids, *command[1:])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(WARNING)
    chosen = run(command[0], ids, *command[1:], "--columns", "id,x")
    assert "identifier" not in chosen.stderr


def test_verbose_names_the_columns_used(run, ids):
    result = run("-v", "fit", ids, "-k", "2", "--exclude", "id", "-o", "m.json")
    assert "emtool: columns: x, y\n" in result.stderr


def test_exclude_with_a_warm_start_may_not_drop_its_columns(run, ids):
    assert run("fit", ids, "-k", "2", "--exclude", "id", "-o", "m.json").exit_code == 0
    result = run("fit", ids, "-k", "2", "--init", "m.json", "--exclude", "x", "-o", "again.json")
    assert result.exit_code == 2 and "--exclude names a column the --init model m.json uses" in result.stderr
