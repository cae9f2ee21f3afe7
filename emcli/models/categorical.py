"""Latent class analysis: a mixture of K classes, each drawing every column independently from
its own categorical distribution over the column's levels (text, integers or booleans), fit by
EM.

The levels are each column's distinct values in the training data, kept in the model file;
predict rejects a level the model never saw, or with --unseen missing treats it as a missing
cell.  Missing cells drop out of the likelihood: a row counts through its observed cells.  Each
start puts a class at a row chosen by k-means++ (or at random), with half of each column's
probability on that row's level and half spread evenly.  By maximum likelihood, a level no row
of a class shows gets probability machine epsilon rather than 0, so new rows always get a
finite log density; a class that empties is re-seeded at a random row (an event in the trace).
With --prior default the fit is MAP under symmetric Dirichlet priors on the weights (alpha) and
on every class's level probabilities (beta); the defaults alpha = beta = 2 add one pseudo-row
per class and level and can be set with --prior-param alpha=VALUE (beta; each at least 1).

With --algorithm variational the fit is variational Bayes: a posterior q over the weights and
the level probabilities rather than one value of them, under a Dirichlet(beta) prior on every
class's probabilities in each column and a Dirichlet(alpha) prior on the weights (or, with
--weight-prior process, a Dirichlet process truncated at K by stick-breaking).  K is then an
upper bound: classes the data do not support empty, and only the live ones (an expected share
of the rows of at least --prune) get probabilities from predict.  The defaults are beta = 1,
the uniform prior, whose posterior mean (c + 1) / (C + L) is the MAP default's estimate, and
alpha = 1/K, a prior worth one row in all that lets unsupported classes empty; --prior-param
alpha=, beta= take any value > 0.  Missing cells drop out as in EM.  The model file keeps q
(params.posterior) and its point summaries: the weights E[pi_k] and the probabilities E[theta],
the posterior predictive of a new row, which predict and sample use.  The score is the evidence
lower bound (elbo).

The E-step one-hot encodes a chunk's level codes into an (N, sum_j L_j) matrix, a missing cell
as a run of zeros, so that one GEMM with the (K, sum_j L_j) log probabilities gives every
log p(x_n | k); the variational E-step takes E_q[log theta] in their place.
"""

from dataclasses import dataclass, field

import numpy as np

from emcli.em.protocol import (Diagnosing, Levelled, Missing, Posterior, Prior, Reseeding, Sampling, Seeded,
                               Variational)
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError
from emcli.models import discrete_variational as dv, variational_fit
from emcli.models.params import check_k, check_weights, float_array
from emcli.models.priors import (dirichlet_log_density, given_hyperparameters, hyperparameters, map_pseudo_counts,
                                 require_mode, require_stored_mode)
from emcli.models.variational import expected_log_weights, expected_weights
from emcli.numeric import normalize_log_rows

#: Maximum likelihood gives a level no component row shows the probability 0, whose log would
#: turn the E-step's GEMM into NaN (0 * -inf) and give new rows a density of 0; flooring the
#: probabilities at machine epsilon keeps the logs finite and moves the likelihood by about
#: N * FLOOR.
FLOOR = float(np.finfo(np.float64).eps)

#: Dirichlet(2) on the weights and on each component's level probabilities: one pseudo-row per
#: component and level, the categorical form of the Bernoulli mixture's Beta(2, 2) (a
#: two-level column gets exactly its prior), the weakest integer prior whose mode stays inside
#: the simplex.
DEFAULT_PRIOR = {"alpha": 2.0, "beta": 2.0}
#: a variational fit's default pseudo-count per level (alpha is 1/K): Dirichlet(1) is uniform,
#: and its posterior mean (c + 1) / (C + L) is the MAP default's estimate, as bernoulli's.
#: Jeffreys' Dirichlet(1/2) predicts sparse tables a little better, but keeps spurious classes:
#: on 3 classes with Dirichlet(0.3) tables (12 columns of 5 levels, 10% missing, K = 10, 3
#: restarts, 20 data sets of 150 rows) it left exactly 3 live classes in 16 fits, the uniform
#: prior in 20 (held-out log density -10.970 per row against -11.050; on 1,500 rows both 20).
VARIATIONAL_BETA = 1.0

_JSON_LEVEL = (str, int, bool)


