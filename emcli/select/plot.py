"""The select-k plot: each criterion against k, one line per covariance type, each panel's star
at that criterion's own choice; and the select-k table file it can also be drawn from
(``emtool plot TABLE --kind bic``).  matplotlib is imported only when a plot is drawn, so that
emtool starts fast."""

import csv
import json
import math

from emcli.errors import DataError, UsageError
from emcli.plot.figure import image_format, require_matplotlib, save

PANEL_INCHES = (4.0, 3.5)
#: the table's columns drawn, in order, when they hold a value
DRAWN = ("bic", "aic", "icl", "cv", "gap", "reconstruction", "inertia", "elbo")
#: criteria on the scale of a total log-likelihood, drawn as their distance from the best on an
#: axis linear up to LINEAR_WIDTH and logarithmic beyond: one covariance type thousands worse
#: then leaves room for the differences of a few units that decide between the others
RELATIVE = frozenset({"bic", "aic", "icl", "elbo"})
#: Kass and Raftery (1995): a BIC difference below 2 is "not worth more than a bare mention"
LINEAR_WIDTH = 2.0
#: columns drawn that are not criteria: k-means' objective, which only falls as k grows
NOT_CRITERIA = frozenset({"inertia"})
#: the table's columns of numbers drawn, and those of text
NUMBER_COLUMNS = (*DRAWN, "gap_se")
TEXT_COLUMNS = ("model", "covariance", "error")
#: the legend's labels of the marks on the lines
OPTIMUM, CHOSEN = "each criterion's choice", "chosen"
MARKERS = (OPTIMUM, CHOSEN)


def check_path(path: str | None) -> None:
    """UsageError, before any fit, for a --plot path that is not .png or .svg, or when
    matplotlib is missing."""
    if path is not None:
        image_format("--plot", path)
        require_matplotlib()


def drawn_criteria(rows: list) -> list:
    """The names in DRAWN that some row of ``rows`` has a value for."""
    return [name for name in DRAWN if any(row.get(name) is not None for row in rows)]


def plot_criteria(rows: list, criteria: list, best: int | None, path: str,
                  higher_is_better: frozenset | None = None) -> None:
    """Write ``criteria_figure`` to ``path`` (atomically), a PNG or an SVG by its extension.
    The image is ``PANEL_INCHES`` * ``emcli.plot.figure.DPI`` pixels per panel, side by side."""
    save(criteria_figure(rows, criteria, best, higher_is_better), path, "--plot")


def criteria_figure(rows: list, criteria: list, best: int | None = None,
                    higher_is_better: frozenset | None = None):
    """A Figure with one panel per name in ``criteria``, k across.

    ``rows`` are select-k table rows (dicts with ``model``, ``covariance``, ``k`` and the
    criteria; ``gap_se`` with ``gap``); a criterion that is None (a failed cell) or absent is
    left out of its line.  Each panel's star is that criterion's own choice (select-k's rule:
    the lowest, the highest for ``higher_is_better`` (default: select-k's, cv, gap and elbo),
    gap by the one-standard-error rule); ``best`` indexes the chosen row, ringed where it is
    not the star.  RELATIVE criteria are drawn as their distance from the star's value, the
    others as they are with gap's standard errors as error bars; each panel's y-axis spans
    its own values.
    """
    if not criteria:
        raise UsageError("no criterion to plot")
    from emcli.plot.figure import new_figure
    from emcli.select.grid import HIGHER_IS_BETTER

    higher_is_better = HIGHER_IS_BETTER if higher_is_better is None else higher_is_better
    width, height = PANEL_INCHES
    figure = new_figure(width * len(criteria), height)
    axes = figure.subplots(1, len(criteria), squeeze=False)[0]
    for ax, criterion in zip(axes, criteria):
        _panel(ax, rows, criterion, best, criterion in higher_is_better)
    # one legend: the lines are the same in every panel; the markers' labels are gathered
    handles = {}
    for ax in axes:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    labels = sorted(handles, key=lambda label: label in MARKERS)  # the lines first, then the marks
    if labels:
        axes[0].legend([handles[label] for label in labels], labels, fontsize="small")
    return figure


def _optimum(rows: list, criterion: str, higher: bool) -> int | None:
    """Index of the row ``criterion`` itself chooses: select-k's rule for gap (one standard
    error), else the best value (the first on ties); None for a column that is no criterion
    or has no value."""
    scored = [i for i, row in enumerate(rows) if row.get(criterion) is not None]
    if criterion in NOT_CRITERIA or not scored:
        return None
    if criterion == "gap" and all(rows[i].get("gap_se") is not None for i in scored):
        from emcli.select.grid import best_index

        return best_index(rows, "gap")
    sign = -1.0 if higher else 1.0
    return min(scored, key=lambda i: (sign * rows[i][criterion], i))


