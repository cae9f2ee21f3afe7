"""The kinds of ``emtool plot``: what each needs (a model file or a select-k table, DATA, a
kind of model), the rows it draws, and the figure it makes."""

from dataclasses import dataclass

import numpy as np

from emcli.data import display_name
from emcli.em.protocol import Centres, has
from emcli.errors import UsageError
from emcli.models import registry

#: the most columns a scatter matrix draws (36 panels); more would be too small to read
MAX_COLUMNS = 6
#: the most rows drawn: beyond it, rows evenly spaced through the table, so that a plot of
#: millions of rows takes seconds and its SVG stays a few megabytes
MAX_POINTS = 20_000


@dataclass(frozen=True)
class Request:
    """What ``emtool plot`` was asked: ``kind``, its positional ``source`` (a model file, or a
    select-k table for bic), ``data`` (a table, or None), its format ``fmt`` (None: by
    extension) and the --columns and --exclude choices (None when not given)."""

    kind: str
    source: str
    data: str | None = None
    fmt: str | None = None
    columns: list | None = None
    exclude: list | None = None


def _cluster_models(posterior: bool) -> list:
    """The models a scatter coloured by cluster can draw: of numeric columns, not regressions,
    with clusters (with ``posterior``: with cluster probabilities and more than one component)."""
    return [name for name, spec in registry.MODELS.items()
            if spec.data == "numeric" and not spec.target_kind
            and (("cluster" in spec.outputs and spec.has("posterior")) if posterior
                 else spec.has("posterior") or spec.has("hard_labels"))]


#: per kind drawn from a model and DATA: (the models that can be drawn, what the kind draws)
DRAWABLE = {
    "classification": (_cluster_models(False), "clusters of numeric columns"),
    "uncertainty": (_cluster_models(True), "cluster probabilities of numeric columns"),
    "density": ([name for name, spec in registry.MODELS.items() if "covariance" in spec.options],
                "the density of Gaussian or Student-t components"),
}


def figure_for(request: Request):
    """The matplotlib Figure ``request`` asks for; a UsageError (one line) for a request that
    cannot be drawn, before any table is read."""
    if request.kind == "bic":
        return _criteria(request)
    from emcli.io.modelfile import read_model

    model, params, doc = read_model(request.source)
    title = f"{display_name(request.source)}: {_describe(doc)}"
    if request.kind == "trace":
        _refuse_extras(request)
        from emcli.plot.trace import read_trace, trace_figure

        return trace_figure(read_trace(doc, model.objective, display_name(request.source)), title=title)
    _check_drawable(request, doc["model"])
    drawn = _drawn_columns(request, doc["columns"])
    if request.kind == "density":
        return _density(request, model, params, doc, drawn, title)
    return _scatter(request, model, params, doc, drawn, title)


def _describe(doc: dict) -> str:
    """The model as the titles name it: "gmm k=3 tied"."""
    options = doc["options"]
    return " ".join([doc["model"], *([f"k={options['k']}"] if "k" in options else []),
                     *([options["covariance"]] if options.get("covariance") else [])])


def _refuse_extras(request: Request) -> None:
    """UsageError for DATA or --columns given to a kind that draws from its file alone."""
    if request.data is not None:
        raise UsageError(f"--kind {request.kind} draws from {display_name(request.source)} alone; "
                         f"DATA ({display_name(request.data)}) is not used")
    if request.columns is not None or request.exclude is not None:
        raise UsageError("--columns and --exclude choose the columns of --kind classification, "
                         "uncertainty and density")


def _check_drawable(request: Request, model_name: str) -> None:
    models, what = DRAWABLE[request.kind]
    if model_name not in models:
        raise UsageError(f"--kind {request.kind} draws {what} ({', '.join(models)}); "
                         f"{display_name(request.source)} holds a {model_name} model")
    if request.data is None and request.kind != "density":
        raise UsageError(f"--kind {request.kind} needs DATA, the table whose rows to draw: "
                         f"emtool plot {display_name(request.source)} DATA --kind {request.kind} -o FILE")


