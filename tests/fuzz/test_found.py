"""The contract violations the fuzz suite found (issue 13), each as its minimal reproduction and
now a regression test: each asserts the whole contract on one run.  A new finding is added here
as a strict xfail with an entry (same F-number) in known.py until it is fixed.  Most severe
first."""

import datetime
import json

import pytest

from .contract import SAMPLE, Output, case_directory, count_example, run_inprocess, run_subprocess, violations
from .seeds import _probit_csv, emq_files, seeds
from .strategies import build_emq, split_emq


def assert_keeps_contract(args, files: dict, outputs: list, subprocess: bool = False, timeout: float | None = None):
    """Run ``emtool ARGS`` in a fresh directory holding ``files`` (name -> bytes) and assert the
    whole contract, known violations included."""
    count_example("test_found")
    with case_directory() as tmp:
        for name, payload in files.items():
            (tmp / name).write_bytes(payload)
        runner = run_subprocess if subprocess else run_inprocess
        result = runner(args, tmp, **({"timeout": timeout} if timeout else {}))
        found = violations(result, outputs, tmp)
        assert not found, f"{result.command()} -> exit {result.exit_code}: " + "; ".join(map(str, found)) + \
            f"\nstderr: {result.stderr[-600:]}"


def _parquet(**columns) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


FAITHFUL = (SAMPLE / "faithful.csv").read_bytes()


def _gmm() -> bytes:
    return seeds()["gmm-full"].model


# -- F14: an output in place, then a traceback ----------------------------------------------------


@pytest.mark.parametrize("dropped", ["covariance"])
def test_F14_impute_with_a_model_missing_an_option(dropped):
    # emtool fit sample_data/faithful_missing.csv -k 2 -o m.json
    # python3 -c "import json; d = json.load(open('m.json')); del d['options']['covariance']; json.dump(d, open('m.json', 'w'))"
    # emtool impute sample_data/faithful_missing.csv --model-file m.json -o out.csv   # exit 1, out.csv written
    doc = json.loads(seeds()["gmm-missing"].model)
    del doc["options"][dropped]
    data = (SAMPLE / "faithful_missing.csv").read_bytes()
    assert_keeps_contract(["impute", "faithful_missing.csv", "--model-file", "m.json", "-o", "out.csv"],
                          {"faithful_missing.csv": data, "m.json": json.dumps(doc).encode()},
                          [Output("out.csv", "table", rows=272, filled="all")])


# -- F1, F2: a model file that cannot be written; the trace written before it stays ----------


DATES = {"d": [datetime.date(2020, 1, 1 + i % 2) for i in range(6)], "b": ["u", "v", "u", "v", "w", "w"]}


def test_F1_a_failed_fit_leaves_no_trace_file():
    # python3 -c "import datetime, pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'d': [datetime.date(2020,1,1+i%2) for i in range(6)], 'b': ['u','v','u','v','w','w']}), 'dates.parquet')"
    # emtool fit dates.parquet -m categorical -k 2 --trace t.csv -o m.json   # exit 1, traceback, t.csv left
    assert_keeps_contract(["fit", "dates.parquet", "-m", "categorical", "-k", "2", "--trace", "t.csv", "-o", "m.json"],
                          {"dates.parquet": _parquet(**DATES)},
                          [Output("m.json", "model"), Output("t.csv", "table")])


@pytest.mark.parametrize("kind", ["date", "timestamp", "decimal", "binary"])
def test_F2_categorical_levels_of_any_parquet_type(kind):
    import decimal

    values = {"date": DATES["d"], "timestamp": [datetime.datetime(2020, 1, 1, i % 2) for i in range(6)],
              "decimal": [decimal.Decimal("1.5"), decimal.Decimal("2.5")] * 3, "binary": [b"x", b"y"] * 3}[kind]
    assert_keeps_contract(["fit", "in.parquet", "-m", "categorical", "-k", "2", "-o", "m.json"],
                          {"in.parquet": _parquet(a=values, b=DATES["b"])}, [Output("m.json", "model")])


