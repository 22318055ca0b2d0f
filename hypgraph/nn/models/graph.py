r"""Hyperbolic graph collaborative filtering: users and items propagated
over the interaction graph for several hops (HGCF, HRCF, HICF, LGCF)."""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from ...data.history import InteractionCSR
from ...manifolds import Lorentz, Manifold, einstein_midpoint, sparse_matmul
from ..losses import adaptive_margin_weight, l2_penalty
from .base import SCORES, PointRecommender
from .propagation import NORMALIZATIONS, GraphAdjacency

__all__ = ["HyperbolicGraphRecommender", "AGGREGATIONS", "COMBINATIONS", "nearest_negatives"]

#: How a layer aggregates neighbours: ``'tangent'`` (a weighted sum in the
#: tangent space at the origin, HGCF) or ``'midpoint'`` (the weighted
#: Einstein midpoint on the manifold, LGCF-style).
AGGREGATIONS = ("tangent", "midpoint")
#: How the hops are combined: their ``'sum'`` (HGCF) or ``'mean'`` (LightGCN).
COMBINATIONS = ("sum", "mean")


def nearest_negatives(manifold: Manifold, positive: Tensor, candidates: Tensor, index: Optional[Tensor] = None,
                      *, chunk: int = 1024) -> Tensor:
    r"""For each row, the index of the candidate nearest the positive item:
    the hard negative of HICF (Yang et al., KDD 2022, hardness-aware
    negative sampling: of :math:`k` random candidates keep the one closest
    to the positive in hyperbolic space).

    Args:
        manifold (Manifold): Where the points live.
        positive (Tensor): ``[B, D]`` points of the positive items.
        candidates (Tensor): ``[B, k, D]`` points of the candidate negatives;
            or, with :obj:`index`, a table ``[M, D]`` of distinct candidates.
        index (Tensor, optional): ``[B, k]`` rows of the :obj:`candidates`
            table: each batch row's candidates. A batch of 10,000 positives
            with 70 candidates each names at most the catalogue, so the table
            is mapped once, and the products are taken ``chunk`` rows at a
            time through the manifold's rank vectors
            (:meth:`~hypgraph.manifolds.Manifold.rank_scores`, which order as
            the distance), never a ``[B, k, D]`` tensor at once.

    Returns:
        Tensor: ``[B]`` indices into the ``k`` candidates (no gradient flows
        through the choice).
    """
    with torch.no_grad():
        if index is None:
            if candidates.dim() != 3 or positive.dim() != 2 or candidates.shape[0] != positive.shape[0]:
                raise ValueError(f"need positive [B, D] and candidates [B, k, D], got {tuple(positive.shape)} "
                                 f"and {tuple(candidates.shape)}")
            return manifold.dist(positive.unsqueeze(-2), candidates).argmin(dim=-1)
        if candidates.dim() != 2 or positive.dim() != 2 or index.dim() != 2 or index.shape[0] != positive.shape[0]:
            raise ValueError(f"need positive [B, D], a candidate table [M, D] and index [B, k], got "
                             f"{tuple(positive.shape)}, {tuple(candidates.shape)} and {tuple(index.shape)}")
        if manifold.has_rank_vectors:  # larger product = nearer
            keys, queries = manifold.rank_keys(candidates), manifold.rank_queries(positive)

            def nearest(rows: slice) -> Tensor:
                return torch.bmm(keys[index[rows]], queries[rows].unsqueeze(-1)).squeeze(-1).argmax(dim=-1)
        else:
            def nearest(rows: slice) -> Tensor:
                return manifold.dist(positive[rows].unsqueeze(-2), candidates[index[rows]]).argmin(dim=-1)
        picks = [nearest(slice(start, start + chunk)) for start in range(0, index.shape[0], chunk)]
        return torch.cat(picks) if picks else index.new_empty(0)


