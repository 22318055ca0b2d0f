r"""Pure functions of the Poincaré ball :math:`\{x : c\lVert x\rVert^2 < 1\}`
with curvature :math:`-c` ([Hyper-Know] Eq. 1-2; Ganea et al. 2018)."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from .. import numerics

Curv = Union[float, Tensor]

__all__ = [
    "mobius_add", "lambda_x", "inner", "norm", "dist", "pairwise_dist", "dist0", "projx", "proju",
    "egrad2rgrad", "expmap", "expmap0", "logmap", "logmap0", "gyration", "transp",
]


def _dot(x: Tensor, y: Tensor, dim: int) -> Tensor:
    return (x * y).sum(dim=dim, keepdim=True)


def mobius_add(x: Tensor, y: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Möbius addition

    .. math::
        x \oplus_c y = \frac{(1 + 2c\langle x,y\rangle + c\lVert y\rVert^2)x
        + (1 - c\lVert x\rVert^2) y}{1 + 2c\langle x,y\rangle + c^2\lVert x\rVert^2\lVert y\rVert^2}
    """
    # Hyper-Know, Eq. 2
    x2, y2, xy = _dot(x, x, dim), _dot(y, y, dim), _dot(x, y, dim)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    # den >= (1 - c|x||y|)^2 > 0 inside the ball
    den = 1 + 2 * c * xy + c ** 2 * x2 * y2
    return num / den.clamp_min(numerics.min_norm(x.dtype))


