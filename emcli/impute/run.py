"""What ``emtool impute`` does between parsing options and writing: load the rows, find the
mixture (fit through the pipeline, or from a model file), and complete the table once or
``draws`` times, with the report and the messages as data."""

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from emcli.data import Rows, display_name, empty_rows, require_observed_columns
from emcli.errors import DataError
from emcli.io.passthrough import read_text
from emcli.pipeline import FitSpec, Source


@dataclass
class Plan:
    """What to impute: the fit (``spec``, and ``ks`` to choose K by BIC) or a ``model_file``
    to fill from; ``draws`` multiple imputations (None: one table of expectations), stacked
    with ``long``; ``round_integers`` and ``clip`` as Completion takes them; ``as_text``: the
    output is CSV or TSV, so the input's cells are written back as their text."""

    spec: FitSpec
    source: Source
    ks: list | None = None
    model_file: str | None = None
    draws: int | None = None
    long: bool = False
    round_integers: bool = True
    clip: bool = False
    need_model: bool = False  # a model file or report is asked for even when nothing is missing
    as_text: bool = True


@dataclass
class Imputation:
    """The completed tables (a generator: the draws are computed as they are written), the
    report (complete once the tables are consumed), the mixture's model document, and the
    messages."""

    tables: Iterator
    report: dict
    model_doc: dict | None
    nothing_missing: bool
    shortfalls: list  # per bootstrap refit, whether it stopped short of converging
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    column_warnings: list = field(default_factory=list)  # about the columns chosen by default

    def refit_warnings(self, spec: FitSpec) -> list:
        """One warning for the bootstrap refits that stopped short of converging."""
        failed = sum(self.shortfalls)
        return ([f"{failed} of {len(self.shortfalls)} bootstrap refits did not converge in "
                 f"{spec.max_iter} iterations; raise --max-iter or --tol"] if failed else [])


def impute(plan: Plan, jobs: int, on_done=None, on_draw=None) -> Imputation:
    """Run ``plan``: ``jobs`` processes for a choice of K, ``on_done`` after each K, and
    ``on_draw`` after each completed table is drawn (as the tables are read)."""
    from emcli import pipeline
    from emcli.impute.model import fit_imputer, load_imputer
    from emcli.impute.table import Completion

    name = display_name(plan.source.path)
    imputer = None
    if plan.model_file:
        imputer, rows = load_imputer(plan.model_file, plan.spec, plan.source, plan.draws)
    else:
        rows = pipeline.read(plan.spec, plan.source)
    require_observed_columns(rows.X, rows.columns, plan.source.path)
    if plan.long and "imputation" in rows.table.column_names:
        raise DataError(f"{name} already has a column 'imputation'; rename it to use --long")
    completion = Completion(rows.table, rows.columns, rows.X, round_integers=plan.round_integers,
                            clip=plan.clip, name=name, levels=rows.levels,
                            text=read_text(plan.source.path, plan.source.fmt, rows.table.column_names)
                            if plan.as_text else None)
    empty = empty_rows(rows.X)
    transform = _standardization(plan, imputer, rows.X)
    model_rows = rows if transform is None else dataclasses.replace(rows, X=transform.forward(rows.X))
    fit_rows = Rows(rows.table, rows.columns, np.delete(model_rows.X, empty, axis=0))
    nothing_missing = not completion.missing.any()
    notes = [f"columns: {', '.join(rows.columns)}"]
    notes += [f"no missing values in the chosen columns of {name}; the output is the input"] if nothing_missing else []
    if imputer is None and (not nothing_missing or plan.need_model):
        pipeline.check(plan.spec, fit_rows, plan.source, k=1 if plan.ks else None)
        imputer = fit_imputer(plan.spec, fit_rows, plan.source.path, plan.ks, jobs, on_done)
        if transform is not None:
            imputer.doc["standardize"] = transform.to_json(fit_rows.X)
    summaries, shortfalls = [], []
    report = _report(name, rows, completion, empty, imputer, fit_rows, summaries)
    return Imputation(_tables(plan, imputer, completion, model_rows, fit_rows, nothing_missing, summaries,
                              shortfalls, on_draw or (lambda: None), transform),
                      report, imputer.doc if imputer else None, nothing_missing, shortfalls,
                      list(imputer.warnings) if imputer else [], notes, rows.warnings)


def _standardization(plan: Plan, imputer, X: np.ndarray):
    """The emcli.standardize transform the imputer works in: a model file's own, or the rows'
    with --standardize; None."""
    from emcli.standardize import Standardization

    if imputer is not None:
        return getattr(imputer.model, "standardization", None)
    return Standardization.of(X) if plan.source.standardize is True else None


def _report(name, rows, completion, empty, imputer, fit_rows, summaries) -> dict:
    from emcli.impute.report import log_likelihood, report_document

    return report_document(
        data=name, n_rows=len(rows.X), filled=completion.filled_counts(), empty_rows=int(empty.size),
        imputer=imputer, imputations=summaries,
        loglik=log_likelihood(imputer, fit_rows.X) if imputer is not None else None)


def _tables(plan: Plan, imputer, completion, rows: Rows, fit_rows: Rows, nothing_missing: bool,
            summaries: list, shortfalls: list, on_draw, transform=None) -> Iterator:
    """The completed tables in output order; each bootstrap refit's summary joins
    ``summaries`` (and so the report), and whether it stopped short of converging
    ``shortfalls``, as its table is made; ``on_draw()`` after each.  ``rows`` are those the
    imputer works on, standardised by ``transform`` when there is one (the fills are turned
    back into the data's units)."""
    from emcli.impute.draws import bootstrap_imputations
    from emcli.impute.fill import conditional_means

    if nothing_missing:
        completed = [(rows.X, None, False)] * (plan.draws or 1)
    elif rows.levels is not None:
        completed = _network_fills(plan, imputer, rows.X)
    elif plan.draws:
        completed = bootstrap_imputations(plan.spec, imputer, fit_rows.X, rows.columns, rows.X, plan.draws)
    else:
        completed = [(conditional_means(imputer.model, imputer.params, rows.X), None, False)]
    arrays = []
    for X, summary, short in completed:
        X = X if transform is None else transform.inverse(X)
        summaries.extend([summary] if summary else [])
        shortfalls.append(short)
        on_draw()
        if not plan.long:
            yield completion.table(X)
        arrays.append(X)
    if plan.long:
        yield completion.long_table(arrays)


def _network_fills(plan: Plan, imputer, X: np.ndarray) -> Iterator:
    """A network's completed rows: one of most probable levels, or ``plan.draws`` joint draws
    from the posterior, draw i from ``numpy.random.default_rng([seed, i])`` as bootstrap
    imputations are."""
    from emcli.impute.network import joint_draws, most_probable

    if not plan.draws:
        yield most_probable(imputer.model, imputer.params, X), None, False
        return
    for i in range(1, plan.draws + 1):
        yield joint_draws(imputer.model, imputer.params, X, np.random.default_rng([plan.spec.seed, i])), None, False
