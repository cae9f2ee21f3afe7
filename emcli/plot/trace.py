"""The trace plot: a fit's objective against iteration, as its model file records it (the best
restart's trace), with the trace's events and every restart's final score."""

from dataclasses import dataclass

import numpy as np

from emcli.errors import ModelFileError
from emcli.plot.figure import new_figure

FIGURE_INCHES = (7.0, 4.5)
#: the longest event label drawn; the model file holds the whole text
LABEL_CHARS = 28


@dataclass(frozen=True)
class Trace:
    """iters (T,) and values (T,) of the objective; events: (iteration, text) of the rows that
    have one; finals: (iterations, final value) of each restart that finished."""

    objective: str
    iters: np.ndarray
    values: np.ndarray
    events: list
    finals: list


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_trace(doc: dict, objective: str, name: str) -> Trace:
    """The Trace of a model document whose objective is named ``objective`` (log_likelihood,
    log_posterior, elbo, log_evidence, inertia); a ModelFileError naming ``name`` and the
    field when the file holds no such trace (a hand-written file, say)."""
    fit = doc.get("fit")
    rows = fit.get("trace") if isinstance(fit, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ModelFileError(f"{name}: fit.trace: missing or empty; the file holds no trace to draw")
    for i, row in enumerate(rows):
        if not (isinstance(row, dict) and _number(row.get("iter")) and _number(row.get(objective))):
            raise ModelFileError(f"{name}: fit.trace[{i}]: expected numbers iter and {objective}")
    events = [(row["iter"], str(row["event"])) for row in rows if row.get("event")]
    restarts = fit.get("restarts") if isinstance(fit.get("restarts"), list) else []
    finals = [(row["n_iter"], row[objective]) for row in restarts
              if isinstance(row, dict) and _number(row.get("n_iter")) and _number(row.get(objective))]
    return Trace(objective, np.array([row["iter"] for row in rows], dtype=float),
                 np.array([row[objective] for row in rows], dtype=float), events, finals)


def short_label(event: str) -> str:
    """An event's text as a label: its first part, without the reason in parentheses
    ("re-seeded component 2 (weight 0)" -> "re-seeded component 2"), at most LABEL_CHARS."""
    first, _, rest = event.partition("; ")
    text = first.split(" (")[0] + (" ..." if rest else "")
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3] + "..."


def trace_figure(trace: Trace, *, title: str):
    """A Figure of ``trace``: the objective's line, a dotted vertical line at every event with
    its short label (each distinct label once, at its first event, so that a run of like events
    stays legible), and, when there were several restarts, each one's final value at its last
    iteration."""
    from matplotlib.transforms import blended_transform_factory

    figure = new_figure(*FIGURE_INCHES)
    ax = figure.subplots()
    ax.plot(trace.iters, trace.values, marker="o", markersize=2.5, linewidth=1.2, label="best restart")
    at_top = blended_transform_factory(ax.transData, ax.transAxes)
    labelled = set()
    for iteration, event in trace.events:
        ax.axvline(iteration, color="0.45", linestyle=":", linewidth=1.0)
        label = short_label(event)
        if label not in labelled:
            labelled.add(label)
            ax.text(iteration, 0.98, " " + label, transform=at_top, rotation=90, va="top", ha="right",
                    fontsize="x-small", color="0.3")
    if len(trace.finals) > 1:
        iterations, values = zip(*trace.finals)
        ax.scatter(iterations, values, marker="D", s=28, facecolors="none", edgecolors="C3", zorder=3,
                   label=f"final value of each of {len(trace.finals)} restarts")
    ax.set_xlabel("iteration")
    ax.set_ylabel(trace.objective.replace("_", " "))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    figure.suptitle(title)
    return figure
