"""What ``emtool fit`` does between parsing options and writing the model file."""

import time
from dataclasses import dataclass

import numpy as np

from emcli import console
from emcli.data import (Rows, empty_rows, load_regression_rows, load_rows, require_complete,
                        require_no_empty_rows, require_observed_columns, require_rows,
                        require_variation)
from emcli.em.fit import fit as run_fit
from emcli.errors import DataError, UsageError
from emcli.io.modelfile import model_document, read_model
from emcli.models import registry

#: option name -> its flag, for messages
FLAGS = {"model_name": "-m", "k": "-k", "prior_params": "--prior-param", "intercept": "--no-intercept"}


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def new_model(model_name: str, values: dict, given: set):
    """A model from the registry with the options it takes from ``values``; an option the user
    gave (``given``) that the model does not take is a UsageError."""
    spec = registry.spec(model_name)
    for name in sorted(given - {"model_name", "target"}):
        if name not in spec.options:
            raise UsageError(f"model {model_name} does not take {flag(name)}")
    return registry.create(model_name, {name: values[name] for name in spec.options})


def warm_model(path: str, model_name: str, values: dict, given: set, columns: list | None):
    """(model, starting parameters, columns, target) from a fitted model file; options the
    user gave must agree with the file's."""
    model, params, doc = read_model(path)
    stored = dict(doc["options"], model_name=doc["model"])
    for name in sorted(given):
        if name in stored and stored[name] != values[name]:
            raise UsageError(f"{flag(name)} {values[name]} differs from {stored[name]} in the --init model {path}")
    if columns is not None and columns != doc["columns"]:
        raise UsageError(f"--columns differs from the columns of the --init model {path}")
    if "target" in given and values["target"] != doc["target"]:
        raise UsageError(f"--target {values['target']} differs from {doc['target']} in the --init model {path}")
    return model, params, doc["columns"], doc["target"]


def driver_options_for(model, algorithm: str, values: dict, given: set) -> dict:
    """The options of ``algorithm``'s driver from ``values``; the algorithm must be one the
    model takes, and a driver option given for another algorithm is a UsageError."""
    from emcli.em import algorithms

    spec = registry.spec(model.name)
    chosen = algorithms.algorithm(algorithm)
    if algorithm not in spec.algorithms:
        raise UsageError(f"model {model.name} does not take --algorithm {algorithm} "
                         f"(it takes: {', '.join(spec.algorithms)})")
    for name in sorted(given):
        if name not in chosen.options:
            raise UsageError(f"{flag(name)} applies to another --algorithm than {algorithm}")
    return {name: values[name] for name in chosen.options}


@dataclass
class FileRows:
    """Numeric rows still in their file: read whole by ``load`` (every algorithm) or streamed
    by ``stream_fit`` (stepwise), which makes the same checks block by block."""

    model: object
    path: str
    fmt: str | None
    columns: list | None
    skip_empty_rows: bool

    def load(self) -> Rows:
        return _load_rows(self.model, self.path, self.fmt, self.columns, self.skip_empty_rows)


def prepare_rows(model, path: str, fmt: str | None, columns: list | None, skip_empty_rows: bool,
                 levels: list | None = None, target: str | None = None) -> Rows | FileRows:
    """Read and check the rows ``model`` is to be fit to (see ``emtool models`` for each model's
    needs); rows with every cell missing are dropped with ``skip_empty_rows``.  Regression
    models take their ``target`` column as the rows' last column.  Numeric rows of a file are
    left there (a FileRows) until fit_rows knows whether it streams them."""
    spec = registry.spec(model.name)
    if not spec.target_kind and target is None and spec.data == "numeric" and path != "-" and levels is None:
        if not spec.missing and skip_empty_rows:
            raise UsageError(f"model {model.name} does not take --skip-empty-rows (it needs complete rows)")
        return FileRows(model, path, fmt, columns, skip_empty_rows)
    return _load_rows(model, path, fmt, columns, skip_empty_rows, levels, target)


