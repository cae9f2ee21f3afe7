"""From a command's parsed fit options (emcli.cli.options.fit_options) to what the pipeline
fits: an emcli.pipeline.FitSpec and the Source of its rows, with the usage checks every
command that fits makes the same way."""

import os
from dataclasses import dataclass, field

import click

from emcli.cli.options import DRIVER_OPTIONS, INIT_METHODS, MODEL_OPTIONS, checked_exclude, given
from emcli.errors import UsageError
from emcli.models import registry
from emcli.pipeline.spec import FitSpec, Source

#: option name -> its flag, for messages
FLAGS = {"model_name": "-m", "k": "-k", "prior_params": "--prior-param", "intercept": "--no-intercept"}


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


@dataclass
class FitRequest:
    """A spec, the source of its rows, the coding of a warm start's categorical columns, and
    notes for the user."""

    spec: FitSpec
    source: Source
    levels: list | None = None
    notes: list = field(default_factory=list)


def fit_request(ctx: click.Context, data: str, model: str, values: dict, *,
                chosen: frozenset = frozenset(), warm_start: bool = True) -> FitRequest:
    """The request of a command's fit options ``values`` (click's parameters) for ``model`` and
    DATA.  ``chosen``: model options the command sets itself (select-k's cells, impute's K),
    which count as given.  An option the model does not take, a driver option of another
    algorithm, or an algorithm the model does not take, is a UsageError."""
    values = dict(values)
    given_options = {name for name in MODEL_OPTIONS if name in values and given(ctx, name)} | chosen
    if values.get("prior_params") and not given(ctx, "prior"):
        values["prior"] = "default"
    init, warm = values["init"], None
    bif = init is not None and init.lower().endswith(".bif") and os.path.isfile(init)
    if bif:
        if given(ctx, "model_name") and model != "bn":
            raise UsageError(f"--init {init} is a Bayesian network (BIF); it starts -m bn, not -m {model}")
        model = "bn"
    elif init is not None and init not in INIT_METHODS:
        warm = _read_warm(ctx, init, model, warm_start)
        model = warm[2]["model"]
    entry = registry.spec(model)
    for name in sorted(given_options - {"target"}):
        if name not in entry.options:
            raise UsageError(f"model {model} does not take {flag(name)}")
    start_runs = values.get("start_runs")
    if start_runs is not None:
        if not entry.has("short_runs"):
            raise UsageError(f"model {model} does not take --start-runs")
        if init == "random":
            raise UsageError("--start-runs applies to --init k-means++ or robust, not random")
    hc_sample = _hc_sample(entry, init, values)
    if "observed" in entry.options and warm is None and not bif:
        values.update(_network_columns(values, "k" in given_options))
    spec = FitSpec(model, {name: values[name] for name in entry.options if name in values},
                   init=init, restarts=values["restarts"], start_runs=start_runs, hc_sample=hc_sample,
                   seed=values["seed"],
                   max_iter=values["max_iter"], tol=values["tol"], chunk_bytes=values["chunk_bytes"],
                   algorithm=values["algorithm"], driver_options=_driver_options(ctx, model, values))
    source = Source(data, values["fmt"], values["columns"], values["target"],
                    checked_exclude(values["columns"], values["exclude"]),
                    _standardize(model, values.get("standardize"), warm))
    if bif:
        return _bif_start(FitRequest(spec, source), init, values, given_options)
    if warm is None:
        return FitRequest(spec, source)
    return _warm(FitRequest(spec, source), init, warm, values, given_options)


def _hc_sample(entry: registry.ModelSpec, init: str | None, values: dict) -> int | None:
    """--hc-sample, once --init hc suits the model and the other start options."""
    hc_sample = values.get("hc_sample")
    if init != "hc":
        if hc_sample is not None:
            raise UsageError("--hc-sample applies to --init hc")
        return None
    if not entry.has("short_runs"):
        raise UsageError(f"model {entry.name} does not take --init hc (gmm, student and tmix do)")
    if values["restarts"] > 1 or values.get("start_runs") is not None:
        raise UsageError("--init hc is one deterministic start; it takes neither --restarts nor --start-runs")
    return hc_sample


def _standardize(model: str, asked: bool, warm: tuple | None):
    """Source.standardize: a warm start's own transform (the parameters are in its units), or
    True for --standardize, else None."""
    from emcli.standardize import require_standardizable

    kept = getattr(warm[0], "standardization", None) if warm is not None else None
    if kept is not None:
        return kept
    if asked:
        require_standardizable(model)
        return True
    return None


def _network_columns(values: dict, k_given: bool) -> dict:
    """A network's options read from --structure: the structure as an inline edge list (a file
    is read once, here), and the ``observed`` columns, its nodes that are not --hidden (in the
    order first written) unless --columns names them; --exclude has no place.  -k
    (``k_given``, or select-k's cells) sets the states of the one --hidden node given without
    them, and is refused when there is none."""
    from emcli.models.bn_parse import parse_edges
    from emcli.models.bn_structure import build, describe

    if not values.get("structure"):
        raise UsageError("a Bayesian network needs --structure EDGES|FILE, its edges ('A -> B, ...')")
    if values.get("exclude"):
        raise UsageError("--exclude does not apply to a Bayesian network: --structure names its columns")
    hidden = values.get("hidden") or {}
    if None not in hidden.values():
        if k_given:
            raise UsageError("-k sets the states of a --hidden node given without them (--hidden H); "
                             "every --hidden node has its own")
        values["k"] = None
    edges = parse_edges(values["structure"])
    named = [name for edge in edges for name in edge] + list(edges.mentioned)
    observed = values["columns"] or [name for name in dict.fromkeys(named) if name not in hidden]
    sized = {name: states or 2 for name, states in hidden.items()}  # build checks names, not sizes
    structure = build(edges, observed, sized, edges.mentioned)
    return {"structure": describe(structure), "observed": list(observed), "columns": list(observed),
            "k": values.get("k")}


