"""A fitted model's Gaussian components (gmm, and the scale matrices of student and tmix) as a
plot needs them: full covariance matrices on the drawn columns, and the model's marginal
density on a pair of columns."""

from dataclasses import dataclass

import numpy as np

from emcli.em.protocol import Variational, has
from emcli.models import registry
from emcli.models.gaussian import COVARIANCE_KEY, as_full


def has_components(model) -> bool:
    """Whether ``model`` is made of Gaussian (or Student-t) components: the models that take
    --covariance (gmm, student, tmix), whose parameters hold means and covariance (or scale)
    matrices."""
    return "covariance" in registry.spec(model.name).options


@dataclass(frozen=True)
class Components:
    """means (K, D) and covariances (K, D, D) of the components on D columns, and ``live``
    the indices of those to draw (a variational fit's live ones; else every one)."""

    means: np.ndarray
    covariances: np.ndarray
    live: list

    def on(self, columns: list) -> "Components":
        """The marginal components on the columns indexed by ``columns``: a Gaussian's marginal
        is the Gaussian of the mean's and covariance's entries of those columns (a Student-t's
        likewise, with its scale matrix)."""
        index = np.asarray(columns)
        return Components(self.means[:, index], self.covariances[:, index][:, :, index], self.live)


def components(model, params) -> Components:
    """The components of a model for which ``has_components`` holds, in full form whatever its
    covariance type (tied: the one matrix for each; diag and spherical: diagonal matrices), in
    the data's units (a model fit to standardised columns too: emcli.standardize)."""
    k, d = params.means.shape
    live = model.live_components(params) if has(model, Variational) else list(range(k))
    means, covariances = params.means, np.asarray(as_full(params.cov, model.covariance, k, d))
    transform = getattr(model, "standardization", None)
    if transform is not None:  # fit to standardised columns: drawn in the data's units
        means = transform.inverse(means)
        covariances = covariances * np.outer(transform.scale, transform.scale)
    return Components(means, covariances, live)


def marginal_log_density(model, params, columns: list):
    """A function of rows (M, len(columns)) giving their (M,) log densities under ``model``'s
    marginal on the columns indexed by ``columns``.

    The marginal of a mixture of Gaussians (or of Student-t distributions) on some columns is
    the mixture of the components' marginals with the same weights (and degrees of freedom), so
    it is the same model, with full covariances cut to those columns, read through the model's
    own from_json and evaluated by its own density: no second implementation of the
    mathematics.  A variational fit is drawn with its point estimates.
    """
    marginal = components(model, params).on(columns)
    doc = model.to_json(params)
    doc.pop("posterior", None)
    del doc[COVARIANCE_KEY[model.covariance]]
    doc["means"] = marginal.means.tolist()
    doc[COVARIANCE_KEY["full"]] = marginal.covariances.tolist()
    pair = registry.create(model.name, {**model.options(), "covariance": "full"})
    pair_params = pair.from_json(doc, len(columns))
    return lambda X: pair.responsibilities(pair_params, X)[1]
