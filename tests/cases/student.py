import numpy as np

LOCATION = np.array([1.0, -2.0])
SCALE = np.array([[1.0, 0.5], [0.5, 2.0]])
DOF = 5.0


def draw_t_mixture(rng, weights, means, scales, dofs, n):
    """(n, D) rows from a mixture of Student-t's, and their (n,) component labels: Gaussian
    rows divided by sqrt(chi2_nu / nu)."""
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, len(means[0])))
    for k in range(len(weights)):
        rows = labels == k
        gaussian = rng.multivariate_normal(np.zeros(len(means[k])), scales[k], size=rows.sum())
        X[rows] = means[k] + gaussian / np.sqrt(rng.chisquare(dofs[k], size=(rows.sum(), 1)) / dofs[k])
    return X, labels


# 1 / nu, not nu: its sampling spread hardly depends on nu, so one tolerance fits any tail
CASE = dict(
    options={"covariance": "full"},
    draw=lambda rng, n: draw_t_mixture(rng, [1.0], [LOCATION], [SCALE], [DOF], n)[0],
    truth={"means": LOCATION[None], "cov": SCALE[None], "inverse_dof": np.array([1.0 / DOF])},
    read=lambda params: {"means": params.means, "cov": params.cov, "inverse_dof": 1.0 / params.dof},
    atol=0.05,
)
