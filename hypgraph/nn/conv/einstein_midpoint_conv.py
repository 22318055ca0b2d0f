r"""Midpoint users: a user is the Einstein midpoint of the items they touched."""
from __future__ import annotations

import warnings
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import Adj, OptPairTensor, OptTensor, Size
from torch_geometric.utils import is_sparse, softmax, to_edge_index

from ...manifolds import Lorentz, Manifold, einstein_midpoint
from ..aggr import EinsteinMidpointAggregation

__all__ = ["EinsteinMidpointConv"]


class EinsteinMidpointConv(MessagePassing):
    r"""The asymmetric user encoder of `"Scalable Hyperbolic Recommender
    Systems" <https://arxiv.org/abs/1902.08648>`_ (§5.4): for edges
    item :math:`\to` user, each destination is the (weighted) Einstein
    midpoint of its sources, so users need no parameters of their own and
    gradients flow back into the item embeddings.

    .. math::
        \mathbf{u}_i = \operatorname{midpoint}_{\mathcal{M}}
        \big(\{\mathbf{x}_j\}_{j \in \mathcal{N}(i)},\ \{\alpha_{ji} w_{ji}\}\big)

    With ``attention=True`` the weights are learned, GAT-style, in the tangent
    space at the origin:
    :math:`\alpha_{ji} = \operatorname{softmax}_j\big(\operatorname{LeakyReLU}(
    \mathbf{a}_s^\top \log_o \mathbf{x}_j + \mathbf{a}_d^\top \log_o \mathbf{x}_i)\big)`,
    where the destination term is used only when destination points are
    given (midpoint users have none). Otherwise :math:`\alpha_{ji} = 1`.

    Args:
        channels (int, optional): Coordinates per point; required with
            ``attention=True`` (default: ``None``).
        manifold (Manifold, optional): The model the item points live in
            (default: :class:`~hypgraph.manifolds.Lorentz`). Before 0.2 it was
            the first argument; ``EinsteinMidpointConv(manifold, ...)`` still
            works for one release, with a :class:`DeprecationWarning`.
        attention (bool): Learn attention weights (default: ``False``).
        negative_slope (float): LeakyReLU slope of the attention
            (default: ``0.2``).
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** source points :math:`(|\mathcal{V}_s|, D)` or a pair
          :math:`((|\mathcal{V}_s|, D), (|\mathcal{V}_d|, D))` (destination may
          be ``None``), edge indices :math:`(2, |\mathcal{E}|)`, optional edge
          weights :math:`(|\mathcal{E}|)`
        - **output:** destination points :math:`(|\mathcal{V}_d|, D)`

    Instead of :obj:`edge_index`, a sparse ``adj_t`` of shape
    :math:`(|\mathcal{V}_d|, |\mathcal{V}_s|)` (``torch.sparse`` CSR/COO or a
    ``SparseTensor``, values = edge weights) may be given, as with any PyG
    layer. Without attention the midpoints are then one sparse-dense product
    (:func:`~hypgraph.manifolds.einstein_midpoint` with ``adj=``), which avoids
    materialising one message per edge and is several times faster for long
    histories; with attention the edges are read out of it.
    """

    def __init__(self, channels: Optional[int] = None, manifold: Optional[Manifold] = None,
                 attention: bool = False, negative_slope: float = 0.2, **kwargs) -> None:
        if isinstance(channels, Manifold):  # the order before 0.2: (manifold, channels)
            warnings.warn("EinsteinMidpointConv(manifold, channels) is deprecated; use "
                          "EinsteinMidpointConv(channels, manifold=manifold), the order of every layer here",
                          DeprecationWarning, stacklevel=2)
            channels, manifold = (None if manifold is None else int(manifold)), channels
        manifold = Lorentz() if manifold is None else manifold
        if attention and channels is None:
            raise ValueError("EinsteinMidpointConv(attention=True) needs channels=<coordinates per point>")
        kwargs.setdefault("aggr", EinsteinMidpointAggregation(manifold, weighted=True))
        super().__init__(**kwargs)
        self.manifold = manifold
        self.channels = channels
        self.attention = attention
        self.negative_slope = negative_slope
        if attention:
            self.att_src = Parameter(torch.empty(channels))
            self.att_dst = Parameter(torch.empty(channels))
        else:
            self.register_parameter("att_src", None)
            self.register_parameter("att_dst", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.attention:
            bound = self.channels ** -0.5
            torch.nn.init.uniform_(self.att_src, -bound, bound)
            torch.nn.init.uniform_(self.att_dst, -bound, bound)

    def forward(
        self,
        x: Union[Tensor, OptPairTensor],
        edge_index: Adj,
        edge_weight: OptTensor = None,
        size: Size = None,
        return_attention_weights: Optional[bool] = None,
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, Tensor]]]:
        if isinstance(x, Tensor):
            x = (x, None)
            if size is None:  # one node set, as for any PyG layer given a single tensor
                size = (x[0].size(0), x[0].size(0))
        x_src, x_dst = x
        # PyG fuses message and aggregation only for its own string
        # aggregations, so the fused midpoint is called here directly
        fused = (is_sparse(edge_index) and not self.attention
                 and isinstance(self.aggr_module, EinsteinMidpointAggregation))
        if is_sparse(edge_index):
            if edge_weight is not None:
                raise ValueError("EinsteinMidpointConv: with a sparse adjacency the edge weights "
                                 "are its values; do not also pass edge_weight")
            size = (edge_index.size(1), edge_index.size(0))
            if not fused:  # attention scores each edge: read the edges out of adj_t
                edge_index, edge_weight = to_edge_index(edge_index)
                edge_index = edge_index.flip(0)  # adj_t is (destination, source)
        if size is None and x_dst is None:
            raise ValueError("EinsteinMidpointConv needs size=(num_src, num_dst) "
                             "when no destination points are given")
        weight: OptTensor = None
        if not fused:
            weight = torch.ones(edge_index.size(1), dtype=x_src.dtype, device=x_src.device)
            if edge_weight is not None:
                weight = edge_weight.to(x_src.dtype)
            if self.attention:
                weight = weight * self._attention(x_src, x_dst, edge_index, size)
        if fused:  # one sparse-dense product
            out = self.message_and_aggregate(edge_index, (x_src, x_dst))
        else:
            out = self.propagate(edge_index, x=(x_src, x_dst), weight=weight, size=size)
        if return_attention_weights:
            return out, (edge_index if fused else (edge_index, weight))
        return out

    def _attention(self, x_src: Tensor, x_dst: Optional[Tensor], edge_index: Tensor, size: Size) -> Tensor:
        src, dst = edge_index[0], edge_index[1]
        score = (self.manifold.logmap0(x_src) @ self.att_src)[src]
        if x_dst is not None:
            score = score + (self.manifold.logmap0(x_dst) @ self.att_dst)[dst]
        num_dst = x_dst.size(0) if x_dst is not None else size[1]
        score = F.leaky_relu(score, self.negative_slope)
        return softmax(score, dst, num_nodes=num_dst)

    def message_and_aggregate(self, adj_t: Adj, x: OptPairTensor) -> Tensor:
        # Chamberlain 2019, Eq. 24-25 as one sparse-dense product
        return einstein_midpoint(x[0], manifold=self.manifold, adj=adj_t)

    def message(self, x_j: Tensor, weight: Tensor) -> Tensor:
        # the weighted midpoint aggregation reads the weight from the last channel
        return torch.cat([x_j, weight.unsqueeze(-1)], dim=-1)

    def __repr__(self) -> str:
        head = f"{self.channels}, " if self.channels is not None else ""
        extra = ", attention=True" if self.attention else ""
        return f"{self.__class__.__name__}({head}manifold={self.manifold}{extra})"
