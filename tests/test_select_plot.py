"""The select-k plot: a PNG of each criterion against k, written atomically."""

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from emcli.errors import UsageError
from emcli.plot.figure import DPI
from emcli.select.plot import PANEL_INCHES, criteria_figure, plot_criteria, read_table


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


# -- the panels, inspected as matplotlib objects ------------------------------------------------

def spread_table():
    """Four covariance types at k = 1..5: spherical thousands worse than the others, which
    differ by units; bic is lowest at (tied, 3), aic at (full, 5), cv highest at (diag, 2)."""
    rows = []
    for covariance, bic_offset in (("full", 8.0), ("tied", 0.0), ("diag", 15.0), ("spherical", 3000.0)):
        for k in range(1, 6):
            rows.append({"model": "gmm", "covariance": covariance, "k": k,
                         "bic": 2300 + bic_offset + 6.0 * (k - 3) ** 2,
                         "aic": 2250 - 10.0 * k + (0 if covariance == "full" else 7.0),
                         "icl": 2320 + bic_offset + 9.0 * abs(k - 2),
                         "cv": -4.0 - 0.01 * (k - 2) ** 2 - (0 if covariance == "diag" else 0.02)
                               - (1.5 if covariance == "spherical" else 0.0),
                         "error": None})
    return rows


def stars(ax) -> list:
    return [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines if line.get_marker() == "*"]


def rings(ax) -> list:
    return [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines
            if line.get_marker() == "o" and line.get_linestyle() == "None"]


def test_each_panel_stars_its_own_criterions_choice():
    rows = spread_table()
    chosen = 7  # (tied, 3): bic's choice, as select-k chose by bic
    figure = criteria_figure(rows, ["bic", "aic", "icl", "cv"], chosen)
    bic, aic, icl, cv = figure.axes
    # bic, aic and icl are drawn as the distance from their best, so their stars are at 0
    assert stars(bic) == [(3, 0.0)] and rings(bic) == []
    assert stars(aic) == [(5, 0.0)]
    assert rings(aic) == [(3, rows[chosen]["aic"] - min(row["aic"] for row in rows))]
    assert stars(icl) == [(2, 0.0)]
    assert stars(cv) == [(2, max(row["cv"] for row in rows))]
    best_cv = max(range(len(rows)), key=lambda i: rows[i]["cv"])
    assert rows[best_cv]["covariance"] == "diag"
    assert [ax.get_title() for ax in figure.axes] == ["bic (lower is better)", "aic (lower is better)",
                                                       "icl (lower is better)", "cv (higher is better)"]
    assert bic.get_ylabel() == "bic - best (2300.00)"


def test_one_far_worse_covariance_type_does_not_flatten_the_others():
    """The y-axis of an information criterion is the distance from the best, linear to 2 and
    logarithmic beyond: the differences of a few units between full, tied and diag take a good
    part of the panel although spherical is 3000 worse, and spherical is still on it."""
    rows = spread_table()
    figure = criteria_figure(rows, ["bic", "cv"], None)
    bic, cv = figure.axes
    assert bic.get_yscale() == "symlog"
    low, high = bic.get_ylim()
    worst = max(row["bic"] for row in rows) - 2300
    assert low <= 0 and worst <= high < 3 * worst
    to_pixels = bic.transData.transform
    height = bic.bbox.height
    # tied's best (0) to full's best (8): over a fifth of the panel's height
    assert (to_pixels((3, 8.0))[1] - to_pixels((3, 0.0))[1]) / height > 0.2
    # each panel's own y-axis: cv spans its own values, a margin of 6% either side
    values = [row["cv"] for row in rows]
    span = max(values) - min(values)
    np.testing.assert_allclose(cv.get_ylim(), (min(values) - 0.06 * span, max(values) + 0.06 * span))
    assert cv.get_yscale() == "linear"


def gap_rows():
    """kmeans at k = 1..4: the largest gap is at k=4, but by the one-standard-error rule
    (Gap(k) >= Gap(k+1) - s_{k+1}) k=2 is chosen."""
    gaps, errors = [0.2, 0.5, 0.55, 0.58], [0.05, 0.04, 0.1, 0.1]
    return [{"model": "kmeans", "covariance": None, "k": k, "inertia": 100.0 / k, "gap": g, "gap_se": s}
            for k, g, s in zip(range(1, 5), gaps, errors)]


