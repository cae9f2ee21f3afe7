"""Discrete Bayesian network with hidden nodes, fit by EM (Lauritzen 1995): a directed acyclic
graph over categorical columns and hidden nodes, each node a conditional probability table
(CPT) given its parents.  The E-step computes every node's expected family counts by exact
inference on the distinct rows (emcli.models.bn_inference: the hidden nodes and each row's
missing cells enumerated, or summed out by variable elimination); the M-step normalises them
per parent configuration.  The latent class model (``-m categorical``) is the network of one
hidden root over every column.

``--structure`` writes the edges, inline ("H -> smoke, H -> cough, smoke -> cough") or in a
file (one edge per line, or Graphviz DOT); each node is a column or a ``--hidden NAME=STATES``
node (one may be ``--hidden NAME``, its states set by -k or searched by select-k).  A cycle,
an unknown name, a hidden node with no edge or no observed descendant, a hidden node named as
a column, or a network whose exact inference needs a clique of more than 2^20 states per row
is refused with one line.

A parent configuration no row reaches keeps its previous distribution (its expected count is
0, so the likelihood does not depend on it).  A probability that maximum likelihood puts at 0
is floored at machine epsilon, as categorical's are, so new rows always get a finite log
density.  With ``--prior default`` the fit is MAP: each CPT row gets the BDeu pseudo-counts
ess / (q_v r_v) for a node of r_v states and q_v parent configurations (Heckerman, Geiger &
Chickering 1995; equivalent sample size ess = 1, ``--prior-param ess=``), i.e. a
Dirichlet(1 + ess / (q_v r_v)) prior whose mode is the counts plus those pseudo-counts,
normalised; an unreached parent configuration is then uniform.  Starts: every hidden node's
CPT is drawn near uniform, every observed node's is its column's level frequencies mixed half
and half with a random draw (seeded; identical CPTs for every hidden state would leave EM
where it starts); ``--init net.json`` or ``--init net.bif --hidden H ...`` start from a
fitted network.

``predict`` writes each hidden node's most probable state given the row's observed cells, in a
column named after it (``--proba``: ``p_H_0, p_H_1, ...``; ``--logpdf``: the log probability
of the observed cells); ``sample`` draws complete rows with the hidden nodes' states; ``impute
--model-file`` fills missing cells (most probable level, or joint draws with ``--draws``);
``emtool export --format bif`` writes the network for other tools.
"""

from dataclasses import dataclass

import numpy as np

from emcli.em.protocol import HiddenNodes, Levelled, Missing, Prior, Sampling, SelfStarting
from emcli.em.stats import Stats
from emcli.errors import DataError, ModelFileError, UsageError
from emcli.models.params import float_array
from emcli.models.priors import dirichlet_log_density

#: probabilities are kept at least this far from 0 (see the module docstring)
FLOOR = float(np.finfo(np.float64).eps)


@dataclass
class BNParams:
    """``cpts``: per node in the structure's order, its (L_pa1, ..., L_pam, L_v) table,
    normalised over the last axis."""

    cpts: list


#: rows (as the engine holds them, 8 bytes a cell) whose blocks a fit lays out once and keeps:
#: their layout takes a few times their size, and beyond this the blocks are large enough that
#: laying them out each iteration costs little beside the inference
CACHE_BYTES = 32 << 20
#: the MAP prior's hyperparameter and its default (see the module docstring)
DEFAULT_PRIOR = {"ess": 1.0}


