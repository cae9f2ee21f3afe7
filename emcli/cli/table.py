"""Tables of result rows (lists of flat dicts) as CSV, JSON or a rich table for a terminal."""

import io
import json

#: shorter headings for a person's table (the CSV and JSON keep the full names)
SHORT_HEADINGS = {"log_likelihood": "loglik", "n_parameters": "params", "converged": "conv"}
#: the columns a narrow terminal gives up first, in this order, until the rows fit on one line
#: each (every value stays in the CSV and JSON tables)
NARROW_DROPS = ("seconds", "n_parameters", "converged", "aic")
#: columns whose text is cut short (an ellipsis) to the room the others leave, shown only when
#: that is at least MIN_CUT characters
CUT_COLUMNS = ("error",)
MIN_CUT = 12
TEXT_COLUMNS = ("model", "covariance", "error")


def render_rows(rows: list, fmt: str, width: int | None = None) -> str:
    """``rows`` as CSV (``io.records``), JSON (one array of objects, booleans true/false, absent
    values null) or, for "table", an aligned rich table ``width`` characters wide at most
    (default: the terminal's) with every row on one line: columns empty in every row left out,
    then those of NARROW_DROPS until the rest fit; an error's text is cut to the room left
    (every value stays in the CSV and JSON tables)."""
    if fmt == "json":
        return json.dumps(rows, indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        from emcli.io.records import records_csv

        return records_csv(rows)
    import shutil

    width = width or shutil.get_terminal_size((80, 24)).columns
    names = [name for name in rows[0] if any(row.get(name) not in (None, "") for row in rows)]
    cells = {name: [_shown(name, row.get(name)) for row in rows] for name in names}
    cut = [name for name in names if name in CUT_COLUMNS]
    kept = [name for name in names if name not in CUT_COLUMNS]
    for name in NARROW_DROPS:
        if _measure(kept, cells) + MIN_CUT * len(cut) <= width:
            break
        if name in kept:
            kept.remove(name)
    room = (width - _measure(kept, cells)) // max(len(cut), 1) - 3
    if cut and room >= MIN_CUT:
        cells.update({name: [_cut(text, room) for text in cells[name]] for name in cut})
        kept = [name for name in names if name in kept or name in cut]
    return _rendered(kept, cells, width)


def _measure(names: list, cells: dict) -> int:
    """The width the table of these columns takes when nothing is cut."""
    return len(_rendered(names, cells, None).split("\n", 1)[0])


def _rendered(names: list, cells: dict, width: int | None) -> str:
    """The table of these columns, ``width`` characters wide at most (None: as wide as its
    cells need, to measure it)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for name in names:
        table.add_column(SHORT_HEADINGS.get(name, name), justify="left" if name in TEXT_COLUMNS else "right",
                         no_wrap=True, overflow="ellipsis")
    for i in range(len(cells[names[0]]) if names else 0):
        table.add_row(*(cells[name][i] for name in names))
    out = io.StringIO()
    Console(file=out, width=width or 10_000).print(table)
    return out.getvalue()


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def _shown(name: str, value) -> str:
    """A cell as a person reads it: the chosen row's ``best`` as '*', other booleans yes/no,
    floats to two decimals, nothing for an absent value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("*" if value else "") if name == "best" else ("yes" if value else "no")
    return f"{value:.2f}" if isinstance(value, float) else str(value)
