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
