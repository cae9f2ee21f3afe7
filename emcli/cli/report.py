"""What the commands tell the user about their work, from the messages the services return."""

import contextlib

from emcli import console


def show(warnings=(), notes=()) -> None:
    """Warnings (always, unless -q) then notes (on a terminal or with -v), one line each."""
    for message in warnings:
        console.warn(message)
    for message in notes:
        console.note(message)


@contextlib.contextmanager
def fit_progress(spec):
    """On a terminal, a bar over the restarts of ``spec`` (a spinner for one, or a warm
    start) with each iteration's number and score beside it; yields the callable that
    advances the bar by a restart."""
    from emcli.em.watch import watching

    with console.activity(1 if spec.warm else spec.restarts, f"fitting {spec.model}") as shown:
        with watching(lambda iteration, score: shown.detail(f"iteration {iteration}: {score:.6g}")):
            yield shown.advance


def resolved(spec, **more) -> str:
    """The options a fit runs with, defaults included, for --verbose (as mlpack's -v lists
    its parameters)."""
    from emcli.em.workers import current

    init = spec.init if isinstance(spec.init, str) else "a warm start" if spec.warm else spec.build().default_init
    fields = {**spec.options, "algorithm": spec.algorithm, **spec.driver_options, "init": init,
              "restarts": spec.restarts, "seed": spec.seed, "max_iter": spec.max_iter, "tol": spec.tol,
              "chunk_bytes": spec.chunk_bytes, "threads": current(), **more}
    return f"{spec.model} with " + ", ".join(f"{name}={value}" for name, value in fields.items())


def timings(**seconds) -> str:
    """Seconds spent in each part of a command, for --verbose."""
    return "time: " + ", ".join(f"{part} {value:.3f} s" for part, value in seconds.items())


def summary(doc: dict) -> str:
    """One line on a fit, for --verbose."""
    fit = doc["fit"]
    if "inertia" in fit:
        score = f"inertia {fit['inertia']:.6g}"
    elif "log_evidence" in fit:
        score = f"log evidence {fit['log_evidence']:.4f}"
    elif "elbo" in fit:
        posterior = doc["params"]["posterior"]
        score = (f"ELBO {fit['elbo']:.4f}, {len(posterior['live'])} of {doc['options']['k']} components "
                 f"supported (an expected share of the rows of at least {posterior['prune']:g})")
    else:
        score = f"log-likelihood {fit['log_likelihood']:.4f}, BIC {fit['bic']:.2f}"
        if "log_posterior" in fit:
            score = f"log-posterior {fit['log_posterior']:.4f}, " + score
    return (f"{doc['model']}: {score}, {fit['n_iter']} iterations, "
            f"{'converged' if fit['converged'] else 'not converged'}")


def require_sound(strict: bool, warnings: list) -> None:
    """With --strict, the fit's warnings (non-convergence, a degenerate component) as the error
    of status 3, before anything is written."""
    if strict and warnings:
        from emcli.errors import Unsound

        raise Unsound("; ".join(warnings) + " (--strict)")
