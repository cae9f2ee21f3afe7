"""Stepwise (online) EM (Sato & Ishii 2000, Cappe & Moulines 2009, Liang & Klein 2009): the rows
come in minibatches; each minibatch's expected statistics are blended into running statistics,

    s <- (1 - eta_k) s + eta_k (N / |batch|) stats(batch),   eta_k = (k + 2)^-kappa,

and the M-step runs after every minibatch.  With kappa in (0.5, 1] the step sizes sum to infinity
and their squares do not, so the parameters settle at a stationary point of the likelihood.
Memory holds one minibatch and the statistics, whatever N.

The running statistics are kept per row (s / N): the blend then does not depend on N, which only
scales them for the M-step (where priors and the "empty component" test see absolute counts).
For a stream whose length is not given, N is the number of rows seen so far during the first
pass, and that pass's count afterwards.

Rows held in partitions on a cluster (emcli.cluster.rows) are streamed partition by partition
in order, each partition's rows shuffled within it: the running state goes to the worker that
holds them, and only that state comes back.

Two inputs: an in-memory (N, D) array (``run_stepwise``, the engine's driver), and a *batch
source*, a callable returning an iterator of (n, D) float64 blocks, called once per epoch
(``fit_source``), for data larger than memory (emcli.io.stream) or generated on the fly.

The trace has one row per epoch: the last step size, the minibatches so far and the running
estimate of the log-likelihood (each minibatch scored under the parameters that saw it, as
online EM sees them).  In memory, the first row is the exact log-likelihood of the start and
the last the exact log-likelihood of the final parameters (a batch E-step), so the result is
comparable with batch EM's.
"""

import time
from collections.abc import Callable, Iterator

import numpy as np

from emcli.em import watch
from emcli.em.batch import RunResult, evaluate, require_finite, trace_row
from emcli.em.chunks import DEFAULT_CHUNK_BYTES, accumulate, chunk_rows
from emcli.em.protocol import Reseeding, has, log_prior

BatchSource = Callable[[], Iterator[np.ndarray]]


def step_size(k: int, kappa: float) -> float:
    """eta_k = (k + 2)^-kappa for the k-th minibatch (k = 0, 1, ...)."""
    return (k + 2.0) ** -kappa


