r"""A knowledge-graph GNN in hyperbolic space: users, items and the items'
KG neighbourhoods propagated together, every hop on the manifold."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from ...data.hetero import INTERACTS, REV_INTERACTS
from ...data.history import InteractionCSR
from ...data.kg import KGNeighbourhoods
from ...manifolds import Manifold, PoincareBall
from ..conv import EinsteinMidpointConv, HyperbolicHeteroConv, HyperbolicKGAttention
from .graph import HyperbolicGraphRecommender
from .propagation import bipartite_blocks

__all__ = ["HyperbolicKGNN"]

#: the edge type the KG attention reads: an item's KG neighbours -> the item
KG_TO_ITEM = ("entity", "describes", "item")


class HyperbolicKGNN(HyperbolicGraphRecommender):
    r"""Knowledge-graph message passing in hyperbolic space: the
    knowledge-graph GNN of the product card, built from this library's
    layers. In each of :obj:`num_layers` layers, on :obj:`manifold`
    (default: the Poincaré ball of Hyper-Know):

    .. math::
        \mathbf u^{(l+1)} &= \operatorname{midpoint}\big(\{\mathbf v^{(l)}_i\}_{i \in \mathcal N(u)},
            \hat A_{ui}\big) \\
        \mathbf v^{(l+1)} &= \operatorname{midpoint}\Big(
            \operatorname{midpoint}\big(\{\mathbf u^{(l)}\}_{u \in \mathcal N(v)}, \hat A_{vu}\big),\;
            \mathbf n^{(l)}_v\Big),\qquad
        \mathbf n^{(l)}_v = \operatorname{midpoint}\big(\{\mathbf t\}_{(v, r, t)},
            \alpha^{(l)}(v, r, t)\big)

    - the user–item hops are Einstein midpoints weighted by the normalised
      adjacency :math:`\hat A` ([Chamberlain 2019] Eq. 24-25,
      :class:`~hypgraph.nn.conv.EinsteinMidpointConv` on a sparse ``adj_t``);
    - :math:`\mathbf n_v` is Hyper-Know's attention-weighted midpoint of the
      item's KG neighbours (Eq. 4-6, :class:`~hypgraph.nn.conv.HyperbolicKGAttention`,
      its own relation embeddings in each layer), read from the item's
      points of the previous hop and the entity table;
    - the two messages into an item are combined by their Einstein midpoint
      (:class:`~hypgraph.nn.conv.HyperbolicHeteroConv`); an item without KG
      triples takes its user message alone.

    The entities are not propagated (each hop reads the entity table), the
    hops are combined in the tangent space at the origin as in
    :class:`~hypgraph.nn.models.HyperbolicGraphRecommender` (``combine``,
    ``include_input``; default: LightGCN's mean of hops 0..L), and scoring,
    losses and the options ``root_alignment``, ``origin_weight``,
    ``hard_negatives``, ``l2`` and both parameterisations are that class's.
    Hyper-Know (:class:`~hypgraph.nn.models.HyperKnow`) uses the same
    attention only as a regulariser that pulls an item towards
    :math:`\mathbf n_v`; here it is in the forward pass.

    In training, each propagation draws :obj:`num_neighbour_samples` triples
    per item (with replacement, from the global generator: seed it for
    repeatable runs; KGCN-style fixed-size neighbourhoods bound the cost);
    in ``eval`` mode every triple is read.

    Args:
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_entities (int): Number of KG entities.
        num_relations (int): Relation types :math:`R` of the KG.
        dim (int): Intrinsic dimension (default: ``32``).
        num_layers (int): Hops (default: ``2``).
        manifold (Manifold, optional): (default: :obj:`PoincareBall()`)
        neighbourhoods (KGNeighbourhoods): The items' KG triples (with
            reversed triples when ``inverse_relations``); see :meth:`from_data`.
        num_neighbour_samples (int, optional): Triples per item per training
            propagation; ``None`` reads all (default: ``8``).
        attention (bool): Hyper-Know's attention; ``False`` is the plain
            midpoint of the KG neighbours (default: ``True``).
        inverse_relations (bool): :obj:`neighbourhoods` carry reversed
            triples, ``2R`` relation ids (default: ``True``).
        **kwargs: :class:`~hypgraph.nn.models.HyperbolicGraphRecommender`'s
            options (``normalization`` default ``'symmetric'``, ``combine``
            default ``'mean'``, ``include_input`` default ``True``,
            ``score_kind`` default ``'distance'``, ``l2``, ``init_scale``,
            ``parameterization``, ...). ``aggregation`` is always the midpoint.
    """

    def __init__(self, num_users: int, num_items: int, num_entities: int, num_relations: int, dim: int = 32,
                 num_layers: int = 2, manifold: Optional[Manifold] = None, *,
                 neighbourhoods: Optional[KGNeighbourhoods] = None, num_neighbour_samples: Optional[int] = 8,
                 attention: bool = True, inverse_relations: bool = True, **kwargs) -> None:
        if num_entities < 1 or num_relations < 1:
            raise ValueError(f"need num_entities >= 1 and num_relations >= 1, got {num_entities}, {num_relations}")
        if num_neighbour_samples is not None and num_neighbour_samples < 1:
            raise ValueError(f"num_neighbour_samples must be >= 1 or None, got {num_neighbour_samples}")
        if kwargs.pop("aggregation", "midpoint") != "midpoint":
            raise ValueError("HyperbolicKGNN aggregates by Einstein midpoints only (aggregation='midpoint')")
        for key, value in (("normalization", "symmetric"), ("combine", "mean"), ("include_input", True),
                           ("score_kind", "distance")):
            kwargs.setdefault(key, value)
        manifold = PoincareBall() if manifold is None else manifold
        self._kg_ready = False
        super().__init__(num_users, num_items, dim, num_layers, manifold, aggregation="midpoint", **kwargs)
        self.num_entities, self.num_relations = num_entities, num_relations
        self.num_relation_ids = num_relations * (2 if inverse_relations else 1)
        self.num_neighbour_samples = num_neighbour_samples
        sparse = self.point_tables["item"].sparse
        self.register_point_table("entity", num_entities, dim, kwargs.get("parameterization", "manifold"),
                                  sparse=sparse)
        width = manifold.coord_dim(dim)
        self.layers = nn.ModuleList(HyperbolicHeteroConv({
            REV_INTERACTS: EinsteinMidpointConv(width, manifold=manifold),
            INTERACTS: EinsteinMidpointConv(width, manifold=manifold),
            KG_TO_ITEM: HyperbolicKGAttention(width, self.num_relation_ids, manifold=manifold, attention=attention),
        }, manifold=manifold) for _ in range(num_layers))
        self.neighbourhoods: Optional[KGNeighbourhoods] = None
        self._blocks: Optional[Tuple[Tensor, Tensor]] = None
        if neighbourhoods is not None:
            self.set_neighbourhoods(neighbourhoods)
        self._kg_ready = True
        self.reset_parameters()

    @classmethod
    def from_data(cls, data: HeteroData, *, inverse_relations: bool = True, **kwargs) -> "HyperbolicKGNN":
        r"""A model sized for :obj:`data` (the project's :class:`HeteroData`
        with ``('item', 'links', 'entity')`` and ``('entity', 'relates',
        'entity')``), its :class:`~hypgraph.data.KGNeighbourhoods` attached."""
        neighbourhoods = KGNeighbourhoods.from_hetero(data, inverse=inverse_relations)
        return cls(data["user"].num_nodes, data["item"].num_nodes, data["entity"].num_nodes,
                   neighbourhoods.num_base_relations, neighbourhoods=neighbourhoods,
                   inverse_relations=inverse_relations, **kwargs)

    def set_neighbourhoods(self, neighbourhoods: KGNeighbourhoods) -> None:
        """Attach the items' KG triples (checked against the model's sizes)."""
        neighbourhoods.check_sizes(self.num_items, self.num_entities, self.num_relation_ids)
        self.neighbourhoods = neighbourhoods.to(self.item.device)

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        super().reset_parameters(generator)
        if not self._kg_ready:  # called by the base constructor before the entity table exists
            return
        weight = self.entity
        tangent = (torch.rand(self.num_entities, self.dim, generator=generator) * 2 - 1) * self.init_scale
        self.point_tables["entity"].reset_parameters(
            weight, tangent=self.manifold.tangent0(tangent.to(dtype=weight.dtype, device=weight.device)))
        for layer in self.layers:
            layer.reset_parameters()

    def set_graph(self, edge_index: Tensor) -> None:
        super().set_graph(edge_index)
        self._blocks = None

    def _apply(self, fn, recurse: bool = True):
        out = super()._apply(fn, recurse)
        if self.neighbourhoods is not None:  # index tensors follow device moves
            self.neighbourhoods.apply(lambda t: fn(t) if not t.is_floating_point() else t)
        self._blocks = None
        return out

    def _edges(self, history: Optional[InteractionCSR], dtype: torch.dtype, device) -> Dict:
        adj, _ = self.adjacency.matrices(history, dtype, device)
        if self._blocks is None or self._blocks[0].dtype != dtype or self._blocks[0].device != adj.device:
            self._blocks = bipartite_blocks(adj, self.num_users)
        if self.neighbourhoods is None:
            raise ValueError("HyperbolicKGNN needs the items' KG triples: pass neighbourhoods= or use from_data")
        samples = self.num_neighbour_samples if self.training else None
        kg_index, kg_type = self.neighbourhoods.neighbours(torch.arange(self.num_items, device=device), samples)
        users_from_items, items_from_users = self._blocks
        return {REV_INTERACTS: users_from_items, INTERACTS: items_from_users, KG_TO_ITEM: kg_index}, kg_type

    def propagate(self, history: Optional[InteractionCSR] = None) -> Tensor:
        r"""The combined tangent vectors at the origin of every user and item
        ``[U + I, dim]`` after :obj:`num_layers` hops of the layers above."""
        m = self.manifold
        x = {"user": self.points("user"), "item": self.points("item"), "entity": self.points("entity")}
        edges, kg_type = self._edges(history, x["item"].dtype, x["item"].device)
        hops: List[Tensor] = []

        def tangent(points: Dict[str, Tensor]) -> Tensor:
            return m.logmap0_coords(torch.cat([points["user"], points["item"]], dim=0))

        if self.include_input:
            hops.append(tangent(x))
        for layer in self.layers:
            out = layer(x, edges, edge_type_dict={KG_TO_ITEM: kg_type})
            x = {"user": out["user"], "item": out["item"], "entity": x["entity"]}
            hops.append(tangent(x))
        return self._combine(hops)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", num_entities={self.num_entities}, "
                f"num_relations={self.num_relations}, num_neighbour_samples={self.num_neighbour_samples}")
