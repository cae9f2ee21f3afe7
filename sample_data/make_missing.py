"""Regenerate the incomplete sample tables used by ``emtool impute``'s examples and tests.

Run from the repository root:  python sample_data/make_missing.py

- ``survey.csv``: 200 answers to a made-up survey.  ``respondent`` and ``region`` are text and
  pass through; ``age`` and ``satisfaction`` are integers, ``income`` and ``hours`` decimals,
  drawn from one correlated normal (the parameters below).  About 15% of ``income`` is missing,
  more often for older respondents (missing at random given ``age``), and about 10% of
  ``hours``, ``satisfaction`` and ``age`` completely at random; no row loses every number.
- ``faithful_missing.csv``: ``faithful.csv`` with 15% of its cells removed completely at random,
  never both cells of a row.
"""

import csv

import numpy as np

#: age, income (thousands), hours per week, satisfaction (1..10)
MEAN = [45.0, 52.0, 38.0, 6.5]
SD = [14.0, 18.0, 9.0, 1.8]
CORRELATION = [[1.0, 0.55, -0.2, 0.15],
               [0.55, 1.0, 0.35, 0.3],
               [-0.2, 0.35, 1.0, -0.4],
               [0.15, 0.3, -0.4, 1.0]]
REGIONS = ["north", "south", "east", "west"]


def survey(path: str = "sample_data/survey.csv", n: int = 200, seed: int = 20261122) -> None:
    rng = np.random.default_rng(seed)
    cov = np.array(CORRELATION) * np.outer(SD, SD)
    values = rng.multivariate_normal(MEAN, cov, size=n)
    age = np.clip(np.rint(values[:, 0]), 18, 85)
    satisfaction = np.clip(np.rint(values[:, 3]), 1, 10)
    income, hours = np.round(values[:, 1], 1), np.round(values[:, 2], 1)
    table = np.column_stack([age, income, hours, satisfaction])
    hidden = np.zeros(table.shape, dtype=bool)
    hidden[:, 1] = rng.random(n) < 0.05 + 0.2 * (age > 50)
    hidden[:, [0, 2, 3]] = rng.random((n, 3)) < 0.1
    hidden[hidden.all(axis=1), 1] = False
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent", "region", "age", "income", "hours", "satisfaction"])
        for i, (row, gaps) in enumerate(zip(table, hidden)):
            cells = ["" if gap else (f"{v:.0f}" if j in (0, 3) else f"{v:.1f}")
                     for j, (v, gap) in enumerate(zip(row, gaps))]
            writer.writerow([f"r{i + 1:03d}", REGIONS[rng.integers(len(REGIONS))], *cells])


def faithful(source: str = "sample_data/faithful.csv", path: str = "sample_data/faithful_missing.csv",
             seed: int = 20261123) -> None:
    rng = np.random.default_rng(seed)
    with open(source, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    hidden = rng.random((len(body), len(header))) < 0.15
    hidden[hidden.all(axis=1), rng.integers(len(header))] = False
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row, gaps in zip(body, hidden):
            writer.writerow(["" if gap else cell for cell, gap in zip(row, gaps)])


if __name__ == "__main__":
    survey()
    faithful()
