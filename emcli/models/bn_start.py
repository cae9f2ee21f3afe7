"""A Bayesian network's fit started from a BIF file (``emtool fit -m bn --init FILE.bif``): the
file gives the structure, every node's states and the CPTs to start EM from; ``--hidden``
names the nodes that are not columns, which BIF cannot mark."""

import numpy as np

from emcli.errors import UsageError


def network_start(variables: list, hidden: dict, path: str) -> tuple[dict, list, list]:
    """From emcli.models.bn_bif's ``variables`` and the ``--hidden`` nodes (name -> states or
    None): the model's options (structure, hidden with the file's numbers of states, observed
    columns in the file's order), the observed columns' levels (the file's states, as text) and
    the CPTs in the order of the network the model builds, each with its parents' axes in that
    network's order.  UsageError for a --hidden node the file lacks or sizes otherwise."""
    from emcli.models.bn_parse import quote

    by_name = {variable["name"]: variable for variable in variables}
    if not hidden:
        raise UsageError(f"--init {path}: name the network's hidden nodes with --hidden (BIF does not mark them)")
    sized = {}
    for name, states in hidden.items():
        if name not in by_name:
            raise UsageError(f"--hidden {name}: {path} has no variable {name!r}")
        found = len(by_name[name]["states"])
        if states is not None and states != found:
            raise UsageError(f"--hidden {name}={states}: {path} gives {name!r} {found} states")
        sized[name] = found
    edges = [f"{quote(parent)} -> {quote(v['name'])}" for v in variables for parent in v["parents"]]
    alone = [quote(v["name"]) for v in variables
             if not v["parents"] and not any(v["name"] in other["parents"] for other in variables)]
    observed = [v["name"] for v in variables if v["name"] not in sized]
    options = {"structure": ", ".join(edges + alone), "hidden": sized, "observed": observed, "k": None}
    return options, [list(by_name[name]["states"]) for name in observed], by_name


def start_cpts(network, by_name: dict) -> list:
    """The file's CPTs (``by_name`` from network_start) in ``network``'s node order, each
    transposed so that its parents' axes follow that network's order of them."""
    cpts = []
    for v, name in enumerate(network.names):
        variable = by_name[name]
        order = [variable["parents"].index(network.names[p]) for p in network.parents[v]]
        cpts.append(np.ascontiguousarray(np.transpose(variable["cpt"], [*order, len(order)])))
    return cpts
