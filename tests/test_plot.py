"""emtool plot: each kind drawn from sample_data, checked by the image's statistics (not by
comparing screenshots) and by the matplotlib objects; and every bad request one line, exit 2,
nothing written."""

import builtins
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from emcli.cli import cli
from emcli.plot.kinds import Request, figure_for

from conftest import BLOBS, FAITHFUL, ROOT

QUAKES = ROOT / "tests" / "data" / "quakes.csv"


def invoke(*args, cwd):
    """emtool ARGS in-process, in the directory ``cwd``."""
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The directory of the model files the tests draw: faithful.json (gmm k=3 tied, 5
    restarts), centres.json (kmeans k=3 on blobs), quakes.json (tmix k=2 diag on 5 columns),
    student.json (one Student-t on faithful), regression.json (blr), wide.csv and wide.json
    (7 columns), and bic.csv, a select-k table of faithful."""
    where = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(60, 7)) + np.repeat([[0.0], [5.0]], 30, axis=0)
    (where / "wide.csv").write_text("a,b,c,d,e,f,g\n" + "\n".join(",".join(f"{v:.5f}" for v in row)
                                                              for row in wide) + "\n")
    for args in (
        ("fit", FAITHFUL, "-k", 3, "--covariance", "tied", "--restarts", 5, "-o", "faithful.json"),
        ("fit", BLOBS, "-m", "kmeans", "-k", 3, "-o", "centres.json"),
        ("fit", QUAKES, "-m", "tmix", "-k", 2, "--covariance", "diag", "-o", "quakes.json"),
        ("fit", FAITHFUL, "-m", "student", "-o", "student.json"),
        ("fit", FAITHFUL, "-m", "blr", "--target", "waiting", "-o", "regression.json"),
        ("fit", "wide.csv", "-k", 2, "--covariance", "diag", "-o", "wide.json"),
        ("select-k", FAITHFUL, "--k-range", "1:4", "--covariance", "full,tied,diag,spherical", "--jobs", 1,
         "--table", "bic.csv"),
    ):
        result = invoke(*args, cwd=where)
        assert result.exit_code == 0, (args, result.output)
    return where


def plot(models, *args):
    """``emtool plot ARGS`` run in the models' directory: (result, the image's path)."""
    result = invoke("plot", *args, cwd=models)
    return result, models / args[args.index("-o") + 1]


def rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def assert_not_blank(pixels: np.ndarray) -> None:
    """Something is drawn: the pixels vary, and more than 4% of them are not the white
    background."""
    assert pixels.std() > 20
    assert (pixels != 255).any(axis=2).mean() > 0.04


def marker_colours(pixels: np.ndarray, share: float = 0.03) -> list:
    """The distinct saturated colours (max - min channel > 60: not black, grey or white) that
    each cover at least ``share`` of the saturated pixels: the fill colours of markers and
    lines, not the anti-aliased blends at their edges, of which each exact value is rare."""
    saturated = pixels[(pixels.max(axis=2) - pixels.min(axis=2)) > 60]
    colours, counts = np.unique(saturated, axis=0, return_counts=True)
    return [tuple(int(c) for c in colour) for colour in colours[counts >= share * len(saturated)]]


def tab10(k: int) -> tuple:
    from matplotlib import colormaps

    return tuple(int(round(255 * c)) for c in colormaps["tab10"](k)[:3])


# -- each kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model, data, k", [("faithful.json", FAITHFUL, 3), ("centres.json", BLOBS, 3),
                                            ("quakes.json", QUAKES, 2), ("student.json", FAITHFUL, 1)])
def test_classification_shows_one_colour_per_cluster(models, model, data, k):
    result, path = plot(models, model, data, "--kind", "classification", "-o", "classes.png")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    pixels = rgb(path)
    assert_not_blank(pixels)
    # the clusters' colours are tab10's first K, and no other saturated colour is a marker's
    assert sorted(marker_colours(pixels)) == sorted(tab10(i) for i in range(k))


def test_classification_draws_each_components_ellipses_on_every_pair(models):
    from matplotlib.patches import Ellipse

    from emcli.io.modelfile import read_model

    figure = figure_for(Request("classification", str(models / "quakes.json"), str(QUAKES)))
    _, params, doc = read_model(str(models / "quakes.json"))
    assert len(doc["columns"]) == 5
    panels = [ax for ax in figure.axes if ax.collections]
    assert len(panels) == 5 * 4  # every ordered pair of 5 columns
    for ax in panels:
        assert len([p for p in ax.patches if isinstance(p, Ellipse)]) == 2 * 2  # 1 and 2 sigma, 2 components
    # the panel in row 1, column 0 (column 0 across, column 1 up) holds the diagonal
    # covariances' marginals: axes of 2 and 4 standard deviations along the columns
    first = figure.axes[5]
    ellipses = sorted((p for p in first.patches if isinstance(p, Ellipse)), key=lambda p: (p.center[0], p.width))
    variances = np.asarray(params.cov)[:, :2]
    for component in range(2):
        one, two = ellipses[2 * component : 2 * component + 2]
        k = int(np.argmin(np.abs(params.means[:, 0] - one.center[0])))
        np.testing.assert_allclose(one.center, params.means[k, :2], rtol=1e-12)
        np.testing.assert_allclose(sorted([one.width, one.height]), sorted(2 * np.sqrt(variances[k])), rtol=1e-9)
        np.testing.assert_allclose(sorted([two.width, two.height]), sorted(4 * np.sqrt(variances[k])), rtol=1e-9)


def test_columns_pick_the_panels(models):
    figure = figure_for(Request("classification", str(models / "quakes.json"), str(QUAKES),
                                columns=["mag", "depth"]))
    [ax] = figure.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mag", "depth")
    excluded = figure_for(Request("classification", str(models / "quakes.json"), str(QUAKES),
                                  exclude=["lat", "long"]))
    assert len(excluded.axes) == 9  # 3 x 3


def test_uncertainty_marker_area_grows_with_one_minus_the_largest_probability(models):
    from emcli.io.modelfile import read_model
    from emcli.plot.scatter import UNCERTAINTY_AREAS

    figure = figure_for(Request("uncertainty", str(models / "faithful.json"), str(FAITHFUL)))
    points = figure.axes[0].collections[0]
    model, params, _ = read_model(str(models / "faithful.json"))
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    resp, _ = model.responsibilities(params, X)
    uncertainty = np.sort(1 - resp.max(axis=1))
    areas = points.get_sizes()
    assert len(areas) == len(X) == 272
    # drawn in order of growing uncertainty (the large ones on top), area linear in it
    assert np.all(np.diff(areas) >= 0)
    small, large = UNCERTAINTY_AREAS
    np.testing.assert_allclose(areas, small + (large - small) * uncertainty / (2 / 3), rtol=1e-9)
    assert areas.min() < 2.5 and areas.max() > 40  # most rows are certain; a few are not


def test_uncertainty_renders_with_the_clusters_colours(models):
    result, path = plot(models, "faithful.json", FAITHFUL, "--kind", "uncertainty", "-o", "u.png")
    assert result.exit_code == 0, result.output
    pixels = rgb(path)
    assert_not_blank(pixels)
    assert sorted(marker_colours(pixels)) == sorted(tab10(i) for i in range(3))


def test_density_contours_over_faint_rows(models):
    from matplotlib import colormaps

    result, path = plot(models, "faithful.json", FAITHFUL, "--kind", "density", "-o", "d.png")
    assert result.exit_code == 0, result.output
    pixels = rgb(path)
    assert_not_blank(pixels)
    # the contour levels, in viridis: several distinct colours, each one of viridis's
    viridis = np.round(255 * colormaps["viridis"](np.linspace(0, 1, 256))[:, :3])
    found = marker_colours(pixels, share=0.02)
    assert len(found) >= 6
    assert all(np.abs(viridis - colour).max(axis=1).min() <= 3 for colour in found)


def test_density_is_the_marginal_of_the_fitted_mixture(tmp_path):
    """On a pair of 3 columns, the contoured density is the mixture of the components'
    marginals (scipy's normal and t densities), for every covariance type."""
    from scipy.stats import multivariate_normal, multivariate_t

    from emcli.io.modelfile import read_model
    from emcli.plot.components import components, marginal_log_density

    rng = np.random.default_rng(1)
    X = np.vstack([rng.multivariate_normal([0, 0, 0], [[1, .6, .3], [.6, 2, .1], [.3, .1, 1]], 100),
                   rng.multivariate_normal([3, 1, -2], np.eye(3), 100)])
    lines = [",".join(repr(float(v)) for v in row) for row in X]
    (tmp_path / "three.csv").write_text("a,b,c\n" + "\n".join(lines) + "\n")
    points = rng.normal(size=(50, 2)) * 2
    for model_args in (["-m", "gmm", "--covariance", "full"], ["-m", "gmm", "--covariance", "tied"],
                       ["-m", "gmm", "--covariance", "diag"], ["-m", "gmm", "--covariance", "spherical"],
                       ["-m", "tmix", "--covariance", "full"]):
        result = invoke("fit", "three.csv", "-k", 2, *model_args, "-o", "m.json", cwd=tmp_path)
        assert result.exit_code == 0, result.output
        model, params, _ = read_model(str(tmp_path / "m.json"))
        parts = components(model, params).on([0, 2])
        expected = np.zeros(len(points))
        for k in range(2):
            mean, cov = parts.means[k], parts.covariances[k]
            if model.name == "tmix":
                expected += params.weights[k] * multivariate_t(mean, cov, df=params.dof[k]).pdf(points)
            else:
                expected += params.weights[k] * multivariate_normal(mean, cov).pdf(points)
        np.testing.assert_allclose(np.exp(marginal_log_density(model, params, [0, 2])(points)), expected,
                                   rtol=1e-9)


def test_density_without_data_and_with_a_chosen_pair(models):
    figure = figure_for(Request("density", str(models / "quakes.json"), columns=["mag", "depth"]))
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("mag", "depth")
    from matplotlib.collections import PathCollection

    assert not any(isinstance(c, PathCollection) for c in ax.collections)  # no rows drawn
    assert len(ax.collections) == 1  # the contours


def test_trace_is_the_objective_with_events_and_restarts(models):
    import json

    doc = json.loads((models / "faithful.json").read_text())
    figure = figure_for(Request("trace", str(models / "faithful.json")))
    ax = figure.axes[0]
    line = ax.lines[0]
    trace = doc["fit"]["trace"]
    np.testing.assert_array_equal(line.get_xdata(), [row["iter"] for row in trace])
    np.testing.assert_array_equal(line.get_ydata(), [row["log_likelihood"] for row in trace])
    assert ax.get_ylabel() == "log likelihood"
    assert "init" in [text.get_text().strip() for text in ax.texts]
    finals = ax.collections[0].get_offsets()
    assert sorted(finals[:, 1]) == sorted(r["log_likelihood"] for r in doc["fit"]["restarts"])
    assert len(finals) == 5


def test_trace_of_kmeans_is_its_inertia_and_renders(models):
    result, path = plot(models, "centres.json", "--kind", "trace", "-o", "t.png")
    assert result.exit_code == 0, result.output
    assert_not_blank(rgb(path))
    figure = figure_for(Request("trace", str(models / "centres.json")))
    assert figure.axes[0].get_ylabel() == "inertia"


def test_trace_event_labels_are_short():
    from emcli.plot.trace import short_label

    assert short_label("re-seeded component 2 (its weight fell to 0)") == "re-seeded component 2"
    assert short_label("re-seeded component 0 (empty); re-seeded component 3 (flat)") == "re-seeded component 0 ..."
    assert len(short_label("x" * 100)) == 28


def test_bic_from_a_csv_and_a_json_table(models):
    result, path = plot(models, "bic.csv", "--kind", "bic", "-o", "bic.png")
    assert result.exit_code == 0, result.output
    pixels = rgb(path)
    assert_not_blank(pixels)
    assert pixels.shape[1] == 3 * 400  # three panels: bic, aic, icl
    # one line per covariance type, in tab10's first four colours
    assert {tab10(i) for i in range(4)} <= set(marker_colours(pixels, share=0.01))
    from emcli.select.plot import read_table

    rows = read_table(str(models / "bic.csv"))
    import json

    (models / "bic.json").write_text(json.dumps(rows))
    assert read_table(str(models / "bic.json")) == rows
    result, _ = plot(models, "bic.json", "--kind", "bic", "-o", "bic2.png")
    assert result.exit_code == 0, result.output


def test_an_svg_is_xml_with_paths(models):
    result, path = plot(models, "faithful.json", FAITHFUL, "--kind", "classification", "-o", "c.svg")
    assert result.exit_code == 0, result.output
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20
    again, _ = plot(models, "faithful.json", FAITHFUL, "--kind", "classification", "-o", "d.svg")
    assert again.exit_code == 0
    assert path.read_bytes() == (models / "d.svg").read_bytes()  # no date: the same bytes


def test_the_installed_command_draws(models):
    done = subprocess.run([sys.executable, "-m", "emcli", "plot", "faithful.json", "--kind", "trace",
                           "-o", "sub.png"], cwd=models, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert_not_blank(rgb(models / "sub.png"))


# -- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["faithful.json", FAITHFUL, "--kind", "classification", "-o", "p.jpg"],
     "-o p.jpg: the plot is a PNG image or an SVG drawing"),
    (["faithful.json", "--kind", "classification", "-o", "p.png"], "--kind classification needs DATA"),
    (["faithful.json", "--kind", "uncertainty", "-o", "p.png"], "--kind uncertainty needs DATA"),
    (["wide.json", "wide.csv", "--kind", "classification", "-o", "p.png"],
     "7 columns are too many to draw (at most 6); choose some with --columns"),
    (["faithful.json", FAITHFUL, "--kind", "classification", "--columns", "eruptions", "-o", "p.png"],
     "draws pairs of columns"),
    (["faithful.json", FAITHFUL, "--kind", "density", "--columns", "x,waiting", "-o", "p.png"],
     "the model has no column 'x'"),
    (["quakes.json", "--kind", "density", "--columns", "lat,long,mag", "-o", "p.png"],
     "--kind density draws one pair of columns; --columns names 3"),
    (["regression.json", FAITHFUL, "--kind", "classification", "-o", "p.png"],
     "regression.json holds a blr model"),
    (["centres.json", BLOBS, "--kind", "density", "-o", "p.png"], "centres.json holds a kmeans model"),
    (["centres.json", BLOBS, "--kind", "uncertainty", "-o", "p.png"], "centres.json holds a kmeans model"),
    (["student.json", FAITHFUL, "--kind", "uncertainty", "-o", "p.png"], "student.json holds a student model"),
    (["faithful.json", FAITHFUL, "--kind", "trace", "-o", "p.png"], "DATA (" ),
    (["faithful.json", "--kind", "bic", "-o", "p.png"], "faithful.json is not a select-k table"),
    (["wide.csv", "--kind", "bic", "-o", "p.png"], "wide.csv is not a select-k table"),
    (["faithful.json", "--kind", "trace", "-o", "faithful.json"], "-o faithful.json is the input"),
    (["faithful.json", "--kind", "pie", "-o", "p.png"], "'pie' is not one of"),
])
def test_bad_requests_are_one_line_and_write_nothing(models, args, message):
    before = sorted(os.listdir(models))
    result, _ = plot(models, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(os.listdir(models)) == before


def hide_matplotlib(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)


MISSING = "emtool: error: plotting needs matplotlib: pip install 'emtool[plot]'\n"


def test_without_matplotlib_plot_names_the_extra(models, monkeypatch):
    hide_matplotlib(monkeypatch)
    before = sorted(os.listdir(models))
    result, _ = plot(models, "faithful.json", FAITHFUL, "--kind", "classification", "-o", "p.png")
    assert result.exit_code == 2 and result.stderr == MISSING
    assert sorted(os.listdir(models)) == before


def test_without_matplotlib_select_k_plot_names_the_extra_before_fitting(run, monkeypatch):
    hide_matplotlib(monkeypatch)
    result = run("select-k", FAITHFUL, "--k-range", "1:2", "--jobs", 1, "--plot", "p.png", "-o", "best.json")
    assert result.exit_code == 2 and result.stderr == MISSING
    assert result.stdout == "" and os.listdir(".") == []


def test_help_lists_plot_without_importing_matplotlib():
    code = ("import sys; from emcli.cli import cli\n"
            "try: cli.main(['plot', '--help'], prog_name='emtool')\n"
            "except SystemExit: pass\n"
            "sys.stderr.write(repr([m for m in ('numpy', 'matplotlib') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr == "[]" and "--kind" in done.stdout


def test_columns_of_the_model_with_missing_cells_are_drawn(tmp_path):
    """A gmm fit to rows with missing cells: the rows with a missing drawn cell are left out
    of their panel, the others drawn."""
    data = ROOT / "sample_data" / "faithful_missing.csv"
    assert invoke("fit", data, "-k", 2, "-o", "m.json", cwd=tmp_path).exit_code == 0
    result = invoke("plot", "m.json", data, "--kind", "classification", "-o", "m.png", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(marker_colours(rgb(tmp_path / "m.png"))) == sorted(tab10(i) for i in range(2))
    assert pathlib.Path(tmp_path / "m.png").stat().st_size > 0
