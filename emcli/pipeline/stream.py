"""Stepwise EM streaming a file's rows: one read per epoch (and one more minibatch per start),
never the whole table, with the checks of ``rows.check`` made block by block."""

import numpy as np

from emcli.data import empty_rows, require_complete, require_variation
from emcli.errors import DataError
from emcli.pipeline.spec import FitSpec, Source


class CheckedSource:
    """The blocks of a file as a batch source for stepwise EM, checked block by block (rows
    counted from the start of the file): missing cells for a model that cannot use them, rows
    with every cell missing (dropped), and, for a model that needs
    variation, constant columns within the first minibatch, which sets the data scale
    (``model.prepare``).  ``rows_fit`` and ``dropped`` count the rows of the first pass."""

    def __init__(self, spec: FitSpec, source: Source, columns: list):
        from emcli.io.stream import batch_source

        self.spec, self.source, self.columns = spec, source, columns
        self.batch_size = spec.driver_options["batch_size"]
        self.blocks = batch_source(source.path, columns, source.fmt)
        self.rows_fit = self.dropped = None

    def __call__(self):
        from emcli.io.stream import shift_row

        offset, kept, dropped, first = 0, 0, 0, []
        for block in self.blocks():
            try:
                self._check(block)
            except DataError as exc:
                raise DataError(shift_row(str(exc), offset)) from None
            offset += len(block)
            if self.spec.entry.missing:
                empty = empty_rows(block)
                dropped += empty.size
                block = np.delete(block, empty, axis=0) if empty.size else block
            if kept < self.batch_size:
                first.append(block[: self.batch_size - kept])
                if kept + len(block) >= self.batch_size:
                    self._check_first(first)
            kept += len(block)
            yield block
        if kept < self.batch_size:
            self._check_first(first)
        if self.rows_fit is None:
            self.rows_fit, self.dropped = kept, dropped

    def _check(self, block: np.ndarray) -> None:
        if not self.spec.entry.missing:
            require_complete(block, self.columns, self.source.path, self.spec.model)

    def _check_first(self, pieces: list) -> None:
        if self.spec.entry.needs_variation and pieces:
            require_variation(np.concatenate(pieces), self.columns, self.source.path, self.spec.model)


def fit_stream(spec: FitSpec, model, source: Source, on_restart=None):
    """(outcome, columns, rows of the first epoch, rows dropped) of stepwise EM over the file's
    rows: ``spec.restarts`` starts (a warm start runs once), the best running log-likelihood
    wins."""
    from emcli.em.batch import diagnosed
    from emcli.em.fit import best_of
    from emcli.em.start import runs_per_start
    from emcli.em.stepwise import fit_source
    from emcli.io.stream import chosen_columns

    columns = source.columns or chosen_columns(source.path, source.fmt, exclude=source.exclude)
    blocks = CheckedSource(spec, source, columns)
    options = spec.driver_options
    init = model.default_init if spec.init is None else spec.init
    runs = None if spec.warm else runs_per_start(model, spec.restarts, spec.start_runs)

    def run(rng):
        return diagnosed(model, fit_source(
            model, blocks, rng=rng, init=init, batch_size=options["batch_size"], kappa=options["kappa"],
            epochs=min(options["epochs"] or spec.max_iter, spec.max_iter), tol=spec.tol,
            chunk_bytes=spec.chunk_bytes, start_runs=runs or 1))

    outcome = best_of(run, 1 if spec.warm else spec.restarts, spec.seed, "stepwise", on_restart)
    outcome.start_runs = runs
    return outcome, columns, blocks.rows_fit, blocks.dropped
