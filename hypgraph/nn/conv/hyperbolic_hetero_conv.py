r"""HeteroConv whose per-destination results are combined on the manifold."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import Tensor
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.typing import EdgeType, NodeType
from torch_geometric.utils import is_sparse, to_edge_index

from ...manifolds import Manifold, einstein_midpoint

__all__ = ["HyperbolicHeteroConv"]


def _has_incoming(edge_index: Tensor, num_dst: int) -> Tensor:
    # [num_dst] bool: the destination has an edge of this type; edge_index is
    # [2, E] (source, destination) or a sparse adj_t [num_dst, num_src]
    if is_sparse(edge_index):
        if isinstance(edge_index, Tensor) and edge_index.layout == torch.sparse_csr:
            return edge_index.crow_indices().diff() > 0
        edge_index, _ = to_edge_index(edge_index)
        dst = edge_index[0]  # rows of adj_t
    else:
        dst = edge_index[1]
    return torch.zeros(num_dst, dtype=torch.bool, device=dst.device).index_fill(0, dst, True)


class HyperbolicHeteroConv(torch.nn.Module):
    r"""A wrapper like :class:`torch_geometric.nn.conv.HeteroConv` that runs
    one convolution per edge type, but combines the results that reach the
    same destination type by their Einstein midpoint instead of a Euclidean
    sum or mean — which would leave the manifold:

    .. math::
        \mathbf{x}_i^{\text{dst}} = \operatorname{midpoint}_{\mathcal{M}}
        \big(\{\mathrm{conv}_r(\mathbf{x}^{\text{src}_r}, \mathbf{x}^{\text{dst}})_i :
        r \text{ with an edge into } i\}\big)

    An edge type contributes to a node only if the node has at least one
    incoming edge of that type (an edge list, or a sparse ``adj_t`` of shape
    ``[num_dst, num_src]`` whose row is not empty) (a convolution's output for an isolated node is
    a placeholder, typically the origin, not information).

    Args:
        convs (Dict[Tuple[str, str, str], MessagePassing]): A convolution per
            edge type; each is called as ``conv((x_src, x_dst), edge_index,
            **kwargs)`` (or ``conv(x, edge_index, ...)`` when source and
            destination types coincide).
        manifold (Manifold): The model every output point lives in.

    Shapes:
        - **input:** ``x_dict`` of points per node type, ``edge_index_dict``
          per edge type, and per-edge-type keyword arguments passed as
          ``<name>_dict`` (PyG's convention)
        - **output:** ``Dict[node type, points]`` for every destination type
    """

    def __init__(self, convs: Dict[EdgeType, MessagePassing], manifold: Manifold) -> None:
        super().__init__()
        for edge_type in convs:
            if not (isinstance(edge_type, tuple) and len(edge_type) == 3):
                raise ValueError(f"keys of convs must be (src, rel, dst) tuples, got {edge_type!r}")
        self.convs = torch.nn.ModuleDict({"__".join(k): v for k, v in convs.items()})
        self.edge_types: List[EdgeType] = list(convs)
        self.manifold = manifold

    def reset_parameters(self) -> None:
        for conv in self.convs.values():
            conv.reset_parameters()

    def forward(self, x_dict: Dict[NodeType, Tensor], edge_index_dict: Dict[EdgeType, Tensor],
                **kwargs_dict) -> Dict[NodeType, Tensor]:
        outs: Dict[NodeType, List[Tensor]] = {}
        present: Dict[NodeType, List[Tensor]] = {}
        for edge_type in self.edge_types:
            if edge_type not in edge_index_dict:
                continue
            src, _, dst = edge_type
            edge_index = edge_index_dict[edge_type]
            conv = self.convs["__".join(edge_type)]
            kwargs = {}
            for key, value in kwargs_dict.items():
                if key.endswith("_dict") and edge_type in value:
                    kwargs[key[:-5]] = value[edge_type]
            x = x_dict[src] if src == dst else (x_dict[src], x_dict.get(dst))
            if dst not in x_dict:
                raise ValueError(f"x_dict has no points for destination node type '{dst}' "
                                 f"of edge type {edge_type}")
            size = (x_dict[src].size(0), x_dict[dst].size(0))
            out = conv(x, edge_index, size=size, **kwargs) if src != dst else conv(x, edge_index, **kwargs)
            has_edge = _has_incoming(edge_index, size[1]).to(out.dtype)
            outs.setdefault(dst, []).append(out)
            present.setdefault(dst, []).append(has_edge)
        return {dst: self._combine(outs[dst], present[dst]) for dst in outs}

    def _combine(self, outs: List[Tensor], present: List[Tensor]) -> Tensor:
        if len(outs) == 1:
            return outs[0]
        stacked = torch.stack(outs, dim=-2)       # [N, R, D]
        weights = torch.stack(present, dim=-1)    # [N, R]
        return einstein_midpoint(stacked, weights, manifold=self.manifold)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_relations={len(self.convs)}, manifold={self.manifold})"
