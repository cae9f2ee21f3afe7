import numpy as np

from conftest import draw_mixture

# Components listed in the order ``read`` sorts them (by x + y / 10).
MEANS = np.array([[0.0, 0.0], [1.0, 7.0], [6.0, 1.0]])
COVS = np.array([[[1.0, 0.3], [0.3, 0.5]], [[1.5, 0.0], [0.0, 0.4]], [[0.6, -0.2], [-0.2, 1.2]]])
WEIGHTS = np.array([0.5, 0.2, 0.3])


def read(params):
    order = np.argsort(params.means[:, 0] + 0.1 * params.means[:, 1])
    return {"weights": params.weights[order], "means": params.means[order], "cov": params.cov[order]}


CASE = dict(
    options={"k": 3, "covariance": "full"},
    draw=lambda rng, n: draw_mixture(rng, WEIGHTS, MEANS, COVS, n)[0],
    truth={"weights": WEIGHTS, "means": MEANS, "cov": COVS},
    read=read, atol=0.05,
)
