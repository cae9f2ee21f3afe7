"""The density plot: contours of a fitted mixture's marginal density on a pair of columns, with
the data's rows faint underneath."""

import numpy as np

from emcli.plot.components import Components
from emcli.plot.figure import new_figure

FIGURE_INCHES = (6.4, 5.2)
#: grid points per axis at which the density is evaluated
GRID = 200
#: contour levels: LEVELS densities spaced evenly in log over DECADES decades below the peak
LEVELS = 10
DECADES = 3.0


def density_figure(log_density, names: list, parts: Components, *, title: str,
                   X: np.ndarray | None = None):
    """A Figure of the contours of ``log_density`` (a function of rows (M, 2) giving their
    (M,) log densities) over the columns ``names`` (two), on a GRID x GRID grid spanning the
    rows X (N, 2), if given, and each live component of ``parts`` (on the same two columns) to
    3 standard deviations of its mean.  Levels: LEVELS densities spaced evenly in log from the
    peak down DECADES decades, so that a small component's mode shows beside a tall one's."""
    from matplotlib.colors import LogNorm

    low, high = _span(parts, X)
    xs, ys = (np.linspace(low[i], high[i], GRID) for i in (0, 1))
    grid_x, grid_y = np.meshgrid(xs, ys)
    density = np.exp(log_density(np.column_stack([grid_x.ravel(), grid_y.ravel()]))).reshape(GRID, GRID)
    peak = float(density.max())
    levels = peak * np.logspace(-DECADES, 0.0, LEVELS, endpoint=False)
    figure = new_figure(*FIGURE_INCHES)
    ax = figure.subplots()
    if X is not None:
        ax.scatter(X[:, 0], X[:, 1], s=5, c="0.55", alpha=0.35, linewidths=0, zorder=1)
    contours = ax.contour(grid_x, grid_y, density, levels=levels, cmap="viridis",
                          norm=LogNorm(levels[0], peak), linewidths=1.2, zorder=2)
    figure.colorbar(contours, ax=ax, label="density", format="%.2g")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    figure.suptitle(title)
    return figure


def _span(parts: Components, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(low (2,), high (2,)) of the grid: the live components' means +- 3 standard deviations
    and the rows' range (missing cells aside), with a margin of 4%."""
    means = parts.means[parts.live]
    sd = np.sqrt(np.diagonal(parts.covariances[parts.live], axis1=1, axis2=2))
    low, high = (means - 3 * sd).min(axis=0), (means + 3 * sd).max(axis=0)
    if X is not None:
        low, high = np.fmin(low, np.nanmin(X, axis=0)), np.fmax(high, np.nanmax(X, axis=0))
    margin = 0.04 * (high - low)
    return low - margin, high + margin
