"""What to fit: a model from the registry, its options, and how EM climbs."""

import dataclasses
from dataclasses import dataclass, field

from emcli.em.chunks import DEFAULT_CHUNK_BYTES
from emcli.models import registry


@dataclass(frozen=True)
class FitSpec:
    """A model by name with its constructor ``options`` (those not given take the model's
    defaults), and the fit: ``init`` (a method of em.init, None for the model's default, or
    starting parameters: a warm start, run once), ``algorithm`` and its ``driver_options``,
    ``restarts`` (restart r seeded ``seed + r``), ``start_runs`` (the short runs each start
    chooses from, None: em.start's budget shared among the restarts), ``hc_sample`` (the rows
    --init hc clusters at most, None: em.hc's default), ``max_iter``, ``tol``
    and ``chunk_bytes``."""

    model: str
    options: dict = field(default_factory=dict)
    init: object = None
    algorithm: str = "batch"
    driver_options: dict = field(default_factory=dict)
    restarts: int = 1
    start_runs: int | None = None
    hc_sample: int | None = None
    seed: int = 0
    max_iter: int = 500
    tol: float = 1e-6
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    @property
    def entry(self) -> registry.ModelSpec:
        return registry.spec(self.model)

    @property
    def k(self) -> int:
        """The number of components asked for (1 for models without components)."""
        return int(self.options.get("k") or 1)

    @property
    def warm(self) -> bool:
        return self.init is not None and not isinstance(self.init, str)

    def build(self, levels: list | None = None):
        """A fresh model; ``levels``, the coding of its columns, for a model that has them."""
        extra = {"levels": levels} if levels is not None and self.entry.has("levels") else {}
        return registry.create(self.model, {**self.options, **extra})

    def but(self, **changes) -> "FitSpec":
        """This spec with some fields changed."""
        return dataclasses.replace(self, **changes)

    def with_options(self, **options) -> "FitSpec":
        """This spec with some model options changed (a grid cell's k and covariance)."""
        return dataclasses.replace(self, options={**self.options, **options})


@dataclass(frozen=True)
class Source:
    """Where the rows come from: a table ``path`` ('-' for stdin) in ``fmt`` (None: by
    extension), its ``columns`` (None: every column the model reads, but those in
    ``exclude``), a regression's ``target`` column; ``standardize``: None, True (fit to the
    rows standardised: emcli.standardize) or the Standardization of a warm start to reuse."""

    path: str
    fmt: str | None = None
    columns: list | None = None
    target: str | None = None
    exclude: list | None = None
    standardize: object = None
