"""What the engine asks of a model.  The engine knows no model by name: it calls these methods.

Shapes: X is an (N, D) float64 block of rows; K is the number of components.
"""

from typing import Any, ClassVar, Protocol

import numpy as np

from emcli.em.stats import Stats

Params = Any


class Model(Protocol):
    name: ClassVar[str]
    #: what ``e_step``'s score is: "log_likelihood" (score itself) or "inertia" (minus the score)
    objective: ClassVar[str]
    k: int

    def prepare(self, X: np.ndarray) -> None:
        """Fix data-scale settings (covariance floor, reference point of the statistics) from
        the training rows, before any statistics are computed."""

    def params_from_centres(self, centres: np.ndarray) -> Params:
        """Parameters whose components sit at the (K, D) ``centres``, before any data is seen;
        the engine then refines them with one hard-assignment step (``assign_stats``)."""

    def assign_stats(self, params: Params, X: np.ndarray) -> Stats:
        """Statistics of ``X`` when each row belongs wholly to its nearest component."""

    def e_step(self, params: Params, X: np.ndarray) -> tuple[Stats, float]:
        """Expected sufficient statistics of the block ``X`` and its score (higher is better)."""

    def m_step(self, stats: Stats, previous: Params) -> Params:
        """Parameters maximising the expected complete-data objective given summed ``stats``."""

    def degenerate(self, params: Params, stats: Stats) -> list[tuple[int, str]]:
        """Components that emptied or collapsed, with the reason, e.g. [(2, "empty")]."""

    def reseed(self, params: Params, components: list[int], X: np.ndarray,
               rng: np.random.Generator) -> Params:
        """``params`` with the given components restarted from random rows of ``X``."""

    def workspace_bytes_per_row(self, n_features: int) -> int:
        """Scratch memory the E-step needs per row, to size chunks in bytes."""

    def n_parameters(self, params: Params) -> int:
        """Free parameters, for BIC and AIC."""

    def to_json(self, params: Params) -> dict:
        """Parameters as plain JSON values (lists of floats)."""

    def from_json(self, doc: dict, n_features: int) -> Params:
        """Parameters from ``to_json`` output; raises ModelFileError naming a bad field."""

    def options(self) -> dict:
        """The model's options as stored in the model file."""
