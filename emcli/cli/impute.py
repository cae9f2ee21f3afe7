"""emtool impute: fill missing cells from a multivariate normal or Gaussian mixture fit by EM."""

import click

from emcli.cli import options

#: options that apply only when impute fits the model itself, by their flags
FIT_FLAGS = {"model_name": "-m", "k_text": "-k", "k_range": "--k-range", "covariance": "--covariance",
             "prior": "--prior", "prior_params": "--prior-param", "init": "--init",
             "algorithm": "--algorithm", "restarts": "--restarts", "seed": "--seed",
             "max_iter": "--max-iter", "tol": "--tol", "reg_covar": "--reg-covar"}


def _old_model_flag(value: str):
    """``--model FILE`` was the model file before --model named the model."""
    from emcli.models.registry import MODELS

    return None if value in MODELS or value == "mvn" else "--model-file"


@options.command(aliases={**options.OLD_INPUT_FORMAT, "--method": "--model", "--model": _old_model_flag})
@click.argument("data")
@options.gaussian_model
@click.option("-k", "k_text", default="1", show_default=True, metavar="K|auto",
              help="-m gmm: number of components, or 'auto': the K in --k-range with the lowest BIC.")
@options.k_range
@options.covariance
@options.fit_options
@click.option("--draws", type=click.IntRange(min=1, max=options.MAX_COUNT), metavar="M",
              help="Multiple imputation: M completed tables, each refit to a bootstrap resample "
                   "and drawn from the conditional distribution.")
@click.option("--long", "long_format", is_flag=True,
              help="--draws: one table, the M completed tables stacked with an 'imputation' column (1..M).")
@click.option("--round/--no-round", "round_integers", default=True, show_default=True,
              help="Round filled cells of integer columns, which keep their type (--no-round: they become float).")
@click.option("--clip", is_flag=True, help="Keep filled values within each column's observed range.")
@click.option("--model-file", metavar="MODEL.json",
              help="Fill from this fitted gmm model (its columns must be the chosen ones) or Bayesian "
                   "network (-m bn: its columns, with their levels) instead of fitting.")
@click.option("--model-out", metavar="MODEL.json", help="Also write the fitted model file.")
@click.option("--report", "report_path", metavar="FILE.json",
              help="Also write a JSON report: cells filled per column, the fit, the model.")
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output table ('-' is CSV on stdout); with --draws a name holding {i}.")
@options.output_format
@options.verbosity
@click.pass_context
def impute(ctx, data, draws, long_format, round_integers, clip, model_file, model_out, report_path,
           output, output_format, **values):
    """Fill the missing cells of DATA's numeric columns by EM.

    Fits a multivariate normal (or a Gaussian mixture, -m gmm) to the chosen columns with the
    missing cells as hidden values, then replaces each missing cell by its expectation given the
    row's observed cells (for a mixture, the components' conditional means weighted by the
    row's posterior probabilities). The output keeps DATA's columns, rows, order and types;
    other columns pass through unchanged.

    With --draws M, each of M completed tables comes from a refit to a bootstrap resample of the
    rows (warm-started from the full fit), with every missing cell drawn from its conditional
    distribution, so that the spread between the tables reflects the uncertainty of the filled
    values (multiple imputation, as Amelia II).

    A Bayesian network's model file (fit with -m bn) fills its categorical columns: each missing
    cell with its most probable level given the row's observed cells, or, with --draws M and
    --seed, M tables whose missing cells are drawn jointly from their posterior under the saved
    parameters.

    The method assumes the cells are missing at random: whether a cell is missing may depend on
    the row's observed cells but not on its own unseen value. Values missing because they are
    large, say, are filled too small, and nothing in the data can show it. A chosen column with
    no observed value is an error.

    \b
    Examples:
      emtool impute sample_data/survey.csv -o survey_filled.csv
      emtool impute sample_data/survey.csv --clip --report report.json --model-out survey.json -o filled.parquet
      emtool impute sample_data/survey.csv --model-file survey.json -o again.csv
      emtool impute sample_data/faithful_missing.csv -m gmm -k auto --k-range 1:4 -o faithful_filled.csv
      emtool impute sample_data/survey.csv --draws 5 --seed 1 -o survey_{i}.csv
      emtool impute sample_data/survey.csv --draws 5 --long -o survey_long.parquet
    """
    import dataclasses
    import os

    from emcli import console
    from emcli.cli.report import show
    from emcli.impute import run
    from emcli.impute.report import summary_lines

    plan = _plan(ctx, data, values, model_file, draws, long_format, round_integers, clip,
                 bool(model_out or report_path))
    tables = _output_paths(output, draws, long_format)
    paths = _checked_outputs(tables, report_path, model_out, output_format,
                             [data, model_file, values["init"]], plan.source.fmt)
    plan = dataclasses.replace(plan, as_text=paths["format"] != "parquet")
    drawn = []  # the draws' display, open while _write reads the tables the draws make
    with console.progress(len(plan.ks or ()), "choosing K") as advance:
        result = run.impute(plan, os.cpu_count() or 1, advance, on_draw=lambda: drawn and drawn[0]())
    with console.activity(plan.draws or None, "imputing") as shown:
        drawn.append(shown.advance)
        _write(result, plan, tables, paths, report_path, model_out, values["strict"])
    show(result.column_warnings + result.warnings, result.notes + summary_lines(result.report))
    show(result.refit_warnings(plan.spec))


