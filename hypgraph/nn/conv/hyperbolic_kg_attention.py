r"""Hyper-Know's attention over an item's knowledge-graph neighbours."""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import Adj, Size
from torch_geometric.utils import softmax

from ...manifolds import Manifold, PoincareBall
from ..aggr import EinsteinMidpointAggregation

__all__ = ["HyperbolicKGAttention"]


class HyperbolicKGAttention(MessagePassing):
    r"""The neighbourhood representation of `"Knowledge-Enhanced Top-K
    Recommendation in Poincaré Ball" <https://arxiv.org/abs/2101.04852>`_
    (Hyper-Know, Eq. 4-6). For each triple :math:`(v, r, t)` with item
    :math:`v` and entity :math:`t`, a TransE-style hyperbolic score

    .. math::
        \alpha(v, t) = \exp\big(-d(v \oplus_c \mathbf{r}, t)\big)

    with a learned relation embedding :math:`\mathbf{r}`, and the
    neighbourhood representation is the attention-weighted Einstein midpoint
    computed through the Klein model:

    .. math::
        \mathbf{n}_v = f_{K\to B}\left(\sum_{t \in \mathcal{N}_v}
        \frac{\alpha(v,t)\gamma(t)}{\sum_{t'}\alpha(v,t')\gamma(t')} f_{B\to K}(t)\right)

    The normalisation is a grouped softmax of :math:`-d(v\oplus r, t) + \log\gamma(t)`
    with the per-item maximum subtracted, so it neither underflows for
    distant neighbours nor overflows for neighbours near the boundary.

    With ``manifold=Euclidean()`` this is the Euclidean TransE attention
    ablation (Hyper-Know Table 3, "BPR+Att+E"); with ``attention=False`` it is
    the plain midpoint ("Avg"): the same code path with the geometry or the
    weights swapped. Items without neighbours get the manifold's origin.

    Relation embeddings are stored as tangent vectors at the origin and
    mapped with :meth:`~hypgraph.manifolds.Manifold.expmap0`, so they are
    ordinary parameters for any optimiser.

    Args:
        channels (int): Coordinates per point (``n + 1`` on the hyperboloid).
        num_relations (int): Number of relation types.
        manifold (Manifold, optional): (default: :obj:`PoincareBall(k=1)`)
        attention (bool): Weight neighbours by :math:`\alpha` (default: ``True``).
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** item points :math:`(|\mathcal{I}|, D)`, entity points
          :math:`(|\mathcal{E}|, D)`, edge indices entity :math:`\to` item
          :math:`(2, T)`, edge types :math:`(T)`; or, in PyG's convention
          for bipartite layers (as :class:`HyperbolicHeteroConv` calls its
          layers), ``((x_entity, x_item), edge_index, edge_type=...)``
        - **output:** neighbourhood points :math:`(|\mathcal{I}|, D)`; with
          ``return_attention_weights=True`` also ``(edge_index, weights)`` whose
          weights sum to 1 over each item's neighbours.
    """

    def __init__(self, channels: int, num_relations: int, manifold: Optional[Manifold] = None,
                 attention: bool = True, **kwargs) -> None:
        manifold = PoincareBall() if manifold is None else manifold
        kwargs.setdefault("aggr", EinsteinMidpointAggregation(manifold, weighted=True))
        super().__init__(**kwargs)
        if channels < 1 or num_relations < 1:
            raise ValueError(f"channels and num_relations must be >= 1, got {channels} and {num_relations}")
        self.channels = channels
        self.num_relations = num_relations
        self.manifold = manifold
        self.attention = attention
        if attention:
            self.relation = Parameter(torch.empty(num_relations, channels))
        else:
            self.register_parameter("relation", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.relation is not None:
            torch.nn.init.normal_(self.relation, std=0.01)

    def relation_points(self) -> Tensor:
        """The relation embeddings as points of the manifold."""
        return self.manifold.expmap0(self.relation)

    def forward(
        self,
        x_item: Union[Tensor, Tuple[Tensor, Tensor]],
        x_entity: Optional[Tensor] = None,
        edge_index: Optional[Adj] = None,
        edge_type: Optional[Tensor] = None,
        return_attention_weights: Optional[bool] = None,
        size: Size = None,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        if isinstance(x_item, (tuple, list)):
            # PyG's convention, as HyperbolicHeteroConv calls a layer:
            # ((x_entity, x_item), edge_index, edge_type=...)
            if edge_index is not None:
                raise ValueError("HyperbolicKGAttention((x_entity, x_item), edge_index, edge_type=...): "
                                 "edge_index goes second")
            (x_entity, x_item), edge_index = x_item, x_entity
        if x_entity is None or edge_index is None or edge_type is None:
            raise ValueError("HyperbolicKGAttention needs item and entity points, edge_index and edge_type")
        entity, item = edge_index[0], edge_index[1]
        num_items = x_item.size(0)
        if self.attention:
            # Hyper-Know, Eq. 4: log alpha(v, t) = -d(v (+) r, t)
            translated = self.manifold.mobius_add(x_item[item], self.relation_points()[edge_type])
            log_alpha = -self.manifold.dist(translated, x_entity[entity])
        else:
            log_alpha = torch.zeros(entity.numel(), dtype=x_item.dtype, device=x_item.device)
        # The midpoint weights alpha only up to a per-item factor, so the
        # softmax-normalised alpha gives exactly Eq. 5 without underflow.
        weight = softmax(log_alpha, item, num_nodes=num_items)
        out = self.propagate(edge_index, x=(x_entity, x_item), weight=weight,
                             size=(x_entity.size(0), num_items))
        if return_attention_weights:
            # the coefficients of Eq. 5: alpha * gamma, normalised per item;
            # the first homogeneous Klein coordinate is the Lorentz factor
            log_gamma = self.manifold.to_klein_homogeneous(x_entity)[..., 0].log()
            coeff = softmax(log_alpha + log_gamma[entity], item, num_nodes=num_items)
            return out, (edge_index, coeff)
        return out

    def message(self, x_j: Tensor, weight: Tensor) -> Tensor:
        return torch.cat([x_j, weight.unsqueeze(-1)], dim=-1)

    def __repr__(self) -> str:
        extra = "" if self.attention else ", attention=False"
        return (f"{self.__class__.__name__}({self.channels}, num_relations={self.num_relations}, "
                f"manifold={self.manifold}{extra})")
