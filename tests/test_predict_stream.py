"""predict block by block (emcli.io.blocks): the same bytes as the whole table gives, a bad cell
in a late block named by its row in the file with nothing written, and a column whose type the
first block would guess wrong read right."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import emcli.io.blocks
from emcli.io.modelfile import read_model
from emcli.pipeline import Source
from emcli.predict import _predict_whole

ROWS = 3000


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 KiB of cells: the tables below make dozens of them."""
    monkeypatch.setattr(emcli.io.blocks, "BLOCK_BYTES", 4096)


def _table(tmp_path, fmt: str):
    """Two clusters; column a holds integers for its first 2,000 rows, decimals after (a
    streaming reader that guessed its type from the first block would fail); a text column
    passes through."""
    rng = np.random.default_rng(0)
    a = np.where(np.arange(ROWS) < 2000, rng.integers(0, 9, ROWS).astype(float),
                 rng.normal(4.0, 1.0, ROWS).round(3))
    b = rng.normal(size=ROWS) + (np.arange(ROWS) % 2) * 6
    names = [f"id-{i:04d}" for i in range(ROWS)]
    if fmt == "parquet":
        path = tmp_path / "data.parquet"
        pq.write_table(pa.table({"name": names, "a": a, "b": b}), path, row_group_size=700)
    else:
        path = tmp_path / "data.csv"
        lines = ["name,a,b"] + [f"{n},{int(x) if i < 2000 else float(x)},{float(y)!r}" for i, (n, x, y) in enumerate(zip(names, a, b))]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("model", [["-m", "gmm", "-k", "2"], ["-m", "kmeans", "-k", "2"]])
def test_blocks_give_the_bytes_of_the_whole_table(run, tmp_path, monkeypatch, small_blocks, fmt, model):
    """CSV to CSV and Parquet to either go block by block (never to the whole table here)."""
    path = _table(tmp_path, fmt)
    whole_table_runs = []
    monkeypatch.setattr("emcli.predict._predict_whole", lambda *a, **k: whole_table_runs.append(a) or _predict_whole(*a, **k))
    assert run("fit", path, *model, "--columns", "a,b", "-o", "m.json").exit_code == 0
    proba = model[1] == "gmm"
    for output in ("out.csv", "out.parquet"):
        result = run("predict", "m.json", path, *(["--proba"] if proba else []), "-o", output)
        assert result.exit_code == 0, result.output
        fitted, params, doc = read_model(tmp_path / "m.json")
        _predict_whole(fitted, params, doc["columns"], Source(str(path), None), str(tmp_path / f"whole-{output}"),
                       output.split(".")[1], proba=proba, logpdf=False, unseen="error",
                       chunk_bytes=4 * 2**20)
        assert len(whole_table_runs) == (fmt == "csv" and output.endswith(".parquet"))
        whole_table_runs.clear()
        if output.endswith(".csv"):
            assert (tmp_path / output).read_bytes() == (tmp_path / f"whole-{output}").read_bytes()
        else:
            assert pq.read_table(tmp_path / output).equals(pq.read_table(tmp_path / f"whole-{output}"))


@pytest.mark.parametrize("bad,message", [("x", "column 'a' is not numeric (row 2500: 'x')"),
                                         ("inf", "column 'a' row 2500 is infinite")])
def test_a_bad_cell_in_a_late_block_is_named_and_nothing_is_written(run, tmp_path, small_blocks, bad, message):
    path = _table(tmp_path, "csv")
    assert run("fit", path, "-k", "2", "--columns", "a,b", "-o", "m.json").exit_code == 0
    lines = path.read_text().splitlines()
    name, _, b = lines[2500].split(",")
    lines[2500] = f"{name},{bad},{b}"
    path.write_text("\n".join(lines) + "\n")
    for output in ("-", "out.csv"):
        result = run("predict", "m.json", path, "-o", output)
        assert result.exit_code == 2
        assert message in result.output
        assert result.stdout == "" and not (tmp_path / "out.csv").exists()
