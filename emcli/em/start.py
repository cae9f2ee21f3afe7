"""Where EM starts: the parameters each restart begins from.

A model chooses centres (em.init) and one hard-assignment M-step turns them into parameters.
A Gaussian-family mixture (``ShortRuns``) does better, by "small EM" (Biernacki, Celeux &
Govaert 2003): several k-means++ seedings, each followed by SHORT_ITERATIONS EM iterations on
a sample of the rows, and the run with the highest score, among those with no degenerate
component, starts the real fit.  The seedings measure distances in the model's
unit-free frame, so the start, like the likelihood, does not depend on the units.

One seeding alone is a weak start when one cluster is large: on R's quakes (tied, k=2) 6 seeds
in 20 reach the basin of the best fit.  Choosing among 20 seedings by k-means cost after Lloyd's
iterations reaches it on quakes, but on sample_data/blobs.csv (full, k=2) every seed then ends
135 below the best fit (k-means prefers another partition than the likelihood does).  Choosing
by the short runs' likelihood, every one of 20 seeds reaches the best fit on both.
"""

import numpy as np

from emcli.em.batch import best_index, diagnosed, run_batch
from emcli.em.chunks import accumulate, chunks
from emcli.em.init import initial_centres
from emcli.numeric import BLOCK_ROWS
from emcli.em.protocol import SelfStarting, ShortRuns, has
from emcli.errors import UsageError

#: short runs per fit, shared among its restarts (each restart at least one): one start then
#: chooses among 20 seedings, while 20 restarts keep 20 different seedings, whose spread finds
#: optima that short runs, all drawn to the basins that climb fastest, pass by (iris, full,
#: k=3: mclust's -180.19 from 1 of 20 single seedings, from none of 20 short-run starts)
START_BUDGET = 20
#: EM iterations of each short run: enough to tell the basins apart, cheap on a sample
SHORT_ITERATIONS = 3
#: the short runs use a uniform sample of this many rows of larger data (at least 20 per
#: component): a start needs the clusters' rough place, at a cost that does not grow with N
START_SAMPLE = 10_000
#: rows held in partitions on a cluster (emcli.cluster.rows) are seeded from a uniform sample
#: of this many, gathered to the client: k-means++ over all of them would be K passes
PARTITIONED_SAMPLE = 100_000


def runs_per_start(model, restarts: int, start_runs: int | None = None) -> int | None:
    """The short runs each of ``restarts`` starts chooses from: ``start_runs`` if given, else
    START_BUDGET shared among them; None for a model that does not start that way."""
    if not has(model, ShortRuns):
        return None
    return start_runs if start_runs is not None else max(1, START_BUDGET // restarts)


def rows_at_hand(X, rng: np.random.Generator) -> np.ndarray:
    """The (N, D) array ``X`` itself; for rows held in partitions on a cluster, a uniform
    sample of PARTITIONED_SAMPLE of them (drawn with ``rng``) gathered here, in row order."""
    if isinstance(X, np.ndarray):
        return X
    return X[np.sort(rng.choice(len(X), min(len(X), PARTITIONED_SAMPLE), replace=False))]


def start_params(model, X: np.ndarray, method: str, rng: np.random.Generator, rows: int,
                 runs: int = 1, hc_sample: int | None = None):
    """Starting parameters for ``model`` on the (N, D) rows ``X``: centres chosen by
    ``method`` and one hard-assignment M-step, or with ``runs`` > 1 (a ``ShortRuns`` model, K > 1
    and a method other than random, which is the start a user asked for) the best of that
    many short runs; for ``method`` hc, the M-step of the model-based hierarchical clustering
    of at most ``hc_sample`` rows (None: em.hc.HC_SAMPLE) cut at K (``hc_start``).

    Rows with missing cells take their column means for this start only (a copy), so that
    every row can be assigned; EM itself then treats those cells as hidden.  Rows held in
    partitions start from a uniform sample of PARTITIONED_SAMPLE of them.  A ``SelfStarting``
    model (a regression, whose rows are features and a target) starts itself.
    """
    if has(model, SelfStarting):
        return model.init_params(X, method, rng)
    if method == "hc":
        return hc_start(model, hc_rows(X, rng, hc_sample))
    X = filled(rows_at_hand(X, rng))
    if runs <= 1 or method == "random" or model.k == 1 or not has(model, ShortRuns):
        return hard_start(model, X, method, rng, rows)
    return short_runs_start(model, X, method, rng, rows, runs)


def short_runs_start(model, X: np.ndarray, method: str, rng: np.random.Generator, rows: int,
                     runs: int):
    """The parameters of the best of ``runs`` short EM runs, by score among the runs with no
    degenerate component, on a sample of the complete rows ``X`` (N, D)."""
    size = max(START_SAMPLE, 20 * model.k)
    if len(X) > size:
        X = X[np.sort(rng.choice(len(X), size, replace=False))]
    found = []
    for _ in range(runs):
        try:
            params = hard_start(model, X, method, rng, rows)
            run = run_batch(model, X, params, rows=rows, max_iter=SHORT_ITERATIONS, tol=0.0,
                            rng=rng, max_reseeds=model.k)
        except (np.linalg.LinAlgError, FloatingPointError):
            continue
        if np.isfinite(run.score):
            found.append(diagnosed(model, run))
    if not found:
        return hard_start(model, X, method, rng, rows)
    return found[best_index(found)].params


def filled(X: np.ndarray) -> np.ndarray:
    """The (N, D) rows ``X``, or a copy with each missing cell at its column's mean."""
    if any(np.isnan(block).any() for block in chunks(X, BLOCK_ROWS)):
        return np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    return X


def hc_rows(X, rng: np.random.Generator, hc_sample: int | None) -> np.ndarray:
    """The complete rows (M, D) --init hc clusters: those of ``X`` at hand (``rows_at_hand``),
    missing cells filled, or a uniform sample of ``hc_sample`` of them (None: em.hc.HC_SAMPLE)
    drawn with ``rng`` when there are more."""
    from emcli.em import hc

    X = rows_at_hand(X, rng)
    return filled(X[hc.sample_rows(len(X), hc.HC_SAMPLE if hc_sample is None else hc_sample, rng)])


def hc_start(model, sample: np.ndarray):
    """The M-step of the partition of the complete rows ``sample`` (M, D) that model-based
    hierarchical clustering (``em.hc``, mclust's default VVV on its SVD transform) finds at K
    clusters: each row wholly in its cluster.  The tree is remembered, so that select-k's
    cells of every K cut one tree."""
    from emcli.em import hc

    if len(sample) < model.k:
        raise UsageError(f"--hc-sample {len(sample)} is fewer rows than the {model.k} components")
    resp = np.eye(model.k)[hc.partition(sample, model.k)]
    params = model.params_from_centres((resp.T @ sample) / resp.sum(axis=0)[:, None])
    return model.m_step(model.expected_stats(params, sample, resp), params)


def hard_start(model, X: np.ndarray, method: str, rng: np.random.Generator, rows: int):
    """Centres chosen by ``method`` in the model's frame (if it has one), then one
    hard-assignment M-step over the complete rows ``X`` (N, D)."""
    centres = initial_centres(X, model.k, method, rng, getattr(model, "frame", None))
    params = model.params_from_centres(centres)
    stats, _ = accumulate(lambda block: (model.assign_stats(params, block), 0.0), X, rows)
    return model.m_step(stats, params)
