"""Mixture of multivariate Bernoullis: K weighted components, each making every binary column
independently 1 with its own probability (its mean), fit by EM.

Each start puts a component at a row chosen by k-means++ (or at random), with means 0.25 or 0.75
so that the first E-step is soft; components with equal means would never separate.  By maximum
likelihood, a mean can reach 0 or 1 when a component's rows agree on a column; it is clipped to
machine epsilon from the edge, so new rows always get a finite log density.  A component that
empties is re-seeded at a random row (an event in the trace).  With --prior default the fit is
MAP under a Beta(a, b) prior on every mean and a Dirichlet(alpha) prior on the weights.  The
defaults a = b = 2 add one pseudo-row of each value per component and column (Laplace's rule of
succession), alpha = 2 one pseudo-row per component; set them with --prior-param a=VALUE (b,
alpha; each at least 1).

With --algorithm variational the fit is variational Bayes: a posterior q over the weights and
means rather than one value of them, under a Beta(a, b) prior on every mean and a
Dirichlet(alpha) prior on the weights (or, with --weight-prior process, a Dirichlet process
truncated at K by stick-breaking).  K is then an upper bound: components the data do not
support empty, and only the live ones (an expected share of the rows of at least --prune) get
probabilities from predict.  The defaults are a = b = 1, the uniform prior, whose posterior mean
(s + 1) / (n + 2) is Laplace's rule, the MAP default's estimate, and alpha = 1/K, a prior worth
one row in all that lets unsupported components empty; --prior-param a=, b=, alpha= take any
value > 0.  The model file keeps q (params.posterior) and its point summaries: the weights
E[pi_k] and the means E[theta_kd] = a_kd / (a_kd + b_kd), the posterior predictive of a new
row, which predict and sample use.  The score is the evidence lower bound (elbo).

The E-step is one GEMM per chunk:  log p(x | k) = x . logit(mu_k) + sum_d log(1 - mu_kd); the
variational one is the same with E_q[log theta_kd] and E_q[log(1 - theta_kd)] in place of the
logs of the means.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.special import betaln, xlogy

from emcli.em.protocol import Diagnosing, Posterior, Prior, Reseeding, Sampling, Seeded, Variational
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError
from emcli.models import discrete_variational as dv, variational_fit
from emcli.models.params import check_k, check_shape, check_weights, float_array
from emcli.models.priors import (dirichlet_log_density, given_hyperparameters, hyperparameters, map_pseudo_counts,
                                 require_mode, require_stored_mode)
from emcli.models.variational import expected_log_weights, expected_weights
from emcli.numeric import normalize_log_rows

#: The smallest probability p with 1 - p < 1 in float64.  Maximum likelihood puts a mean at
#: exactly 0 or 1 as soon as a component's rows agree on a column, and log 0 would turn the next
#: E-step's GEMM into NaN (0 * -inf) and give new rows a density of 0; clipping the means to
#: [FLOOR, 1 - FLOOR] keeps both logs finite and moves the likelihood by about N * FLOOR.  EM
#: stays monotone: the clipped mean is the maximiser of the concave M-step objective over that
#: interval, where the previous means also lie.
FLOOR = float(np.finfo(np.float64).eps)
#: a component whose every probability is this close to 0 or 1 is one row pattern
PATTERN_TOL = 1e-3

#: Beta(2, 2) on each mean makes its mode Laplace's rule of succession (s + 1) / (n + 2), worth
#: two pseudo-rows per component and column; Dirichlet(2) on the weights adds one pseudo-row to
#: each component.  Both are the weakest integer priors whose modes stay inside (0, 1), and are
#: negligible beside components of dozens of rows.
DEFAULT_PRIOR = {"a": 2.0, "b": 2.0, "alpha": 2.0}
#: a variational fit's defaults (alpha is 1/K): Beta(1, 1) is uniform, and its posterior mean
#: (s + 1) / (n + 2), the predictive probability of a 1, is the MAP default's estimate
#: (Laplace's rule).  Jeffreys' Beta(1/2, 1/2), the other classic weak choice, trusts a few
#: rows more, and a mixture's spurious components are a few rows: on three well-separated
#: components (D = 20, means 0.1 or 0.9, K = 10, 3 restarts, 20 data sets of 150 rows) the
#: uniform prior left exactly 3 live components in 20 fits, Jeffreys' in 11, with a lower
#: held-out log density (-7.634 per row against -7.593); on 1,500 rows both found 3 in 20.
VARIATIONAL_PRIOR = {"a": 1.0, "b": 1.0}


def pattern_warning(k: int) -> str:
    """The warning for a component that is a single row pattern (bernoulli, categorical)."""
    return (f"component {k} is a single row pattern held by fewer rows than its parameters (every "
            "probability at 0 or 1), on the boundary where BIC's count of them does not hold; try "
            "--prior default or fewer components")


@dataclass
class BernoulliParams:
    """weights (K,) and means (K, D): each component's probability of a 1 in each column; for a
    variational fit, q (a ``variational_fit.Fit``), of which they are E[pi] and E[theta]."""

    weights: np.ndarray
    means: np.ndarray
    variational: object = field(default=None, kw_only=True)

    def logs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K,) log weights, (K, D) log means and log(1 - means): what the E-step takes."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights), np.log(self.means), np.log1p(-self.means)


@dataclass
class ExpectedLogs:
    """The variational E-step's parameters: (K,) E_q[log pi_k], (K, D) E_q[log theta_kd] and
    E_q[log(1 - theta_kd)].  Their exponentials are no probabilities (they sum to less than 1),
    which is why the E-step takes logs."""

    log_weights: np.ndarray
    log_on: np.ndarray
    log_off: np.ndarray

    def logs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.log_weights, self.log_on, self.log_off


class BernoulliMixture(Seeded, Reseeding, Prior, Posterior, Sampling, Diagnosing, Variational):
    name = "bernoulli"

    def __init__(self, k: int = 1, prior: str = "none", prior_params: dict | None = None):
        self.k = check_k(k)
        self.prior = prior
        self.hyper = hyperparameters(prior, prior_params, DEFAULT_PRIOR)
        #: the hyperparameters given, which a variational fit takes over its own defaults
        self.given = given_hyperparameters(prior, prior_params, list(DEFAULT_PRIOR))
        #: the prior's hyperparameters once fit (or read) as variational Bayes, else None
        self.variational_hyper = None

    @property
    def objective(self) -> str:
        if self.variational_hyper is not None:
            return "elbo"
        return "log_posterior" if self.hyper else "log_likelihood"

    def options(self) -> dict:
        """Options as stored in the model file; with a prior, every hyperparameter used (a
        variational fit always has one)."""
        if self.variational_hyper is not None:
            return {"k": self.k, "prior": "default", "prior_params": dict(self.variational_hyper)}
        return {"k": self.k, "prior": self.prior, "prior_params": dict(self.hyper)}

    def prepare(self, X: np.ndarray) -> None:
        """Checks that every cell is 0 or 1 (rows on a cluster were checked as each part was
        read); a Bernoulli mixture has no data-scale setting (the number of rows is kept for
        ``flat_components``)."""
        self.n_rows = len(X)
        if not isinstance(X, np.ndarray):
            return  # rows held on a cluster: each part's reader coded its cells as 0/1
        bad = np.argwhere((X != 0) & (X != 1))
        if bad.size:
            row, column = bad[0]
            raise DataError(f"column {column + 1} row {row + 1} of the data is {X[row, column]:g}; "
                            "bernoulli needs 0/1 values and no missing cells")

    # -- initialisation --------------------------------------------------------------------------

    def params_from_centres(self, centres: np.ndarray) -> BernoulliParams:
        """Means 0.25 + 0.5 * centre: leaning towards each (K, D) centre row but strictly inside
        (0, 1), so the first E-step is soft; distinct rows give distinct means, which EM needs
        (components with equal means get equal responsibilities and never separate)."""
        k = len(centres)
        return BernoulliParams(np.full(k, 1.0 / k), 0.25 + 0.5 * np.clip(centres, 0.0, 1.0))

    def assign_stats(self, params: BernoulliParams, X: np.ndarray) -> Stats:
        """Each row wholly to its most probable component (for the start's means, the nearest
        in Hamming distance)."""
        log_joint = self._log_joint(params, X)
        resp = np.zeros_like(log_joint)
        resp[np.arange(len(X)), log_joint.argmax(axis=1)] = 1.0
        return self._stats(X, resp)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8 * (2 * self.k + 1)

    def _log_joint(self, params: BernoulliParams | ExpectedLogs, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) for 0/1 rows X (N, D); under ``ExpectedLogs``, E_q of it."""
        log_weights, log_on, log_off = params.logs()
        log_joint = X @ (log_on - log_off).T
        log_joint += log_off.sum(axis=1) + log_weights
        return log_joint

    @staticmethod
    def _stats(X: np.ndarray, resp: np.ndarray) -> Stats:
        """n (K,) responsibility per component and s (K, D) its responsibility-weighted ones."""
        return Stats(n=resp.sum(axis=0), s=resp.T @ X)

    def e_step(self, params: BernoulliParams, X: np.ndarray) -> tuple[Stats, float]:
        log_joint = self._log_joint(params, X)
        row_ll = normalize_log_rows(log_joint)
        return self._stats(X, log_joint), float(row_ll.sum())

    def log_joint(self, params: BernoulliParams, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k)."""
        return self._log_joint(params, X)

    def expected_stats(self, params: BernoulliParams, X: np.ndarray, resp: np.ndarray) -> Stats:
        """Statistics of the rows ``X`` under any (N, K) responsibilities ``resp``."""
        return self._stats(X, resp)

    def responsibilities(self, params: BernoulliParams, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities of the components and (N,) log probabilities of the
        rows.  For a variational fit, those of the posterior predictive (the mixture of the
        point parameters E[pi], E[theta]: exact for one row, as q factorises), the
        probabilities of the live components only."""
        log_joint = self._log_joint(params, X)
        if params.variational is not None:
            return variational_fit.live_responsibilities(log_joint, params.variational.live)
        return log_joint, normalize_log_rows(log_joint)

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: BernoulliParams) -> BernoulliParams:
        """Weighted means (MLE) or the posterior modes (s + a - 1) / (n + a + b - 2) and
        weights (n_k + alpha - 1) / (N + K (alpha - 1)).  A component with no rows (and, under
        a prior, nothing to add) keeps its means until ``degenerate`` re-seeds it."""
        n_k, s = stats["n"], stats["s"]
        # pseudo-counts the prior adds: ones, zeros and rows per component (none for the MLE)
        ones, zeros, rows = map_pseudo_counts(self.hyper, ("a", "b", "alpha"))
        weights = (n_k + rows) / (n_k.sum() + self.k * rows)
        count = n_k + ones + zeros
        alive = count > 10 * np.finfo(float).eps * n_k.sum()
        means = previous.means.copy()
        means[alive] = (s[alive] + ones) / count[alive, None]
        return BernoulliParams(weights, np.clip(means, FLOOR, 1.0 - FLOOR))

    def log_prior(self, params: BernoulliParams) -> float:
        """Log density of the Beta and Dirichlet priors at ``params`` (0 without a prior): the
        MAP fit's score, so the place that refuses a MAP prior without a mode (a value below 1,
        which only a variational fit takes; every other algorithm scores its start)."""
        if not self.hyper:
            return 0.0
        require_mode(self.hyper)
        a, b = self.hyper["a"], self.hyper["b"]
        means = params.means
        beta = (xlogy(a - 1.0, means) + xlogy(b - 1.0, 1.0 - means)).sum() - means.size * betaln(a, b)
        return float(beta) + dirichlet_log_density(params.weights, self.hyper["alpha"])

    def flat_components(self, params: BernoulliParams) -> list[int]:
        """Components spent on a few copies of one row: every mean within PATTERN_TOL of 0 or 1
        (EM approaches the edge geometrically and stops on the way) while they hold fewer
        rows than their D means.  A discrete likelihood is bounded, and a class of many
        identical rows is a real cluster; but one fit to fewer rows than it has parameters
        buys their likelihood with parameters on the boundary, where BIC's count of them does
        not hold.  Under a prior (MAP or variational), none."""
        if self.hyper or params.variational is not None:
            return []
        edge = np.minimum(params.means, 1.0 - params.means) <= PATTERN_TOL
        few = params.weights * getattr(self, "n_rows", np.inf) < params.means.shape[1]
        return [int(k) for k in np.flatnonzero(edge.all(axis=1) & few)]

    def diagnose(self, params: BernoulliParams, n_samples: int) -> list[str]:
        return [pattern_warning(k) for k in self.flat_components(params)]

    def degenerate(self, params: BernoulliParams, stats: Stats) -> list[tuple[int, str]]:
        """Components holding less than one row's worth of responsibility.  Nothing can collapse:
        a discrete likelihood is bounded."""
        return [(int(k), "empty") for k in np.flatnonzero(stats["n"] < 1.0)]

    def reseed(self, params: BernoulliParams, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> BernoulliParams:
        fresh = self.params_from_centres(X[rng.integers(len(X), size=len(components))])
        weights, means = params.weights.copy(), params.means.copy()
        means[components] = fresh.means
        weights[components] = 1.0 / self.k
        return BernoulliParams(weights / weights.sum(), means)

    def sample(self, params: BernoulliParams, n: int, rng: np.random.Generator):
        """(n, D) 0/1 rows drawn from the mixture (a variational fit's posterior predictive, the
        mixture of E[pi] and E[theta]) and the (n,) components they came from."""
        components = rng.choice(self.k, size=n, p=params.weights)
        X = (rng.random((n, params.means.shape[1])) < params.means[components]).astype(np.float64)
        return X, components

    # -- variational Bayes (emcli.models.discrete_variational, driven by emcli.em.variational) --

    def variational_prior(self, weight_prior: str) -> dv.Prior:
        """Beta(a, b) on every mean and Dirichlet(alpha) (or stick-breaking) weights: the
        values given with --prior-param, else VARIATIONAL_PRIOR and alpha = 1/K."""
        process = variational_fit.process(weight_prior)
        hyper = self.variational_hyper = self._variational_hyper()
        return dv.Prior(hyper["alpha"], process, [np.array([hyper["a"], hyper["b"]])])

    def _variational_hyper(self) -> dict:
        return {"alpha": 1.0 / self.k, **VARIATIONAL_PRIOR, **self.given}

    def variational_update(self, prior: dv.Prior, stats: Stats) -> dv.Posterior:
        """Beta(a + s_kd, b + n_k - s_kd) per mean; n_k - s_kd is >= 0 but for round-off."""
        n, s = stats["n"], stats["s"]
        return dv.update(prior, n, [np.stack([s, np.maximum(n[:, None] - s, 0.0)], axis=-1)])

    def expected_params(self, post: dv.Posterior) -> ExpectedLogs:
        logs = dv.expected_log(post.blocks[0])
        return ExpectedLogs(expected_log_weights(post), logs[..., 0], logs[..., 1])

    def kl_divergence(self, prior: dv.Prior, post: dv.Posterior) -> float:
        return dv.kl_divergence(prior, post)

    def variational_params(self, post: dv.Posterior, counts: np.ndarray, prune: float) -> BernoulliParams:
        """Weights E[pi] and means E[theta] = a / (a + b), kept FLOOR from 0 and 1 as maximum
        likelihood's are (only a prior of pseudo-counts near 0 brings them so close)."""
        means = np.clip(dv.expected_value(post.blocks[0])[..., 0], FLOOR, 1.0 - FLOOR)
        return BernoulliParams(expected_weights(post), means, variational=variational_fit.Fit(post, counts, prune))

    def live_components(self, params: BernoulliParams) -> list[int]:
        return variational_fit.live_components(params)

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: BernoulliParams) -> int:
        """Free parameters of K components (of the live ones, for a variational fit)."""
        k, d = len(self.live_components(params)), params.means.shape[1]
        return (k - 1) + k * d

    def to_json(self, params: BernoulliParams) -> dict:
        doc = {"weights": params.weights.tolist(), "means": params.means.tolist()}
        if params.variational is not None:
            beta = params.variational.posterior.blocks[0]
            doc["posterior"] = variational_fit.to_json(params.variational, {"a": beta[..., 0].tolist(),
                                                               "b": beta[..., 1].tolist()})
        return doc

    def from_json(self, doc: dict, n_features: int) -> BernoulliParams:
        """Parameters, and for a variational fit q (``params.posterior``: the weights'
        concentrations and the (K, D) Beta parameters ``a`` and ``b``), whose point summaries
        the weights and means must be.  A MAP fit's prior must have a mode."""
        weights = check_weights(doc, "weights", self.k)
        means = check_shape(float_array(doc, "means"), (self.k, n_features), "params.means")
        if np.any(means <= 0.0) or np.any(means >= 1.0):
            raise ModelFileError("params.means: every mean must lie strictly between 0 and 1")
        if "posterior" not in doc:
            require_stored_mode(self.hyper)
            return BernoulliParams(weights, means)
        shape = (self.k, n_features)
        def read_posterior(post: dict, weights: np.ndarray) -> dv.Posterior:
            a, b = (variational_fit.read_array(post, name, shape) for name in ("a", "b"))
            return dv.Posterior(weights, [np.stack([a, b], axis=-1)])

        fit = variational_fit.from_json(doc["posterior"], self.k, read_posterior)
        params = self.variational_params(fit.posterior, fit.counts, fit.prune)
        dv.check_point(weights, params.weights, "params.weights", "E[pi]")
        dv.check_point(means, params.means, "params.means", "E[theta] = a / (a + b)")
        self.variational_hyper = self._variational_hyper()
        return params