def test_F3_categorical_on_a_dictionary_column():
    # python3 -c "import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'c': pa.array(['p','q','p','q','r','r']).dictionary_encode()}), 'dict.parquet')"
    # emtool fit dict.parquet -m categorical -k 2 -o m.json
    import pyarrow as pa

    assert_keeps_contract(["fit", "dict.parquet", "-m", "categorical", "-k", "2", "-o", "m.json"],
                          {"dict.parquet": _parquet(c=pa.array(["p", "q", "p", "q", "r", "r"]).dictionary_encode())},
                          [Output("m.json", "model")])


# -- F4, F5, F6, F7: tracebacks ------------------------------------------------------------------

BIG_INTEGER = b"a,b\n9007199254740993,1\n2,3\n4,5\n"  # 2**53 + 1


@pytest.mark.parametrize("args", [["fit", "big.csv", "-o", "m.json"], ["impute", "big.csv", "-o", "o.csv"],
                                  ["compress", "big.csv", "-k", "2", "-o", "c.emq"],
                                  ["select-k", "big.csv", "--k-range", "1:2", "--jobs", "1"],
                                  ["predict", "bernoulli.json", "binary.csv", "-o", "o.csv"]],
                         ids=lambda args: args[0])
def test_F4_an_integer_beyond_2_53(args):
    # printf 'a,b\n9007199254740993,1\n2,3\n4,5\n' > big.csv; emtool fit big.csv -o m.json
    # predict with a bernoulli model of columns a,b,c,d:  printf 'a,b,c,d\n9223372036854775807,0,1,0\n' > binary.csv
    # (also: a uint64 Parquet column holding 2**64 - 1)
    outputs = [Output(args[args.index("-o") + 1], "model" if "m.json" in args else "emq" if "c.emq" in args
                      else "table")] if "-o" in args else [Output("-", "table")]
    files = {"big.csv": BIG_INTEGER, "bernoulli.json": seeds()["bernoulli"].model,
             "binary.csv": b"a,b,c,d\n9223372036854775807,0,1,0\n"}
    assert_keeps_contract(args, files, outputs)


def test_F4_the_real_process_prints_a_traceback():
    assert_keeps_contract(["fit", "big.csv", "-o", "m.json"], {"big.csv": BIG_INTEGER}, [Output("m.json", "model")],
                          subprocess=True)


@pytest.mark.parametrize("model", ["blr", "experts", "rvm"])
def test_F5_a_regression_target_beyond_float_squares(model):
    # printf 'a,b\n1e200,1\n2,2\n3,3.5\n' > t.csv; emtool fit t.csv -m blr --target a -o m.json
    assert_keeps_contract(["fit", "t.csv", "-m", model, "--target", "a", "-o", "m.json"],
                          {"t.csv": b"a,b\n1e200,1\n2,2\n3,3.5\n"}, [Output("m.json", "model")])


@pytest.mark.parametrize("n", [str(2**63), str(2**64), "1" + "0" * 30])
def test_F6_sample_a_count_beyond_any_array(n):
    # emtool fit sample_data/faithful.csv -k 2 -o m.json; emtool sample m.json -n 9223372036854775808
    assert_keeps_contract(["sample", "m.json", "-n", n, "-o", "s.csv"], {"m.json": _gmm()}, [Output("s.csv", "table")])


def test_F7_fit_warm_started_from_huge_probit_weights():
    # emtool fit probit.csv -m probit --target y -o p.json; set params.weights[1] to 1e308;
    # emtool fit probit.csv -m probit --target y --init p.json -o out.json
    doc = json.loads(seeds()["probit"].model)
    doc["params"]["weights"][1] = 1e308
    assert_keeps_contract(["fit", "probit.csv", "-m", "probit", "--target", "y", "--init", "p.json", "-o", "out.json"],
                          {"probit.csv": _probit_csv(), "p.json": json.dumps(doc).encode()},
                          [Output("out.json", "model")])


