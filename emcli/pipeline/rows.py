"""The rows a model is fit to or applied to: read from the table and checked, with one set of
checks and messages for every command."""

import dataclasses
from dataclasses import dataclass

import numpy as np

from emcli.data import (Rows, empty_rows, load_regression_rows, load_rows, require_complete,
                        require_no_empty_rows, require_observed_columns, require_rows,
                        require_float_range, require_variation)
from emcli.errors import UsageError
from emcli.models import registry
from emcli.pipeline.spec import FitSpec, Source


@dataclass(frozen=True)
class FileRows:
    """Numeric rows left in their file, for stepwise EM to stream block by block (with the same
    checks, made per block: emcli.pipeline.stream)."""

    source: Source
    warnings: tuple = ()  # a streamed file's columns are not screened for identifiers


def _check_request(spec: FitSpec, source: Source) -> None:
    """UsageError for options the model cannot take with this data: a target for a model that
    predicts none (or none for one that does)."""
    entry = spec.entry
    if entry.target_kind and source.target is None:
        raise UsageError(f"model {spec.model} needs --target COLUMN, the column to predict")
    if not entry.target_kind and source.target is not None:
        raise UsageError(f"model {spec.model} does not take --target (it is not a regression model)")


def streams(spec: FitSpec, source: Source) -> bool:
    """Whether the fit streams its rows from the file instead of loading them (a file here:
    standard input and URLs are read whole, and rows to standardise need their moments
    first)."""
    from emcli.io.streams import is_url

    return (spec.algorithm == "stepwise" and spec.max_iter > 0 and spec.entry.has("streaming")
            and source.path != "-" and not is_url(source.path) and source.standardize is None)


def load(spec: FitSpec, source: Source, *, k: int | None = None, levels: list | None = None,
         may_stream: bool = False, client=None, persist: bool = False) -> Rows | FileRows:
    """The rows of ``source`` to fit ``spec``'s model to, checked (see ``check``); a FileRows when
    ``may_stream`` and the fit streams them.  ``k``: the fewest components to be fit (default:
    the spec's); ``levels``: a warm start's coding of categorical columns; ``client``: a Dask
    client, whose workers then read the rows (``load_partitioned``; ``persist``: and keep
    them)."""
    _check_request(spec, source)
    if client is not None:
        return load_partitioned(client, spec, source, k=k, persist=persist)
    if may_stream and streams(spec, source):
        return FileRows(source)
    rows = check(spec, _read(spec, source, levels, keep_table=False), source, k=k)
    return standardized(rows, source.standardize) if source.standardize is not None else rows


def standardized(rows: Rows, how) -> Rows:
    """``rows`` in standardised units (emcli.standardize), their own (``how`` True) or a warm
    start's transform (``how`` a Standardization), which ``rows.standardization`` keeps."""
    from emcli.standardize import Standardization

    transform = Standardization.of(rows.X) if how is True else how
    # rows held in partitions are standardised on the workers, as each is read
    X = transform.forward(rows.X) if isinstance(rows.X, np.ndarray) else rows.X.mapped(transform.forward)
    return dataclasses.replace(rows, X=X, standardization=transform)


#: the models the dask engine fits: an E-step summed over rows of numbers, 0/1 cells or level codes,
#: or a regression's features and target
PARTITIONED_MODELS = ("gmm", "kmeans", "bernoulli", "categorical", "student", "tmix", "experts")

#: the drivers that need every row in one place, and why
LOCAL_ALGORITHMS = {
    "incremental": "it keeps every block's statistics and revisits the blocks one at a time; "
                   "use --algorithm stepwise, which streams the partitions",
    "ecme": "its degrees-of-freedom step holds every row's distances in one memory; use --algorithm ecm",
}


