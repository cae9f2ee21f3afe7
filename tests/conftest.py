import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from emcli.cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAITHFUL = ROOT / "sample_data" / "faithful.csv"
BLOBS = ROOT / "sample_data" / "blobs.csv"


@pytest.fixture
def faithful():
    import pandas as pd

    return pd.read_csv(FAITHFUL).to_numpy(dtype=float)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke emtool in-process, in a temporary directory; returns the click Result."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, [str(a) for a in args], input=input)

    return invoke


def draw_mixture(rng, weights, means, covs, n):
    """(n, D) rows from a Gaussian mixture, and their (n,) component labels."""
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, len(means[0])))
    for k in range(len(weights)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covs[k], size=rows.sum())
    return X, labels