def test_F15_fit_warm_started_from_probit_labels_beyond_64_bits():
    # emtool fit probit.csv -m probit --target y -o p.json; set params.labels to [-100000000000000000000, 1];
    # emtool fit probit.csv -m probit --target y --init p.json -o out.json
    doc = json.loads(seeds()["probit"].model)
    doc["params"]["labels"] = [-(10**20), 1]
    assert_keeps_contract(["fit", "probit.csv", "-m", "probit", "--target", "y", "--init", "p.json", "-o", "out.json"],
                          {"probit.csv": _probit_csv(), "p.json": json.dumps(doc).encode()},
                          [Output("out.json", "model")])


def test_F16_compress_a_psnr_target_beyond_float_range():
    # emtool compress sample_data/scene.png --target-psnr 1e308 -o c.emq
    import io

    import numpy as np
    from PIL import Image

    sink = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 8, 3), dtype=np.uint8), "RGB").save(sink, "PNG")
    assert_keeps_contract(["compress", "small.png", "--target-psnr", "1e308", "-o", "c.emq"],
                          {"small.png": sink.getvalue()}, [Output("c.emq", "emq")])


@pytest.mark.parametrize("command", ["impute", "predict"])
def test_F12_a_binary_column_that_is_not_utf8_passed_through(command):
    # python3 -c "import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'eruptions': [1.0, None, 3.0, 4.0], 'waiting': [50.0, 60.0, 70.0, 80.0], 'y': pa.array([b'\xff', b'x', b'x', b'y'])}), 'bin.parquet')"
    # emtool impute bin.parquet -o out.csv
    files = {"bin.parquet": _parquet(eruptions=[1.0, None, 3.0, 4.0], waiting=[50.0, 60.0, 70.0, 80.0],
                                     y=[b"\xff", b"x", b"x", b"y"]), "m.json": _gmm()}
    args = ["impute", "bin.parquet"] if command == "impute" else ["predict", "m.json", "bin.parquet"]
    assert_keeps_contract([*args, "-o", "out.csv"], files, [Output("out.csv", "table", rows=4)])


# -- F8, F9: NaN and infinities written -----------------------------------------------------------


def test_F8_logpdf_of_a_far_row():
    # emtool fit sample_data/faithful.csv -k 2 -o m.json
    # printf 'eruptions,waiting\n1e200,70\n' > far.csv; emtool predict m.json far.csv --logpdf -o out.csv
    assert_keeps_contract(["predict", "m.json", "far.csv", "--proba", "--logpdf", "-o", "out.csv"],
                          {"m.json": _gmm(), "far.csv": b"eruptions,waiting\n1e200,70\n3.6,79\n"},
                          [Output("out.csv", "table", rows=2, filled=2)])


@pytest.mark.parametrize("seed", ["blr", "experts"])
def test_F8_prediction_std_of_a_far_row(seed):
    # emtool fit sample_data/faithful.csv -m blr --target waiting -o m.json
    # printf 'eruptions\n1e200\n3\n' > far.csv; emtool predict m.json far.csv -o out.csv
    assert_keeps_contract(["predict", "m.json", "far.csv", "-o", "out.csv"],
                          {"m.json": seeds()[seed].model, "far.csv": b"eruptions\n1e200\n3\n"},
                          [Output("out.csv", "table", rows=2, filled=1)])


@pytest.mark.parametrize("output", ["d.csv", "d.parquet"])
def test_F9_decompress_a_codebook_holding_nan(output):
    # emtool compress sample_data/faithful.csv -k 4 -o c.emq; overwrite the first codebook value
    # (the 8 bytes after the JSON header) with NaN and recompute the trailing CRC-32 (zlib.crc32 of
    # every byte before it); emtool decompress c.emq -o d.csv  -> 'nan' cells, exit 0
    import struct

    _version, header, body = split_emq(emq_files()["table64"])
    crafted = build_emq(header, struct.pack("<d", float("nan")) + body[8:])
    assert_keeps_contract(["decompress", "c.emq", "-o", output], {"c.emq": crafted},
                          [Output(output, "table", rows=header["shape"][0], filled="all")])


# -- F10, F11: error messages of more than one line -------------------------------------------------


