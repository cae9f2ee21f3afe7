"""emtool compress / decompress: the textbook sizes, exact round trips, codes against a brute-force
nearest entry, distortion against scikit-learn and Pillow, the K searches, and bad input."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from emcli.vq.container import read
from emcli.vq.quantise import CODEBOOK, count_distinct, distinct_coding, encode, fit_codebook
from emcli.vq.search import largest_k_within, smallest_k_meeting
from emcli.vq.container import theoretical_bits

from conftest import FAITHFUL, ROOT
from test_cli import EMTOOL

SCENE = ROOT / "sample_data" / "scene.png"


def scene_pixels() -> np.ndarray:
    return np.asarray(Image.open(SCENE)).reshape(-1, 3)


def compress(run, *args):
    """Run compress with --report r.json; (the report, the click result)."""
    result = run("compress", *args, "--report", "r.json", "-v")
    assert result.exit_code == 0, result.output
    return json.loads(pathlib.Path("r.json").read_text()), result


@pytest.mark.parametrize("k, bits, percent", [(2, 43248, 4.2), (3, 86472, 8.3), (10, 173040, 16.7)])
def test_the_textbook_figures_for_a_240_by_180_rgb_image(run, k, bits, percent):
    report, result = compress(run, SCENE, "-k", k, "-o", "s.emq")
    assert (report["width"], report["height"], report["mode"]) == (240, 180, "RGB")
    assert report["original_bits"] == 1036800 == 24 * 240 * 180
    assert report["theoretical_bits"] == bits == report["codebook_bits"] + report["code_bits"]
    assert round(100 * report["ratio"], 1) == percent
    assert report["file_bytes"] == os.path.getsize("s.emq")
    assert 0 < report["file_bits"] - report["theoretical_bits"] <= 8 * 150  # prefix, JSON header, checksum
    assert f"{bits:,} bits" in result.stderr and f"{percent:.1f}" in result.stderr


def test_decompress_gives_the_codebook_entries_exactly(run):
    report, _ = compress(run, SCENE, "-k", 12, "-o", "s.emq")
    assert run("decompress", "s.emq", "-o", "back.png").exit_code == 0
    stored = read("s.emq")
    decoded = np.asarray(Image.open("back.png")).reshape(-1, 3)
    np.testing.assert_array_equal(decoded, stored.codebook[stored.codes])
    assert stored.codebook.dtype == np.uint8 and len(stored.codebook) == report["k"] == 12
    diff = scene_pixels().astype(float) - decoded
    mse = float((diff**2).mean())
    assert report["mse"] == pytest.approx(mse, rel=1e-12)
    assert report["psnr_db"] == pytest.approx(10 * np.log10(255**2 / mse), rel=1e-12)
    # Every pixel's code is its nearest stored entry (by brute force over all of them).
    distances = ((scene_pixels()[:, None, :].astype(float) - stored.codebook[None].astype(float)) ** 2).sum(axis=2)
    np.testing.assert_array_equal(distances[np.arange(len(distances)), stored.codes], distances.min(axis=1))


def test_distortion_against_scikit_learn_and_pillow(run):
    """k-means with restarts is as good as scikit-learn's with as many, up to the spread of local
    optima (a few percent here) and the rounding of the centres to uint8 (about 1/12 per
    channel), and better than Pillow's median-cut quantiser."""
    from sklearn.cluster import KMeans

    report, _ = compress(run, SCENE, "-k", 16, "--restarts", 10, "-o", "s.emq")
    X = scene_pixels().astype(float)
    reference = KMeans(16, n_init=10, random_state=0).fit(X)
    assert report["mse"] <= 1.03 * reference.inertia_ / X.size + 1 / 12
    median_cut = np.asarray(Image.open(SCENE).quantize(16).convert("RGB")).reshape(-1, 3).astype(float)
    assert report["mse"] < ((X - median_cut) ** 2).mean()


