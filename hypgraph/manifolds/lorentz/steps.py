r"""The hyperboloid's fused optimiser steps: an exponential map and the
parallel transport of a moment along it, sharing their work
(:func:`expmap_transp`, :func:`geodesic_step`), the in-place form the
Riemannian optimisers use on their own tables (:func:`geodesic_step_`), and
the Riemannian gradient together with its norm (:func:`egrad2rgrad_sq_norm`).
Each is :func:`~hypgraph.manifolds.lorentz.math.expmap` followed by
:func:`~hypgraph.manifolds.lorentz.math.transp`, rewritten with the inner
products known in closed form on the geodesic ([Chamberlain 2019] Eq. 12).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import numerics
from .math import Curv, _geodesic, _max_sq_space, _rgrad, _scaled, _space, _time, inner, projx, tangent_norm

__all__ = ["egrad2rgrad_sq_norm", "expmap_transp", "geodesic_step", "geodesic_step_"]


def egrad2rgrad_sq_norm(x: Tensor, grad: Tensor, *, k: Curv = 1.0, dim: int = -1):
    r"""``(h, <h, h>_L)`` (keepdim): the Riemannian gradient
    :math:`h = g^{-1}\nabla + k\,(x\cdot\nabla)\,x` of
    :func:`~hypgraph.manifolds.lorentz.math.egrad2rgrad` ([Chamberlain 2019]
    Eq. 20-21) and its squared norm, sharing their work.

    With :math:`\rho = \lVert x_{1:}\rVert`, :math:`q = \langle x_{1:}, \nabla_{1:}\rangle`
    and :math:`\hat x = x_{1:}/\rho`, the space part of :math:`h` is
    :math:`\nabla_{1:} + k(x_0\nabla_0 + q)\,x_{1:}`, whose component across
    :math:`\hat x` is that of :math:`\nabla_{1:}` itself, and
    :math:`\langle x_{1:}, h_{1:}\rangle = k x_0 (x_0 q + \rho^2\nabla_0)`
    (from :math:`1 + k\rho^2 = k x_0^2`). The cancellation-free form of
    :func:`~hypgraph.manifolds.lorentz.math.tangent_norm` becomes

    .. math::
        \langle h, h\rangle_{\mathcal L} = \big\lVert \nabla_{1:} - \tfrac{q}{\rho^2}x_{1:}\big\rVert^2
            + k\Big(x_0\frac{q}{\rho} + \rho\,\nabla_0\Big)^2,

    two non-negative terms sharing the Riemannian gradient's passes.
    Where the squares overflow (float32 points near :func:`projx`'s cap with
    large gradients) the norm is not finite and callers fall back to
    :func:`tangent_norm`, which scales first.
    """
    xs, gs, x0, g0 = _space(x, dim), _space(grad, dim), _time(x, dim), _time(grad, dim)
    q = numerics.dot(xs, gs, dim=dim, keepdim=True)
    rgrad = _rgrad(x, grad, k * (x0 * g0 + q), dim)  # Chamberlain 2019, Eq. 20-21, with x . grad = x0 g0 + q
    # the norm's terms with z = x_s / max|x_s| in place of x_s (q / rho^2 x_s =
    # q_z / |z|^2 z): exact however close x is to the origin, where a floor on
    # rho^2 broke them and rho^2 itself underflows; at the origin z = 0 and
    # <h, h>_L = |grad_s|^2
    z, scale = _scaled(xs, dim)
    zz = numerics.sq_norm(z, dim=dim, keepdim=True).clamp_min(torch.finfo(xs.dtype).tiny)
    qz = numerics.dot(z, gs, dim=dim, keepdim=True)
    across = numerics.sq_norm(torch.addcmul(gs, z, qz / zz, value=-1), dim=dim, keepdim=True)
    zn = zz.sqrt()
    return rgrad, across + k * (x0 * (qz / zn) + scale * zn * g0).square()


def expmap_transp(x: Tensor, u: Tensor, v: Tensor, *, k: Curv = 1.0, dim: int = -1):
    r"""``(y, w)``: :math:`y = \operatorname{Exp}_x(u)` and the parallel
    transport of :math:`v \in T_x` to :math:`T_y`, sharing their work.

    On the geodesic :math:`y = \cosh\theta\,x + \frac{\sinh\theta}{\theta}u`
    (:math:`\theta = \sqrt k\lVert u\rVert`) the inner products of
    :func:`transp` are known in closed form,
    :math:`k\langle x, y\rangle_{\mathcal L} = -\cosh\theta` and
    :math:`\langle y, v\rangle_{\mathcal L} = \frac{\sinh\theta}{\theta}\langle u, v\rangle_{\mathcal L}`, so

    .. math::
        w = v + \frac{k\,\sinh\theta\,\langle u, v\rangle_{\mathcal L}}{\theta\,(1 + \cosh\theta)}\,(x + y)
    """
    y, cosh, sinhc = _geodesic(x, u, k, dim)
    coeff = k * sinhc * inner(u, v, dim=dim, keepdim=True) / (1 + cosh)
    y = projx(y, k=k, dim=dim)
    return y, torch.addcmul(v, x + y, coeff)


def geodesic_step(x: Tensor, v: Tensor, t, *, k: Curv = 1.0, dim: int = -1):
    r"""``(y, w)``: :math:`y = \operatorname{Exp}_x(t v)` and :math:`v`
    transported to :math:`T_y`, for a scalar or per-point (``[..., 1]``) step
    :obj:`t`.

    :func:`expmap_transp` with :math:`u = t v`, written with the one tangent
    norm :math:`\lVert v\rVert` it needs: :math:`\theta = \sqrt k\,|t|\,\lVert v\rVert`
    and :math:`\langle u, v\rangle_{\mathcal L} = t\lVert v\rVert^2`, so

    .. math::
        y = \cosh\theta\,x + t\,\frac{\sinh\theta}{\theta}\,v,\qquad
        w = v + c\,(x + y),\quad c = \frac{k\,t\,\sinh\theta\,\lVert v\rVert^2}{\theta\,(1 + \cosh\theta)}

    (no tangent vector :math:`u` is formed and no second norm or inner
    product taken). :func:`geodesic_step_` does the same in place."""
    # Chamberlain 2019, Eq. 12 and the transport of expmap_transp
    cosh, t_sinhc, coeff = _step_coefficients(x, v, t, k, dim)
    if torch.is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in (x, v, t, k)):
        return _direct_step(x, v, cosh, t_sinhc, coeff, k, dim)
    y, w = x.clone(), v.clone()
    _geodesic_step_inplace(y, w, cosh, t_sinhc, coeff, k, dim)
    return y, w


def geodesic_step_(x: Tensor, v: Tensor, t, *, k: Curv = 1.0, dim: int = -1) -> None:
    r""":func:`geodesic_step` in place, for an optimiser's own tables (no
    autograd): :obj:`x` becomes :math:`y` and :obj:`v` becomes :math:`w`.

    Since :math:`t\frac{\sinh\theta}{\theta}c = \frac{\sinh^2\theta}{1 + \cosh\theta}
    = \cosh\theta - 1`, with :math:`v' = v + c\,x`:

    .. math::
        y = x + t\,\frac{\sinh\theta}{\theta}\,v', \qquad w = v' + c\,y

    three fused passes over the table and one norm for the re-projection,
    without temporary tables."""
    cosh, t_sinhc, coeff = _step_coefficients(x, v, t, k, dim)
    _geodesic_step_inplace(x, v, cosh, t_sinhc, coeff, k, dim)


def _step_coefficients(x: Tensor, v: Tensor, t, k: Curv, dim: int):
    # per point: cosh(theta), t sinh(theta)/theta and the transport coefficient c
    # c = k t sinh(theta) |v|^2 / (theta (1 + cosh theta)) = sign(t) sqrt(k) |v| tanh(theta / 2):
    # |v|^2 itself overflows float32 for moments of points near projx's cap
    norm_v = tangent_norm(x, v, k=k, dim=dim, keepdim=True)
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    sk_norm_v = k ** 0.5 * norm_v
    theta = sk_norm_v * t.abs()
    clamped = theta.clamp_min(numerics.min_norm(x.dtype))
    # in [MIN_NORM, MAX_COSH_ARG], where cosh and sinh are finite
    step = clamped.clamp_max(numerics.max_cosh_arg(x.dtype))
    return torch.cosh(step), t * torch.sinh(step) / clamped, t.sign() * sk_norm_v * numerics.tanh(theta / 2)


def _direct_step(x: Tensor, v: Tensor, cosh: Tensor, t_sinhc: Tensor, coeff: Tensor, k: Curv, dim: int):
    # y = cosh x + t sinhc v (re-projected), w = v + c (x + y): new tensors
    y = projx(torch.addcmul(x * cosh, v, t_sinhc), k=k, dim=dim)
    return y, torch.addcmul(v, x + y, coeff)


def _geodesic_step_inplace(x: Tensor, v: Tensor, cosh: Tensor, t_sinhc: Tensor, coeff: Tensor,
                           k: Curv, dim: int) -> None:
    if coeff.numel() and (not numerics.host_checks(x) or not float(
            torch.linalg.vector_norm(coeff * _time(x, dim), ord=math.inf)) <= torch.finfo(x.dtype).max / 16):
        # c x would overflow (a large moment near projx's cap): the direct
        # form keeps y finite; an overflowed w is restarted by the optimiser
        y, w = _direct_step(x, v, cosh, t_sinhc, coeff, k, dim)
        x.copy_(y)
        v.copy_(w)
        return
    v.addcmul_(x, coeff)  # v' = v + c x
    x.addcmul_(v, t_sinhc)  # y = x + t sinhc v', before re-projection
    _projx_(x, k, dim)
    v.addcmul_(x, coeff)  # w = v' + c y


def _projx_(y: Tensor, k: Curv, dim: int) -> None:
    # projx in place: the time coordinate recomputed into y itself
    sq = torch.linalg.vector_norm(_space(y, dim), dim=dim, keepdim=True).square()
    # far out (or NaN): projx's radial cap (off the CPU always projx, branch-free)
    if sq.numel() and (not numerics.host_checks(y) or not float(sq.max()) <= _max_sq_space(y.dtype, k)):
        y.copy_(projx(y, k=k, dim=dim))
        return
    _time(y, dim).copy_((1.0 / k + sq).sqrt())
