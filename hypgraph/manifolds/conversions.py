r"""Maps between the hyperboloid, Klein and Poincaré models of the same
curvature :math:`-k` (hyperboloid :math:`\langle x,x\rangle_{\mathcal L}=-1/k`,
balls of radius :math:`1/\sqrt k`), both directions. All are isometries."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from . import numerics

Curv = Union[float, Tensor]

__all__ = [
    "lorentz_to_poincare", "poincare_to_lorentz", "lorentz_to_klein", "klein_to_lorentz",
    "poincare_to_klein", "klein_to_poincare", "lorentz_to_klein_homogeneous",
    "klein_homogeneous_to_lorentz",
]


def lorentz_to_poincare(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`x_{1:} / (1 + \sqrt k\,x_0)`."""
    return x[..., 1:] / (1 + k ** 0.5 * x[..., :1])


def poincare_to_lorentz(p: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`\big((1 + k\lVert p\rVert^2)/\sqrt k,\ 2p\big) / (1 - k\lVert p\rVert^2)`."""
    p2 = k * numerics.sq_norm(p, keepdim=True)
    den = (1 - p2).clamp_min(numerics.eps(p.dtype))
    return torch.cat([(1 + p2) / k ** 0.5, 2 * p], dim=-1) / den


def lorentz_to_klein(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`x_{1:} / (\sqrt k\,x_0)`."""
    # Chamberlain 2019, Eq. 4
    return x[..., 1:] / (k ** 0.5 * x[..., :1])


def klein_to_lorentz(kappa: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`(1, \sqrt k\,\kappa) / (\sqrt k\sqrt{1 - k\lVert\kappa\rVert^2})`."""
    # Chamberlain 2019, Eq. 5
    sk = k ** 0.5
    den = sk * (1 - k * numerics.sq_norm(kappa, keepdim=True)).clamp_min(numerics.eps(kappa.dtype)).sqrt()
    return torch.cat([torch.ones_like(kappa[..., :1]), sk * kappa], dim=-1) / den


def poincare_to_klein(p: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`2p / (1 + k\lVert p\rVert^2)`."""
    # Hyper-Know, Eq. 6
    return 2 * p / (1 + k * numerics.sq_norm(p, keepdim=True))


def klein_to_poincare(kappa: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":math:`\kappa / (1 + \sqrt{1 - k\lVert\kappa\rVert^2})`."""
    # Hyper-Know, Eq. 6
    root = (1 - k * numerics.sq_norm(kappa, keepdim=True)).clamp_min(numerics.min_norm(kappa.dtype) ** 2).sqrt()
    return kappa / (1 + root)


def lorentz_to_klein_homogeneous(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""Homogeneous Klein coordinates :math:`\gamma(\kappa)(1, \kappa)` of a
    hyperboloid point: :math:`\kappa = x_{1:}/(\sqrt k x_0)` (Eq. 4) has Lorentz
    factor :math:`\gamma = \sqrt k x_0`, so this is :math:`(\sqrt k x_0, x_{1:})`,
    exact even where :math:`\kappa` itself rounds onto the boundary.

    On the hyperboloid this is :math:`x` itself with the time coordinate
    scaled by :math:`\sqrt k` (no copy at all for :math:`k = 1`): the
    midpoint of a table of points reads the table as it is. (The function of
    the space coordinates :math:`(\sqrt{1 + k\lVert x_{1:}\rVert^2}, x_{1:})`
    agrees with it on the manifold, so Riemannian gradients are the same.)"""
    if not isinstance(k, Tensor) and k == 1.0:
        return x
    scale = torch.ones(x.size(-1), dtype=x.dtype, device=x.device)
    scale = torch.cat([scale[:1] * k ** 0.5, scale[1:]])  # differentiable in a learnable k
    return x * scale


def klein_homogeneous_to_lorentz(h: Tensor, weight_sum: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""The hyperboloid point with Klein coordinates :math:`h_{1:}/h_0`, for a
    weighted sum :math:`h = \sum_i w_i \gamma_i (1, \kappa_i)` with
    :math:`w_i \ge 0` and :math:`\sum_i w_i` = :obj:`weight_sum`.

    Eq. 5 applied to :math:`h_{1:}/h_0`, written without the division:
    :math:`(h_0, \sqrt k h_{1:}) / (\sqrt k s)` with
    :math:`s^2 = h_0^2 - k\lVert h_{1:}\rVert^2 \ge (\sum_i w_i)^2` (every
    :math:`-k\langle x_i, x_j\rangle_{\mathcal L} \ge 1`); the bound is exact
    mathematics and absorbs rounding near the boundary.
    """
    # Chamberlain 2019, Eq. 5 and Eq. 24
    floor = (weight_sum.unsqueeze(-1) ** 2).to(h.dtype)
    if not isinstance(k, Tensor):  # a fixed curvature: one fused step, its gradient by hand
        return _HomogeneousToLorentz.apply(h, floor, float(k))
    sk = k ** 0.5
    h0, hs = h[..., :1], h[..., 1:]
    s2 = h0 * h0 - k * numerics.sq_norm(hs, keepdim=True)
    s = torch.maximum(s2, floor).clamp_min(numerics.min_norm(h.dtype) ** 2).sqrt()
    return torch.cat([h0, sk * hs], dim=-1) / (sk * s)


class _HomogeneousToLorentz(torch.autograd.Function):
    r""":func:`klein_homogeneous_to_lorentz` for a fixed curvature :math:`k`:
    :math:`y = D h / s`, :math:`D = \operatorname{diag}(1/\sqrt k, 1, \dots)`,
    :math:`s = \sqrt{\max(q, w^2)}`, :math:`q = h_0^2 - k\lVert h_{1:}\rVert^2`.
    Where :math:`q` is the larger, :math:`\partial s/\partial h = J h / s` with
    :math:`J = \operatorname{diag}(1, -k, \dots)`, so

    .. math::
        \bar h = \big(D\bar y - (\bar y\cdot y)\,(\sqrt k\,y_0, -k\,y_{1:})\big) / s

    (without the second term where the floor holds; there the floor gets
    :math:`-(\bar y\cdot y) / (2 s^2)`). Two passes over the
    table forward and three backward, where autograd of the composed form
    makes some fifteen: an Einstein-midpoint hop over a graph pays this on
    every node at every batch."""

    @staticmethod
    def forward(ctx, h: Tensor, floor: Tensor, k: float) -> Tensor:
        h0, hs = h[..., :1], h[..., 1:]
        q = h0 * h0 - k * torch.linalg.vector_norm(hs, dim=-1, keepdim=True).square()
        active = q >= floor
        s = torch.where(active, q, floor).clamp_min(numerics.min_norm(h.dtype) ** 2).sqrt()
        y = h / s
        if k != 1.0:
            y[..., :1] /= k ** 0.5
        ctx.save_for_backward(h, floor, y, s, active)
        ctx.k = k
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):
        h, floor, y, s, active = ctx.saved_tensors
        k = ctx.k
        if torch.is_grad_enabled():  # create_graph: s and y as functions of h, for a second derivative
            q = h[..., :1].square() - k * numerics.sq_norm(h[..., 1:], keepdim=True)
            s = torch.where(active, q, floor).clamp_min(numerics.min_norm(h.dtype) ** 2).sqrt()
            y = h / s
            if k != 1.0:
                y = torch.cat([y[..., :1] / k ** 0.5, y[..., 1:]], dim=-1)
        along = torch.linalg.vecdot(grad, y, dim=-1).unsqueeze(-1)
        c = along * active
        # (g + k c y) / s on the space coordinates; the time coordinate below
        space = torch.addcmul(grad[..., 1:], y[..., 1:], c, value=k)
        out = torch.cat([grad[..., :1] / k ** 0.5 - k ** 0.5 * c * y[..., :1], space], dim=-1) / s
        floor = None
        if ctx.needs_input_grad[1]:  # s = sqrt(floor) where the floor holds
            floor = -(along * ~active) / (2 * s * s)
        return out, floor, None
