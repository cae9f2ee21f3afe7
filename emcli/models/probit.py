"""Binary probit regression, fit by EM with a latent Gaussian utility (Albert & Chib 1993;
McLachlan & Krishnan, The EM Algorithm and Extensions).

Each row has a hidden utility z = b + x'w + e, e ~ N(0, 1), and its target is the second label
when z > 0, so P(second label | x) = Phi(b + x'w), Phi the standard normal distribution function.
The target may be 0/1, true/false or any two values; the labels are kept in the model file and
the second in sorted order is the one whose probability is modelled.  The weights w have a
N(0, tau^2 I) prior (--prior-scale tau, default 10) and the fit is the posterior mode; the
intercept b has a flat prior (it is not penalised), so shifting a feature column only shifts b.
--no-intercept drops b, and then every weight has the prior.

The E-step replaces each utility by its mean given the row's label, a truncated normal:
E[z] = mu + phi(mu) / Phi(mu) for the second label and mu - phi(mu) / Phi(-mu) for the first,
mu = b + x'w (the ratios are computed through erfcx, finite however far a row lies from the
boundary).  The M-step is a ridge regression of these means on the features,
(b, w) = (F'F + P)^-1 F'E[z], F the features with a column of ones and P = diag(0, 1/tau^2 ...).
The fit starts from zero weights, so the first M-step is a ridge regression of +-0.8 on the
features; the log posterior is concave, so there is one optimum and --init and --restarts
change nothing.  Each iteration raises the log posterior, sum log Phi(+-mu) + log N(w; 0,
tau^2 I); the model file records it as fit.log_posterior, beside the log-likelihood.

EM converges linearly here, at a rate set by the fraction of missing information: how much of
a utility's unit variance its label leaves unexplained.  A row far on its own side of the
boundary says little about its utility, so the better the classes separate, the nearer the rate
is to 1.  Near the optimum the log-posterior gap shrinks by a constant factor per iteration: on
500 rows with two features, 0.63 when the true boundary classifies 76% of the rows correctly (22
iterations at the default --tol) and 0.975 when it classifies 91% (227 iterations).  EM stops
when an iteration gains less than --tol per row, and at a rate r the gap left is about
r / (1 - r) times that gain: on the second data set the default --tol leaves the weights about
0.07 from the optimum (0.003 on the first).  Each tenfold decrease of --tol takes them about 3
times closer (--tol 1e-10: within 1e-3, in 594 iterations); raise --max-iter when the fit warns
that it did not converge.

Outputs of ``emtool predict``: p_1, the probability of the second label, and prediction, the
more probable label.
"""

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve
from scipy.special import erfcx, log_ndtr, ndtr

from emcli.em.protocol import Levelled, Prior, RowOutputs, SelfStarting
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.params import check_magnitude, check_shape, float_array
from emcli.numeric import column_moments

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


def inverse_mills(t: np.ndarray) -> np.ndarray:
    """phi(t) / Phi(t) for (N,) ``t``, finite for every t.

    Phi(t) = erfcx(-t / sqrt 2) exp(-t^2 / 2) / 2 cancels the Gaussian factor of phi(t) exactly,
    so the ratio neither overflows (t << 0, where it tends to -t) nor divides 0 by 0.
    """
    return _SQRT_2_OVER_PI / erfcx(-t / np.sqrt(2.0))


@dataclass
class ProbitParams:
    """weights (D,) of the feature columns and the intercept (0 without one)."""

    weights: np.ndarray
    intercept: float


