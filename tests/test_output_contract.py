"""Outputs are complete or absent: every write is checked, standard output included
(issue 13, item 1)."""

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FAITHFUL

EMTOOL = shutil.which("emtool", path=str(Path(sys.executable).parent)) or shutil.which("emtool")


@pytest.fixture
def model(tmp_path):
    subprocess.run([EMTOOL, "fit", str(FAITHFUL), "-k", "2", "-o", "m.json"], cwd=tmp_path, check=True)
    return tmp_path / "m.json"


def _limited(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_on_stdout_is_an_error_not_a_cut_file(tmp_path, model):
    with open(tmp_path / "out.csv", "wb") as out:
        done = subprocess.run([EMTOOL, "sample", str(model), "-n", "100000"], stdout=out,
                              stderr=subprocess.PIPE, text=True, preexec_fn=_limited(8192))
    assert done.returncode == 1
    assert done.stderr == "emtool: error: cannot write standard output: File too large\n"


def test_a_file_size_limit_on_a_file_leaves_nothing(tmp_path, model):
    done = subprocess.run([EMTOOL, "sample", str(model), "-n", "100000", "-o", "out.csv"], cwd=tmp_path,
                          capture_output=True, text=True, preexec_fn=_limited(8192))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("emtool: error: cannot write ") and "File too large" in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["m.json"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_on_stdout_is_one_line(model):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([EMTOOL, "sample", str(model), "-n", "1000"], stdout=full,
                              stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    assert done.stderr == "emtool: error: cannot write standard output: No space left on device\n"


def test_a_closed_pipe_is_status_141_and_silent(model):
    process = subprocess.Popen([EMTOOL, "sample", str(model), "-n", "1000000"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.read(100)
    process.stdout.close()
    assert process.wait() == 141
    assert process.stderr.read() == b""


# -- outputs never replace inputs, nor each other (issue 13, item 2) ---------------------------

CLASHES = [
    (["fit", "in.csv", "-k", "2", "-o", "in.csv"], "-o in.csv is the input in.csv"),
    (["fit", "in.csv", "--trace", "in.csv"], "--trace in.csv is the input in.csv"),
    (["fit", "in.csv", "--trace", "t.json", "-o", "t.json"], "-o and --trace both name t.json"),
    (["fit", "in.csv", "--init", "m.json", "-o", "m.json"], "-o m.json is the input m.json"),
    (["fit", "in.csv", "-o", "link.csv"], "-o link.csv is the input in.csv"),
    (["fit", "in.csv", "-o", "hard.csv"], "-o hard.csv is the input in.csv"),
    (["predict", "m.json", "in.csv", "-o", "in.csv"], "-o in.csv is the input in.csv"),
    (["predict", "m.json", "in.csv", "-o", "m.json"], "-o m.json is the input m.json"),
    (["sample", "m.json", "-n", "5", "-o", "m.json"], "-o m.json is the input m.json"),
    (["compress", "in.csv", "-k", "4", "-o", "in.csv"], "-o in.csv is the input in.csv"),
    (["compress", "in.csv", "-k", "4", "-o", "c.emq", "--report", "c.emq"], "-o and --report both name c.emq"),
    (["select-k", "in.csv", "--k-range", "1:2", "--table", "in.csv"], "--table in.csv is the input in.csv"),
    (["select-k", "in.csv", "--k-range", "1:2", "-o", "b.json", "--plot", "b.json"], "-o and --plot both name b.json"),
    (["impute", "in.csv", "--report", "in.csv"], "--report in.csv is the input in.csv"),
    (["impute", "in.csv", "--model-out", "o.csv", "-o", "o.csv"], "-o and --model-out both name o.csv"),
    (["impute", "in.csv", "--model-file", "m.json", "-o", "m.json"], "-o m.json is the input m.json"),
    (["decompress", "c.emq", "-o", "c.emq"], "-o c.emq is the input c.emq"),
]


@pytest.mark.parametrize("args, message", CLASHES, ids=[" ".join(a) for a, _ in CLASHES])
def test_an_output_that_is_an_input_or_another_output_is_refused(run, tmp_path, args, message):
    (tmp_path / "in.csv").write_bytes(FAITHFUL.read_bytes())
    (tmp_path / "link.csv").symlink_to(tmp_path / "in.csv")
    os.link(tmp_path / "in.csv", tmp_path / "hard.csv")
    assert run("fit", "in.csv", "-k", "2", "-o", "m.json").exit_code == 0
    assert run("compress", "in.csv", "-k", "4", "-o", "c.emq").exit_code == 0
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"emtool: error: {message}; " + (
        "write the output elsewhere\n" if "is the input" in message else "give each output its own file\n")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


# -- special files are written, never replaced; links are followed (issue 13, item 3) -----------


def stat_is_regular(path) -> bool:
    import stat

    return stat.S_ISREG(os.stat(path).st_mode)


def test_a_link_to_a_device_stays_a_link_to_the_device(run, tmp_path, model):
    (tmp_path / "null").symlink_to("/dev/null")
    for args in (["predict", str(model), str(FAITHFUL)], ["fit", str(FAITHFUL)], ["sample", str(model), "-n", "5"]):
        result = run(*args, "-o", "null")
        assert result.exit_code == 0, result.output
        assert os.readlink(tmp_path / "null") == "/dev/null"
    assert not stat_is_regular("/dev/null")


def test_a_link_to_a_regular_file_is_followed_and_kept(run, tmp_path, model):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    result = run("fit", str(FAITHFUL), "-k", "3", "-o", "link.json")
    assert result.exit_code == 0, result.output
    assert os.readlink(tmp_path / "link.json") == "real.json"
    assert '"k": 3' in (tmp_path / "real.json").read_text()


def test_a_fifo_is_written_directly(tmp_path, model):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    done = subprocess.run([EMTOOL, "predict", str(model), str(FAITHFUL), "-o", str(fifo)],
                          capture_output=True, text=True, timeout=60)
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert received[0].decode().splitlines()[0] == "eruptions,waiting,cluster"
    assert len(received[0].decode().splitlines()) == 273
    assert not stat_is_regular(fifo)


# -- signals: nothing written, no temporary file left (issue 13, item 9) ----------------------


def wait_for_handler(pid: int, timeout: float = 60.0) -> None:
    """Wait until emtool in process ``pid`` has installed its signal handlers, seen in /proc as
    SIGTERM caught (Python itself catches SIGINT from its start): a signal during interpreter
    start-up would stop it the default way, which tests nothing of emtool."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as status:
            caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never installed its signal handlers")


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")


@needs_proc
@pytest.mark.parametrize("delay", [0.2, 1.2])  # 1.2 s: pyarrow imports pandas then, and swallowed the first stop
@pytest.mark.parametrize("signame, status, message", [("SIGTERM", 143, "terminated"),
                                                      ("SIGINT", 130, "interrupted"),
                                                      ("SIGHUP", 129, "hung up")])
def test_a_signal_before_any_output_leaves_nothing(tmp_path, signame, status, message, delay):
    import signal
    import time

    process = subprocess.Popen([EMTOOL, "fit", str(FAITHFUL), "-k", "3", "--tol", "0", "--max-iter",
                                "1000000", "-o", "m.json"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_handler(process.pid)
        time.sleep(delay)
        process.send_signal(getattr(signal, signame))
        assert process.wait(timeout=60) == status
    finally:
        process.kill()
    assert process.stderr.read() == f"emtool: error: {message}\n"
    assert os.listdir(tmp_path) == []


@needs_proc
def test_a_termination_while_writing_leaves_the_output_whole_or_absent(tmp_path, model):
    """SIGTERM at several moments of a large write: either exit 143 and no file, or exit 0 and
    the whole file; never a temporary file left behind."""
    import signal
    import time

    for delay in (0.3, 0.9, 1.5, 2.1):
        out = tmp_path / "rows.csv"
        process = subprocess.Popen([EMTOOL, "sample", str(model), "-n", "1000000", "-o", str(out)],
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for_handler(process.pid)
            time.sleep(delay)
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=60)
        finally:
            process.kill()
        assert status in (0, 143)
        assert sorted(os.listdir(tmp_path)) == (["m.json", "rows.csv"] if status == 0 else ["m.json"])
        if status == 0:
            assert len(out.read_text().splitlines()) == 1_000_001
            out.unlink()


def test_a_stop_raised_where_python_cannot_raise_it_prints_nothing():
    """A signal during an import stops the command from inside a callback of the import
    machinery, where the exception cannot propagate: Python would print 'Exception ignored in
    ...' on stderr. The stop is remembered for the next check instead, and nothing is printed;
    any other such exception is still shown."""
    code = ("import weakref\n"
            "from emcli.cli import signals\n"
            "from emcli.errors import Stopped\n"
            "signals.install()\n"
            "class Held: pass\n"
            "def stop(ref): raise Stopped(15)\n"
            "def fail(ref): raise ValueError('shown')\n"
            "held, other = Held(), Held()\n"
            "refs = weakref.ref(held, stop), weakref.ref(other, fail)\n"
            "del held, other\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Stopped" not in done.stderr and "ValueError: shown" in done.stderr