def lambda_x(x: Tensor, *, c: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Conformal factor :math:`\lambda^c_x = 2 / (1 - c\lVert x\rVert^2)`."""
    den = (1 - c * numerics.sq_norm(x, dim, keepdim)).clamp_min(numerics.eps(x.dtype))
    return 2 / den


def inner(x: Tensor, u: Tensor, v: Tensor, *, c: Curv = 1.0, dim: int = -1,
          keepdim: bool = False) -> Tensor:
    r"""Riemannian metric :math:`(\lambda^c_x)^2\langle u, v\rangle`."""
    return lambda_x(x, c=c, dim=dim, keepdim=keepdim) ** 2 * (u * v).sum(dim=dim, keepdim=keepdim)


def norm(x: Tensor, u: Tensor, *, c: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    return lambda_x(x, c=c, dim=dim, keepdim=keepdim) * numerics.norm(u, dim, keepdim)


def dist(x: Tensor, y: Tensor, *, c: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Geodesic distance :math:`\tfrac{2}{\sqrt c}\operatorname{artanh}(\sqrt c\lVert -x \oplus_c y\rVert)`.

    Evaluated as :math:`\tfrac{2}{\sqrt c}\operatorname{arsinh}\sqrt{z}`,
    :math:`z = c\lVert x-y\rVert^2 / ((1-c\lVert x\rVert^2)(1-c\lVert y\rVert^2))`,
    the same function ([Chamberlain 2019] Eq. 2 with curvature :math:`-c`)
    but without ``artanh`` saturating at 1 when both points are near the
    boundary in float32.
    """
    # Hyper-Know, Eq. 1
    e = numerics.eps(x.dtype)
    dx = (1 - c * numerics.sq_norm(x, dim, keepdim)).clamp_min(e)
    dy = (1 - c * numerics.sq_norm(y, dim, keepdim)).clamp_min(e)
    z = c * numerics.sq_norm(x - y, dim, keepdim) / (dx * dy)
    return 2 * torch.asinh(z.clamp_min(numerics.min_norm(x.dtype) ** 2).sqrt()) / c ** 0.5


def pairwise_dist(x: Tensor, y: Tensor, *, c: Curv = 1.0) -> Tensor:
    r""":func:`dist` between all rows of ``x [B, n]`` and ``y [N, n]``, ``[B, N]``,
    with :math:`\lVert x-y\rVert^2` from one matrix product."""
    e = numerics.eps(x.dtype)
    x2, y2 = numerics.sq_norm(x, keepdim=True), numerics.sq_norm(y, keepdim=True).transpose(-1, -2)
    sq = (x2 + y2 - 2 * x @ y.transpose(-1, -2)).clamp_min(0)
    z = c * sq / ((1 - c * x2).clamp_min(e) * (1 - c * y2).clamp_min(e))
    return 2 * torch.asinh(z.clamp_min(numerics.min_norm(x.dtype) ** 2).sqrt()) / c ** 0.5


def dist0(x: Tensor, *, c: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r""":math:`\tfrac{2}{\sqrt c}\operatorname{artanh}(\sqrt c\lVert x\rVert)`."""
    sc = c ** 0.5
    return 2 * numerics.artanh(sc * numerics.norm(x, dim, keepdim)) / sc


def projx(x: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Pull points onto the closed ball of radius :math:`(1-\epsilon)/\sqrt c`."""
    max_norm = (1 - numerics.eps(x.dtype)) / c ** 0.5
    n = numerics.norm(x, dim, keepdim=True)
    return torch.where(n > max_norm, x / n * max_norm, x)


def proju(x: Tensor, u: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    return u  # every tangent space is R^n


def egrad2rgrad(x: Tensor, grad: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Rescale by the inverse metric, :math:`g / (\lambda^c_x)^2`."""
    return grad / lambda_x(x, c=c, dim=dim, keepdim=True) ** 2


def expmap(x: Tensor, u: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`x \oplus_c \big(\tanh(\sqrt c\lambda_x\lVert u\rVert/2)\,u/(\sqrt c\lVert u\rVert)\big)`, projected."""
    sc = c ** 0.5
    n = numerics.norm(u, dim, keepdim=True)
    lam = lambda_x(x, c=c, dim=dim, keepdim=True)
    second = numerics.tanh(sc * lam * n / 2) * u / (sc * n)
    return projx(mobius_add(x, second, c=c, dim=dim), c=c, dim=dim)


def expmap0(u: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`\tanh(\sqrt c\lVert u\rVert)\,u/(\sqrt c\lVert u\rVert)`, projected.

    **Cap.** A tangent vector longer than :math:`\operatorname{artanh}(1-\epsilon)/\sqrt c`
    (:func:`~hypgraph.manifolds.numerics.max_tanh_arg`; 7.25 in float32, 14.2
    in float64, for :math:`c = 1`) is first rescaled to that length, whose
    image lies on the sphere :math:`\sqrt c\lVert x\rVert = 1 - \epsilon` where
    :func:`projx` keeps every point: the result stays strictly inside the
    ball, on the ray of :math:`u`, and its gradient is the rescaled map's (no
    radial part, finite) instead of that of a ``tanh`` rounded to 1.
    """
    sc = c ** 0.5
    u, n = numerics.clip_norm(u, numerics.max_tanh_arg(u.dtype) / sc, dim=dim)
    return projx(numerics.tanh(sc * n) * u / (sc * n), c=c, dim=dim)


def logmap(x: Tensor, y: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`\tfrac{2}{\sqrt c\lambda_x}\operatorname{artanh}(\sqrt c\lVert w\rVert)\,w/\lVert w\rVert`, :math:`w = -x\oplus_c y`."""
    sc = c ** 0.5
    w = mobius_add(-x, y, c=c, dim=dim)
    n = numerics.norm(w, dim, keepdim=True)
    lam = lambda_x(x, c=c, dim=dim, keepdim=True)
    return 2 / (sc * lam) * numerics.artanh(sc * n) * w / n


def logmap0(y: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    sc = c ** 0.5
    n = numerics.norm(y, dim, keepdim=True)
    return numerics.artanh(sc * n) * y / (sc * n)


def gyration(u: Tensor, v: Tensor, w: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Closed form of :math:`\operatorname{gyr}[u, v]w = \ominus(u\oplus v)\oplus(u\oplus(v\oplus w))`."""
    u2, v2, uv = _dot(u, u, dim), _dot(v, v, dim), _dot(u, v, dim)
    uw, vw = _dot(u, w, dim), _dot(v, w, dim)
    c2 = c ** 2
    a = -c2 * uw * v2 + c * vw + 2 * c2 * uv * vw
    b = -c2 * vw * u2 - c * uw
    d = 1 + 2 * c * uv + c2 * u2 * v2
    return w + 2 * (a * u + b * v) / d.clamp_min(numerics.min_norm(u.dtype))


def transp(x: Tensor, y: Tensor, v: Tensor, *, c: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Parallel transport :math:`\frac{\lambda_x}{\lambda_y}\operatorname{gyr}[y, -x]v`."""
    ratio = lambda_x(x, c=c, dim=dim, keepdim=True) / lambda_x(y, c=c, dim=dim, keepdim=True)
    return gyration(y, -x, v, c=c, dim=dim) * ratio
