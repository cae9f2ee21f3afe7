"""Resources follow the work, and option values are checked before any (issue 13, items 5 and 6):
counts have upper bounds, a grid's workers are capped by its cells, non-finite numbers are usage
errors."""

import pytest

from conftest import FAITHFUL

REFUSED = [
    (["fit", "--restarts", "100000000000000000000000"], "--restarts"),
    (["fit", "--max-iter", "99999999999"], "--max-iter"),
    (["fit", "--algorithm", "mcem", "--mc-samples", "1000000000"], "--mc-samples"),
    (["fit", "--algorithm", "stepwise", "--epochs", "1000000000"], "--epochs"),
    (["impute", "--draws", "1000000000", "--long", "-o", "l.csv"], "--draws"),
    (["select-k", "--k-range", "1:1000000000"], "--k-range 1:1000000000 holds 1000000000 values"),
    (["select-k", "-m", "kmeans", "--criterion", "gap", "--reference-draws", "1000000000"], "--reference-draws"),
    (["fit", "--tol", "nan"], "--tol': nan is not a finite number"),
    (["fit", "--reg-covar", "inf"], "--reg-covar': inf is not a finite number"),
    (["fit", "--prior-param", "kappa=nan"], "'nan' is not a finite number"),
    (["fit", "--chunk-bytes", "inf"], "--chunk-bytes"),
    (["fit", "--algorithm", "annealed", "--anneal-start", "inf"], "--anneal-start': inf is not a finite number"),
    (["fit", "--algorithm", "stepwise", "--kappa", "nan"], "--kappa': nan is not a finite number"),
    (["fit", "--algorithm", "gradient", "--learning-rate", "nan"], "--learning-rate': nan is not a finite number"),
    (["compress", "-o", "c.emq", "--target-mse", "nan"], "--target-mse': nan is not a finite number"),
]


@pytest.mark.parametrize("args, message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_unbounded_or_non_finite_values_are_usage_errors(run, tmp_path, args, message):
    command, *rest = args
    result = run(command, FAITHFUL, *rest)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_grid_starts_no_more_workers_than_cells(monkeypatch):
    """--jobs 100000 on a two-cell grid asks for two processes."""
    import concurrent.futures

    from emcli.data import Rows
    from emcli.pipeline import FitSpec
    from emcli.select import grid

    asked = []

    class Recording(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kwargs):
            asked.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(grid, "ProcessPoolExecutor", Recording)
    import numpy as np

    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    rows = grid.run_grid(FitSpec("kmeans"), [grid.Cell(1, None), grid.Cell(2, None)],
                         Rows(None, ["a", "b"], X), jobs=100000)
    assert asked == [2] and len(rows) == 2


def _bomb(kind: str, shape: list) -> bytes:
    """A valid .emq of a one-entry codebook, whose codes take no bits, claiming ``shape``."""
    import json
    import struct
    import zlib

    from emcli.vq import container

    fields = {"mode": "RGB"} if kind == "image" else {"columns": ["x"]}
    header = json.dumps({"kind": kind, "shape": shape, **fields, "k": 1, "bits": 0,
                         "codebook_dtype": "uint8" if kind == "image" else "float64"}).encode()
    body = bytes(3) if kind == "image" else struct.pack("<d", 1.5)
    payload = container.MAGIC + struct.pack("<HI", container.VERSION, len(header)) + header + body
    return payload + struct.pack("<I", zlib.crc32(payload))


@pytest.mark.parametrize("kind, shape, output, message", [
    ("table", [10**8], "out.csv", "bomb.emq decodes to 100,000,000 rows x 1 columns, 800,000,000 bytes"),
    ("image", [20000, 20000], "out.png", "bomb.emq decodes to a 20000 x 20000 RGB image, 1,200,000,000 bytes"),
    ("image", [2**40, 2**40], "out.png", "bomb.emq decodes to a 1099511627776 x 1099511627776 RGB image"),
])
def test_a_decompression_bomb_is_refused_before_decoding(run, tmp_path, kind, shape, output, message):
    """Issue 13, item 4: a 132-byte file claiming 1e8 rows wrote a 400 MB CSV (3.3 GB peak); a
    20000 x 20000 image ran out of memory; 2^40 x 2^40 was a traceback."""
    (tmp_path / "bomb.emq").write_bytes(_bomb(kind, shape))
    result = run("decompress", "bomb.emq", "-o", output, "--max-output", "100M")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"emtool: error: {message}") and result.stderr.count("\n") == 1
    assert "--max-output (104,857,600 bytes)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.emq"]


def test_the_default_max_output_refuses_a_gigabyte_bomb(run, tmp_path):
    (tmp_path / "bomb.emq").write_bytes(_bomb("table", [2 * 10**8]))
    result = run("decompress", "bomb.emq", "-o", "out.csv")
    assert result.exit_code == 2 and "more than --max-output (1,073,741,824 bytes)" in result.stderr


def test_a_large_table_is_decoded_in_blocks_within_max_output(run, tmp_path, monkeypatch):
    """Rows within the bound are written block by block, to a file and to stdout alike."""
    import numpy as np

    from emcli.cli import decompress

    monkeypatch.setattr(decompress, "_BLOCK_BYTES", 8 * 1000)
    (tmp_path / "bomb.emq").write_bytes(_bomb("table", [2500]))
    for output in ("out.csv", "out.parquet", "-"):
        result = run("decompress", "bomb.emq", "-o", output, "--max-output", "20000")
        assert result.exit_code == 0, result.output
    assert result.stdout == "x\n" + "1.5\n" * 2500
    assert (tmp_path / "out.csv").read_text() == result.stdout
    import pyarrow.parquet as pq

    assert np.all(pq.read_table(tmp_path / "out.parquet").column("x").to_numpy() == 1.5)
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 2500
