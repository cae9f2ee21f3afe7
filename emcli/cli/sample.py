"""emtool sample: draw rows from a fitted generative model."""

import click

from emcli.cli import options

#: the most rows one run draws: tens of gigabytes of CSV, half an hour; more is a mistyped count
#: (a billion more rows are another --seed away)
MAX_ROWS = 10**9


@options.command()
@click.argument("model_file", metavar="MODEL.json")
@click.option("-n", "n_rows", type=click.IntRange(min=1, max=MAX_ROWS), required=True,
              help="Number of rows to draw, at most a billion (drawn and written a block at a time).")
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
    from emcli.io.tables import write_batches
    from emcli.sampling import sample_blocks

    check_outputs([("-o", output)], [model_file])
    output_format = table_format(output, output_format, flag="--output-format")
    model, params, doc = read_model(model_file)
    schema, batches = sample_blocks(model, params, doc["columns"], n_rows, np.random.default_rng(seed))
    write_batches(schema, batches, output, output_format)
