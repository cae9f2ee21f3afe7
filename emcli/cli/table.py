"""Tables of result rows (lists of flat dicts) as CSV, JSON or a rich table for a terminal."""

import csv
import io
import json


def render_rows(rows: list, fmt: str) -> str:
    """``rows`` as CSV (floats in full precision), JSON (one array of objects) or, for "table",
    an aligned rich table."""
    if fmt == "json":
        return json.dumps(rows, indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        return out.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in rows[0]:
        table.add_column(name, justify="right" if name not in ("model", "covariance", "error") else "left")
    for row in rows:
        table.add_row(*("" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
                        for v in row.values()))
    out = io.StringIO()
    Console(file=out, width=160).print(table)
    return out.getvalue()
