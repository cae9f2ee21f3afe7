"""The model registry.  Entries are plain metadata, so that ``emtool models`` and ``--help`` stay
fast; a model's module is imported only when the model is used.

Each entry names the capabilities its class declares (``emcli.em.protocol``: the class lists
the protocols as its bases, and the contract tests hold the two to each other), so that a
command can ask what a model can do without importing it."""

import importlib
from dataclasses import dataclass

from emcli.errors import UsageError


_FLAGS = {"k": "-k", "prior_params": "--prior-param", "intercept": "--no-intercept"}
#: options a command sets from others, never given as a flag
DERIVED_OPTIONS = ("observed",)

#: the Gaussian covariance structures (gmm, student, tmix)
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: a Gaussian mixture's covariance forms (emcli.models.forms), mclust's names in its order
FORMS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
#: the four structures are forms too
FORM_OF = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
#: every name --covariance takes (gmm takes them all)
COVARIANCE_NAMES = (*FORM_OF, *FORMS)


def covariance_names(covariances: tuple) -> dict:
    """Each --covariance name a model whose own names are ``covariances`` (a ModelSpec's)
    takes, to the name it means: the four structures' names and the forms for gmm; for a
    model of the four structures (student, tmix), also the structures' forms (VVV: full)."""
    names = {name: name for name in (*FORM_OF, *covariances)}
    if covariances == COVARIANCE_TYPES:
        names.update({form: name for name, form in FORM_OF.items()})
    return names


@dataclass(frozen=True)
class ModelSpec:
    name: str
    target: str            # "module:Class"
    kind: str
    summary: str
    needs: str
    options: tuple         # names of the model's own fit options (constructor arguments)
    outputs: tuple         # columns ``predict`` can append
    capabilities: tuple    # the protocols its class declares (see emcli.em.protocol.CAPABILITIES)
    data: str = "numeric"  # how columns become rows: "numeric", "binary" or "categorical"
    when: str = ""         # when to choose it
    target_kind: str = ""  # regression models: the target's kind, "numeric" or "binary"
    algorithms: tuple = ("batch",)  # the --algorithm values it takes (see emcli.em.algorithms)
    min_rows: int = 1      # fewest rows it can be fit to (besides one per component)
    needs_variation: bool = False  # whether a constant column is an error (a density needs spread)
    variational_priors: tuple = ()  # --prior-param names only --algorithm variational takes
    covariances: tuple = ()  # the --covariance values select-k's "all" searches, if it takes one

    def has(self, capability: str) -> bool:
        """Whether the model declares ``capability`` (a name of emcli.em.protocol.CAPABILITIES)."""
        return capability in self.capabilities

    @property
    def missing(self) -> bool:
        """Whether it fits rows with missing cells."""
        return self.has("missing")

    @property
    def generative(self) -> bool:
        """Whether ``emtool sample`` can draw from it."""
        return self.has("sampling")

    def flags(self) -> list:
        """The model's own options as command-line flags."""
        return [_FLAGS.get(name, "--" + name.replace("_", "-")) for name in self.options
                if name not in DERIVED_OPTIONS]

    def load(self):
        module, cls = self.target.split(":")
        return getattr(importlib.import_module(module), cls)


DENSITY_OUTPUTS = ("cluster", "p_<k>", "logpdf")
#: the algorithms of every model with posterior responsibilities (see emcli.em.algorithms)
MIXTURE_ALGORITHMS = ("batch", "incremental", "stepwise", "annealed", "stochastic", "mcem", "saem")

