"""The select-k plot: each criterion against k, one line per covariance type, the best cell
marked.  matplotlib is imported only when a plot is drawn, so that emtool starts fast."""

from emcli.errors import UsageError
from emcli.io.atomic import atomic_path

HIGHER_IS_BETTER = frozenset({"cv"})
PANEL_INCHES = (4.0, 3.5)
DPI = 100


def check_path(path: str | None) -> None:
    """UsageError for a --plot path that does not end in .png (the image is a PNG; a .txt
    would hold one without saying so)."""
    if path is not None and not path.lower().endswith(".png"):
        raise UsageError(f"--plot {path}: the plot is a PNG image; give a file name ending in .png")


def plot_criteria(rows: list, criteria: list, best: int | None, path: str,
                  higher_is_better: frozenset = HIGHER_IS_BETTER) -> None:
    """Write a PNG to ``path`` (atomically) with one panel per name in ``criteria``.

    ``rows`` are select-k table rows (dicts with ``model``, ``covariance``, ``k`` and the
    criteria); a criterion that is None (a failed cell) or absent is left out of its line.
    ``best`` indexes the chosen row, drawn as a star on every panel where it has a value.
    Lower is better except for the criteria in ``higher_is_better`` (the cross-validated
    log-likelihood), which the panel titles say.  The image is ``PANEL_INCHES`` * ``DPI``
    pixels per panel, side by side.
    """
    if not criteria:
        raise UsageError("no criterion to plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = PANEL_INCHES
    figure = Figure(figsize=(width * len(criteria), height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(criteria), squeeze=False)[0]
    lines = list(dict.fromkeys((row["model"], row["covariance"]) for row in rows))
    chosen = rows[best] if best is not None else None
    for ax, criterion in zip(axes, criteria):
        for model, covariance in lines:
            points = sorted((row["k"], row[criterion]) for row in rows
                            if (row["model"], row["covariance"]) == (model, covariance)
                            and row.get(criterion) is not None)
            if points:
                ks, values = zip(*points)
                ax.plot(ks, values, marker="o", markersize=3, label=covariance or model)
        if chosen is not None and chosen.get(criterion) is not None:
            ax.plot([chosen["k"]], [chosen[criterion]], marker="*", markersize=16, color="black",
                    linestyle="none", label="best")
        if not ax.has_data():
            ax.text(0.5, 0.5, "every cell failed", ha="center", va="center", transform=ax.transAxes)
        direction = "higher" if criterion in higher_is_better else "lower"
        ax.set_title(f"{criterion} ({direction} is better)")
        ax.set_xlabel("k")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    # one legend: the lines are the same in every panel
    labelled = [ax for ax in axes if ax.get_legend_handles_labels()[0]]
    if labelled:
        labelled[0].legend(fontsize="small")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
