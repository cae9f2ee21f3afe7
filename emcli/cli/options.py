"""Click options and parameter types shared by the subcommands."""

import click

from emcli.io.formats import FORMATS

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


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
        except ValueError:
            self.fail(f"{value!r} is not a size such as 4M or 512K", param, ctx)
        if size < 1:
            self.fail(f"{value!r} must be positive", param, ctx)
        return size


def seed_option(help: str):
    """``--seed``: numpy's generators take non-negative seeds only, so a negative one is a usage
    error here rather than a failure deep in a fit."""
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=help)


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


def input_format(function):
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS),
        help="Format of the input table (default: by extension; '-' is CSV).")(function)


def columns_option(function):
    return click.option(
        "--columns", callback=column_list, metavar="A,B,...",
        help="Columns to use (default: every numeric column).")(function)


def given(ctx: click.Context, name: str) -> bool:
    """Whether the user set option ``name`` on the command line (not by default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _set_verbosity(ctx, param, value):
    if value:
        from emcli import console

        console.enable(param.name)


def verbosity(function):
    """-q and -v on a subcommand too, so that they may follow it: ``emtool fit data.csv -q``."""
    function = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                            callback=_set_verbosity, help="Print notes, and tracebacks with errors.")(function)
    return click.option("-q", "--quiet", is_flag=True, expose_value=False,
                        callback=_set_verbosity, help="Print nothing but errors.")(function)


def prior_options(function):
    """``--prior`` and ``--prior-param`` (fit, select-k, impute)."""
    function = click.option("--prior-param", "prior_params", multiple=True, callback=prior_params,
                            metavar="NAME=VALUE",
                            help="Set one prior hyperparameter (repeatable); implies --prior default.")(function)
    return click.option("--prior", type=click.Choice(["none", "default"]), default="none", show_default=True,
                        help="'default': MAP with the model's weak conjugate prior (gmm, bernoulli, "
                             "categorical).")(function)


def chosen_prior(ctx, prior: str, params: dict) -> dict:
    """The model options of --prior and --prior-param, the latter implying --prior default; {}
    when neither was given, so that models without a prior are built as before."""
    if not (given(ctx, "prior") or params):
        return {}
    return {"prior": prior if given(ctx, "prior") else "default", "prior_params": params}


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
    return out
