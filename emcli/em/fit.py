"""Fitting with restarts: each restart draws its own start, runs a driver, and the best score
wins.  Restart r uses seed ``seed + r`` (and the outcome records the short runs each start chose
from, see em.start), so any restart can be rerun alone with ``--seed`` and ``--start-runs``."""

from dataclasses import dataclass, field

import numpy as np

from emcli.em.batch import RunResult, best_index, diagnosed
from emcli.em.chunks import DEFAULT_CHUNK_BYTES, chunk_rows
from emcli.em.start import runs_per_start, start_params
from emcli.errors import DataError, FitError


@dataclass
class FitOutcome:
    """The best run, and a summary of every restart."""

    best: RunResult
    seed: int
    restarts: list = field(default_factory=list)
    algorithm: str = "batch"
    start_runs: int | None = None  # short runs each start chose from (None: not that kind of start)


def fit(model, X: np.ndarray, *, init=None, restarts: int = 1, seed: int = 0,
        max_iter: int = 500, tol: float = 1e-6, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        rows: int | None = None, max_reseeds: int | None = None, on_restart=None,
        algorithm: str = "batch", algorithm_options: dict | None = None,
        start_runs: int | None = None, hc_sample: int | None = None) -> FitOutcome:
    """Fit ``model`` to the (N, D) rows ``X``.

    ``init`` is a method name (see em.init.METHODS; None: the model's ``default_init``) or
    starting parameters (a warm start, run once).  ``start_runs``: the short runs each start
    chooses from (em.start; None: the budget shared among the restarts); ``hc_sample``: the
    rows --init hc clusters at most (None: em.hc.HC_SAMPLE).  ``rows`` overrides
    the chunk size in rows.
    ``on_restart(r)`` is called after each restart, for progress display.  ``algorithm``
    names the driver (see em.algorithms), which receives ``algorithm_options``.
    """
    from emcli.em import algorithms

    algorithms.require(model, algorithm)
    driver = algorithms.load(algorithm)
    init = model.default_init if init is None else init
    if len(X) < model.k:
        raise DataError(f"{model.k} components asked for but the data has only {len(X)} rows")
    model.prepare(X)
    rows = rows or chunk_rows(model, X.shape[1], chunk_bytes, len(X))
    max_reseeds = 2 * model.k if max_reseeds is None else max_reseeds
    warm = not isinstance(init, str)
    runs = None if warm else runs_per_start(model, restarts, start_runs)

    def run(rng):
        params = init if warm else start_params(model, X, init, rng, rows, runs or 1, hc_sample)
        return diagnosed(model, driver(model, X, params, rows=rows, max_iter=max_iter, tol=tol,
                                       rng=rng, max_reseeds=max_reseeds, **(algorithm_options or {})))

    outcome = best_of(run, 1 if warm else restarts, seed, algorithm, on_restart)
    outcome.start_runs = runs
    return outcome


def best_of(run, restarts: int, seed: int, algorithm: str, on_restart=None) -> FitOutcome:
    """Restart r = 0..``restarts``-1 as ``run(default_rng(seed + r))`` -> RunResult; the winner
    is em.batch.best_index's (the best score, a sound fit before a degenerate one).  A restart
    failing on linear algebra or floating point is summarised with its error; FitError when
    every one fails."""
    runs, summaries, failures = [], [], []
    for r in range(restarts):
        try:
            result = run(np.random.default_rng(seed + r))
        except (np.linalg.LinAlgError, FloatingPointError) as exc:
            failures.append(str(exc))
            summaries.append({"seed": seed + r, "error": str(exc)})
        else:
            runs.append((seed + r, result))
            summaries.append({"seed": seed + r, "score": result.score,
                              "log_likelihood": result.log_likelihood, "n_iter": result.n_iter,
                              "converged": result.converged, "degenerate": list(result.degenerate)})
        if on_restart is not None:
            on_restart(r)
    if not runs:
        raise FitError(f"every restart failed; the first: {failures[0]}")
    best_seed, best = runs[best_index([result for _, result in runs])]
    return FitOutcome(best, best_seed, summaries, algorithm)
