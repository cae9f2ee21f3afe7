"""The select-k plot: a PNG of each criterion against k, written atomically."""

import subprocess
import sys

import pytest
from matplotlib.figure import Figure
from PIL import Image

from emcli.errors import UsageError
from emcli.select.plot import DPI, PANEL_INCHES, plot_criteria


def table():
    """Rows as select-k makes them: two covariance types, k = 1..4, one failed cell."""
    rows = []
    for covariance, offset in (("full", 0.0), ("tied", 5.0)):
        for k in range(1, 5):
            rows.append({"model": "gmm", "covariance": covariance, "k": k,
                         "bic": 100.0 - 10 * k + 3 * k * k + offset, "aic": 90.0 - 8 * k + 2 * k * k,
                         "cv": -5.0 + 1 / k, "error": ""})
    rows[6].update(bic=None, aic=None, cv=None, error="degenerate")
    return rows


def test_writes_a_png_of_one_panel_per_criterion(tmp_path):
    path = tmp_path / "criteria.png"
    plot_criteria(table(), ["bic", "aic", "cv"], 1, str(path))
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (round(3 * PANEL_INCHES[0] * DPI), round(PANEL_INCHES[1] * DPI))
        # not a blank canvas: lines and text drew on it
        assert len(image.convert("L").getcolors(maxcolors=2**16)) > 10
    assert [p.name for p in tmp_path.iterdir()] == ["criteria.png"]


def test_models_without_covariance_and_every_cell_failed(tmp_path):
    rows = [{"model": "kmeans", "covariance": "", "k": k, "bic": None} for k in (2, 3)]
    path = tmp_path / "failed.png"
    plot_criteria(rows, ["bic"], None, str(path))
    with Image.open(path) as image:
        assert image.size == (round(PANEL_INCHES[0] * DPI), round(PANEL_INCHES[1] * DPI))


def test_bad_path_leaves_nothing(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        plot_criteria(table(), ["bic"], 0, str(tmp_path / "missing" / "plot.png"))
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "plot.png"
    path.write_bytes(b"previous")

    def half_then_fail(self, fname, **kwargs):
        with open(fname, "wb") as handle:
            handle.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        plot_criteria(table(), ["bic"], 0, str(path))
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_no_criteria_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no criterion"):
        plot_criteria(table(), [], 0, str(tmp_path / "plot.png"))


def test_importing_the_module_does_not_import_matplotlib():
    code = "import sys, emcli.select.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
