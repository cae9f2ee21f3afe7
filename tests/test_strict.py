"""--strict (issue 13, item 13): a cron job tells an unsound fit from a good one by its exit
status, 3, with nothing written, whatever -q says."""

import numpy as np
import pytest

from conftest import FAITHFUL, ROOT

MISSING = ROOT / "sample_data" / "faithful_missing.csv"


@pytest.mark.parametrize("args, output", [
    (["fit", FAITHFUL, "-k", "3", "--max-iter", "2"], "m.json"),
    (["select-k", FAITHFUL, "--k-range", "2:3", "--covariance", "full,tied", "--max-iter", "2", "--tol", "1e-12",
      "--table", "t.csv"], "m.json"),
    (["impute", MISSING, "--max-iter", "1", "--model-out", "m2.json"], "out.csv"),
])
def test_an_unconverged_fit_is_status_3_and_writes_nothing(run, tmp_path, args, output):
    lenient = run(*args, "-o", output)
    assert lenient.exit_code == 0 and "did not converge" in lenient.stderr
    for path in tmp_path.iterdir():
        path.unlink()
    strict = run("-q", *args, "--strict", "-o", output)
    assert strict.exit_code == 3, strict.output
    assert strict.stderr.startswith("emtool: error: the best restart did not converge in ")
    assert strict.stderr.endswith(" (--strict)\n") and strict.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == [] and strict.stdout == ""


def test_a_degenerate_component_is_status_3(run, tmp_path):
    """Three full components on faithful with sixty more eruptions all waiting 83 minutes: one
    rests on that line, with no spread across it."""
    durations = np.random.default_rng(0).uniform(1.5, 5.0, 60).round(3)
    lines = FAITHFUL.read_text().splitlines() + [f"{d},83" for d in durations]
    (tmp_path / "spiked.csv").write_text("\n".join(lines) + "\n")
    args = ["fit", "spiked.csv", "-k", "3", "--restarts", "3", "-o", "m.json"]
    lenient = run(*args)
    assert lenient.exit_code == 0 and "rests on the" in lenient.stderr
    (tmp_path / "m.json").unlink()
    strict = run(*args, "--strict")
    assert strict.exit_code == 3 and "(--strict)" in strict.stderr
    assert not (tmp_path / "m.json").exists()


def test_a_sound_fit_is_status_0_under_strict(run):
    result = run("fit", FAITHFUL, "-k", "2", "--strict", "-o", "m.json")
    assert result.exit_code == 0 and result.stderr == ""
