"""Multiple imputation with bootstrapped EM (the approach of Amelia II, Honaker, King &
Blackwell 2011): each imputation refits the mixture to a bootstrap resample of the rows, so
that its parameters vary as much as their estimate does, then draws every missing cell from
its conditional distribution under those parameters.  The spread between imputations then
carries both the parameters' uncertainty and the cells' own.

Each refit starts from the full-data fit (a warm start): it reaches the resample's maximum in a
few iterations, and a mixture's components keep their order.  Imputation i draws from
``numpy.random.default_rng([seed, i])``, so any one of them can be reproduced alone.
"""

from collections.abc import Iterator

import numpy as np

from emcli.errors import DataError, FitError
from emcli.impute.fill import conditional_draws
from emcli.pipeline import FitSpec, fit_array
from emcli.pipeline.run import not_converged


def bootstrap_imputations(spec: FitSpec, imputer, fit_rows: np.ndarray, columns: list,
                          X: np.ndarray, draws: int) -> Iterator[tuple[np.ndarray, dict, bool]]:
    """For i = 1..``draws``: the (N, D) ``X`` completed by draws under a refit of ``imputer``'s
    mixture (as ``spec`` runs EM, from the imputer's parameters) to a bootstrap resample of
    ``fit_rows`` (M, D), a summary of that refit (imputation, log_likelihood on the resample,
    n_iter, converged), and whether it stopped short of converging (the pipeline's rule)."""
    refit = spec.but(model=imputer.model.name, options=imputer.model.options(), init=imputer.params)
    for i in range(1, draws + 1):
        rng = np.random.default_rng([spec.seed, i])
        resample = fit_rows[rng.integers(len(fit_rows), size=len(fit_rows))]
        try:
            fitted = fit_array(refit, resample, columns)
        except (DataError, FitError) as exc:
            # a resample can leave a column with one observed value; that is this draw's bad luck,
            # not bad input
            raise FitError(f"imputation {i}: the refit to the bootstrap resample failed ({exc})") from None
        run = fitted.outcome.best
        summary = {"imputation": i, "log_likelihood": run.log_likelihood, "n_iter": run.n_iter,
                   "converged": run.converged}
        short = not_converged(refit, fitted.outcome, len(resample)) is not None
        yield conditional_draws(fitted.model, fitted.params, X, rng), summary, short