class ProbitRegression(SelfStarting, Prior, RowOutputs, Levelled):
    name = "probit"
    objective = "log_posterior"
    k = 1

    def __init__(self, intercept: bool = True, prior_scale: float = 10.0, levels: list | None = None):
        if not isinstance(intercept, (bool, np.bool_)):
            raise UsageError(f"intercept must be true or false, got {intercept!r}")
        if isinstance(prior_scale, bool) or not isinstance(prior_scale, (int, float)) \
                or not 0 < prior_scale < np.inf:
            raise UsageError(f"--prior-scale must be a positive finite number, got {prior_scale!r}")
        self.intercept = bool(intercept)
        self.prior_scale = float(prior_scale)
        #: the target's two original labels, coded 0 and 1 (read from the model file's params)
        self.levels = list(levels) if levels is not None else [0, 1]
        self.center = 0.0

    def options(self) -> dict:
        return {"intercept": self.intercept, "prior_scale": self.prior_scale}

    # -- data and start ----------------------------------------------------------------------------

    def prepare(self, data: np.ndarray) -> None:
        """Check the 0/1 target of the (N, D + 1) rows and, with an intercept, centre the
        features on their means: the unpenalised intercept absorbs the shift, so the fit is the
        same and F'F stays well conditioned on columns far from 0."""
        y = data[:, -1]
        if not np.isin(y, (0.0, 1.0)).all() or y.min() == y.max():
            raise DataError("probit needs a target coded 0/1 that takes both values")
        self.center = column_moments(data[:, :-1])[0] if self.intercept else 0.0

    def init_params(self, data: np.ndarray, method: str, rng: np.random.Generator) -> ProbitParams:
        """Zero weights whatever the method: the log posterior is concave, so every start
        reaches the same optimum and a random one would only cost iterations."""
        return ProbitParams(np.zeros(data.shape[1] - 1), 0.0)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8 * (2 * n_features + 8)

    def _design(self, X: np.ndarray) -> np.ndarray:
        """(N, P) design matrix: the centred features, after a column of ones with an intercept."""
        Xc = X - self.center
        return np.column_stack([np.ones(len(X)), Xc]) if self.intercept else Xc

    def _centred(self, params: ProbitParams) -> np.ndarray:
        """(P,) coefficients of ``_design``'s columns."""
        if not self.intercept:
            return params.weights
        return np.concatenate([[params.intercept + params.weights @ self.center], params.weights])

    def e_step(self, params: ProbitParams, data: np.ndarray) -> tuple[Stats, float]:
        """Stats of the (N, D + 1) rows [features | 0/1 target]: gram F'F (P, P), moment
        F'E[z] (P,) and n; and the block's log-likelihood sum log Phi(+-mu)."""
        F = self._design(data[:, :-1])
        sign = 2.0 * data[:, -1] - 1.0
        mu = F @ self._centred(params)
        signed = sign * mu
        expected = mu + sign * inverse_mills(signed)
        stats = Stats(gram=F.T @ F, moment=F.T @ expected, n=len(data))
        return stats, float(log_ndtr(signed).sum())

    # -- M-step ------------------------------------------------------------------------------------

    def _penalty(self, size: int) -> np.ndarray:
        """(P,) prior precisions of the coefficients: 0 for the intercept, 1/tau^2 otherwise."""
        penalty = np.full(size, self.prior_scale ** -2)
        if self.intercept:
            penalty[0] = 0.0
        return penalty

    def m_step(self, stats: Stats, previous: ProbitParams) -> ProbitParams:
        gram = stats["gram"]
        coef = solve(gram + np.diag(self._penalty(len(gram))), stats["moment"], assume_a="pos")
        if not self.intercept:
            return ProbitParams(coef, 0.0)
        weights = coef[1:]
        return ProbitParams(weights, float(coef[0] - weights @ self.center))

    def log_prior(self, params: ProbitParams) -> float:
        """log N(w; 0, tau^2 I) over the feature weights (the intercept's prior is flat)."""
        w, tau = params.weights, self.prior_scale
        return float(-0.5 * (w @ w) / tau**2 - w.size * (np.log(tau) + 0.5 * np.log(2 * np.pi)))

    # -- predict -----------------------------------------------------------------------------------

    def row_outputs(self, params: ProbitParams, data: np.ndarray) -> dict:
        """p_1 (N,), the probability of the second label, and prediction (N,), the more probable
        label, for (N, D) feature rows."""
        mu = data @ params.weights + params.intercept
        return {"p_1": ndtr(mu), "prediction": np.asarray(self.levels)[(mu > 0).astype(int)]}

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: ProbitParams) -> int:
        return params.weights.size + self.intercept

    def to_json(self, params: ProbitParams) -> dict:
        doc = {"weights": params.weights.tolist()}
        if self.intercept:
            doc["intercept"] = float(params.intercept)
        doc["labels"] = list(self.levels)
        return doc

    def from_json(self, doc: dict, n_features: int) -> ProbitParams:
        """Parameters for ``n_features`` feature columns; restores the labels."""
        weights = check_magnitude(float_array(doc, "weights"), "params.weights")
        if weights.ndim != 1 or weights.size != n_features:
            raise ModelFileError(f"params.weights: expected one weight per feature column "
                                 f"({n_features}), found shape {weights.shape}")
        intercept = float(check_magnitude(check_shape(float_array(doc, "intercept"), (), "params.intercept"),
                                          "params.intercept")) if self.intercept else 0.0
        labels = doc.get("labels")
        if labels is None:
            raise ModelFileError("params.labels: missing")
        if not (isinstance(labels, list) and len(labels) == 2
                and all(isinstance(v, (str, int, float, bool)) for v in labels)
                and not any(isinstance(v, int) and not -2**63 <= v < 2**63 for v in labels)
                and labels[0] != labels[1]):
            raise ModelFileError("params.labels: expected two distinct labels (text, numbers or booleans)")
        self.levels = list(labels)
        return ProbitParams(weights, intercept)
