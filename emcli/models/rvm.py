"""Relevance vector machine for regression (Tipping 2001; Bishop, PRML 7.2): Bayesian linear
regression in which every basis function's weight has its own prior precision, w_i ~ N(0,
1/alpha_i), and noise ~ N(0, 1/beta).  Maximising the evidence sends the precisions of the
weights the data do not need to infinity, so those basis functions drop out and the model is
sparse: it says which features matter, or which few training rows carry a nonlinear fit.

Basis (--basis): linear, the features themselves (y = b + sum_j w_j x_j); or rbf, one Gaussian
bump per training row x_n, phi_n(x) = exp(-gamma |x - x_n|^2), with --gamma G (default 1 /
number of features; the features are used as they are, so put them on comparable scales).  The
rbf basis keeps an N x N matrix, so it is for thousands of rows rather than millions.  The
intercept b has a flat prior and is never pruned (--no-intercept drops it).

Fitting is EM with the weights as the latent variable, as for blr.  The E-step is the weights'
posterior N(m, S) over the basis functions still in the model.  The M-step computes the EM
update, alpha_i = 1 / (m_i^2 + S_ii) and beta = N / (|y - Phi m|^2 + tr(Phi'Phi S)), and
MacKay's fixed-point update, alpha_i = gamma_i / m_i^2 with gamma_i = 1 - alpha_i S_ii and
beta = (N - sum gamma) / |y - Phi m|^2, and keeps the one with the higher evidence (an ECME-
style step: never worse than EM's, so the log evidence in the trace never decreases).  Plain
EM raises the precision of an unneeded weight by only about a constant per iteration: on 200
noisy rows of sin(x)/x it stops at the default --tol after about 900 iterations with nothing
pruned, where this step converges in 75 with 19 relevance vectors.

Pruning: a weight whose precision exceeds --threshold (default 1e6) times the smallest
precision in the model is removed (alpha_i = infinity) when removing it does not lower the
evidence, which holds for any weight whose precision is on its way to infinity (Tipping and
Faul 2003 give the change in closed form); a weight the evidence wants to keep, however
small, stays, and a removed weight does not come back.  At the evidence maximum a feature
unrelated to the target is still kept with probability about 0.32 (when its chance
correlation with the residual exceeds its noise level, q^2 > s in Tipping and Faul's terms),
as in every ARD method; such weights are small.

Model file: params.relevant, the relevant basis functions (0-based: feature column indices for
the linear basis, training row numbers for rbf); params.alpha, their precisions; params.beta;
params.weights and params.weights_cov, the posterior mean and covariance of the weights, the
intercept first (unless --no-intercept) then, for the linear basis, one weight per feature
column (0 for pruned ones) and, for rbf, one per relevance vector; for rbf,
params.relevance_vectors, the training rows that survive, so predict needs no training data.
predict writes prediction, m'phi(x), and prediction_std, sqrt(1/beta + phi' S phi).
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from emcli.em.chunks import accumulate, chunk_rows, chunks
from emcli.em.protocol import Describing, Diagnosing, RowOutputs, SelfStarting, WholeScore
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models import linear
from emcli.models.params import check_shape, float_array
from emcli.numeric import column_moments

BASES = ("linear", "rbf")

#: the rbf basis holds several (N + 1) x (N + 1) matrices; beyond this many rows they need GBs
MAX_RBF_ROWS = 10000


@dataclass
class RVMParams:
    """Per candidate basis function (P of them: the features, or the training rows for rbf):
    ``alpha`` (P,) the weight's precision, inf once pruned, and ``index`` (P,) the feature or
    training row it stands for; ``beta`` the noise precision; ``mean`` (I + P,) and ``cov``
    (I + P, I + P) the weights' posterior, intercept first, 0 for pruned weights; ``centres``
    (P, D) the rows the rbf functions sit on (None for the linear basis)."""

    alpha: np.ndarray
    beta: float
    mean: np.ndarray
    cov: np.ndarray
    centres: np.ndarray | None
    index: np.ndarray

    @property
    def active(self) -> np.ndarray:
        return np.isfinite(self.alpha)


def indices(doc: dict, key: str, limit: int | None) -> np.ndarray:
    """Increasing non-negative integers from ``doc[key]``, below ``limit`` when given."""
    values = float_array(doc, key)
    if (values.ndim != 1 or np.any(values != np.round(values)) or np.any(values < 0)
            or np.any(np.diff(values) <= 0) or (limit is not None and values.size and values[-1] >= limit)):
        bound = f" below {limit}" if limit is not None else ""
        raise ModelFileError(f"params.{key}: expected increasing non-negative integers{bound}")
    return values.astype(np.int64)


def deletion_gain(alpha: np.ndarray, post: linear.Posterior, intercept: bool) -> np.ndarray:
    """(R,) change of the log evidence when one weight alone leaves the model, for the R
    weights of precisions ``alpha`` whose posterior is ``post`` (after the intercept):
    -(log(alpha_i S_ii) + m_i^2 / S_ii) / 2.  This is Tipping and Faul's (2003) -l(alpha_i)
    with s_i = 1/S_ii - alpha_i and q_i = m_i / S_ii; it is positive when the evidence would
    rather send alpha_i to infinity (q_i^2 < s_i)."""
    var, mean = np.diag(post.cov)[int(intercept):], post.mean[int(intercept):]
    return -0.5 * (np.log(alpha * var) + mean * mean / var)


class RelevanceVectorMachine(SelfStarting, WholeScore, RowOutputs, Describing, Diagnosing):
    name = "rvm"
    objective = "log_evidence"
    k = 1

    def __init__(self, intercept: bool = True, basis: str = "linear", gamma: float | None = None,
                 threshold: float = 1e6):
        self.intercept = linear.check_intercept(intercept)
        if basis not in BASES:
            raise UsageError(f"--basis must be one of {', '.join(BASES)}, got {basis!r}")
        if gamma is not None and basis != "rbf":
            raise UsageError("--gamma applies only to --basis rbf")
        if gamma is not None and not gamma > 0:
            raise UsageError(f"--gamma must be positive, got {gamma}")
        if not threshold > 1:
            raise UsageError(f"--threshold must be greater than 1, got {threshold}")
        self.basis, self.threshold = basis, float(threshold)
        self.gamma = None if gamma is None else float(gamma)
        self.train = None
        self.max_beta = None  # the noise precision's cap (linear.noise_cap), set in prepare
        self.shift = None
        self.offset = 0.0
        self.n_basis = 0

    def options(self) -> dict:
        """The options; for rbf the kernel width as used (1 / number of features by default)."""
        return {"intercept": self.intercept, "basis": self.basis, "gamma": self.gamma,
                "threshold": self.threshold}

    # -- basis functions -----------------------------------------------------------------------

    def _basis(self, X: np.ndarray, centres: np.ndarray | None, keep: np.ndarray) -> np.ndarray:
        """(N, len(keep)) values of the basis functions ``keep`` at the (N, D) rows ``X``."""
        if self.basis == "linear":
            return X[:, keep]
        return np.exp(-self.gamma * cdist(X, centres[keep], "sqeuclidean"))

    def _columns(self, active: np.ndarray) -> np.ndarray:
        """Design-matrix columns of the intercept and the ``active`` (P,) basis functions."""
        return np.concatenate([[0] * self.intercept,
                               self.intercept + np.flatnonzero(active)]).astype(np.int64)

    def _precisions(self, alpha: np.ndarray) -> np.ndarray:
        """Prior precisions of the design columns: 0 (flat) for the intercept, then ``alpha``."""
        return np.concatenate([[0.0] * self.intercept, alpha])

    # -- data ----------------------------------------------------------------------------------

    def prepare(self, data: np.ndarray) -> None:
        """The candidate basis functions and the reference point of the statistics: with an
        intercept, the training means of the basis functions and of the target (which the
        intercept absorbs).  ``data`` is (N, D + 1): the features, then the target."""
        X, y = data[:, :-1], data[:, -1]
        linear.check_target(y, self.intercept)
        self.max_beta = linear.noise_cap(y, self.intercept)
        if self.basis == "rbf":
            if len(X) > MAX_RBF_ROWS:
                raise DataError(f"--basis rbf keeps an N x N matrix and takes at most {MAX_RBF_ROWS} "
                                f"rows, the data has {len(X)}; sample the rows or use --basis linear")
            if self.gamma is None:
                self.gamma = 1.0 / X.shape[1]
            self.train = np.array(X)
        self.n_basis = len(X) if self.basis == "rbf" else X.shape[1]
        self.shift = np.zeros(self.intercept + self.n_basis)
        self.offset = 0.0
        if self.intercept:
            if self.basis == "linear":
                self.shift[1:] = column_moments(X)[0]
            else:
                everything, rows = np.arange(self.n_basis), chunk_rows(self, data.shape[1])
                self.shift[1:] = sum(self._basis(block, self.train, everything).sum(axis=0)
                                     for block in chunks(X, rows)) / len(X)
            self.offset = float(np.mean(y))

    def init_params(self, data: np.ndarray, method: str, rng: np.random.Generator) -> RVMParams:
        """Every basis function in, except those that are constant over the rows (the
        evidence does not depend on their weights, which are pruned at once), all with one
        precision: as for blr, EM climbs on the summed statistics from one at every decade of
        ``linear.start_alphas`` (beta from ``linear.initial_precisions``), and the highest
        evidence maximum reached is the start."""
        start = RVMParams(np.ones(self.n_basis), 1.0, None, None, self.train, np.arange(self.n_basis))
        stats, _ = accumulate(lambda block: self.e_step(start, block), data,
                              chunk_rows(self, data.shape[1]))
        penalised = self._precisions(start.alpha) > 0
        _, beta = linear.initial_precisions(stats, penalised)
        flat = np.diag(stats["gram"])[self.intercept:] == 0
        starts = []
        for value in linear.start_alphas(stats, penalised):
            alpha = np.where(flat, np.inf, value)
            starts.append(self._params(alpha, beta, self.posterior(stats, alpha, beta), start))
        return linear.best_climb(starts, lambda params: self.m_step(stats, params),
                                 lambda params: self.total_score(stats, params))

    def _params(self, alpha: np.ndarray, beta: float, post: linear.Posterior,
                previous: RVMParams) -> RVMParams:
        """Parameters holding ``post``, the centred posterior at ``alpha`` and ``beta``,
        uncentred and with zeros for the pruned weights."""
        columns = self._columns(np.isfinite(alpha))
        mean, cov = linear.uncentre(post.mean, post.cov, self.shift[columns], self.offset)
        full_mean, full_cov = np.zeros(len(self.shift)), np.zeros((len(self.shift),) * 2)
        full_mean[columns] = mean
        full_cov[np.ix_(columns, columns)] = cov
        return RVMParams(alpha, beta, full_mean, full_cov, previous.centres, previous.index)

    # -- EM ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        """The design row, and for rbf the distances to every centre it is made from."""
        return 8 * (2 * self.n_basis + n_features + 2)

    def e_step(self, params: RVMParams, data: np.ndarray) -> tuple[Stats, float]:
        """Phi'Phi, Phi'y, y'y and n of the rows over the basis functions still in the model,
        in arrays of every candidate's size (zero for pruned ones), so blocks add up.  The
        score is in ``total_score``: the log evidence does not split over rows."""
        if self.basis == "rbf" and params.centres is not self.train:
            raise UsageError("an rbf rvm cannot start from a model file (--init MODEL.json): its "
                             "basis functions sit on the rows it was fit to; fit it afresh")
        columns = self._columns(params.active)
        basis = self._basis(data[:, :-1], params.centres, np.flatnonzero(params.active))
        Phi = linear.design(basis, self.intercept) - self.shift[columns]
        stats = linear.block_stats(Phi, data[:, -1] - self.offset)
        return linear.embed(stats, columns, len(self.shift)), 0.0

    def posterior(self, stats: Stats, alpha: np.ndarray, beta: float) -> linear.Posterior:
        """The posterior over the basis functions with finite ``alpha`` (P,), centred."""
        active = np.isfinite(alpha)
        return linear.Posterior(linear.subset(stats, self._columns(active)),
                                self._precisions(alpha[active]), beta)

    def total_score(self, stats: Stats, params: RVMParams) -> float:
        """Log evidence log p(y | alpha, beta); pruned weights contribute nothing, their limit
        as alpha_i goes to infinity."""
        return self.posterior(stats, params.alpha, params.beta).log_evidence

    def m_step(self, stats: Stats, previous: RVMParams) -> RVMParams:
        """E-step proper (the posterior at the previous precisions); new precisions, by the EM
        update or MacKay's, whichever gives the higher evidence; then pruning (``_prune``)."""
        active = previous.active
        post = self.posterior(stats, previous.alpha, previous.beta)
        i = int(self.intercept)
        mean, var = post.mean[i:], np.diag(post.cov)[i:]
        em = np.full(len(previous.alpha), np.inf)
        em[active] = 1.0 / (mean * mean + var)
        em_beta = min(linear.noise_precision(stats, post), self.max_beta)
        # gamma_i, how well the data determine weight i, is 1 - alpha_i S_ii; MacKay's update
        # can fail where it rounds to 0 or below, and there EM's value stands in
        gamma = 1.0 - previous.alpha[active] * var
        with np.errstate(divide="ignore", invalid="ignore"):
            proposal = gamma / (mean * mean)
            mackay_beta = (float(stats["n"]) - i - gamma.sum()) / post.residual
        mackay = em.copy()
        mackay[active] = np.where(np.isfinite(proposal) & (proposal > 0), proposal, em[active])
        if not (np.isfinite(mackay_beta) and mackay_beta > 0):
            mackay_beta = em_beta
        mackay_beta = min(mackay_beta, self.max_beta)
        steps = [(em, em_beta, self.posterior(stats, em, em_beta)),
                 (mackay, mackay_beta, self.posterior(stats, mackay, mackay_beta))]
        alpha, beta, post = max(steps, key=lambda step: step[2].log_evidence)
        alpha, post = self._prune(stats, alpha, beta, post)
        return self._params(alpha, beta, post, previous)

    def _prune(self, stats: Stats, alpha: np.ndarray, beta: float, post: linear.Posterior):
        """(alpha, posterior) with the weights whose precision exceeds ``threshold`` times the
        smallest set to infinity, those among them whose removal does not lower the evidence;
        ``post`` is the posterior at ``alpha`` (P,) and ``beta``.

        When several go at once their joint removal is checked, and only the best one goes
        (``deletion_gain``, exact for one) if that would lower the evidence, so the objective
        never decreases by more than round-off.
        """
        active = np.isfinite(alpha)
        if not active.any():
            return alpha, post
        candidates = active & (alpha > self.threshold * alpha[active].min())
        if not candidates.any():
            return alpha, post
        # the gain of a weight whose precision is far above the others' is below round-off
        noise = 1e-12 * max(1.0, abs(post.log_evidence))
        gain = np.full(len(alpha), -np.inf)
        gain[active] = deletion_gain(alpha[active], post, self.intercept)
        drop = candidates & (gain >= -noise)
        if not drop.any():
            return alpha, post
        pruned = np.where(drop, np.inf, alpha)
        trial = self.posterior(stats, pruned, beta)
        if drop.sum() > 1 and trial.log_evidence < post.log_evidence - noise:
            pruned = alpha.copy()
            pruned[np.argmax(np.where(drop, gain, -np.inf))] = np.inf
            trial = self.posterior(stats, pruned, beta)
        return pruned, trial

    # -- use -----------------------------------------------------------------------------------

    def row_outputs(self, params: RVMParams, X: np.ndarray) -> dict:
        """prediction and prediction_std (N,) for the (N, D) feature rows ``X``."""
        columns = self._columns(params.active)
        Phi = linear.design(self._basis(X, params.centres, np.flatnonzero(params.active)), self.intercept)
        prediction, std = linear.predictive(Phi, params.mean[columns], params.cov[np.ix_(columns, columns)],
                                            params.beta)
        return {"prediction": prediction, "prediction_std": std}

    def flat_components(self, params: RVMParams) -> list[int]:
        """[0] when the noise precision is at its cap (the features fit the target exactly)."""
        return linear.noise_diagnosis(params.beta, self.max_beta)[0]

    def diagnose(self, params: RVMParams, n_samples: int) -> list[str]:
        return linear.noise_diagnosis(params.beta, self.max_beta)[1]

    def describe(self, params: RVMParams, columns: list) -> list[str]:
        """One line for --verbose naming the relevant basis functions."""
        relevant = params.index[params.active]
        if self.basis == "linear":
            names = ", ".join(columns[j] for j in relevant) or "none"
            return [f"rvm: {len(relevant)} of {len(columns)} features relevant: {names}"]
        listed = ", ".join(str(j) for j in relevant[:20]) + (" ..." if len(relevant) > 20 else "")
        return [f"rvm: {len(relevant)} relevance vectors of {self.n_basis} training rows "
                f"(0-based rows {listed})"]

    # -- bookkeeping ---------------------------------------------------------------------------

    def n_parameters(self, params: RVMParams) -> int:
        """The relevant weights (and intercept), their precisions and beta."""
        relevant = int(params.active.sum())
        return self.intercept + 2 * relevant + 1

    def to_json(self, params: RVMParams) -> dict:
        active = params.active
        doc = {}
        if self.basis == "linear":
            doc.update(weights=params.mean.tolist(), weights_cov=params.cov.tolist())
        else:
            columns = self._columns(active)
            doc.update(weights=params.mean[columns].tolist(),
                       weights_cov=params.cov[np.ix_(columns, columns)].tolist())
        doc.update(relevant=[int(j) for j in params.index[active]], alpha=params.alpha[active].tolist(),
                   beta=params.beta)
        if self.basis == "rbf":
            doc["relevance_vectors"] = params.centres[active].tolist()
        return doc

    def from_json(self, doc: dict, n_features: int) -> RVMParams:
        linear_basis = self.basis == "linear"
        relevant = indices(doc, "relevant", n_features if linear_basis else None)
        alpha = check_shape(float_array(doc, "alpha"), relevant.shape, "params.alpha")
        if np.any(alpha <= 0):
            raise ModelFileError("params.alpha: must be positive")
        m = self.intercept + (n_features if linear_basis else len(relevant))
        mean = check_shape(float_array(doc, "weights"), (m,), "params.weights")
        cov = linear.covariance(doc, "weights_cov", m)
        beta = linear.positive_scalar(doc, "beta")
        if linear_basis:
            full = np.full(n_features, np.inf)
            full[relevant] = alpha
            pruned = self.intercept + np.flatnonzero(~np.isfinite(full))
            if np.any(mean[pruned] != 0) or np.any(cov[pruned] != 0):
                raise ModelFileError("params.weights: a feature not in params.relevant has a nonzero "
                                     "weight or variance")
            self.n_basis = n_features
            return RVMParams(full, beta, mean, cov, None, np.arange(n_features))
        centres = check_shape(float_array(doc, "relevance_vectors"), (len(relevant), n_features),
                              "params.relevance_vectors")
        if self.gamma is None:
            self.gamma = 1.0 / n_features
        self.n_basis = len(relevant)
        return RVMParams(alpha, beta, mean, cov, centres, relevant)
