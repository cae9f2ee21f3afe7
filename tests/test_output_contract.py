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
