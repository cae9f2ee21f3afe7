"""emtool predict: apply a fitted model to a table."""

import click

from emcli.cli import options


@options.command(aliases=options.OLD_INPUT_FORMAT)
@click.argument("model_file", metavar="MODEL.json")
@click.argument("data")
@click.option("--proba", is_flag=True, help="Append p_0..p_{K-1}, each row's component probabilities "
                                            "(-m bn: p_H_0, p_H_1, ... per hidden node H).")
@click.option("--logpdf", is_flag=True, help="Append logpdf, each row's log density under the model (-inf for a row so far "
                   "from every component, beyond 1e154 standard deviations, that it is below float "
                   "range; its probabilities are then those of the limit along its direction).")
@click.option("--unseen", type=click.Choice(["error", "missing"]), default="error", show_default=True,
              help="A level the model never saw (categorical): an error, or a missing cell.")
@options.input_format
@options.chunk_bytes
@options.threads
@options.engine_choice
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output table ('-' is CSV on stdout); the format follows the extension. --engine dask: "
                   "a new directory of Parquet parts, one per part of DATA.")
@options.output_format
@options.verbosity
def predict(model_file, data, proba, logpdf, unseen, fmt, chunk_bytes, engine, scheduler, output, output_format):
    """Apply MODEL.json to the rows of DATA: clusters, or a regression's predictions.

    The output keeps DATA's columns and rows and appends 'cluster' (and, with --proba and
    --logpdf, 'p_0'... and 'logpdf'; Student-t models add each row's precision 'weight', small
    for outliers). Regression models append 'prediction' and, where they have a predictive
    variance, 'prediction_std' (see each model's page for its other columns). A Bayesian network
    (-m bn) appends each hidden node's most probable state, in a column named after it.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -k 3 --covariance tied --restarts 10 -o faithful.json
      emtool predict faithful.json sample_data/faithful.csv --proba --logpdf -o labelled.csv
      emtool predict faithful.json sample_data/faithful.csv --engine dask --threads 2 -o labelled_parts
    """
    from emcli import pipeline
    from emcli.io.atomic import check_outputs
    from emcli.io.modelfile import read_model
    from emcli.io.passthrough import output_format as table_output_format
    from emcli.predict import predict_file

    check_outputs([("-o", output)], [model_file, data])
    settings = dict(proba=proba, logpdf=logpdf, unseen=unseen, chunk_bytes=chunk_bytes)
    with pipeline.engine(engine, scheduler) as client:
        model, params, doc = read_model(model_file)
        if client is not None:
            from emcli.cluster.predict import predict_parts

            return predict_parts(client, model, params, doc["columns"], data, fmt, output, **settings)
        output_format = table_output_format(output, output_format, data, fmt)
        predict_file(model, params, doc["columns"], pipeline.Source(data, fmt), output, output_format, **settings)
