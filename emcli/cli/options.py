"""Every option that more than one command takes, declared once, so that a name means one thing
with one default everywhere (tests/test_options.py walks the commands and holds them to it).

Groups: ``model_choice`` (-m, -k, --covariance), ``model_options`` (each model's own options),
``data_options`` (which rows), ``start_options`` (--init, --algorithm and its drivers'
options), ``run_options`` (restarts, seed, iterations, memory), and the input and output
options.  ``fit_options`` is every option of a fit, for each command that fits (fit, select-k,
impute); emcli.cli.fitspec turns them into an emcli.pipeline.FitSpec.

Old spellings still work as ``EmtoolCommand(aliases=...)``: rewritten to the new one before
parsing, with a warning, and hidden from --help.
"""

import math

import click

from emcli.errors import UsageError
from emcli.io.formats import FORMATS
from emcli.models.registry import COVARIANCE_NAMES

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}

INIT_METHODS = ("k-means++", "robust", "random", "hc")
#: the options of the EM drivers (see emcli.em.algorithms), as click names them
DRIVER_OPTIONS = ("block_size", "anneal_start", "anneal_rate", "mc_samples", "burn_in", "batch_size",
                  "kappa", "epochs", "learning_rate", "weight_prior", "prune")
#: the models' own options (constructor arguments) as click names them
MODEL_OPTIONS = ("k", "covariance", "reg_covar", "prior", "prior_params", "dof", "shared_dof",
                 "metric", "intercept", "basis", "gamma", "threshold", "prior_scale", "target", "structure",
                 "hidden")


#: the largest counts a run may ask for: beyond them a command would run for days or run out of
#: memory before saying so (restarts, draws, iterations, passes, grid cells)
MAX_COUNT = 10_000
#: the most rows --init hc clusters: its (N, N) merge costs take 800 MB there
MAX_HC_SAMPLE = 10_000
MAX_ITERATIONS = 1_000_000


class AnyCase(click.Choice):
    """A choice of names typed in any case, which its error lists as they are written (click
    lists a case-insensitive choice in lower case: 'vev', 'eee')."""

    def __init__(self, choices):
        super().__init__(choices, case_sensitive=False)

    def get_invalid_choice_message(self, value, ctx) -> str:
        return f"{value!r} is not one of {', '.join(map(repr, self.choices))}."


class Finite(click.FloatRange):
    """A float range that refuses nan and infinities, which compare false with every bound and
    would pass a plain range, then fail deep in a fit or while writing its JSON."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


class ByteSize(click.ParamType):
    """A size in bytes: 4194304, 4M, 512K, 1G."""

    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        try:
            size = int(float(text[: len(text) - len(unit)]) * _UNITS[unit])
        except (ValueError, OverflowError):
            self.fail(f"{value!r} is not a size such as 4M or 512K", param, ctx)
        if size < 1:
            self.fail(f"{value!r} must be positive", param, ctx)
        return size


class EmtoolCommand(click.Command):
    """A command that still takes old option spellings: ``aliases`` maps an old flag to its new
    one, or to a function of the flag's value giving the new flag (None: not an alias then)."""

    def __init__(self, *args, aliases: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _renamed(list(args), self.aliases))


def _renamed(args: list, aliases: dict) -> list:
    from emcli import console

    out = []
    for i, token in enumerate(args):
        if token == "--":
            return out + args[i:]
        old, sep, value = token.partition("=")
        new = aliases.get(old)
        if callable(new):
            new = new(value if sep else (args[i + 1] if i + 1 < len(args) else ""))
        if new:
            console.deprecated(f"{old} is now {new}; the old spelling will be removed")
            token = new + sep + value
        out.append(token)
    return out


def command(name: str | None = None, aliases: dict | None = None):
    """``click.command`` for an emtool subcommand that may take old spellings."""
    return click.command(name, cls=EmtoolCommand, aliases=aliases)


def _stack(*decorators):
    """One decorator applying ``decorators`` so that their options list in the given order."""
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


def given(ctx: click.Context, name: str) -> bool:
    """Whether the user set option ``name`` on the command line (not by default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


# -- parsing callbacks -------------------------------------------------------------------------


def checked_exclude(columns: list | None, exclude: list | None) -> list | None:
    """``exclude``, once it is clear it does not contradict ``columns``."""
    if columns is not None and exclude is not None:
        raise UsageError("--columns and --exclude both choose the columns; give one of them")
    return exclude


def column_list(ctx, param, value):
    """``--columns a,b,c`` as a list of names (None when not given)."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise click.BadParameter(f"empty column name in {value!r}")
    if len(set(names)) != len(names):
        raise click.BadParameter(f"a column is named twice in {value!r}")
    return names


