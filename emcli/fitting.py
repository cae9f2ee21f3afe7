"""What ``emtool fit`` does between parsing options and writing the model file."""

import time

import numpy as np

from emcli import console
from emcli.data import (Rows, display_name, empty_rows, load_regression_rows, load_rows,
                        require_complete, require_no_empty_rows, require_rows, require_variation)
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


def prepare_rows(model, path: str, fmt: str | None, columns: list | None, skip_empty_rows: bool,
                 levels: list | None = None, target: str | None = None) -> Rows:
    """Read and check the rows ``model`` is to be fit to (see ``emtool models`` for each model's
    needs); rows with every cell missing are dropped with ``skip_empty_rows``.  Regression
    models take their ``target`` column as the rows' last column."""
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
        unobserved = np.flatnonzero(np.isnan(rows.X).all(axis=0))
        if unobserved.size:
            raise DataError(f"{display_name(path)}: column {rows.columns[unobserved[0]]!r} has no values")
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
    the best restart did not converge."""
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
    from emcli.em.algorithms import algorithm as algorithm_spec

    if not outcome.best.converged and max_iter > 0 and tol > 0 and algorithm_spec(algorithm).converges:
        trace = outcome.best.trace
        change = abs(trace[-1]["score"] - trace[-2]["score"]) / len(rows.X) if len(trace) > 1 else float("nan")
        console.warn(f"the best restart did not converge in {max_iter} iterations (last change "
                     f"{change:.3g} per row, --tol {tol:g}); raise --max-iter or --tol")
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
