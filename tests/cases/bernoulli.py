import numpy as np

# Components listed in the order ``read`` sorts them (by their mean over the first four columns).
MEANS = np.array([
    [0.1, 0.2, 0.1, 0.1, 0.9, 0.8, 0.7, 0.2, 0.5, 0.9],
    [0.5, 0.6, 0.4, 0.5, 0.1, 0.2, 0.9, 0.9, 0.1, 0.3],
    [0.9, 0.8, 0.9, 0.7, 0.5, 0.9, 0.1, 0.2, 0.8, 0.6],
])
WEIGHTS = np.array([0.3, 0.5, 0.2])


def draw(rng, n):
    components = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    return (rng.random((n, MEANS.shape[1])) < MEANS[components]).astype(np.float64)


def read(params):
    order = np.argsort(params.means[:, :4].mean(axis=1))
    return {"weights": params.weights[order], "means": params.means[order]}


CASE = dict(
    options={"k": 3},
    draw=draw,
    truth={"weights": WEIGHTS, "means": MEANS},
    read=read, atol=0.03,
)
