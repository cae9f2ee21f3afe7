"""emtool fit: fit a model to a table and write the model file."""

import click

from emcli.cli.options import (ByteSize, columns_option, given, input_format, prior_options, seed_option,
                               verbosity)

INIT_METHODS = ("k-means++", "robust", "random")
DRIVER_OPTIONS = ("block_size", "anneal_start", "anneal_rate", "mc_samples", "batch_size", "kappa",
                  "epochs", "learning_rate")
MODEL_OPTIONS = ("model_name", "k", "covariance", "reg_covar", "prior", "prior_params", "dof",
                 "shared_dof", "metric", "intercept", "basis", "gamma", "threshold", "prior_scale",
                 "target")


@click.command()
@click.argument("data")
@click.option("-m", "--model", "model_name", default="gmm", show_default=True,
              help="Model to fit (see 'emtool models').")
@click.option("-k", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of components.")
@click.option("--covariance", type=click.Choice(["full", "tied", "diag", "spherical"]),
              default="full", show_default=True, help="Covariance structure (gmm, student, tmix).")
@click.option("--reg-covar", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Covariance floor, relative to each column's variance (gmm, student, tmix).")
@prior_options
@click.option("--dof", type=click.FloatRange(min=0, min_open=True),
              help="Fix the degrees of freedom (student, tmix); by default they are estimated.")
@click.option("--shared-dof", is_flag=True, help="One degrees of freedom for every component (tmix).")
@click.option("--metric", default="euclidean", show_default=True,
              help="Dissimilarity from scipy.spatial.distance (kmedoids).")
@click.option("--target", metavar="COLUMN",
              help="The column to predict (experts, blr, rvm, probit).")
@click.option("--no-intercept", "intercept", flag_value=False, default=True,
              help="Do not add an intercept to the regression's features.")
@click.option("--basis", type=click.Choice(["linear", "rbf"]), default="linear", show_default=True,
              help="rvm: the features themselves, or an RBF kernel on the training rows.")
@click.option("--gamma", type=click.FloatRange(min=0, min_open=True),
              help="rvm --basis rbf: kernel width, exp(-gamma |x - x'|^2) (default 1 / number of features).")
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=1e6, show_default=True,
              help="rvm: prune a weight whose precision exceeds this multiple of the smallest.")
@click.option("--prior-scale", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="probit: standard deviation tau of the N(0, tau^2 I) prior on the weights.")
@columns_option
@input_format
@click.option("--skip-empty-rows", is_flag=True,
              help="Drop rows whose every chosen cell is missing instead of failing.")
@click.option("--init", metavar="k-means++|robust|random|MODEL.json",
              help="Initialisation: k-means++ (the default; robust for tmix), robust (k-means++ "
                   "that outliers cannot dominate), random rows, or a fitted model file to start "
                   "from (warm start).")
@click.option("--algorithm", default="batch", show_default=True,
              help="How EM climbs: batch, incremental, stepwise, annealed, stochastic, mcem, "
                   "overrelaxed, ecm, ecme, gradient, hybrid (see 'emtool models').")
@click.option("--block-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="incremental: rows per block.")
@click.option("--anneal-start", type=click.FloatRange(min=1), default=3.0, show_default=True,
              help="annealed: starting temperature.")
@click.option("--anneal-rate", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
              default=0.9, show_default=True,
              help="annealed: factor lowering the temperature once EM settles at the current one.")
@click.option("--mc-samples", type=click.IntRange(min=1), default=10, show_default=True,
              help="mcem: posterior draws per row and iteration.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="stepwise: rows per minibatch.")
@click.option("--kappa", type=click.FloatRange(min=0.5, max=1, min_open=True), default=0.7,
              show_default=True, help="stepwise: step sizes (k + 2)^-kappa, kappa in (0.5, 1].")
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True,
              help="stepwise: passes over the input.")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=0.01,
              show_default=True, help="gradient: Adam's step size.")
@click.option("--restarts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent starts; the best log-likelihood wins.")
@seed_option("Random seed; restart r uses seed + r.")
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
def fit(ctx, data, columns, fmt, skip_empty_rows, init, algorithm, restarts, seed, max_iter, tol,
        chunk_bytes, output, trace_path, **values):
    """Fit a model to DATA (CSV, TSV, Parquet, or '-' for CSV on stdin).

    Uses every column the model can read unless --columns chooses (numeric columns for most
    models; for regression models, every numeric column but the --target). Writes one JSON model file: the parameters, the log-likelihood (inertia for
    kmeans), BIC and AIC, one summary per restart and the best restart's per-iteration trace.
    A warning goes to stderr when the best restart did not converge.

    \b
    Examples:
      emtool fit sample_data/faithful.csv -m gmm -k 3 --covariance tied --restarts 10 -o faithful.json
      cat sample_data/blobs.csv | emtool fit - -m kmeans -k 3 > centres.json
      emtool fit sample_data/faithful.csv -k 3 --init faithful.json --trace trace.csv -o refit.json
    """
    import os

    from emcli import console
    from emcli.em.fit import default_init
    from emcli.errors import UsageError
    from emcli.fitting import driver_options_for, fit_rows, new_model, prepare_rows, summary, warm_model
    from emcli.io.atomic import check_writable, write_bytes
    from emcli.io.modelfile import trace_csv, write_model

    check_writable(output)
    if trace_path:
        check_writable(trace_path)
    if values["prior_params"] and not given(ctx, "prior"):
        values["prior"] = "default"
    chosen = {name for name in MODEL_OPTIONS if given(ctx, name)}
    target = values["target"]
    if init is None or init in INIT_METHODS:
        model = new_model(values["model_name"], values, chosen)
        start, levels = init or default_init(model), None
    elif not os.path.exists(init):
        raise UsageError(f"--init {init!r} is neither {', '.join(INIT_METHODS)} nor a model file")
    else:
        model, start, columns, target = warm_model(init, values["model_name"], values, chosen, columns)
        levels = getattr(model, "levels", getattr(model, "labels", None))
        if restarts > 1:
            console.note("a warm start from --init MODEL.json runs once; --restarts ignored")
    driver_options = driver_options_for(model, algorithm, values,
                                        {name for name in DRIVER_OPTIONS if given(ctx, name)})
    rows = prepare_rows(model, data, fmt, columns, skip_empty_rows, levels, target)
    doc = fit_rows(model, rows, init=start, restarts=restarts, seed=seed, max_iter=max_iter,
                   tol=tol, chunk_bytes=chunk_bytes, algorithm=algorithm, driver_options=driver_options)
    if trace_path:
        write_bytes(trace_path, trace_csv(doc))
    write_model(output, doc)
    console.note(summary(doc))
