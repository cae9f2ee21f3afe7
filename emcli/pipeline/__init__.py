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

from emcli.pipeline.rows import FileRows, check, load, load_for_predict, read
from emcli.pipeline.run import Fitted, fit, fit_array
from emcli.pipeline.spec import FitSpec, Source

__all__ = ["FileRows", "check", "FitSpec", "Fitted", "Source", "fit", "fit_array", "load", "load_for_predict", "read"]
