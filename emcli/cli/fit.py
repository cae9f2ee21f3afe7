"""emtool fit: fit a model to a table and write the model file."""

import click

from emcli.cli.options import ByteSize, columns_option, given, input_format, verbosity

INIT_METHODS = ("k-means++", "random")


@click.command()
@click.argument("data")
@click.option("-m", "--model", "model_name", default="gmm", show_default=True,
              help="Model to fit (see 'emtool models').")
@click.option("-k", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of components.")
@click.option("--covariance", type=click.Choice(["full", "tied", "diag", "spherical"]),
              default="full", show_default=True, help="Covariance structure (gmm).")
@click.option("--reg-covar", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Covariance floor, relative to each column's variance (gmm).")
@columns_option
@input_format
@click.option("--init", default="k-means++", show_default=True, metavar="k-means++|random|MODEL.json",
              help="Initialisation, or a fitted model file to start from (warm start).")
@click.option("--restarts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent starts; the best log-likelihood wins.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed; restart r uses seed + r.")
@click.option("--max-iter", type=click.IntRange(min=0), default=500, show_default=True,
              help="Most EM iterations per restart.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Stop when the mean per-row log-likelihood changes less; 0 runs --max-iter.")
@click.option("--chunk-bytes", type=ByteSize(), default="4M", show_default=True,
              help="Scratch memory per E-step chunk of rows.")
@click.option("-o", "--output", default="-", show_default=True, metavar="MODEL.json",
              help="Where to write the model file ('-' is stdout).")
@click.option("--trace", "trace_path", metavar="TRACE.csv",
              help="Also write the best restart's per-iteration trace as CSV.")
@verbosity
@click.pass_context
def fit(ctx, data, model_name, k, covariance, reg_covar, columns, fmt, init, restarts, seed,
        max_iter, tol, chunk_bytes, output, trace_path):
    """Fit a model to DATA (CSV, TSV, Parquet, or '-' for CSV on stdin).

    Uses every numeric column of DATA unless --columns chooses. Writes one JSON model file:
    the parameters, the log-likelihood (inertia for kmeans), BIC and AIC, one summary per
    restart and the best restart's per-iteration trace. A warning goes to stderr when the best
    restart did not converge.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -m gmm -k 3 --covariance tied --restarts 10 -o faithful.json
      cat sample_data/blobs.csv | emtool fit - -m kmeans -k 3 > centres.json
      emtool fit sample_data/faithful.csv -k 3 --init faithful.json --trace trace.csv -o refit.json
    """
    import time

    from emcli import console
    from emcli.data import load_rows, require_complete, require_rows, require_variation
    from emcli.em.fit import fit as run_fit
    from emcli.errors import UsageError
    from emcli.io.atomic import check_writable, write_bytes
    from emcli.io.modelfile import model_document, read_model, trace_csv, write_model
    from emcli.models import registry

    check_writable(output)
    if trace_path:
        check_writable(trace_path)
    warm = init not in INIT_METHODS
    if warm:
        model, start, start_doc = read_model(init)
        for name, value in (("model_name", model_name), ("k", k), ("covariance", covariance)):
            stored = start_doc["model"] if name == "model_name" else start_doc["options"].get(name)
            if given(ctx, name) and stored is not None and stored != value:
                flag = {"model_name": "-m", "k": "-k"}.get(name, "--" + name)
                raise UsageError(f"{flag} {value} differs from {stored} in the --init model {init}")
        if columns is not None and columns != start_doc["columns"]:
            raise UsageError(f"--columns differs from the columns of the --init model {init}")
        columns = start_doc["columns"]
        if restarts > 1:
            console.note("a warm start from --init MODEL.json runs once; --restarts ignored")
    else:
        spec = registry.spec(model_name)
        values = {"k": k, "covariance": covariance, "reg_covar": reg_covar}
        for name in values:
            if name not in spec.options and given(ctx, name):
                raise UsageError(f"model {model_name} does not take --{name.replace('_', '-')}")
        model = registry.create(model_name, {name: values[name] for name in spec.options})
    table, names, X = load_rows(data, fmt, columns)
    require_complete(X, names, data, model.name)
    require_rows(X, model.k, data, model)
    if getattr(model, "requires_variation", False):
        require_variation(X, names, data, model.name)
    started = time.perf_counter()
    with console.progress(1 if warm else restarts, f"fitting {model.name}") as advance:
        outcome = run_fit(model, X, init=start if warm else init, restarts=restarts, seed=seed,
                          max_iter=max_iter, tol=tol, chunk_bytes=chunk_bytes, on_restart=advance)
    doc = model_document(model, names, outcome, n_samples=len(X),
                         seconds=time.perf_counter() - started)
    if not outcome.best.converged and max_iter > 0 and tol > 0:
        trace = outcome.best.trace
        change = abs(trace[-1]["score"] - trace[-2]["score"]) / len(X) if len(trace) > 1 else float("nan")
        console.warn(f"the best restart did not converge in {max_iter} iterations (last change "
                     f"{change:.3g} per row, --tol {tol:g}); raise --max-iter or --tol")
    if trace_path:
        write_bytes(trace_path, trace_csv(doc))
    write_model(output, doc)
    console.note(f"{model.name}: {_summary(doc)}")


def _summary(doc: dict) -> str:
    fit = doc["fit"]
    score = (f"log-likelihood {fit['log_likelihood']:.4f}, BIC {fit['bic']:.2f}"
             if "log_likelihood" in fit else f"inertia {fit['inertia']:.6g}")
    return f"{score}, {fit['n_iter']} iterations, {'converged' if fit['converged'] else 'not converged'}"
