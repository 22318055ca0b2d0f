r"""Propagation over the user–item graph: its normalised adjacency, built
once as CSR with its transpose (for
:func:`~hypgraph.manifolds.sparse_matmul`, whose backward reuses it), shared
by every graph recommender here
(:class:`~hypgraph.nn.models.LightGCNRecommender`,
:class:`~hypgraph.nn.models.HyperbolicGraphRecommender`).

Nodes ``0..U-1`` are users and ``U..U+I-1`` items; the graph is undirected
(each interaction is an edge both ways).
"""
from __future__ import annotations

import warnings
from typing import Optional, Tuple

import torch
from torch import Tensor

from ...data.history import InteractionCSR

__all__ = ["NORMALIZATIONS", "bipartite_edges", "history_edges", "normalized_adjacency", "bipartite_blocks",
           "GraphAdjacency"]

#: ``'symmetric'``: :math:`D^{-1/2} A D^{-1/2}` (LightGCN Eq. 3);
#: ``'row'``: :math:`D^{-1} A`, the mean of the neighbours (HGCF's
#: row-normalised adjacency).
NORMALIZATIONS = ("symmetric", "row")


def bipartite_edges(edge_index: Tensor, num_users: int) -> Tensor:
    r"""The undirected user–item graph of the ``[2, E]`` (user, item) pairs
    :obj:`edge_index` as ``[2, 2E]`` directed edges between nodes (items
    shifted by :obj:`num_users`)."""
    user, item = edge_index[0], edge_index[1] + num_users
    return torch.cat([torch.stack([user, item]), torch.stack([item, user])], dim=1)


def history_edges(history: InteractionCSR) -> Tensor:
    r"""The (user, item) pairs ``[2, E]`` of a training history (repeated
    interactions repeated, as the history holds them)."""
    user = torch.repeat_interleave(torch.arange(history.num_users, device=history.ptr.device),
                                   history.ptr.diff())
    return torch.stack([user, history.items])


def _csr(row: Tensor, col: Tensor, value: Tensor, n: int) -> Tensor:
    order = torch.argsort(row * n + col)
    crow = torch.zeros(n + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=n), 0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col[order], value[order], (n, n), check_invariants=False,
                                       device=row.device)


