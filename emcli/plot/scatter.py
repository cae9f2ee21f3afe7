"""The classification and uncertainty plots: a scatter matrix of the drawn columns, each row
coloured by its cluster, with each Gaussian component's 1- and 2-sigma ellipses (or k-means'
centres) on every pair of columns."""

import numpy as np

from emcli.plot.components import Components
from emcli.plot.figure import new_figure, palette

#: inches per panel of the scatter matrix, and of the single panel of two columns
PANEL_INCHES = 2.4
PAIR_INCHES = (6.4, 5.2)
#: marker areas (points^2): every row's in a classification plot; in an uncertainty plot the
#: area grows from the first to the second as 1 - max posterior goes from 0 to 1 - 1/K, its
#: largest value
POINT_AREA = 9.0
UNCERTAINTY_AREAS = (2.0, 90.0)
#: the Mahalanobis radii of the ellipses drawn round each component
SIGMAS = ((1.0, "-"), (2.0, "--"))


def uncertainty_areas(uncertainty: np.ndarray, k: int) -> np.ndarray:
    """(N,) marker areas for the (N,) uncertainties 1 - max_k p_k of a K-component model, in
    UNCERTAINTY_AREAS, proportional to the uncertainty over its largest possible value."""
    small, large = UNCERTAINTY_AREAS
    most = 1.0 - 1.0 / k if k > 1 else 1.0
    return small + (large - small) * np.clip(uncertainty / most, 0.0, 1.0)


def scatter_figure(X: np.ndarray, names: list, labels: np.ndarray, k: int, *, title: str,
                   areas: np.ndarray | None = None, parts: Components | None = None,
                   centres: np.ndarray | None = None):
    """A Figure of the rows X (N, D), 2 <= D, named ``names``: one panel for two columns, else
    a D x D matrix with the column names on its diagonal and every ordered pair off it.

    Row n has cluster ``labels[n]`` (of ``k``), coloured ``figure.palette(k)[labels[n]]``;
    ``areas`` (N,) are the marker areas (default POINT_AREA), larger ones drawn last so that
    small ones do not hide them.  ``parts``: components on the same D columns, drawn as their
    1- and 2-sigma ellipses in their cluster's colour with their means as black '+';
    ``centres`` (K, D): k-means' or k-medoids' centres as black crosses.
    """
    colours = np.asarray(palette(k))
    order = np.argsort(areas, kind="stable") if areas is not None else slice(None)
    X, labels = X[order], labels[order]
    sizes = areas[order] if areas is not None else POINT_AREA
    d = X.shape[1]
    if d == 2:
        figure = new_figure(*PAIR_INCHES)
        panels = [(figure.subplots(), 0, 1)]
    else:
        figure = new_figure(PANEL_INCHES * d, PANEL_INCHES * d)
        grid = figure.subplots(d, d)
        panels = [(grid[i, j], j, i) for i in range(d) for j in range(d)]  # column j across, i up
    limits = _limits(X, parts)
    for ax, x, y in panels:
        if x == y:
            ax.text(0.5, 0.5, names[x], ha="center", va="center", transform=ax.transAxes, fontsize="large")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.scatter(X[:, x], X[:, y], s=sizes, c=colours[labels], linewidths=0)
        if parts is not None:
            _ellipses(ax, parts, colours, x, y)
        if centres is not None:
            ax.scatter(centres[:, x], centres[:, y], marker="X", s=120, c="black", edgecolors="white",
                       linewidths=1.0, zorder=3)
        ax.set_xlim(limits[x])
        ax.set_ylim(limits[y])
        if d == 2:
            ax.set_xlabel(names[x])
            ax.set_ylabel(names[y])
        ax.tick_params(labelsize="small")
    _legend(panels[0 if d == 2 else 1][0], colours, labels)
    figure.suptitle(title)
    return figure


def _limits(X: np.ndarray, parts: Components | None) -> list:
    """(low, high) of each column: its rows' range, and every live component's mean +- 2
    standard deviations (so its 2-sigma ellipse fits), with a margin of 4%.  Missing cells
    (NaN) are not drawn and set no limit."""
    low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    if parts is not None:
        means = parts.means[parts.live]
        sd = np.sqrt(np.diagonal(parts.covariances[parts.live], axis1=1, axis2=2))
        low = np.minimum(low, (means - 2 * sd).min(axis=0))
        high = np.maximum(high, (means + 2 * sd).max(axis=0))
    margin = 0.04 * np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
    return list(zip(low - margin, high + margin))


def _ellipses(ax, parts: Components, colours: np.ndarray, x: int, y: int) -> None:
    """Each live component's 1- and 2-sigma ellipses on the panel of columns ``x`` (across)
    and ``y`` (up): the marginal covariance of the pair, its axes along the eigenvectors,
    their half-lengths r * sqrt(eigenvalue)."""
    from matplotlib.patches import Ellipse

    pair = parts.on([x, y])
    for k in parts.live:
        values, vectors = np.linalg.eigh(pair.covariances[k])
        angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))  # the larger axis's direction
        for radius, style in SIGMAS:
            ax.add_patch(Ellipse(pair.means[k], 2 * radius * np.sqrt(max(values[1], 0.0)),
                                 2 * radius * np.sqrt(max(values[0], 0.0)), angle=angle, fill=False,
                                 edgecolor=colours[k], linestyle=style, linewidth=1.3, zorder=2))
    ax.scatter(pair.means[parts.live, 0], pair.means[parts.live, 1], marker="+", s=80, c="black",
               linewidths=1.5, zorder=3)


def _legend(ax, colours: np.ndarray, labels: np.ndarray) -> None:
    """One legend of the clusters that hold drawn rows, on the first scatter panel."""
    from matplotlib.lines import Line2D

    shown = np.unique(labels)
    handles = [Line2D([], [], marker="o", linestyle="none", color=colours[k], label=f"cluster {k}")
               for k in shown]
    ax.legend(handles=handles, fontsize="small", loc="best")
