import numpy as np

from conftest import draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

CASE = dict(
    options={"k": 3},
    draw=lambda rng, n: draw_mixture(rng, WEIGHTS, MEANS * 3, COVS * 0.2, n)[0],
    truth={"means": MEANS * 3},
    read=lambda centres: {"means": centres[np.argsort(centres[:, 0] + 0.1 * centres[:, 1])]},
    atol=0.05,
)