def _drawn_columns(request: Request, columns: list) -> list:
    """Indices of the model's ``columns`` to draw: --columns (in their order) or the model's
    but --exclude's; density's default is the first two.  A UsageError for a name the model
    has not, or a number of columns the kind cannot draw."""
    exclude = request.exclude or []
    for name in [*(request.columns or []), *exclude]:
        if name not in columns:
            raise UsageError(f"--columns {name}: the model has no column {name!r} (it has "
                             f"{', '.join(columns)})")
    chosen = request.columns or [name for name in columns if name not in exclude]
    if request.kind == "density" and request.columns is None:
        chosen = chosen[:2]
    if len(chosen) < 2:
        raise UsageError(f"--kind {request.kind} draws pairs of columns; there is only {', '.join(chosen) or 'none'}"
                         + ("" if request.columns else " among the model's"))
    if request.kind == "density" and len(chosen) != 2:
        raise UsageError(f"--kind density draws one pair of columns; --columns names {len(chosen)}")
    if len(chosen) > MAX_COLUMNS:
        raise UsageError(f"{len(chosen)} columns are too many to draw (at most {MAX_COLUMNS}); choose "
                         "some with --columns A,B,...")
    return [columns.index(name) for name in chosen]


def _rows(request: Request, model, columns: list) -> np.ndarray:
    """(N, D) rows of DATA in the model's ``columns``, read and checked as predict reads them;
    at most MAX_POINTS of them, evenly spaced through the table."""
    from emcli.pipeline import Source, load_for_predict

    X = load_for_predict(model, columns, Source(request.data, request.fmt)).X
    if len(X) > MAX_POINTS:
        X = X[np.linspace(0, len(X) - 1, MAX_POINTS).round().astype(int)]
    return X


def _scatter(request: Request, model, params, doc: dict, drawn: list, title: str):
    """classification (each row coloured by its cluster) or uncertainty (and sized by
    1 - its largest cluster probability)."""
    from emcli.plot.components import components, has_components
    from emcli.plot.scatter import scatter_figure, uncertainty_areas
    from emcli.predict import predict_columns

    X = _rows(request, model, doc["columns"])
    uncertainty = request.kind == "uncertainty"
    # one component (student) has no cluster output: every row is in it
    predicted = (predict_columns(model, params, X, proba=uncertainty, name=display_name(request.data))
                 if "cluster" in registry.spec(model.name).outputs else {})
    labels = predicted.get("cluster", np.zeros(len(X), dtype=int))
    areas = None
    if uncertainty:
        proba = np.column_stack([values for column, values in predicted.items() if column.startswith("p_")])
        areas = uncertainty_areas(1.0 - proba.max(axis=1), proba.shape[1])
        title += "\nmarker area grows with 1 - the largest cluster probability"
    parts = components(model, params).on(drawn) if has_components(model) else None
    centres = _centres(model, params)[:, drawn] if has(model, Centres) and parts is None else None
    names = [doc["columns"][i] for i in drawn]
    return scatter_figure(X[:, drawn], names, labels, model.k, title=title, areas=areas, parts=parts, centres=centres)


def _density(request: Request, model, params, doc: dict, drawn: list, title: str):
    from emcli.plot.components import components, marginal_log_density
    from emcli.plot.density import density_figure

    X = _rows(request, model, doc["columns"])[:, drawn] if request.data is not None else None
    names = [doc["columns"][i] for i in drawn]
    return density_figure(marginal_log_density(model, params, drawn), names,
                          components(model, params).on(drawn), title=title, X=X)


def _criteria(request: Request):
    """bic: the panels of select-k's --plot, from the table select-k --table wrote."""
    from emcli.select.plot import criteria_figure, drawn_criteria, read_table

    _refuse_extras(request)
    rows = read_table(request.source)
    best = next((i for i, row in enumerate(rows) if row.get("best") is True), None)
    return criteria_figure(rows, drawn_criteria(rows), best)


def _centres(model, params) -> np.ndarray:
    """(K, D) k-means' or k-medoids' centres in the data's units (emcli.standardize)."""
    transform = getattr(model, "standardization", None)
    return model.centres(params) if transform is None else transform.inverse(model.centres(params))