def normalized_adjacency(graph: Tensor, num_nodes: int, normalization: str = "symmetric",
                         dtype: torch.dtype = torch.float32, *,
                         self_loops: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
    r"""``(adj, adj_t)``: the normalised adjacency of the directed edges
    :obj:`graph` ``[2, E]`` (both directions of every undirected edge) as a
    ``[num_nodes, num_nodes]`` CSR matrix whose row :math:`i` aggregates the
    neighbours of :math:`i`, and its transpose (``None`` when the matrix is
    symmetric, so the backward of :func:`~hypgraph.manifolds.sparse_matmul`
    needs no second copy).
    Isolated nodes get an all-zero row. With :obj:`self_loops` every node
    is also its own neighbour: :math:`A + I` is normalised, as HGCF does.

    - ``'symmetric'``: :math:`\hat A = D^{-1/2} A D^{-1/2}`, entries
      :math:`1/\sqrt{d_i d_j}` (LightGCN, He et al. 2020, Eq. 3);
    - ``'row'``: :math:`\hat A = D^{-1} A`, entries :math:`1/d_i`, each row the
      mean of the neighbours (HGCF, Sun et al. 2021; layer6ai-labs/HGCF
      ``utils/data_generator.py``, which normalises :math:`A + I`).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    row, col = graph
    if self_loops:
        loop = torch.arange(num_nodes, device=row.device)
        row, col = torch.cat([row, loop]), torch.cat([col, loop])
    deg = torch.bincount(row, minlength=num_nodes).to(torch.float64)
    if normalization == "symmetric":
        inv_sqrt = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
        value = (inv_sqrt[row] * inv_sqrt[col]).to(dtype)
        return _csr(row, col, value, num_nodes), None
    value = (1.0 / deg[row]).to(dtype)
    return _csr(row, col, value, num_nodes), _csr(col, row, value, num_nodes)


def bipartite_blocks(adj: Tensor, num_users: int) -> Tuple[Tensor, Tensor]:
    r"""The two off-diagonal blocks of a ``[U + I, U + I]`` user–item
    adjacency as CSR matrices in PyG's ``adj_t`` orientation (destination
    rows): ``users <- items`` (``[U, I]``) and ``items <- users``
    (``[I, U]``), for layers that read one node type into another
    (:class:`~hypgraph.nn.conv.EinsteinMidpointConv`). Self-loops (the
    diagonal blocks) are left out."""
    coo = adj.to_sparse_coo().coalesce()
    (row, col), value = coo.indices(), coo.values()
    n = adj.size(0)
    blocks = []
    for rows_are_users in (True, False):
        keep = (row < num_users) & (col >= num_users) if rows_are_users else (row >= num_users) & (col < num_users)
        r, c = row[keep], col[keep]
        shape = (num_users, n - num_users) if rows_are_users else (n - num_users, num_users)
        r, c = (r, c - num_users) if rows_are_users else (r - num_users, c)
        crow = torch.zeros(shape[0] + 1, dtype=torch.long, device=row.device)
        crow[1:] = torch.cumsum(torch.bincount(r, minlength=shape[0]), 0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            # coalesced COO is sorted by (row, col): already CSR order
            blocks.append(torch.sparse_csr_tensor(crow, c, value[keep], shape, check_invariants=False,
                                                  device=c.device))
    return blocks[0], blocks[1]


class GraphAdjacency:
    r"""The normalised user–item adjacency of a recommender, built lazily
    from a training history (or set explicitly) and kept per dtype and
    device, so that a model propagating at every batch pays for it once.

    Args:
        num_users (int): Users (nodes ``0..U-1``).
        num_items (int): Items (nodes ``U..U+I-1``).
        normalization (str): One of :data:`NORMALIZATIONS` (default: ``'symmetric'``).
        self_loops (bool): Normalise :math:`A + I` (default: ``False``).
    """

    def __init__(self, num_users: int, num_items: int, normalization: str = "symmetric",
                 self_loops: bool = False) -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        self.num_users, self.num_items, self.normalization = num_users, num_items, normalization
        self.self_loops = bool(self_loops)
        self.graph: Optional[Tensor] = None
        self._matrices: Optional[Tuple[Tensor, Optional[Tensor]]] = None
        self._row_sums: Optional[Tensor] = None

    @property
    def num_nodes(self) -> int:
        return self.num_users + self.num_items

    def set_edges(self, edge_index: Tensor) -> None:
        """Use the (user, item) pairs ``[2, E]`` as the graph."""
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must be [2, E] (user, item) pairs, got {tuple(edge_index.shape)}")
        if edge_index.numel() and (int(edge_index[0].max()) >= self.num_users
                                   or int(edge_index[1].max()) >= self.num_items or int(edge_index.min()) < 0):
            raise ValueError(f"edge_index has ids outside {self.num_users} users and {self.num_items} items")
        self.graph = bipartite_edges(edge_index.long(), self.num_users)
        self._matrices = self._row_sums = None

    def matrices(self, history: Optional[InteractionCSR], dtype: torch.dtype,
                 device: torch.device) -> Tuple[Tensor, Optional[Tensor]]:
        r"""``(adj, adj_t)`` of :func:`normalized_adjacency`; the first call
        with a :obj:`history` fixes the graph when none was set."""
        if self.graph is None:
            if history is None:
                raise ValueError("a graph recommender needs the training history (or set_graph) to propagate")
            self.set_edges(history_edges(history))
        adj = None if self._matrices is None else self._matrices[0]
        if adj is None or adj.dtype != dtype or adj.device != device:
            adj, adj_t = normalized_adjacency(self.graph.to(device), self.num_nodes, self.normalization, dtype,
                                              self_loops=self.self_loops)
            self._matrices, self._row_sums = (adj, adj_t), None
        return self._matrices

    def row_sums(self, history: Optional[InteractionCSR], dtype: torch.dtype, device: torch.device) -> Tensor:
        r"""The row sums ``[U + I]`` of :meth:`matrices`' ``adj`` (1 on every
        row of the ``'row'`` normalisation with a neighbour, 0 on an isolated
        node's), computed once: an Einstein-midpoint hop divides by them."""
        adj, _ = self.matrices(history, dtype, device)
        if self._row_sums is None:
            self._row_sums = (adj @ torch.ones(adj.size(1), 1, dtype=dtype, device=device)).squeeze(-1)
        return self._row_sums