def _bif_start(request: FitRequest, path: str, values: dict, given_options: set) -> FitRequest:
    """The request of a network fit started from the BIF file ``path`` (emcli.models.bn_start):
    its structure, columns, levels and CPTs; --structure, -k and --columns have no place."""
    from emcli.models.bn import BayesianNetwork, BNParams
    from emcli.models.bn_bif import read_bif_file
    from emcli.models.bn_start import network_start, start_cpts

    for name in ("structure", "k"):
        if name in given_options:
            raise UsageError(f"{flag(name)} does not apply: the --init file {path} gives the network")
    if request.source.columns is not None:
        raise UsageError(f"--columns does not apply: the --init file {path} names the columns")
    options, levels, by_name = network_start(read_bif_file(path), values.get("hidden") or {}, path)
    options.update(prior=values["prior"], prior_params=values["prior_params"])
    params = BNParams(start_cpts(BayesianNetwork(**options, levels=levels).network, by_name))
    spec = request.spec.but(options=options, init=params)
    source = Source(request.source.path, request.source.fmt, list(options["observed"]))
    return FitRequest(spec, source, levels, request.notes)


def _read_warm(ctx, path: str, model: str, allowed: bool):
    """(model, params, document) of the --init model file ``path``."""
    from emcli.io.modelfile import read_model

    if not os.path.exists(path):
        raise UsageError(f"--init {path!r} is neither {', '.join(INIT_METHODS)} nor a model file")
    if not allowed:
        raise UsageError(f"--init {path}: a warm start fits one model; give a start method")
    warm = read_model(path)
    if given(ctx, "model_name") and model != warm[2]["model"]:
        raise UsageError(f"-m {model} differs from {warm[2]['model']} in the --init model {path}")
    return warm


def _warm(request: FitRequest, path: str, warm: tuple, values: dict, given_options: set) -> FitRequest:
    """The request of a warm start from the model file ``path``: its options, columns and
    target, which the options given must agree with, and its parameters to start from."""
    from emcli.em.protocol import Levelled, has

    fitted, params, doc = warm
    for name in sorted(given_options):
        if name in doc["options"] and not _same_option(name, values[name], doc["options"][name]):
            raise UsageError(f"{flag(name)} {values[name]} differs from {doc['options'][name]} "
                             f"in the --init model {path}")
    source = request.source
    if source.columns is not None and source.columns != doc["columns"]:
        raise UsageError(f"--columns differs from the columns of the --init model {path}")
    if set(source.exclude or ()) & set(doc["columns"]):
        raise UsageError(f"--exclude names a column the --init model {path} uses")
    if "target" in given_options and source.target != doc["target"]:
        raise UsageError(f"--target {source.target} differs from {doc['target']} in the --init model {path}")
    ignored = [flag for flag, unused in (("--restarts", request.spec.restarts > 1),
                                         ("--start-runs", request.spec.start_runs is not None)) if unused]
    notes = ([f"a warm start from --init MODEL.json runs once; {' and '.join(ignored)} ignored"]
             if ignored else [])
    spec = request.spec.but(options=dict(doc["options"]), init=params)
    source = Source(source.path, source.fmt, list(doc["columns"]), doc["target"], standardize=source.standardize)
    return FitRequest(spec, source, fitted.levels if has(fitted, Levelled) else None, notes)


def _same_option(name: str, given, stored) -> bool:
    """Whether an option given with a warm start says what the model file stored: a network's
    structure by its edges and nodes (given as a file or inline, stored inline)."""
    if name != "structure":
        return given == stored
    from emcli.models.bn_parse import parse_edges

    ours, theirs = parse_edges(given), parse_edges(stored, inline=True)
    return (set(ours), set(ours.mentioned) - {n for edge in ours for n in edge}) == \
        (set(theirs), set(theirs.mentioned) - {n for edge in theirs for n in edge})


def _driver_options(ctx, model: str, values: dict) -> dict:
    """The options of the chosen algorithm's driver; the algorithm must be one the model takes,
    and a driver option given for another algorithm is a UsageError."""
    from emcli.em import algorithms

    name = values["algorithm"]
    chosen = algorithms.algorithm(name)
    entry = registry.spec(model)
    if name not in entry.algorithms:
        raise UsageError(f"model {model} does not take --algorithm {name} "
                         f"(it takes: {', '.join(entry.algorithms)})")
    for option in DRIVER_OPTIONS:
        if given(ctx, option) and option not in chosen.options:
            raise UsageError(f"{flag(option)} applies to another --algorithm than {name}")
    only = sorted(set(values.get("prior_params") or {}) & set(entry.variational_priors))
    if only and name != "variational":
        raise UsageError(f"--prior-param {only[0]} applies to --algorithm variational")
    return {option: values[option] for option in chosen.options}