def _plan(ctx, data, values, model_file, draws, long_format, round_integers, clip, need_model):
    """The imputation's Plan from the options; fit options with --model-file are a UsageError."""
    from emcli.cli.fitspec import fit_request
    from emcli.errors import UsageError
    from emcli.impute.run import Plan
    from emcli.select.grid import parse_k_range

    if model_file is not None:
        for name, flag in FIT_FLAGS.items():
            if options.given(ctx, name) and not (name == "seed" and draws):  # a network's draws take it
                raise UsageError(f"{flag} applies to fitting; --model-file fills with the saved model")
    k = _components(ctx, values["model_name"], values.pop("k_text"))
    ks = parse_k_range(values.pop("k_range")) if model_file is None and k is None else None
    values["k"] = k or 1
    chosen = frozenset({"k"} if options.given(ctx, "k_text") and k is not None else ())
    request = fit_request(ctx, data, "gmm", values, chosen=chosen, warm_start=ks is None)
    if request.spec.model != "gmm":
        raise UsageError(f"--init {values['init']} holds a {request.spec.model} model; impute fits a gmm")
    return Plan(request.spec, request.source, ks, model_file, draws, long_format, round_integers,
                clip, need_model)


def _components(ctx, model: str, k_text: str) -> int | None:
    """The number of components from -m and -k; None for -k auto."""
    from emcli.errors import UsageError

    if model == "mvn":
        if k_text != "1":
            raise UsageError("-m mvn is one multivariate normal; use -m gmm -k K for a mixture")
        for name in ("covariance", "k_range"):
            if options.given(ctx, name):
                raise UsageError(f"{FIT_FLAGS[name]} applies to -m gmm")
        return 1
    if not options.given(ctx, "k_text"):
        raise UsageError("-m gmm needs -k K, or -k auto to choose K by BIC")
    if k_text == "auto":
        return None
    if options.given(ctx, "k_range"):
        raise UsageError("--k-range applies to -k auto")
    try:
        k = int(k_text)
    except ValueError:
        k = 0
    if k < 1:
        raise UsageError(f"-k must be a positive number of components or auto, got {k_text!r}")
    return k


def _output_paths(output: str, draws: int | None, long_format: bool) -> list:
    """The table files to write: one, or one per imputation from ``{i}`` in -o."""
    from emcli.errors import UsageError

    if draws and not long_format:
        if "{i}" not in output:
            raise UsageError("--draws writes one table per imputation: put {i} in -o "
                             "(-o filled_{i}.csv), or use --long for one table")
        return [output.replace("{i}", str(i)) for i in range(1, draws + 1)]
    if long_format and not draws:
        raise UsageError("--long needs --draws")
    if "{i}" in output:
        raise UsageError("-o holds {i}, which numbers the tables of --draws without --long")
    return [output]


def _checked_outputs(tables: list, report_path, model_out, output_format, inputs: list,
                     input_fmt: str | None) -> dict:
    """Every output checked before any work (writable, not an input, not named twice):
    {"format": table format, "files": the regular files to write atomically}."""
    from emcli.io.atomic import STDOUT, check_outputs
    from emcli.io.passthrough import output_format as table_output_format

    check_outputs([*(("-o", path) for path in tables), ("--report", report_path),
                   ("--model-out", model_out)], inputs)
    fmt = table_output_format(tables[0], output_format, inputs[0], input_fmt)
    return {"format": fmt, "files": [p for p in (*tables, report_path, model_out) if p and p != STDOUT]}


def _write(result, plan, tables: list, paths: dict, report_path, model_out, strict: bool) -> None:
    """The tables, report and model file: the files all or none; stdout last.  With --strict,
    none when the fit or a bootstrap refit (known once its table is made) is unsound."""
    from emcli.cli.report import require_sound

    from emcli.io.atomic import STDOUT, atomic_paths, write_bytes
    from emcli.io.formats import table_format
    from emcli.io.modelfile import dumps, write_model
    from emcli.io.streams import source_bytes
    from emcli.io.tables import write_table

    fmt, source = paths["format"], plan.source
    # Nothing to fill: the input's own bytes, so that the output equals it to the character
    # (a table written again would print 2.0 as 2 and quote text); but not bytes with an empty
    # line, which the reader skipped and a reader of the output would take for a row.
    original = (source_bytes(source.path) if result.nothing_missing and not plan.long
                and source.path != STDOUT and table_format(source.path, source.fmt) == fmt else None)
    if original is not None and any(line in (b"", b"\r") for line in original.split(b"\n")[:-1]):
        original = None

    def write(table, path):
        if original is None:
            write_table(table, path, fmt)
        else:
            write_bytes(path, original)

    to_stdout = None
    with atomic_paths(paths["files"]) as temporary:
        where = dict(zip(paths["files"], temporary))
        for path, table in zip(tables, result.tables):
            if path == STDOUT:
                to_stdout = table
            else:
                write(table, where[path])
        if report_path:
            write_bytes(where[report_path], dumps(result.report))
        if model_out:
            write_model(where[model_out], result.model_doc)
        require_sound(strict, result.warnings + result.refit_warnings(plan.spec))
    if to_stdout is not None:
        write(to_stdout, STDOUT)
