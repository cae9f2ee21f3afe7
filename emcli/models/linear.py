"""Bayesian linear-Gaussian regression, shared by blr and rvm.

The model: y = w' phi(x) + noise, noise ~ N(0, 1/beta), independent weights w_i ~ N(0, 1/a_i),
where a_i = 0 stands for a flat prior (the intercept's).  Shapes: Phi is the (N, M) design
matrix of a block of rows, M basis functions with the intercept's column of ones first.

A block's statistics are sums over its rows whatever the hyperparameters: gram = Phi'Phi (M, M),
moment = Phi'y (M,), yy = y'y and n.  From them, the posterior of the weights N(mean, cov) and
the log evidence log p(y | a, beta) follow in closed form (Bishop, PRML 3.5).

With an intercept, rows are centred on a reference point (the training means of the basis
functions and of y) so that the statistics do not cancel for data far from the origin.  The
flat prior on the intercept absorbs that shift exactly: it changes neither the evidence nor the
posterior of the other weights, and ``uncentre`` maps the posterior back.
"""

from functools import cached_property

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.params import check_shape, float_array
from emcli.numeric import LOG_2PI, cholesky_lower


def design(basis: np.ndarray, intercept: bool) -> np.ndarray:
    """(N, M) design matrix: a column of ones (when ``intercept``) then the (N, P) ``basis``."""
    if not intercept:
        return basis
    return np.column_stack([np.ones(len(basis)), basis])


def block_stats(Phi: np.ndarray, y: np.ndarray) -> Stats:
    """gram (M, M), moment (M,), yy and n of the rows of ``Phi`` (N, M) and ``y`` (N,)."""
    return Stats(gram=Phi.T @ Phi, moment=Phi.T @ y, yy=y @ y, n=len(y))


def subset(stats: Stats, keep: np.ndarray) -> Stats:
    """The statistics of the basis functions ``keep`` (indices into M) only."""
    return Stats(gram=stats["gram"][np.ix_(keep, keep)], moment=stats["moment"][keep],
                 yy=stats["yy"], n=stats["n"])


def embed(stats: Stats, keep: np.ndarray, m: int) -> Stats:
    """Statistics of the basis functions ``keep`` placed in zero-filled arrays of M functions,
    so that blocks computed on a subset still add up with fixed shapes."""
    if len(keep) == m:
        return stats
    gram, moment = np.zeros((m, m)), np.zeros(m)
    gram[np.ix_(keep, keep)] = stats["gram"]
    moment[keep] = stats["moment"]
    return Stats(gram=gram, moment=moment, yy=stats["yy"], n=stats["n"])


