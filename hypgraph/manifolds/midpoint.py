r"""The Einstein midpoint: a closed-form hyperbolic weighted average."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import scatter, segment

from .base import Manifold

__all__ = ["einstein_midpoint"]


def einstein_midpoint(
    x: Tensor,
    weights: Optional[Tensor] = None,
    *,
    manifold: Manifold,
    index: Optional[Tensor] = None,
    ptr: Optional[Tensor] = None,
    dim_size: Optional[int] = None,
) -> Tensor:
    r"""Weighted Einstein midpoint, computed in Klein coordinates with Lorentz
    factors ([Chamberlain 2019] Eq. 24-25; [Hyper-Know] Eq. 5):

    .. math::
        m_K = \frac{\sum_i w_i \gamma_i \kappa_i}{\sum_i w_i \gamma_i},\qquad
        \gamma_i = \frac{1}{\sqrt{1 - c\lVert\kappa_i\rVert^2}}

    Points enter and leave in the coordinates of :obj:`manifold`; the sums are
    taken over homogeneous Klein coordinates :math:`\gamma_i(1, \kappa_i)`
    (:meth:`Manifold.to_klein_homogeneous`), which stay exact for points far
    from the origin. With :class:`Euclidean` all :math:`\gamma_i = 1` and this
    is the weighted mean. Weights must be non-negative; they need not sum to 1.

    Args:
        x (Tensor): Points, shape ``[..., N, D]`` (dense) or ``[N, D]`` (grouped).
        weights (Tensor, optional): Shape ``[..., N]`` or ``[N]`` (default: all 1).
        manifold (Manifold): The model :obj:`x` lives in.
        index (Tensor, optional): Group of each point, shape ``[N]``; returns one
            midpoint per group. Groups with no points (or zero total weight)
            get the manifold's origin.
        ptr (Tensor, optional): Instead of :obj:`index`, CSR boundaries of
            groups of consecutive points, shape ``[G + 1]``.
        dim_size (int, optional): Number of groups (default: ``index.max() + 1``).

    Shapes:
        - dense: ``[..., N, D]`` -> ``[..., D]``
        - grouped: ``[N, D]``, ``index [N]`` -> ``[dim_size, D]``
    """
    h = manifold.to_klein_homogeneous(x)
    if weights is None:
        weights = torch.ones_like(h[..., 0])
    weights = weights.to(h.dtype).unsqueeze(-1)
    # numerator, denominator and total weight in one reduction
    stacked = torch.cat([h * weights, weights], dim=-1)
    if ptr is not None:
        total = segment(stacked, ptr, reduce="sum")
    elif index is not None:
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
        total = scatter(stacked, index, dim=0, dim_size=dim_size, reduce="sum")
    else:
        total = stacked.sum(dim=-2)
    h_sum, w_sum = total[..., :-1], total[..., -1]
    origin = manifold.origin(*h_sum.shape[:-1], x.size(-1), dtype=h_sum.dtype, device=h_sum.device)
    # Empty groups (or zero total weight) get the origin. Feed them the
    # origin's own homogeneous coordinates rather than h = 0, which some
    # models map through 0/0 (Klein): a NaN in the unused branch of
    # torch.where still poisons the backward pass.
    empty = (w_sum <= 0).unsqueeze(-1)
    h_safe = torch.where(empty, manifold.to_klein_homogeneous(origin), h_sum)
    w_safe = torch.where(empty.squeeze(-1), torch.ones_like(w_sum), w_sum)
    out = manifold.from_klein_homogeneous(h_safe, w_safe)
    return torch.where(empty, origin, out)