def _load_rows(model, path: str, fmt: str | None, columns: list | None, skip_empty_rows: bool,
               levels: list | None = None, target: str | None = None) -> Rows:
    spec = registry.spec(model.name)
    if spec.target_kind:
        if target is None:
            raise UsageError(f"model {model.name} needs --target COLUMN, the column to predict")
        if skip_empty_rows:
            raise UsageError(f"model {model.name} does not take --skip-empty-rows (it needs complete rows)")
        rows = load_regression_rows(path, fmt, columns, target, spec.target_kind, levels)
        require_rows(rows.X, model.k, path, model)
        if rows.levels is not None:
            model.labels = rows.levels
        return rows
    if target is not None:
        raise UsageError(f"model {model.name} does not take --target (it is not a regression model)")
    rows = load_rows(path, fmt, columns, spec.data, levels=levels)
    if not spec.missing:
        if skip_empty_rows:
            raise UsageError(f"model {model.name} does not take --skip-empty-rows (it needs complete rows)")
        require_complete(rows.X, rows.columns, path, model.name)
    else:
        require_observed_columns(rows.X, rows.columns, path)
        if skip_empty_rows:
            empty = empty_rows(rows.X)
            if empty.size:
                console.note(f"skipping {empty.size} rows with every chosen column missing")
                rows.X = np.delete(rows.X, empty, axis=0)
        else:
            require_no_empty_rows(rows.X, path)
    require_rows(rows.X, model.k, path, model)
    if getattr(model, "requires_variation", False):
        require_variation(rows.X, rows.columns, path, model.name)
    if rows.levels is not None:
        model.levels = rows.levels
    return rows


def fit_rows(model, rows: Rows, *, init, restarts: int, seed: int, max_iter: int, tol: float,
             chunk_bytes: int, algorithm: str = "batch", driver_options: dict | None = None) -> dict:
    """Fit ``model`` to ``rows`` and return the model file's document; warns on stderr when
    the best restart did not converge.  Stepwise EM streams the rows of a file (FileRows)."""
    if isinstance(rows, FileRows):
        if algorithm == "stepwise" and max_iter > 0:
            return stream_fit(rows, init=init, restarts=restarts, seed=seed, max_iter=max_iter,
                              tol=tol, chunk_bytes=chunk_bytes, driver_options=driver_options or {})
        rows = rows.load()
    started = time.perf_counter()
    warm = not isinstance(init, str)
    with console.progress(1 if warm else restarts, f"fitting {model.name}") as advance:
        outcome = run_fit(model, rows.X, init=init, restarts=restarts, seed=seed, max_iter=max_iter,
                          tol=tol, chunk_bytes=chunk_bytes, on_restart=advance, algorithm=algorithm,
                          algorithm_options=driver_options)
    doc = model_document(model, rows.columns, outcome, n_samples=len(rows.X), target=rows.target,
                         seconds=time.perf_counter() - started)
    for message in getattr(model, "diagnose", lambda *_: [])(outcome.best.params, len(rows.X)):
        console.warn(message)
    for line in getattr(model, "describe", lambda *_: [])(outcome.best.params, rows.columns):
        console.note(line)
    from emcli.em.algorithms import algorithm as algorithm_spec

    if not outcome.best.converged and max_iter > 0 and tol > 0 and algorithm_spec(algorithm).converges:
        trace = outcome.best.trace
        change = abs(trace[-1]["score"] - trace[-2]["score"]) / len(rows.X) if len(trace) > 1 else float("nan")
        console.warn(f"the best restart did not converge in {max_iter} iterations (last change "
                     f"{change:.3g} per row, --tol {tol:g}); raise --max-iter or --tol")
    return doc


