"""Turning a table into the rows a model is fit to or applied to."""

import numpy as np

from emcli.errors import DataError
from emcli.io.tables import first_missing, numeric_matrix, read_table


def load_rows(path: str, fmt: str | None, columns: list | None):
    """Read ``path`` and pick its numeric columns; returns (table, column names, (N, D) array)."""
    table = read_table(path, fmt)
    name = "<stdin>" if path == "-" else path
    names, X = numeric_matrix(table, columns, name)
    return table, names, X


def require_complete(X: np.ndarray, columns: list, path: str, model_name: str) -> None:
    """DataError naming the first missing cell, for models that cannot use incomplete rows."""
    where = first_missing(X, columns)
    if where is not None:
        column, row = where
        name = "<stdin>" if path == "-" else path
        raise DataError(
            f"{name}: column {column!r} row {row} is missing; {model_name} cannot use incomplete "
            "rows (fill them with 'emtool impute' or choose other --columns)"
        )


def require_rows(X: np.ndarray, k: int, path: str, model) -> None:
    """DataError when there are fewer rows than components, or than the model needs."""
    name = "<stdin>" if path == "-" else path
    needed = max(k, getattr(model, "min_rows", 1))
    if len(X) < needed:
        why = f"the {k} components asked for" if k >= needed else f"the {needed} that {model.name} needs"
        raise DataError(f"{name} has {len(X)} row{'s' if len(X) != 1 else ''}, fewer than {why}")


def require_variation(X: np.ndarray, columns: list, path: str, model_name: str) -> None:
    """DataError naming the first constant column, for models whose density needs spread."""
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if constant.size:
        name = "<stdin>" if path == "-" else path
        column = columns[int(constant[0])]
        raise DataError(
            f"{name}: column {column!r} is constant ({X[0, constant[0]]:g} in every row); "
            f"{model_name} needs variation in every column, leave it out with --columns"
        )
