"""Three linear experts on one feature, with a soft gate: each expert speaks over a third of the
range, and the regions overlap."""

import numpy as np

SLOPES = np.array([[-1.0], [0.5], [2.0]])
INTERCEPTS = np.array([1.0, -2.0, 0.5])
SDS = np.array([0.3, 0.5, 0.2])
# gate logits relative to the last expert, the reference
GATE_SLOPES = np.array([[-4.0], [-2.0], [0.0]])
GATE_INTERCEPTS = np.array([-1.0, 2.0, 0.0])


def draw(rng, n):
    """(n, 2) rows [x, y] drawn from the mixture of experts above, x uniform on [-3, 3]."""
    x = rng.uniform(-3.0, 3.0, size=(n, 1))
    logits = x @ GATE_SLOPES.T + GATE_INTERCEPTS
    gates = np.exp(logits - logits.max(axis=1, keepdims=True))
    gates /= gates.sum(axis=1, keepdims=True)
    expert = (rng.random(n)[:, None] > np.cumsum(gates, axis=1)).sum(axis=1)
    y = (x * SLOPES[expert]).sum(axis=1) + INTERCEPTS[expert] + SDS[expert] * rng.standard_normal(n)
    return np.column_stack([x, y])


def read(params):
    """Experts in the order of their slopes; the gate relative to the last of them."""
    order = np.argsort(params.coef[:, 0])
    gate_coef, gate_bias = params.gate_coef[order], params.gate_bias[order]
    return {"slopes": params.coef[order], "intercepts": params.intercepts[order],
            "sds": np.sqrt(params.variances[order]), "gate_slopes": gate_coef - gate_coef[-1],
            "gate_intercepts": gate_bias - gate_bias[-1]}


CASE = dict(
    options={"k": 3},
    draw=draw,
    truth={"slopes": SLOPES, "intercepts": INTERCEPTS, "sds": SDS, "gate_slopes": GATE_SLOPES,
           "gate_intercepts": GATE_INTERCEPTS},
    read=read, atol=0.05,
)
