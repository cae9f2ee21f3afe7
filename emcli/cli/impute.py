"""emtool impute: fill missing cells from a multivariate normal or Gaussian mixture fit by EM."""

import click

from emcli.cli.fit import INIT_METHODS
from emcli.cli.options import (chosen_prior, columns_option, given, input_format, prior_options, seed_option,
                               verbosity)
from emcli.io.formats import FORMATS

#: options that only apply when impute fits the model itself
FIT_OPTIONS = {"method": "-m", "k_text": "-k", "k_range": "--k-range", "covariance": "--covariance",
               "prior": "--prior", "prior_params": "--prior-param", "init": "--init",
               "restarts": "--restarts", "seed": "--seed", "max_iter": "--max-iter", "tol": "--tol"}


def _components(ctx, method: str, k_text: str) -> int | None:
    """The number of components from -m and -k; None for -k auto."""
    from emcli.errors import UsageError

    if method == "mvn":
        if k_text != "1":
            raise UsageError("-m mvn is one multivariate normal; use -m gmm -k K for a mixture")
        for name in ("covariance", "k_range"):
            if given(ctx, name):
                raise UsageError(f"{FIT_OPTIONS[name]} applies to -m gmm")
        return 1
    if not given(ctx, "k_text"):
        raise UsageError("-m gmm needs -k K, or -k auto to choose K by BIC")
    if k_text == "auto":
        return None
    if given(ctx, "k_range"):
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


@click.command()
@click.argument("data")
@click.option("-m", "--method", type=click.Choice(["mvn", "gmm"]), default="mvn", show_default=True,
              help="mvn: one multivariate normal; gmm: a mixture of -k Gaussians (clustered data).")
@click.option("-k", "k_text", default="1", show_default=True, metavar="K|auto",
              help="-m gmm: number of components, or 'auto': the K in --k-range with the lowest BIC.")
@click.option("--k-range", default="1:9", show_default=True, metavar="LOW:HIGH|K,K,...",
              help="-k auto: the numbers of components to try (as select-k).")
@click.option("--covariance", type=click.Choice(["full", "tied", "diag", "spherical"]),
              default="full", show_default=True, help="-m gmm: covariance structure.")
@prior_options
@columns_option
@input_format
@click.option("--init", type=click.Choice(INIT_METHODS), default="k-means++", show_default=True,
              help="How EM starts (as fit).")
@click.option("--restarts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent starts; the best log-likelihood wins.")
@seed_option("Random seed: restarts, and the resamples and draws of --draws.")
@click.option("--max-iter", type=click.IntRange(min=0), default=500, show_default=True,
              help="Most EM iterations per fit.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Stop when the mean per-row log-likelihood changes less.")
@click.option("--draws", type=click.IntRange(min=1), metavar="M",
              help="Multiple imputation: M completed tables, each refit to a bootstrap resample "
                   "and drawn from the conditional distribution.")
@click.option("--long", "long_format", is_flag=True,
              help="--draws: one table, the M completed tables stacked with an 'imputation' column (1..M).")
@click.option("--round/--no-round", "round_integers", default=True, show_default=True,
              help="Round filled cells of integer columns, which keep their type (--no-round: they become float).")
@click.option("--clip", is_flag=True, help="Keep filled values within each column's observed range.")
@click.option("--model", "model_path", metavar="MODEL.json",
              help="Fill from this fitted gmm model (its columns must be the chosen ones) instead of fitting.")
