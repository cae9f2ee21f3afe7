"""What ``emtool select-k`` does between parsing options and writing: check the request against
the data, fit the grid, choose the best cell."""

from dataclasses import dataclass

import numpy as np

from emcli.data import Rows, display_name
from emcli.errors import DataError, FitError, UsageError
from emcli.pipeline import FitSpec
from emcli.select.grid import Cell, Scoring, best_index, run_grid


@dataclass
class Selection:
    """Every cell's table row (the chosen one with ``best`` true) and model document (None
    for a cell that failed), the index of the chosen cell and its fit's warnings."""

    table: list
    docs: list
    best: int
    warnings: list

    @property
    def chosen(self) -> dict:
        return self.table[self.best]


def check_data(rows: Rows, path: str, ks: list, scoring: Scoring) -> None:
    """One error for data no cell could use, rather than every cell failing; and for a
    criterion that refits to rows held out or drawn here, which rows on a cluster are not."""
    n = len(rows.X)
    if not isinstance(rows.X, np.ndarray) and scoring.criterion not in ("bic", "aic", "icl"):
        raise UsageError(f"--criterion {scoring.criterion} refits to rows held out or drawn on this machine; "
                         "--engine dask chooses by bic, aic or icl")
    if scoring.criterion in ("cv", "reconstruction") and scoring.folds > n:
        raise UsageError(f"--folds {scoring.folds} is more than the {n} row{'s' if n > 1 else ''} "
                         f"of {display_name(path)}")
    if scoring.criterion == "gap" and not (rows.X != rows.X[0]).any():
        raise DataError(f"{display_name(path)} has one distinct row; the gap statistic needs spread")
    if min(ks) > n:
        raise DataError(f"every --k-range value exceeds the {n} rows of the data")


def select(spec: FitSpec, rows: Rows, cells: list, scoring: Scoring, jobs: int,
           on_done=None) -> Selection:
    """Fit ``spec`` in every cell of the grid to ``rows`` and choose by ``scoring``; FitError
    when every cell failed."""
    results = run_grid(spec, cells, rows, jobs, on_done=on_done, scoring=scoring)
    table = [row for row, _, _ in results]
    best = best_index(table, scoring.criterion)
    for i, row in enumerate(table):
        row["best"] = i == best
    if best is None:
        raise FitError(f"every cell failed; the first: {table[0]['error']}")
    docs = [doc for _, doc, _ in results]
    if rows.standardization is not None:  # every cell was fit to the rows standardised alike
        field = rows.standardization.to_json(rows.X)
        docs = [None if doc is None else {**doc, "standardize": field} for doc in docs]
    return Selection(table, docs, best, results[best][2])


def grid(ks: list, covariances: list) -> list:
    """The cells: every k for each covariance type in turn."""
    return [Cell(k, covariance) for covariance in covariances for k in ks]