def load_partitioned(client, spec: FitSpec, source: Source, *, k: int | None = None, persist: bool = False) -> Rows:
    """The rows of ``source`` (a file, glob or directory of parts) read on the workers of
    ``client``, one partition per part (emcli.cluster.source), with the checks of ``check``:
    those of a row as each part is read, those of the whole table here; kept in the workers'
    memory with ``persist``, else read again at every pass."""
    from emcli.cluster.source import load_partitions

    if spec.model not in PARTITIONED_MODELS:
        raise UsageError(f"--engine dask fits {', '.join(PARTITIONED_MODELS)}; not {spec.model}")
    if spec.algorithm in LOCAL_ALGORITHMS:
        raise UsageError(f"--engine dask does not run --algorithm {spec.algorithm}: "
                         f"{LOCAL_ALGORITHMS[spec.algorithm]}")
    entry = spec.entry
    rows = load_partitions(client, source.path, source.fmt, source.columns, entry.target_kind or entry.data,
                           None if entry.missing else spec.model, source.exclude, persist, source.target)
    require_rows(rows.X, spec.k if k is None else k, source.path, spec.model, entry.min_rows)
    return rows if source.standardize is None else standardized(rows, source.standardize)


def read(spec: FitSpec, source: Source, levels: list | None = None) -> Rows:
    """The rows of ``source`` coded for ``spec``'s model, not yet checked for a fit (``check``
    does that): a regression's features then its target (complete), or the columns the model
    reads.  The request itself is checked (a target only for a regression...)."""
    _check_request(spec, source)
    return _read(spec, source, levels)


def _read(spec: FitSpec, source: Source, levels: list | None, keep_table: bool = True) -> Rows:
    """The rows of ``source``; without ``keep_table`` (a fit, which needs only the rows) the
    table is let go as soon as they are read."""
    entry = spec.entry
    if entry.target_kind:
        rows = load_regression_rows(source.path, source.fmt, source.columns, source.target,
                                    entry.target_kind, levels, exclude=source.exclude)
        return rows if keep_table else dataclasses.replace(rows, table=None)
    return load_rows(source.path, source.fmt, source.columns, entry.data, levels=levels,
                     exclude=source.exclude, keep_table=keep_table,
                     reserved=tuple(spec.options.get("hidden") or ()))


def check(spec: FitSpec, rows: Rows, source: Source, *, k: int | None = None) -> Rows:
    """``rows`` checked for a fit of ``spec``'s model: no missing cell for a model that needs
    complete rows; otherwise every column observed somewhere, and rows without an observed
    cell dropped (they add nothing to the observed-data likelihood; ``dropped`` counts them);
    enough rows for ``k`` components and the model; values whose squares are floats; no
    constant column for a model that needs spread."""
    entry, path = spec.entry, source.path
    if not entry.missing:
        require_complete(rows.X, rows.columns, path, spec.model)
    else:
        require_observed_columns(rows.X, rows.columns, path)
        empty = empty_rows(rows.X)
        if empty.size:
            rows = dataclasses.replace(rows, X=np.delete(rows.X, empty, axis=0), dropped=int(empty.size))
    require_rows(rows.X, spec.k if k is None else k, path, spec.model, entry.min_rows)
    # a regression's X holds its target as the last column
    variances = require_float_range(rows.X, rows.columns + ([rows.target] if rows.target else []), path)
    if entry.needs_variation:
        require_variation(rows.X, rows.columns, path, spec.model, variances)
    return rows


def load_for_predict(model, columns: list, source: Source, unseen: str = "error") -> Rows:
    """The rows of ``source`` a fitted ``model`` (fit to ``columns``) is applied to: coded as it
    was fit (``unseen``: what a level it never saw becomes), complete where it needs complete
    rows, and no row without an observed cell."""
    entry = registry.spec(model.name)
    levels = model.levels if entry.data == "categorical" else None
    rows = load_rows(source.path, source.fmt, columns, entry.data, levels, unseen)
    if entry.target_kind or not entry.missing:
        require_complete(rows.X, rows.columns, source.path, model.name)
    else:
        require_no_empty_rows(rows.X, source.path)
    return rows
