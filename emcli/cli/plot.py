"""emtool plot: draw a fitted model, its fit, or a select-k table."""

import click

from emcli.cli import options
from emcli.plot import KINDS


@options.command()
@click.argument("source", metavar="MODEL.json|TABLE")
@click.argument("data", required=False)
@click.option("--kind", type=click.Choice(KINDS), required=True,
              help="trace: the objective against iteration; classification: the rows coloured by "
                   "cluster; uncertainty: sized by 1 - their largest cluster probability; density: "
                   "contours of the fitted density on two columns; bic: a select-k --table file's "
                   "criteria against k.")
@options.columns
@options.input_format
@click.option("-o", "--output", required=True, metavar="FILE.png|FILE.svg",
              help="The image: PNG or SVG, by the extension.")
@options.verbosity
def plot(source, data, kind, columns, exclude, fmt, output):
    """Draw MODEL.json, with the rows of DATA, or a select-k table, as a PNG or SVG image.

    classification: DATA's columns (the model's, or those --columns picks, at most 6) in a
    scatter matrix, each row coloured by its cluster, with each component's 1- and 2-sigma
    ellipses on every pair of columns (gmm; student and tmix: their scale matrices) or the
    centres of kmeans and kmedoids. uncertainty: the same, each row's marker growing with 1 -
    its largest cluster probability. Of a table of more than 20,000 rows, 20,000 evenly spaced
    rows are drawn. density: contours of the model's density on two columns (the first two, or
    --columns A,B), over DATA's rows when given. trace: the objective the model file names
    (log_likelihood, log_posterior, elbo, log_evidence or inertia) against iteration, with the
    fit's events and each restart's final value. bic: TABLE, as 'select-k --table' wrote it,
    drawn as select-k --plot draws it.

    \b
    Examples:
      emtool plot faithful.json --kind trace -o trace.png
      emtool plot faithful.json sample_data/faithful.csv --kind classification -o clusters.png
      emtool plot faithful.json sample_data/faithful.csv --kind uncertainty -o uncertainty.svg
      emtool plot faithful.json sample_data/faithful.csv --kind density -o density.png
      emtool plot centres.json sample_data/blobs.csv --kind classification -o centres.png
      emtool select-k sample_data/faithful.csv --k-range 1:4 --covariance EII,VII,EEE,VEV,VVV --table bic.csv -o best.json && emtool plot bic.csv --kind bic -o bic.png
    """
    from emcli.io.atomic import check_outputs
    from emcli.plot import figure
    from emcli.plot.kinds import Request, figure_for

    check_outputs([("-o", output)], [source, data])
    figure.image_format("-o", output)
    figure.require_matplotlib()
    request = Request(kind, source, data, fmt, columns, options.checked_exclude(columns, exclude))
    figure.save(figure_for(request), output)
