"""Valid inputs the mutations start from: a model file for every model emtool fits (written by
``emtool fit`` on sample_data or small generated tables), with the table it was fit to, and
.emq files written by ``emtool compress``.  Built once per session, in process."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import SAMPLE

FAITHFUL = SAMPLE / "faithful.csv"


def _faithful60() -> bytes:
    """The first 60 eruptions: the Student-t and RVM fits take seconds on all 272."""
    return b"".join(FAITHFUL.read_bytes().splitlines(keepends=True)[:61])


def _binary_csv() -> bytes:
    rng = np.random.default_rng(1)
    X = (rng.random((40, 4)) < np.where(np.arange(40)[:, None] < 20, 0.8, 0.2)).astype(int)
    return ("a,b,c,d\n" + "".join(",".join(map(str, row)) + "\n" for row in X)).encode()


def _probit_csv() -> bytes:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int)
    return ("x1,x2,y\n" + "".join(f"{a:.4f},{b:.4f},{t}\n" for (a, b), t in zip(x, y))).encode()


@dataclass(frozen=True, repr=False)
class Seed:
    """A fitted model file and the table it was fit to (named ``data_name``)."""

    name: str
    model: bytes
    data_name: str
    data: bytes
    generative: bool

    def __repr__(self) -> str:
        return f"Seed({self.name!r})"


# name: (data file name, data bytes, fit arguments)
SEEDS = {
    "gmm-full": ("faithful.csv", None, ["-k", "2"]),
    "gmm-k1": ("faithful60.csv", _faithful60, ["-k", "1"]),
    "gmm-tied": ("faithful.csv", None, ["-k", "2", "--covariance", "tied"]),
    "gmm-diag": ("faithful.csv", None, ["-k", "3", "--covariance", "diag"]),
    "gmm-spherical": ("faithful.csv", None, ["-k", "2", "--covariance", "spherical"]),
    "gmm-prior": ("faithful.csv", None, ["-k", "2", "--prior", "default"]),
    "gmm-missing": ("faithful_missing.csv", None, ["-k", "2"]),
    "kmeans": ("faithful.csv", None, ["-m", "kmeans", "-k", "3"]),
    "kmedoids": ("faithful60.csv", _faithful60, ["-m", "kmedoids", "-k", "2", "--metric", "cityblock", "--max-iter", "40"]),
    "bernoulli": ("binary.csv", _binary_csv, ["-m", "bernoulli", "-k", "2"]),
    "categorical": ("survey.csv", None, ["-m", "categorical", "-k", "2", "--columns", "region,satisfaction"]),
    "bn": ("network.csv", None, ["-m", "bn", "--structure", "Lifestyle -> smoker, Lifestyle -> Illness, "
                                  "age -> Illness, Illness -> cough, smoker -> cough, Illness -> fever",
                                  "--hidden", "Lifestyle=2", "--hidden", "Illness=3", "--max-iter", "40"]),
    "student": ("faithful60.csv", _faithful60, ["-m", "student", "--max-iter", "40"]),
    "tmix": ("faithful60.csv", _faithful60, ["-m", "tmix", "-k", "2", "--max-iter", "40"]),
    "experts": ("faithful60.csv", _faithful60, ["-m", "experts", "-k", "2", "--target", "waiting", "--max-iter", "40"]),
    "blr": ("faithful60.csv", _faithful60, ["-m", "blr", "--target", "waiting", "--max-iter", "40"]),
    "rvm": ("faithful60.csv", _faithful60, ["-m", "rvm", "--target", "waiting", "--basis", "rbf", "--gamma", "0.5", "--max-iter", "40"]),
    "probit": ("probit.csv", _probit_csv, ["-m", "probit", "--target", "y"]),
}


def _invoke(args, cwd):
    from click.testing import CliRunner

    import os

    from emcli.cli import cli

    previous = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(previous)


@functools.cache
def seeds() -> dict:
    """name -> Seed, every model fitted once."""
    from emcli.models.registry import MODELS

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (data_name, make, args) in SEEDS.items():
            data = make() if make else (SAMPLE / data_name).read_bytes()
            (tmp / data_name).write_bytes(data)
            result = _invoke(["fit", data_name, *args, "--restarts", "2", "-o", "m.json"], tmp)
            assert result.exit_code == 0, (name, result.output, result.exception)
            model_name = args[args.index("-m") + 1] if "-m" in args else "gmm"
            out[name] = Seed(name, (tmp / "m.json").read_bytes(), data_name, data,
                             MODELS[model_name].generative)
    return out


@functools.cache
def emq_files() -> dict:
    """name -> .emq bytes: a table (float64 and float32 codebooks) and a small image."""
    from PIL import Image

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "faithful.csv").write_bytes(FAITHFUL.read_bytes())
        rng = np.random.default_rng(3)
        Image.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8), "RGB").save(tmp / "small.png")
        Image.fromarray(rng.integers(0, 256, (5, 7, 2), dtype=np.uint8), "LA").save(tmp / "la.png")
        for name, args in {"table64": ["faithful.csv", "-k", "4"],
                           "table32": ["faithful.csv", "-k", "3", "--codebook-dtype", "float32"],
                           "table-k1": ["faithful.csv", "--columns", "eruptions", "-k", "2"],
                           "image": ["small.png", "-k", "4"],
                           "image-la": ["la.png", "-k", "5"]}.items():
            result = _invoke(["compress", *args, "-o", "out.emq"], tmp)
            if result.exit_code == 0:
                out[name] = (tmp / "out.emq").read_bytes()
            else:  # compress itself broken (see known.py F0): the container's own encoder, so that
                # decompress is still fuzzed
                out[name] = _encoded(name, tmp)
    return out


def _encoded(name: str, tmp: Path) -> bytes:
    """What ``emtool compress`` writes for seed ``name``, made with emcli.vq.container.encode."""
    from PIL import Image

    from emcli.vq import container

    if name.startswith("image"):
        image = np.asarray(Image.open(tmp / ("small.png" if name == "image" else "la.png")))
        pixels = image.reshape(-1, image.shape[2]).astype(float)
        k = 4 if name == "image" else 5
        codebook = np.unique(pixels, axis=0)[:k].round().astype(np.uint8)
        codes = np.argmin(((pixels[:, None, :] - codebook[None].astype(float)) ** 2).sum(2), axis=1).astype(np.uint8)
        return container.encode(container.Quantised("image", image.shape[:2], codebook, codes,
                                                    "RGB" if name == "image" else "LA"))
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    columns = ["eruptions", "waiting"]
    if name == "table-k1":
        X, columns = X[:, :1], ["eruptions"]
    k = {"table64": 4, "table32": 3, "table-k1": 2}[name]
    codebook = np.quantile(X, np.linspace(0.1, 0.9, k), axis=0).astype(np.float32 if name == "table32" else np.float64)
    codes = np.argmin(((X[:, None, :] - codebook[None]) ** 2).sum(2), axis=1).astype(np.uint8)
    return container.encode(container.Quantised("table", (len(X),), codebook, codes, None, columns))
