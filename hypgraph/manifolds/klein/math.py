r"""Pure functions of the Klein (Beltrami–Klein) ball
:math:`\{\kappa : k\lVert\kappa\rVert^2 < 1\}` with curvature :math:`-k`
([Chamberlain 2019] Eq. 3-5).

The Klein model is not conformal; its metric is
:math:`g_\kappa = I/s + k\,\kappa\kappa^\top/s^2`, :math:`s = 1 - k\lVert\kappa\rVert^2`.
Maps act through the hyperboloid: tangent vectors are pushed forward along
Eq. 5 and pulled back along Eq. 4, so there is one implementation of
exp/log/transport, the hyperboloid's. The curvature keyword is ``k`` as on
every manifold; ``c=`` still works for one release with a DeprecationWarning.
"""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from .. import conversions as C
from .. import numerics
from ..base import _accepts_c
from ..lorentz import math as L
from ..poincare import math as P

Curv = Union[float, Tensor]

__all__ = [
    "lorentz_factor", "inner", "norm", "dist", "dist0", "decay_egrad", "projx", "proju", "egrad2rgrad",
    "expmap", "expmap0", "logmap", "logmap0", "transp", "pushforward", "pullback",
]


def _s(kappa: Tensor, k: Curv) -> Tensor:
    return (1 - k * numerics.sq_norm(kappa, keepdim=True)).clamp_min(numerics.eps(kappa.dtype))


@_accepts_c
def lorentz_factor(kappa: Tensor, *, k: Curv = 1.0, keepdim: bool = False) -> Tensor:
    r""":math:`\gamma_\kappa = 1/\sqrt{1 - k\lVert\kappa\rVert^2}` (Hyper-Know Eq. 5;
    [Chamberlain 2019] Eq. 25 prints it without the square root)."""
    out = _s(kappa, k).rsqrt()
    return out if keepdim else out.squeeze(-1)


@_accepts_c
def pushforward(kappa: Tensor, u: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""Differential of Klein :math:`\to` hyperboloid (Eq. 5) at :math:`\kappa` applied to :math:`u`."""
    sk, s = k ** 0.5, _s(kappa, k)
    a = s.rsqrt() / sk
    b = k * numerics.dot(kappa, u, keepdim=True) * s.pow(-1.5) / sk
    return torch.cat([b, sk * (a * u + b * kappa)], dim=-1)


@_accepts_c
def pullback(x: Tensor, v: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""Differential of hyperboloid :math:`\to` Klein (Eq. 4) at :math:`x` applied to :math:`v`."""
    sk = k ** 0.5
    x0, xs = x[..., :1], x[..., 1:]
    return (v[..., 1:] * x0 - xs * v[..., :1]) / (sk * x0 * x0)


@_accepts_c
def inner(kappa: Tensor, u: Tensor, v: Tensor, *, k: Curv = 1.0, keepdim: bool = False) -> Tensor:
    s = _s(kappa, k)
    ku, kv = numerics.dot(kappa, u, keepdim=True), numerics.dot(kappa, v, keepdim=True)
    out = numerics.dot(u, v, keepdim=True) / s + k * ku * kv / (s * s)
    return out if keepdim else out.squeeze(-1)


@_accepts_c
def norm(kappa: Tensor, u: Tensor, *, k: Curv = 1.0, keepdim: bool = False) -> Tensor:
    sq = inner(kappa, u, u, k=k, keepdim=keepdim)
    return sq.clamp_min(numerics.min_norm(u.dtype) ** 2).sqrt()


@_accepts_c
def dist(x: Tensor, y: Tensor, *, k: Curv = 1.0, keepdim: bool = False) -> Tensor:
    # through the Poincaré ball, whose formula is accurate at both ends
    return P.dist(C.klein_to_poincare(x, k=k), C.klein_to_poincare(y, k=k), k=k, keepdim=keepdim)


@_accepts_c
def dist0(x: Tensor, *, k: Curv = 1.0, keepdim: bool = False) -> Tensor:
    r""":math:`\operatorname{artanh}(\sqrt k\lVert\kappa\rVert)/\sqrt k`."""
    sk = k ** 0.5
    return numerics.artanh(sk * numerics.norm(x, keepdim=keepdim)) / sk


@_accepts_c
def decay_egrad(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""The Euclidean gradient of :math:`\tfrac12 d(0, \kappa)^2` (:func:`dist0`):
    with :math:`a = \sqrt k\lVert\kappa\rVert`,
    :math:`\frac{\operatorname{artanh}a}{a}\,\frac{\kappa}{1 - a^2}`."""
    a = k ** 0.5 * numerics.norm(x, keepdim=True)
    return numerics.artanh(a) / a / (1 - a.square()) * x


@_accepts_c
def projx(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    return P.projx(x, k=k)


@_accepts_c
def proju(x: Tensor, u: Tensor, *, k: Curv = 1.0) -> Tensor:
    return u


@_accepts_c
def egrad2rgrad(x: Tensor, grad: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""Inverse metric by Sherman–Morrison: :math:`g_\kappa^{-1} = s\,(I - k\,\kappa\kappa^\top)`."""
    return _s(x, k) * (grad - k * x * numerics.dot(x, grad, keepdim=True))


@_accepts_c
def expmap(x: Tensor, u: Tensor, *, k: Curv = 1.0) -> Tensor:
    xl = C.klein_to_lorentz(x, k=k)
    yl = L.expmap(xl, pushforward(x, u, k=k), k=k)
    return projx(C.lorentz_to_klein(yl, k=k), k=k)


@_accepts_c
def expmap0(u: Tensor, *, k: Curv = 1.0) -> Tensor:
    # the tangent length capped where tanh reaches the ball's margin, as in
    # the Poincaré ball (poincare.math.expmap0)
    sk = k ** 0.5
    u, n = numerics.clip_norm(u, numerics.max_tanh_arg(u.dtype) / sk)
    return projx(numerics.tanh(sk * n) * u / (sk * n), k=k)


@_accepts_c
def logmap(x: Tensor, y: Tensor, *, k: Curv = 1.0) -> Tensor:
    xl = C.klein_to_lorentz(x, k=k)
    return pullback(xl, L.logmap(xl, C.klein_to_lorentz(y, k=k), k=k), k=k)


@_accepts_c
def logmap0(y: Tensor, *, k: Curv = 1.0) -> Tensor:
    sk = k ** 0.5
    n = numerics.norm(y, keepdim=True)
    return numerics.artanh(sk * n) * y / (sk * n)


@_accepts_c
def transp(x: Tensor, y: Tensor, v: Tensor, *, k: Curv = 1.0) -> Tensor:
    xl, yl = C.klein_to_lorentz(x, k=k), C.klein_to_lorentz(y, k=k)
    return pullback(yl, L.transp(xl, yl, pushforward(x, v, k=k), k=k), k=k)
