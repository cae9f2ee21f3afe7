"""Columns a command does not use come back as the input had them (issue 13, item 11): predict
and impute on CSV wrote 007 as 7, 02139 as 2139, True as true and 1.0 as 1."""

import os

import pyarrow.parquet as pq
import pytest

INPUT = ('id,zip,flag,x,y,note\n007,02139,True,1.0,2.50,"a, b"\n008,10001,False,2.0,,plain\n'
         '009,94110,True,3.0,4.0,NA\n010,60601,False,,5.5,x\n011,00501,True,5.0,6.0,\n'
         '012,02115,False,6.0,7.25,"say ""hi"""\n')


@pytest.fixture
def table(tmp_path, run):
    (tmp_path / "in.csv").write_text(INPUT)
    assert run("fit", "in.csv", "--columns", "x,y", "-k", "1", "-o", "m.json").exit_code == 0
    return "in.csv"


def _without_last_column(text: str) -> str:
    return "".join(line.rsplit(",", 1)[0] + "\n" for line in text.splitlines())


def test_predict_writes_every_input_cell_as_it_was(run, table):
    result = run("predict", "m.json", table, "--proba", "-o", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id,zip,flag,x,y,note,cluster,p_0"
    assert "".join(line.rsplit(",", 2)[0] + "\n" for line in lines) == INPUT


def test_predict_from_stdin_and_a_file_agree(run, table):
    from_file = run("predict", "m.json", table, "-o", "-").stdout
    assert run("predict", "m.json", "-", "-o", "-", input=INPUT).stdout == from_file
    assert _without_last_column(from_file) == INPUT


def test_impute_changes_only_the_cells_it_fills(run, table):
    result = run("impute", table, "--columns", "x,y", "-o", "-")
    assert result.exit_code == 0, result.output
    out, original = result.stdout.splitlines(), INPUT.splitlines()
    changed = [(i, a, b) for i, (a, b) in enumerate(zip(original, out)) if a != b]
    assert [i for i, _, _ in changed] == [2, 4]  # the rows with an empty x or y
    assert out[2].startswith("008,10001,False,2.0,") and out[2].endswith(",plain")
    assert out[4].startswith("010,60601,False,") and out[4].endswith(",5.5,x")


def test_tsv_in_gives_tsv_out_and_parquet_keeps_types(run, tmp_path, table):
    tsv = INPUT.replace('"a, b"', "a b").replace('"say ""hi"""', "hi").replace(",", "\t")
    (tmp_path / "in.tsv").write_text(tsv)
    result = run("predict", "m.json", "in.tsv", "-o", "-")
    assert result.exit_code == 0
    assert "".join(line.rsplit("\t", 1)[0] + "\n" for line in result.stdout.splitlines()) == tsv
    assert run("impute", table, "--columns", "x,y", "-o", "out.parquet").exit_code == 0
    types = {f.name: str(f.type) for f in pq.read_schema(tmp_path / "out.parquet")}
    assert types == {"id": "int64", "zip": "int64", "flag": "bool", "x": "double", "y": "double",
                     "note": "string"}


def test_a_fifo_no_process_writes_to_is_one_line(run, tmp_path, monkeypatch):
    """Issue 13, item 10: it waited for a writer without end."""
    from emcli.io import streams

    monkeypatch.setattr(streams, "FIFO_WAIT_SECONDS", 0.2)
    os.mkfifo(tmp_path / "pipe.csv")
    result = run("fit", "pipe.csv", "-o", "m.json")
    assert result.exit_code == 2
    assert result.stderr == ("emtool: error: pipe.csv: no process opened this FIFO for writing "
                             "within 0.2 s\n")