class _CheckedSource:
    """The blocks of a file as a batch source for stepwise EM, with prepare_rows's checks made
    block by block (rows counted from the start of the file): missing cells for a model that
    cannot use them, rows with every cell missing (dropped with ``skip_empty_rows``), and, for
    a model that needs variation, constant columns within the first minibatch, which sets the
    data scale (``model.prepare``).  ``rows_fit`` is the rows of the first complete pass."""

    def __init__(self, model, path, fmt, columns, skip_empty_rows, batch_size):
        from emcli.io.stream import batch_source

        self.model, self.path, self.columns = model, path, columns
        self.skip_empty_rows, self.batch_size = skip_empty_rows, batch_size
        self.spec = registry.spec(model.name)
        self.blocks = batch_source(path, columns, fmt)
        self.rows_fit = self.dropped = None

    def __call__(self):
        from emcli.io.stream import shift_row

        offset, kept, dropped, first = 0, 0, 0, []
        for block in self.blocks():
            try:
                if not self.spec.missing:
                    require_complete(block, self.columns, self.path, self.model.name)
                elif not self.skip_empty_rows:
                    require_no_empty_rows(block, self.path)
            except DataError as exc:
                raise DataError(shift_row(str(exc), offset)) from None
            offset += len(block)
            if self.skip_empty_rows:
                empty = empty_rows(block)
                dropped += empty.size
                block = np.delete(block, empty, axis=0) if empty.size else block
            if kept < self.batch_size:
                first.append(block[: self.batch_size - kept])
                if kept + len(block) >= self.batch_size:
                    self._check_first(first)
            kept += len(block)
            yield block
        if kept < self.batch_size:
            self._check_first(first)
        if self.rows_fit is None:
            self.rows_fit, self.dropped = kept, dropped

    def _check_first(self, pieces: list) -> None:
        if getattr(self.model, "requires_variation", False) and pieces:
            require_variation(np.concatenate(pieces), self.columns, self.path, self.model.name)


def stream_fit(rows: FileRows, *, init, restarts: int, seed: int, max_iter: int, tol: float,
               chunk_bytes: int, driver_options: dict) -> dict:
    """Stepwise EM over the file's rows, one read per epoch (and one more minibatch per start),
    never the whole table: ``restarts`` starts (a warm ``init`` runs once), the best running
    log-likelihood wins.  The model document's n_samples is the first epoch's row count."""
    from emcli.em.fit import FitOutcome
    from emcli.em.stepwise import fit_source
    from emcli.errors import FitError
    from emcli.io.stream import chosen_columns

    model = rows.model
    columns = rows.columns or chosen_columns(rows.path, rows.fmt)
    source = _CheckedSource(model, rows.path, rows.fmt, columns, rows.skip_empty_rows,
                            driver_options["batch_size"])
    started = time.perf_counter()
    warm = not isinstance(init, str)
    runs, summaries, failures = [], [], []
    with console.progress(1 if warm else restarts, f"fitting {model.name}") as advance:
        for r in range(1 if warm else restarts):
            try:
                run = fit_source(model, source, rng=np.random.default_rng(seed + r), init=init,
                                 batch_size=driver_options["batch_size"], kappa=driver_options["kappa"],
                                 epochs=min(driver_options["epochs"], max_iter), tol=tol,
                                 chunk_bytes=chunk_bytes)
            except (np.linalg.LinAlgError, FloatingPointError) as exc:
                failures.append(str(exc))
                summaries.append({"seed": seed + r, "error": str(exc)})
            else:
                runs.append((seed + r, run))
                summaries.append({"seed": seed + r, "score": run.score, "log_likelihood": run.log_likelihood,
                                  "n_iter": run.n_iter, "converged": run.converged})
            advance(r)
    if not runs:
        raise FitError(f"every restart failed; the first: {failures[0]}")
    best_seed, best = max(runs, key=lambda pair: pair[1].score)
    if source.dropped:
        console.note(f"skipping {source.dropped} rows with every chosen column missing")
    outcome = FitOutcome(best, best_seed, summaries, "stepwise")
    doc = model_document(model, columns, outcome, n_samples=source.rows_fit, target=None,
                         seconds=time.perf_counter() - started)
    for message in getattr(model, "diagnose", lambda *_: [])(best.params, source.rows_fit):
        console.warn(message)
    return doc


def summary(doc: dict) -> str:
    """One line on a fit, for --verbose."""
    fit = doc["fit"]
    if "inertia" in fit:
        score = f"inertia {fit['inertia']:.6g}"
    elif "log_evidence" in fit:
        score = f"log evidence {fit['log_evidence']:.4f}"
    else:
        score = f"log-likelihood {fit['log_likelihood']:.4f}, BIC {fit['bic']:.2f}"
        if "log_posterior" in fit:
            score = f"log-posterior {fit['log_posterior']:.4f}, " + score
    return f"{doc['model']}: {score}, {fit['n_iter']} iterations, {'converged' if fit['converged'] else 'not converged'}"
