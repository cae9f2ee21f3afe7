"""emtool select-k: choose the number of components (and the covariance structure)."""

import click

from emcli.cli import options

#: what decides, for --help
CRITERION_HELP = ("What decides: bic, aic, icl (BIC plus twice the entropy of the responsibilities), "
                  "cv (mean held-out log-likelihood over --folds), gap (Tibshirani et al.'s gap "
                  "statistic, one-standard-error rule) or reconstruction (held-out squared distance "
                  "to the nearest centre), or elbo (the evidence lower bound of --algorithm variational "
                  "fits, which take elbo and cv). kmeans and kmedoids take gap and reconstruction. "
                  "[default: bic; gap for kmeans and kmedoids; elbo for variational fits]")


@options.command("select-k", aliases={"--format": "--output-format"})
@click.argument("data")
@options.model_name
@options.k_range
@click.option("--covariance", metavar="all|FORM,...",
              help="Covariance structures to try (gmm, student, tmix): all (the default: gmm's "
                   "fourteen forms EII..VVV, the four structures of student and tmix) or a list "
                   "such as EEE,VEV,full.")
@click.option("--criterion", help=CRITERION_HELP)
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="cv, reconstruction: folds of the data.")
@click.option("--reference-draws", type=click.IntRange(min=1, max=options.MAX_COUNT), default=10,
              show_default=True,
              help="gap: uniform reference sets per cell.")
@options.fit_options
@options.engine_options
@click.option("--jobs", type=click.IntRange(min=1),
              help="Processes fitting cells at once, sharing --threads (default: the cores this process may "
                   "use); results do not depend on it.")
@click.option("--output-format", "table_format", type=click.Choice(["table", "csv", "json"]),
              help="The table on stdout: a table on a terminal, CSV otherwise by default.")
@click.option("--table", "table_path", metavar="FILE", help="Also write the table (CSV, or JSON by extension).")
@click.option("-o", "--output", metavar="BEST.json", help="Write the chosen model's file.")
@click.option("--plot", "plot_path", metavar="FILE.png",
              help="Draw each computed criterion against k, one line per covariance type, each "
                   "criterion's own choice starred, the chosen cell ringed: a PNG, or an SVG for a "
                   "name ending in .svg ('emtool plot TABLE --kind bic' draws a --table file so).")
@options.verbosity
@click.pass_context
def select_k(ctx, data, model_name, k_range, covariance, criterion, folds, reference_draws, jobs,
             table_format, table_path, output, plot_path, engine, scheduler, persist, **values):
    """Fit every cell of a grid (components x covariance types) to DATA and pick the best.

    The table lists, per cell, the log-likelihood, number of parameters, BIC, AIC, ICL,
    convergence and time; the chosen row is marked in 'best'. A cell that fails (more components
    than rows, a degenerate fit) is a row with its reason; the command succeeds if any cell did.
    Every option of 'emtool fit' applies to every cell. With --prior default every cell is a MAP
    fit (gmm, bernoulli, categorical) scored by the log-likelihood at the posterior mode, as
    Fraley and Raftery's regularised BIC: large K and full covariances then fail less often on
    small data.

    \b
    Examples:
      emtool select-k sample_data/faithful.csv --k-range 1:4 -o best.json
      emtool select-k sample_data/blobs.csv --k-range 1:6 --covariance full,tied --output-format json
      emtool select-k sample_data/blobs.csv -m kmeans --k-range 1:8 --criterion gap --plot gap.png
      emtool select-k sample_data/faithful.csv --k-range 1:6 --covariance EEE,VEV,VVV --prior default --table map.csv
    """
    from emcli import console, pipeline
    from emcli.cli.fitspec import fit_request
    from emcli.cli.report import require_sound, show
    from emcli.em.workers import available_cores
    from emcli.io.atomic import check_outputs
    from emcli.select import grid, run
    from emcli.select.plot import check_path as check_plot_path

    check_outputs([("-o", output), ("--table", table_path), ("--plot", plot_path)], [data])
    check_plot_path(plot_path)
    criterion = grid.check_criterion(model_name, criterion, values["algorithm"])
    cells = run.grid(grid.parse_k_range(k_range), grid.covariance_types(model_name, covariance))
    chosen = frozenset({"k", "covariance"} if covariance is not None else {"k"})  # the cells set them
    request = fit_request(ctx, data, model_name, values, chosen=chosen, warm_start=False)
    with pipeline.engine(engine, scheduler, persist) as client:
        rows = pipeline.load(request.spec, request.source, k=1, client=client, persist=persist)
        show(notes=[f"columns: {', '.join(rows.columns)}"])
        scoring = grid.Scoring(criterion, folds, reference_draws)
        run.check_data(rows, data, [cell.k for cell in cells], scoring)
        with console.progress(len(cells), f"select-k {model_name}") as advance:
            # on a cluster the cells take turns here, each fit's passes spread over the workers
            selection = run.select(request.spec, rows, cells, scoring,
                                   1 if client else jobs or available_cores(), advance)
    require_sound(values["strict"], selection.warnings)
    _write(selection, output, table_path, plot_path, table_format)
    show([*rows.warnings, *selection.warnings])
    best = selection.chosen
    cov = f" {best['covariance']}" if best["covariance"] else ""
    console.note(f"best by {criterion}: {model_name}{cov} with k={best['k']} ({criterion} {best[criterion]:.2f})")


def _write(selection, output, table_path, plot_path, table_format) -> None:
    """The files asked for, then the table on stdout."""
    import sys

    from emcli.cli.table import render_rows
    from emcli.io.atomic import STDOUT, write_bytes
    from emcli.io.modelfile import write_model

    table = selection.table
    if table_path:
        write_bytes(table_path, render_rows(table, "json" if table_path.endswith(".json") else "csv").encode())
    if output:
        write_model(output, selection.docs[selection.best])
    if plot_path:
        from emcli.select.grid import HIGHER_IS_BETTER
        from emcli.select.plot import drawn_criteria, plot_criteria

        plot_criteria(table, drawn_criteria(table), selection.best, plot_path, higher_is_better=HIGHER_IS_BETTER)
    write_bytes(STDOUT, render_rows(table, table_format or ("table" if sys.stdout.isatty() else "csv")).encode())
