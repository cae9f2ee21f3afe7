import numpy as np

from cases.gmm import COVS, MEANS
from cases.student import draw_t_mixture

# Components in the order ``read`` sorts them into (by x + y / 10).  Balanced weights and
# scales below 1: with its dof estimated, a scale estimate from 20000 rows of heavy-tailed data
# varies by about twice a Gaussian covariance's, and the tolerance is 0.05 * max(1, |truth|).
WEIGHTS = np.array([0.4, 0.3, 0.3])
SCALES = 0.5 * COVS
DOFS = np.array([3.0, 6.0, 12.0])


def read(params):
    order = np.argsort(params.means[:, 0] + 0.1 * params.means[:, 1])
    return {"weights": params.weights[order], "means": params.means[order],
            "cov": params.cov[order], "inverse_dof": 1.0 / params.dof[order]}


CASE = dict(
    options={"k": 3, "covariance": "full"},
    draw=lambda rng, n: draw_t_mixture(rng, WEIGHTS, MEANS, SCALES, DOFS, n)[0],
    truth={"weights": WEIGHTS, "means": MEANS, "cov": SCALES, "inverse_dof": 1.0 / DOFS},
    read=read, atol=0.05,
)
