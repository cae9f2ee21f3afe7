"""Hostile inputs get one line and exit 2, never a traceback (issue 13, item 6): a column name
that is not UTF-8, numbers beyond float range, JSON nested too deeply or with integers too long
to read, options of the wrong type."""

import json

import pytest

from conftest import FAITHFUL

NOT_UTF8 = b"a\xff,b\n1,2\n3,4\n5,6\n"


@pytest.mark.parametrize("args", [["fit", "bad.csv"], ["select-k", "bad.csv", "--k-range", "1:2"],
                                  ["impute", "bad.csv"], ["compress", "bad.csv", "-k", "2", "-o", "c.emq"],
                                  ["predict", "m.json", "bad.csv"]])
def test_a_column_name_that_is_not_utf8_is_one_line(run, tmp_path, args):
    (tmp_path / "bad.csv").write_bytes(NOT_UTF8)
    assert run("fit", FAITHFUL, "-o", "m.json").exit_code == 0
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr == "emtool: error: bad.csv: a column name is not UTF-8 text (byte 0xff); save the file as UTF-8\n"


def _model(run) -> dict:
    assert run("fit", FAITHFUL, "-k", "2", "-o", "m.json").exit_code == 0
    return json.loads(open("m.json").read())


HOSTILE = {
    "huge.json": (lambda doc: json.dumps(doc).replace('"weights": [', '"weights": [1' + "0" * 400 + ", ", 1),
                  "params.weights: holds a number beyond the range of a float"),
    "digits.json": (lambda doc: json.dumps(doc).replace('"k": 2', '"k": 2' + "0" * 5000, 1),
                    "is not an emtool model file (a number too long to read)"),
    "deep.json": (lambda doc: '{"format": "emtool-model", "x": ' + "[" * 100000 + "]" * 100000 + "}",
                  "is not an emtool model file (JSON nested too deeply)"),
    "options.json": (lambda doc: json.dumps(dict(doc, options=dict(doc["options"], prior_params="abc"))),
                     "options: not options of gmm"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["predict", "sample", "impute"])
def test_a_hostile_model_file_is_one_line(run, tmp_path, name, command):
    make, message = HOSTILE[name]
    (tmp_path / name).write_text(make(_model(run)))
    args = {"predict": ["predict", name, FAITHFUL], "sample": ["sample", name, "-n", "5"],
            "impute": ["impute", FAITHFUL, "--model-file", name]}[command]
    result = run(*args, "-o", "out.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"emtool: error: {name}") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "out.csv").exists()


def _emq(header: bytes, body: bytes = b"") -> bytes:
    import struct
    import zlib

    from emcli.vq import container

    payload = container.MAGIC + struct.pack("<HI", container.VERSION, len(header)) + header + body
    return payload + struct.pack("<I", zlib.crc32(payload))


def test_an_emq_header_nested_too_deeply_is_one_line(run, tmp_path):
    (tmp_path / "deep.emq").write_bytes(_emq(b"[" * 100000 + b"]" * 100000))
    result = run("decompress", "deep.emq", "-o", "out.csv")
    assert result.exit_code == 2 and result.stderr == "emtool: error: deep.emq has an invalid header\n"
    assert not (tmp_path / "out.csv").exists()


def test_an_emq_with_two_columns_of_one_name_is_refused(run, tmp_path):
    """It used to decode into a table with one of the two columns silently dropped."""
    import numpy as np

    from emcli.vq import container

    packed = container.Quantised("table", (3,), np.array([[1.0, 2.0]]), np.zeros(3, dtype=np.uint8),
                                 None, ["a", "a"])
    (tmp_path / "dup.emq").write_bytes(container.encode(packed))
    result = run("decompress", "dup.emq", "-o", "out.csv")
    assert result.exit_code == 2 and result.stderr == "emtool: error: dup.emq has an invalid header\n"
    assert not (tmp_path / "out.csv").exists()


def test_a_plot_that_is_not_named_png_is_refused_before_any_work(run, tmp_path):
    result = run("select-k", FAITHFUL, "--k-range", "1:2", "--plot", "p.txt")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: --plot p.txt: the plot is a PNG image")
    assert list(tmp_path.iterdir()) == []


def test_a_model_file_may_come_from_stdin_but_not_with_the_data(run, tmp_path):
    """Issue 13, item 14."""
    assert run("fit", FAITHFUL, "-k", "2", "-o", "m.json").exit_code == 0
    model = (tmp_path / "m.json").read_text()
    predicted = run("predict", "-", FAITHFUL, "-o", "-", input=model)
    assert predicted.exit_code == 0 and predicted.stdout.startswith("eruptions,waiting,cluster\n")
    assert run("sample", "-", "-n", "3", "-o", "-", input=model).stdout.count("\n") == 4
    both = run("predict", "-", "-", input=model)
    assert both.exit_code == 2
    assert both.stderr == ("emtool: error: two inputs are '-'; standard input can be read only once, "
                           "so save one of them to a file\n")


def test_parquet_on_stdin_is_read_with_input_format_or_named(run, tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(pacsv.read_csv(FAITHFUL), tmp_path / "f.parquet")
    payload = (tmp_path / "f.parquet").read_bytes()
    from click.testing import CliRunner

    from emcli.cli import cli

    read = CliRunner().invoke(cli, ["fit", "-", "--input-format", "parquet", "-o", "m.json"], input=payload)
    assert read.exit_code == 0, read.output
    guessed = CliRunner().invoke(cli, ["fit", "-", "-o", "m2.json"], input=payload)
    assert guessed.exit_code == 2
    assert guessed.stderr == ("emtool: error: <stdin> is a Parquet file, not CSV; read it with "
                              "--input-format parquet\n")


def test_a_malformed_row_that_is_not_utf8_is_one_line(tmp_path):
    """pyarrow fails to decode the row before calling the handler; Python printed that as
    'Exception ignored in ...' and the command then failed on an empty list."""
    import subprocess

    (tmp_path / "bad.csv").write_bytes(b"a,b\n1,2\n\xff\xfe,3,4\n5,6\n")
    done = subprocess.run(["emtool", "fit", "bad.csv", "-o", "m.json"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("emtool: error: bad.csv: CSV parse error: Expected 2 columns, got 3")


def test_a_model_file_too_large_is_refused_before_it_is_parsed(run, tmp_path, monkeypatch):
    """Issue 13, item 5: a 1 GB model file took 14 GB and 125 s to be refused for its shape."""
    from emcli.io import modelfile

    monkeypatch.setattr(modelfile, "MAX_MODEL_BYTES", 1000)
    (tmp_path / "big.json").write_text('{"format": "emtool-model", "params": [' + "1.5, " * 1000 + "1]}")
    result = run("predict", "big.json", FAITHFUL)
    assert result.exit_code == 2
    assert result.stderr == ("emtool: error: big.json is larger than 1,000 bytes, more than any model emtool "
                             "writes; it is not read\n")
