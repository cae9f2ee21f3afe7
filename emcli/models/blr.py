"""Bayesian linear regression: the target is a linear function of the features plus Gaussian
noise, y = w'x + b + noise with noise ~ N(0, 1/beta), under a Gaussian prior w ~ N(0, I/alpha)
on the feature weights.  The weight precision alpha (a ridge penalty) and the noise precision
beta are not guessed nor cross-validated: they maximise the evidence, the probability of the
targets with the weights integrated out (Bishop, PRML 3.5).

Fitting is EM with the weights as the latent variable (PRML 9.3.4).  The E-step is the weights'
posterior N(m, S), S = (alpha I + beta Phi'Phi)^-1, m = beta S Phi'y, where Phi is the design
matrix (a column of ones for the intercept, then the features); the M-step sets alpha = P /
(|m_w|^2 + tr S_w) over the P feature weights w (m_w, S_w: their part of m and S) and beta =
N / (|y - Phi m|^2 + tr(Phi'Phi S)).  Each iteration needs only Phi'Phi, Phi'y and y'y,
summed once over the rows, and never lowers the log evidence, the objective in the trace.  At
convergence alpha and beta satisfy MacKay's fixed-point equations: with gamma = M - alpha tr
S_w, the number of well-determined weights among all M (the intercept counts as one), alpha =
(gamma - 1) / |m_w|^2 (gamma / |m_w|^2 without an intercept) and beta = (N - gamma) /
|y - Phi m|^2.

The intercept b has a flat prior and is not penalised by alpha, so that shifting the target or
a feature by a constant moves only the intercept and the fit does not depend on where the
data's origin lies; --no-intercept drops it (then y = w'x exactly through the origin).  A flat
intercept is equivalent to centring the features and the target, with the one degree of
freedom the centring uses accounted for: scikit-learn's BayesianRidge(fit_intercept=True)
centres but counts N rather than N - 1 residual degrees of freedom, so its beta is slightly
larger (by about (N - gamma) / (N - 1 - gamma)); without an intercept the two agree.

Options: --no-intercept.  Model file: params.weights, the posterior mean of the weights
(weights[0] is the intercept unless --no-intercept, then one weight per feature column in the
order of "columns"), params.weights_cov their posterior covariance, params.alpha and
params.beta; fit.log_evidence and its trace.  predict writes prediction, the posterior mean
m'phi(x), and prediction_std, the predictive standard deviation sqrt(1/beta + phi' S phi),
which includes both the noise and the uncertainty of the weights.
"""

from dataclasses import dataclass

import numpy as np

from emcli.em.chunks import accumulate, chunk_rows
from emcli.em.protocol import Describing, Diagnosing, RowOutputs, SelfStarting, WholeScore
from emcli.em.stats import Stats
from emcli.models import linear
from emcli.models.params import check_shape, float_array
from emcli.numeric import column_moments


@dataclass
class BLRParams:
    """Precisions alpha (weights) and beta (noise); the weights' posterior mean (M,) and
    covariance (M, M) at them, intercept first when there is one."""

    alpha: float
    beta: float
    mean: np.ndarray
    cov: np.ndarray


