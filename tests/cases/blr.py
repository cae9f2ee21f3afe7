import numpy as np

# y = 1.5 + x'w + N(0, 0.5^2) noise, with features of different scales and offsets
WEIGHTS = np.array([2.0, -1.0, 0.5])
INTERCEPT = 1.5
NOISE_SD = 0.5


def draw(rng, n):
    """(n, 4) rows: three features, then the target."""
    X = rng.standard_normal((n, 3)) * [1.0, 3.0, 1.0] + [0.0, 5.0, -2.0]
    return np.column_stack([X, INTERCEPT + X @ WEIGHTS + NOISE_SD * rng.standard_normal(n)])


CASE = dict(
    options={"intercept": True},
    draw=draw,
    truth={"weights": np.r_[INTERCEPT, WEIGHTS], "noise_sd": np.array(NOISE_SD)},
    read=lambda params: {"weights": params.mean, "noise_sd": np.array(params.beta ** -0.5)},
    atol=0.05,
)
