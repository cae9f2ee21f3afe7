import numpy as np

# Every column has the same three levels, so that the contract suite can compare the parameters
# as arrays; tests/test_categorical.py covers columns of different sizes and text levels.
LEVELS = [[0, 1, 2]] * 5
# (components, columns, levels); components in the order ``read`` sorts them (by the probability
# of level 0 in the first column).
TABLES = np.array([
    [[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]],
    [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]],
    [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.2, 0.2], [0.1, 0.2, 0.7]],
])
WEIGHTS = np.array([0.25, 0.45, 0.3])
MISSING = 0.1


def draw(rng, n):
    """Level codes with about 10% of the cells missing (NaN)."""
    components = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    cumulative = np.cumsum(TABLES[components], axis=2)
    X = np.minimum((rng.random((n, TABLES.shape[1], 1)) >= cumulative).sum(axis=2), 2).astype(np.float64)
    X[rng.random(X.shape) < MISSING] = np.nan
    return X


def read(params):
    tables = np.stack(params.tables, axis=1)
    order = np.argsort(tables[:, 0, 0])
    return {"weights": params.weights[order], "tables": tables[order]}


CASE = dict(
    options={"k": 3, "levels": LEVELS},
    draw=draw,
    truth={"weights": WEIGHTS, "tables": TABLES},
    read=read, atol=0.03,
)
