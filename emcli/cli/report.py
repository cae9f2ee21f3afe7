"""What the commands tell the user about their work, from the messages the services return."""

from emcli import console


def show(warnings=(), notes=()) -> None:
    """Warnings (always, unless -q) then notes (on a terminal or with -v), one line each."""
    for message in warnings:
        console.warn(message)
    for message in notes:
        console.note(message)


def fit_progress(spec):
    """A progress bar over the restarts of ``spec`` (one start for a warm start)."""
    return console.progress(1 if spec.warm else spec.restarts, f"fitting {spec.model}")


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
