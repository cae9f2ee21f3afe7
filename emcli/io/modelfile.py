"""The model file: one JSON object, versioned, validated on load, written atomically."""

import json
import math
import os

from emcli import __version__
from emcli.em.protocol import Diagnosing, has
from emcli.errors import EmtoolError, FitError, ModelFileError
from emcli.io.atomic import write_bytes

FORMAT = "emtool-model"
FORMAT_VERSION = 1


def _score_fields(model, row: dict) -> dict:
    """The objective's fields from an engine row (score and data term): ``log_likelihood``;
    ``log_posterior`` and ``log_likelihood`` for MAP fits; ``log_evidence`` for models whose
    hyperparameters maximise the marginal likelihood; ``elbo`` for variational fits, the evidence
    lower bound; ``inertia`` for k-means and k-medoids."""
    if model.objective == "inertia":
        return {"inertia": -row["score"]}
    if model.objective in ("log_evidence", "elbo"):
        return {model.objective: row["score"]}
    if model.objective == "log_posterior":
        return {"log_posterior": row["score"], "log_likelihood": row["log_likelihood"]}
    return {"log_likelihood": row["score"]}


_ENGINE_FIELDS = ("iter", "score", "log_likelihood", "seconds", "event")


def _trace_rows(model, trace: list) -> list:
    """Trace rows for the file: iteration, the objective's fields, seconds, event, then the
    algorithm's own quantities (temperature, step size, kind of step...)."""
    return [{"iter": row["iter"], **_score_fields(model, row), "seconds": row["seconds"],
             "event": row["event"], **{k: v for k, v in row.items() if k not in _ENGINE_FIELDS}}
            for row in trace]


def _restart_row(model, summary: dict) -> dict:
    if "error" in summary:
        return {"seed": summary["seed"], "error": summary["error"]}
    row = {"seed": summary["seed"], **_score_fields(model, summary),
           "n_iter": summary["n_iter"], "converged": summary["converged"]}
    if summary.get("degenerate"):
        row["degenerate"] = summary["degenerate"]
    return row


def model_document(model, columns: list, outcome, *, n_samples: int,
                   target: str | None = None, seconds: float | None = None, engine: str = "local") -> dict:
    """The model file's JSON object for a finished fit (see DESIGN.md, "The model file");
    ``engine``: where its passes ran ("local", or "dask": a cluster)."""
    best = outcome.best
    fit = _score_fields(model, {"score": best.score, "log_likelihood": best.log_likelihood})
    p = model.n_parameters(best.params)
    fit["n_samples"] = n_samples
    fit["n_parameters"] = p
    if model.objective in ("log_likelihood", "log_posterior"):
        fit["bic"] = -2.0 * best.log_likelihood + p * math.log(n_samples)
        fit["aic"] = -2.0 * best.log_likelihood + 2.0 * p
    restarts = [_restart_row(model, r) for r in outcome.restarts]
    fit.update(converged=best.converged, n_iter=best.n_iter, algorithm=outcome.algorithm, engine=engine,
               seed=outcome.seed, restarts=restarts, trace=_trace_rows(model, best.trace))
    if outcome.start_runs is not None:
        fit["start_runs"] = outcome.start_runs
    if has(model, Diagnosing):
        # the degenerate components, as the fit found them (flat_components): a fit not to trust
        fit["degenerate"] = list(best.degenerate)
    if seconds is not None:
        fit["seconds"] = seconds
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "emtool_version": __version__,
        "model": model.name, "options": model.options(), "columns": list(columns),
        "target": target, "params": model.to_json(best.params), "fit": fit,
    }


def _format(value, indent: str) -> str:
    """JSON with one key per line and arrays of numbers on one line per innermost row."""
    inner = indent + "  "
    flat = isinstance(value, dict) and not any(isinstance(v, (list, dict)) for v in value.values())
    if isinstance(value, dict) and value and not flat:
        items = (f"{inner}{json.dumps(key)}: {_format(item, inner)}" for key, item in value.items())
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], (list, dict)):
        return "[\n" + ",\n".join(inner + _format(item, inner) for item in value) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)


