"""Choosing the number of components (and the covariance structure): a grid of fits through the
pipeline (grid.py), scored by an information criterion, cross-validation (cv.py), the gap
statistic or held-out reconstruction (gap.py); the choice (run.py); its plot (plot.py)."""
