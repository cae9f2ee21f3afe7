"""The model registry.  Entries are plain metadata, so that ``emtool models`` and ``--help`` stay
fast; a model's module is imported only when the model is used."""

import importlib
from dataclasses import dataclass

from emcli.errors import UsageError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    target: str            # "module:Class"
    kind: str
    summary: str
    needs: str
    options: tuple         # names of the model's own fit options (constructor arguments)
    outputs: tuple         # columns ``predict`` can append

    def flags(self) -> list:
        """The model's own options as command-line flags."""
        return ["-k" if name == "k" else "--" + name.replace("_", "-") for name in self.options]

    def load(self):
        module, cls = self.target.split(":")
        return getattr(importlib.import_module(module), cls)


MODELS = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="gmm", target="emcli.models.gmm:GaussianMixture", kind="clustering, density",
            summary="Gaussian mixture by maximum likelihood",
            needs="numeric columns, no missing values, no constant column, at least 2 rows",
            options=("k", "covariance", "reg_covar"),
            outputs=("cluster", "p_<k>", "logpdf"),
        ),
        ModelSpec(
            name="kmeans", target="emcli.models.kmeans:KMeans", kind="clustering",
            summary="k-means (Lloyd), the hard-assignment limit of a Gaussian mixture",
            needs="numeric columns, no missing values",
            options=("k",),
            outputs=("cluster",),
        ),
    )
}


def spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; a UsageError listing the known models otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None


def create(name: str, options: dict):
    """A model instance from its name and options (as stored in a model file)."""
    try:
        return spec(name).load()(**options)
    except TypeError as exc:
        raise UsageError(f"bad options for model {name!r}: {exc}") from None
