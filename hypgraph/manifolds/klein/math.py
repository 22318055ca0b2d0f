r"""Pure functions of the Klein (Beltrami–Klein) ball
:math:`\{\kappa : c\lVert\kappa\rVert^2 < 1\}` with curvature :math:`-c`
([Chamberlain 2019] Eq. 3-5).

The Klein model is not conformal; its metric is
:math:`g_\kappa = I/s + c\,\kappa\kappa^\top/s^2`, :math:`s = 1 - c\lVert\kappa\rVert^2`.
Maps act through the hyperboloid: tangent vectors are pushed forward along
Eq. 5 and pulled back along Eq. 4, so there is one implementation of
exp/log/transport, the hyperboloid's.
"""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..lorentz import math as L
from ..poincare import math as P

Curv = Union[float, Tensor]

__all__ = [
    "lorentz_factor", "inner", "norm", "dist", "dist0", "projx", "proju", "egrad2rgrad",
    "expmap", "expmap0", "logmap", "logmap0", "transp", "pushforward", "pullback",
]


def _s(kappa: Tensor, c: Curv) -> Tensor:
    return (1 - c * numerics.sq_norm(kappa, keepdim=True)).clamp_min(numerics.eps(kappa.dtype))


def _dot(x: Tensor, y: Tensor) -> Tensor:
    return (x * y).sum(-1, keepdim=True)


def lorentz_factor(kappa: Tensor, *, c: Curv = 1.0, keepdim: bool = False) -> Tensor:
    r""":math:`\gamma_\kappa = 1/\sqrt{1 - c\lVert\kappa\rVert^2}` (Hyper-Know Eq. 5;
    [Chamberlain 2019] Eq. 25 prints it without the square root)."""
    out = _s(kappa, c).rsqrt()
    return out if keepdim else out.squeeze(-1)


def pushforward(kappa: Tensor, u: Tensor, *, c: Curv = 1.0) -> Tensor:
    r"""Differential of Klein :math:`\to` hyperboloid (Eq. 5) at :math:`\kappa` applied to :math:`u`."""
    sc, s = c ** 0.5, _s(kappa, c)
    a = s.rsqrt() / sc
    b = c * _dot(kappa, u) * s.pow(-1.5) / sc
    return torch.cat([b, sc * (a * u + b * kappa)], dim=-1)


def pullback(x: Tensor, v: Tensor, *, c: Curv = 1.0) -> Tensor:
    r"""Differential of hyperboloid :math:`\to` Klein (Eq. 4) at :math:`x` applied to :math:`v`."""
    sc = c ** 0.5
    x0, xs = x[..., :1], x[..., 1:]
    return (v[..., 1:] * x0 - xs * v[..., :1]) / (sc * x0 * x0)


def inner(kappa: Tensor, u: Tensor, v: Tensor, *, c: Curv = 1.0, keepdim: bool = False) -> Tensor:
    s = _s(kappa, c)
    out = _dot(u, v) / s + c * _dot(kappa, u) * _dot(kappa, v) / (s * s)
    return out if keepdim else out.squeeze(-1)


def norm(kappa: Tensor, u: Tensor, *, c: Curv = 1.0, keepdim: bool = False) -> Tensor:
    sq = inner(kappa, u, u, c=c, keepdim=keepdim)
    return sq.clamp_min(numerics.min_norm(u.dtype) ** 2).sqrt()


def dist(x: Tensor, y: Tensor, *, c: Curv = 1.0, keepdim: bool = False) -> Tensor:
    # through the Poincaré ball, whose formula is accurate at both ends
    return P.dist(C.klein_to_poincare(x, k=c), C.klein_to_poincare(y, k=c), c=c, keepdim=keepdim)


def dist0(x: Tensor, *, c: Curv = 1.0, keepdim: bool = False) -> Tensor:
    r""":math:`\operatorname{artanh}(\sqrt c\lVert\kappa\rVert)/\sqrt c`."""
    sc = c ** 0.5
    return numerics.artanh(sc * numerics.norm(x, keepdim=keepdim)) / sc


def projx(x: Tensor, *, c: Curv = 1.0) -> Tensor:
    return P.projx(x, c=c)


def proju(x: Tensor, u: Tensor, *, c: Curv = 1.0) -> Tensor:
    return u


def egrad2rgrad(x: Tensor, grad: Tensor, *, c: Curv = 1.0) -> Tensor:
    r"""Inverse metric by Sherman–Morrison: :math:`g_\kappa^{-1} = s\,(I - c\,\kappa\kappa^\top)`."""
    return _s(x, c) * (grad - c * x * _dot(x, grad))


def expmap(x: Tensor, u: Tensor, *, c: Curv = 1.0) -> Tensor:
    xl = C.klein_to_lorentz(x, k=c)
    yl = L.expmap(xl, pushforward(x, u, c=c), k=c)
    return projx(C.lorentz_to_klein(yl, k=c), c=c)


def expmap0(u: Tensor, *, c: Curv = 1.0) -> Tensor:
    # the tangent length capped where tanh reaches the ball's margin, as in
    # the Poincaré ball (poincare.math.expmap0)
    sc = c ** 0.5
    u, n = numerics.clip_norm(u, numerics.max_tanh_arg(u.dtype) / sc)
    return projx(numerics.tanh(sc * n) * u / (sc * n), c=c)


def logmap(x: Tensor, y: Tensor, *, c: Curv = 1.0) -> Tensor:
    xl = C.klein_to_lorentz(x, k=c)
    return pullback(xl, L.logmap(xl, C.klein_to_lorentz(y, k=c), k=c), c=c)


def logmap0(y: Tensor, *, c: Curv = 1.0) -> Tensor:
    sc = c ** 0.5
    n = numerics.norm(y, keepdim=True)
    return numerics.artanh(sc * n) * y / (sc * n)


def transp(x: Tensor, y: Tensor, v: Tensor, *, c: Curv = 1.0) -> Tensor:
    xl, yl = C.klein_to_lorentz(x, k=c), C.klein_to_lorentz(y, k=c)
    return pullback(yl, L.transp(xl, yl, pushforward(x, v, c=c), k=c), c=c)
