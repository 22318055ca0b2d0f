r"""The Poincaré ball as a module that owns its curvature."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..base import Curvature, Manifold
from ..lorentz import math as L
from . import math as P

__all__ = ["PoincareBall"]


class PoincareBall(Manifold):
    r"""The Poincaré ball of curvature :math:`-c`, as in `"Knowledge-Enhanced
    Top-K Recommendation in Poincaré Ball" <https://arxiv.org/abs/2101.04852>`_
    (Ma et al., AAAI 2021):

    .. math::
        \mathbb{B}^n_c = \{x \in \mathbb{R}^n : c\lVert x\rVert^2 < 1\},\quad
        g_x = (\lambda^c_x)^2 I,\ \lambda^c_x = \frac{2}{1 - c\lVert x\rVert^2}

    Args:
        c (float): Curvature magnitude (default: ``1.0``).
        learnable (bool): Learn :math:`c`, kept positive by softplus
            (default: ``False``).
    """

    name = "poincare"

    def __init__(self, c: float = 1.0, learnable: bool = False) -> None:
        super().__init__()
        self.curvature = Curvature(c, learnable)

    @property
    def c(self) -> Tensor:
        return self.curvature()

    def extra_repr(self) -> str:
        out = f"c={float(self.c.detach()):.4g}"
        return out + (", learnable=True" if self.curvature.learnable else "")

    def mobius_add(self, x: Tensor, y: Tensor) -> Tensor:
        return P.mobius_add(x, y, c=self._like(x))

    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        return P.inner(x, u, u if v is None else v, c=self._like(x), keepdim=keepdim)

    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.norm(x, u, c=self._like(x), keepdim=keepdim)

    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.dist(x, y, c=self._like(x), keepdim=keepdim)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return P.pairwise_dist(x, y, c=self._like(x))

    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.dist0(x, c=self._like(x), keepdim=keepdim)

    def rank_scores(self, x: Tensor, y: Tensor, kind: str = "distance") -> Tensor:
        # the ball's distance is the hyperboloid distance of the mapped points
        # (Chamberlain 2019, Eq. 4-5), a decreasing function of their
        # Minkowski product: one matrix product
        self.check_score_kind(kind)
        c = self.c.to(x.dtype)
        return L.pairwise_inner(C.poincare_to_lorentz(x, k=c), C.poincare_to_lorentz(y, k=c))

    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        return P.expmap(x, u, c=self._like(x))

    def expmap0(self, u: Tensor) -> Tensor:
        return P.expmap0(u, c=self._like(u))

    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        return P.logmap(x, y, c=self._like(x))

    def logmap0(self, y: Tensor) -> Tensor:
        return P.logmap0(y, c=self._like(y))

    def projx(self, x: Tensor) -> Tensor:
        return P.projx(x, c=self._like(x))

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return P.proju(x, u, c=self._like(x))

    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        return P.egrad2rgrad(x, grad, c=self._like(x))

    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        return P.transp(x, y, v, c=self._like(x))

    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        return torch.zeros(*size, dtype=dtype, device=device)

    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        return C.lorentz_to_klein_homogeneous(C.poincare_to_lorentz(x, k=self._like(x)), k=self._like(x))

    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        lorentz = C.klein_homogeneous_to_lorentz(h, weight_sum, k=self._like(h))
        return C.lorentz_to_poincare(lorentz, k=self._like(h))

    def _check_point(self, x: Tensor, atol: float) -> Optional[str]:
        if (self.c * numerics.sq_norm(x) >= 1).any():
            return "point outside the ball (c * |x|^2 >= 1)"
        return None