def test_encode_matches_a_brute_force_nearest_entry():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 4))
    codebook = rng.normal(size=(37, 4))
    codes, sse = encode(X, codebook)
    distances = ((X[:, None, :] - codebook[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(codes, distances.argmin(axis=1))
    assert sse == pytest.approx(distances.min(axis=1).sum(), rel=1e-12)
    assert codes.dtype == np.uint8


def test_count_distinct_and_the_lossless_coding():
    rng = np.random.default_rng(4)
    for d in (1, 2, 3, 4):
        X = rng.integers(0, 4, size=(3000, d), dtype=np.uint8)
        assert count_distinct(X) == len(np.unique(X, axis=0))
        coding = distinct_coding(X, np.dtype(np.uint8))
        np.testing.assert_array_equal(coding.codebook, np.unique(X, axis=0))
        np.testing.assert_array_equal(coding.codebook[coding.codes], X)
        assert coding.sse == 0
    floats = rng.normal(size=(50, 2))[rng.integers(0, 50, size=400)]
    assert count_distinct(floats) == len(np.unique(floats, axis=0))
    assert count_distinct(np.array([[0.0, 1.0], [-0.0, 1.0]])) == 1
    rounded = distinct_coding(floats, np.dtype(np.float32))
    assert rounded.sse == pytest.approx(((floats - floats.astype(np.float32)) ** 2).sum(), rel=1e-9)


def test_codebook_fit_on_a_sample_codes_every_row():
    X = scene_pixels()
    spec = CODEBOOK.but(seed=7)
    coding = fit_codebook(X, 8, np.dtype(np.uint8), spec, 5000, "pixel")
    assert coding.fit["fit_rows"] == 5000 and coding.codes.size == len(X)
    again = fit_codebook(X, 8, np.dtype(np.uint8), spec, 5000, "pixel")
    np.testing.assert_array_equal(coding.codebook, again.codebook)
    codes, sse = encode(X, coding.codebook)
    np.testing.assert_array_equal(codes, coding.codes)
    assert coding.sse == sse


def test_k_above_the_distinct_colours_is_lowered_and_lossless(run, tmp_path):
    rng = np.random.default_rng(5)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [10, 20, 30], [255, 255, 255]], dtype=np.uint8)
    pixels = palette[rng.integers(0, 5, size=(30, 40))]
    Image.fromarray(pixels).save(tmp_path / "five.png")
    result = run("compress", "five.png", "-k", 16, "-o", "f.emq", "--report", "r.json", "-v")
    assert result.exit_code == 0, result.output
    assert "K = 16 is more than the 5 distinct colours: K lowered to 5" in result.stderr
    report = json.loads(pathlib.Path("r.json").read_text())
    assert (report["k"], report["k_asked"], report["bits_per_code"]) == (5, 16, 3)
    assert report["lossless"] and report["mse"] == 0 and report["psnr_db"] is None
    assert run("decompress", "f.emq", "-o", "back.bmp").exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open("back.bmp")), pixels)


def test_a_one_colour_image_needs_no_code_bits(run, tmp_path):
    Image.new("L", (8, 5), 77).save(tmp_path / "flat.png")
    report, _ = compress(run, "flat.png", "-k", 2, "-o", "f.emq")
    assert (report["k"], report["bits_per_code"], report["code_bits"], report["codebook_bits"]) == (1, 0, 0, 8)
    assert run("decompress", "f.emq", "-o", "back.png").exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open("back.png")), np.full((5, 8), 77))


@pytest.mark.parametrize("mode, channels", [("L", 1), ("LA", 2), ("RGBA", 4), ("P", 3)])
def test_other_modes_round_trip(run, tmp_path, mode, channels):
    base = Image.open(SCENE)
    image = base.convert("RGBA") if mode == "RGBA" else base.convert(mode)
    if mode == "RGBA":
        alpha = np.tile(np.linspace(0, 255, 240).astype(np.uint8), (180, 1))
        image.putalpha(Image.fromarray(alpha))
    image.save(tmp_path / "in.png")
    report, _ = compress(run, "in.png", "-k", 6, "-o", "m.emq")
    assert report["channels"] == channels and report["original_bits"] == 8 * channels * 240 * 180
    assert report["mode"] == ("RGB" if mode == "P" else mode)
    assert run("decompress", "m.emq", "-o", "back.png").exit_code == 0
    stored = read("m.emq")
    back = Image.open("back.png")
    assert back.mode == report["mode"]
    np.testing.assert_array_equal(np.asarray(back).reshape(-1, channels), stored.codebook[stored.codes])


