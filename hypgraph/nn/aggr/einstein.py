r"""Einstein-midpoint aggregation: the hyperbolic counterpart of mean aggregation."""
from __future__ import annotations

from typing import Optional

from torch import Tensor
from torch_geometric.nn.aggr import Aggregation

from ...manifolds import Manifold, einstein_midpoint

__all__ = ["EinsteinMidpointAggregation"]


class EinsteinMidpointAggregation(Aggregation):
    r"""Aggregates messages that are points of a manifold into their weighted
    Einstein midpoint, from `"Scalable Hyperbolic Recommender Systems"
    <https://arxiv.org/abs/1902.08648>`_ (Eq. 24-25) and `"Hyperbolic
    Attention Networks" <https://arxiv.org/abs/1805.09786>`_:

    .. math::
        \mathbf{m}_i = f_{K\to\mathcal{M}}\left(
        \frac{\sum_{j \in \mathcal{N}(i)} w_{ji}\gamma_j\,\kappa_j}
             {\sum_{j \in \mathcal{N}(i)} w_{ji}\gamma_j}\right),\qquad
        \gamma_j = \frac{1}{\sqrt{1 - c\lVert\kappa_j\rVert^2}}

    where :math:`\kappa_j` are the Klein coordinates of message :math:`j`.
    With :class:`~hypgraph.manifolds.Euclidean` it is the weighted mean.
    Nodes without messages (or with zero total weight) get the manifold's
    origin.

    Use it as ``aggr=`` of any :class:`~torch_geometric.nn.conv.MessagePassing`.
    Per-message weights (e.g. attention) reach it in one of two ways: pass
    ``weight=`` when calling it directly, or, inside ``aggr=`` where PyG
    passes only the messages, construct it with ``weighted=True`` and append
    the (non-negative) weight as the last channel of each message.

    Args:
        manifold (Manifold): The model the messages live in.
        weighted (bool): Read per-message weights from the last channel
            (default: ``False``).

    Shapes:
        - **input:** messages :math:`(E, D)` (or :math:`(E, D + 1)` with
          ``weighted=True``), index :math:`(E)`
        - **output:** :math:`(N, D)`
    """

    def __init__(self, manifold: Manifold, weighted: bool = False) -> None:
        super().__init__()
        self.manifold = manifold
        self.weighted = weighted

    def forward(self, x: Tensor, index: Optional[Tensor] = None, ptr: Optional[Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2,
                weight: Optional[Tensor] = None) -> Tensor:
        self.assert_two_dimensional_input(x, dim)
        if self.weighted:
            if weight is not None:
                raise ValueError("weights come from the last channel when weighted=True; "
                                 "do not also pass weight=")
            x, weight = x[..., :-1], x[..., -1]
        return einstein_midpoint(x, weight, manifold=self.manifold, index=index, ptr=ptr,
                                 dim_size=dim_size)

    def __repr__(self) -> str:
        extra = ", weighted=True" if self.weighted else ""
        return f"{self.__class__.__name__}({self.manifold}{extra})"
