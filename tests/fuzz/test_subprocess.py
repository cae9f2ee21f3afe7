"""The real ``emtool`` in a child process, under a 3 GiB address-space limit and a timeout, with
one BLAS/OpenMP thread: what an in-process run cannot show (the interpreter's own traceback and
exit status, standard output as a pipe that closes, memory that runs out)."""

import os
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .contract import (EMTOOL, SAMPLE, Output, address_space_limit, case_directory,
                       count_example, input_tokens, limited_environment, read_input, run_and_check)
from .profiles import fuzz_settings
from .seeds import emq_files, seeds
from .strategies import mutated_emq, mutated_model, tables

pytestmark = pytest.mark.fuzz_subprocess


def test_the_tool_starts_and_fits_under_the_memory_limit(tmp_path):
    """The limit itself must not be what fails: emtool starts, imports its stack and fits."""
    for args, outputs in ((["--version"], []), (["models", "--json"], [Output("-", "json")]),
                          (["fit", str(SAMPLE / "faithful.csv"), "-k", "2", "-o", "m.json"], [Output("m.json", "model")])):
        result = run_and_check(args, tmp_path, outputs, mode="subprocess")
        assert result.exit_code == 0, result.stderr


@st.composite
def subprocess_cases(draw):
    """One hostile case of any kind: a table to fit, impute or predict, a mutated model to
    predict or sample with, a damaged .emq to decompress."""
    kind = draw(st.sampled_from(["fit", "impute", "predict", "sample", "decompress"]))
    files = {}
    if kind in ("fit", "impute"):
        table = draw(tables())
        files[table.name] = table.data
        args = [kind, table.name, "--max-iter", "20", "-o", "out.json" if kind == "fit" else "out.csv"]
        outputs = [Output("out.json", "model")] if kind == "fit" else [Output("out.csv", "table")]
    elif kind in ("predict", "sample"):
        seed = seeds()[draw(st.sampled_from(sorted(seeds())))]
        files["m.json"] = draw(mutated_model(seed.model.decode()))
        files[seed.data_name] = seed.data
        if kind == "predict":
            args = ["predict", "m.json", seed.data_name, "--proba", "--logpdf", "-o", "out.csv"]
            outputs = [Output("out.csv", "table")]
        else:
            args = ["sample", "m.json", "-n", "20", "-o", "out.csv"]
            outputs = [Output("out.csv", "table", rows=20, filled="all")]
    else:
        name = draw(st.sampled_from(sorted(emq_files())))
        files["c.emq"] = draw(mutated_emq(emq_files()[name]))
        output = "d.png" if name.startswith("image") else "d.csv"
        args = ["decompress", "c.emq", "-o", output]
        outputs = [Output(output, "image" if output == "d.png" else "table", filled="all")]
    return args, files, outputs


@fuzz_settings(8, long_examples=200)
@given(case=subprocess_cases())
def test_real_process_keeps_the_contract(case):
    count_example("test_real_process_keeps_the_contract")
    args, files, outputs = case
    with case_directory() as tmp:
        for name, payload in files.items():
            (tmp / name).write_bytes(payload)
        if args[0] in ("predict", "impute"):
            source = tmp / args[2 if args[0] == "predict" else 1]
            shape = read_input(source)
            for spec in outputs:
                spec.passthrough = input_tokens(source)
                if shape and args[0] == "predict":
                    spec.rows, spec.filled = shape[1], len(shape[0])
        run_and_check(args, tmp, outputs, mode="subprocess")


def _gmm(tmp):
    (tmp / "m.json").write_bytes(seeds()["gmm-full"].model)
    return "m.json"