def test_gap_has_its_standard_errors_and_the_one_standard_error_choice():
    from matplotlib.container import ErrorbarContainer

    rows = gap_rows()
    figure = criteria_figure(rows, ["gap", "inertia"], 1)
    gap, inertia = figure.axes
    [bars] = [c for c in gap.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([seg[1][1] - seg[0][1] for seg in segments], [2 * r["gap_se"] for r in rows])
    np.testing.assert_allclose([seg[0][0] for seg in segments], [1, 2, 3, 4])
    assert stars(gap) == [(2, 0.5)] and rings(gap) == []
    assert gap.get_title() == "gap (higher is better; 1-SE rule)"
    # the y-axis holds the error bars
    low, high = gap.get_ylim()
    assert low < 0.2 - 0.05 and high > 0.58 + 0.1
    # inertia is no criterion: no star, and the title says it only falls
    assert stars(inertia) == [] and inertia.get_title() == "inertia (falls as k grows)"
    assert rings(inertia) == [(2, 50.0)]


def test_every_criterion_says_which_way_is_better():
    rows = [{"model": "gmm", "covariance": "full", "k": k, "reconstruction": 1.0 / k, "elbo": -100.0 + k}
            for k in (1, 2, 3)]
    figure = criteria_figure(rows, ["reconstruction", "elbo"], None)
    reconstruction, elbo = figure.axes
    assert reconstruction.get_title() == "reconstruction (lower is better)"
    assert stars(reconstruction) == [(3, 1.0 / 3)]
    assert elbo.get_title() == "elbo (higher is better)"
    assert stars(elbo) == [(3, 0.0)] and elbo.get_ylabel() == "best (-97.00) - elbo"


def test_the_legend_names_the_lines_then_the_marks():
    figure = criteria_figure(spread_table(), ["bic", "aic"], 7)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels == ["full", "tied", "diag", "spherical", "each criterion's choice", "chosen"]


def test_an_svg_plot(tmp_path):
    import xml.etree.ElementTree as ET

    plot_criteria(table(), ["bic"], 0, str(tmp_path / "p.svg"))
    assert ET.parse(tmp_path / "p.svg").getroot().findall(".//{http://www.w3.org/2000/svg}path")


def test_check_path_takes_png_and_svg_only():
    from emcli.select.plot import check_path

    check_path("a.PNG")
    check_path("b.svg")
    check_path(None)
    with pytest.raises(UsageError, match="--plot c.pdf: the plot is a PNG image or an SVG drawing"):
        check_path("c.pdf")


# -- the table file ----------------------------------------------------------------------------


def test_a_table_reads_back_as_select_k_wrote_it(tmp_path):
    import json

    from emcli.io.records import records_csv

    rows = [dict(row, best=i == 1, converged=True, seconds=0.5) for i, row in enumerate(gap_rows())]
    (tmp_path / "t.csv").write_text(records_csv(rows))
    (tmp_path / "t.json").write_text(json.dumps(rows))
    assert read_table(str(tmp_path / "t.csv")) == read_table(str(tmp_path / "t.json")) == rows


@pytest.mark.parametrize("name, text, message", [
    ("a.csv", "x,y\n1,2\n", "a.csv is not a select-k table (select-k --table FILE writes one): no column model"),
    ("b.csv", "model,covariance,k,bic\ngmm,full,1,abc\n", "b.csv: line 2: bic 'abc' is not a number"),
    ("c.csv", "model,covariance,k,bic\ngmm,full,0,1.5\n", "c.csv: row 1: not a select-k table row"),
    ("d.csv", "model,covariance,k,error\ngmm,full,1,failed\n", "d.csv: no criterion to draw"),
    ("e.json", '{"model": "gmm"}', "e.json is not a select-k table"),
    ("f.json", '[{"model": "gmm", "k": 1, "bic": "12"}]', "f.json: row 1: bic '12' is not a number"),
    ("g.json", "not json", "g.json is not a select-k table"),
])
def test_what_is_not_a_table_is_a_data_error(tmp_path, name, text, message):
    from emcli.errors import DataError

    (tmp_path / name).write_text(text)
    with pytest.raises(DataError) as caught:
        read_table(str(tmp_path / name))
    assert message in str(caught.value).replace(str(tmp_path) + "/", "")