def rebatch(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """(size, D) minibatches cut from blocks of any length, in order; the last may be shorter.
    Holds at most one block and one minibatch."""
    pending, held = [], 0
    for block in blocks:
        start = 0
        while start < len(block):
            take = min(size - held, len(block) - start)
            pending.append(block[start : start + take])
            held += take
            start += take
            if held == size:
                yield pending[0] if len(pending) == 1 else np.concatenate(pending)
                pending, held = [], 0
    if held:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


def shuffled_minibatches(X: np.ndarray, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """(size, D) minibatches of ``X`` in an order drawn from ``rng`` (one permutation per call).

    Shuffled because files are often sorted (by time, by label, by source): in-order minibatches
    of sorted rows are not draws from the data's distribution, and the running statistics
    would chase each stretch in turn.  The permutation costs 8 bytes per row, 1/D of the data.
    """
    order = rng.permutation(len(X))
    for start in range(0, len(X), size):
        yield X[np.sort(order[start : start + size])]


class _Online:
    """Running per-row statistics, the parameters they give, and the epoch's tallies."""

    def __init__(self, model, params, per_row, *, kappa, rows, rng, max_reseeds):
        self.model, self.params, self.per_row = model, params, per_row
        self.kappa, self.rows, self.rng = kappa, rows, rng
        self.reseeds_left = max_reseeds
        self.k = 0
        self.eta = None

    def epoch(self, minibatches: Iterator[np.ndarray], n_rows: int | None):
        """One pass: blend and M-step per minibatch.  ``n_rows`` is N, or None to count it.
        Returns (rows seen, summed minibatch scores, events)."""
        model = self.model
        seen, data_term, events = 0, 0.0, []
        for batch in minibatches:
            params = self.params
            stats, batch_term = accumulate(lambda block: model.e_step(params, block), batch, self.rows)
            seen += len(batch)
            data_term += batch_term
            self.eta = step_size(self.k, self.kappa)
            self.per_row = self.per_row * (1.0 - self.eta) + stats * (self.eta / len(batch))
            self.k += 1
            total = self.per_row * float(n_rows or seen)
            self.params = model.m_step(total, params)
            bad = (model.degenerate(self.params, total)
                   if self.reseeds_left > 0 and has(model, Reseeding) else [])
            if bad:
                bad = bad[: self.reseeds_left]
                self.reseeds_left -= len(bad)
                self.params = model.reseed(self.params, [k for k, _ in bad], batch, self.rng)
                events.extend(f"re-seeded component {k} ({why}) at minibatch {self.k}" for k, why in bad)
        if not np.isfinite(data_term):
            raise FloatingPointError(f"the log-likelihood became {data_term} at minibatch {self.k}")
        return seen, data_term, events

    def row(self, epoch: int, n_rows: int, seen: int, data_term: float, seconds: float,
            events: list) -> dict:
        """A trace row for an epoch, its log-likelihood the running estimate scaled to N rows."""
        estimate = data_term / seen * n_rows
        watch.tell(epoch, estimate + log_prior(self.model, self.params))
        return {"iter": epoch, "score": estimate + log_prior(self.model, self.params),
                "log_likelihood": estimate, "seconds": seconds,
                "event": "; ".join(events) or None, "eta": self.eta, "minibatches": self.k,
                "estimated": True, "log_likelihood_per_row": data_term / seen}


def _partition_epoch(state: tuple, X: np.ndarray, rng: np.random.Generator, *, batch_size: int,
                     n_rows: int) -> tuple:
    """One partition's share of an epoch over rows held in partitions: ``state`` is (the
    _Online, rows seen, summed minibatch scores, events) so far, ``X`` (n, D) the partition's
    rows, cut into minibatches in an order drawn from ``rng``; the state after them."""
    online, seen, data_term, events = state
    online.rng = rng  # re-seeding draws rows of this partition
    more, term, new_events = online.epoch(shuffled_minibatches(X, batch_size, rng), n_rows)
    return online, seen + more, data_term + term, events + new_events


def _converged(trace: list, tol: float) -> bool:
    """Whether the running estimate per row moved by at most ``tol`` over the last epoch."""
    if tol <= 0 or len(trace) < 2:
        return False
    last, before = trace[-1], trace[-2]
    return abs(last["log_likelihood_per_row"] - before["log_likelihood_per_row"]) <= tol


def run_stepwise(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                 rng: np.random.Generator, max_reseeds: int, batch_size: int = 1000,
                 kappa: float = 0.7, epochs: int | None = None) -> RunResult:
    """Stepwise EM over the (N, D) rows ``X``: ``epochs`` passes (None: until converged; at
    most ``max_iter`` either way) of
    minibatches of ``batch_size`` rows, shuffled once per pass with ``rng``; each minibatch's
    E-step in chunks of ``rows``.  Stops early when the running log-likelihood per row moves by
    at most ``tol`` over an epoch.

    The running statistics start as the batch E-step of the start, which also gives the trace's
    first row; the returned score is the exact one of the final parameters.
    """
    n = len(X)
    started = time.perf_counter()
    stats, score, data_term = evaluate(model, params, X, rows)
    trace = [trace_row(0, score, data_term, started, "init", eta=None, minibatches=0, estimated=False,
                       log_likelihood_per_row=data_term / n)]
    online = _Online(model, params, stats * (1.0 / n), kappa=kappa, rows=rows, rng=rng,
                     max_reseeds=max_reseeds)
    converged = False
    done = 0
    for epoch in range(1, min(epochs or max_iter, max_iter) + 1):
        started = time.perf_counter()
        if hasattr(X, "fold"):  # rows in partitions: the running state visits each in turn
            online, seen, term, events = X.fold(_partition_epoch, (online, 0, 0.0, []), rng,
                                                batch_size=batch_size, n_rows=n)
        else:
            seen, term, events = online.epoch(shuffled_minibatches(X, batch_size, rng), n)
        trace.append(online.row(epoch, n, seen, term, time.perf_counter() - started, events))
        done = epoch
        if _converged(trace, tol):
            converged = True
            break
    started = time.perf_counter()
    _, score, data_term = evaluate(model, online.params, X, rows)
    require_finite(score, f"after {done} epochs")
    trace.append(trace_row(done, score, data_term, started, "exact, final parameters", eta=online.eta,
                           minibatches=online.k, estimated=False, log_likelihood_per_row=data_term / n))
    return RunResult(online.params, score, data_term, done, converged, trace)


def fit_source(model, source: BatchSource, *, rng: np.random.Generator, init="k-means++",
               batch_size: int = 1000, kappa: float = 0.7, epochs: int = 1,
               n_rows: int | None = None, tol: float = 0.0,
               chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_reseeds: int | None = None,
               start_runs: int = 1) -> RunResult:
    """Stepwise EM over a batch source: ``source()`` returns an iterator of (n, D) float64 blocks
    of any length, the same rows each call, one call per epoch; they are cut into minibatches of
    ``batch_size`` rows in order (so the source should yield its rows in random order).

    The first minibatch sets the model's data-scale settings (``model.prepare``), the start
    (``init``: a method of em.init, drawn with ``rng`` from ``start_runs`` short runs, or
    starting parameters) and the running
    statistics.  ``n_rows`` is N when known; otherwise the first epoch counts it.  Without a
    batch E-step to make, every score in the result is the running estimate of the last epoch,
    scaled to N rows.
    """
    from emcli.em.fit import start_params
    from emcli.errors import DataError

    first = next(rebatch(source(), batch_size), None)
    if first is None:
        raise DataError("the stream has no rows")
    if len(first) < model.k:
        raise DataError(f"{model.k} components asked for but the first minibatch has only {len(first)} rows")
    model.prepare(first)
    rows = chunk_rows(model, first.shape[1], chunk_bytes)
    params = start_params(model, first, init, rng, rows, start_runs) if isinstance(init, str) else init
    stats, _ = accumulate(lambda block: model.e_step(params, block), first, rows)
    online = _Online(model, params, stats * (1.0 / len(first)), kappa=kappa, rows=rows, rng=rng,
                     max_reseeds=2 * model.k if max_reseeds is None else max_reseeds)
    trace, converged = [], False
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        seen, term, events = online.epoch(rebatch(source(), batch_size), n_rows)
        n_rows = n_rows or seen
        trace.append(online.row(epoch, n_rows, seen, term, time.perf_counter() - started, events))
        if _converged(trace, tol):
            converged = True
            break
    last = trace[-1]
    return RunResult(online.params, last["score"], last["log_likelihood"], len(trace), converged, trace)
