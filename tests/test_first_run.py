"""A person's first run: bare emtool helps, the sample data and the manual come with the package,
completion knows the models, and select-k's table fits the terminal."""

import json
import os
import subprocess
import sys
import tomllib

import pytest

from conftest import FAITHFUL, ROOT


def test_bare_emtool_prints_the_help_and_succeeds():
    done = subprocess.run([sys.executable, "-m", "emcli"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("Usage: emtool [OPTIONS] COMMAND [ARGS]...")
    assert "select-k" in done.stdout and "sample-data" in done.stdout


def test_sample_data_copies_every_file_and_never_overwrites(run, tmp_path):
    assert run("sample-data", "samples").exit_code == 0
    copied = sorted(os.listdir(tmp_path / "samples"))
    shipped = sorted(name for name in os.listdir(ROOT / "sample_data")
                     if name.endswith((".csv", ".dot", ".png", ".py", ".md")))
    assert copied == shipped and "faithful.csv" in copied
    assert (tmp_path / "samples" / "faithful.csv").read_bytes() == open(FAITHFUL, "rb").read()
    assert run("fit", "samples/faithful.csv", "-k", "2", "-o", "m.json").exit_code == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "blobs.csv").write_text("x\n1\n")
    result = run("sample-data", "mine")
    assert result.exit_code == 2 and result.stderr == ("emtool: error: mine/blobs.csv exists; give a new or empty "
                                                      "directory\n")
    assert os.listdir(tmp_path / "mine") == ["blobs.csv"]
    result = run("sample-data", "m.json")
    assert result.exit_code == 2 and result.stderr == "emtool: error: m.json: not a directory\n"


def test_the_package_installs_the_manual_and_the_sample_data():
    """pip install . puts the man pages in PREFIX/share/man (where man finds them beside the
    installed emtool: `man emtool-fit`) and the sample data in PREFIX/share/emtool, for
    sample-data: every page and every sample file is matched by pyproject's data-files."""
    import glob

    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    installed = {os.path.basename(path) for patterns in data_files.values() for pattern in patterns
                 for path in glob.glob(str(ROOT / pattern))}
    pages = set(os.listdir(ROOT / "man"))
    assert "emtool-fit.1" in pages and "emtool-gmm.7" in pages and pages <= installed
    samples = {name for name in os.listdir(ROOT / "sample_data") if not name.startswith((".", "__"))}
    assert samples <= installed


@pytest.mark.parametrize("words, expected", [("emtool fit -m b", ["bernoulli", "bn", "blr"]),
                                             ("emtool select-k -m tm", ["tmix"]),
                                             ("emtool sample-", ["sample-data"])])
def test_shell_completion_completes_models_and_commands(words, expected):
    env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1), _EMTOOL_COMPLETE="bash_complete")
    done = subprocess.run([sys.executable, "-m", "emcli"], env=env, capture_output=True, text=True)
    assert [line.split(",", 1)[1] for line in done.stdout.splitlines()] == expected


def test_select_k_table_fits_an_80_column_terminal(run):
    """The table a person reads: no row wrapped at 80 columns, empty columns (error, with no
    failed cell) left out, the full table still in the CSV and JSON."""
    from emcli.cli.table import render_rows

    rows = json.loads(run("select-k", FAITHFUL, "--k-range", "1:3", "--covariance", "full,tied,diag,spherical",
                          "--output-format", "json").stdout)
    for width in (80, 120):
        text = render_rows(rows, "table", width)
        lines = text.rstrip("\n").split("\n")
        assert max(map(len, lines)) <= width and len(lines) == len(rows) + 2
        assert "error" not in lines[0] and "bic" in lines[0] and "covariance" in lines[0]
    rows[4]["error"] = "a covariance became singular at iteration 3, component 2 resting on two rows"
    lines = render_rows(rows, "table", 80).rstrip("\n").split("\n")
    assert max(map(len, lines)) <= 80 and len(lines) == len(rows) + 2
    assert "error" in lines[0] and "a covariance" in lines[6] and "\u2026" in lines[6]
    assert "seconds" in render_rows(rows, "table", 160).split("\n", 1)[0]