class Posterior:
    """The weights' posterior N(mean (M,), cov (M, M)) given summed statistics, at prior
    precisions (M,) and noise precision beta, and the log evidence (PRML 3.86).

    A flat prior (a_i = 0) has density 1, so the evidence is then that of the data's coordinates
    orthogonal to its basis function, divided by that function's norm.  ``residual`` is
    |y - Phi mean|^2 and ``spread`` tr(Phi'Phi cov): their sum is E|y - Phi w|^2.

    A = diag(a) + beta Phi'Phi is factored after scaling to unit diagonal, which keeps the
    Cholesky factor accurate when the precisions span many orders of magnitude (rvm).  The
    mean and the evidence need only that factor; ``cov`` is computed when first asked for.
    """

    def __init__(self, stats: Stats, precisions: np.ndarray, beta: float):
        gram, moment, yy, n = stats["gram"], stats["moment"], float(stats["yy"]), float(stats["n"])
        A = beta * gram
        A[np.diag_indices_from(A)] += precisions
        self.gram, self.scale = gram, np.sqrt(np.diag(A))
        self.lower = cholesky_lower(A / np.outer(self.scale, self.scale), "the weights' posterior precision")
        solved = linalg.cho_solve((self.lower, True), moment / self.scale, check_finite=False)
        self.mean = beta * solved / self.scale
        self.residual = float(max(yy - 2.0 * moment @ self.mean + self.mean @ gram @ self.mean, 0.0))
        penalised = precisions > 0
        log_det = 2.0 * (np.log(np.diag(self.lower)).sum() + np.log(self.scale).sum())
        energy = 0.5 * beta * self.residual + 0.5 * precisions @ (self.mean * self.mean)
        # each flat weight integrates to sqrt(2 pi) times its posterior's determinant term, with
        # no normalising constant of its prior to cancel it
        self.log_evidence = float(0.5 * np.log(precisions[penalised]).sum() + 0.5 * n * np.log(beta)
                                  - energy - 0.5 * log_det
                                  - 0.5 * (n - np.count_nonzero(~penalised)) * LOG_2PI)

    @cached_property
    def cov(self) -> np.ndarray:
        inverse, info = lapack.dpotri(self.lower, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("the weights' posterior precision is singular")
        inverse = np.tril(inverse) + np.tril(inverse, -1).T
        return inverse / np.outer(self.scale, self.scale)

    @cached_property
    def spread(self) -> float:
        return float(np.sum(self.gram * self.cov))


def noise_precision(stats: Stats, post: Posterior) -> float:
    """The EM update of beta: n / E|y - Phi w|^2 under the posterior."""
    return float(stats["n"]) / (post.residual + post.spread)


def uncentre(mean: np.ndarray, cov: np.ndarray, shift: np.ndarray, offset: float):
    """(mean, cov) of the weights on the uncentred basis, from those on a basis centred by
    ``shift`` (M,; 0 for the intercept) with y centred by ``offset``: the intercept becomes
    w_0 + offset - shift'w, the other weights are unchanged."""
    moved = mean.copy()
    moved[0] += offset - shift @ mean
    # T cov T' for T = I - e_0 shift', in O(M^2): only the intercept's row and column change
    row = cov @ shift
    spread = cov.copy()
    spread[0] -= row
    spread[:, 0] -= row
    spread[0, 0] += shift @ row
    return moved, spread


def predictive(Phi: np.ndarray, mean: np.ndarray, cov: np.ndarray, beta: float):
    """Predictive mean (N,) and standard deviation (N,) at the rows of ``Phi`` (N, M):
    mean'phi and sqrt(1/beta + phi' cov phi), the latter as s sqrt(1/(beta s^2) + z' cov z)
    with z = phi / s, s = max(1, |phi|), so that a row far out (1e200) has a finite spread
    whenever the spread itself is a float."""
    scale = np.abs(Phi).max(axis=1, initial=1.0)
    Z = Phi / scale[:, None]
    spread = np.maximum(np.einsum("ij,ij->i", Z @ cov, Z), 0.0)
    with np.errstate(over="ignore"):
        std = scale * np.sqrt(1.0 / (beta * scale * scale) + spread)
    return Phi @ mean, std


def initial_precisions(stats: Stats, penalised: np.ndarray) -> tuple[float, float]:
    """A start (alpha, beta) in the data's units: half of y's spread (about its reference) is
    put on the noise and half on the weights of the ``penalised`` (M,) basis functions."""
    n = float(stats["n"])
    spread = float(stats["yy"]) / n
    power = float(np.trace(stats["gram"])) - float(np.sum(np.diag(stats["gram"])[~penalised]))
    alpha = 2.0 * power / (n * spread) if power > 0 else 1.0
    return alpha, 2.0 / spread


#: the starts of the evidence search span the basis functions' own precisions (below) widened
#: by this factor each way
START_SPAN = 1e3
#: each start climbs until the log evidence moves less than this (relative), or CLIMB_STEPS steps
CLIMB_TOL = 1e-7
CLIMB_STEPS = 300


def start_alphas(stats: Stats, penalised: np.ndarray) -> np.ndarray:
    """Weights' precisions (S,) to start the evidence search from, a decade apart, spanning
    the precision at which each ``penalised`` (M,) basis function alone would carry y's spread,
    widened by START_SPAN.  The log evidence can have a maximum in alpha for each scale among
    the basis functions: on the breast-cancer data's first five columns (area ~1e3, smoothness
    ~0.1) one at alpha 66.7 (log evidence -141.58) and the higher at alpha 0.119 (-134.43),
    which a start above 1e-5 of the single start's alpha never reaches."""
    n = float(stats["n"])
    spread = float(stats["yy"]) / n
    power = np.diag(stats["gram"])[penalised]
    power = power[power > 0]
    if not len(power) or not spread > 0:
        return np.array([initial_precisions(stats, penalised)[0]])
    own = power / (n * spread)
    low = np.floor(np.log10(own.min() / START_SPAN))
    high = np.ceil(np.log10(own.max() * START_SPAN))
    return 10.0 ** np.arange(low, high + 1.0)


def best_climb(starts: list, step, score):
    """The parameters with the highest ``score`` after climbing by ``step`` (until the score
    moves less than CLIMB_TOL, relative, or CLIMB_STEPS steps) from each of ``starts`` (in order
    of their precision) whose own score is a local maximum of the starts' (not below either
    neighbour's): each maximum of the evidence in a common precision is climbed once, from
    the start nearest it, and a search over many decades costs a few climbs; among equal
    results (one maximum reached twice) the first."""
    values = np.array([score(params) for params in starts])
    values = np.where(np.isfinite(values), values, -np.inf)
    padded = np.concatenate([[-np.inf], values, [-np.inf]])
    peaks = [i for i in range(len(starts)) if values[i] >= padded[i] and values[i] >= padded[i + 2]]
    reached = []
    for i in peaks or [0]:
        params, value = starts[i], values[i]
        for _ in range(CLIMB_STEPS):
            params, previous = step(params), value
            value = score(params)
            if abs(value - previous) <= CLIMB_TOL * abs(value):
                break
        reached.append((value, params))
    top = max(value for value, _ in reached)
    return next(params for value, params in reached if not value < top - 1e-9 * abs(top))


#: the noise variance floor, relative to the target's spread (noise standard deviation 1e-6 of
#: the target's): a target the features fit exactly would send the noise precision, and the
#: evidence, to infinity; the M-step maximises over precisions up to the cap instead
NOISE_FLOOR = 1e-12


def noise_cap(y: np.ndarray, intercept: bool) -> float:
    """The largest noise precision beta: 1 / (NOISE_FLOOR times the spread of the target ``y``
    (N,), its variance with an intercept, its mean square without)."""
    spread = float(np.var(y)) if intercept else float(np.mean(np.square(y)))
    return 1.0 / (NOISE_FLOOR * spread)


def noise_diagnosis(beta: float, cap: float | None) -> tuple[list, list]:
    """(flat components, warnings) of a regression whose noise precision is ``beta``: its
    noise, component 0, is degenerate when beta is at the ``cap``."""
    if cap is None or beta < cap * (1.0 - 1e-9):
        return [], []
    return [0], [f"the features fit the target exactly: the noise variance rests on its floor "
                 f"({NOISE_FLOOR:g} of the target's variance), where the evidence would grow "
                 "without bound; the target is a function of the features"]


def check_target(y: np.ndarray, intercept: bool) -> None:
    """DataError for a target with nothing to explain: constant (with an intercept, which would
    fit it exactly and send the noise precision to infinity) or zero in every row."""
    if len(y) and np.ptp(y) == 0 and (intercept or y[0] == 0):
        raise DataError(f"the target is {y[0]:g} in every row; there is nothing to regress")


# -- options and model-file fields --------------------------------------------------------------

def check_intercept(intercept) -> bool:
    """The ``intercept`` option, which must be a boolean (it comes from a model file too)."""
    if not isinstance(intercept, (bool, np.bool_)):
        raise UsageError(f"intercept must be true or false, got {intercept!r}")
    return bool(intercept)


def positive_scalar(doc: dict, key: str) -> float:
    """A positive number from ``doc[key]`` (a precision)."""
    value = check_shape(float_array(doc, key), (), f"params.{key}")
    if not value > 0:
        raise ModelFileError(f"params.{key}: must be positive, found {float(value)}")
    return float(value)


def covariance(doc: dict, key: str, m: int) -> np.ndarray:
    """A symmetric (M, M) covariance from ``doc[key]``."""
    cov = check_shape(float_array(doc, key), (m, m), f"params.{key}")
    if np.any(cov != cov.T) or np.any(np.diag(cov) < 0):
        raise ModelFileError(f"params.{key}: not a covariance matrix (symmetric, non-negative diagonal)")
    return cov
