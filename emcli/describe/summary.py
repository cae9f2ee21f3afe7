"""The facts of a loaded model file as a plain dict of JSON values, at full precision (``render``
rounds them for people).  Its keys, in order:

- ``model``, ``summary`` (the registry's line on it), ``emtool_version``, ``options``,
  ``columns`` (the features of a regression), ``target``, and ``k`` for models with components;
- the model's own: ``parameters`` (named values: a noise sd, a network's hidden nodes),
  ``components`` (one dict per component: scalars such as its weight; a vector as {column:
  value}; for a full covariance its summary), ``shared_covariance`` or ``shared_scale_matrix``
  (tied), ``coefficients`` (a regression's terms, one dict each), ``relevance_vectors`` (rvm
  --basis rbf), ``nodes`` (bn: each node's conditional probability table);
- ``fit``: the objective and its value, BIC and AIC, convergence, restarts and the trace's
  events (None when the file records no fit);
- ``notes``: the model's own lines on its fit (blr, rvm).

A number that is not finite (a pruned weight's infinite precision, a NaN in a hand-edited fit)
becomes None, so that the dict is strict JSON.
"""

import itertools
import math

import numpy as np

from emcli.em.protocol import Describing, has
from emcli.errors import ModelFileError
from emcli.models.bn import level_text
from emcli.models.registry import MODELS

#: a correlation matrix is listed whole up to this many columns; beyond, its largest entries
FULL_CORRELATION = 6
#: how many of the largest absolute correlations are listed beyond FULL_CORRELATION columns
LARGEST_CORRELATIONS = 5
#: the fit's fields described, as the model file names them (modelfile.model_document)
FIT_FIELDS = ("log_posterior", "log_likelihood", "elbo", "log_evidence", "inertia", "bic", "aic",
              "n_samples", "n_parameters", "converged", "n_iter", "algorithm", "engine", "seed",
              "start_runs", "degenerate", "seconds")
INTERCEPT = "(intercept)"


def facts(model, params, doc: dict, name: str) -> dict:
    """The facts of the model file ``name`` that ``read_model`` loaded as (``model``,
    ``params``, ``doc``); a ModelFileError naming the field if its fit record is malformed."""
    columns = list(doc["columns"])
    out = {"model": model.name, "summary": MODELS[model.name].summary,
           "emtool_version": doc.get("emtool_version"), "options": doc["options"], "columns": columns,
           "target": doc.get("target")}
    transform = getattr(model, "standardization", None)
    if transform is None:
        out.update(_PARTS[model.name](model, params, columns))
    else:
        out.update(_standardized(model, params, columns, transform, doc["standardize"]))
    out["fit"] = _fit(model, doc.get("fit"), name)
    if has(model, Describing):
        out["notes"] = model.describe(params, columns)
    if model.name == "gmm":
        from emcli.models.forms import described

        out["notes"] = [f"covariance form {described(model.form)}"]
    if transform is not None:
        out["notes"] = out.get("notes", []) + [
            "fit to standardised columns (--standardize): the parameters are shown in the data's units; "
            "the fit's scores are those of the standardised rows (add log_jacobian "
            f"{doc['standardize']['log_jacobian']:.6g} for the rows' own units)"]
    return _finite(out)


def _standardized(model, params, columns: list, transform, field: dict) -> dict:
    """The parameters of a model fit to standardised columns (emcli.standardize: gmm, kmeans,
    kmedoids) in the data's units, and ``standardize``: each column's centre and scale.  A
    spherical or diagonal covariance in standardised units is diagonal in the data's."""
    import dataclasses
    import types

    scale = transform.scale
    if model.name == "kmeans":
        part = _kmeans(model, transform.inverse(params), columns)
    elif model.name == "kmedoids":
        part = _kmedoids(model, dataclasses.replace(params, medoids=transform.inverse(params.medoids)), columns)
    else:
        cov, covariance = params.cov, model.covariance
        if covariance in ("full", "tied"):
            cov = cov * np.outer(scale, scale)
        else:
            cov = (cov[:, None] if covariance == "spherical" else cov) * scale**2
            covariance = "diag"
        shown = dataclasses.replace(params, covariance=covariance, means=transform.inverse(params.means), cov=cov)
        part = _gaussian(types.SimpleNamespace(name=model.name, covariance=covariance), shown, columns)
    return {**part, "standardize": {"center": _by_column(transform.center, columns),
                                    "scale": _by_column(scale, columns),
                                    "log_jacobian": field["log_jacobian"]}}


def _by_column(values: np.ndarray, columns: list) -> dict:
    """The (D,) ``values`` as {column: value}."""
    return {column: float(value) for column, value in zip(columns, values)}


