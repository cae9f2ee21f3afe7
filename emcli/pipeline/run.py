"""Fitting a spec to checked rows: the model file's document, and what the fit has to tell
(warnings, notes) as data."""

import time
from dataclasses import dataclass, field

import numpy as np

from emcli.data import Rows
from emcli.em.fit import FitOutcome
from emcli.em.protocol import Describing, Diagnosing, has
from emcli.io.modelfile import model_document
from emcli.pipeline.rows import FileRows
from emcli.pipeline.spec import FitSpec


@dataclass
class Fitted:
    """A finished fit: the model, its best parameters, the model file's document, the engine's
    outcome (every restart), and the messages for the user: ``warnings`` (always shown) and
    ``notes`` (on a terminal or with -v)."""

    model: object
    params: object
    doc: dict
    outcome: FitOutcome
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return self.outcome.best.converged

    def flat_components(self) -> list:
        """The best restart's degenerate components, as the fit recorded them
        (``Diagnosing.flat_components``): a fit not to compare with others."""
        return list(self.outcome.best.degenerate)


def not_converged(spec: FitSpec, outcome: FitOutcome, n_rows: int) -> str | None:
    """The warning for a best restart that stopped at --max-iter, None when it converged or
    was not meant to (--tol 0, --max-iter 0, an algorithm that runs a fixed budget)."""
    from emcli.em.algorithms import algorithm

    budgeted = not algorithm(spec.algorithm).converges or spec.driver_options.get("epochs") is not None
    if outcome.best.converged or spec.max_iter == 0 or spec.tol == 0 or budgeted:
        return None
    trace = outcome.best.trace
    change = abs(trace[-1]["score"] - trace[-2]["score"]) / n_rows if len(trace) > 1 else float("nan")
    return (f"the best restart did not converge in {spec.max_iter} iterations (last change "
            f"{change:.3g} per row, --tol {spec.tol:g}); raise --max-iter or --tol")


def fit(spec: FitSpec, rows: Rows | FileRows, *, on_restart=None) -> Fitted:
    """Fit ``spec``'s model to ``rows`` (streamed from the file for a FileRows) with its
    restarts; ``on_restart(r)`` after each, for a progress display."""
    started = time.perf_counter()
    if isinstance(rows, FileRows):
        from emcli.pipeline.stream import fit_stream

        model = spec.build()
        outcome, columns, n_rows, dropped = fit_stream(spec, model, rows.source, on_restart)
        target = None
    else:
        from emcli.em.fit import fit as run_fit

        model = spec.build(levels=rows.levels)
        outcome = run_fit(model, rows.X, init=spec.init, restarts=spec.restarts, seed=spec.seed,
                          max_iter=spec.max_iter, tol=spec.tol, chunk_bytes=spec.chunk_bytes,
                          on_restart=on_restart, algorithm=spec.algorithm,
                          algorithm_options=spec.driver_options, start_runs=spec.start_runs,
                          hc_sample=spec.hc_sample)
        columns, n_rows, dropped, target = rows.columns, len(rows.X), rows.dropped, rows.target
    engine = "local" if isinstance(rows, FileRows) or isinstance(rows.X, np.ndarray) else "dask"
    doc = model_document(model, columns, outcome, n_samples=n_rows, target=target,
                         seconds=time.perf_counter() - started, engine=engine)
    transform = None if isinstance(rows, FileRows) else rows.standardization
    if transform is not None:
        doc["standardize"] = transform.to_json(rows.X)
        model.standardization = transform
    fitted = Fitted(model, outcome.best.params, doc, outcome, notes=[f"columns: {', '.join(columns)}"])
    if dropped:
        fitted.notes.append(f"skipped {dropped} row{'s' if dropped != 1 else ''} with every chosen column "
                            "missing (they add nothing to the likelihood)")
    if has(model, Diagnosing):
        fitted.warnings.extend(model.diagnose(fitted.params, n_rows))
    if has(model, Describing):
        fitted.notes.extend(model.describe(fitted.params, columns))
    unconverged = not_converged(spec, outcome, n_rows)
    if unconverged:
        fitted.warnings.append(unconverged)
    return fitted


def fit_array(spec: FitSpec, X, columns: list, *, levels: list | None = None,
              target: str | None = None) -> Fitted:
    """``fit`` on rows already loaded and checked (a fold, a resample, a reference set)."""
    return fit(spec, Rows(None, columns, X, levels, target))
