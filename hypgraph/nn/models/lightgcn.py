r"""PyG's LightGCN behind the recommender interface of this package, as a
strong external Euclidean baseline."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.nn.models import LightGCN

from ...data.history import InteractionCSR
from ...manifolds import sparse_matmul
from .propagation import GraphAdjacency
from .ranking import top_k

__all__ = ["LightGCNRecommender"]


class LightGCNRecommender(nn.Module):
    r"""`LightGCN <https://arxiv.org/abs/2002.02126>`_ (He et al., SIGIR 2020)
    via :class:`torch_geometric.nn.models.LightGCN`, with the scoring interface
    of :class:`~hypgraph.nn.models.HyperbolicRecommender` (``forward``,
    ``user_points``, ``score``, ``score_all``, ``recommend``), so the same
    :class:`~hypgraph.train.Trainer` and evaluation code run it.

    Users are nodes ``0..U-1`` and items ``U..U+I-1`` of one undirected graph
    built from the training history (the first :meth:`user_points` call with a
    history fixes it; :meth:`set_graph` replaces it). Every training step
    propagates over the whole graph, as LightGCN does, with the symmetric
    normalisation :math:`D^{-1/2} A D^{-1/2}` computed once per graph and kept
    as a CSR matrix: each layer is then one sparse-dense product forward and
    one backward. This is :meth:`LightGCN.get_embedding` (its embedding table
    and layer weights :math:`\alpha`; tests compare the two) without ``LGConv``,
    which renormalises the edge list and gathers/scatters a message per
    edge at every layer of every batch, ~10x slower on a CPU. In
    ``eval`` mode the propagated embeddings are computed once and reused
    until the next ``train()``.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        dim (int): Embedding size (default: ``64``).
        num_layers (int): Propagation layers (default: ``3``).
    """

    def __init__(self, num_users: int, num_items: int, dim: int = 64, num_layers: int = 3) -> None:
        super().__init__()
        if num_users < 1 or num_items < 1:
            raise ValueError(f"need num_users >= 1 and num_items >= 1, got {num_users}, {num_items}")
        self.num_users, self.num_items = num_users, num_items
        # the adjacency handed to the convolutions is normalised already
        self.lightgcn = LightGCN(num_users + num_items, dim, num_layers, normalize=False)
        self.adjacency = GraphAdjacency(num_users, num_items, "symmetric")
        self._cache: Optional[Tensor] = None

    def reset_parameters(self) -> None:
        self.lightgcn.reset_parameters()
        self._cache = None

    def set_graph(self, edge_index: Tensor) -> None:
        """Use the (user, item) pairs ``[2, E]`` as the propagation graph."""
        self.adjacency.set_edges(edge_index)
        self._cache = None

    @property
    def graph(self) -> Tensor:
        """The directed edges ``[2, 2E]`` between nodes (items shifted by
        ``num_users``) that the model propagates over (empty before the
        graph is known)."""
        graph = self.adjacency.graph
        return torch.zeros(2, 0, dtype=torch.long) if graph is None else graph

    def train(self, mode: bool = True) -> "LightGCNRecommender":
        self._cache = None
        return super().train(mode)

    def _embeddings(self, history: Optional[InteractionCSR]) -> Tensor:
        if self.training or torch.is_grad_enabled():
            return self._propagate(history)
        if self._cache is None:
            self._cache = self._propagate(history)
        return self._cache

    def _propagate(self, history: Optional[InteractionCSR] = None) -> Tensor:
        # LightGCN Eq. 3-4 (He et al. 2020): D^{-1/2} A D^{-1/2} (symmetric:
        # its own transpose, PyG's adj_t), layers combined with weights alpha
        # as torch_geometric's LightGCN.get_embedding
        gcn = self.lightgcn
        x = gcn.embedding.weight
        adj, _ = self.adjacency.matrices(history, x.dtype, x.device)
        out = x * gcn.alpha[0]
        for i in range(gcn.num_layers):
            x = sparse_matmul(adj, x)
            out = out + x * gcn.alpha[i + 1]
        return out

    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        self._last = self._embeddings(history)
        return self._last[users]

    def item_points(self, items: Optional[Tensor] = None) -> Tensor:
        """Propagated embeddings of :obj:`items` (all items when ``None``)
        from the last propagation (:meth:`user_points` runs it), as
        :meth:`HyperbolicGraphRecommender.item_points
        <hypgraph.nn.models.HyperbolicGraphRecommender.item_points>` gives
        its points: what retrieval and export read."""
        if getattr(self, "_last", None) is None:
            raise RuntimeError("call user_points (which propagates the graph) before reading items")
        table = self._last[self.num_users:]
        return table if items is None else table[items]

    def score(self, user_points: Tensor, items: Tensor) -> Tensor:
        item_emb = self._last[self.num_users + items]
        if items.dim() == user_points.dim():
            user_points = user_points.unsqueeze(-2)
        return (user_points * item_emb).sum(-1)

    def rank_scores(self, user_points: Tensor) -> Tensor:
        return self.score_all(user_points)

    def score_all(self, user_points: Tensor) -> Tensor:
        return user_points @ self._last[self.num_users:].t()

    def forward(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
                history: Optional[InteractionCSR] = None) -> Tuple[Tensor, Tensor]:
        u = self.user_points(users, history)
        return self.score(u, pos_items), self.score(u, neg_items)

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int, history: Optional[InteractionCSR] = None,
                  exclude_seen: bool = True) -> Tuple[Tensor, Tensor]:
        return top_k(self.score_all(self.user_points(users, history)), users, k, history, exclude_seen)

    def extra_repr(self) -> str:
        return f"num_users={self.num_users}, num_items={self.num_items}"