class HyperbolicGraphRecommender(PointRecommender):
    r"""Multi-layer graph collaborative filtering in hyperbolic space: the
    user and item points are propagated over the user–item graph for
    :obj:`num_layers` hops and the hops combined, then scored by the
    manifold's distance, as in HGCF (Sun et al., WWW 2021) and its
    successors. Every option below maps to a paper:

    ============================  ===============================================
    option                        source
    ============================  ===============================================
    ``aggregation='tangent'``     HGCF (layer6ai-labs/HGCF
                                  ``layers/hyp_layers.py``): :math:`\log_o` once,
                                  :math:`h^{(l+1)} = \hat A h^{(l)}` in
                                  :math:`T_o`, :math:`\exp_o` of the combination
    ``aggregation='midpoint'``    LGCF (Sun et al., 2021) and [Chamberlain
                                  2019] Eq. 24-25: each hop is the
                                  :math:`\hat A`-weighted Einstein midpoint of the
                                  neighbours' points, on the manifold
    ``combine='sum'``,            HGCF's ``resSumGCN``: :math:`\sum_{l=1}^{L}
    ``include_input=False``       h^{(l)}`` (hop 0 left out)
    ``combine='mean'``,           LightGCN Eq. 4 (He et al. 2020):
    ``include_input=True``        :math:`\frac{1}{L+1}\sum_{l=0}^{L} h^{(l)}`
    ``normalization='row'``       HGCF: :math:`\hat A = D^{-1}A`
    ``normalization='symmetric'`` LightGCN Eq. 3: :math:`D^{-1/2}AD^{-1/2}`
    ``self_loops=True``           HGCF normalises :math:`A + I`
    ``score_kind='sqdist'``       HGCF: :math:`s = -d(u, i)^2`, with the
                                  margin loss :func:`~hypgraph.nn.hinge_loss`
    ``root_alignment=True``       HRCF (Yang et al., WWW 2022), "root
                                  alignment": the mean over all nodes of the
                                  combined tangent vectors is subtracted, so
                                  their centroid (the "root") is the origin
    ``origin_weight=a``           HRCF's origin-aware penalty (its code's
                                  ``geometric_regularizer``)
                                  :math:`a / \sqrt{\operatorname{mean}_i
                                  \lVert \log_o x_i\rVert^2 + 10^{-6}}` over
                                  the items' output points, which pushes
                                  items away from the origin
                                  (:meth:`auxiliary_loss`)
    ``l2=λ``                      LightGCN Eq. 15: :math:`\lambda\lVert\Theta_B\rVert^2`
                                  on the base rows of the batch
    ``hard_negatives=True``       HICF (Yang et al., KDD 2022): of the
                                  :math:`k` sampled negatives of a positive,
                                  only the one nearest the positive item is
                                  scored (:func:`nearest_negatives`)
    ``adaptive_margin=True``      HICF's adaptive margin: with the hinge loss,
                                  the margin of a pair is :math:`m\,w(u, i)`
                                  (:func:`~hypgraph.nn.adaptive_margin_weight`,
                                  read by the trainer through
                                  :meth:`margin_weights`)
    ============================  ===============================================

    With ``manifold=Euclidean()`` both maps at the origin are the identity:
    the tangent aggregation with ``normalization='symmetric'``,
    ``combine='mean'``, ``include_input=True`` and ``score_kind='inner'`` is
    LightGCN exactly (a test compares the two,
    :class:`~hypgraph.nn.models.LightGCNRecommender`).

    One table holds users and items, as in HGCF (``model.user`` and
    ``model.item``, each a point table in the parameterisation of
    :class:`~hypgraph.nn.models.HyperbolicRecommender`: ``'manifold'`` for
    :class:`~hypgraph.optim.RiemannianSGD`/:class:`~hypgraph.optim.RiemannianAdam`
    as in the papers, ``'tangent'`` for any :mod:`torch.optim` optimiser).
    Every training batch propagates the whole graph (one sparse–dense
    product per layer forward and one backward, on a normalised adjacency
    built once, :class:`~hypgraph.nn.models.propagation.GraphAdjacency`); in
    ``eval`` mode the output points are computed once and reused until the
    next ``train()``. The graph is the training history the model first
    meets (:meth:`user_points`), or :meth:`set_graph`.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        dim (int): Intrinsic dimension (default: ``50``, HGCF's).
        num_layers (int): Propagation hops :math:`L \ge 1` (default: ``3``).
        manifold (Manifold, optional): (default: :class:`~hypgraph.manifolds.Lorentz`)
        aggregation (str): ``'tangent'`` or ``'midpoint'`` (default: ``'tangent'``).
        combine (str): ``'sum'`` or ``'mean'`` of the hops (default: ``'sum'``).
        include_input (bool): Combine hop 0 too (default: ``False``).
        normalization (str): ``'row'`` or ``'symmetric'`` (default: ``'row'``).
        self_loops (bool): Normalise :math:`A + I` instead of :math:`A`
            (default: ``False``).
        score_kind (str): ``'sqdist'``, ``'distance'`` or ``'inner'`` (default: ``'sqdist'``).
        root_alignment (bool): HRCF's root alignment (default: ``False``).
        origin_weight (float): Weight of HRCF's origin-aware penalty (default: ``0``, off).
        hard_negatives (bool): HICF's nearest-of-:math:`k` negatives (default: ``False``).
        adaptive_margin (bool): HICF's adaptive margin for the hinge loss (default: ``False``).
        l2 (float): :math:`\lambda` of LightGCN's Eq. 15,
            :math:`\lambda\lVert\Theta_B\rVert^2` on the stored rows of a batch's
            users, positives and negatives, per interaction
            (:func:`~hypgraph.nn.l2_penalty`; default: ``0``).
        init_scale (float): Initial tangent coordinates are uniform in
            :math:`(-s, s)`, mapped by :math:`\exp_o` (HGCF: ``0.1``; default: ``0.1``).
        parameterization (str): ``'manifold'`` or ``'tangent'`` (default: ``'manifold'``).
        sparse (bool): Sparse row gradients for the tables (default: ``False``).
    """

    def __init__(self, num_users: int, num_items: int, dim: int = 50, num_layers: int = 3,
                 manifold: Optional[Manifold] = None, *, aggregation: str = "tangent", combine: str = "sum",
                 include_input: bool = False, normalization: str = "row", self_loops: bool = False,
                 score_kind: str = "sqdist",
                 root_alignment: bool = False, origin_weight: float = 0.0, hard_negatives: bool = False,
                 adaptive_margin: bool = False, l2: float = 0.0, init_scale: float = 0.1,
                 parameterization: str = "manifold", sparse: bool = False) -> None:
        super().__init__()
        manifold = Lorentz() if manifold is None else manifold
        if num_users < 1 or num_items < 1 or dim < 1 or num_layers < 1:
            raise ValueError(f"need num_users, num_items, dim and num_layers >= 1, "
                             f"got {num_users}, {num_items}, {dim}, {num_layers}")
        for name, value, allowed in (("aggregation", aggregation, AGGREGATIONS), ("combine", combine, COMBINATIONS),
                                     ("normalization", normalization, NORMALIZATIONS),
                                     ("score_kind", score_kind, SCORES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        manifold.check_score_kind(score_kind)
        if origin_weight < 0 or l2 < 0 or not init_scale > 0:
            raise ValueError(f"need origin_weight >= 0, l2 >= 0 and init_scale > 0, "
                             f"got {origin_weight}, {l2}, {init_scale}")
        self.manifold, self.num_users, self.num_items = manifold, num_users, num_items
        self.dim, self.num_layers, self.aggregation, self.combine = dim, num_layers, aggregation, combine
        self.include_input, self.score_kind, self.root_alignment = include_input, score_kind, root_alignment
        self.origin_weight, self.hard_negatives, self.init_scale = float(origin_weight), hard_negatives, init_scale
        self.l2, self.adaptive_margin = float(l2), bool(adaptive_margin)
        self.register_point_table("user", num_users, dim, parameterization, sparse=sparse)
        self.register_point_table("item", num_items, dim, parameterization, sparse=sparse)
        self.adjacency = GraphAdjacency(num_users, num_items, normalization, self_loops)
        # combined tangent vectors: of the last propagation, of eval mode;
        # all items' points in eval mode
        self._cache: Optional[Tensor] = None
        self._last: Optional[Tensor] = None
        self._scored_negatives: Optional[Tensor] = None  # the negatives the last forward pass scored
        self._item_cache: Optional[Tensor] = None
        self.reset_parameters()

    @classmethod
    def hgcf(cls, num_users: int, num_items: int, **overrides) -> "HyperbolicGraphRecommender":
        r"""HGCF's published configuration (layer6ai-labs/HGCF ``run.py``
        defaults): dimension 50 on the hyperboloid, 3 hops of tangent
        propagation over the row-normalised :math:`A + I`, summed without hop
        0, squared-distance scores,
        points trained on the manifold (RiemannianSGD, lr 1e-3, momentum 0.95,
        weight decay 5e-3, with :func:`~hypgraph.nn.hinge_loss` at margin 0.1
        summed over batches of 10,000). HGCF's 50 hyperboloid coordinates hold
        49 intrinsic dimensions; :obj:`dim` here is intrinsic.
        :obj:`overrides` replace any argument."""
        config = dict(dim=50, num_layers=3, manifold=Lorentz(), aggregation="tangent", combine="sum",
                      include_input=False, normalization="row", self_loops=True, score_kind="sqdist", init_scale=0.1,
                      parameterization="manifold")
        config.update(overrides)
        return cls(num_users, num_items, **config)

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        r"""HGCF's initialisation: tangent coordinates uniform in
        :math:`(-s, s)` mapped by :math:`\exp_o`."""
        for name, count in (("user", self.num_users), ("item", self.num_items)):
            weight = getattr(self, name)
            tangent = (torch.rand(count, self.dim, generator=generator) * 2 - 1) * self.init_scale
            tangent = self.manifold.tangent0(tangent.to(dtype=weight.dtype, device=weight.device))
            self.point_tables[name].reset_parameters(weight, tangent=tangent)
        self._cache = self._item_cache = None

    # --- the graph ------------------------------------------------------------
    def set_graph(self, edge_index: Tensor) -> None:
        """Use the (user, item) pairs ``[2, E]`` as the propagation graph."""
        self.adjacency.set_edges(edge_index)
        self._cache = self._item_cache = None

    def train(self, mode: bool = True) -> "HyperbolicGraphRecommender":
        self._cache = self._item_cache = None
        return super().train(mode)

    def propagate(self, history: Optional[InteractionCSR] = None) -> Tensor:
        r"""The combined tangent vectors at the origin of every node, in
        intrinsic coordinates ``[U + I, dim]`` (users first): a node's output
        point is their :math:`\exp_o` (:meth:`user_points`,
        :meth:`item_points`, which map only the rows asked for)."""
        m = self.manifold
        hops: List[Tensor] = []
        if self.aggregation == "tangent":
            # HGCF (hyp_layers.HypAgg): log_o once, L products in T_o; the
            # tangent table is read as stored, a manifold table through log_o
            h = torch.cat([self.point_tables[name].tangents(getattr(self, name)) for name in ("user", "item")])
            adj, adj_t = self.adjacency.matrices(history, h.dtype, h.device)
            if self.include_input:
                hops.append(h)
            for _ in range(self.num_layers):
                h = sparse_matmul(adj, h, adj_t)
                hops.append(h)
        else:
            # LGCF / [Chamberlain 2019] Eq. 24-25: each hop the A-weighted
            # Einstein midpoint of the neighbours, on the manifold
            x = torch.cat([self.points("user"), self.points("item")], dim=0)
            adj, adj_t = self.adjacency.matrices(history, x.dtype, x.device)
            weight_sum = self.adjacency.row_sums(history, x.dtype, x.device)
            if self.include_input:
                hops.append(m.logmap0_coords(x))
            for _ in range(self.num_layers):
                # the hop's points and their log_o in one step (fused on the hyperboloid)
                x, tangent = einstein_midpoint(x, manifold=m, adj=adj, adj_t=adj if adj_t is None else adj_t,
                                               weight_sum=weight_sum, logmap0=True)
                hops.append(tangent)
        return self._combine(hops)

    def _combine(self, hops: List[Tensor]) -> Tensor:
        # the hops' tangent vectors [N, dim] -> their sum or mean, root-aligned if asked
        tangent = sum(hops[1:], hops[0])
        if self.combine == "mean":
            tangent = tangent / len(hops)
        if self.root_alignment:
            # HRCF root alignment: the centroid of all nodes' tangent vectors to the origin
            tangent = tangent - tangent.mean(dim=0, keepdim=True)
        return tangent

    def _tangent(self, history: Optional[InteractionCSR]) -> Tensor:
        if self.training or torch.is_grad_enabled():
            self._last, self._item_cache = self.propagate(history), None
        elif self._cache is None:
            self._cache = self._last = self.propagate(history)
            self._item_cache = None
        else:
            self._last = self._cache
        return self._last

    def _map(self, tangent: Tensor) -> Tensor:
        return self.manifold.expmap0_coords(tangent)

    def _map_rows(self, index: Tensor) -> Tensor:
        # a batch repeats its popular items and active users: map each
        # distinct row once (a batch of 10,000 pairs on MovieLens 100K names
        # ~2,000 distinct nodes)
        distinct, inverse = torch.unique(index, return_inverse=True)
        return self._map(self._last[distinct])[inverse]

    # --- scoring ----------------------------------------------------------------
    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        r"""Output points of :obj:`users` after propagation (training
        mode: propagated afresh; ``eval``: once until the next ``train()``);
        the first call with a :obj:`history` (the training interactions)
        fixes the graph."""
        self._tangent(history)
        return self._map_rows(users)

    def item_points(self, items: Optional[Tensor] = None) -> Tensor:
        """Output points of :obj:`items` (all items when ``None``) from the
        last propagation (:meth:`user_points` runs it)."""
        if self._last is None:
            raise RuntimeError("call user_points (which propagates the graph) before scoring items")
        if items is not None:
            return self._map_rows(self.num_users + items)
        if self._item_cache is None or torch.is_grad_enabled():
            points = self._map(self._last[self.num_users:])
            if torch.is_grad_enabled():
                return points
            self._item_cache = points
        return self._item_cache

    def forward(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
                history: Optional[InteractionCSR] = None) -> Tuple[Tensor, Tensor]:
        r"""Scores of positives ``[B]`` and negatives: ``[B]`` or ``[B, k]``,
        or ``[B, 1]`` with ``hard_negatives=True`` (HICF: the nearest of the
        :math:`k` candidates to the positive)."""
        u = self.user_points(users, history)
        if self.hard_negatives and neg_items.dim() == 2 and neg_items.size(1) > 1:
            with torch.no_grad():  # the distinct candidates mapped once, no [B, k, D] table
                distinct, inverse = torch.unique(neg_items, return_inverse=True)
                pick = nearest_negatives(self.manifold, self.item_points(pos_items), self.item_points(distinct),
                                         inverse)
            neg_items = neg_items.gather(1, pick.unsqueeze(1))
        self._scored_negatives = neg_items
        both = self.score(u, torch.cat([pos_items.unsqueeze(-1), neg_items.view(neg_items.size(0), -1)], -1))
        return both[:, 0], both[:, 1:].view_as(neg_items)

    def margin_weights(self, users: Tensor, pos_items: Tensor) -> Optional[Tensor]:
        r"""With ``adaptive_margin=True``, HICF's factor :math:`w(u, i)` ``[B]``
        of each pair's hinge margin, from the points of the last forward pass
        (:func:`~hypgraph.nn.adaptive_margin_weight`; gradients flow through
        it); ``None`` otherwise. The :class:`~hypgraph.train.Trainer` calls it
        after :meth:`forward` when its loss is the hinge."""
        if not self.adaptive_margin:
            return None
        if self._last is None:
            raise RuntimeError("margin_weights reads the last propagation: call forward first")
        return adaptive_margin_weight(self.manifold, self._map_rows(users), self._map_rows(self.num_users + pos_items))

    def auxiliary_loss(self, users: Tensor, pos_items: Tensor, neg_items: Tensor, *,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        r"""What the :class:`~hypgraph.train.Trainer` adds to the ranking
        loss: HRCF's origin-aware penalty on the last propagation,
        :math:`a / \sqrt{\operatorname{mean}_i \lVert \log_o x_i\rVert^2 + 10^{-6}}`
        over all items (``origin_weight=a``), plus :math:`\lambda\lVert\Theta_B\rVert^2`
        on the batch's stored rows (``l2``: users, positives and the negatives
        the last forward pass scored, with hard negatives the chosen one of
        each pair); 0 when both are off."""
        total = torch.zeros((), dtype=self.item.dtype, device=self.item.device)
        if self.origin_weight and self._last is not None:
            # ||log_o exp_o(t)|| = ||t|| below expmap0's cap: the combined tangent vectors
            items = self._last[self.num_users:]
            total = total + self.origin_weight / (items.pow(2).sum(-1).mean() + 1e-6).sqrt()
        if self.l2:
            # the rows the batch's scores read: with hard negatives the chosen
            # negative of each pair, not all k candidates
            scored = self._scored_negatives
            if scored is None or scored.size(0) != neg_items.size(0):
                scored = neg_items
            total = total + l2_penalty(self.stored_rows("user", users), self.stored_rows("item", pos_items),
                                       self.stored_rows("item", scored), weight=self.l2,
                                       batch_size=users.numel())
        return total

    def extra_repr(self) -> str:
        return (f"num_users={self.num_users}, num_items={self.num_items}, dim={self.dim}, "
                f"num_layers={self.num_layers}, manifold={self.manifold}, aggregation={self.aggregation!r}, "
                f"combine={self.combine!r}, include_input={self.include_input}, "
                f"normalization={self.adjacency.normalization!r}, self_loops={self.adjacency.self_loops}, "
                f"score_kind={self.score_kind!r}"
                f"{self._tables_repr()}")