class BayesianNetwork(SelfStarting, Prior, Missing, Sampling, Levelled, HiddenNodes):
    name = "bn"
    objective = "log_likelihood"
    default_init = "random"

    def __init__(self, structure: str = "", hidden: dict | None = None, observed: list | None = None,
                 k: int | None = None, prior: str = "none", prior_params: dict | None = None,
                 levels: list | None = None):
        """``structure`` an edge list or a file (emcli.models.bn_parse); ``hidden`` the hidden
        nodes' numbers of states (None for the one ``k`` sets); ``observed`` the columns of the
        rows, in their order; ``prior`` "default" for MAP (see the module docstring);
        ``levels`` per observed column, its levels."""
        from emcli.models.bn_parse import parse_edges
        from emcli.models.bn_structure import build
        from emcli.models.priors import hyperparameters

        if observed is None:
            raise UsageError("a Bayesian network needs the columns its structure names")
        _check_options(structure, hidden, observed, k)
        hidden = dict(hidden or {})
        unsized = [name for name, states in hidden.items() if states is None]
        if len(unsized) > 1:
            raise UsageError(f"--hidden {unsized[1]}: only one hidden node may take its number of states from -k")
        if unsized:
            if k is None or k < 2:
                raise UsageError(f"--hidden {unsized[0]}: give its number of states ({unsized[0]}=N) or -k of at least 2")
            hidden[unsized[0]] = int(k)
        edges = parse_edges(structure, inline=True)
        self.structure = build(edges, list(observed), hidden, edges.mentioned)
        if self.structure.unused:
            raise UsageError(f"--columns: {self.structure.unused[0]!r} is in no edge of --structure")
        self.prior = prior
        self.hyper = hyperparameters(prior, prior_params, DEFAULT_PRIOR)
        self.hidden = hidden
        self.observed = list(observed)
        #: -k as given (None: every hidden node has its states); ``k`` as the engine counts
        #: components, which a network has not: its rows need be at least one
        self.k_option = int(k) if k is not None else None
        self.k = 1
        self.levels = [list(column) for column in levels] if levels is not None else None
        self.network = None
        self._cache_rows, self._cache_blocks = None, {}
        if self.levels is not None:
            self._plan()

    def options(self) -> dict:
        from emcli.models.bn_structure import describe

        return {"structure": describe(self.structure), "hidden": dict(self.hidden), "observed": list(self.observed),
                "k": self.k_option, "prior": self.prior, "prior_params": dict(self.hyper)}

    def hidden_names(self) -> list[str]:
        return list(self.structure.hidden_nodes)

    # -- data-scale settings -------------------------------------------------------------------

    def prepare(self, X: np.ndarray) -> None:
        """Levels from the codes when none were set; checks every observed cell is a level code;
        the inference plan of the network with its observed nodes' levels."""
        if X.shape[1] != len(self.observed):
            raise DataError(f"the network has {len(self.observed)} observed columns, the data has {X.shape[1]}")
        if self.levels is None:
            top = np.where(np.isnan(X), -1.0, X).max(axis=0)
            self.levels = [list(range(max(int(t) + 1, 0))) for t in top]
        sizes = np.array([len(levels) for levels in self.levels])
        observed = ~np.isnan(X)
        bad = np.argwhere(observed & ((X != np.round(X)) | (X < 0) | (X >= sizes)))
        if bad.size:
            row, column = bad[0]
            raise DataError(f"column {column + 1} row {row + 1} of the data is {X[row, column]:g}, "
                            f"not a level code 0..{sizes[column] - 1}")
        self._plan()
        # the rows EM passes over, whose blocks are laid out once (``_prepared``) when small
        self._cache_rows = X if X.nbytes <= CACHE_BYTES else None
        self._cache_blocks = {}

    def _plan(self) -> None:
        """The inference network (node order, cardinalities) and which data column each
        observed node reads."""
        from emcli.models.bn_inference import Network

        sizes = {name: len(levels) for name, levels in zip(self.observed, self.levels)}
        structure = self.structure.with_cardinalities(sizes)
        self.network = Network(structure.cardinality, structure.parents, structure.hidden, structure.nodes)
        self.columns = [self.observed.index(name) for name, hidden in zip(structure.nodes, structure.hidden)
                        if not hidden]

    # -- initialisation --------------------------------------------------------------------------

    def init_params(self, X: np.ndarray, method: str, rng: np.random.Generator) -> BNParams:
        """Random CPTs (see the module docstring); ``method`` is the start's name, all alike."""
        net, cpts = self.network, []
        frequencies = {}
        for j, column in enumerate(X.T):
            counts = np.bincount(column[~np.isnan(column)].astype(np.intp), minlength=len(self.levels[j]))
            frequencies[self.observed[j]] = (counts + 1.0) / (counts.sum() + len(counts))
        for v, name in enumerate(net.names):
            shape = net.cpt_shape(v)
            draw = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
            if net.hidden[v]:
                cpts.append(0.9 / shape[-1] + 0.1 * draw)
            else:
                cpts.append(0.5 * frequencies[name] + 0.5 * draw)
        return BNParams(cpts)

    # -- E-step ------------------------------------------------------------------------------------

    def workspace_bytes_per_row(self, n_features: int) -> int:
        # per row: its codes and distinct-row key, and the larger of the network's scratch for
        # the E-step and for the posteriors predict and impute take (bn_inference)
        net = self.network
        inference = max(net.workspace_bytes_per_row(), net.posterior_bytes_per_row()) if net else 0
        return 8 * (2 * n_features + 2) + inference

    def e_step(self, params: BNParams, X: np.ndarray) -> tuple[Stats, float]:
        """Inference on the block's distinct rows, each counted as often as it occurs: tables
        of a few categorical columns repeat heavily (six columns of three levels have 729
        possible rows, with missing cells 4,096)."""
        prepared, multiplicity = self._prepared(X)
        counts, log_z = self.network.e_step(params.cpts, prepared, multiplicity)
        return Stats(**{f"n{v}": count for v, count in enumerate(counts)}), float(multiplicity @ log_z)

    def _prepared(self, X: np.ndarray):
        """The block ``X``'s distinct rows laid out for inference (Network.prepare), and their
        (N_u,) multiplicities.  A block of the rows ``prepare`` saw (EM's chunks are views of
        them, the same every iteration) is laid out once and kept, up to CACHE_BYTES of rows:
        on a few thousand rows the layout costs more than the inference."""
        key = _block_of(self._cache_rows, X) if self._cache_rows is not None else None
        if key is not None and key in self._cache_blocks:
            return self._cache_blocks[key]
        rows, multiplicity, _ = distinct_rows(X[:, self.columns])
        prepared = self.network.prepare(rows), multiplicity
        if key is not None:
            self._cache_blocks[key] = prepared
        return prepared

    # -- M-step ------------------------------------------------------------------------------------

    def m_step(self, stats: Stats, previous: BNParams) -> BNParams:
        """Each CPT row proportional to its expected counts (plus the prior's pseudo-counts); a
        parent configuration with none keeps its previous row."""
        cpts = []
        for v, old in enumerate(previous.cpts):
            counts = stats[f"n{v}"] + self._pseudo_count(old)
            totals = counts.sum(axis=-1, keepdims=True)
            reached = totals > 10 * FLOOR * max(float(totals.sum()), 1.0)
            table = np.where(reached, counts / np.where(reached, totals, 1.0), old)
            table = np.maximum(table, FLOOR)
            cpts.append(table / table.sum(axis=-1, keepdims=True))
        return BNParams(cpts)

    def _pseudo_count(self, cpt: np.ndarray) -> float:
        """The BDeu pseudo-count of every entry of a CPT shaped as ``cpt``; 0 without a prior."""
        return self.hyper["ess"] / cpt.size if self.hyper else 0.0

    def log_prior(self, params: BNParams) -> float:
        """Log density of the Dirichlet(1 + pseudo-count) priors of every CPT row (0 without a
        prior)."""
        if not self.hyper:
            return 0.0
        return float(sum(dirichlet_log_density(cpt, 1.0 + self._pseudo_count(cpt)) for cpt in params.cpts))

    # -- what commands use -----------------------------------------------------------------------

    def posteriors(self, params: BNParams, X: np.ndarray) -> tuple[list, list, np.ndarray]:
        """Exact inference on the block's distinct rows (bn_inference), spread back to every row."""
        rows, _, index = distinct_rows(X[:, self.columns])
        log_z, marginals = self.network.posteriors(params.cpts, rows)
        net = self.network
        hidden = [marginals[v][index] for v in range(len(net.names)) if net.hidden[v]]
        node = {name: v for v, name in enumerate(net.names)}
        return hidden, [marginals[node[name]][index] for name in self.observed], log_z[index]

    def sample(self, params: BNParams, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Ancestral sampling, node by node in topological order: (n, D) level codes of the
        columns and the (n, H) states of the hidden nodes."""
        net = self.network
        states = np.empty((n, len(net.names)), dtype=np.intp)
        for v, cpt in enumerate(params.cpts):
            parents = net.parents[v]
            index = (np.ravel_multi_index(tuple(states[:, p] for p in parents), cpt.shape[:-1])
                     if parents else np.zeros(n, dtype=np.intp))
            cumulative = np.cumsum(cpt.reshape(-1, cpt.shape[-1]), axis=1)[index]
            draws = rng.random((n, 1)) * cumulative[:, -1:]
            states[:, v] = np.minimum((draws >= cumulative).sum(axis=1), cpt.shape[-1] - 1)
        node = {name: v for v, name in enumerate(net.names)}
        X = states[:, [node[name] for name in self.observed]].astype(np.float64)
        return X, states[:, [v for v in range(len(net.names)) if net.hidden[v]]]

    def bif_variables(self, params: BNParams) -> list:
        """The network as emcli.models.bn_bif writes it: per node its name, its states as text
        (a column's levels, a hidden node's 0..K-1 as predict numbers them), parents and CPT."""
        net = self.network
        states = {name: [level_text(level) for level in levels] for name, levels in zip(self.observed, self.levels)}
        return [{"name": name, "states": states.get(name) or [str(k) for k in range(net.cardinality[v])],
                 "parents": [net.names[p] for p in net.parents[v]], "cpt": params.cpts[v]}
                for v, name in enumerate(net.names)]

    # -- bookkeeping -------------------------------------------------------------------------------

    def n_parameters(self, params: BNParams) -> int:
        """sum over nodes of (parent configurations) x (states - 1)."""
        return int(sum(cpt.size // cpt.shape[-1] * (cpt.shape[-1] - 1) for cpt in params.cpts))

    def to_json(self, params: BNParams) -> dict:
        net = self.network
        return {"levels": [list(levels) for levels in self.levels],
                "nodes": [{"name": name, "parents": [net.names[p] for p in net.parents[v]],
                           "states": net.cardinality[v], "cpt": params.cpts[v].tolist()}
                          for v, name in enumerate(net.names)]}

    def from_json(self, doc: dict, n_features: int) -> BNParams:
        levels = doc.get("levels")
        if not isinstance(levels, list) or len(levels) != n_features or not all(
                isinstance(column, list) and len(column) >= 1 for column in levels):
            raise ModelFileError(f"params.levels: expected a list of {n_features} lists of levels")
        self.levels = [list(column) for column in levels]
        self._plan()
        nodes = doc.get("nodes")
        net = self.network
        if not isinstance(nodes, list) or len(nodes) != len(net.names):
            raise ModelFileError(f"params.nodes: expected {len(net.names)} nodes")
        cpts = []
        for v, (node, name) in enumerate(zip(nodes, net.names)):
            field = f"params.nodes[{v}]"
            if not isinstance(node, dict) or node.get("name") != name:
                raise ModelFileError(f"{field}.name: expected {name!r}, the structure's node {v + 1}")
            table = float_array({"cpt": node.get("cpt")} if "cpt" in node else {}, "cpt")
            if table.shape != net.cpt_shape(v):
                raise ModelFileError(f"{field}.cpt: expected shape {net.cpt_shape(v)}, found {table.shape}")
            if np.any(table < 0) or np.any(np.abs(table.sum(axis=-1) - 1.0) > 1e-9):
                raise ModelFileError(f"{field}.cpt: every row must be non-negative and sum to 1")
            cpts.append(table)
        return BNParams(cpts)


def _check_options(structure, hidden, observed, k) -> None:
    """UsageError for options of the wrong kind (a model file's, which nothing else checked):
    the structure as text, hidden nodes' states whole numbers from 2 to bn_parse.MAX_STATES (or
    None), column names as text, -k a whole number."""
    from emcli.models.bn_parse import MAX_STATES

    if not isinstance(structure, str):
        raise UsageError("the structure must be text, edges such as 'A -> B'")
    if not isinstance(hidden, (dict, type(None))) or not all(
            isinstance(name, str) and (states is None or (type(states) is int and 2 <= states <= MAX_STATES))
            for name, states in (hidden or {}).items()):
        raise UsageError(f"hidden: expected node names with numbers of states from 2 to {MAX_STATES:,}")
    if not isinstance(observed, list) or not all(isinstance(name, str) for name in observed):
        raise UsageError("observed: expected a list of column names")
    if k is not None and (type(k) is not int or not 1 <= k <= MAX_STATES):
        raise UsageError(f"-k must be a whole number from 1 to {MAX_STATES:,}")


def _block_of(rows: np.ndarray, block: np.ndarray) -> tuple | None:
    """(first row, number of rows) of ``block`` when it is a run of consecutive rows of
    ``rows`` (a view into its memory, as EM's chunks are), else None."""
    if block.ndim != 2 or block.strides != rows.strides or block.shape[1] != rows.shape[1]:
        return None
    offset = block.__array_interface__["data"][0] - rows.__array_interface__["data"][0]
    start, rest = divmod(offset, rows.strides[0]) if rows.strides[0] > 0 else (-1, 1)
    if rest or start < 0 or start + len(block) > len(rows):
        return None
    return int(start), len(block)


def distinct_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the (N, D) level ``codes`` (NaN for a missing cell), in order of
    first appearance (sorted, on the np.unique path), the (N_u,) number of times each occurs
    and the (N,) distinct row of each.  Each row is one mixed-radix
    number (a missing cell one more digit) when the radices' product fits an int64, which a
    hash table (pandas.factorize) sorts out in one pass; else np.unique over the rows."""
    filled = np.where(np.isnan(codes), -1.0, codes).astype(np.int64) + 1
    radices = filled.max(axis=0, initial=0) + 1
    if np.prod(radices.astype(float)) < 2.0 ** 62:
        import pandas as pd

        weights = np.concatenate([[1], np.cumprod(radices[:-1])]).astype(np.int64)
        index, uniques = pd.factorize(filled @ weights)
        first = np.empty(len(uniques), dtype=np.intp)
        first[index[::-1]] = np.arange(len(index) - 1, -1, -1)  # the earliest row writes last
        return codes[first], np.bincount(index, minlength=len(uniques)).astype(np.float64), index
    _, first, index, counts = np.unique(filled, axis=0, return_index=True, return_inverse=True, return_counts=True)
    return codes[first], counts.astype(np.float64), index.ravel()


def level_text(level) -> str:
    """A level as text, as a CSV file writes it: ``true``/``false`` for booleans."""
    return str(level).lower() if isinstance(level, bool) else str(level)
