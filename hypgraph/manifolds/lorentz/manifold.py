r"""The hyperboloid model as a module that owns its curvature."""
from __future__ import annotations

from typing import Optional, Tuple

from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..base import Curvature, Manifold
from . import math as L
from . import steps as S

__all__ = ["Lorentz"]


class Lorentz(Manifold):
    r"""The hyperboloid (Lorentz) model of hyperbolic space with curvature
    :math:`-k`, from `"Scalable Hyperbolic Recommender Systems"
    <https://arxiv.org/abs/1902.08648>`_ (Chamberlain et al., 2019, §3.1.3):

    .. math::
        \mathcal{H}^n_k = \{x \in \mathbb{R}^{n+1} :
        \langle x, x\rangle_{\mathcal L} = -1/k,\ x_0 > 0\}

    Args:
        k (float): Curvature magnitude (default: ``1.0``).
        learnable (bool): Learn :math:`k`, kept positive by softplus
            (default: ``False``).
        margin (float): The :math:`\epsilon` of Eq. 19 added inside the
            distance (default: ``0.0``; the recommender uses ``1e-6``).
    """

    name = "lorentz"
    extra_dims = 1

    def __init__(self, k: float = 1.0, learnable: bool = False, margin: float = 0.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.curvature = Curvature(k, learnable)
        self.margin = float(margin)

    @property
    def k(self) -> Tensor:
        return self.curvature()

    def extra_repr(self) -> str:
        out = f"k={float(self.k.detach()):.4g}"
        if self.curvature.learnable:
            out += ", learnable=True"
        if self.margin:
            out += f", margin={self.margin:g}"
        return out

    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        return L.inner(u, u if v is None else v, keepdim=keepdim)

    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        return L.tangent_norm(x, u, k=self._like(x), keepdim=keepdim)

    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        return L.dist(x, y, k=self._like(x), margin=self.margin, keepdim=keepdim)

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        # the Minkowski inner product is a bilinear form: one matmul
        k = self._like(x)
        arg = -k * L.pairwise_inner(x, y) + self.margin  # Chamberlain 2019, Eq. 19
        return numerics.arcosh(arg) / k ** 0.5

    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        return L.dist0(x, k=self._like(x), keepdim=keepdim)

    def decay_egrad(self, x: Tensor) -> Tensor:
        return L.decay_egrad(x, k=self._like(x))

    score_kinds = ("distance", "sqdist", "inner")

    def point_inner(self, x: Tensor, y: Tensor) -> Tensor:
        # Chamberlain 2019, Eq. 7 (the score of §5.2)
        return L.inner(x, y)

    def pairwise_inner(self, x: Tensor, y: Tensor) -> Tensor:
        return L.pairwise_inner(x, y)  # Chamberlain 2019, Eq. 7, one matrix product

    def rank_queries(self, x: Tensor, kind: str = "distance") -> Tensor:
        # d = arcosh(-k<x,y>_L + margin) / sqrt(k) decreases in <x,y>_L
        # (Chamberlain 2019, Eq. 9, 19), so every score kind ranks by it, and
        # <x,y>_L = -x0 y0 + sum xi yi (Eq. 7) is x's time-flipped copy dotted with y
        self.check_score_kind(kind)
        return L.flip_time(x)

    def rank_keys(self, y: Tensor, kind: str = "distance") -> Tensor:
        # y0 - 1/sqrt(k) in place of y0: the product shifted by x0/sqrt(k) per
        # query, the same order, without float32 cancellation near the origin
        self.check_score_kind(kind)
        return L.time_offset(y, k=self._like(y))

    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        return L.expmap(x, u, k=self._like(x))

    def expmap0(self, u: Tensor) -> Tensor:
        return L.expmap0(u, k=self._like(u))

    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        return L.logmap(x, y, k=self._like(x))

    def logmap0(self, y: Tensor) -> Tensor:
        return L.logmap0(y, k=self._like(y))

    def logmap0_coords(self, y: Tensor) -> Tensor:
        return L.logmap0_space(y, k=self._like(y))

    def expmap0_coords(self, v: Tensor) -> Tensor:
        return L.expmap0_coords(v, k=self._like(v))

    def projx(self, x: Tensor) -> Tensor:
        return L.projx(x, k=self._like(x))

    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        return L.proju(x, u, k=self._like(x))

    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        return L.egrad2rgrad(x, grad, k=self._like(x))

    def egrad2rgrad_sq_norm(self, x: Tensor, grad: Tensor) -> Tuple[Tensor, Tensor]:
        return S.egrad2rgrad_sq_norm(x, grad, k=self._like(x))

    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        return L.transp(x, y, v, k=self._like(x))

    def expmap_transp(self, x: Tensor, u: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
        return S.expmap_transp(x, u, v, k=self._like(x))

    def geodesic_step(self, x: Tensor, v: Tensor, t) -> Tuple[Tensor, Tensor]:
        return S.geodesic_step(x, v, t, k=self._like(x))

    def geodesic_step_(self, x: Tensor, v: Tensor, t) -> None:
        S.geodesic_step_(x, v, t, k=self._like(x))

    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        return L.origin(*size, k=self.k, dtype=dtype, device=device)

    def to_poincare(self, x: Tensor) -> Tensor:
        return C.lorentz_to_poincare(x, k=self._like(x))

    def to_lorentz(self, x: Tensor) -> Tensor:
        return x

    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        return C.lorentz_to_klein_homogeneous(x, k=self._like(x))

    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        return C.klein_homogeneous_to_lorentz(h, weight_sum, k=self._like(h))

    def from_klein_homogeneous_log0(self, h: Tensor, weight_sum: Tensor) -> Tuple[Tensor, Tensor]:
        return L.from_klein_homogeneous_log0(h, weight_sum, k=self._like(h))

    def _check_point(self, x: Tensor, atol: float) -> Optional[str]:
        k = self.k
        err = (L.inner(x, x) + 1.0 / k).abs() * k
        if (err > atol * x[..., 0].abs().clamp_min(1) ** 2).any():
            return f"<x, x>_L != -1/k (largest relative error {float(err.max()):.3g})"
        if (x[..., 0] <= 0).any():
            return "x_0 <= 0: point on the lower sheet"
        return None
