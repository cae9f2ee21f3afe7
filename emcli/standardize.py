"""--standardize: a model fit to its columns centred on their means and divided by their
standard deviations, and applied to new rows the same way.

For k-means, k-medoids and a spherical Gaussian mixture the columns' scales decide the fit (a
column in grams outweighs one in kilograms); standardising gives each column one unit of
spread.  So they do for the covariance forms that compare shapes or orientations across
components (EII, VII, EVE, VVE, EEV, VEV: rescaling a column turns one shared set of axes or
one shared shape into several).  Full, tied and diagonal Gaussian mixtures, and the forms EEI,
VEI, EVI, VEE and EVV, fit the same clusters either way: their likelihood, and emtool's
seeding of their starts (em.init.seeding_frame), do not depend on a column's scale.

The model file keeps the transform (``standardize``: each column's ``center`` and ``scale``),
and the fit's scores stay those of the standardised rows; ``log_jacobian`` is what turns the
log-likelihood into that of the rows in their own units (the sum, over the observed cells, of
-log scale).  predict applies the transform to the rows it reads and reports ``logpdf`` in
the data's units; sample writes rows in the data's units."""

from dataclasses import dataclass

import numpy as np

from emcli.errors import ModelFileError, UsageError

#: the models --standardize applies to
STANDARDIZABLE = ("gmm", "kmeans", "kmedoids")


@dataclass(frozen=True)
class Standardization:
    """Per column (D,): the ``center`` subtracted and the ``scale`` (> 0) divided by."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> "Standardization":
        """Each column's mean and (population) standard deviation over its observed cells; a
        constant column keeps its scale (1)."""
        from emcli.em.moments import mean_and_variance

        mean, variance = mean_and_variance(X)
        scale = np.sqrt(variance)
        return cls(mean, np.where(np.isfinite(scale) & (scale > 0), scale, 1.0))

    def forward(self, X: np.ndarray) -> np.ndarray:
        """(N, D) rows in standardised units, a new array (missing cells stay NaN)."""
        return (X - self.center) / self.scale

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        """(N, D) standardised rows back in the data's units."""
        return Z * self.scale + self.center

    def log_jacobian(self, X: np.ndarray) -> np.ndarray:
        """(N,) what each row's log density in standardised units gains in the data's: the
        sum of -log scale over its observed cells."""
        return (~np.isnan(X)) @ -np.log(self.scale)

    def to_json(self, X) -> dict:
        """The model file's ``standardize`` for a fit to the (N, D) rows ``X`` (either units:
        the Jacobian counts observed cells; rows held in partitions count them in a pass)."""
        if isinstance(X, np.ndarray):
            observed = (~np.isnan(X)).sum(axis=0)
        else:
            from emcli.em.moments import column_summary

            observed = column_summary(X).count
        return {"center": self.center.tolist(), "scale": self.scale.tolist(),
                "log_jacobian": float(observed @ -np.log(self.scale))}

    @classmethod
    def from_json(cls, doc, n_columns: int) -> "Standardization":
        """The transform of a model file's ``standardize``; ModelFileError naming the field."""
        if not isinstance(doc, dict):
            raise ModelFileError("standardize: expected an object with center and scale")
        found = {}
        for name in ("center", "scale"):
            values = doc.get(name)
            if (not isinstance(values, list) or len(values) != n_columns
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
                raise ModelFileError(f"standardize.{name}: expected {n_columns} numbers, one per column")
            found[name] = np.array(values, dtype=float)
            if not np.isfinite(found[name]).all():
                raise ModelFileError(f"standardize.{name}: expected finite numbers")
        if (found["scale"] <= 0).any():
            raise ModelFileError("standardize.scale: expected positive numbers")
        return cls(found["center"], found["scale"])


def require_standardizable(model: str) -> None:
    if model not in STANDARDIZABLE:
        raise UsageError(f"--standardize applies to {', '.join(STANDARDIZABLE)}, whose fits depend on the "
                         f"columns' scales; not to {model}")
