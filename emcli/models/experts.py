"""Mixture of linear experts: K linear regressions of the target on the features, each with its
own noise variance, and a softmax gate on the features that says which expert speaks where
(Jacobs, Jordan, Nowlan & Hinton 1991; Jordan & Jacobs 1994).  The target's density given the
features x is

    p(y | x) = sum_k g_k(x) N(y | w_k'x + b_k, s_k^2),   g(x) = softmax(V x + c),

so the model fits data that follow different lines in different regions, and targets with
several plausible values at the same x (an inverse problem, such as recovering a cause from its
effect).  The intercepts b_k are dropped with --no-intercept; the gate always has its intercepts
c, because which expert speaks where has nothing to do with whether the lines pass through the
origin.  Only differences between the gate's rows matter, so its steps leave the last
expert's row where it is (zero, unless that expert is re-seeded).

EM alternates responsibilities (which expert produced each row, given x and y) with a weighted
least-squares fit of each expert and a step of the gate towards the responsibilities.  The gate
has no closed form, and the M-step sees only sums over rows, so it takes the best of several
steps whose gain it can certify from those sums: Boehning's (1992) bound on the softmax
curvature, damped Newton steps cut to a length that bounds how far they can move any row's
gate, and sharper copies of the current gate whose objective the E-step computed.  This is a
generalised EM: the log-likelihood never decreases.  Where the regimes are cleanly separated
in x, the gate sharpens towards a step function (its coefficients grow large), as the
likelihood asks.

Each expert's noise variance is kept above 1e-6 times the target's variance: an expert
threading exactly through as many rows as it has weights would otherwise reach an infinite
likelihood, and the floor follows the target's units.  An expert that empties, or rests on
that floor holding fewer rows than its weights plus one, is re-seeded at a random row (an
event in the trace).  Starts: the experts are fit to the clusters of k-means++ (--init
k-means++) or of random rows (--init random) in the standardised (features, target) space, so
each starts as a local line; use --restarts, as EM stops at local optima.

Options: -k (number of experts), --no-intercept.  Predict writes 'prediction' (the mean of
p(y | x)), 'prediction_std' (its standard deviation, noise and disagreement between experts
included), 'mode' (the line of the expert the gate trusts most at x: the answer to an inverse
problem, where the mean falls between branches) and 'expert' (that expert's number).
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from emcli.em.chunks import accumulate, chunk_rows, chunks
from emcli.em.init import initial_centres
from emcli.em.moments import column_range, mean_and_variance, per_partition
from emcli.em.start import rows_at_hand
from emcli.em.protocol import Diagnosing, Reseeding, RowOutputs, SelfStarting
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.gaussian import second_features, unpack
from emcli.models.params import check_k, check_magnitude, check_shape, float_array
from emcli.numeric import LOG_2PI, normalize_log_rows

#: noise variance floor, relative to the target's variance
VAR_FLOOR = 1e-6
#: ridge on each expert's normal equations, relative to its rows, in standardised units
RIDGE = 1e-10
#: added to the gate's scatter (relative to its mean diagonal), so that a constant or duplicated
#: feature leaves the bound's system solvable; a larger curvature bound is still a bound
GATE_JITTER = 1e-10
#: damping of the Newton candidates, (H + mu B) d = G: from Newton's step to Boehning's direction
DAMPING = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
#: factors c of the sharpened gates c U whose objective the E-step evaluates
SHARPEN = (2.0, 4.0, 16.0)


@dataclass
class ExpertsParams:
    """Experts' coefficients (K, D), intercepts (K,) (zeros without an intercept) and noise
    variances (K,); the gate's coefficients (K, D) and intercepts (K,): expert k's gating logit
    at x is gate_coef[k] @ x + gate_bias[k]."""

    coef: np.ndarray
    intercepts: np.ndarray
    variances: np.ndarray
    gate_coef: np.ndarray
    gate_bias: np.ndarray


def certified_rise(a: float, b: float, spread: float) -> tuple[float, float]:
    """(step length, guaranteed rise of the gate's objective Q) along a direction d.

    ``a`` = G.d and ``b`` = d'H d, with H the curvature of -Q at the current gate, and
    ``spread`` bounds, over every row, the range across experts of the logits' change per unit
    step.  A step s d changes each gate probability by a factor of at most exp(s spread), and
    the curvature of -Q in direction d at that point is a gate-weighted variance of the
    logits' change, so at most exp(s spread) b: integrated twice, Q rises by at least
    alpha a - b (exp(alpha t) - 1 - alpha t) / t^2 (t = spread), largest at
    alpha = log(1 + a t / b) / t.
    """
    if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(spread) and a > 0 and b > 0):
        return 0.0, 0.0
    alpha = a / b if spread * a < 1e-8 * b else np.log1p(spread * a / b) / spread
    x = alpha * spread
    # (e^x - 1 - x) / x^2, by its series where the difference would cancel
    shape = (np.expm1(x) - x) / (x * x) if x > 1e-4 else 0.5 + x / 6.0
    return alpha, alpha * a - b * alpha * alpha * shape


def gating_step(U: np.ndarray, gradient: np.ndarray, scatter: np.ndarray, hessian: np.ndarray,
                radius: float, sharpened: np.ndarray) -> np.ndarray:
    """One step of the softmax gate's (K, M) logit weights ``U`` that never lowers the gate's
    expected complete-data log-likelihood Q(U) = sum_n sum_k r_nk log g_k(psi_n).

    ``gradient`` (K, M) = sum_n (r_n - g_n) psi_n' at U; ``scatter`` (M, M) = sum_n psi_n psi_n';
    ``hessian`` ((K-1) M, (K-1) M) the curvature of -Q at U with respect to the first K - 1 rows
    (the last is the fixed reference); ``radius`` bounds every row's norm |psi_n|;
    ``sharpened`` (1 + len(SHARPEN),) holds Q(U) and Q(c U) for c in SHARPEN.

    Boehning (1992): for every U that curvature is at most B = 1/2 (I - 11'/K) (x) scatter, so
    the step B^{-1} G, that is 2 (I + 11') G scatter^{-1} since (I - 11'/K)^{-1} = I + 11',
    maximises a quadratic minorant and raises Q by at least G'B^{-1}G / 2.  Where the gate
    saturates that bound is loose and its steps short, so damped Newton directions
    (H + mu B)^{-1} G are also tried, each with the step length and rise that
    ``certified_rise`` guarantees from the exact curvature at U.  Where the rows are
    separated by the gate, its likelihood grows without bound as the gate sharpens, and any
    step that moves every logit by a bounded amount closes in on it only as 1/iterations; so
    the sharpened gates c U, whose Q the E-step computed exactly, are candidates too.  The
    step whose guaranteed rise is largest wins, so Q rises at least as much as Boehning's step
    makes it.
    """
    k, m = U.shape
    if k == 1:
        return U.copy()
    G = gradient[:-1]
    g = G.ravel()
    jitter = GATE_JITTER * max(np.trace(scatter) / m, np.finfo(float).tiny)
    scatter = scatter + jitter * np.eye(m)
    bound = np.kron(0.5 * (np.eye(k - 1) - 1.0 / k), scatter)
    boehning = linalg.solve(scatter, 2.0 * (G + G.sum(axis=0)).T, assume_a="pos",
                            check_finite=False).T.ravel()
    best_rise, best_step = 0.5 * g @ boehning, boehning
    # keeps the systems regular along a duplicated feature, where G has no component
    ridge = GATE_JITTER * np.trace(bound) / len(bound) * np.eye(len(bound))
    directions = [boehning] + [np.linalg.solve(hessian + mu * bound + ridge, g) for mu in DAMPING]
    for d in directions:
        rows = np.vstack([d.reshape(k - 1, m), np.zeros(m)])
        spread = radius * np.sqrt(((rows[:, None] - rows[None]) ** 2).sum(axis=2).max())
        alpha, rise = certified_rise(g @ d, d @ hessian @ d, spread)
        if rise > best_rise:
            best_rise, best_step = rise, alpha * d
    rises = sharpened[1:] - sharpened[0]
    best = int(np.argmax(rises))
    if rises[best] > best_rise:
        return SHARPEN[best] * U
    out = U.copy()
    out[:-1] += best_step.reshape(k - 1, m)
    return out


class MixtureOfExperts(SelfStarting, Reseeding, RowOutputs, Diagnosing):
    name = "experts"
    objective = "log_likelihood"

    def __init__(self, k: int = 1, intercept: bool = True):
        self.k = check_k(k)
        if not isinstance(intercept, (bool, np.bool_)):
            raise UsageError(f"intercept must be true or false, got {intercept!r}")
        self.intercept = bool(intercept)
        self.scaling = None

    def options(self) -> dict:
        return {"k": self.k, "intercept": self.intercept}

    # -- data-scale settings -----------------------------------------------------------------------

    def prepare(self, data: np.ndarray) -> None:
        """Standardise from the training rows (N, D + 1), features then target.

        The statistics are taken in standardised units (features and target centred on their
        means and scaled by their standard deviations; without an intercept only scaled, by
        their root mean squares, as a line through the origin must stay one), so that sums of
        squares do not cancel on data far from the origin and the ridge and floors mean the
        same whatever the units.  The gate's features are always centred."""
        if len(data) < 2:
            raise DataError(f"a mixture of experts needs at least 2 rows, the data has {len(data)}")
        mean, var = mean_and_variance(data)
        low, high = column_range(data)
        constant = low == high
        if constant[-1]:
            raise DataError(f"the target is constant ({low[-1]:g} in every row); a mixture of experts needs variation in it")
        # the exact value, so that a constant feature centres to exact zeros
        mean = np.where(constant, low, mean)
        sd = np.where(constant, 1.0, np.sqrt(var))
        if self.intercept:
            centre, scale = mean, sd
        else:
            rms = np.sqrt(var + mean * mean)
            centre, scale = np.zeros_like(mean), np.where(rms > 0, rms, 1.0)

        def largest(rows: np.ndarray) -> float:
            """The largest squared norm of the rows' standardised features."""
            found = 0.0
            for block in chunks(rows[:, :-1], 65536):
                z = (block - mean[:-1]) / sd[:-1]
                found = max(found, float(np.einsum("nj,nj->n", z, z).max()))
            return found

        radius = np.sqrt(1.0 + max(per_partition(largest, data)))
        self.scaling = _Scaling(mean[:-1], sd[:-1], centre[:-1], scale[:-1], centre[-1], scale[-1],
                                mean[-1], var[-1], radius)

    # -- standardised coordinates --------------------------------------------------------------------

    def _features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The gate's (N, D + 1) features [standardised x, 1] and the experts' (N, M)."""
        s = self.scaling
        gate = np.empty((len(X), X.shape[1] + 1))
        np.subtract(X, s.gate_centre, out=gate[:, :-1])
        gate[:, :-1] /= s.gate_scale
        gate[:, -1] = 1.0
        return gate, (gate if self.intercept else X / s.x_scale)

    def _scaled(self, params: ExpertsParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Experts' (K, M) weights and (K,) variances, and the gate's (K, D + 1) weights, in
        the standardised units of ``_features``."""
        s = self.scaling
        W = params.coef * (s.x_scale / s.y_scale)
        if self.intercept:
            offset = (params.coef @ s.x_centre + params.intercepts - s.y_centre) / s.y_scale
            W = np.column_stack([W, offset])
        U = np.column_stack([params.gate_coef * s.gate_scale,
                             params.gate_coef @ s.gate_centre + params.gate_bias])
        return W, params.variances / s.y_scale**2, U

    def _unscaled(self, W: np.ndarray, variances: np.ndarray, U: np.ndarray) -> ExpertsParams:
        s = self.scaling
        d = len(s.x_scale)
        coef = W[:, :d] * (s.y_scale / s.x_scale)
        intercepts = (s.y_centre + s.y_scale * W[:, d] - coef @ s.x_centre if self.intercept
                      else np.zeros(len(W)))
        gate_coef = U[:, :d] / s.gate_scale
        return ExpertsParams(coef, intercepts, variances * s.y_scale**2, gate_coef,
                             U[:, d] - gate_coef @ s.gate_centre)

    # -- initialisation --------------------------------------------------------------------------

    def init_params(self, data: np.ndarray, method: str, rng: np.random.Generator) -> ExpertsParams:
        """Centres chosen by ``method`` among the standardised (features, target) rows (rows
        held in partitions: among a sample of them), each row given wholly to its nearest
        centre, then one M-step from a uniform gate: each expert starts as the line through
        its cluster."""
        s = self.scaling
        # k-means++ distances must not depend on the columns' units: standardised rows
        centre = np.append(s.gate_centre, s.y_mean)
        scale = np.append(s.gate_scale, np.sqrt(s.y_var))
        centres = initial_centres((rows_at_hand(data, rng) - centre) / scale, self.k, method, rng)
        d = data.shape[1] - 1
        flat = ExpertsParams(np.zeros((self.k, d)), np.full(self.k, s.y_mean if self.intercept else 0.0),
                             np.full(self.k, s.y_var), np.zeros((self.k, d)), np.zeros(self.k))
        zeros, uniform = np.zeros(self.k), np.full(self.k, 1.0 / self.k)

        def assigned(block: np.ndarray):
            zblock = (block - centre) / scale
            dist = np.einsum("kj,kj->k", centres, centres)[None, :] - 2.0 * (zblock @ centres.T)
            resp = np.zeros_like(dist)
            resp[np.arange(len(block)), dist.argmin(axis=1)] = 1.0
            gate, phi = self._features(block[:, :-1])
            return self._stats(gate, phi, self._target(block[:, -1]), resp, np.broadcast_to(zeros, resp.shape),
                               np.broadcast_to(uniform, resp.shape)), 0.0

        stats, _ = accumulate(assigned, data, chunk_rows(self, data.shape[1]))
        return self.m_step(stats, flat)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        m = n_features + 1
        return 8 * (m * (m + 1) + 3 * m + 5 * self.k + self.k * self.k)

    def _target(self, y: np.ndarray) -> np.ndarray:
        return (y - self.scaling.y_centre) / self.scaling.y_scale

    def _stats(self, gate: np.ndarray, phi: np.ndarray, y: np.ndarray, resp: np.ndarray,
               logits: np.ndarray, gates: np.ndarray) -> Stats:
        """Sums over rows in standardised units: n (K,) responsibilities, xx (K, M(M+1)/2)
        packed sum r phi phi', xy (K, M) sum r phi y, yy (K,) sum r y^2; for the gate's
        features psi (D + 1), its gradient (K, D + 1) sum (r - g) psi', its packed scatter
        sum psi psi' and, for each pair (j, k) of the first K - 1 experts, the packed
        curvature sum (g_j [j = k] - g_j g_k) psi psi' ((D + 1)(D + 2)/2, (K - 1)^2), and
        its objective sum_k r_k log g_k for the gate's (N, K) ``logits`` multiplied by 1 and
        by each factor in SHARPEN."""
        packed = second_features(phi, "full")
        gate_packed = packed if phi is gate else second_features(gate, "full")
        free = gates[:, :-1]
        curvature = -(free[:, :, None] * free[:, None, :])
        diagonal = np.einsum("njj->nj", curvature)
        diagonal += free
        top = logits.max(axis=1)
        shifted = logits - top[:, None]
        fitted = np.einsum("nk,nk->", resp, shifted)
        # sum_k r_k c L_k - logsumexp(c L) with both terms shifted by c max(L), which cancels
        sharpened = [c * fitted - np.log(np.exp(c * shifted).sum(axis=1)).sum() for c in (1.0,) + SHARPEN]
        return Stats(n=resp.sum(axis=0), xx=(packed @ resp).T, xy=resp.T @ (phi * y[:, None]),
                     yy=resp.T @ (y * y), gate_gradient=(resp - gates).T @ gate,
                     gate_xx=gate_packed.sum(axis=1),
                     gate_hessian=gate_packed @ curvature.reshape(len(gates), -1),
                     gate_sharpened=sharpened)

    def _log_joint(self, W, variances, U, gate, phi, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, K) log g_k(x_n) N(y_n | w_k'phi_n, s_k^2) in standardised units, and the (N, K)
        gate logits and probabilities."""
        logits = gate @ U.T
        gates = logits.copy()
        log_norm = normalize_log_rows(gates)
        resid = y[:, None] - phi @ W.T
        log_joint = logits - log_norm[:, None]
        log_joint -= 0.5 * (resid * resid / variances + np.log(variances) + LOG_2PI)
        return log_joint, logits, gates

    def e_step(self, params: ExpertsParams, data: np.ndarray) -> tuple[Stats, float]:
        """Statistics of the rows (N, D + 1) and their log-likelihood, in the target's units."""
        W, variances, U = self._scaled(params)
        gate, phi = self._features(data[:, :-1])
        y = self._target(data[:, -1])
        log_joint, logits, gates = self._log_joint(W, variances, U, gate, phi, y)
        row_ll = normalize_log_rows(log_joint)
        score = float(row_ll.sum()) - len(data) * np.log(self.scaling.y_scale)
        return self._stats(gate, phi, y, log_joint, logits, gates), score

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: ExpertsParams) -> ExpertsParams:
        """Weighted least squares per expert (with a ridge of RIDGE times its rows, which keeps
        the normal equations solvable when its rows do not span the features and shifts a
        well-determined fit by a relative 1e-10), the variance that maximises the expected
        log-likelihood above the floor, and one ``gating_step``."""
        W_prev, var_prev, U_prev = self._scaled(previous)
        n_k = stats["n"]
        m = W_prev.shape[1]
        alive = n_k > 10 * np.finfo(float).eps * n_k.sum()
        xx = unpack(stats["xx"], m)
        xy = stats["xy"]
        weight = np.where(alive, n_k, 1.0)
        system = xx + (RIDGE * weight)[:, None, None] * np.eye(m)
        system[~alive] = np.eye(m)
        W = np.linalg.solve(system, np.where(alive[:, None], xy, 0.0)[:, :, None])[:, :, 0]
        rss = stats["yy"] - 2.0 * np.einsum("km,km->k", W, xy) + np.einsum("ki,kij,kj->k", W, xx, W)
        floor = self.scaling.floor / self.scaling.y_scale**2
        variances = np.maximum(np.maximum(rss, 0.0) / weight, floor)
        # an emptied expert keeps its line until ``degenerate`` re-seeds it
        W[~alive] = W_prev[~alive]
        variances[~alive] = var_prev[~alive]
        g = U_prev.shape[1]
        hessian = unpack(stats["gate_hessian"].T, g).reshape(self.k - 1, self.k - 1, g, g)
        hessian = hessian.transpose(0, 2, 1, 3).reshape((self.k - 1) * g, (self.k - 1) * g)
        U = gating_step(U_prev, stats["gate_gradient"], unpack(stats["gate_xx"][None], g)[0],
                        hessian, self.scaling.gate_radius, stats["gate_sharpened"])
        return self._unscaled(W, variances, U)

    def degenerate(self, params: ExpertsParams, stats: Stats) -> list[tuple[int, str]]:
        """Experts holding less than one row's worth of responsibility ("empty"), or resting on
        the variance floor with fewer rows than their weights plus one ("collapsed": threading
        through a few rows)."""
        n_k = stats["n"]
        m = params.coef.shape[1] + self.intercept
        bad = {int(k): "empty" for k in np.flatnonzero(n_k < 1.0)}
        # on the floor up to the rounding of the change of units
        on_floor = params.variances <= self.scaling.floor * (1.0 + 1e-9)
        for k in np.flatnonzero(on_floor & (n_k < m + 1)):
            bad.setdefault(int(k), "collapsed")
        return sorted(bad.items())

    def flat_components(self, params: ExpertsParams) -> list[int]:
        """Experts whose noise variance rests on the floor: a line through rows that share one
        target value (R's geyser: the 53 durations of exactly 4 minutes), whose likelihood
        only the floor bounds."""
        return [int(k) for k in np.flatnonzero(params.variances <= self.scaling.floor * (1.0 + 1e-9))]

    def diagnose(self, params: ExpertsParams, n_samples: int) -> list[str]:
        """A warning per expert without noise (``flat_components``)."""
        return [f"expert {k} has no noise (its variance rests on the floor: it threads rows with one "
                "target value), which inflates its likelihood; try fewer experts"
                for k in self.flat_components(params)]

    def reseed(self, params: ExpertsParams, components: list[int], data: np.ndarray,
               rng: np.random.Generator) -> ExpertsParams:
        """Each expert in ``components`` restarts as a flat line (through the origin without an
        intercept) through a random row, with the target's variance, and shares the gate of
        the expert the gate trusts most at that row, so that it competes for that region."""
        coef, intercepts, variances = params.coef.copy(), params.intercepts.copy(), params.variances.copy()
        gate_coef, gate_bias = params.gate_coef.copy(), params.gate_bias.copy()
        for k, row in zip(components, data[rng.integers(len(data), size=len(components))]):
            x, y = row[:-1], row[-1]
            incumbent = int(np.argmax(gate_coef @ x + gate_bias))
            if self.intercept:
                coef[k], intercepts[k] = 0.0, y
            else:
                norm = x @ x
                coef[k] = y * x / norm if norm > 0 else 0.0
            variances[k] = self.scaling.y_var
            gate_coef[k], gate_bias[k] = gate_coef[incumbent], gate_bias[incumbent]
        return ExpertsParams(coef, intercepts, variances, gate_coef, gate_bias)

    # -- predict -----------------------------------------------------------------------------------

    def row_outputs(self, params: ExpertsParams, X: np.ndarray) -> dict:
        """For features X (N, D): the predictive mean, its standard deviation, the mode (the
        line of the expert with the largest gate at x) and that expert, each (N,)."""
        means = X @ params.coef.T + params.intercepts
        gates = X @ params.gate_coef.T + params.gate_bias
        normalize_log_rows(gates)
        prediction = np.einsum("nk,nk->n", gates, means)
        # sqrt(sum_k g_k ((m_k - mean)^2 + v_k)), the deviations scaled by their largest so
        # that a row far out (1e200) neither overflows nor meets 0 * inf where a gate is 0
        spread = np.where(gates > 0, means - prediction[:, None], 0.0)
        scale = np.maximum(np.abs(spread).max(axis=1), 1.0)[:, None]
        with np.errstate(over="ignore"):
            shrunk = np.einsum("nk,nk->n", gates, (spread / scale) ** 2 + params.variances / scale**2)
            std = scale[:, 0] * np.sqrt(shrunk)
        best = gates.argmax(axis=1)
        return {"prediction": prediction, "prediction_std": std,
                "mode": means[np.arange(len(X)), best], "expert": best.astype(np.int64)}

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: ExpertsParams) -> int:
        """Lines (K M), variances (K) and the gate's (K - 1)(D + 1), the reference row fixed."""
        k, d = params.coef.shape
        return k * (d + self.intercept) + k + (k - 1) * (d + 1)

    def to_json(self, params: ExpertsParams) -> dict:
        doc = {"coefficients": params.coef.tolist()}
        if self.intercept:
            doc["intercepts"] = params.intercepts.tolist()
        doc.update(variances=params.variances.tolist(), gating_coefficients=params.gate_coef.tolist(),
                   gating_intercepts=params.gate_bias.tolist())
        return doc

    def from_json(self, doc: dict, n_features: int) -> ExpertsParams:
        k, d = self.k, n_features
        coef = check_magnitude(check_shape(float_array(doc, "coefficients"), (k, d), "params.coefficients"),
                               "params.coefficients")
        if self.intercept:
            intercepts = check_shape(float_array(doc, "intercepts"), (k,), "params.intercepts")
        elif "intercepts" in doc:
            raise ModelFileError("params.intercepts: present, but the model has no intercept (options.intercept is false)")
        else:
            intercepts = np.zeros(k)
        variances = check_shape(float_array(doc, "variances"), (k,), "params.variances")
        if np.any(variances <= 0):
            raise ModelFileError("params.variances: every variance must be positive")
        gate_coef = check_magnitude(check_shape(float_array(doc, "gating_coefficients"), (k, d),
                                                "params.gating_coefficients"), "params.gating_coefficients")
        gate_bias = check_magnitude(check_shape(float_array(doc, "gating_intercepts"), (k,),
                                                "params.gating_intercepts"), "params.gating_intercepts")
        return ExpertsParams(coef, intercepts, variances, gate_coef, gate_bias)


@dataclass(frozen=True)
class _Scaling:
    """Reference points and scales (D,) of the features for the gate and for the experts, and
    of the target (scalars); the target's mean and variance; the bound on the gate features'
    norm that ``gating_step`` needs."""

    gate_centre: np.ndarray
    gate_scale: np.ndarray
    x_centre: np.ndarray
    x_scale: np.ndarray
    y_centre: float
    y_scale: float
    y_mean: float
    y_var: float
    gate_radius: float  # the largest norm of a training row's gate features [z, 1]

    @property
    def floor(self) -> float:
        """The experts' noise variance floor, in the target's units."""
        return VAR_FLOOR * self.y_var