def _panel(ax, rows: list, criterion: str, best: int | None, higher: bool) -> None:
    optimum = _optimum(rows, criterion, higher)
    relative = criterion in RELATIVE and optimum is not None
    reference = rows[optimum][criterion] if relative else 0.0

    def shown(value: float) -> float:
        """The value as drawn: its distance from the best for a RELATIVE criterion."""
        return (reference - value if higher else value - reference) if relative else value

    spans = []  # every drawn (low, high), for the y-axis
    for model, covariance in dict.fromkeys((row["model"], row.get("covariance")) for row in rows):
        line = sorted((row["k"], shown(row[criterion]), row.get(f"{criterion}_se")) for row in rows
                      if (row["model"], row.get("covariance")) == (model, covariance)
                      and row.get(criterion) is not None)
        if not line:
            continue
        ks, values, errors = zip(*line)
        if criterion == "gap" and None not in errors:
            ax.errorbar(ks, values, yerr=errors, marker="o", markersize=3, capsize=3, label=covariance or model)
            spans += [(v - e, v + e) for v, e in zip(values, errors)]
        else:
            ax.plot(ks, values, marker="o", markersize=3, label=covariance or model)
            spans += [(v, v) for v in values]
    if optimum is not None:
        ax.plot([rows[optimum]["k"]], [shown(rows[optimum][criterion])], marker="*", markersize=16,
                color="black", linestyle="none", label=OPTIMUM, zorder=3)
    if best is not None and best != optimum and rows[best].get(criterion) is not None:
        ax.plot([rows[best]["k"]], [shown(rows[best][criterion])], marker="o", markersize=12,
                markerfacecolor="none", markeredgecolor="black", markeredgewidth=1.5, linestyle="none",
                label=CHOSEN, zorder=3)
    if not spans:
        ax.text(0.5, 0.5, "every cell failed", ha="center", va="center", transform=ax.transAxes)
    else:
        _fit_y_axis(ax, spans, relative)
    ax.set_title(f"{criterion} ({_direction(criterion, higher)})")
    if relative:
        ax.set_ylabel(f"best ({reference:.2f}) - {criterion}" if higher else f"{criterion} - best ({reference:.2f})")
    ax.set_xlabel("k")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)


def _direction(criterion: str, higher: bool) -> str:
    if criterion in NOT_CRITERIA:
        return "falls as k grows"
    return ("higher is better" if higher else "lower is better") + ("; 1-SE rule" if criterion == "gap" else "")


def _fit_y_axis(ax, spans: list, relative: bool) -> None:
    """The panel's y-axis over its own values (``spans``: (low, high) of each point, with its
    error bar): linear with a margin of 6%; a RELATIVE panel's (distances from the best, from
    0) linear to LINEAR_WIDTH and logarithmic beyond."""
    low, high = min(s[0] for s in spans), max(s[1] for s in spans)
    if relative:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("symlog", linthresh=LINEAR_WIDTH)
        ax.set_ylim(-0.1 * LINEAR_WIDTH, max(high * 1.6, LINEAR_WIDTH))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 100, not 10^2
        return
    margin = 0.06 * (high - low) if high > low else 0.06 * max(abs(high), 1.0)
    ax.set_ylim(low - margin, high + margin)


# -- the table file ----------------------------------------------------------------------------


def read_table(path: str) -> list:
    """The rows of a select-k table file, as ``select-k --table`` writes it: JSON (by
    extension) or CSV (``true``/``false``, an empty cell for an absent value).  A DataError
    naming the file when it is not one."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = json.load(handle) if path.lower().endswith(".json") else _csv_rows(handle, path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except (json.JSONDecodeError, csv.Error) as exc:
        raise DataError(f"{path} is not a select-k table ({exc})") from None
    _check_rows(rows, path)
    return rows


def _csv_rows(handle, path: str) -> list:
    reader = csv.DictReader(handle)
    missing = [name for name in ("model", "k") if name not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"{path} is not a select-k table (select-k --table FILE writes one): no column {missing[0]}")
    return [{name: _cell(name, text, path, line) for name, text in record.items()}
            for line, record in enumerate(reader, start=2)]


def _cell(name: str, text, path: str, line: int):
    """A CSV cell as select-k wrote it (``io.records``): true/false, a number (k an integer) or
    text (model, covariance, error); an empty cell is None.  A cell of k, a drawn column or
    gap_se that is not a number is a DataError."""
    if text is None or text == "":
        return None
    if name in TEXT_COLUMNS:
        return text
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text) if name == "k" else float(text)
    except ValueError:
        if name == "k" or name in NUMBER_COLUMNS:
            raise DataError(f"{path}: line {line}: {name} {text!r} is not a number") from None
        return text


def _check_rows(rows, path: str) -> None:
    """DataError unless ``rows`` are a select-k table's: a non-empty list of objects, each with
    a model, a positive integer k, and finite numbers (or nothing) in the drawn columns."""
    def number(value) -> bool:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                 and math.isfinite(value))

    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        raise DataError(f"{path} is not a select-k table (select-k --table FILE writes one): not a "
                        "list of rows")
    for i, row in enumerate(rows, start=1):
        k = row.get("k")
        if "model" not in row or not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise DataError(f"{path}: row {i}: not a select-k table row (no model, or no k of 1 or more)")
        bad = [name for name in NUMBER_COLUMNS if not number(row.get(name))]
        if bad:
            raise DataError(f"{path}: row {i}: {bad[0]} {row[bad[0]]!r} is not a number")
    if not drawn_criteria(rows):
        raise DataError(f"{path}: no criterion to draw (none of {', '.join(DRAWN)} has a value)")
