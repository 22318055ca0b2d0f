r"""One-mode projection of the user–item graph onto the items (Chamberlain
et al. 2019, §4 and Fig. 2).

Two items are linked when some user interacted with both; the weight of the
link is the number of such users, :math:`W = B^\top B` with the diagonal
removed, where :math:`B` is the users × items incidence matrix. Fig. 2 of
Chamberlain 2019 observes that the projection is more regular than the
bipartite graph (item degrees even out) while the weights keep part of the
heterogeneity (weighted degrees); :class:`ProjectionStats` reports both as
coefficients of variation next to that of the bipartite item degree.

The weighted degree is exact for any size without forming :math:`W`:
:math:`s_i = \sum_j W_{ij} = \sum_{u \ni i} (k_u - 1)`. Degrees and
clustering need the links themselves. Small projections are computed
exactly (:math:`W` by sparse products, triangles by a dense product); large
ones are estimated from uniformly sampled items, each item's row of
:math:`W` computed exactly, and clustering by wedge sampling (Schank &
Wagner, "Approximating clustering coefficient and transitivity", JGAA 9(2),
2005), with standard errors.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterator, Tuple

import numpy as np
import scipy.sparse as sp

from ._linalg import dot
from .bipartite import BipartiteGraph
from .sampling import check_random_state

__all__ = ["ProjectionStats", "item_projection", "weighted_degree", "projection_stats",
           "clustering_exact"]

# Entries of W computed per block of sampled rows.
_BLOCK_PATHS = 10_000_000
# Wedges checked per sparse product.
_BLOCK_WEDGES = 4096


@dataclass(frozen=True)
class ProjectionStats:
    r"""Statistics of the item projection.

    Args:
        n_nodes (int): Items (all have at least one user).
        exact (bool): Whether degrees and clustering are exact; otherwise they
            are estimated from :obj:`n_sampled` items.
        n_sampled (int): Items whose rows of :math:`W` were computed.
        n_edges (float): Links (estimated as :math:`n \bar d / 2` if sampled).
        density (float): :math:`2 n_{edges} / (n (n - 1))`.
        mean_degree (float), mean_degree_se (float): Mean number of linked
            items, and its standard error (0 when exact).
        degree_cv (float): Coefficient of variation (std / mean) of the degree.
        mean_weighted_degree (float): Mean :math:`s_i` (always exact).
        weighted_degree_cv (float): CV of :math:`s_i` (always exact).
        bipartite_degree_cv (float): CV of the item degree in the bipartite
            graph, for comparison (Chamberlain 2019, Fig. 2).
        average_clustering (float), average_clustering_se (float): Mean local
            clustering coefficient over all items (0 for degree < 2, as
            :func:`networkx.average_clustering`), with its standard error.
        transitivity (float), transitivity_se (float): Global clustering,
            3 × triangles / connected triples (as :func:`networkx.transitivity`).
    """

    n_nodes: int
    exact: bool
    n_sampled: int
    n_edges: float
    density: float
    mean_degree: float
    mean_degree_se: float
    degree_cv: float
    mean_weighted_degree: float
    weighted_degree_cv: float
    bipartite_degree_cv: float
    average_clustering: float
    average_clustering_se: float
    transitivity: float
    transitivity_se: float

    def as_dict(self) -> dict:
        return asdict(self)


def item_projection(graph: BipartiteGraph) -> sp.csr_matrix:
    r"""Co-occurrence weights :math:`W = B^\top B` without the diagonal.

    Args:
        graph (BipartiteGraph): The bipartite graph.

    Returns:
        scipy.sparse.csr_matrix: ``[n_items, n_items]``, ``int64`` weights.
    """
    b = graph.matrix.astype(np.int64)
    w = (b.T @ b).tocsr()
    w.setdiag(0)
    w.eliminate_zeros()
    return w


def weighted_degree(graph: BipartiteGraph) -> np.ndarray:
    r"""Weighted degree :math:`s_i = \sum_{j \ne i} W_{ij} = \sum_{u \ni i}
    (k_u - 1)` of every item, without forming :math:`W`."""
    return graph.matrix.T @ (graph.user_degree - 1)


def clustering_exact(adjacency: sp.spmatrix) -> Tuple[np.ndarray, float]:
    r"""Local clustering coefficients and transitivity of a simple graph.

    Triangles through each node are :math:`\frac12 (A^2 \circ A)\mathbf{1}`,
    computed with a dense float64 product (exact integers below
    :math:`2^{53}`): use it on graphs of a few thousand nodes.

    Args:
        adjacency (scipy.sparse matrix): Symmetric 0/1 adjacency, no loops.

    Returns:
        (numpy.ndarray, float): Local clustering of each node (0 where the
        degree is below 2) and the transitivity.
    """
    a = adjacency.toarray().astype(np.float64)
    degree = a.sum(axis=1)
    triangles = ((a @ a) * a).sum(axis=1) / 2.0
    pairs = degree * (degree - 1.0) / 2.0
    local = np.divide(triangles, pairs, out=np.zeros_like(triangles), where=pairs > 0)
    transitivity = float(triangles.sum() / pairs.sum()) if pairs.sum() > 0 else 0.0
    return local, transitivity


def projection_stats(graph: BipartiteGraph, *, exact_max_nodes: int = 4000,
                     exact_max_paths: float = 5e7, n_samples: int = 1000, wedges_per_node: int = 8,
                     random_state=None) -> ProjectionStats:
    r"""Degree, weighted degree and clustering of the item projection.

    The computation is exact when there are at most :obj:`exact_max_nodes`
    items and at most :obj:`exact_max_paths` item–user–item paths
    :math:`\sum_u k_u (k_u - 1)`; otherwise :obj:`n_samples` items are
    sampled uniformly without replacement, their rows of :math:`W` computed
    exactly, and :obj:`wedges_per_node` random pairs of each one's neighbours
    checked for a link. Each sampled item's fraction of closed wedges is an
    unbiased estimate of its local clustering, so their mean estimates the
    average clustering (standard error from their spread), and the mean
    weighted by :math:`d_i (d_i - 1) / 2` the transitivity (ratio estimator,
    delta-method standard error).

    Args:
        graph (BipartiteGraph): The bipartite graph.
        exact_max_nodes (int): See above. (default: ``4000``)
        exact_max_paths (float): See above. (default: ``5e7``)
        n_samples (int): Items sampled when not exact. (default: ``1000``)
        wedges_per_node (int): Wedges checked per sampled item. (default: ``8``)
        random_state: Seed of the sampling (see
            :func:`~analysis.sampling.check_random_state`).

    Returns:
        ProjectionStats
    """
    n = graph.n_items
    k_user = graph.user_degree.astype(np.float64)
    strength = weighted_degree(graph).astype(np.float64)
    common = dict(n_nodes=n, mean_weighted_degree=float(strength.mean()),
                  weighted_degree_cv=_cv(strength), bipartite_degree_cv=_cv(graph.item_degree))
    paths = dot(k_user, k_user - 1.0)
    if n <= exact_max_nodes and paths <= exact_max_paths:
        adjacency = item_projection(graph)
        adjacency.data[:] = 1
        degree = np.diff(adjacency.indptr).astype(np.float64)
        local, transitivity = clustering_exact(adjacency)
        n_edges = float(degree.sum() / 2.0)
        return ProjectionStats(exact=True, n_sampled=n, n_edges=n_edges,
                               density=_density(n_edges, n), mean_degree=float(degree.mean()),
                               mean_degree_se=0.0, degree_cv=_cv(degree),
                               average_clustering=float(local.mean()), average_clustering_se=0.0,
                               transitivity=transitivity, transitivity_se=0.0, **common)
    return _sampled(graph, n_samples, wedges_per_node, check_random_state(random_state), common)


def _sampled(graph: BipartiteGraph, n_samples: int, wedges: int, rng: np.random.Generator,
             common: dict) -> ProjectionStats:
    n = graph.n_items
    m = min(n_samples, n)
    nodes = np.sort(rng.choice(n, size=m, replace=False))
    csc = graph.matrix.tocsc()
    degree = np.empty(m)
    owner, left, right = [], [], []
    for block, rows in _projection_rows(graph, csc, nodes):
        d = np.diff(rows.indptr)
        degree[block] = d
        # `wedges` random pairs of distinct neighbours of every row with d >= 2.
        row = np.repeat(np.flatnonzero(d >= 2), wedges)
        first = np.floor(rng.random(row.size) * d[row]).astype(np.int64)
        second = np.floor(rng.random(row.size) * (d[row] - 1)).astype(np.int64)
        second += second >= first
        owner.append(row + block.start)
        left.append(rows.indices[rows.indptr[row] + first])
        right.append(rows.indices[rows.indptr[row] + second])
    owner, left, right = (np.concatenate(parts) for parts in (owner, left, right))
    closed = np.zeros(m)                    # fraction of closed wedges per sampled node
    if owner.size:
        linked = np.concatenate([_share_a_user(csc, left[s], right[s])
                                 for s in _blocks(left.size, _BLOCK_WEDGES)])
        np.add.at(closed, owner, linked / wedges)
    weight = degree * (degree - 1.0) / 2.0
    mean_degree = float(degree.mean())
    n_edges = n * mean_degree / 2.0
    transitivity, transitivity_se = _ratio_estimate(closed, weight)
    return ProjectionStats(exact=False, n_sampled=m, n_edges=n_edges,
                           density=_density(n_edges, n), mean_degree=mean_degree,
                           mean_degree_se=_se(degree), degree_cv=_cv(degree),
                           average_clustering=float(closed.mean()),
                           average_clustering_se=_se(closed), transitivity=transitivity,
                           transitivity_se=transitivity_se, **common)


def _projection_rows(graph: BipartiteGraph, csc: sp.csc_matrix, nodes: np.ndarray
                     ) -> Iterator[Tuple[slice, sp.csr_matrix]]:
    r"""Rows of :math:`W` without the diagonal for :obj:`nodes` (sorted
    column indices; the values are not needed), in blocks of about
    :data:`_BLOCK_PATHS` item–user–item paths."""
    cost = np.asarray(csc[:, nodes].T @ graph.user_degree).ravel()   # paths from each node
    start = 0
    while start < nodes.size:
        stop = start + max(1, int(np.searchsorted(np.cumsum(cost[start:]), _BLOCK_PATHS)))
        block = slice(start, min(stop, nodes.size))
        rows = (csc[:, nodes[block]].T @ graph.matrix).tocoo()
        off_diagonal = rows.col != nodes[block][rows.row]
        rows = sp.csr_matrix((rows.data[off_diagonal], (rows.row[off_diagonal],
                                                        rows.col[off_diagonal])), shape=rows.shape)
        rows.sort_indices()
        yield block, rows
        start = block.stop


def _share_a_user(csc: sp.csc_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    r"""Whether items ``left[t]`` and ``right[t]`` have a common user."""
    both = csc[:, left].multiply(csc[:, right])
    return np.asarray(both.sum(axis=0)).ravel() > 0


def _blocks(size: int, step: int) -> Iterator[slice]:
    for start in range(0, size, step):
        yield slice(start, min(start + step, size))


def _ratio_estimate(x: np.ndarray, w: np.ndarray) -> Tuple[float, float]:
    r""":math:`\sum w x / \sum w` and its delta-method standard error."""
    total = w.sum()
    if total == 0:
        return 0.0, 0.0
    ratio = dot(w, x) / total
    m = x.size
    if m < 2:
        return ratio, float("nan")
    residual = w * (x - ratio)
    return ratio, float(math.sqrt(m / (m - 1.0) * dot(residual, residual)) / total)


def _cv(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean()
    return float(x.std() / mean) if mean > 0 else 0.0


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")


def _density(n_edges: float, n: int) -> float:
    return float(2.0 * n_edges / (n * (n - 1.0))) if n > 1 else 0.0
