"""What every plot shares: the check that matplotlib is installed, a figure on the Agg canvas
(no display, no pyplot state), the cluster palette and the atomic write by extension."""

import os

from emcli.errors import UsageError
from emcli.io.atomic import atomic_path

#: the image formats by file extension
FORMATS = {".png": "png", ".svg": "svg"}
DPI = 100


def image_format(flag: str, path: str) -> str:
    """The format ("png" or "svg") of the image file ``path`` by its extension; a UsageError
    naming ``flag`` for any other name (a .txt would hold an image without saying so)."""
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise UsageError(f"{flag} {path}: the plot is a PNG image or an SVG drawing; give a file name "
                         "ending in .png or .svg")
    return fmt


def require_matplotlib() -> None:
    """UsageError, before any work, when matplotlib (the optional extra 'plot') is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("plotting needs matplotlib: pip install 'emtool[plot]'") from None


def new_figure(width: float, height: float):
    """An empty matplotlib Figure of ``width`` x ``height`` inches on the Agg canvas, laid out
    by constrained layout (so that titles and labels never overlap, whatever the panels)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def palette(k: int) -> list:
    """K distinct RGBA colours, cluster k's the k-th: matplotlib's tab10 (tab20 beyond 10, then
    evenly spaced hues), so that a reader, and a test, knows each cluster's colour."""
    from matplotlib import colormaps

    if k <= 10:
        return [colormaps["tab10"](i) for i in range(k)]
    if k <= 20:
        return [colormaps["tab20"](i) for i in range(k)]
    return [colormaps["hsv"](i / k) for i in range(k)]


def save(figure, path: str, flag: str = "-o") -> None:
    """Write ``figure`` to ``path`` (given as ``flag``) atomically, as PNG or SVG by its
    extension: the temporary file's name does not say, so the format is passed.  The SVG holds
    no date and no random ids, so the same plot gives the same bytes."""
    import matplotlib

    fmt = image_format(flag, path)
    metadata = {"Date": None} if fmt == "svg" else None
    # the SVG's element ids are hashes salted at random unless a salt is set
    with atomic_path(path) as tmp, matplotlib.rc_context({"svg.hashsalt": "emtool"}):
        figure.savefig(tmp, format=fmt, metadata=metadata)