def test_F10_a_damaged_parquet_file_is_one_line():
    # python3 -c "import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'a': [1.0, 2.0, 3.0], 'b': [4.0, 5.0, 7.0]}), 'ok.parquet')"
    # python3 -c "d = open('ok.parquet', 'rb').read(); open('x.parquet', 'wb').write(d[:4] + d[5:])"
    # emtool fit x.parquet -o m.json
    good = _parquet(a=[1.0, 2.0, 3.0], b=[4.0, 5.0, 7.0])
    assert_keeps_contract(["fit", "x.parquet", "-o", "m.json"], {"x.parquet": good[:4] + good[5:]},
                          [Output("m.json", "model")])


@pytest.mark.parametrize("args", [["fit", "nl.csv", "--columns", "nope", "-o", "m.json"],
                                  ["fit", "nl.csv", "-m", "blr", "--target", "nope", "-o", "m.json"]])
def test_F11_a_column_name_with_a_line_break_in_a_message(args):
    # printf '"new\nline",a\n1,2\n3,4\n' > nl.csv; emtool fit nl.csv --columns nope -o m.json
    assert_keeps_contract(args, {"nl.csv": b'"new\nline",a\n1,2\n3,4\n'}, [Output("m.json", "model")])


# -- F13: time that grows with the square of the columns ----------------------------------------------


def test_F13_a_wide_table_is_read_in_linear_time():
    # python3 -c "print(','.join(f'c{j}' for j in range(20000))); print(','.join(['1.5'] * 20000)); print(','.join(['2.5'] * 20000))" > wide.csv
    # time emtool fit wide.csv -m kmeans -o m.json    # over 2 minutes; 1000 columns: 3 s, 4000: 20 s
    columns = 6000
    text = ",".join(f"c{j}" for j in range(columns)) + "\n" + "\n".join(
        ",".join(f"{(i * 7 + j) % 10}.5" for j in range(columns)) for i in range(3)) + "\n"
    assert_keeps_contract(["fit", "wide.csv", "-m", "kmeans", "--max-iter", "1", "-o", "m.json"],
                          {"wide.csv": text.encode()}, [Output("m.json", "model")], timeout=10)


# -- found by the long profile after the first fixes (14,094 examples) -----------------------------


def test_F17_a_regression_prediction_beyond_float_range_is_one_line():
    # emtool fit faithful60.csv -m blr --target waiting -o m.json
    # printf 'eruptions\n1e308\n3\n' > far.csv; emtool predict m.json far.csv -o out.csv
    assert_keeps_contract(["predict", "m.json", "far.csv", "-o", "out.csv"],
                          {"m.json": seeds()["blr"].model, "far.csv": b"eruptions\n1e308\n3\n"},
                          [Output("out.csv", "table", rows=2, filled="all")])


def test_F18_a_warning_before_an_error_is_not_a_second_line():
    # an identifier-like column warned about, then the fit refused: exit 2 must be one line
    rows = "".join(f"{i * 7 - 40},1.0,{(i * 13) % 50 - 25}\n" for i in range(20))
    assert_keeps_contract(["fit", "in.csv", "-m", "blr", "--target", "b", "-o", "m.json"],
                          {"in.csv": ("a,b,c\n" + rows).encode()}, [Output("m.json", "model")])


def test_F19_fit_warm_started_from_huge_expert_coefficients():
    doc = json.loads(seeds()["experts"].model)
    doc["params"]["coefficients"] = [[1e308], [1e308]]
    assert_keeps_contract(["fit", "faithful60.csv", "--init", "m.json", "-k", "2", "--target", "waiting",
                           "--max-iter", "5", "-o", "out.json"],
                          {"faithful60.csv": seeds()["experts"].data, "m.json": json.dumps(doc).encode()},
                          [Output("out.json", "model")])


def test_F20_a_float32_codebook_of_values_beyond_float32():
    assert_keeps_contract(["compress", "in.csv", "-k", "2", "--codebook-dtype", "float32", "-o", "c.emq"],
                          {"in.csv": b"p,q\n3.5e16,0\n3.5e16,0\n1e-12,0\n1.15e86,0\n-3.7e16,0\n"},
                          [Output("c.emq", "emq")])
