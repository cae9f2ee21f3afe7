"""Regenerate sample_data/blobs.csv: 600 rows drawn from a known three-component Gaussian mixture.

Run from the repository root:  python sample_data/make_blobs.py
The column ``truth`` names the component each row was drawn from (text, so emtool leaves it out
of the numeric columns by default and passes it through to predict's output).
"""

import csv

import numpy as np

WEIGHTS = [0.5, 0.3, 0.2]
MEANS = [[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]]
COVARIANCES = [[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]], [[1.5, 0.0], [0.0, 0.4]]]
NAMES = ["a", "b", "c"]


def main(path: str = "sample_data/blobs.csv", n: int = 600, seed: int = 20261121) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y", "truth"])
        for label in labels:
            x, y = rng.multivariate_normal(MEANS[label], COVARIANCES[label])
            writer.writerow([f"{x:.4f}", f"{y:.4f}", NAMES[label]])


if __name__ == "__main__":
    main()
