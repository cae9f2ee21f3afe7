"""Resources follow the work, and option values are checked before any (issue 13, items 5 and 6):
counts have upper bounds, a grid's workers are capped by its cells, non-finite numbers are usage
errors."""

import pytest

from conftest import FAITHFUL

REFUSED = [
    (["fit", "--restarts", "100000000000000000000000"], "--restarts"),
    (["fit", "--max-iter", "99999999999"], "--max-iter"),
    (["fit", "--algorithm", "mcem", "--mc-samples", "1000000000"], "--mc-samples"),
    (["fit", "--algorithm", "stepwise", "--epochs", "1000000000"], "--epochs"),
    (["impute", "--draws", "1000000000", "--long", "-o", "l.csv"], "--draws"),
    (["select-k", "--k-range", "1:1000000000"], "--k-range 1:1000000000 holds 1000000000 values"),
    (["select-k", "-m", "kmeans", "--criterion", "gap", "--reference-draws", "1000000000"], "--reference-draws"),
    (["fit", "--tol", "nan"], "--tol': nan is not a finite number"),
    (["fit", "--reg-covar", "inf"], "--reg-covar': inf is not a finite number"),
    (["fit", "--prior-param", "kappa=nan"], "'nan' is not a finite number"),
    (["fit", "--chunk-bytes", "inf"], "--chunk-bytes"),
    (["fit", "--algorithm", "annealed", "--anneal-start", "inf"], "--anneal-start': inf is not a finite number"),
    (["fit", "--algorithm", "stepwise", "--kappa", "nan"], "--kappa': nan is not a finite number"),
    (["fit", "--algorithm", "gradient", "--learning-rate", "nan"], "--learning-rate': nan is not a finite number"),
    (["compress", "-o", "c.emq", "--target-mse", "nan"], "--target-mse': nan is not a finite number"),
]


@pytest.mark.parametrize("args, message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_unbounded_or_non_finite_values_are_usage_errors(run, tmp_path, args, message):
    command, *rest = args
    result = run(command, FAITHFUL, *rest)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_grid_starts_no_more_workers_than_cells(monkeypatch):
    """--jobs 100000 on a two-cell grid asks for two processes."""
    import concurrent.futures

    from emcli.data import Rows
    from emcli.pipeline import FitSpec
    from emcli.select import grid

    asked = []

    class Recording(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kwargs):
            asked.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(grid, "ProcessPoolExecutor", Recording)
    import numpy as np

    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    rows = grid.run_grid(FitSpec("kmeans"), [grid.Cell(1, None), grid.Cell(2, None)],
                         Rows(None, ["a", "b"], X), jobs=100000)
    assert asked == [2] and len(rows) == 2