class BayesianLinearRegression(SelfStarting, WholeScore, RowOutputs, Describing, Diagnosing):
    name = "blr"
    objective = "log_evidence"
    k = 1

    def __init__(self, intercept: bool = True):
        self.intercept = linear.check_intercept(intercept)
        self.shift = None
        self.offset = 0.0
        self.max_beta = None  # the noise precision's cap (linear.noise_cap), set in prepare

    def options(self) -> dict:
        return {"intercept": self.intercept}

    # -- data ----------------------------------------------------------------------------------

    def prepare(self, data: np.ndarray) -> None:
        """Reference point of the statistics: the features' and target's means with an
        intercept (which absorbs the shift), the origin without.  ``data`` is (N, D + 1):
        the features, then the target."""
        linear.check_target(data[:, -1], self.intercept)
        self.max_beta = linear.noise_cap(data[:, -1], self.intercept)
        self.shift = np.zeros(data.shape[1] - 1 + self.intercept)
        self.offset = 0.0
        if self.intercept:
            means = column_moments(data)[0]
            self.shift[1:], self.offset = means[:-1], float(means[-1])

    def _design(self, X: np.ndarray) -> np.ndarray:
        return linear.design(X, self.intercept)

    def _penalised(self, m: int) -> np.ndarray:
        """(M,) which weights have the N(0, 1/alpha) prior: all but the intercept."""
        penalised = np.ones(m, dtype=bool)
        penalised[0] = not self.intercept
        return penalised

    def _params(self, stats: Stats, alpha: float, beta: float) -> BLRParams:
        penalised = self._penalised(len(stats["moment"]))
        post = linear.Posterior(stats, np.where(penalised, alpha, 0.0), beta)
        mean, cov = linear.uncentre(post.mean, post.cov, self.shift, self.offset)
        return BLRParams(alpha, beta, mean, cov)

    def init_params(self, data: np.ndarray, method: str, rng: np.random.Generator) -> BLRParams:
        """A deterministic start: the log evidence can have several maxima in alpha, so EM
        climbs from a start at every decade of ``linear.start_alphas`` (beta from
        ``linear.initial_precisions``) on the summed statistics, which do not depend on the
        parameters (no pass over the data), and the highest maximum reached is the start."""
        stats, _ = accumulate(lambda block: self.e_step(None, block), data,
                              chunk_rows(self, data.shape[1]))
        penalised = self._penalised(len(stats["moment"]))
        _, beta = linear.initial_precisions(stats, penalised)
        starts = [self._params(stats, float(alpha), beta) for alpha in linear.start_alphas(stats, penalised)]
        return linear.best_climb(starts, lambda params: self.m_step(stats, params),
                                 lambda params: self.total_score(stats, params))

    # -- EM ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8 * 2 * (n_features + 1)

    def e_step(self, params, data: np.ndarray) -> tuple[Stats, float]:
        """Phi'Phi, Phi'y, y'y and n of the rows (about the reference point); they do not depend
        on ``params``.  The score is the log evidence, which does not split over rows: see
        ``total_score``."""
        Phi = self._design(data[:, :-1]) - self.shift
        return linear.block_stats(Phi, data[:, -1] - self.offset), 0.0

    def total_score(self, stats: Stats, params: BLRParams) -> float:
        """Log evidence log p(y | alpha, beta) of the summed statistics."""
        penalised = self._penalised(len(stats["moment"]))
        return linear.Posterior(stats, np.where(penalised, params.alpha, 0.0), params.beta).log_evidence

    def m_step(self, stats: Stats, previous: BLRParams) -> BLRParams:
        """E-step proper (the posterior at the previous alpha, beta), then alpha and beta."""
        penalised = self._penalised(len(stats["moment"]))
        post = linear.Posterior(stats, np.where(penalised, previous.alpha, 0.0), previous.beta)
        weights = post.mean[penalised]
        alpha = penalised.sum() / (weights @ weights + np.trace(post.cov[np.ix_(penalised, penalised)]))
        beta = min(linear.noise_precision(stats, post), self.max_beta)
        return self._params(stats, float(alpha), beta)

    # -- use -----------------------------------------------------------------------------------

    def row_outputs(self, params: BLRParams, X: np.ndarray) -> dict:
        """prediction and prediction_std (N,) for the (N, D) feature rows ``X``."""
        prediction, std = linear.predictive(self._design(X), params.mean, params.cov, params.beta)
        return {"prediction": prediction, "prediction_std": std}

    def flat_components(self, params: BLRParams) -> list[int]:
        """[0] when the noise precision is at its cap (the features fit the target exactly)."""
        return linear.noise_diagnosis(params.beta, self.max_beta)[0]

    def diagnose(self, params: BLRParams, n_samples: int) -> list[str]:
        return linear.noise_diagnosis(params.beta, self.max_beta)[1]

    def describe(self, params: BLRParams, columns: list) -> list[str]:
        """One line on the fit for --verbose: the precisions as standard deviations and gamma,
        the number of well-determined weights."""
        penalised = self._penalised(len(params.mean))
        gamma = len(params.mean) - params.alpha * np.trace(params.cov[np.ix_(penalised, penalised)])
        return [f"blr: prior sd of the weights {params.alpha ** -0.5:.4g}, noise sd "
                f"{params.beta ** -0.5:.4g}, {gamma:.2f} well-determined weights of {len(params.mean)}"]

    # -- bookkeeping ---------------------------------------------------------------------------

    def n_parameters(self, params: BLRParams) -> int:
        """The weights and the two precisions."""
        return len(params.mean) + 2

    def to_json(self, params: BLRParams) -> dict:
        return {"weights": params.mean.tolist(), "weights_cov": params.cov.tolist(),
                "alpha": params.alpha, "beta": params.beta}

    def from_json(self, doc: dict, n_features: int) -> BLRParams:
        m = n_features + self.intercept
        mean = check_shape(float_array(doc, "weights"), (m,), "params.weights")
        cov = linear.covariance(doc, "weights_cov", m)
        return BLRParams(linear.positive_scalar(doc, "alpha"), linear.positive_scalar(doc, "beta"), mean, cov)