@click.option("--model-out", metavar="MODEL.json", help="Also write the fitted model file.")
@click.option("--report", "report_path", metavar="FILE.json",
              help="Also write a JSON report: cells filled per column, the fit, the model.")
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output table ('-' is CSV on stdout); with --draws a name holding {i}.")
@click.option("--output-format", type=click.Choice(FORMATS), help="Format of the output table(s).")
@verbosity
@click.pass_context
def impute(ctx, data, method, k_text, k_range, covariance, prior, prior_params, columns, fmt, init,
           restarts, seed, max_iter, tol, draws, long_format, round_integers, clip, model_path,
           model_out, report_path, output, output_format):
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

    The method assumes the cells are missing at random: whether a cell is missing may depend on
    the row's observed cells but not on its own unseen value. Values missing because they are
    large, say, are filled too small, and nothing in the data can show it. A chosen column with
    no observed value is an error.

    \b
    Examples:
      emtool impute sample_data/survey.csv -o survey_filled.csv
      emtool impute sample_data/survey.csv --clip --report report.json --model-out survey.json -o filled.parquet
      emtool impute sample_data/survey.csv --model survey.json -o again.csv
      emtool impute sample_data/faithful_missing.csv -m gmm -k auto --k-range 1:4 -o faithful_filled.csv
      emtool impute sample_data/survey.csv --draws 5 --seed 1 -o survey_{i}.csv
      emtool impute sample_data/survey.csv --draws 5 --long -o survey_long.parquet
    """
    from pathlib import Path

    import numpy as np

    from emcli import console
    from emcli.data import Rows, display_name, empty_rows, load_rows, require_observed_columns
    from emcli.errors import DataError, UsageError
    from emcli.impute.draws import bootstrap_imputations
    from emcli.impute.fill import conditional_means
    from emcli.impute.model import fit_imputer, load_imputer
    from emcli.impute.report import log_likelihood, report_document, summary_lines
    from emcli.impute.table import Completion
    from emcli.io.atomic import STDOUT, atomic_paths, check_writable, write_bytes
    from emcli.io.formats import table_format
    from emcli.io.modelfile import dumps, write_model
    from emcli.io.tables import write_table
    from emcli.select import parse_k_range

    if model_path is not None:
        for name, flag in FIT_OPTIONS.items():
            if given(ctx, name):
                raise UsageError(f"{flag} applies to fitting; --model fills with the saved model")
        if draws:
            raise UsageError("--draws refits the model to bootstrap resamples; it cannot use a "
                             "saved --model, whose parameters carry no uncertainty")
        k = None
    else:
        k = _components(ctx, method, k_text)
    ks = parse_k_range(k_range) if model_path is None and k is None else []
    tables = _output_paths(output, draws, long_format)
    output_format = table_format(tables[0], output_format)
    for path in (*tables, report_path, model_out):
        if path:
            check_writable(path)

    name = display_name(data)
    rows = load_rows(data, fmt, columns, "numeric")
    require_observed_columns(rows.X, rows.columns, data)
    if long_format and "imputation" in rows.table.column_names:
        raise DataError(f"{name} already has a column 'imputation'; rename it to use --long")
    imputer = load_imputer(model_path, rows, data) if model_path else None
    completion = Completion(rows.table, rows.columns, rows.X, round_integers=round_integers,
                            clip=clip, name=name)
    empty = empty_rows(rows.X)
    observed_rows = np.delete(rows.X, empty, axis=0)
    nothing_missing = not completion.missing.any()
    if nothing_missing:
        console.note(f"no missing values in the chosen columns of {name}; the output is the input")
    if imputer is None and (not nothing_missing or model_out or report_path):
        fit_options = {"init": init, "restarts": restarts, "seed": seed, "max_iter": max_iter, "tol": tol}
        imputer = fit_imputer(Rows(rows.table, rows.columns, observed_rows), data, k, covariance,
                              ks, fit_options, chosen_prior(ctx, prior, prior_params))

    if nothing_missing:
        completed = [(rows.X, None)] * (draws or 1)
    elif draws:
        completed = bootstrap_imputations(imputer, observed_rows, rows.X, draws, seed, max_iter, tol)
    else:
        completed = [(conditional_means(imputer.model, imputer.params, rows.X), None)]
    summaries = []

    def completed_tables():
        arrays = []
        for X, summary in completed:
            summaries.extend([summary] if summary else [])
            if not long_format:
                yield completion.table(X)
            arrays.append(X)
        if long_format:
            yield completion.long_table(arrays)

    # Nothing to fill: the input's own bytes, so that the output equals it to the character
    # (a table written again would print 2.0 as 2 and quote text).
    original = (Path(data).read_bytes() if nothing_missing and not long_format and data != STDOUT
                and table_format(data, fmt) == output_format else None)

    def write(table, path):
        if original is None:
            write_table(table, path, output_format)
        else:
            write_bytes(path, original)

    files = [path for path in (*tables, report_path, model_out) if path and path != STDOUT]
    with atomic_paths(files) as temporary:
        where = dict(zip(files, temporary))
        for path, table in zip(tables, completed_tables()):
            if path == STDOUT:
                to_stdout = table
            else:
                write(table, where[path])
        report = report_document(
            data=name, n_rows=len(rows.X), filled=completion.filled_counts(),
            empty_rows=int(empty.size), imputer=imputer, imputations=summaries,
            loglik=log_likelihood(imputer, observed_rows) if imputer is not None else None)
        if report_path:
            write_bytes(where[report_path], dumps(report))
        if model_out:
            write_model(where[model_out], imputer.doc)
    if tables[0] == STDOUT:
        write(to_stdout, STDOUT)
    for line in summary_lines(report):
        console.note(line)
    failed = sum(not row["converged"] for row in summaries)
    if failed and tol > 0 and max_iter > 0:
        console.warn(f"{failed} of {draws} bootstrap refits did not converge in {max_iter} "
                     "iterations; raise --max-iter or --tol")