def dumps(doc: dict) -> bytes:
    """The model file's bytes; floats are written in their shortest exact form.  A fit whose
    numbers left float range is a FitError: strict JSON has no inf or NaN, and a model file
    holding one would not read back."""
    try:
        return (_format(doc, "") + "\n").encode()
    except ValueError:
        raise FitError("the fit produced a number beyond float range (inf or NaN); the model "
                       "is not written (try --prior default, or rescale the columns)") from None


def write_model(path: str, doc: dict) -> None:
    write_bytes(path, dumps(doc))


def trace_csv(doc: dict) -> bytes:
    """The best restart's trace as CSV: iter, the objective's fields, seconds, event."""
    from emcli.io.records import records_csv

    return records_csv(doc["fit"]["trace"]).encode()


def _require(doc: dict, key: str, kind, where: str = ""):
    if key not in doc:
        raise ModelFileError(f"{where}{key}: missing")
    if not isinstance(doc[key], kind):
        raise ModelFileError(f"{where}{key}: expected {getattr(kind, '__name__', kind)}, found {type(doc[key]).__name__}")
    return doc[key]


def parse_model(text: str, name: str):
    """Validate a model file's text; returns (model instance, params, document).

    Errors name the file and the field: ModelFileError, exit status 2.
    """
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{name} is not an emtool model file (not JSON: {exc})") from None
    except RecursionError:
        raise ModelFileError(f"{name} is not an emtool model file (JSON nested too deeply)") from None
    except ValueError:  # an integer of more digits than Python converts
        raise ModelFileError(f"{name} is not an emtool model file (a number too long to read)") from None
    model, params = parse_document(doc, name)
    # every option spelled out, as the model took it: what reads the document later (a report,
    # a warm start) need not know which of them a hand-written file left to their defaults
    doc["options"] = model.options()
    return model, params, doc


def _standardization(model, field, n_columns: int) -> None:
    """A standardised fit's transform (emcli.standardize), kept as ``model.standardization``
    for the commands that apply the model to rows."""
    from emcli.standardize import STANDARDIZABLE, Standardization

    if model.name not in STANDARDIZABLE:
        raise ModelFileError(f"standardize: a {model.name} model is not fit to standardised columns")
    model.standardization = Standardization.from_json(field, n_columns)


def parse_document(doc, name: str):
    """(model instance, params) of a model file's parsed JSON ``doc``, validated; ``name``
    names it in errors."""
    from emcli.models import registry

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{name} is not an emtool model file (no \"format\": \"{FORMAT}\")")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: format_version {version!r} is not supported; this emtool ({__version__}) reads version {FORMAT_VERSION}"
        )
    try:
        model_name = _require(doc, "model", str)
        options = _require(doc, "options", dict)
        columns = _require(doc, "columns", list)
        if not columns or not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
            raise ModelFileError("columns: expected a non-empty list of distinct column names")
        params_doc = _require(doc, "params", dict)
        if model_name not in registry.MODELS:
            raise ModelFileError(f"model: unknown model {model_name!r}")
        try:
            model = registry.create(model_name, options)
        except EmtoolError as exc:
            raise ModelFileError(f"options: {exc}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"options: not options of {model_name} ({exc})") from None
        params = model.from_json(params_doc, len(columns))
        if "standardize" in doc:
            _standardization(model, doc["standardize"], len(columns))
    except ModelFileError as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    return model, params


#: the largest model file read: its arrays become Python lists of floats (some 5 times the
#: text's size) before their shapes can be checked; a gmm of 50 components in 500 dimensions
#: with full covariances is about 250 MB
MAX_MODEL_BYTES = 512 << 20


def read_model(path: str):
    """Load and validate the model file at ``path`` ('-': standard input), refusing one larger
    than MAX_MODEL_BYTES before parsing it; see ``parse_model``."""
    import sys

    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.buffer.read(MAX_MODEL_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                text = handle.read(MAX_MODEL_BYTES + 1) if size <= MAX_MODEL_BYTES else None
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror})") from None
    if text is None or len(text) > MAX_MODEL_BYTES:
        raise ModelFileError(f"{name} is larger than {MAX_MODEL_BYTES:,} bytes, more than any "
                             "model emtool writes; it is not read")
    return parse_model(text, name)
