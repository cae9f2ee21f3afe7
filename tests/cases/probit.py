import numpy as np

WEIGHTS = np.array([1.0, -0.5])
INTERCEPT = 0.3


def draw(rng, n):
    """(n, 3) rows [x1, x2 | y]: standard normal features and y = 1 when the utility
    0.3 + x'w + e, e ~ N(0, 1), is positive."""
    X = rng.standard_normal((n, WEIGHTS.size))
    y = (INTERCEPT + X @ WEIGHTS + rng.standard_normal(n) > 0).astype(float)
    return np.column_stack([X, y])


CASE = dict(
    options={"intercept": True, "prior_scale": 10.0},
    draw=draw,
    truth={"weights": WEIGHTS, "intercept": np.array([INTERCEPT])},
    read=lambda params: {"weights": params.weights, "intercept": np.array([params.intercept])},
    atol=0.05,
)
