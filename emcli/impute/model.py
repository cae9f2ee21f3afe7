"""The model an imputation fills from: a Gaussian mixture fit to the rows (a multivariate
normal, K components, or K chosen by BIC through select-k's grid), or a model file (a gmm
checked against the chosen columns, or a Bayesian network with its own columns)."""

from dataclasses import dataclass, field

from emcli.data import Rows, display_name
from emcli.errors import DataError, ModelFileError
from emcli.pipeline import FitSpec


@dataclass
class Imputer:
    """A fitted mixture: the model, its parameters, its model file's document, where it came
    from ("fit": fit here, to the rows being filled; else the model file's path), when K was
    chosen by BIC the select-k table of every K tried, and the fit's warnings."""

    model: object
    params: object
    doc: dict
    source: str = "fit"
    selection: list | None = None
    warnings: list = field(default_factory=list)


def fit_imputer(spec: FitSpec, rows: Rows, path: str, ks: list | None, jobs: int,
                on_done=None) -> Imputer:
    """``spec`` (a gmm) fit to the (N, D) ``rows.X`` (no row without an observed cell), or,
    when ``ks`` is given, the K in ``ks`` with the lowest BIC."""
    from emcli import pipeline

    if not ks:
        fitted = pipeline.fit(spec, rows)
        return Imputer(fitted.model, fitted.params, fitted.doc, warnings=fitted.warnings)
    from emcli.io.modelfile import parse_document
    from emcli.select import grid, run

    if min(ks) > len(rows.X):
        raise DataError(f"every --k-range value exceeds the {len(rows.X)} rows of {display_name(path)}")
    cells = run.grid(ks, [spec.options["covariance"]])
    selection = run.select(spec, rows, cells, grid.Scoring("bic"), jobs, on_done)
    doc = selection.docs[selection.best]
    model, params = parse_document(doc, "the chosen model")
    return Imputer(model, params, doc, selection=selection.table)


def load_imputer(path: str, spec: FitSpec, source, draws: int | None) -> tuple[Imputer, Rows]:
    """The model in the model file ``path`` and the rows of ``source`` it fills: for a gmm, the
    chosen columns (``spec``'s reading), which must be its columns in any order, reordered to
    them; for a model with hidden nodes (bn), its columns coded as its levels.  ``draws`` from
    a saved gmm are refused: they need bootstrap refits, and a network's are drawn from its
    posterior with the parameters as saved."""
    from emcli import pipeline
    from emcli.data import load_rows
    from emcli.em.protocol import HiddenNodes, has
    from emcli.errors import UsageError
    from emcli.io.modelfile import read_model

    model, params, doc = read_model(path)
    if has(model, HiddenNodes):
        if source.columns is not None and sorted(source.columns) != sorted(doc["columns"]):
            raise DataError(f"{path} was fit to columns {', '.join(doc['columns'])}; --columns names others")
        rows = load_rows(source.path, source.fmt, list(doc["columns"]), "categorical", levels=model.levels)
        return Imputer(model, params, doc, source=path), rows
    if doc["model"] != "gmm":
        raise ModelFileError(f"{path} holds a {doc['model']} model; impute needs a gmm or bn model")
    if draws:
        raise UsageError("--draws refits the model to bootstrap resamples; it cannot use a "
                         "saved --model-file, whose parameters carry no uncertainty")
    rows = pipeline.read(spec, source)
    if sorted(doc["columns"]) != sorted(rows.columns):
        raise DataError(f"{path} was fit to columns {', '.join(doc['columns'])}, but the chosen "
                        f"columns of {display_name(source.path)} are {', '.join(rows.columns)} "
                        "(choose them with --columns)")
    order = [rows.columns.index(c) for c in doc["columns"]]
    rows = Rows(rows.table, list(doc["columns"]), rows.X[:, order], warnings=rows.warnings)
    return Imputer(model, params, doc, source=path), rows
