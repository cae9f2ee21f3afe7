"""Facts (``emcli.describe.summary``) laid out for people or programs: plain text (aligned
columns, no box drawing, no escape codes: what a pipe, a file or grep expects), rich tables for
a terminal, or strict JSON.

Text is a list of blocks, each a title and a table: a header and rows, or name/value pairs.  A
table wider than the page is folded: the columns that do not fit continue in a second table
below, its label columns repeated, rather than every line wrapping."""

import io
import json
import shutil
from dataclasses import dataclass

#: the width of plain text: fixed, so that the same model gives the same text everywhere
WIDTH = 100
#: how a few fields are headed in text (the JSON keeps the model file's names)
LABELS = {"n_iter": "iterations", "iter": "iteration", "n_samples": "rows", "n_parameters": "parameters",
          "k": "K", "condition_number": "condition", "expected_rows": "expected rows",
          "noise_sd": "noise sd", "prior_sd": "prior sd of the weights", "gate_intercept": "gate intercept",
          "start_runs": "start runs", "emtool_version": "written by emtool", "label_0": "label coded 0",
          "label_1": "label coded 1 (p_1)"}
#: the objective's fields, shown with three decimals
SCORES = ("log_likelihood", "log_posterior", "elbo", "log_evidence", "inertia", "bic", "aic")
#: titles of the tables of a vector per component (rows the columns, columns the components)
VECTORS = {"mean": "Means", "sd": "Standard deviations", "scale": "Scales (roots of the scale matrices' diagonals)",
           "centre": "Centres", "medoid": "Medoids (training rows)", "probability_of_1": "Probability of a 1",
           "coefficients": "Experts' coefficients", "gate_coefficients": "Gate coefficients"}
#: a component's spread matrix by its key in the facts: its title
MATRICES = {"covariance": "Covariance", "scale_matrix": "Scale matrix"}


@dataclass
class Block:
    """A titled table: ``rows`` of cell texts under ``header`` (None: name/value pairs); its
    first ``labels`` columns name the row and are repeated in every fold."""

    title: str
    rows: list
    header: list | None = None
    labels: int = 1


def render(facts: dict, fmt: str, terminal: bool) -> str:
    """``facts`` as "json", or as "text": rich tables sized to the terminal when ``terminal``."""
    if fmt == "json":
        return json.dumps(facts, indent=1, allow_nan=False) + "\n"
    if terminal:
        return rich_text(blocks(facts), shutil.get_terminal_size().columns)
    return plain(blocks(facts))


# -- cells -----------------------------------------------------------------------------------------


def number(value: float, key: str = "") -> str:
    """Five significant digits, whole units from 1e5 on (more digits, but clearer than an
    exponent); an objective (SCORES) to three decimals, so that restarts that differ show it."""
    if key in SCORES and 1 <= abs(value) < 1e15:
        return f"{value:.3f}"
    if 1e5 <= abs(value) < 1e15:
        return f"{value:.0f}"
    return f"{value:.5g}"


def cell(value, key: str = "") -> str:
    """A JSON value (of the field ``key``) as a cell: numbers rounded, booleans yes/no, None
    '-', lists and objects on one line ('none' when empty), line breaks escaped so that a row
    stays one line."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value, key)
    if isinstance(value, list):
        return ", ".join(map(cell, value)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{cell(key)}={cell(item)}" for key, item in value.items()) or "none"
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def _label(key: str) -> str:
    return LABELS.get(key, key)


def _pairs(values: dict, labelled: bool = True) -> list:
    """Name/value rows; the names as LABELS has them when ``labelled``."""
    return [[_label(key) if labelled else key, cell(value, key)] for key, value in values.items()]


# -- blocks ----------------------------------------------------------------------------------------


def blocks(facts: dict) -> list:
    """The blocks of ``facts``, in its order."""
    head = {key: facts[key] for key in ("columns", "target", "k", "emtool_version") if facts.get(key) is not None}
    out = [Block(f"{facts['model']}: {facts['summary']}", _pairs(head))]
    if facts["options"]:
        out.append(Block("Options", _pairs(facts["options"], labelled=False)))
    for key, build in SECTIONS.items():
        if key in facts:
            out.extend(build(facts[key]))
    return out


def _parameters(parameters: dict) -> list:
    return [Block("Parameters", _pairs(parameters))]


def _components(components: list) -> list:
    """A table of the components' scalars, then one per vector (a row per column), per
    categorical column, and per full spread matrix."""
    scalars = [key for key, value in components[0].items() if key != "component" and not isinstance(value, dict)]
    out = [Block("Components", [[cell(c["component"]), *(cell(c.get(key)) for key in scalars)] for c in components],
                 ["component", *map(_label, scalars)])] if scalars else []
    numbers = [cell(c["component"]) for c in components]
    for key, value in components[0].items():
        if key in VECTORS and isinstance(value, dict):
            out.append(Block(VECTORS[key], [[cell(name), *(cell(c[key][name]) for c in components)] for name in value],
                             ["column", *numbers]))
        elif key == "levels":
            out.extend(Block(f"Level probabilities of {cell(column)}",
                             [[cell(level), *(cell(c[key][column][level]) for c in components)] for level in levels],
                             ["level", *numbers])
                       for column, levels in value.items())
        elif key in MATRICES:
            out.extend(block for c in components
                       for block in _matrix(f"{MATRICES[key]} of component {c['component']}", c[key]))
    return out


def _matrix(title: str, summary: dict) -> list:
    """A spread matrix's scales with its correlations, or with its largest correlations below."""
    spread = next(iter(summary))
    heading = f"{title} (condition number {cell(summary['condition_number'])})"
    columns = list(summary[spread])
    if "correlation" in summary:
        rows = [[cell(name), cell(summary[spread][name]), *map(cell, summary["correlation"][name].values())]
                for name in columns]
        return [Block(heading, rows, ["column", spread, *map(cell, columns)])]
    rows = [[cell(name), cell(summary[spread][name])] for name in columns]
    largest = [[*map(cell, pair["columns"]), cell(pair["correlation"])] for pair in summary["largest_correlations"]]
    return [Block(heading, rows, ["column", spread]),
            Block(f"{title}: largest correlations", largest, ["column", "column", "correlation"], labels=2)]


