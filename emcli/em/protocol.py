"""What the engine and the commands ask of a model: one required protocol, ``Model``, and the
optional capabilities a model declares by naming them as base classes (and, by the same
names, in its registry entry, which ``tests/test_contract.py`` holds to the class).

A capability is asked for with ``has(model, Prior)``: a nominal test of the declaration, never
a probe for a method, so a model cannot acquire a capability by accident or carry a stub to
satisfy a driver.  The engine knows no model by name; it knows these protocols.

Shapes: X is an (N, D) float64 block of rows; K is the number of components.
"""

from typing import Any, ClassVar, Protocol

import numpy as np

from emcli.em.stats import Stats

Params = Any


class Model(Protocol):
    """What every model implements.

    ``prepare`` is the one place where a model takes settings from the training rows (the
    reference point of its statistics, a covariance floor, a target's scale); the engine calls
    it once at the start of each fit, before any statistics are computed.
    """

    name: ClassVar[str]
    #: what ``e_step``'s score is: "log_likelihood", "log_posterior" (a MAP fit), "log_evidence"
    #: (hyperparameters by marginal likelihood), "elbo" (a variational fit's bound: the trace's
    #: score, not the E-step's) or "inertia" (minus the score)
    objective: str
    k: int

    def prepare(self, X: np.ndarray) -> None:
        """Fix data-scale settings from the (N, D) training rows."""

    def e_step(self, params: Params, X: np.ndarray) -> tuple[Stats, float]:
        """Expected sufficient statistics of the block ``X`` and its score (higher is better)."""

    def m_step(self, stats: Stats, previous: Params) -> Params:
        """Parameters maximising the expected complete-data objective given summed ``stats``."""

    def workspace_bytes_per_row(self, n_features: int) -> int:
        """Scratch memory the E-step needs per row, to size chunks in bytes."""

    def n_parameters(self, params: Params) -> int:
        """Free parameters, for BIC and AIC."""

    def to_json(self, params: Params) -> dict:
        """Parameters as plain JSON values (lists of floats)."""

    def from_json(self, doc: dict, n_features: int) -> Params:
        """Parameters from ``to_json`` output; raises ModelFileError naming a bad field."""

    def options(self) -> dict:
        """The model's options as stored in the model file."""


# -- how a fit starts (a model has exactly one of these) ------------------------------------------


class Seeded(Protocol):
    """Started from K centres chosen among the rows (``emcli.em.init``), then one hard
    assignment of every row to its nearest centre."""

    #: the start method when none is asked for
    default_init: ClassVar[str] = "k-means++"

    def params_from_centres(self, centres: np.ndarray) -> Params:
        """Parameters whose components sit at the (K, D) ``centres``."""

    def assign_stats(self, params: Params, X: np.ndarray) -> Stats:
        """Statistics of ``X`` when each row belongs wholly to its nearest component."""


class SelfStarting(Protocol):
    """Chooses its own start (regression models, whose rows are features then a target)."""

    default_init: ClassVar[str] = "k-means++"

    def init_params(self, X: np.ndarray, method: str, rng: np.random.Generator) -> Params:
        """Starting parameters for the (N, D + 1) rows."""


# -- what the engine uses when a model has it ------------------------------------------------------


class ShortRuns(Protocol):
    """Started from the best of several short EM runs, each from a seeding whose distances are
    measured in the model's unit-free ``frame`` (a (D, D) map set in ``prepare``, None for the
    rows as they are); see emcli.em.start."""

    frame: np.ndarray | None


