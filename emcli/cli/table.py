"""Tables of result rows (lists of flat dicts) as CSV, JSON or a rich table for a terminal."""

import io
import json


def render_rows(rows: list, fmt: str) -> str:
    """``rows`` as CSV (``io.records``), JSON (one array of objects, booleans true/false, absent
    values null) or, for "table", an aligned rich table."""
    if fmt == "json":
        return json.dumps(rows, indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        from emcli.io.records import records_csv

        return records_csv(rows)
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in rows[0]:
        table.add_column(name, justify="right" if name not in ("model", "covariance", "error") else "left")
    for row in rows:
        table.add_row(*(_shown(name, value) for name, value in row.items()))
    out = io.StringIO()
    Console(file=out, width=160).print(table)
    return out.getvalue()


def _shown(name: str, value) -> str:
    """A cell as a person reads it: the chosen row's ``best`` as '*', other booleans yes/no,
    floats to two decimals, nothing for an absent value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("*" if value else "") if name == "best" else ("yes" if value else "no")
    return f"{value:.2f}" if isinstance(value, float) else str(value)
