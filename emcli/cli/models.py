"""emtool models: list the model registry."""

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def models(as_json):
    """List every model emtool can fit: what it is, when to choose it, what it needs, its options.

    Each model has a man page: man -l man/emtool-NAME.7.

    \b
    Examples:
      emtool models
      emtool models --json
    """
    from emcli.models.registry import MODELS

    if as_json:
        rows = [{"name": s.name, "kind": s.kind, "summary": s.summary, "when": s.when,
                 "needs": s.needs, "options": s.flags(), "outputs": list(s.outputs),
                 "missing_values": s.missing, "sample": s.generative,
                 "algorithms": list(s.algorithms), "capabilities": list(s.capabilities)}
                for s in MODELS.values()]
        click.echo(json.dumps(rows, indent=1))
        return
    width = max(len(name) for name in MODELS) + 2
    pad = " " * width
    for spec in MODELS.values():
        click.echo(f"{spec.name:<{width}}{spec.summary} ({spec.kind})")
        click.echo(f"{pad}choose:  {spec.when}")
        click.echo(f"{pad}needs:   {spec.needs}")
        click.echo(f"{pad}options: {', '.join(spec.flags())}")
        click.echo(f"{pad}algorithms: {', '.join(spec.algorithms)}")
        click.echo(f"{pad}predict: {', '.join(spec.outputs)}"
                   + ("; emtool sample draws from it" if spec.generative else ""))