def prior_params(ctx, param, values):
    """``--prior-param NAME=VALUE`` (repeatable) as a dict of floats."""
    out = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE")
        try:
            out[name.strip()] = float(text)
        except ValueError:
            raise click.BadParameter(f"{item!r}: {text!r} is not a number") from None
        if not math.isfinite(out[name.strip()]):
            raise click.BadParameter(f"{item!r}: {text!r} is not a finite number")
    return out


def hidden_nodes(ctx, param, values):
    """``--hidden NAME[=STATES]`` (repeatable) as a dict name -> states (None: from -k)."""
    if not values:
        return {}
    from emcli.models.bn_parse import parse_hidden

    return parse_hidden(list(values))


def _set_verbosity(ctx, param, value):
    if value:
        from emcli import console

        console.enable(param.name)


# -- the options -------------------------------------------------------------------------------

#: -q and -v on a subcommand too, so that they may follow it: ``emtool fit data.csv -q``
verbosity = _stack(
    click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_verbosity,
                 help="Print nothing but errors."),
    click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbosity,
                 help="Print notes, and tracebacks with errors."),
)

def _complete_models(ctx, param, incomplete: str) -> list:
    """The registered models' names that start with what was typed (shell completion)."""
    from emcli.models.registry import MODELS

    return [name for name in MODELS if name.startswith(incomplete)]


model_name = click.option("-m", "--model", "model_name", default="gmm", show_default=True,
                          shell_complete=_complete_models, help="Model to fit (see 'emtool models').")
#: impute fills from a Gaussian mixture: one multivariate normal (mvn) or -k components (gmm)
gaussian_model = click.option("-m", "--model", "model_name", type=click.Choice(["mvn", "gmm"]),
                              default="mvn", show_default=True,
                              help="mvn: one multivariate normal; gmm: a mixture of -k Gaussians (clustered data).")
components = click.option("-k", type=click.IntRange(min=1), default=1, show_default=True,
                          help="Number of components.")
covariance = click.option("--covariance", type=AnyCase(COVARIANCE_NAMES), default="full",
                          show_default=True, metavar="FORM",
                          help="Covariance structure: full, tied, diag or spherical (gmm, student, tmix), "
                               "or for gmm any of mclust's fourteen forms EII, VII, EEI, VEI, EVI, VVI, "
                               "EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV (volume, shape, orientation each "
                               "Equal, Variable or Identity; full = VVV, tied = EEE, diag = VVI, "
                               "spherical = VII).")
k_range = click.option("--k-range", default="1:9", show_default=True, metavar="LOW:HIGH|K,K,...",
                       help="Numbers of components to try: a range (inclusive) or a list.")

model_options = _stack(
    click.option("--reg-covar", type=Finite(min=0), default=1e-6, show_default=True,
                 help="Covariance floor, relative to each column's variance: every covariance is at "
                      "least this times the columns' variances (gmm, student, tmix)."),
    click.option("--prior", type=click.Choice(["none", "default"]), default="none", show_default=True,
                 help="'default': MAP with the model's weak conjugate prior (gmm, bernoulli, categorical, bn)."),
    click.option("--prior-param", "prior_params", multiple=True, callback=prior_params,
                 metavar="NAME=VALUE",
                 help="Set one prior hyperparameter (repeatable); implies --prior default."),
    click.option("--dof", type=Finite(min=0.1, max=1e6),
                 help="Fix the degrees of freedom (student, tmix); by default they are estimated."),
    click.option("--shared-dof", is_flag=True, help="One degrees of freedom for every component (tmix)."),
    click.option("--metric", default="euclidean", show_default=True,
                 help="Dissimilarity from scipy.spatial.distance (kmedoids)."),
    click.option("--target", metavar="COLUMN", help="The column to predict (experts, blr, rvm, probit)."),
    click.option("--no-intercept", "intercept", flag_value=False, default=True,
                 help="Do not add an intercept to the regression's features."),
    click.option("--basis", type=click.Choice(["linear", "rbf"]), default="linear", show_default=True,
                 help="rvm: the features themselves, or an RBF kernel on the training rows."),
    click.option("--gamma", type=Finite(min=0, min_open=True),
                 help="rvm --basis rbf: kernel width, exp(-gamma |x - x'|^2) (default 1 / number of features)."),
    click.option("--threshold", type=Finite(min=0, min_open=True), default=1e6, show_default=True,
                 help="rvm: prune a weight whose precision exceeds this multiple of the smallest."),
    click.option("--structure", metavar="EDGES|FILE",
                 help="bn: the network's edges, 'A -> B, B -> C' inline, or a file of them (one per "
                      "line, or Graphviz DOT); nodes are columns or --hidden nodes."),
    click.option("--hidden", "hidden", multiple=True, callback=hidden_nodes, metavar="NAME[=STATES]",
                 help="bn: a hidden node of --structure and its number of states (repeatable); one "
                      "may leave them to -k (select-k: --k-range)."),
    click.option("--prior-scale", type=Finite(min=0, min_open=True), default=10.0,
                 show_default=True,
                 help="probit: standard deviation tau of the N(0, tau^2 I) prior on the weights."),
)