MODELS = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="gmm", target="emcli.models.gmm:GaussianMixture", kind="clustering, density",
            summary="Gaussian mixture, maximum likelihood, MAP (--prior default) or variational Bayes",
            needs="numeric columns, no constant column, at least 2 rows; missing cells are "
                  "fit as hidden values",
            options=("k", "covariance", "reg_covar", "prior", "prior_params"), covariances=FORMS,
            outputs=DENSITY_OUTPUTS,
            when="elliptical clusters of numeric data; --prior default for few rows or many columns",
            algorithms=MIXTURE_ALGORITHMS + ("overrelaxed", "gradient", "hybrid", "variational"),
            capabilities=("seeded", "reseeding", "prior", "posterior", "vector", "missing", "conditionals",
                          "sampling", "centres", "diagnosing", "streaming", "short_runs", "variational"),
            min_rows=2, needs_variation=True, variational_priors=("alpha",),
        ),
        ModelSpec(
            name="kmeans", target="emcli.models.kmeans:KMeans", kind="clustering",
            summary="k-means (Lloyd), the hard-assignment limit of a Gaussian mixture",
            needs="numeric columns, no missing values",
            options=("k",), outputs=("cluster",),
            when="fast, compact, similar-sized clusters when no probabilities are needed",
            algorithms=("batch", "incremental", "stepwise"),
            capabilities=("seeded", "reseeding", "hard_labels", "centres", "streaming"),
        ),
        ModelSpec(
            name="kmedoids", target="emcli.models.kmedoids:KMedoids", kind="clustering",
            summary="k-medoids: centres are data rows, under any scipy.spatial.distance metric",
            needs="numeric columns, no missing values",
            options=("k", "metric"), outputs=("cluster",),
            when="a dissimilarity other than squared Euclidean (--metric cityblock, cosine, ...), "
                 "robustness to outliers, or centres that must be real rows",
            capabilities=("seeded", "reseeding", "hard_labels", "centres"),
        ),
        ModelSpec(
            name="bernoulli", target="emcli.models.bernoulli:BernoulliMixture",
            kind="clustering, density",
            summary="mixture of multivariate Bernoullis, maximum likelihood, MAP (--prior) or variational Bayes",
            needs="binary columns (0/1 or true/false), no missing values",
            options=("k", "prior", "prior_params"), outputs=DENSITY_OUTPUTS,
            data="binary",
            when="presence/absence or yes/no data, such as binarised images or survey answers",
            algorithms=MIXTURE_ALGORITHMS + ("variational",),
            capabilities=("seeded", "reseeding", "prior", "posterior", "sampling", "diagnosing", "variational"),
        ),
        ModelSpec(
            name="categorical", target="emcli.models.categorical:CategoricalMixture",
            kind="clustering, density",
            summary="latent class analysis: a mixture of independent categoricals",
            needs="columns of levels (text, integers or booleans), each with at least 2 levels; "
                  "missing cells are ignored",
            options=("k", "prior", "prior_params"), outputs=DENSITY_OUTPUTS,
            data="categorical",
            when="unordered categorical answers (questionnaires, diagnoses, product choices)",
            algorithms=MIXTURE_ALGORITHMS + ("variational",),
            capabilities=("seeded", "reseeding", "prior", "posterior", "missing", "sampling", "levels", "diagnosing",
                          "variational"),
        ),
        ModelSpec(
            name="bn", target="emcli.models.bn:BayesianNetwork", kind="clustering, density",
            summary="discrete Bayesian network with hidden nodes (a DAG of conditional probability tables)",
            needs="--structure (edges between columns and --hidden nodes) over columns of levels; "
                  "missing cells are fit as hidden values",
            options=("structure", "hidden", "observed", "k", "prior", "prior_params"),
            outputs=("<hidden>", "p_<hidden>_<k>", "logpdf"),
            data="categorical",
            when="categorical data with a known dependence structure: hidden causes over several "
                 "answers, hierarchies of them, answers that depend on each other",
            algorithms=("batch", "incremental", "stepwise"),
            capabilities=("self_starting", "prior", "missing", "sampling", "levels", "hidden_nodes"),
        ),
        ModelSpec(
            name="student", target="emcli.models.student:StudentT", kind="density, outliers",
            summary="one multivariate Student-t, fit by EM as a Gaussian scale mixture",
            needs="numeric columns, no missing values, no constant column, at least 2 rows",
            options=("covariance", "reg_covar", "dof"), outputs=("weight", "logpdf"), covariances=COVARIANCE_TYPES,
                        when="a robust location and scatter, and an outlier score per row (weight)",
            algorithms=MIXTURE_ALGORITHMS + ("ecm", "ecme"),
            capabilities=("seeded", "reseeding", "posterior", "ecm", "sampling", "row_outputs", "streaming",
                          "short_runs", "diagnosing"),
            min_rows=2, needs_variation=True,
        ),
        ModelSpec(
            name="tmix", target="emcli.models.student:StudentMixture",
            kind="clustering, density, outliers",
            summary="mixture of Student-t distributions (degrees of freedom estimated by ECM, or fixed)",
            needs="numeric columns, no missing values, no constant column, at least 2 rows",
            options=("k", "covariance", "reg_covar", "dof", "shared_dof"), covariances=COVARIANCE_TYPES,
            outputs=("cluster", "p_<k>", "logpdf", "weight"),
            when="clusters with heavy tails or gross outliers, which would pull a gmm's components",
            algorithms=MIXTURE_ALGORITHMS + ("ecm", "ecme"),
            capabilities=("seeded", "reseeding", "posterior", "ecm", "sampling", "row_outputs", "streaming",
                          "short_runs", "diagnosing"),
            min_rows=2, needs_variation=True,
        ),
        ModelSpec(
            name="experts", target="emcli.models.experts:MixtureOfExperts",
            kind="regression", target_kind="numeric",
            summary="mixture of K linear-Gaussian experts with softmax gating on the inputs",
            needs="numeric features and a numeric --target, no missing values",
            options=("k", "intercept"),
            outputs=("prediction", "prediction_std", "mode", "expert"),
            when="a target that follows different linear laws in different regions, or an "
                 "inverse problem where y given x has several branches (use the mode)",
            capabilities=("self_starting", "reseeding", "row_outputs", "diagnosing"),
            min_rows=2,
        ),
        ModelSpec(
            name="blr", target="emcli.models.blr:BayesianLinearRegression",
            kind="regression", target_kind="numeric",
            summary="Bayesian linear regression, weight and noise precisions by evidence-maximising EM",
            needs="numeric features and a numeric --target, no missing values",
            options=("intercept",), outputs=("prediction", "prediction_std"),
            when="linear regression with calibrated predictive uncertainty and a ridge penalty "
                 "set from the data, with no cross-validation",
            capabilities=("self_starting", "whole_score", "row_outputs", "describing", "diagnosing"),
        ),
        ModelSpec(
            name="rvm", target="emcli.models.rvm:RelevanceVectorMachine",
            kind="regression", target_kind="numeric",
            summary="relevance vector machine: sparse Bayesian regression by EM",
            needs="numeric features and a numeric --target, no missing values; the rbf basis "
                  "keeps an N x N kernel, so thousands of rows rather than millions",
            options=("intercept", "basis", "gamma", "threshold"),
            outputs=("prediction", "prediction_std"),
            when="a sparse model: which features matter (--basis linear), or a smooth nonlinear "
                 "fit kept by a few relevance vectors (--basis rbf --gamma G)",
            capabilities=("self_starting", "whole_score", "row_outputs", "describing", "diagnosing"),
        ),
        ModelSpec(
            name="probit", target="emcli.models.probit:ProbitRegression",
            kind="classification", target_kind="binary",
            summary="binary probit regression by EM with a latent Gaussian utility",
            needs="numeric features and a two-valued --target (0/1, true/false or two labels), "
                  "no missing values",
            options=("intercept", "prior_scale"), outputs=("p_1", "prediction"),
            when="a yes/no outcome from numeric features, with a Gaussian prior on the weights",
            capabilities=("self_starting", "prior", "row_outputs", "levels"),
            min_rows=2,
        ),
    )
}


def spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; a UsageError listing the known models otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None


def create(name: str, options: dict):
    """A model instance from its name and options (as stored in a model file)."""
    try:
        return spec(name).load()(**options)
    except TypeError as exc:
        raise UsageError(f"bad options for model {name!r}: {exc}") from None
