"""The one path from a table to a fitted model, shared by every command and every internal
refit (select-k's cells, cross-validation folds, gap reference sets, bootstrap imputations,
compress's codebooks):

1. ``FitSpec`` (spec.py): the model, its options and how EM runs, from the command's options;
2. ``load`` (rows.py): read the table and check its rows for that model, one set of checks and
   messages (``load_for_predict`` for rows a fitted model is applied to);
3. ``fit`` (run.py): build the model, fit it with restarts and return the model file's document,
   with the fit's warnings and notes as data for the command to show.

Nothing here prints: commands decide what reaches the terminal.
"""

#: what the package offers, by the module that holds it; imported on first use, so that a
#: command that needs only a FitSpec (compress on an image) does not load the table readers
_EXPORTS = {"FitSpec": "spec", "Source": "spec", "FileRows": "rows", "check": "rows", "load": "rows",
            "load_for_predict": "rows", "read": "rows", "Fitted": "run", "fit": "run",
            "fit_array": "run", "engine": "engines"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    import importlib

    if name not in _EXPORTS:
        raise AttributeError(f"module 'emcli.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"emcli.pipeline.{_EXPORTS[name]}"), name)