columns = _stack(
    click.option("--columns", callback=column_list, metavar="A,B,...",
                 help="Columns to use (default: every column the command reads: the numeric ones for "
                      "most models, a model file's own columns for the commands that apply one)."),
    click.option("--exclude", callback=column_list, metavar="A,B,...",
                 help="Columns to leave out of the default choice (an identifier, a label)."),
)
input_format = click.option("--input-format", "fmt", type=click.Choice(FORMATS),
                            help="Format of the input table (default: by extension; '-' is CSV).")
output_format = click.option("--output-format", type=click.Choice(FORMATS),
                             help="Format of the output table (default: by extension; '-' is CSV).")
standardize = click.option(
    "--standardize", is_flag=True,
    help="Fit to the columns centred on their means and divided by their standard deviations, "
         "for models whose fit depends on the columns' scales: kmeans, kmedoids and gmm with a "
         "spherical covariance or the forms EII, VII, EVE, VVE, EEV, VEV (full, tied, diag and "
         "the other forms fit the same clusters either way). A model file keeps the "
         "transform, which predict, sample and impute apply; compress measures the distortion in "
         "standardised units and stores the codebook in the data's.")
data_options = _stack(
    columns,
    input_format,
    standardize,
    # rows with every chosen cell missing are always skipped now (with a note): the flag that
    # used to ask for it is still accepted, and does nothing
    click.option("--skip-empty-rows", is_flag=True, hidden=True, expose_value=False),
)

start_options = _stack(
    click.option("--init", metavar="k-means++|robust|random|hc|MODEL.json",
                 help="Initialisation: k-means++ (the default; robust for tmix), robust (k-means++ "
                      "that outliers cannot dominate), random rows, hc (gmm, student, tmix: the "
                      "clusters of mclust's model-based hierarchical clustering, one deterministic "
                      "start), or a fitted model file to start from (warm start)."),
    click.option("--hc-sample", type=click.IntRange(min=2, max=MAX_HC_SAMPLE), metavar="ROWS",
                 help="--init hc: build the tree on a uniform sample of this many rows when there "
                      "are more (it needs 8 ROWS^2 bytes and about ROWS^2 time) [default: 2000, "
                      "mclust's subset]."),
    click.option("--start-runs", type=click.IntRange(min=1, max=MAX_COUNT),
                 help="gmm, student, tmix: short EM runs (3 iterations on at most 10,000 rows) each "
                      "k-means++ or robust start chooses from, by likelihood; 1: a single seeding "
                      "[default: 20 shared among the restarts, at least 1 each]."),
    click.option("--algorithm", default="batch", show_default=True,
                 help="How EM climbs: batch, incremental, stepwise, annealed, stochastic, mcem, "
                      "saem, overrelaxed, ecm, ecme, gradient, hybrid, variational (see 'emtool models')."),
    click.option("--block-size", type=click.IntRange(min=1), default=1000, show_default=True,
                 help="incremental: rows per block."),
    click.option("--anneal-start", type=Finite(min=1), default=3.0, show_default=True,
                 help="annealed: starting temperature."),
    click.option("--anneal-rate", type=Finite(min=0, max=1, min_open=True, max_open=True),
                 default=0.9, show_default=True,
                 help="annealed: factor lowering the temperature once EM settles at the current one."),
    click.option("--mc-samples", type=click.IntRange(min=1, max=MAX_COUNT), default=10, show_default=True,
                 help="mcem, saem: posterior draws per row and iteration."),
    click.option("--burn-in", type=click.IntRange(min=0, max=MAX_ITERATIONS),
                 help="saem: iterations whose drawn statistics replace the running ones (step "
                      "size 1) before the steps shrink [default: a fifth of --max-iter]."),
    click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True,
                 help="stepwise: rows per minibatch."),
    click.option("--kappa", type=Finite(min=0.5, max=1, min_open=True), default=0.7,
                 show_default=True,
                 help="stepwise, saem: step sizes (k + 2)^-kappa (saem: after --burn-in), kappa "
                      "in (0.5, 1]."),
    click.option("--epochs", type=click.IntRange(min=1, max=MAX_ITERATIONS),
                 help="stepwise: passes over the input [default: until the running log-likelihood "
                      "per row moves less than --tol over a pass, at most --max-iter passes]."),
    click.option("--learning-rate", type=Finite(min=0, min_open=True), default=0.01,
                 show_default=True, help="gradient: Adam's step size."),
    click.option("--weight-prior", type=click.Choice(["dirichlet", "process"]), default="dirichlet",
                 show_default=True,
                 help="variational: the weights' prior, Dirichlet(alpha, ..., alpha) or a Dirichlet "
                      "process truncated at K by stick-breaking (concentration alpha: "
                      "--prior-param alpha=, default 1/K)."),
    click.option("--prune", type=Finite(min=0, max=1, min_open=True, max_open=True), default=0.01,
                 show_default=True,
                 help="variational: a component is live while its expected share of the rows is "
                      "at least this; predict writes probabilities for the live ones."),
)

