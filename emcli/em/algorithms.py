"""The EM family: how ``emtool fit --algorithm NAME`` climbs the likelihood.

Each algorithm is a driver written once against the model protocol; what it needs beyond the
protocol are capabilities (``emcli.em.protocol``), by the names the registry gives them:

- ``posterior``: ``log_joint(params, X) -> (N, K)`` log p(x_n, z_n = k) and
  ``expected_stats(params, X, resp) -> Stats`` for any (N, K) responsibilities;
- ``vector``: ``to_vector(params)`` / ``from_vector(vector, like)`` in an unconstrained
  parametrisation and ``score_gradient(params, stats)``, the gradient of the log-likelihood
  (Fisher's identity: that of Q at the current parameters) in it;
- ``ecm``: ``cm_steps(stats, previous)`` and the rest of an M-step split into conditional
  maximisations;
- ``variational``: conjugate priors and q's update, for variational Bayes.

Kept free of heavy imports: ``emtool models`` reads it.
"""

from dataclasses import dataclass

from emcli.errors import UsageError


@dataclass(frozen=True)
class Algorithm:
    name: str
    target: str           # "module:function" of the driver
    needs: tuple          # capabilities (see the module docstring)
    options: tuple        # driver options, as fit's option names
    summary: str
    converges: bool = True  # False: no convergence warning (it runs --max-iter)


ALGORITHMS = {
    a.name: a
    for a in (
        Algorithm("batch", "emcli.em.batch:run_batch", (), (),
                  "E-step over every row, then the M-step (the default)"),
        Algorithm("incremental", "emcli.em.incremental:run_incremental", (), ("block_size",),
                  "Neal & Hinton: one block's statistics swapped in per M-step"),
        Algorithm("annealed", "emcli.em.annealed:run_annealed", ("posterior",),
                  ("anneal_start", "anneal_rate"),
                  "deterministic annealing: posteriors to the power 1/T, T lowered to 1"),
        Algorithm("stochastic", "emcli.em.stochastic:run_stochastic", ("posterior",), (),
                  "Celeux & Diebolt: one draw of the hidden labels per row", converges=False),
        Algorithm("mcem", "emcli.em.stochastic:run_mcem", ("posterior",), ("mc_samples",),
                  "Wei & Tanner: Monte Carlo E-step averaging --mc-samples draws", converges=False),
        Algorithm("saem", "emcli.em.stochastic:run_saem", ("posterior",),
                  ("mc_samples", "kappa", "burn_in"),
                  "Delyon, Lavielle & Moulines: drawn statistics averaged with step sizes 1 for "
                  "--burn-in iterations, then (k + 2)^-kappa", converges=False),
        Algorithm("stepwise", "emcli.em.stepwise:run_stepwise", (), ("batch_size", "kappa", "epochs"),
                  "online EM: minibatch statistics blended with step sizes (k + 2)^-kappa"),
        Algorithm("overrelaxed", "emcli.em.overrelaxed:run_overrelaxed", ("vector",), (),
                  "Salakhutdinov & Roweis: theta + eta (M(theta) - theta), eta adapted"),
        Algorithm("gradient", "emcli.em.gradient:run_gradient", ("vector",), ("learning_rate",),
                  "Adam on the observed log-likelihood in unconstrained parameters"),
        Algorithm("hybrid", "emcli.em.gradient:run_hybrid", ("vector", "posterior"), (),
                  "EM steps where posteriors are sharp, conjugate-gradient steps where they are not"),
        Algorithm("ecm", "emcli.em.ecm:run_ecm", ("ecm",), (),
                  "conditional maximisations on Q (Meng & Rubin)"),
        Algorithm("variational", "emcli.em.variational:run_variational", ("variational",),
                  ("weight_prior", "prune"),
                  "variational Bayes: a posterior over the parameters; K is an upper bound, and "
                  "the components the data do not support empty"),
        Algorithm("ecme", "emcli.em.ecm:run_ecme", ("ecm",), (),
                  "ECM with some maximisations on the observed likelihood (Liu & Rubin)"),
    )
}


def load(name: str):
    """The driver function of algorithm ``name``."""
    import importlib

    module, function = algorithm(name).target.split(":")
    return getattr(importlib.import_module(module), function)


def algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise UsageError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None


def supports(model, name: str) -> bool:
    """Whether ``model`` declares every capability algorithm ``name`` needs."""
    from emcli.em.protocol import CAPABILITIES, has

    return all(has(model, CAPABILITIES[need]) for need in algorithm(name).needs)


def require(model, name: str) -> None:
    """UsageError unless ``model`` supports algorithm ``name``."""
    if not supports(model, name):
        from emcli.em.protocol import CAPABILITIES

        if any(CAPABILITIES[need] in getattr(model, "withheld", ()) for need in algorithm(name).needs):
            raise UsageError(f"--algorithm {name} {model.withheld_why}")
        raise UsageError(f"model {model.name} does not support --algorithm {name} "
                         f"(see 'emtool models' for the algorithms each model takes)")
