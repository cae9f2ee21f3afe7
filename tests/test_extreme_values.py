"""Values near the ends of float range (issue 13, items 6, 7 and 10): probabilities stay a
distribution for every finite row, model files hold only what the arithmetic can carry, and data
whose squares leave float range is one line, not 19 lines of NumPy warnings."""

import json

import numpy as np
import pytest

from conftest import FAITHFUL

FAR = "eruptions,waiting\n1e160,70\n-1e200,50\n3,1e300\n1e308,1e308\n-1e308,-1e308\n"


def _columns(text: str) -> dict:
    lines = text.strip().splitlines()
    names = lines[0].split(",")
    return {name: [row.split(",")[j] for row in lines[1:]] for j, name in enumerate(names)}


@pytest.mark.parametrize("args", [["-m", "gmm", "--covariance", c] for c in ("full", "tied", "diag", "spherical")]
                         + [["-m", "tmix"], ["-m", "gmm", "--prior", "default"]])
def test_far_rows_get_a_distribution_and_no_nan(run, tmp_path, args):
    (tmp_path / "far.csv").write_text(FAR)
    assert run("fit", FAITHFUL, "-k", "2", *args, "-o", "m.json").exit_code == 0
    result = run("predict", "m.json", "far.csv", "--proba", "--logpdf", "-o", "-")
    assert result.exit_code == 0 and result.stderr == ""
    out = _columns(result.stdout)
    assert "nan" not in result.stdout.lower()
    p = np.array([out["p_0"], out["p_1"]], dtype=float)
    assert np.allclose(p.sum(axis=0), 1.0) and np.all(p >= 0)
    logpdf = np.array(out["logpdf"], dtype=float)
    # the Gaussian's log density is beyond float range out there, the Student-t's is not
    assert np.all(np.isfinite(logpdf)) if args[1] == "tmix" else np.all(np.isneginf(logpdf))


def test_a_far_row_goes_to_the_component_on_its_side_under_a_shared_covariance(run, tmp_path):
    """With equal covariances the posterior's limit along a direction is decided by the linear
    term, which a scaled computation of the distances alone would lose to rounding."""
    (tmp_path / "far.csv").write_text("eruptions,waiting\n1e160,70\n-1e160,70\n1e200,1e200\n-1e200,-1e200\n")
    for args in (["-m", "gmm", "--covariance", "tied"], ["-m", "kmeans"]):
        assert run("fit", FAITHFUL, "-k", "2", *args, "-o", "m.json").exit_code == 0
        doc = json.loads(open("m.json").read())
        centres = np.array(doc["params"]["means" if args[1] == "gmm" else "centres"])
        high = int(np.argmax(centres[:, 0]))
        result = run("predict", "m.json", "far.csv", "-o", "-")
        assert _columns(result.stdout)["cluster"] == [str(high), str(1 - high)] * 2


def _edited(run, model: str, edit) -> None:
    assert run("fit", FAITHFUL, "-m", model, "-k", "2", "-o", "m.json").exit_code == 0
    doc = json.loads(open("m.json").read())
    edit(doc["params"])
    open("bad.json", "w").write(json.dumps(doc))


@pytest.mark.parametrize("model, edit, message", [
    ("gmm", lambda p: p["means"][0].__setitem__(0, 1e308), "params.means: holds 1e+308, beyond what"),
    ("kmeans", lambda p: p["centres"][1].__setitem__(1, -1e200), "params.centres: holds 1e+200, beyond what"),
    ("gmm", lambda p: p["covariances"].__setitem__(0, [[1e-320, 0], [0, 1.0]]), "params.covariances: "),
    ("tmix", lambda p: p["dof"].__setitem__(0, 5e-324), "params.dof: degrees of freedom must be between 0.1 and 1e+06"),
    ("tmix", lambda p: p["dof"].__setitem__(0, 1e308), "params.dof: degrees of freedom must be between"),
])
@pytest.mark.parametrize("command", ["predict", "sample"])
def test_extreme_parameters_are_refused_when_read(run, model, edit, message, command):
    _edited(run, model, edit)
    if model == "kmeans" and command == "sample":
        return
    args = ["predict", "bad.json", FAITHFUL] if command == "predict" else ["sample", "bad.json", "-n", "5"]
    result = run(*args, "-o", "out.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: bad.json: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_huge_scales_sample_finite_rows_or_refuse(run):
    _edited(run, "gmm", lambda p: p["covariances"].__setitem__(0, [[1e308, 0], [0, 1e308]]))
    result = run("sample", "bad.json", "-n", "2000", "-o", "-")
    assert result.exit_code in (0, 2)
    if result.exit_code == 0:
        assert "inf" not in result.stdout and "nan" not in result.stdout
    else:
        assert "is beyond the range of a float" in result.stderr


@pytest.mark.parametrize("values, message", [
    ("1e200\n2e200\n-3e200\n5\n", "column 'x' holds values too large to fit (up to 3e+200)"),
    ("1e-308\n2e-308\n3e-308\n5e-308\n", "column 'x' varies by only 4e-308, too little for its variance"),
])
@pytest.mark.parametrize("command", [["fit", "-k", "1"], ["fit", "-m", "tmix", "-k", "1"],
                                     ["select-k", "--k-range", "1:2"], ["impute"]])
def test_data_beyond_what_a_float_can_square_is_one_line(run, tmp_path, values, message, command):
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values.split())))
    if command == ["impute"]:
        (tmp_path / "d.csv").write_text((tmp_path / "d.csv").read_text() + ",7\n")
    output = "out.csv" if command == ["impute"] else "out.json"
    result = run(command[0], "d.csv", *command[1:], "-o", output)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"emtool: error: d.csv: {message}")
    assert result.stderr.count("\n") == 1 and not (tmp_path / output).exists()


def test_rows_too_close_to_square_are_not_called_one_distinct_row(run, tmp_path):
    """k-means++ found every squared distance zero and said the data had "only 1 distinct rows"."""
    (tmp_path / "d.csv").write_text("x\n1e-308\n1.1e-308\n9e-308\n9.1e-308\n")
    result = run("fit", "d.csv", "-m", "kmeans", "-k", "2", "-o", "-")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: the rows are too close together for their squared")