def _emq_claiming(rows: int, k: int = 1) -> bytes:
    """A valid .emq whose header claims ``rows`` rows of a one-entry codebook (codes of no bits)."""
    from .strategies import build_emq, split_emq

    _version, header, body = split_emq(emq_files()["table-k1"])
    header = dict(header, shape=[rows], k=k, bits=(k - 1).bit_length())
    codebook = b"\x00" * 8 * k
    return build_emq(header, codebook + b"\x00" * ((rows * header["bits"] + 7) // 8))


#: runs that ask for much more memory than the limit, or for work without end: each must end
#: within its timeout with a status of the contract (1 "out of memory", or 2), never be killed
BOUNDS = {
    "sample a trillion rows": (lambda tmp: ["sample", _gmm(tmp), "-n", str(10**12), "-o", "s.csv"],
                               [Output("s.csv", "table")]),
    "a hundred thousand components": (lambda tmp: ["fit", str(SAMPLE / "faithful.csv"), "-k", "100000", "-o", "m2.json"],
                                      [Output("m2.json", "model")]),
    "a chunk of 100G": (lambda tmp: ["fit", str(SAMPLE / "faithful.csv"), "-k", "2", "--chunk-bytes", "100G",
                                     "-o", "m2.json"], [Output("m2.json", "model")]),
    "a codebook of 2**40 entries": (lambda tmp: ["compress", str(SAMPLE / "faithful.csv"), "-k", str(2**40),
                                                 "-o", "c.emq"], [Output("c.emq", "emq")]),
    "a .emq claiming 10**12 rows": (lambda tmp: (tmp / "big.emq").write_bytes(_emq_claiming(10**12))
                                    and ["decompress", "big.emq", "-o", "d.csv"], [Output("d.csv", "table")]),
    "a .emq claiming 2**26 rows, --max-output 1M": (
        lambda tmp: (tmp / "big.emq").write_bytes(_emq_claiming(2**26))
        and ["decompress", "big.emq", "--max-output", "1M", "-o", "d.csv"], [Output("d.csv", "table")]),
    "sample 10**7 rows to a file": (lambda tmp: ["sample", _gmm(tmp), "-n", str(10**7), "-o", "s.csv"],
                                    [Output("s.csv", "table", rows=10**7)]),
}


LONG_ONLY = {"sample 10**7 rows to a file"}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_memory_and_time_stay_bounded(tmp_path, name):
    from .profiles import ACTIVE

    if name in LONG_ONLY and ACTIVE["name"] != "long":
        pytest.skip("long profile only (10 s)")
    make, outputs = BOUNDS[name]
    args = make(tmp_path)
    count_example("test_memory_and_time_stay_bounded")
    run_and_check(args, tmp_path, outputs, mode="subprocess", timeout=60)


# -- standard output -------------------------------------------------------------------------


def _closed_pipe(args, cwd, read_bytes: int = 100):
    """Run emtool with stdout a pipe that is closed after ``read_bytes`` bytes."""
    process = subprocess.Popen([EMTOOL, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=limited_environment(), preexec_fn=address_space_limit())
    try:
        process.stdout.read(read_bytes)
        process.stdout.close()
        status = process.wait(timeout=120)
        stderr = process.stderr.read().decode("utf-8", "replace")
    finally:
        process.kill()
        process.wait()
    return status, stderr


def _big_table(tmp):
    import numpy as np

    rng = np.random.default_rng(5)
    values = np.vstack([rng.normal(0, 1, (20000, 2)), rng.normal(5, 1, (20000, 2))]).round(4)
    (tmp / "big.csv").write_text("x,y\n" + "\n".join(f"{a},{b}" for a, b in values) + "\n")
    return "big.csv"


STDOUT_WRITERS = {
    "sample": lambda tmp: ["sample", _gmm(tmp), "-n", "300000"],
    "predict": lambda tmp: ["predict", _write(tmp, "g.json", _fit_big(tmp)), _big_table(tmp), "--proba", "--logpdf"],
    "impute": lambda tmp: ["impute", _big_table(tmp), "--max-iter", "3"],
    "decompress": lambda tmp: ["decompress", _write(tmp, "b.emq", _emq_claiming(300000)), "-o", "-"],
    "compress": lambda tmp: ["compress", _big_table(tmp), "-k", "4", "--max-iter", "3", "-o", "-"],
    "fit": lambda tmp: ["fit", str(SAMPLE / "faithful.csv"), "-k", "2", "--tol", "0", "--max-iter", "3000"],
}


def _write(tmp, name, payload: bytes) -> str:
    (tmp / name).write_bytes(payload)
    return name


def _fit_big(tmp) -> bytes:
    return seeds()["gmm-full"].model.replace(b'"eruptions", "waiting"', b'"x", "y"')


@pytest.mark.parametrize("command", sorted(STDOUT_WRITERS))
def test_a_closed_stdout_is_141_and_silent(tmp_path, command):
    """``emtool ... | head -c 100``: status 141 (or 0 if everything fit in the pipe before it
    closed), nothing on stderr, no file left."""
    count_example("test_a_closed_stdout_is_141_and_silent")
    args = STDOUT_WRITERS[command](tmp_path)
    before = sorted(os.listdir(tmp_path))
    status, stderr = _closed_pipe(args, tmp_path)
    assert status in (0, 141), (args, status, stderr)
    assert "Traceback" not in stderr and (stderr == "" or status == 0), (args, status, stderr)
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", ["compress", "decompress", "fit", "impute"])
def test_a_full_stdout_is_exit_1_with_one_line(tmp_path, command):
    count_example("test_a_full_stdout_is_exit_1_with_one_line")
    args = STDOUT_WRITERS[command](tmp_path)
    with open("/dev/full", "wb") as full:
        done = subprocess.run([EMTOOL, *args], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, timeout=120,
                              env=limited_environment(), preexec_fn=address_space_limit())
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 1, (args, done.returncode, stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("emtool: error: ")]
    assert len(errors) == 1 and stderr.endswith(errors[0] + "\n") and "Traceback" not in stderr, (args, stderr)
