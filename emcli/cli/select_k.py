"""emtool select-k: choose the number of components (and the covariance structure)."""

import click

from emcli.cli.options import chosen_prior, columns_option, prior_options, seed_option, verbosity
from emcli.io.formats import FORMATS


@click.command("select-k")
@click.argument("data")
@click.option("-m", "--model", "model_name", default="gmm", show_default=True,
              help="Model whose number of components to choose.")
@click.option("--k-range", default="1:10", show_default=True, metavar="LOW:HIGH|K,K,...",
              help="Numbers of components to try: a range (inclusive) or a list.")
@click.option("--covariance", metavar="all|TYPE,...",
              help="Covariance types to try (gmm, tmix): all (the default) or a list.")
@click.option("--criterion", default="bic", show_default=True,
              help="What decides: bic, aic, icl (BIC plus twice the entropy of the responsibilities), "
                   "cv (mean held-out log-likelihood over --folds), gap (Tibshirani et al.'s gap "
                   "statistic, one-standard-error rule) or reconstruction (held-out squared distance "
                   "to the nearest centre). kmeans and kmedoids take gap and reconstruction.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="cv, reconstruction: folds of the data.")
@click.option("--reference-draws", type=click.IntRange(min=1), default=10, show_default=True,
              help="gap: uniform reference sets per cell.")
@prior_options
@click.option("--target", metavar="COLUMN", help="experts: the column to predict.")
@columns_option
@click.option("--input-format", "fmt", type=click.Choice(FORMATS),
              help="Format of DATA (default: by extension; '-' is CSV).")
@click.option("--restarts", type=click.IntRange(min=1), default=3, show_default=True,
              help="Starts per cell; the best log-likelihood wins.")
@seed_option("Random seed of every cell.")
@click.option("--max-iter", type=click.IntRange(min=1), default=500, show_default=True,
              help="Most EM iterations per start.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Convergence tolerance on the mean per-row log-likelihood.")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Processes fitting cells at once (default: the machine's cores); results do not depend on it.")
@click.option("--format", "table_format", type=click.Choice(["table", "csv", "json"]),
              help="The table on stdout: a table on a terminal, CSV otherwise by default.")
@click.option("--table", "table_path", metavar="FILE", help="Also write the table (CSV, or JSON by extension).")
@click.option("-o", "--output", metavar="BEST.json", help="Write the chosen model's file.")
@click.option("--plot", "plot_path", metavar="FILE.png",
              help="Draw each computed criterion against k, one line per covariance type, the best marked.")
@verbosity
@click.pass_context
def select_k(ctx, data, model_name, k_range, covariance, criterion, folds, reference_draws, prior,
             prior_params, target, columns, fmt, restarts, seed, max_iter, tol, jobs, table_format,
             table_path, output, plot_path):
    """Fit every cell of a grid (components x covariance types) to DATA and pick the best.

    The table lists, per cell, the log-likelihood, number of parameters, BIC, AIC, ICL,
    convergence and time; the chosen row is marked in 'best'. A cell that fails (more components
    than rows, a degenerate fit) is a row with its reason; the command succeeds if any cell did.
    With --prior default every cell is a MAP fit (gmm, bernoulli, categorical) scored by the
    log-likelihood at the posterior mode, as Fraley and Raftery's regularised BIC: large K and
    full covariances then fail less often on small data.

    \b
    Examples:
      emtool select-k sample_data/faithful.csv -m gmm --k-range 1:9 --covariance all -o best.json
      emtool select-k sample_data/blobs.csv --k-range 1:6 --covariance full,tied --format json
      emtool select-k sample_data/blobs.csv -m kmeans --k-range 1:8 --criterion gap --plot gap.png
      emtool select-k sample_data/faithful.csv --k-range 1:6 --prior default --table map.csv
    """
    import os
    import sys

    from emcli import console
    from emcli.data import (display_name, load_regression_rows, load_rows, require_complete, require_no_empty_rows,
                            require_observed_columns, require_rows, require_variation)
    from emcli.errors import DataError, FitError, UsageError
    from emcli.io.atomic import check_writable, write_bytes
    from emcli.io.modelfile import write_model
    from emcli.cli.table import render_rows
    from emcli.models import registry
    from emcli.select import (HIGHER_IS_BETTER, Cell, best_index, check_criterion,
                              covariance_types, parse_k_range, run_grid)

    for path in (output, table_path, plot_path):
        if path:
            check_writable(path)
    check_criterion(model_name, criterion)
    ks = parse_k_range(k_range)
    cells = [Cell(k, cov) for cov in covariance_types(model_name, covariance) for k in ks]
    spec = registry.spec(model_name)
    model_options = chosen_prior(ctx, prior, prior_params)
    if model_options and "prior" not in spec.options:
        raise UsageError(f"model {model_name} does not take --prior")
    if spec.target_kind:
        if target is None:
            raise UsageError(f"model {model_name} needs --target COLUMN, the column to predict")
        rows = load_regression_rows(data, fmt, columns, target, spec.target_kind)
    elif target is not None:
        raise UsageError(f"model {model_name} does not take --target (it is not a regression model)")
    else:
        rows = load_rows(data, fmt, columns, spec.data)
    if not spec.missing:
        require_complete(rows.X, rows.columns, data, model_name)
    else:
        require_observed_columns(rows.X, rows.columns, data)
        require_no_empty_rows(rows.X, data, "drop them")
    # What fit checks of the data for any K, so that a bad file is one line here too rather
    # than every cell failing.
    model_class = spec.load()
    require_rows(rows.X, 1, data, model_class)
    if getattr(model_class, "requires_variation", False):
        require_variation(rows.X, rows.columns, data, model_name)
    if criterion in ("cv", "reconstruction") and folds > len(rows.X):
        n = len(rows.X)
        raise UsageError(f"--folds {folds} is more than the {n} row{'s' if n > 1 else ''} of {display_name(data)}")
    if criterion == "gap" and not (rows.X != rows.X[0]).any():
        raise DataError(f"{display_name(data)} has one distinct row; the gap statistic needs spread")
    if min(ks) > len(rows.X):
        raise DataError(f"every --k-range value exceeds the {len(rows.X)} rows of the data")
    fit_options = {"restarts": restarts, "seed": seed, "max_iter": max_iter, "tol": tol}
    with console.progress(len(cells), f"select-k {model_name}") as advance:
        results = run_grid(model_name, cells, rows.X, rows.columns, fit_options,
                           jobs or os.cpu_count() or 1, on_done=advance, levels=rows.levels,
                           criterion=criterion, folds=folds, reference_draws=reference_draws,
                           target=rows.target, model_options=model_options)
    table = [row for row, _ in results]
    best = best_index(table, criterion)
    for i, row in enumerate(table):
        row["best"] = "*" if i == best else ""
    if best is None:
        raise FitError(f"every cell failed; the first: {table[0]['error']}")
    if table_path:
        write_bytes(table_path, render_rows(table, "json" if table_path.endswith(".json") else "csv").encode())
    if output:
        write_model(output, results[best][1])
    if plot_path:
        from emcli.select_plot import plot_criteria

        drawn = [c for c in ("bic", "aic", "icl", "cv", "gap", "reconstruction", "inertia")
                 if any(row.get(c) is not None for row in table)]
        plot_criteria(table, drawn, best, plot_path, higher_is_better=HIGHER_IS_BETTER)
    chosen = table_format or ("table" if sys.stdout.isatty() else "csv")
    sys.stdout.write(render_rows(table, chosen))
    cov = f" {table[best]['covariance']}" if table[best]["covariance"] else ""
    console.note(f"best by {criterion}: {model_name}{cov} with k={table[best]['k']} "
                 f"({criterion} {table[best][criterion]:.2f})")