def _finite(value):
    """``value`` with every non-finite float, at any depth, replaced by None."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the models' parameters -----------------------------------------------------------------------


def _matrix_summary(matrix: np.ndarray, columns: list, spread: str) -> dict:
    """A (D, D) covariance or scale matrix as its per-column scales (square roots of its
    diagonal, named ``spread``), its condition number and its correlations: the whole matrix
    up to FULL_CORRELATION columns, else the LARGEST_CORRELATIONS largest in magnitude."""
    scale = np.sqrt(np.diag(matrix))
    correlation = np.clip(matrix / np.outer(scale, scale), -1.0, 1.0)
    np.fill_diagonal(correlation, 1.0)  # exactly, not to rounding
    out = {spread: _by_column(scale, columns), "condition_number": float(np.linalg.cond(matrix))}
    if len(columns) <= FULL_CORRELATION:
        out["correlation"] = {column: _by_column(row, columns) for column, row in zip(columns, correlation)}
        return out
    upper, lower = np.triu_indices(len(columns), 1)
    pairs = correlation[upper, lower]
    largest = np.argsort(-np.abs(pairs), kind="stable")[:LARGEST_CORRELATIONS]
    out["largest_correlations"] = [{"columns": [columns[upper[t]], columns[lower[t]]], "correlation": float(pairs[t])}
                                   for t in largest]
    return out


def _spread(covariance: str, cov: np.ndarray, j: int, key: str, spread: str, columns: list) -> dict:
    """Component ``j``'s spread from ``cov`` in the shape of ``covariance`` (full (K, D, D),
    diag (K, D), spherical (K,); tied is shared, described once): a full matrix's summary under
    ``key``, a diagonal's condition number and scales, a sphere's one scale."""
    if covariance == "full":
        return {key: _matrix_summary(cov[j], columns, spread)}
    if covariance == "diag":
        return {"condition_number": float(cov[j].max() / cov[j].min()), spread: _by_column(np.sqrt(cov[j]), columns)}
    if covariance == "spherical":
        return {spread: float(np.sqrt(cov[j]))}
    return {}


def _variational(params, components: list) -> list:
    """``components`` with, for a variational fit, each one's expected rows and whether the
    data support it (live)."""
    if params.variational is not None:
        live = set(params.variational.live.tolist())
        for j, component in enumerate(components):
            component.update(expected_rows=float(params.variational.counts[j]), live=j in live)
    return components


def _gaussian(model, params, columns: list) -> dict:
    """gmm, student, tmix: weights (K,), means (K, D), covariances (Gaussian) or scale
    matrices (t) in ``model.covariance``'s shape, and a t's degrees of freedom (K,)."""
    gaussian = model.name == "gmm"
    key, spread = ("covariance", "sd") if gaussian else ("scale_matrix", "scale")
    components = []
    for j, (weight, mean) in enumerate(zip(params.weights, params.means)):
        component = {"component": j, "weight": float(weight)}
        if not gaussian:
            component["dof"] = float(params.dof[j])
        component["mean"] = _by_column(mean, columns)
        component.update(_spread(model.covariance, params.cov, j, key, spread, columns))
        components.append(component)
    out = {"k": len(components), "components": _variational(params, components)}
    if model.covariance == "tied":
        out["shared_" + key] = _matrix_summary(params.cov, columns, spread)
    return out


def _kmeans(model, centres: np.ndarray, columns: list) -> dict:
    """centres (K, D)."""
    return {"k": model.k, "components": [{"component": j, "centre": _by_column(centre, columns)}
                                         for j, centre in enumerate(centres)]}


def _kmedoids(model, params, columns: list) -> dict:
    """medoids (K, D) and the training rows (K,) they are."""
    return {"k": model.k, "components": [{"component": j, "row": int(row), "medoid": _by_column(medoid, columns)}
                                         for j, (row, medoid) in enumerate(zip(params.rows, params.medoids))]}


def _bernoulli(model, params, columns: list) -> dict:
    """weights (K,) and means (K, D), the probabilities of a 1."""
    components = [{"component": j, "weight": float(weight), "probability_of_1": _by_column(means, columns)}
                  for j, (weight, means) in enumerate(zip(params.weights, params.means))]
    return {"k": model.k, "components": _variational(params, components)}


def _categorical(model, params, columns: list) -> dict:
    """weights (K,) and per column a (K, L_j) table of its levels' probabilities."""
    levels = [[level_text(level) for level in column] for column in model.levels]
    components = [{"component": j, "weight": float(weight),
                   "levels": {column: dict(zip(names, map(float, table[j])))
                              for column, names, table in zip(columns, levels, params.tables)}}
                  for j, weight in enumerate(params.weights)]
    return {"k": model.k, "components": _variational(params, components)}