def write_readings(path, n=2000, missing=False):
    rng = np.random.default_rng(8)
    centres = np.array([[0.0, 10.0, 100.0], [5.0, -10.0, 300.0], [9.0, 0.0, 200.0]])
    X = centres[rng.integers(0, 3, size=n)] + rng.normal(size=(n, 3))
    table = {"a": X[:, 0], "b": X[:, 1], "label": np.array(["x", "y"] * (n // 2)), "c": X[:, 2]}
    if missing:
        table["b"] = pa.array([None if i == 41 else v for i, v in enumerate(X[:, 1])], pa.float64())
    pq.write_table(pa.table(table), path)
    return X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_table_round_trips_with_its_column_names(run, tmp_path, dtype):
    X = write_readings(tmp_path / "readings.parquet")
    report, _ = compress(run, "readings.parquet", "-k", 3, "--restarts", 3, "--columns", "a,c",
                         "--codebook-dtype", dtype, "-o", "r.emq")
    bits = 32 if dtype == "float32" else 64
    assert report["columns"] == ["a", "c"] and report["original_bits"] == 2000 * 2 * 64
    assert report["theoretical_bits"] == 3 * 2 * bits + 2000 * 2
    stored = read("r.emq")
    assert stored.codebook.dtype == np.dtype(dtype)
    assert run("decompress", "r.emq", "-o", "back.parquet").exit_code == 0
    back = pq.read_table("back.parquet")
    assert back.column_names == ["a", "c"] and back.schema.field("a").type == pa.from_numpy_dtype(np.dtype(dtype))
    decoded = np.column_stack([back.column("a").to_numpy(), back.column("c").to_numpy()])
    np.testing.assert_array_equal(decoded, stored.codebook[stored.codes])
    diff = X[:, [0, 2]] - decoded.astype(float)
    assert report["mse"] == pytest.approx((diff**2).mean(), rel=1e-9)
    assert report["rmse_by_column"]["a"] == pytest.approx(np.sqrt((diff[:, 0] ** 2).mean()), rel=1e-9)
    assert report["rmse_by_column"]["c"] < 2  # the three clusters are found
    assert run("decompress", "r.emq", "-o", "back.tsv").exit_code == 0
    header = pathlib.Path("back.tsv").read_text().splitlines()[0]
    assert header == "a\tc"


def test_a_table_on_stdin_to_stdout(run):
    text = FAITHFUL.read_text()
    assert run("compress", "-", "-k", 4, "-o", "f.emq", input=text).exit_code == 0
    result = run("decompress", "f.emq", "-o", "-")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "eruptions,waiting" and len(lines) == 273 and len(set(lines[1:])) == 4


def test_target_psnr_chooses_the_smallest_k_tried_that_meets_it(run):
    report, result = compress(run, SCENE, "--target-psnr", 30, "-o", "t.emq")
    assert report["psnr_db"] >= 30 and report["target"] == {"psnr_db": 30.0}
    tried = {row["k"]: row["psnr_db"] for row in report["search"]}
    assert tried[report["k"]] == report["psnr_db"]
    assert all(psnr < 30 for k, psnr in tried.items() if k < report["k"])
    assert report["k"] - 1 in tried and list(tried)[:3] == [2, 4, 8]
    assert "searched: 2, 4, 8" in result.stderr


def test_target_mse_on_a_table(run, tmp_path):
    write_readings(tmp_path / "readings.parquet")
    report, _ = compress(run, "readings.parquet", "--target-mse", 2.0, "--restarts", 3, "-o", "t.emq")
    assert report["mse"] <= 2.0 and report["k"] == 3
    assert all(row["mse"] > 2.0 for row in report["search"] if row["k"] < 3)


def test_max_bits_takes_the_largest_k_within_the_budget(run):
    n = 240 * 180
    budget = theoretical_bits(16, n, 3, 8) + 100
    report, _ = compress(run, SCENE, "--max-bits", budget, "-o", "m.emq")
    assert report["k"] == 16 and report["theoretical_bits"] <= budget
    assert theoretical_bits(17, n, 3, 8) > budget


def test_largest_k_within_against_every_k():
    for budget in (40048, 43248, 100000, 400000):
        fits = [k for k in range(2, 3000) if theoretical_bits(k, 40000, 3, 8) <= budget]
        assert largest_k_within(budget, 40000, 3, 8, 3000) == max(fits)
    assert largest_k_within(10**9, 40000, 3, 8, 700) == 700


class FakeCoding:
    def __init__(self, mse):
        self.value = mse

    def mse(self):
        return self.value


def test_search_doubles_then_bisects():
    calls = []

    def code(k):
        calls.append(k)
        return FakeCoding(100.0 / k)

    coding, tried, warnings = smallest_k_meeting(code, 7.0, 4096, str)
    assert coding.mse() == 100.0 / 15 and calls == [2, 4, 8, 16, 12, 14, 15]
    assert tried == [(k, 100.0 / k) for k in calls] and warnings == []


def test_search_warns_when_the_distortion_rises_with_k():
    values = {2: 50.0, 4: 20.0, 8: 25.0, 16: 5.0, 12: 9.0, 14: 6.0, 15: 6.5}
    coding, _, warnings = smallest_k_meeting(lambda k: FakeCoding(values[k]), 5.5, 4096, str)
    assert coding.mse() == 5.0
    assert len(warnings) == 1 and "the distortion rose from K=4 (20.0) to K=8 (25.0)" in warnings[0]


def test_search_fails_when_the_ceiling_misses():
    from emcli.errors import FitError

    with pytest.raises(FitError, match="no K up to 8 meets the target: K=8 gives 12.5"):
        smallest_k_meeting(lambda k: FakeCoding(100.0 / k), 1.0, 8, str)


def test_same_seed_same_file_and_sample_in_the_report(run):
    report, _ = compress(run, SCENE, "-k", 8, "--sample", 3000, "--seed", 3, "-o", "a.emq")
    assert report["fit"]["fit_rows"] == 3000 and report["fit"]["seed"] == 3
    assert run("compress", SCENE, "-k", 8, "--sample", 3000, "--seed", 3, "-o", "b.emq").exit_code == 0
    assert pathlib.Path("a.emq").read_bytes() == pathlib.Path("b.emq").read_bytes()


def test_quiet_prints_nothing_and_a_pipeline_gets_no_report(run):
    result = run("compress", SCENE, "-k", 4, "-o", "q.emq", "-q", "-v")
    assert result.exit_code == 0 and result.stderr == ""
    result = run("compress", SCENE, "-k", 4, "-o", "p.emq")
    assert result.exit_code == 0 and result.stderr == ""


def test_emtool_compress_and_decompress_in_a_subprocess(tmp_path):
    done = subprocess.run([EMTOOL, "compress", str(SCENE), "-k", "16", "-o", "s.emq", "-v"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == ""
    assert "173,184 bits  16.70% of the original" in done.stderr
    done = subprocess.run([EMTOOL, "decompress", "s.emq", "-o", "s.png"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert Image.open(tmp_path / "s.png").size == (240, 180)


@pytest.fixture
def bad_files(tmp_path):
    Image.open(SCENE).save(tmp_path / "scene.png")
    (tmp_path / "text.png").write_text("not an image\n")
    (tmp_path / "cut.png").write_bytes(SCENE.read_bytes()[:2000])
    (tmp_path / "notes.txt").write_text("hello\n")
    Image.fromarray(np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000).save(tmp_path / "deep.png")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n3,4\n")
    write_readings(tmp_path / "holes.parquet", missing=True)
    write_readings(tmp_path / "readings.parquet")
    return tmp_path


COMPRESS_CASES = [
    (["scene.png", "-k", "1"], "Invalid value for '-k': 1 is not in the range x>=2"),
    (["scene.png"], "give one of -k, --target-psnr, --target-mse and --max-bits"),
    (["scene.png", "-k", "4", "--max-bits", "9000"], "not -k and --max-bits"),
    (["text.png", "-k", "4"], "text.png is neither a table (CSV, TSV, Parquet) nor an image Pillow can read"),
    (["notes.txt", "-k", "4"], "notes.txt is neither a table"),
    (["cut.png", "-k", "4"], "cut.png: cannot read the image"),
    (["missing.png", "-k", "4"], "missing.png: no such file"),
    (["deep.png", "-k", "4"], "deep.png has more than 8 bits per channel"),
    (["holes.parquet", "-k", "4"], "holes.parquet: column 'b' row 42 is missing"),
    (["readings.parquet", "-k", "4", "--columns", "a,label"], "column 'label' is not numeric"),
    (["readings.parquet", "--target-psnr", "30"], "--target-psnr is for images"),
    (["scene.png", "-k", "4", "--columns", "R"], "--columns is for tables; scene.png is read as an image"),
    (["scene.png", "-k", "4", "--codebook-dtype", "float32"], "--codebook-dtype is for tables"),
    (["scene.png", "--max-bits", "1000"], "--max-bits 1000 is below the smallest coding: K=2 takes 43248 bits"),
    (["scene.png", "-k", "40", "--sample", "30"], "the --sample of 30 pixels has only"),
]


@pytest.mark.parametrize("args, message", COMPRESS_CASES, ids=[" ".join(c[0]) for c in COMPRESS_CASES])
def test_bad_compress_input(run, bad_files, args, message):
    result = run("compress", *args, "-o", "out.emq", "--report", "out.json")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not os.path.exists(bad_files / "out.emq") and not os.path.exists(bad_files / "out.json")


def flipped(path):
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 1
    return bytes(payload)


@pytest.mark.parametrize("damage, output, message", [
    (lambda p: flipped(p), "out.png", "is corrupted (its checksum does not match its contents)"),
    (lambda p: p.read_bytes()[:-100], "out.png", "is truncated"),
    (lambda p: SCENE.read_bytes(), "out.png", "is not a .emq file"),
    (lambda p: b"a,b\n1,2\n", "out.csv", "is not a .emq file"),
    (lambda p: p.read_bytes(), "out.csv", "holds an image; write it to an image file"),
    (lambda p: p.read_bytes(), "-", "holds an image; give -o an image file name"),
    (lambda p: p.read_bytes(), "out.xyz", "holds an image; write it to an image file (.png"),
    (lambda p: p.read_bytes(), "out.jpg", "JPEG cannot hold RGBA images"),
], ids=["flipped", "truncated", "png", "csv", "image-to-csv", "image-to-stdout", "unknown", "rgba-jpeg"])
def test_bad_decompress_input(run, tmp_path, damage, output, message):
    image = Image.open(SCENE).convert("RGBA")
    image.save(tmp_path / "in.png")
    assert run("compress", "in.png", "-k", 8, "-o", "good.emq").exit_code == 0
    (tmp_path / "bad.emq").write_bytes(damage(tmp_path / "good.emq"))
    result = run("decompress", "bad.emq", "-o", output)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.emq", "good.emq", "in.png"]


def test_a_table_file_to_an_image_name(run):
    assert run("compress", FAITHFUL, "-k", 4, "-o", "f.emq").exit_code == 0
    result = run("decompress", "f.emq", "-o", "f.png")
    assert result.exit_code == 2
    assert result.stderr == "emtool: error: f.emq holds a table; write it to .csv, .tsv or .parquet, not f.png\n"
    assert not os.path.exists("f.png")


def test_a_pipeline_compresses_to_stdout_and_decompresses_from_stdin(run):
    packed = run("compress", FAITHFUL, "-k", 4, "-o", "-")
    assert packed.exit_code == 0 and packed.stdout_bytes[:8] == b"\x89EMQ\r\n\x1a\n"
    result = run("decompress", "-", "-o", "x.csv", input=packed.stdout_bytes)
    assert result.exit_code == 0, result.output
    decoded = np.loadtxt("x.csv", delimiter=",", skiprows=1)
    assert decoded.shape == (272, 2) and len(np.unique(decoded, axis=0)) == 4
    result = run("decompress", "-", "-o", "y.csv", input=b"eruptions,waiting\n1,2\n")
    assert result.exit_code == 2 and not os.path.exists("y.csv")
    assert result.stderr == "emtool: error: standard input is not a .emq file (written by 'emtool compress')\n"
