r"""The Klein model as a module that owns its curvature."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..base import _C_ALIAS, Curvature, Manifold, _curvature_from_c
from ..poincare import math as P
from . import math as K

__all__ = ["Klein"]


class Klein(Manifold):
    r"""The Beltrami–Klein model of curvature :math:`-k` ([Chamberlain 2019]
    §3.1.2): the ball :math:`k\lVert\kappa\rVert^2 < 1` in which geodesics are
    straight chords and the Einstein midpoint is a weighted average
    (Eq. 24-25).

    Args:
        k (float): Curvature magnitude, named as on every manifold
            (default: ``1.0``). Before 0.2 it was ``c``: ``c=`` and the
            attribute ``.c`` still work for one release with a
            :class:`DeprecationWarning`.
        learnable (bool): Learn :math:`k` (default: ``False``).
    """

    name = "klein"

    def __init__(self, k: float = 1.0, learnable: bool = False, *, c: Optional[float] = None) -> None:
        super().__init__()
        self.curvature = Curvature(_curvature_from_c(k, c, "Klein"), learnable)

    @property
    def k(self) -> Tensor:
        return self.curvature()

    c = _C_ALIAS

    def extra_repr(self) -> str:
        out = f"k={float(self.k.detach()):.4g}"
        return out + (", learnable=True" if self.curvature.learnable else "")

    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        return K.inner(x, u, u if v is None else v, k=self._like(x), keepdim=keepdim)

    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        return K.norm(x, u, k=self._like(x), keepdim=keepdim)

    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        return K.dist(x, y, k=self._like(x), keepdim=keepdim)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        k = self._like(x)
        return P.pairwise_dist(C.klein_to_poincare(x, k=k), C.klein_to_poincare(y, k=k), k=k)

    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        return K.dist0(x, k=self._like(x), keepdim=keepdim)

    def decay_egrad(self, x: Tensor) -> Tensor:
        return K.decay_egrad(x, k=self._like(x))

    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        return K.expmap(x, u, k=self._like(x))

    def expmap0(self, u: Tensor) -> Tensor:
        return K.expmap0(u, k=self._like(u))

    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        return K.logmap(x, y, k=self._like(x))

    def logmap0(self, y: Tensor) -> Tensor:
        return K.logmap0(y, k=self._like(y))

    def projx(self, x: Tensor) -> Tensor:
        return K.projx(x, k=self._like(x))

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return K.proju(x, u, k=self._like(x))

    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        return K.egrad2rgrad(x, grad, k=self._like(x))

    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        return K.transp(x, y, v, k=self._like(x))

    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        return torch.zeros(*size, dtype=dtype, device=device)

    def to_poincare(self, x: Tensor) -> Tensor:
        return C.klein_to_poincare(x, k=self._like(x))

    def to_lorentz(self, x: Tensor) -> Tensor:
        return C.klein_to_lorentz(x, k=self._like(x))

    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        gamma = K.lorentz_factor(x, k=self._like(x), keepdim=True)  # Hyper-Know, Eq. 5
        return torch.cat([gamma, gamma * x], dim=-1)

    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        lorentz = C.klein_homogeneous_to_lorentz(h, weight_sum, k=self._like(h))
        return C.lorentz_to_klein(lorentz, k=self._like(h))

    def _check_point(self, x: Tensor, atol: float) -> Optional[str]:
        if (self.k * numerics.sq_norm(x) >= 1).any():
            return "point outside the ball (k * |kappa|^2 >= 1)"
        return None