@dataclass
class CategoricalParams:
    """weights (K,) and ``tables``: per column j, (K, L_j) level probabilities, rows summing to
    one; for a variational fit, q (a ``variational_fit.Fit``), of which they are E[pi]
    and E[theta]."""

    weights: np.ndarray
    tables: list
    variational: object = field(default=None, kw_only=True)

    def joined(self) -> np.ndarray:
        """(K, sum_j L_j) the tables side by side."""
        return np.concatenate(self.tables, axis=1)

    def logs(self) -> tuple[np.ndarray, np.ndarray]:
        """(K,) log weights and (K, sum_j L_j) log probabilities: what the E-step takes."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights), np.log(self.joined())


@dataclass
class ExpectedLogs:
    """The variational E-step's parameters: (K,) E_q[log pi_k] and (K, sum_j L_j)
    E_q[log theta_kjl], the tables side by side.  Their exponentials are no probabilities
    (they sum to less than 1), which is why the E-step takes logs."""

    log_weights: np.ndarray
    log_tables: np.ndarray

    def logs(self) -> tuple[np.ndarray, np.ndarray]:
        return self.log_weights, self.log_tables


class CategoricalMixture(Seeded, Reseeding, Prior, Posterior, Missing, Sampling, Levelled, Diagnosing, Variational):
    name = "categorical"

    def __init__(self, k: int = 1, prior: str = "none", prior_params: dict | None = None,
                 levels: list | None = None):
        self.k = check_k(k)
        self.prior = prior
        self.hyper = hyperparameters(prior, prior_params, DEFAULT_PRIOR)
        #: the hyperparameters given, which a variational fit takes over its own defaults
        self.given = given_hyperparameters(prior, prior_params, list(DEFAULT_PRIOR))
        #: the prior's hyperparameters once fit (or read) as variational Bayes, else None
        self.variational_hyper = None
        #: per column, its levels (JSON values): those the table's columns were coded with, or
        #: the codes 0..max (``prepare``), or those of the model file (``from_json``)
        self.levels = [list(column) for column in levels] if levels is not None else None

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

    @property
    def sizes(self) -> np.ndarray:
        """(D,) number of levels per column."""
        return np.array([len(levels) for levels in self.levels], dtype=np.int64)

    def prepare(self, X: np.ndarray) -> None:
        """Takes the levels to be the codes 0..max when none were set (an array's), and checks
        that every observed cell is a code of its column's levels (the number of rows is kept
        for ``flat_components``)."""
        self.n_rows = len(X)
        if self.levels is None:
            top = np.where(np.isnan(X), -1.0, X).max(axis=0)
            self.levels = [list(range(max(int(t) + 1, 0))) for t in top]
        if len(self.levels) != X.shape[1]:
            raise DataError(f"the model has levels for {len(self.levels)} columns, the data has {X.shape[1]}")
        # rows held in partitions were coded by their readers with these levels
        bad = (np.argwhere(~np.isnan(X) & ((X != np.round(X)) | (X < 0) | (X >= self.sizes)))
               if isinstance(X, np.ndarray) else ())
        if len(bad):
            row, column = bad[0]
            raise DataError(f"column {column + 1} row {row + 1} of the data is {X[row, column]:g}, "
                            f"not a level code 0..{self.sizes[column] - 1}")
        few = np.flatnonzero(self.sizes < 2)
        if few.size:
            raise DataError(f"column {few[0] + 1} of the data has fewer than 2 levels; "
                            "categorical needs at least two")

    # -- encoding ----------------------------------------------------------------------------------

    def _one_hot(self, X: np.ndarray) -> np.ndarray:
        """(N, sum_j L_j) indicators of the (N, D) codes; a cell that is not a level code (NaN,
        or the column mean that fills a missing cell for the start) is all zeros."""
        sizes = self.sizes
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        valid = (X == np.round(X)) & (X >= 0) & (X < sizes)
        rows, columns = np.nonzero(valid)
        out = np.zeros((len(X), int(sizes.sum())))
        out[rows, offsets[columns] + X[rows, columns].astype(np.int64)] = 1.0
        return out

    def _split(self, joined: np.ndarray) -> list:
        """Per column, the (K, L_j) block of a (K, sum_j L_j) array."""
        return np.split(joined, np.cumsum(self.sizes)[:-1], axis=1)

    # -- initialisation --------------------------------------------------------------------------

    def params_from_centres(self, centres: np.ndarray) -> CategoricalParams:
        """Level probabilities half uniform, half on the level of each (K, D) centre row (codes
        rounded and clipped to the column's range; a missing centre cell gives the uniform):
        peaked on the centre yet never degenerate.  For two levels this is 0.75 / 0.25, the
        Bernoulli mixture's start."""
        k = len(centres)
        codes = np.clip(np.round(centres), 0, self.sizes - 1)
        peaks = self._split(0.5 * self._one_hot(codes))
        tables = [peak + np.where(np.isnan(codes[:, [j]]), 1.0, 0.5) / size
                  for j, (peak, size) in enumerate(zip(peaks, self.sizes))]
        return CategoricalParams(np.full(k, 1.0 / k), tables)

    def assign_stats(self, params: CategoricalParams, X: np.ndarray) -> Stats:
        """Each row wholly to its most probable component."""
        one_hot = self._one_hot(X)
        log_joint = self._log_joint(params, one_hot)
        resp = np.zeros_like(log_joint)
        resp[np.arange(len(X)), log_joint.argmax(axis=1)] = 1.0
        return self._stats(one_hot, resp)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        return 8 * (int(self.sizes.sum()) + 2 * self.k + 1)

    @staticmethod
    def _log_joint(params: CategoricalParams | ExpectedLogs, one_hot: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) over the observed cells of the one-hot rows (N, sum L);
        under ``ExpectedLogs``, E_q of it."""
        log_weights, log_tables = params.logs()
        log_joint = one_hot @ log_tables.T
        log_joint += log_weights
        return log_joint

    @staticmethod
    def _stats(one_hot: np.ndarray, resp: np.ndarray) -> Stats:
        """n (K,) responsibility per component and counts (K, sum L) its responsibility-weighted
        level counts."""
        return Stats(n=resp.sum(axis=0), counts=resp.T @ one_hot)

    def e_step(self, params: CategoricalParams, X: np.ndarray) -> tuple[Stats, float]:
        one_hot = self._one_hot(X)
        log_joint = self._log_joint(params, one_hot)
        row_ll = normalize_log_rows(log_joint)
        return self._stats(one_hot, log_joint), float(row_ll.sum())

    def log_joint(self, params: CategoricalParams, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k) over each row's observed cells."""
        return self._log_joint(params, self._one_hot(X))

    def expected_stats(self, params: CategoricalParams, X: np.ndarray, resp: np.ndarray) -> Stats:
        """Statistics of the rows ``X`` under any (N, K) responsibilities ``resp``."""
        return self._stats(self._one_hot(X), resp)

    def responsibilities(self, params: CategoricalParams, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities of the components and (N,) log probabilities of the
        rows' observed cells.  For a variational fit, those of the posterior predictive (the
        mixture of the point parameters E[pi], E[theta]: exact for one row, as q factorises),
        the probabilities of the live components only."""
        log_joint = self._log_joint(params, self._one_hot(X))
        if params.variational is not None:
            return variational_fit.live_responsibilities(log_joint, params.variational.live)
        return log_joint, normalize_log_rows(log_joint)

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: CategoricalParams) -> CategoricalParams:
        """Weights (n_k + alpha - 1) / (N + K (alpha - 1)) and level probabilities
        (c_kl + beta - 1) / (C_k + L_j (beta - 1)) from the counts c of the rows observed in
        each column (alpha = beta = 1 without a prior: the MLE).  A component with no observed
        cells in a column (and nothing from the prior) keeps its table there."""
        n_k = stats["n"]
        # pseudo-counts the prior adds: rows per component, and rows per level (none for the MLE)
        rows, per_level = map_pseudo_counts(self.hyper, ("alpha", "beta"))
        weights = (n_k + rows) / (n_k.sum() + self.k * rows)
        tiny = 10 * np.finfo(float).eps * n_k.sum()
        tables = []
        for counts, old in zip(self._split(stats["counts"] + per_level), previous.tables):
            total = counts.sum(axis=1)
            alive = total > tiny
            table = old.copy()
            table[alive] = np.maximum(counts[alive] / total[alive, None], FLOOR)
            tables.append(table / table.sum(axis=1, keepdims=True))
        return CategoricalParams(weights, tables)

    def log_prior(self, params: CategoricalParams) -> float:
        """Log density of the Dirichlet priors at ``params`` (0 without a prior): the MAP fit's
        score, so the place that refuses a MAP prior without a mode (a value below 1, which
        only a variational fit takes; every other algorithm scores its start)."""
        if not self.hyper:
            return 0.0
        require_mode(self.hyper)
        return (dirichlet_log_density(params.weights, self.hyper["alpha"])
                + sum(dirichlet_log_density(table, self.hyper["beta"]) for table in params.tables))

    def flat_components(self, params: CategoricalParams) -> list[int]:
        """Classes spent on a few copies of one row: in every column one level has all the
        probability but bernoulli.PATTERN_TOL, while they hold fewer rows than their free
        parameters (as for bernoulli).  Under a prior (MAP or variational), none."""
        from emcli.models.bernoulli import PATTERN_TOL

        if self.hyper or params.variational is not None:
            return []
        single = np.all([table.max(axis=1) >= 1.0 - PATTERN_TOL for table in params.tables], axis=0)
        free = sum(table.shape[1] - 1 for table in params.tables)
        single &= params.weights * getattr(self, "n_rows", np.inf) < free
        return [int(k) for k in np.flatnonzero(single)]

    def diagnose(self, params: CategoricalParams, n_samples: int) -> list[str]:
        from emcli.models.bernoulli import pattern_warning

        return [pattern_warning(k) for k in self.flat_components(params)]

    def degenerate(self, params: CategoricalParams, stats: Stats) -> list[tuple[int, str]]:
        """Components holding less than one row's worth of responsibility.  Nothing can collapse:
        a discrete likelihood is bounded."""
        return [(int(k), "empty") for k in np.flatnonzero(stats["n"] < 1.0)]

    def reseed(self, params: CategoricalParams, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> CategoricalParams:
        fresh = self.params_from_centres(X[rng.integers(len(X), size=len(components))])
        weights = params.weights.copy()
        weights[components] = 1.0 / self.k
        tables = [table.copy() for table in params.tables]
        for table, new in zip(tables, fresh.tables):
            table[components] = new
        return CategoricalParams(weights / weights.sum(), tables)

    def sample(self, params: CategoricalParams, n: int, rng: np.random.Generator):
        """(n, D) level codes drawn from the mixture (a variational fit's posterior predictive,
        the mixture of E[pi] and E[theta]) and the (n,) components they came from."""
        components = rng.choice(self.k, size=n, p=params.weights)
        X = np.empty((n, len(params.tables)))
        for j, table in enumerate(params.tables):
            cumulative = np.cumsum(table, axis=1)[components]
            u = rng.random(n)[:, None] * cumulative[:, -1:]
            X[:, j] = np.minimum((u >= cumulative).sum(axis=1), table.shape[1] - 1)
        return X, components

    # -- variational Bayes (emcli.models.discrete_variational, driven by emcli.em.variational) --

    def variational_prior(self, weight_prior: str) -> dv.Prior:
        """Dirichlet(beta) on every class's probabilities in each column and Dirichlet(alpha)
        (or stick-breaking) weights: the values given with --prior-param, else beta =
        VARIATIONAL_BETA and alpha = 1/K."""
        process = variational_fit.process(weight_prior)
        hyper = self.variational_hyper = self._variational_hyper()
        return dv.Prior(hyper["alpha"], process, [np.array(hyper["beta"])] * len(self.sizes))

    def _variational_hyper(self) -> dict:
        return {"alpha": 1.0 / self.k, "beta": VARIATIONAL_BETA, **self.given}

    def variational_update(self, prior: dv.Prior, stats: Stats) -> dv.Posterior:
        """Dirichlet(beta + c_kj) per class and column, from the level counts c of the rows
        observed there."""
        return dv.update(prior, stats["n"], self._split(stats["counts"]))

    def expected_params(self, post: dv.Posterior) -> ExpectedLogs:
        return ExpectedLogs(expected_log_weights(post),
                            np.concatenate([dv.expected_log(block) for block in post.blocks], axis=1))

    def kl_divergence(self, prior: dv.Prior, post: dv.Posterior) -> float:
        return dv.kl_divergence(prior, post)

    def variational_params(self, post: dv.Posterior, counts: np.ndarray, prune: float) -> CategoricalParams:
        """Weights E[pi] and probabilities E[theta] = c / sum c, floored at FLOOR as maximum
        likelihood's are (only a prior of pseudo-counts near 0 brings them so close to 0)."""
        tables = [np.maximum(dv.expected_value(block), FLOOR) for block in post.blocks]
        tables = [table / table.sum(axis=1, keepdims=True) for table in tables]
        return CategoricalParams(expected_weights(post), tables, variational=variational_fit.Fit(post, counts, prune))

    def live_components(self, params: CategoricalParams) -> list[int]:
        return variational_fit.live_components(params)

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: CategoricalParams) -> int:
        """Free parameters of K classes (of the live ones, for a variational fit)."""
        k = len(self.live_components(params))
        return (k - 1) + k * sum(table.shape[1] - 1 for table in params.tables)

    def to_json(self, params: CategoricalParams) -> dict:
        doc = {"weights": params.weights.tolist(), "levels": [list(levels) for levels in self.levels],
               "probabilities": [table.tolist() for table in params.tables]}
        if params.variational is not None:
            doc["posterior"] = variational_fit.to_json(params.variational, {
                "concentration": [block.tolist() for block in params.variational.posterior.blocks]})
        return doc

    def from_json(self, doc: dict, n_features: int) -> CategoricalParams:
        """Parameters, and the columns' levels (stored in ``self.levels``); for a variational
        fit q (``params.posterior``: the weights' concentrations and, per column, the (K, L_j)
        Dirichlet ``concentration``), whose point summaries the weights and probabilities must
        be.  A MAP fit's prior must have a mode."""
        weights = check_weights(doc, "weights", self.k)
        levels = doc.get("levels")
        if not isinstance(levels, list) or len(levels) != n_features:
            raise ModelFileError(f"params.levels: expected a list of {n_features} lists of levels")
        for j, column in enumerate(levels):
            kinds = {type(level) for level in column} if isinstance(column, list) else set()
            if len(kinds) != 1 or not kinds <= set(_JSON_LEVEL) or len(column) < 2 or len(set(column)) != len(column):
                raise ModelFileError(f"params.levels[{j}]: expected at least 2 distinct levels, "
                                     "all text, all integers or all booleans")
        tables_doc = doc.get("probabilities")
        if not isinstance(tables_doc, list) or len(tables_doc) != n_features:
            raise ModelFileError(f"params.probabilities: expected a list of {n_features} tables")
        tables = []
        for j, (table_doc, column) in enumerate(zip(tables_doc, levels)):
            field = f"probabilities[{j}]"
            table = float_array({field: table_doc}, field)
            if table.shape != (self.k, len(column)):
                raise ModelFileError(f"params.{field}: expected shape {(self.k, len(column))} "
                                     f"(components, levels), found {table.shape}")
            if np.any(table <= 0) or np.any(np.abs(table.sum(axis=1) - 1.0) > 1e-9):
                raise ModelFileError(f"params.{field}: every row must be positive and sum to 1")
            tables.append(table)
        self.levels = [list(column) for column in levels]
        if "posterior" not in doc:
            require_stored_mode(self.hyper)
            return CategoricalParams(weights, tables)
        fit = variational_fit.from_json(doc["posterior"], self.k,
                                        lambda post, weights: dv.Posterior(weights, self._read_concentrations(post)))
        params = self.variational_params(fit.posterior, fit.counts, fit.prune)
        dv.check_point(weights, params.weights, "params.weights", "E[pi]")
        for j, (table, expected) in enumerate(zip(tables, params.tables)):
            dv.check_point(table, expected, f"params.probabilities[{j}]", "E[theta] = c / sum c")
        self.variational_hyper = self._variational_hyper()
        return params

    def _read_concentrations(self, post: dict) -> list:
        """The (K, L_j) Dirichlet concentrations of ``params.posterior.concentration``, one per
        column, every one > 0."""
        blocks = post.get("concentration")
        if not isinstance(blocks, list) or len(blocks) != len(self.levels):
            raise ModelFileError(f"{variational_fit.FIELD}concentration: expected a list of {len(self.levels)} tables")
        return [variational_fit.read_array({f"concentration[{j}]": block}, f"concentration[{j}]", (self.k, len(levels)))
                for j, (block, levels) in enumerate(zip(blocks, self.levels))]
