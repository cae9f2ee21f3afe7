"""Gradient methods on the observed log-likelihood, in the model's unconstrained coordinates
(``to_vector``): Adam (``run_gradient``), and the hybrid of Salakhutdinov, Roweis & Ghahramani
(2003), which takes EM steps where EM is fast and conjugate-gradient steps where it crawls
(``run_hybrid``).  The gradient comes from the E-step's statistics (``score_gradient``), so a
gradient costs one pass over the data, like an EM step.  Both climb the likelihood alone: a
model fit by MAP (with a prior) is refused."""

import time

import numpy as np

from emcli.em.batch import RunResult, evaluate, require_finite, settled, trace_row
from emcli.em.chunks import accumulate
from emcli.em.overrelaxed import em_step
from emcli.errors import UsageError
from emcli.numeric import normalize_log_rows

#: Adam's decay rates of the first and second moments, and its guard against division by 0
#: (the defaults of Kingma & Ba 2015).
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8

#: Normalised posterior entropy sum_n H(r_n) / (N log K) above which the hybrid takes a
#: conjugate-gradient step: posteriors spread over the components mean much missing
#: information, where EM converges slowly.  On two Gaussians one standard deviation apart it is
#: about 0.7, four apart about 0.1.
ENTROPY_THRESHOLD = 0.3

#: Line search of a conjugate-gradient step: the step along the direction is doubled while the
#: likelihood rises (at most MAX_DOUBLINGS times), or halved until it rises (MAX_HALVINGS).
MAX_DOUBLINGS, MAX_HALVINGS = 4, 6


def _likelihood_only(model, algorithm: str) -> None:
    if model.objective != "log_likelihood":
        raise UsageError(f"--algorithm {algorithm} climbs the log-likelihood; it does not take a prior")


def run_gradient(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
                 rng: np.random.Generator, max_reseeds: int, learning_rate: float = 0.01) -> RunResult:
    """Adam with step size ``learning_rate`` on the mean log-likelihood per row, from
    ``params``, until the mean per-row change of the log-likelihood is at most ``tol`` (never
    when ``tol`` is 0) or ``max_iter`` steps have run.  No re-seeding: a component that
    collapses makes the run fail (FloatingPointError or LinAlgError), as it would for any
    gradient method.  Trace rows add ``gradient_norm``, the Euclidean norm of the gradient of
    the mean log-likelihood per row at the parameters of that row."""
    _likelihood_only(model, "gradient")
    n = len(X)
    started = time.perf_counter()
    stats, score, data_term = evaluate(model, params, X, rows)
    gradient = model.score_gradient(params, stats) / n
    trace = [trace_row(0, score, data_term, started, "init",
                       gradient_norm=float(np.linalg.norm(gradient)))]
    vector = model.to_vector(params)
    first, second = np.zeros_like(vector), np.zeros_like(vector)
    converged = False
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        first = BETA1 * first + (1.0 - BETA1) * gradient
        second = BETA2 * second + (1.0 - BETA2) * gradient * gradient
        step = (first / (1.0 - BETA1**iteration)) / (np.sqrt(second / (1.0 - BETA2**iteration)) + EPSILON)
        vector = vector + learning_rate * step
        params = model.from_vector(vector, params)
        previous = score
        stats, score, data_term = evaluate(model, params, X, rows)
        require_finite(score, f"at iteration {iteration}")
        gradient = model.score_gradient(params, stats) / n
        trace.append(trace_row(iteration, score, data_term, started, None,
                               gradient_norm=float(np.linalg.norm(gradient))))
        if tol > 0 and abs(score - previous) <= tol * n:
            converged = True
            break
    return RunResult(params, score, data_term, len(trace) - 1, converged, trace)


def posterior_pass(model, params, X: np.ndarray, rows: int):
    """One E-step over every chunk: (stats, log-likelihood, summed posterior entropy
    sum_n H(r_n))."""
    def block_step(block):
        resp = model.log_joint(params, block)
        row_ll = normalize_log_rows(resp)
        entropy = -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)))
        return model.expected_stats(params, block, resp), np.array([row_ll.sum(), entropy])

    stats, (log_likelihood, entropy) = accumulate(block_step, X, rows)
    return stats, float(log_likelihood), float(entropy)


