r"""The Poincaré ball as a module that owns its curvature."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..base import _C_ALIAS, Curvature, Manifold, _curvature_from_c
from ..lorentz import math as L
from . import math as P

__all__ = ["PoincareBall"]


class PoincareBall(Manifold):
    r"""The Poincaré ball of curvature :math:`-k`, as in `"Knowledge-Enhanced
    Top-K Recommendation in Poincaré Ball" <https://arxiv.org/abs/2101.04852>`_
    (Ma et al., AAAI 2021; the paper writes the curvature :math:`-c`):

    .. math::
        \mathbb{B}^n_k = \{x \in \mathbb{R}^n : k\lVert x\rVert^2 < 1\},\quad
        g_x = (\lambda^k_x)^2 I,\ \lambda^k_x = \frac{2}{1 - k\lVert x\rVert^2}

    Args:
        k (float): Curvature magnitude, named as on every manifold
            (default: ``1.0``). Before 0.2 it was ``c``: ``c=`` and the
            attribute ``.c`` still work for one release with a
            :class:`DeprecationWarning`.
        learnable (bool): Learn :math:`k`, kept positive by softplus
            (default: ``False``).
    """

    name = "poincare"

    def __init__(self, k: float = 1.0, learnable: bool = False, *, c: Optional[float] = None) -> None:
        super().__init__()
        self.curvature = Curvature(_curvature_from_c(k, c, "PoincareBall"), learnable)

    @property
    def k(self) -> Tensor:
        return self.curvature()

    c = _C_ALIAS

    def extra_repr(self) -> str:
        out = f"k={float(self.k.detach()):.4g}"
        return out + (", learnable=True" if self.curvature.learnable else "")

    def mobius_add(self, x: Tensor, y: Tensor) -> Tensor:
        return P.mobius_add(x, y, k=self._like(x))

    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        return P.inner(x, u, u if v is None else v, k=self._like(x), keepdim=keepdim)

    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.norm(x, u, k=self._like(x), keepdim=keepdim)

    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.dist(x, y, k=self._like(x), keepdim=keepdim)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        return P.pairwise_dist(x, y, k=self._like(x))

    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        return P.dist0(x, k=self._like(x), keepdim=keepdim)

    def decay_egrad(self, x: Tensor) -> Tensor:
        return P.decay_egrad(x, k=self._like(x))

    def rank_queries(self, x: Tensor, kind: str = "distance") -> Tensor:
        # the ball's distance is the hyperboloid distance of the mapped points
        # (Chamberlain 2019, Eq. 4-5), a decreasing function of their
        # Minkowski product (Eq. 9, 19): the hyperboloid's query and key
        self.check_score_kind(kind)
        return L.flip_time(C.poincare_to_lorentz(x, k=self._like(x)))

    def rank_keys(self, y: Tensor, kind: str = "distance") -> Tensor:
        # as on the hyperboloid: the height above the origin for the time coordinate
        self.check_score_kind(kind)
        return L.time_offset(C.poincare_to_lorentz(y, k=self._like(y)), k=self._like(y))

    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        return P.expmap(x, u, k=self._like(x))

    def expmap0(self, u: Tensor) -> Tensor:
        return P.expmap0(u, k=self._like(u))

    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        return P.logmap(x, y, k=self._like(x))

    def logmap0(self, y: Tensor) -> Tensor:
        return P.logmap0(y, k=self._like(y))

    def projx(self, x: Tensor) -> Tensor:
        return P.projx(x, k=self._like(x))

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return P.proju(x, u, k=self._like(x))

    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        return P.egrad2rgrad(x, grad, k=self._like(x))

    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        return P.transp(x, y, v, k=self._like(x))

    def geodesic_step(self, x: Tensor, v: Tensor, t) -> Tuple[Tensor, Tensor]:
        return P.geodesic_step(x, v, t, k=self._like(x))

    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        return torch.zeros(*size, dtype=dtype, device=device)

    def to_poincare(self, x: Tensor) -> Tensor:
        return x

    def to_lorentz(self, x: Tensor) -> Tensor:
        return C.poincare_to_lorentz(x, k=self._like(x))

    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        return C.lorentz_to_klein_homogeneous(C.poincare_to_lorentz(x, k=self._like(x)), k=self._like(x))

    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        lorentz = C.klein_homogeneous_to_lorentz(h, weight_sum, k=self._like(h))
        return C.lorentz_to_poincare(lorentz, k=self._like(h))

    def _check_point(self, x: Tensor, atol: float) -> Optional[str]:
        if (self.k * numerics.sq_norm(x) >= 1).any():
            return "point outside the ball (k * |x|^2 >= 1)"
        return None
