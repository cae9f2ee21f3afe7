"""emtool describe: a summary of a model file for people (or, as JSON, for programs)."""

import click

from emcli.cli import options


@options.command()
@click.argument("model_file", metavar="MODEL.json")
@click.option("--output-format", "text_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: tables for people (rich on a terminal, plain aligned columns otherwise); "
                   "json: one object of the same facts, unrounded.")
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output file ('-' is stdout).")
@options.verbosity
def describe(model_file, text_format, output):
    """Summarise the fitted model in MODEL.json ('-': standard input).

    The model and its options, the columns (and a regression's target), K; each component's
    weight and its mean, centre, probabilities or coefficients, with a Gaussian's (or a
    t's) spread: the scale of each column (the square root of its variance), the correlations
    (the largest of them beyond 6 columns) and the condition number; a regression's
    coefficients (for rvm, which were kept); a network's conditional probability tables. Then
    the fit: its objective (log-likelihood, log-posterior, ELBO, log evidence or inertia),
    BIC and AIC, convergence, iterations, algorithm, engine, seed, every restart, and the
    events of its trace (re-seeded components). Numbers are rounded to 5 significant digits
    (the objective, BIC and AIC to 3 decimals); the JSON keeps them whole.

    \b
    Examples:
      emtool describe faithful.json
      emtool describe centres.json --output-format json -o centres-summary.json
      emtool describe refit.json | grep -A4 '^Fit'
    """
    import sys

    from emcli.describe import render, summary
    from emcli.io.atomic import check_outputs, write_bytes
    from emcli.io.modelfile import read_model

    check_outputs([("-o", output)], [model_file])
    model, params, doc = read_model(model_file)
    facts = summary.facts(model, params, doc, "<stdin>" if model_file == "-" else model_file)
    terminal = output == "-" and sys.stdout.isatty()
    write_bytes(output, render.render(facts, text_format, terminal).encode())