seed = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                    help="Random seed (non-negative): the same seed gives the same result; "
                         "restart r uses seed + r.")
chunk_bytes = click.option("--chunk-bytes", type=ByteSize(), default="4M", show_default=True,
                           help="Scratch memory per E-step chunk of rows.")
#: more worker threads than this is a typing error, not a machine
MAX_THREADS = 1024


class ThreadCount(click.IntRange):
    """A number of threads, 1 to MAX_THREADS; a bad value that came from EMTOOL_THREADS says so,
    for a user who never typed --threads."""

    def __init__(self):
        super().__init__(min=1, max=MAX_THREADS)

    def convert(self, value, param, ctx):
        import os

        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            if os.environ.get("EMTOOL_THREADS") == str(value):
                exc.message += " (it is EMTOOL_THREADS, the default of --threads)"
            raise


def _open_workers(ctx, param, value):
    """--threads: open the command's worker threads (emcli.em.workers) for as long as it runs;
    and, as every command with it works on data, have freed arrays go back to the system."""
    from emcli.allocator import return_freed_memory
    from emcli.em.workers import available_cores, workers

    return_freed_memory()
    ctx.with_resource(workers(available_cores() if value is None else value))


threads = click.option("--threads", type=ThreadCount(), envvar="EMTOOL_THREADS",
                       callback=_open_workers, expose_value=False,
                       help="Worker threads for the passes over the data, each with one BLAS thread; "
                            "results are the same for any number [default: EMTOOL_THREADS, else the "
                            "cores this process may use].")
run_options = _stack(
    click.option("--restarts", type=click.IntRange(min=1, max=MAX_COUNT), default=1, show_default=True,
                 help="Independent starts; the best objective wins."),
    seed,
    click.option("--max-iter", type=click.IntRange(min=0, max=MAX_ITERATIONS), default=500, show_default=True,
                 help="Most EM iterations per start."),
    click.option("--tol", type=Finite(min=0), default=1e-6, show_default=True,
                 help="Stop when the mean per-row objective changes less; 0 runs --max-iter."),
    chunk_bytes,
    threads,
)
engine_choice = _stack(
    click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                 help="Where the passes over the rows run: here, or on a Dask cluster (pip install "
                      "'emtool[dask]'), the rows read by the workers, one partition per part of DATA "
                      "(a file, a glob or a directory of parts, here or at a URL such as s3://bucket/events/)."),
    click.option("--scheduler", metavar="ADDRESS", envvar="DASK_SCHEDULER_ADDRESS",
                 help="--engine dask: the scheduler to join (default: DASK_SCHEDULER_ADDRESS, else a "
                      "cluster of --threads worker processes on this machine)."),
)
engine_options = _stack(
    engine_choice,
    click.option("--persist", is_flag=True,
                 help="--engine dask: keep the rows in the workers' memory between passes (by default "
                      "each pass reads its part again, so a table larger than the cluster's memory fits)."),
)
strict = click.option("--strict", is_flag=True,
                      help="Exit 3, writing nothing, when the fit did not converge or has a degenerate "
                           "component: its warnings become the error (shown even with -q).")

#: every option of a fit but the choice of model and K
fit_options = _stack(model_options, data_options, start_options, run_options, strict)

#: the old spellings of the input format, for commands that read a table
OLD_INPUT_FORMAT = {"--format": "--input-format"}