def _shared(name: str):
    return lambda summary: _matrix(f"{name}, shared by every component", summary)


def _table(title: str, rows: list) -> Block:
    """Rows (dicts, a dict value spread over columns of its keys) as a table of their keys."""
    flat = [{key: item for key, value in row.items()
             for key, item in (value.items() if isinstance(value, dict) else [(key, value)])} for row in rows]
    header = list(dict.fromkeys(key for row in flat for key in row))
    return Block(title, [[cell(row[key], key) if key in row else "" for key in header] for row in flat],
                 [cell(_label(key)) for key in header])


def _coefficients(rows: list) -> list:
    return [_table("Coefficients", rows)]


def _relevance_vectors(rows: list) -> list:
    return [_table("Relevance vectors (training rows)", rows)]


def _nodes(nodes: list) -> list:
    """Each node's conditional probability table: a row per configuration of its parents."""
    out = []
    for node in nodes:
        given = f" | {', '.join(node['parents'])}" if node["parents"] else ""
        title = f"P({node['name']}{given})" + (", hidden" if node["hidden"] else "")
        rows = [[*map(cell, row["given"].values()), *map(cell, row["probabilities"].values())] for row in node["table"]]
        out.append(Block(title, rows, [*map(cell, node["parents"]), *map(cell, node["states"])],
                         labels=len(node["parents"])))
    return out


def _fit(fit: dict | None) -> list:
    """The fit's fields, its restarts and its events."""
    if fit is None:
        return [Block("Fit", [["fit", "not recorded in the model file"]])]
    out = [Block("Fit", _pairs({key: value for key, value in fit.items() if key not in ("restarts", "events")}))]
    if fit["restarts"]:
        out.append(_table("Restarts", fit["restarts"]))
    if fit["events"]:
        out.append(_table("Events", fit["events"]))
    return out


def _notes(notes: list) -> list:
    return [Block("Notes", [[note] for note in notes])]


#: the blocks of each section of the facts that has some (the header and options come first)
SECTIONS = {"parameters": _parameters, "components": _components,
            "shared_covariance": _shared("Covariance"), "shared_scale_matrix": _shared("Scale matrix"),
            "coefficients": _coefficients, "relevance_vectors": _relevance_vectors, "nodes": _nodes,
            "fit": _fit, "notes": _notes}


# -- layout ----------------------------------------------------------------------------------------


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _right_aligned(block: Block) -> list:
    """Per column, whether it is right-aligned: a column of numbers (or '-') past the labels."""
    count = len(block.header) if block.header is not None else len(block.rows[0])
    return [i >= block.labels and block.header is not None
            and all(_numeric(row[i]) or row[i] in ("-", "") for row in block.rows)
            and any(_numeric(row[i]) for row in block.rows)
            for i in range(count)]


def _widths(block: Block) -> list:
    lines = ([block.header] if block.header is not None else []) + block.rows
    return [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]


def _folds(widths: list, labels: int, room: int, gap: int) -> list:
    """Groups of column indices, each the ``labels`` label columns then as many of the rest as
    fit in ``room`` characters with ``gap`` between columns (at least one each)."""
    fixed = sum(widths[:labels]) + gap * labels
    groups, current, used = [], [], fixed
    for i in range(labels, len(widths)):
        if current and used + widths[i] > room:
            groups.append(current)
            current, used = [], fixed
        current.append(i)
        used += widths[i] + gap
    groups.append(current)
    return [list(range(labels)) + group for group in groups]


def plain(blocks: list, width: int = WIDTH) -> str:
    """The blocks as plain text: each title, then its table indented by two spaces, columns
    two spaces apart, folded to ``width``."""
    parts = []
    for block in blocks:
        widths, right = _widths(block), _right_aligned(block)
        lines = ([block.header] if block.header is not None else []) + block.rows
        folds = []
        for group in _folds(widths, block.labels, width - 2, 2):
            folds.append("\n".join(
                ("  " + "  ".join(line[i].rjust(widths[i]) if right[i] else line[i].ljust(widths[i])
                                  for i in group)).rstrip()
                for line in lines))
        parts.append(block.title + "\n" + "\n\n".join(folds))
    return "\n\n".join(parts) + "\n"


def rich_text(blocks: list, width: int) -> str:
    """The blocks as rich renders them for a terminal ``width`` characters wide: bold titles,
    tables with a rule under the header, name/value pairs with bold names."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, highlight=False)
    for block in blocks:
        console.print(Text(block.title, style="bold"))
        right = _right_aligned(block)
        # a column costs its width and three characters of padding and rule
        for group in _folds(_widths(block), block.labels, width - 2, 3):
            table = Table(box=box.SIMPLE_HEAD, show_header=block.header is not None, show_edge=False)
            for i in group:
                table.add_column(Text(block.header[i]) if block.header is not None else "",
                                 justify="right" if right[i] else "left", no_wrap=True,
                                 style="bold" if block.header is None and i == 0 else None)
            for row in block.rows:
                table.add_row(*(Text(row[i]) for i in group))
            console.print(table)
        console.print()
    return out.getvalue()
