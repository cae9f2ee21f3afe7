import numpy as np

from conftest import draw_mixture

from cases.gmm import COVS, MEANS, WEIGHTS

# Symmetric clusters: the medoid (a sample spatial median) sits near the mean.
CASE = dict(
    options={"k": 3},
    draw=lambda rng, n: draw_mixture(rng, WEIGHTS, MEANS * 3, COVS * 0.2, n)[0],
    truth={"means": MEANS * 3},
    read=lambda p: {"means": p.medoids[np.argsort(p.medoids[:, 0] + 0.1 * p.medoids[:, 1])]},
    atol=0.005,  # x 21 (the largest |mean|): medoids land within ~0.02 of the means
    # a swap pass costs O(N^2 K): 8,000 rows recover the medoids within 0.0003 x 21 (20,000: 0.0007)
    recover_rows=8000,
)