def run_hybrid(model, X: np.ndarray, params, *, rows: int, max_iter: int, tol: float,
               rng: np.random.Generator, max_reseeds: int,
               entropy_threshold: float = ENTROPY_THRESHOLD) -> RunResult:
    """EM where the normalised posterior entropy is at most ``entropy_threshold``, else a
    conjugate-gradient step, until the mean per-row change of the log-likelihood is at most
    ``tol`` (never when ``tol`` is 0) or ``max_iter`` iterations have run.

    The conjugate-gradient steps are those of Salakhutdinov, Roweis & Ghahramani's ECG: the
    EM step M(theta) - theta (in ``to_vector`` coordinates) serves as the preconditioned
    gradient, combined with the previous direction by Polak-Ribiere (restarted when the
    direction stops ascending); the line search doubles or halves the step from 1 on the
    observed log-likelihood, and a search that finds no rise falls back to the EM step.  Each
    iteration never lowers the likelihood.  Trace rows add ``step`` ("em" or "cg"),
    ``entropy`` (normalised, at the parameters the step started from), ``alpha`` (the step
    length along the direction; 1 for EM) and ``passes`` (E-steps so far).
    """
    _likelihood_only(model, "hybrid")
    n = len(X)
    scale = n * float(np.log(model.k)) if model.k > 1 else np.inf
    reseeds_left = max_reseeds
    started = time.perf_counter()
    stats, score, entropy = posterior_pass(model, params, X, rows)
    passes = 1
    trace = [trace_row(0, score, score, started, "init", step=None, entropy=entropy / scale, alpha=None,
                       passes=passes)]
    direction = None
    converged = False
    for iteration in range(1, max_iter + 1):
        started = time.perf_counter()
        normalised = entropy / scale
        target, reseeds_left, event = em_step(model, stats, params, X, rng, reseeds_left)
        step, alpha, found = "em", 1.0, None
        if event is None and normalised > entropy_threshold:
            here = model.to_vector(params)
            gradient = model.score_gradient(params, stats)
            preconditioned = model.to_vector(target) - here
            direction = _conjugate(direction, gradient, preconditioned)
            found, tries = _line_search(model, X, rows, here, direction[0], params, score)
            passes += tries
        if found is not None:
            step, alpha, (params, stats, new_score, entropy) = "cg", found[0], found[1:]
        else:
            direction = None
            params = target
            stats, new_score, entropy = posterior_pass(model, params, X, rows)
            passes += 1
        previous, score = score, new_score
        trace.append(trace_row(iteration, score, score, started, event, step=step, entropy=normalised,
                               alpha=alpha, passes=passes))
        if settled(score, previous, iteration, tol, n, event):
            converged = True
            break
    return RunResult(params, score, score, len(trace) - 1, converged, trace)


def _conjugate(previous, gradient: np.ndarray, preconditioned: np.ndarray):
    """(direction, gradient, preconditioned gradient) of this step: Polak-Ribiere (PR+) with
    the preconditioned gradient, restarted along it when the result does not ascend."""
    direction = preconditioned
    if previous is not None:
        last_direction, last_gradient, last_preconditioned = previous
        denominator = last_gradient @ last_preconditioned
        if denominator > 0:
            beta = max(0.0, gradient @ (preconditioned - last_preconditioned) / denominator)
            direction = preconditioned + beta * last_direction
    if direction @ gradient <= 0:
        direction = preconditioned
    return direction, gradient, preconditioned


def _line_search(model, X: np.ndarray, rows: int, here: np.ndarray, direction: np.ndarray,
                 like, score: float):
    """Best step found along ``direction`` from ``here`` whose log-likelihood exceeds
    ``score``: ((alpha, params, stats, log-likelihood, entropy) or None, E-steps spent)."""
    def at(alpha):
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                params = model.from_vector(here + alpha * direction, like)
                stats, value, entropy = posterior_pass(model, params, X, rows)
        except np.linalg.LinAlgError:
            return None
        return (alpha, params, stats, value, entropy) if np.isfinite(value) else None

    tries = 1
    best = at(1.0)
    if best is not None and best[3] > score:
        for _ in range(MAX_DOUBLINGS):
            tries += 1
            longer = at(2.0 * best[0])
            if longer is None or longer[3] <= best[3]:
                break
            best = longer
        return best, tries
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        alpha /= 2.0
        tries += 1
        shorter = at(alpha)
        if shorter is not None and shorter[3] > score:
            return shorter, tries
    return None, tries