def _network(model, params, columns: list) -> dict:
    """Per node its (L_pa1, ..., L_pam, L_v) table, one row per configuration of its parents."""
    hidden = set(model.hidden_names())
    variables = model.bif_variables(params)
    states = {variable["name"]: variable["states"] for variable in variables}
    nodes = []
    for node in variables:
        given = itertools.product(*(states[parent] for parent in node["parents"]))
        rows = node["cpt"].reshape(-1, len(node["states"]))
        nodes.append({"name": node["name"], "hidden": node["name"] in hidden, "parents": node["parents"],
                      "states": node["states"],
                      "table": [{"given": dict(zip(node["parents"], configuration)),
                                 "probabilities": dict(zip(node["states"], map(float, row)))}
                                for configuration, row in zip(given, rows)]})
    return {"parameters": {"hidden": dict(model.hidden)}, "nodes": nodes}


def _experts(model, params, columns: list) -> dict:
    """Per expert its line (intercept (K,), coefficients (K, D)) and noise sd (K,), and its
    gate's intercept (K,) and coefficients (K, D)."""
    components = []
    for j in range(model.k):
        component = {"component": j, "noise_sd": math.sqrt(params.variances[j])}
        if model.intercept:
            component["intercept"] = float(params.intercepts[j])
        component.update(gate_intercept=float(params.gate_bias[j]),
                         coefficients=_by_column(params.coef[j], columns),
                         gate_coefficients=_by_column(params.gate_coef[j], columns))
        components.append(component)
    return {"k": model.k, "components": components}


def _terms(model, columns: list) -> list:
    return ([INTERCEPT] if model.intercept else []) + columns


def _blr(model, params, columns: list) -> dict:
    """The weights' posterior mean (M,) and sd (the root of its covariance's diagonal), the
    noise sd and the weights' prior sd."""
    sd = np.sqrt(np.diag(params.cov))
    return {"parameters": {"noise_sd": params.beta ** -0.5, "prior_sd": params.alpha ** -0.5},
            "coefficients": [{"term": term, "coefficient": float(mean), "sd": float(s)}
                             for term, mean, s in zip(_terms(model, columns), params.mean, sd)]}


def _rvm(model, params, columns: list) -> dict:
    """The weights' posterior mean and sd, with each basis function's precision (alpha) and
    whether it was kept (relevant); the relevance vectors' coordinates for --basis rbf."""
    sd = np.sqrt(np.diag(params.cov))
    relevant = params.index[params.active].tolist()
    if model.basis == "linear":
        names = columns
        kept = [columns[j] for j in relevant]
    else:
        names = [f"row {j}" for j in params.index]
        kept = relevant
    rows = [{"term": INTERCEPT, "coefficient": float(params.mean[0]), "sd": float(sd[0]), "relevant": None,
             "precision": None}] if model.intercept else []
    rows += [{"term": term, "coefficient": float(mean), "sd": float(s), "relevant": bool(active), "precision": float(alpha)}
             for term, mean, s, active, alpha in zip(names, params.mean[model.intercept:], sd[model.intercept:],
                                                      params.active, params.alpha)]
    out = {"parameters": {"noise_sd": params.beta ** -0.5, "relevant": kept}, "coefficients": rows}
    if model.basis == "rbf":
        out["relevance_vectors"] = [{"row": int(j), "centre": _by_column(centre, columns)}
                                    for j, centre in zip(params.index, params.centres)]
    return out


def _probit(model, params, columns: list) -> dict:
    """The weights (D,) and intercept of the latent utility; the target's labels coded 0 and 1."""
    values = ([params.intercept] if model.intercept else []) + params.weights.tolist()
    return {"parameters": {"label_0": model.levels[0], "label_1": model.levels[1]},
            "coefficients": [{"term": term, "coefficient": float(value)}
                             for term, value in zip(_terms(model, columns), values)]}


#: each registered model's parameters, by its name (tests/test_describe.py holds it to the registry)
_PARTS = {"gmm": _gaussian, "student": _gaussian, "tmix": _gaussian, "kmeans": _kmeans, "kmedoids": _kmedoids,
          "bernoulli": _bernoulli, "categorical": _categorical, "bn": _network, "experts": _experts,
          "blr": _blr, "rvm": _rvm, "probit": _probit}


# -- the fit --------------------------------------------------------------------------------------


def _rows(fit: dict, key: str, name: str) -> list:
    """``fit[key]`` (restarts, trace), a list of objects; a ModelFileError naming it if not."""
    rows = fit.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ModelFileError(f"{name}: fit.{key}: expected a list of objects")
    return rows


def _fit(model, fit, name: str) -> dict | None:
    """The objective's name, the fit's fields (FIT_FIELDS, those present), its restarts as
    recorded and its events (the trace's rows with one) as iteration and text."""
    if fit is None:
        return None
    if not isinstance(fit, dict):
        raise ModelFileError(f"{name}: fit: expected an object, found {type(fit).__name__}")
    out = {"objective": model.objective, **{key: fit[key] for key in FIT_FIELDS if key in fit}}
    out["restarts"] = [dict(row) for row in _rows(fit, "restarts", name)]
    out["events"] = [{"iter": row.get("iter"), "event": row["event"]}
                     for row in _rows(fit, "trace", name) if row.get("event") is not None]
    return out
