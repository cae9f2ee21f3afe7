"""emtool export: a fitted model in a format other tools read."""

import click

from emcli.cli import options

FORMATS = ("bif", "dot")


@options.command()
@click.argument("model_file", metavar="MODEL.json")
@click.option("--format", "export_format", type=click.Choice(FORMATS), required=True,
              help="bif: the Bayesian Interchange Format (bnlearn, pgmpy, JavaBayes); dot: the "
                   "structure as a Graphviz digraph, hidden nodes dashed.")
@click.option("-o", "--output", default="-", show_default=True, metavar="OUT",
              help="Output file ('-' is stdout).")
@options.verbosity
def export(model_file, export_format, output):
    """Write the Bayesian network in MODEL.json (-m bn) for other tools.

    The BIF file holds every node with its states (a column's levels; a hidden node's states
    0..K-1, as predict numbers them), parents and conditional probability table; a comment
    names the hidden nodes, which BIF cannot mark. 'emtool fit -m bn --init FILE.bif --hidden
    H ...' starts a fit from it. The DOT file draws with Graphviz: dot -Tpng net.dot -o net.png.

    \b
    Examples:
      emtool fit sample_data/network.csv -m bn --structure sample_data/network.dot --hidden Lifestyle=2 --hidden Illness=3 -o net.json
      emtool export net.json --format bif -o net.bif
      emtool export net.json --format dot -o net.dot
    """
    from emcli.io.atomic import check_outputs, write_bytes
    from emcli.io.modelfile import read_model

    check_outputs([("-o", output)], [model_file])
    model, params, doc = read_model(model_file)
    write_bytes(output, network_text(model, params, doc, model_file, export_format).encode())


def network_text(model, params, doc: dict, path: str, export_format: str) -> str:
    """The model's network as ``export_format`` writes it; a UsageError for a model that has none."""
    from emcli.em.protocol import HiddenNodes, has
    from emcli.errors import UsageError

    if not has(model, HiddenNodes):
        raise UsageError(f"{path} holds a {doc['model']} model; export writes Bayesian networks (-m bn)")
    if export_format == "dot":
        from emcli.models.bn_structure import to_dot

        return to_dot(model.structure)
    from emcli.models.bn_bif import write_bif

    hidden = ", ".join(model.hidden_names())
    return f"// emtool {doc['emtool_version']}: hidden nodes {hidden}\n" + write_bif("emtool", model.bif_variables(params))
