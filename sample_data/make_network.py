"""Regenerate the sample Bayesian network's data: ``network.csv`` and its structure ``network.dot``.

Run from the repository root:  python sample_data/make_network.py

Two hidden nodes, ``Lifestyle`` (2 states) and ``Illness`` (3 states), and seven observed
columns of text levels: ``smoker``, ``exercise``, ``age``, ``cough``, ``fever``, ``fatigue`` and
``clinic`` (whether the person saw a doctor).  The conditional probability tables below are the
truth the rows are drawn from (5,000 rows by ancestral sampling, seed 20261130); then 8% of the
observed cells are removed completely at random, never a whole row.  The hidden nodes' states
are numbered, not named: a fit gives them back up to relabelling.
"""

import csv

import numpy as np

#: node -> (parents, levels, table): one row per parent configuration (the parents' levels in
#: order, the last parent varying fastest), each row a distribution over the node's levels
NETWORK = {
    "Lifestyle": ((), ("0", "1"), [[0.6, 0.4]]),
    "age": ((), ("young", "middle", "old"), [[0.35, 0.4, 0.25]]),
    "smoker": (("Lifestyle",), ("no", "yes"), [[0.95, 0.05], [0.2, 0.8]]),
    "exercise": (("Lifestyle",), ("rarely", "weekly", "daily"), [[0.05, 0.35, 0.6], [0.75, 0.2, 0.05]]),
    "Illness": (("Lifestyle", "age"), ("0", "1", "2"),
                [[0.8, 0.15, 0.05], [0.7, 0.2, 0.1], [0.55, 0.25, 0.2],
                 [0.6, 0.25, 0.15], [0.45, 0.3, 0.25], [0.3, 0.35, 0.35]]),
    "cough": (("smoker", "Illness"), ("no", "yes"),
              [[0.92, 0.08], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4], [0.1, 0.9], [0.4, 0.6]]),
    "fever": (("Illness",), ("no", "mild", "high"), [[0.92, 0.06, 0.02], [0.1, 0.3, 0.6], [0.3, 0.6, 0.1]]),
    "fatigue": (("Illness",), ("no", "yes"), [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]),
    "clinic": (("fever", "Illness"), ("no", "yes"),
               [[0.95, 0.05], [0.8, 0.2], [0.6, 0.4], [0.85, 0.15], [0.5, 0.5], [0.4, 0.6],
                [0.6, 0.4], [0.2, 0.8], [0.2, 0.8]]),
}
HIDDEN = ("Lifestyle", "Illness")
COLUMNS = ("smoker", "exercise", "age", "cough", "fever", "fatigue", "clinic")


def draw(n: int, rng: np.random.Generator) -> dict:
    """Level indices of every node for ``n`` rows, drawn parents first (NETWORK is in that order)."""
    states = {}
    for node, (parents, levels, table) in NETWORK.items():
        table = np.array(table)
        row = np.zeros(n, dtype=np.intp)
        for parent in parents:
            row = row * len(NETWORK[parent][1]) + states[parent]
        cumulative = np.cumsum(table[row], axis=1)
        states[node] = np.minimum((rng.random((n, 1)) > cumulative).sum(axis=1), len(levels) - 1)
    return states


def main(n: int = 5000, missing: float = 0.08, seed: int = 20261130) -> None:
    rng = np.random.default_rng(seed)
    states = draw(n, rng)
    cells = np.array([[NETWORK[c][1][s] for s in states[c]] for c in COLUMNS], dtype=object).T
    holes = rng.random(cells.shape) < missing
    holes[holes.all(axis=1), 0] = False  # never a whole row
    cells[holes] = ""
    with open("sample_data/network.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(cells.tolist())
    with open("sample_data/network.dot", "w") as handle:
        handle.write("// The sample network of make_network.py; Lifestyle and Illness are hidden.\n")
        handle.write("digraph network {\n")
        for node, (parents, _, _) in NETWORK.items():
            for parent in parents:
                handle.write(f"  {parent} -> {node};\n")
        handle.write("}\n")


if __name__ == "__main__":
    main()
