"""Lists of flat records (dicts: a select-k table, a fit's trace) as CSV for scripts: booleans
``true``/``false``, absent values (None) empty, floats in full precision (repr), text quoted
only where it must be."""

import csv
import io

import numpy as np


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # a NumPy scalar's own repr is np.float64(...)
    return value


def records_csv(rows: list, keys: list | None = None) -> str:
    """``rows`` (dicts) as CSV text with a header of ``keys`` (default: the first row's)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = list(rows[0]) if keys is None else keys
    writer.writerow(keys)
    writer.writerows([_cell(row.get(key)) for key in keys] for row in rows)
    return out.getvalue()
