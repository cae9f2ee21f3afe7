"""emtool predict: apply a fitted model to a table."""

import click

from emcli.cli.options import input_format, verbosity
from emcli.io.formats import FORMATS


@click.command()
@click.argument("model_file", metavar="MODEL.json")
@click.argument("data")
@click.option("--proba", is_flag=True, help="Append p_0..p_{K-1}, each row's component probabilities.")
@click.option("--logpdf", is_flag=True, help="Append logpdf, each row's log density under the model.")
@input_format
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output table ('-' is CSV on stdout); the format follows the extension.")
@click.option("--output-format", type=click.Choice(FORMATS), help="Format of the output table.")
@verbosity
def predict(model_file, data, proba, logpdf, fmt, output, output_format):
    """Label the rows of DATA with MODEL.json's clusters.

    The output keeps DATA's columns and rows and appends 'cluster' (and, with --proba and
    --logpdf, 'p_0'... and 'logpdf').

    \b
    Examples:
      emtool fit sample_data/faithful.csv -k 3 --covariance tied --restarts 10 -o faithful.json
      emtool predict faithful.json sample_data/faithful.csv --proba --logpdf -o labelled.csv
    """
    from emcli.data import load_rows, require_complete
    from emcli.io.atomic import check_writable
    from emcli.io.modelfile import read_model
    from emcli.io.formats import table_format
    from emcli.io.tables import append_columns, write_table
    from emcli.predict import predict_columns

    check_writable(output)
    output_format = table_format(output, output_format)
    model, params, doc = read_model(model_file)
    table, names, X = load_rows(data, fmt, doc["columns"])
    require_complete(X, names, data, model.name)
    new = predict_columns(model, params, X, proba=proba, logpdf=logpdf)
    write_table(append_columns(table, new), output, output_format)
