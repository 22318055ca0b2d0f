r"""Flat space with the manifold interface: every ablation is one argument."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import numerics
from ..base import Manifold

__all__ = ["Euclidean"]


class Euclidean(Manifold):
    r"""Euclidean space :math:`\mathbb{R}^n` behind the same interface as the
    hyperbolic models: ``expmap(x, u) = x + u``, the Einstein midpoint becomes
    the weighted mean (all Lorentz factors are 1), and
    :class:`~hypgraph.optim.RiemannianSGD` becomes plain SGD."""

    name = "euclidean"
    is_flat = True

    def mobius_add(self, x: Tensor, y: Tensor) -> Tensor:
        return x + y

    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        return (u * (u if v is None else v)).sum(-1, keepdim=keepdim)

    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        return numerics.norm(u, keepdim=keepdim)

    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        return numerics.norm(x - y, keepdim=keepdim)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        sq = numerics.sq_norm(x, keepdim=True) + numerics.sq_norm(y, keepdim=True).transpose(-1, -2) - 2 * x @ y.transpose(-1, -2)
        return sq.clamp_min(numerics.min_norm(x.dtype) ** 2).sqrt()

    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        return numerics.norm(x, keepdim=keepdim)

    score_kinds = ("distance", "sqdist", "inner")

    def point_inner(self, x: Tensor, y: Tensor) -> Tensor:
        return (x * y).sum(-1)

    def pairwise_inner(self, x: Tensor, y: Tensor) -> Tensor:
        return x @ y.transpose(-1, -2)

    def rank_queries(self, x: Tensor, kind: str = "distance") -> Tensor:
        # -|x - y|^2 = 2<x, y> - |y|^2 - |x|^2, the last term the same for a
        # row: (2x, 1) . (y, -|y|^2) ranks as the distance does
        self.check_score_kind(kind)
        return x if kind == "inner" else torch.cat([2 * x, torch.ones_like(x[..., :1])], dim=-1)

    def rank_keys(self, y: Tensor, kind: str = "distance") -> Tensor:
        self.check_score_kind(kind)
        return y if kind == "inner" else torch.cat([y, -numerics.sq_norm(y, keepdim=True)], dim=-1)

    def decay_egrad(self, x: Tensor) -> Tensor:
        return x  # the L2 penalty's gradient

    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        return x + u

    def expmap0(self, u: Tensor) -> Tensor:
        return u

    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        return y - x

    def logmap0(self, y: Tensor) -> Tensor:
        return y

    def projx(self, x: Tensor) -> Tensor:
        return x

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return u

    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        return grad

    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        return v

    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        return torch.zeros(*size, dtype=dtype, device=device)

    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(x[..., :1]), x], dim=-1)

    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        return h[..., 1:] / h[..., :1].clamp_min(numerics.min_norm(h.dtype))
