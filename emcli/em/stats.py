"""Expected sufficient statistics: the currency between E-steps and M-steps."""

from collections.abc import Mapping

import numpy as np


class Stats(Mapping):
    """Named arrays that add (merge blocks), subtract (swap a block out) and scale (blend).

    Every field is summed over rows, so stats(A) + stats(B) == stats(A and B).
    """

    __slots__ = ("_fields",)

    def __init__(self, **fields):
        self._fields = {name: np.asarray(value, dtype=np.float64) for name, value in fields.items()}

    def __getitem__(self, name):
        return self._fields[name]

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def _combine(self, other: "Stats", op) -> "Stats":
        if set(self) != set(other):
            raise ValueError("cannot combine statistics with different fields")
        return Stats(**{name: op(value, other[name]) for name, value in self._fields.items()})

    def __add__(self, other: "Stats") -> "Stats":
        return self._combine(other, np.add)

    def __sub__(self, other: "Stats") -> "Stats":
        return self._combine(other, np.subtract)

    def __mul__(self, factor: float) -> "Stats":
        return Stats(**{name: value * factor for name, value in self._fields.items()})

    __rmul__ = __mul__

    def __repr__(self):
        shapes = ", ".join(f"{name}{value.shape}" for name, value in self._fields.items())
        return f"Stats({shapes})"
