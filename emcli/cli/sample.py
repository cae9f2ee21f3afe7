"""emtool sample: draw rows from a fitted generative model."""

import click

from emcli.cli import options


@options.command()
@click.argument("model_file", metavar="MODEL.json")
@click.option("-n", "n_rows", type=click.IntRange(min=1), required=True, help="Number of rows to draw.")
@options.seed
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output table ('-' is CSV on stdout); the format follows the extension.")
@options.output_format
@options.verbosity
def sample(model_file, n_rows, seed, output, output_format):
    """Draw N rows from the distribution MODEL.json describes.

    The output has the model's columns and, for mixtures, 'component': the component each row
    was drawn from.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -k 3 --covariance tied --restarts 10 -o faithful.json
      emtool sample faithful.json -n 1000 --seed 1 -o synthetic.csv
    """
    import numpy as np

    from emcli.io.atomic import check_outputs
    from emcli.io.formats import table_format
    from emcli.io.modelfile import read_model
    from emcli.io.tables import write_table
    from emcli.sampling import sample_table

    check_outputs([("-o", output)], [model_file])
    output_format = table_format(output, output_format, flag="--output-format")
    model, params, doc = read_model(model_file)
    table = sample_table(model, params, doc["columns"], n_rows, np.random.default_rng(seed))
    write_table(table, output, output_format)
