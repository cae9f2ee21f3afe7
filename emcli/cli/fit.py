"""emtool fit: fit a model to a table and write the model file."""

import click

from emcli.cli import options


@options.command(aliases=options.OLD_INPUT_FORMAT)
@click.argument("data")
@options.model_name
@options.components
@options.covariance
@options.fit_options
@options.engine_options
@click.option("-o", "--output", default="-", show_default=True, metavar="MODEL.json",
              help="Where to write the model file ('-' is stdout).")
@click.option("--trace", "trace_path", metavar="TRACE.csv",
              help="Also write the best restart's per-iteration trace as CSV.")
@options.verbosity
@click.pass_context
def fit(ctx, data, model_name, output, trace_path, engine, scheduler, persist, **values):
    """Fit a model to DATA (CSV, TSV, Parquet, or '-' for CSV on stdin).

    Uses every column the model can read unless --columns chooses (numeric columns for most
    models; for regression models, every numeric column but the --target). Writes one JSON model file: the parameters, the log-likelihood (inertia for
    kmeans), BIC and AIC, one summary per restart and the best restart's per-iteration trace.
    A warning goes to stderr when the best restart did not converge or a component is
    degenerate; with --strict that is an error of exit status 3 and nothing is written.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -m gmm -k 3 --covariance tied --restarts 10 -o faithful.json
      cat sample_data/blobs.csv | emtool fit - -m kmeans -k 3 > centres.json
      emtool fit sample_data/faithful.csv -k 3 --init faithful.json --trace trace.csv -o refit.json
      emtool fit sample_data/faithful.csv --init faithful.json --engine dask --threads 2 -o dask.json
    """
    import time

    from emcli import console, pipeline
    from emcli.cli.fitspec import fit_request
    from emcli.cli.report import fit_progress, require_sound, resolved, show, summary, timings
    from emcli.io.atomic import check_outputs, write_all
    from emcli.io.modelfile import dumps, trace_csv

    check_outputs([("-o", output), ("--trace", trace_path)], [data, values["init"]])
    request = fit_request(ctx, data, model_name, values)
    show(notes=request.notes)
    console.detail(resolved(request.spec, engine=engine))
    clock = [time.perf_counter()]
    with pipeline.engine(engine, scheduler, persist) as client:
        rows = pipeline.load(request.spec, request.source, levels=request.levels, may_stream=True, client=client,
                             persist=persist)
        clock.append(time.perf_counter())
        with fit_progress(request.spec) as advance:
            fitted = pipeline.fit(request.spec, rows, on_restart=advance)
    clock.append(time.perf_counter())
    require_sound(values["strict"], fitted.warnings)
    show([*rows.warnings, *fitted.warnings], fitted.notes)
    write_all([(output, dumps(fitted.doc))] + ([(trace_path, trace_csv(fitted.doc))] if trace_path else []))
    show(notes=[summary(fitted.doc)])
    console.detail(timings(read=clock[1] - clock[0], fit=clock[2] - clock[1], write=time.perf_counter() - clock[2]))