class Reseeding(Protocol):
    """Components that can empty or collapse, and be restarted."""

    def degenerate(self, params: Params, stats: Stats) -> list[tuple[int, str]]:
        """Components that emptied or collapsed, with the reason, e.g. [(2, "empty")]."""

    def reseed(self, params: Params, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> Params:
        """``params`` with the given components restarted from random rows of ``X``."""


class Prior(Protocol):
    """A prior density on the parameters: the score is the log posterior (MAP)."""

    def log_prior(self, params: Params) -> float:
        """log p(params); 0 when the model was built without a prior."""


class WholeScore(Protocol):
    """An objective that does not split over rows (the log evidence of a Bayesian linear
    model): computed from the summed statistics."""

    def total_score(self, stats: Stats, params: Params) -> float:
        """The data term of the score for the summed ``stats``."""


class Posterior(Protocol):
    """Posterior probabilities of the components (soft assignments)."""

    def responsibilities(self, params: Params, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) posterior probabilities and the (N,) log densities of the rows."""

    def log_joint(self, params: Params, X: np.ndarray) -> np.ndarray:
        """(N, K) log p(x_n, z_n = k)."""

    def expected_stats(self, params: Params, X: np.ndarray, resp: np.ndarray) -> Stats:
        """Statistics of ``X`` under any (N, K) responsibilities ``resp``."""


class Vector(Protocol):
    """An unconstrained parameter vector and the gradient of the log-likelihood in it."""

    def to_vector(self, params: Params) -> np.ndarray:
        """(P,) the parameters in unconstrained coordinates."""

    def from_vector(self, vector: np.ndarray, like: Params) -> Params:
        """Parameters from a (P,) vector, shaped as ``like``."""

    def score_gradient(self, params: Params, stats: Stats) -> np.ndarray:
        """(P,) gradient of the log-likelihood at ``params`` (Fisher's identity, from ``stats``)."""


class ConditionalSteps(Protocol):
    """An M-step split into conditional maximisations (ECM, ECME); see ``emcli.em.ecm``."""

    cm_groups: tuple

    def cm_steps(self, stats: Stats, previous: Params) -> Params:
        """The first CM-step, on Q over the first group with the others fixed."""

    def cm_q_step(self, stats: Stats, params: Params) -> Params:
        """The second group maximised on Q (ECM)."""

    def cm_likelihood_step(self, params: Params, X: np.ndarray, rows: int) -> Params:
        """The second group maximised on the observed likelihood (ECME)."""

    def cm_trace(self, params: Params) -> dict:
        """Trace columns of the groups' values."""


class Variational(Protocol):
    """Variational Bayes (``--algorithm variational``, emcli.em.variational): conjugate priors on
    the parameters and a factorised posterior q over them, updated from the E-step's statistics
    under the expected parameters of q.  ``post`` below is q's hyperparameters."""

    def variational_prior(self, weight_prior: str):
        """The prior (the weights' "dirichlet" or stick-breaking "process"), from the model's
        options and its prepared data; the model is fit variationally from then on."""

    def variational_update(self, prior, stats: Stats):
        """q's hyperparameters from summed ``stats``."""

    def expected_params(self, post) -> Params:
        """Parameters whose ``e_step`` computes, per row, log sum_k exp E_q[log p(x, z = k)] and
        the statistics of the responsibilities proportional to its terms."""

    def kl_divergence(self, prior, post) -> float:
        """KL(q || prior), which the bound subtracts from the E-step's sum."""

    def variational_params(self, post, counts: np.ndarray, prune: float) -> Params:
        """The fit's parameters: q, its point summaries, and which components are live (an
        expected share of the rows, ``counts`` (K,) / N, of at least ``prune``)."""

    def live_components(self, params: Params) -> list[int]:
        """The components the data support (every one, for parameters not fit variationally):
        those ``predict`` writes probabilities for."""


# -- what commands use ----------------------------------------------------------------------------


class Missing(Protocol):
    """Fits rows with missing (NaN) cells, treating them as hidden values.  No method: the
    E-step handles them."""


class Conditionals(Protocol):
    """The distribution of a row's missing cells given its observed ones (``emtool impute``)."""

    def conditionals(self, params: Params, X: np.ndarray) -> tuple[np.ndarray, list]:
        """(N, K) log joint of the observed cells and, per component, their conditional."""


class Sampling(Protocol):
    """A generative model (``emtool sample``)."""

    def sample(self, params: Params, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n, D) rows drawn from the model and the (n,) components they came from (a model
        with HiddenNodes: the (n, H) states of its hidden nodes)."""


class HiddenNodes(Protocol):
    """Named hidden variables, each with states of its own (a Bayesian network's hidden nodes),
    rather than one component index: ``emtool predict`` writes each one's most probable state,
    ``impute`` fills missing cells from their posterior."""

    def hidden_names(self) -> list[str]:
        """The hidden nodes' names, the order of ``posteriors`` and of ``sample``'s states."""

    def posteriors(self, params: Params, X: np.ndarray) -> tuple[list, list, np.ndarray]:
        """Given each row's observed cells: per hidden node its (N, K_h) posterior, per column of
        ``X`` its (N, L_j) distribution (certain where observed), and the (N,) log densities of
        the observed cells."""


class HardLabels(Protocol):
    """Hard assignments without probabilities (k-means, k-medoids)."""

    def labels(self, params: Params, X: np.ndarray) -> np.ndarray:
        """(N,) the component of each row."""


class Centres(Protocol):
    """Components with a centre in the data's space."""

    def centres(self, params: Params) -> np.ndarray:
        """(K, D) the components' centres (means, medoids)."""


class RowOutputs(Protocol):
    """Per-row outputs of its own that ``emtool predict`` appends."""

    def row_outputs(self, params: Params, X: np.ndarray) -> dict:
        """Named (N,) columns for the rows ``X``."""


class Diagnosing(Protocol):
    """Degenerate fits: a component (or a regression's noise) resting on a floor or a bound,
    where the likelihood is bounded only by that floor, as on repeated values.  Such a fit is
    not to be trusted or compared: a restart without one wins over it, select-k screens it, and
    fit warns (fails, with --strict) and records it in the model file."""

    def diagnose(self, params: Params, n_samples: int) -> list[str]:
        """One message per problem of a fit to ``n_samples`` rows."""

    def flat_components(self, params: Params) -> list[int]:
        """The degenerate components (0 for a regression's noise); empty for a sound fit."""


class Describing(Protocol):
    """Notes describing a finished fit (which features a regression kept)."""

    def describe(self, params: Params, columns: list) -> list[str]:
        """Lines for --verbose."""


class Levelled(Protocol):
    """Columns coded as levels (categories, or a two-valued target); the levels are given at
    construction (``levels=``) or read with the parameters, and kept in the model file."""

    levels: list | None


class Streaming(Protocol):
    """Rows that stepwise EM may stream from a file, block by block, rather than load.  No
    method: a numeric model with no target whose ``prepare`` needs only the first minibatch."""


#: the capabilities by the names the registry gives them
CAPABILITIES = {
    "seeded": Seeded, "self_starting": SelfStarting, "reseeding": Reseeding, "prior": Prior,
    "whole_score": WholeScore, "posterior": Posterior, "vector": Vector, "ecm": ConditionalSteps,
    "variational": Variational, "missing": Missing, "conditionals": Conditionals, "sampling": Sampling,
    "hard_labels": HardLabels, "centres": Centres, "row_outputs": RowOutputs,
    "diagnosing": Diagnosing, "describing": Describing, "levels": Levelled, "streaming": Streaming,
    "short_runs": ShortRuns, "hidden_nodes": HiddenNodes,
}


def has(model, capability: type) -> bool:
    """Whether ``model`` declares ``capability`` (one of the protocols above) among its bases,
    and has not withheld it (``model.withheld``: the capabilities an instance cannot offer with
    its options, such as a constrained covariance form's unconstrained vector)."""
    return capability in type(model).__mro__ and capability not in getattr(model, "withheld", ())


def declared(model_class: type) -> set:
    """The names of the capabilities ``model_class`` declares."""
    return {name for name, protocol in CAPABILITIES.items() if protocol in model_class.__mro__}


def log_prior(model, params) -> float:
    """The log prior density of ``params``, 0 for a model without a prior."""
    return model.log_prior(params) if has(model, Prior) else 0.0


def data_term(model, stats: Stats, params, summed: float) -> float:
    """The data term of the score: ``summed`` over the E-step's blocks, or, for a model whose
    objective does not split over rows, computed from the summed ``stats``."""
    return model.total_score(stats, params) if has(model, WholeScore) else summed
