r"""Pure functions of the hyperboloid (Lorentz) model with curvature :math:`-k`.

Points satisfy :math:`\langle x, x\rangle_{\mathcal{L}} = -1/k`, :math:`x_0 > 0`
([Chamberlain 2019] Eq. 8 for :math:`k = 1`). Coordinate 0 along ``dim`` is
the time coordinate. Every function takes the curvature keyword-only.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from .. import numerics
from ..conversions import klein_homogeneous_to_lorentz

Curv = Union[float, Tensor]

__all__ = [
    "inner", "flip_time", "time_offset", "pairwise_inner", "sq_dist", "dist", "dist0", "decay_egrad", "norm", "tangent_norm", "projx", "proju",
    "egrad2rgrad", "expmap", "expmap0", "expmap0_coords", "logmap", "logmap0", "logmap0_space", "from_klein_homogeneous_log0", "transp",
    "origin",
]


def _time(x: Tensor, dim: int) -> Tensor:
    return x.narrow(dim, 0, 1)


def _space(x: Tensor, dim: int) -> Tensor:
    return x.narrow(dim, 1, x.size(dim) - 1)


def inner(u: Tensor, v: Tensor, *, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Minkowski inner product :math:`-u_0 v_0 + \sum_{i \ge 1} u_i v_i`."""
    # Chamberlain 2019, Eq. 7
    out = numerics.dot(_space(u, dim), _space(v, dim), dim=dim, keepdim=True) - _time(u, dim) * _time(v, dim)
    return out if keepdim else out.squeeze(dim)


def flip_time(x: Tensor, *, dim: int = -1) -> Tensor:
    r""":obj:`x` with its time coordinate negated, :math:`(-x_0, x_1, \dots, x_n)`:
    the Minkowski metric applied to :obj:`x`, so that
    :math:`\langle x, y\rangle_{\mathcal L}` is the Euclidean dot product of
    ``flip_time(x)`` and :math:`y`."""
    # Chamberlain 2019, Eq. 7
    return torch.cat([-_time(x, dim), _space(x, dim)], dim=dim)


def time_offset(x: Tensor, *, k: Curv = 1.0) -> Tensor:
    r"""Points :obj:`x` ``[..., n + 1]`` with the time coordinate replaced
    by the height above the origin,
    :math:`x_0 - 1/\sqrt k`, evaluated as
    :math:`\lVert x_{1:}\rVert^2 / (x_0 + 1/\sqrt k)` (equal on the
    hyperboloid, Eq. 8): no cancellation near the origin, where
    :math:`x_0 \approx 1/\sqrt k` and the subtraction leaves float32 noise.

    ``flip_time(x) @ time_offset(y).T`` is
    :math:`\langle x, y\rangle_{\mathcal L} + x_0/\sqrt k`: the Minkowski
    product shifted by a constant per row of :obj:`x`, so it orders the rows
    of :obj:`y` as the product (and the distance) does, and keeps the
    small differences between nearby points that the product itself loses
    to the :math:`-x_0 y_0 \approx -1/k` term in float32."""
    # Chamberlain 2019, Eq. 7-8: -x0 y0 + <xs, ys> = -x0 (y0 - 1/sqrt k) + <xs, ys> - x0/sqrt k
    space = _space(x, -1)
    height = numerics.sq_norm(space, keepdim=True) / (_time(x, -1) + 1 / k ** 0.5)
    return torch.cat([height, space], dim=-1)


def pairwise_inner(x: Tensor, y: Tensor) -> Tensor:
    r"""Minkowski inner products of all rows of ``x [B, D]`` with all rows of
    ``y [N, D]`` as one matrix product, ``[B, N]``."""
    return flip_time(x) @ y.transpose(-1, -2)


def norm(u: Tensor, *, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Norm of a tangent vector, :math:`\sqrt{\langle u,u\rangle_{\mathcal L}}`.

    Far from the origin this subtracts two squares of order :math:`x_0^2\lVert u\rVert^2`;
    :func:`tangent_norm` knows the base point and does not.
    """
    floor = numerics.min_norm(u.dtype) ** 2
    return inner(u, u, dim=dim, keepdim=keepdim).clamp_min(floor).sqrt()


def tangent_norm(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Norm of :math:`u \in T_x` without cancellation.

    Tangency gives :math:`u_0 = \langle x_{1:}, u_{1:}\rangle / x_0`, so with
    :math:`\hat x = x_{1:}/\lVert x_{1:}\rVert`, :math:`a = \langle\hat x, u_{1:}\rangle`
    and :math:`1 - \lVert x_{1:}\rVert^2/x_0^2 = 1/(k x_0^2)`:

    .. math::
        \langle u, u\rangle_{\mathcal L} = \lVert u_{1:} - a\hat x\rVert^2 + \frac{a^2}{k x_0^2}

    a sum of non-negative terms, accurate however far :math:`x` is from the origin.
    Where its squares overflow although the norm does not (float32 points near
    :func:`projx`'s cap carry tangent vectors with coordinates ~1e28), :math:`u`
    is divided by its largest coordinate first.
    """
    xs, us, x0 = _space(x, dim), _space(u, dim), _time(x, dim)
    floor = numerics.min_norm(u.dtype)
    if numerics.host_checks(u):
        sq = _tangent_sq(xs, us, x0, k, dim)
        if numerics.surely_finite(sq):
            out = sq.clamp_min(floor ** 2).sqrt()
            return out if keepdim else out.squeeze(dim)
        finite = torch.isfinite(sq)
    else:  # an accelerator or compiled code: the same rows, found without a host read
        with torch.no_grad():
            finite = torch.isfinite(_tangent_sq(xs, us, x0, k, dim))
    # only the rows that overflowed take the scaled form; their plain terms are
    # recomputed from zeros, or their gradient would be 0 * inf = nan
    sq = _tangent_sq(xs, torch.where(finite, us, torch.zeros_like(us)), x0, k, dim)
    scale = us.abs().amax(dim=dim, keepdim=True).clamp_min(floor)
    scaled = scale * _tangent_sq(xs, us / scale, x0, k, dim).clamp_min(0).sqrt()
    out = torch.where(finite, sq.clamp_min(floor ** 2).sqrt(), scaled.clamp_min(floor))
    return out if keepdim else out.squeeze(dim)


def _scaled(xs: Tensor, dim: int):
    # (x_s / max|x_s|, max|x_s|) keepdim: the direction of x_s with its
    # largest coordinate +-1, however close to the origin (no underflow, no
    # floor that moves it); 0 at the origin, where the maximum is floored at
    # the smallest normal number
    scale = xs.abs().amax(dim=dim, keepdim=True).clamp_min(torch.finfo(xs.dtype).tiny)
    return xs / scale, scale


def _tangent_sq(xs: Tensor, us: Tensor, x0: Tensor, k: Curv, dim: int) -> Tensor:
    # <u, u>_L of tangent_norm, keepdim. a x_hat = (<z, u_s> / |z|^2) z with
    # z = x_s / max|x_s|: exact however close x is to the origin (a floor like
    # MIN_NORM^2 on |x_s|^2 broke the identity within ~1e-15 of it, and |x_s|^2
    # itself underflows below ~1e-154); at the origin z = 0 and u_0 = 0, where
    # the floored denominator gives a = 0 and the identity still holds
    z, _ = _scaled(xs, dim)
    zu = numerics.dot(z, us, dim=dim, keepdim=True)
    coeff = zu / torch.linalg.vector_norm(z, dim=dim, keepdim=True).square().clamp_min(torch.finfo(xs.dtype).tiny)
    perp = torch.linalg.vector_norm(torch.addcmul(us, z, coeff, value=-1), dim=dim, keepdim=True)
    return perp.square() + (zu / x0) * (coeff / x0) / k  # x0^2 itself overflows float32 near the cap


def sq_dist(x: Tensor, y: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Squared Lorentzian chord :math:`q = \langle x-y, x-y\rangle_{\mathcal L}
    = -2/k - 2\langle x, y\rangle_{\mathcal L} \ge 0` on the hyperboloid,
    from the space coordinates alone and without cancellation.

    With :math:`\Delta = x_{1:} - y_{1:}`, :math:`S = x_{1:} + y_{1:}`,
    :math:`T = x_0 + y_0`, the hyperboloid gives
    :math:`x_0 - y_0 = \langle\Delta, S\rangle / T`, so
    :math:`q T^2 = \lVert\Delta\rVert^2 T^2 - \langle\Delta, S\rangle^2
    = \lVert\Delta\rVert^2 (T^2 - \lVert S\rVert^2) + \lVert\Delta\wedge S\rVert^2`
    (Lagrange's identity), and :math:`\Delta\wedge S = 2\,x_{1:}\wedge y_{1:}`. With
    :math:`h = 1 - \cos\angle(x_{1:}, y_{1:}) = \lVert\hat x_{1:} - \hat y_{1:}\rVert^2/2`,

    .. math::
        q = \frac{\lVert\Delta\rVert^2}{T^2}\,(T^2 - \lVert S\rVert^2)
            + 4\Big(\frac{\lVert x_{1:}\rVert\lVert y_{1:}\rVert}{T}\Big)^2 h\,(2 - h),\qquad
        T^2 - \lVert S\rVert^2 = \frac2k + 2\Big(\frac{1/k^2 + (\lVert x_{1:}\rVert^2
        + \lVert y_{1:}\rVert^2)/k}{x_0 y_0 + \lVert x_{1:}\rVert\lVert y_{1:}\rVert}
        + \lVert x_{1:}\rVert\lVert y_{1:}\rVert\, h\Big)

    sums of non-negative terms, each scaled so that nothing overflows float32
    at :func:`projx`'s cap. The direct form :math:`\lVert\Delta\rVert^2 - (x_0 - y_0)^2`
    subtracts two numbers of order :math:`x_0^2 d^2` and keeps only rounding
    for nearby points far from the origin (float32 beyond ~10 from the
    origin, float64 beyond ~18). Per-point quantities (norms, directions)
    are taken before broadcasting, so scoring a user against many items
    costs a few passes over the items.
    """
    xs, ys = _space(x, dim), _space(y, dim)
    floor = numerics.min_norm(x.dtype) ** 2
    xx = numerics.sq_norm(xs, dim=dim, keepdim=True).clamp_min(floor)
    yy = numerics.sq_norm(ys, dim=dim, keepdim=True).clamp_min(floor)
    nx_, ny_ = xx.sqrt(), yy.sqrt()
    x0, y0 = (1.0 / k + xx).sqrt(), (1.0 / k + yy).sqrt()
    # a point at the origin has direction 0 (its h term is multiplied by 0)
    h = numerics.sq_norm(xs / nx_ - ys / ny_, dim=dim, keepdim=True) / 2
    delta = numerics.sq_norm(xs - ys, dim=dim, keepdim=True)
    t = x0 + y0
    nxy = nx_ * ny_
    gap = 2.0 / k + 2 * ((1.0 / k ** 2 + (xx + yy) / k) / (x0 * y0 + nxy) + nxy * h)
    r = nxy / t
    out = delta / (t * t) * gap + 4 * r * r * h * (2 - h)
    return out if keepdim else out.squeeze(dim)


def dist(x: Tensor, y: Tensor, *, k: Curv = 1.0, margin: float = 0.0,
         dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Geodesic distance :math:`\tfrac{1}{\sqrt k}\operatorname{arcosh}(-k\langle x,y\rangle_{\mathcal L} + \epsilon)`.

    Computed through the identity
    :math:`\operatorname{arcosh}(1 + 2s^2) = 2\operatorname{arsinh}(s)` with
    :math:`s^2 = k\lVert x-y\rVert_{\mathcal L}^2/4 + \epsilon/2`, which is the same
    function on the hyperboloid but avoids the cancellation of
    :math:`-\langle x, y\rangle_{\mathcal L} \approx 1` for nearby points.

    Args:
        margin (float): The :math:`\epsilon` of [Chamberlain 2019] Eq. 19 that
            keeps the gradient finite at :math:`x = y` (default: ``0``). The
            paper typesets it as :math:`-(\langle u,v\rangle_{\mathcal H}+\epsilon)`;
            it must move the argument *away* from 1, i.e. ``+eps`` after the
            sign flip, which is what is implemented.
    """
    # Chamberlain 2019, Eq. 9 and Eq. 19
    if _closed_form_backward(x, y, k, dim):
        out = _ClosedFormDist.apply(x, y, k, margin)
        return out if keepdim else out.squeeze(-1)
    return _dist_formula(x, y, k, margin, dim, keepdim)


def _dist_formula(x: Tensor, y: Tensor, k: Curv, margin: float, dim: int, keepdim: bool) -> Tensor:
    return _dist_and_half_chord(x, y, k, margin, dim, keepdim)[0]


def _dist_and_half_chord(x: Tensor, y: Tensor, k: Curv, margin: float, dim: int, keepdim: bool):
    # (d, s) with s = sinh(sqrt(k) d / 2), the half Lorentzian chord
    s2 = k * sq_dist(x, y, k=k, dim=dim, keepdim=keepdim) / 4 + margin / 2
    s = s2.clamp_min(numerics.min_norm(s2.dtype) ** 2).sqrt()
    return 2 * torch.asinh(s) / k ** 0.5, s


def _closed_form_backward(x: Tensor, y: Tensor, k: Curv, dim: int) -> bool:
    # the hand-written gradient of _ClosedFormDist covers points along the last
    # dimension and a curvature that is not being learned; compiled code
    # differentiates the formula itself
    return (torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
            and dim in (-1, x.dim() - 1) and x.dim() == y.dim()
            and not (isinstance(k, Tensor) and k.requires_grad)
            and not torch.compiler.is_compiling())


class _ClosedFormDist(torch.autograd.Function):
    r""":func:`dist` along the last dimension (keepdim) with its gradient in
    closed form: a handful of operations instead of autograd through the ~40
    of :func:`sq_dist`, which made the distance of a training batch cost ~8x
    the Euclidean one.

    :func:`sq_dist` reads the space coordinates only (the time coordinate is
    recomputed, :math:`x_0 = \sqrt{1/k + \lVert x_{1:}\rVert^2}`), so with
    :math:`q = -2/k - 2(\langle x_{1:}, y_{1:}\rangle - x_0 y_0)`,
    :math:`s^2 = kq/4 + \epsilon/2` and :math:`d = 2\operatorname{arsinh}(s)/\sqrt k`,

    .. math::
        \frac{\partial d}{\partial x_{1:}} = \frac{\sqrt k}{2 s\sqrt{1 + s^2}}
        \Big(\frac{y_0}{x_0}x_{1:} - y_{1:}\Big), \qquad
        \frac{\partial d}{\partial x_0} = 0,

    and symmetrically for :math:`y`. A second derivative (``create_graph=True``,
    as the bilevel trainer takes) differentiates these same expressions, with
    :math:`s` recomputed from :math:`x, y` under autograd (where
    differentiating autograd's own backward of the formula recorded about
    three times as many operations)."""

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor, k: Curv, margin: float) -> Tensor:
        d, s = _dist_and_half_chord(x, y, k, margin, -1, True)
        ctx.save_for_backward(x, y, s)
        ctx.k, ctx.margin = k, margin
        return d

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, y, s = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: s again, recorded by autograd
            s = _dist_and_half_chord(x, y, ctx.k, ctx.margin, -1, True)[1]
        return (*_closed_form_grads(grad, x, y, s, ctx.k, ctx.needs_input_grad[:2]), None, None)


def _closed_form_grads(grad: Tensor, x: Tensor, y: Tensor, s: Tensor, k: Curv, needs: Tuple[bool, bool]):
    # the gradient of _ClosedFormDist, out of place so that autograd can
    # record it for a second derivative
    xs, ys = _space(x, -1), _space(y, -1)
    floor = numerics.min_norm(x.dtype) ** 2
    x0 = (1.0 / k + numerics.sq_norm(xs, keepdim=True).clamp_min(floor)).sqrt()
    y0 = (1.0 / k + numerics.sq_norm(ys, keepdim=True).clamp_min(floor)).sqrt()
    c = grad * (0.5 * k ** 0.5) / (s * (1 + s * s).sqrt())
    gx = gy = None
    if needs[0]:
        gx = _space_grad(torch.addcmul(-ys, xs, y0 / x0) * c, x)
    if needs[1]:
        gy = _space_grad(torch.addcmul(-xs, ys, x0 / y0) * c, y)
    return gx, gy


def _space_grad(g_space: Tensor, like: Tensor) -> Tensor:
    # a gradient of the space coordinates -> of all coordinates of `like`
    # (time coordinate 0), summed over the dimensions `like` was broadcast along
    out = torch.nn.functional.pad(g_space, (1, 0))
    return out if out.shape == like.shape else out.sum_to_size(like.shape)


def dist0(x: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Distance from the origin, :math:`\operatorname{arsinh}(\sqrt k\lVert x_{1:}\rVert)/\sqrt k`."""
    sk = k ** 0.5
    return torch.asinh(sk * numerics.norm(_space(x, dim), dim=dim, keepdim=keepdim)) / sk


def decay_egrad(x: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""A Euclidean gradient of :math:`\tfrac12 d(o, x)^2`: written as a
    function of the time coordinate alone,
    :math:`d = \operatorname{arcosh}(\sqrt k\,x_0)/\sqrt k`, it is
    :math:`d\,\partial d/\partial x_0 = \operatorname{arsinh}(a)/(\sqrt k\,a)`
    in the time coordinate and 0 elsewhere, with
    :math:`a = \sqrt k\lVert x_{1:}\rVert` (:math:`k x_0^2 - 1 = a^2` on the
    hyperboloid). :func:`egrad2rgrad` turns it into
    :math:`-\log_x(o) = \operatorname{arsinh}(a)\,(\lVert x_{1:}\rVert,\ x_0 x_{1:}/\lVert x_{1:}\rVert)`
    ([Chamberlain 2019] Eq. 20-21), the weight decay of the Riemannian
    optimisers, without a logarithmic map. The coefficient tends to
    :math:`1/\sqrt k` at the origin and is small far from it."""
    sk = k ** 0.5
    a = sk * numerics.norm(_space(x, dim), dim=dim, keepdim=True)
    e0 = torch.asinh(a) / (a * sk)
    return torch.cat([e0, torch.zeros_like(_space(x, dim))], dim=dim)


def projx(x: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Project onto the hyperboloid by recomputing the time coordinate from
    the space coordinates, :math:`x_0 = \sqrt{1/k + \lVert x_{1:}\rVert^2}`.

    Points further than ``MAX_COSH_ARG`` / :math:`\sqrt k` from the origin,
    whose time coordinate squared would overflow the dtype, are pulled back
    radially to that distance (the norm is measured overflow-safely).
    """
    space = _space(x, dim)
    sq = torch.linalg.vector_norm(space, dim=dim, keepdim=True).square()
    # far out, overflowed or NaN (off the CPU: always, the cap is then a no-op for other rows)
    if not numerics.host_checks(x) or not bool((sq <= _max_sq_space(x.dtype, k)).all()):
        limit = numerics.sinh(torch.tensor(numerics.max_cosh_arg(x.dtype), dtype=x.dtype, device=x.device)) \
            / k ** 0.5
        scale = space.abs().amax(dim=dim, keepdim=True).clamp_min(numerics.min_norm(x.dtype))
        length = scale * numerics.norm(space / scale, dim=dim, keepdim=True)
        # limit / max(length, limit): the gradient of a clamped ratio would be
        # 0 * inf for tiny lengths
        space = space * (limit / torch.maximum(length, limit))
        sq = numerics.sq_norm(space, dim=dim, keepdim=True)
    return torch.cat([(1.0 / k + sq).sqrt(), space], dim=dim)


def _max_sq_space(dtype: torch.dtype, k: Curv) -> float:
    # |x_{1:}|^2 below which projx needs no radial cap: sinh(MAX_COSH_ARG)^2 / k,
    # or the largest finite number where that overflows
    limit = math.sinh(numerics.max_cosh_arg(dtype)) ** 2 / float(k.detach() if isinstance(k, Tensor) else k)
    return min(limit, torch.finfo(dtype).max)


def proju(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Project an ambient vector onto :math:`T_x`: :math:`u + k\langle x,u\rangle_{\mathcal L}\,x`."""
    # Chamberlain 2019, Eq. 11 (k = 1)
    return u + k * inner(x, u, dim=dim, keepdim=True) * x


def egrad2rgrad(x: Tensor, grad: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Euclidean gradient to Riemannian gradient: apply the inverse Minkowski
    metric (flip the time coordinate), then project onto :math:`T_x`."""
    # Chamberlain 2019, Eq. 20-21
    # the inverse metric flips the time coordinate, and <x, g^{-1} grad>_L is
    # the plain dot product of x and grad: rgrad = g^{-1} grad + k (x . grad) x
    return _rgrad(x, grad, k * numerics.dot(x, grad, dim=dim, keepdim=True), dim)


def _rgrad(x: Tensor, grad: Tensor, coeff: Tensor, dim: int) -> Tensor:
    # g^{-1} grad + coeff x, with coeff = k (x . grad) given
    out = torch.addcmul(grad, x, coeff)
    _time(out, dim).sub_(_time(grad, dim), alpha=2)  # time coordinate: -grad_0, not +grad_0
    return out


def expmap(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Exponential map :math:`\cosh(\sqrt k\lVert u\rVert)x + \sinh(\sqrt k\lVert u\rVert)\,u/(\sqrt k\lVert u\rVert)`.

    The result is re-projected with :func:`projx`, which undoes rounding and
    keeps it inside the representable region, so a wild tangent vector cannot
    produce ``inf``.
    """
    return projx(_geodesic(x, u, k, dim)[0], k=k, dim=dim)


def _geodesic(x: Tensor, u: Tensor, k: Curv, dim: int):
    # Chamberlain 2019, Eq. 12, before re-projection, with cosh(theta) and sinh(theta)/theta
    theta = k ** 0.5 * tangent_norm(x, u, k=k, dim=dim, keepdim=True)
    step = theta.clamp_max(numerics.max_cosh_arg(x.dtype))
    cosh, sinhc = numerics.cosh(step), numerics.sinh(step) / theta
    return torch.addcmul(cosh * x, u, sinhc), cosh, sinhc


def expmap0(u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Exponential map at the origin :math:`o = (1/\sqrt k, 0, \dots)`,
    :math:`(\cosh\theta/\sqrt k,\ \sinh\theta\,u_{1:}/\theta)` with
    :math:`\theta = \sqrt k\lVert u_{1:}\rVert` ([Chamberlain 2019] Eq. 12 at
    :math:`o`); the time coordinate of :obj:`u` is ignored (it is 0 for
    tangent vectors at o).

    **Cap.** A tangent vector longer than ``MAX_COSH_ARG`` / :math:`\sqrt k`
    (40 in float32, 350 in float64, for :math:`k = 1`) is first rescaled to
    that length, the distance from :math:`o` at which :func:`projx` caps
    points (beyond it the time coordinate squared overflows): the result is
    the point on the ray of :math:`u` at the cap. Its gradient is the
    rescaled map's (no radial part, finite; :func:`~hypgraph.manifolds.numerics.clip_norm`),
    and the length is measured without overflow.
    """
    sk = k ** 0.5
    space, length = numerics.clip_norm(_space(u, dim), numerics.max_cosh_arg(u.dtype) / sk, dim=dim)
    theta = sk * length
    return projx(torch.cat([numerics.cosh(theta) / sk, numerics.sinh(theta) / theta * space], dim=dim),
                 k=k, dim=dim)


def expmap0_coords(v: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":func:`expmap0` of the tangent vector at the origin whose space
    coordinates are :obj:`v` ``[..., n]`` (time coordinate 0), ``[..., n + 1]``:
    :math:`\big(\sqrt{1/k + \lVert x_{1:}\rVert^2},\ x_{1:}\big)` with
    :math:`x_{1:} = \sinh\theta / \theta\; v`, :math:`\theta = \sqrt k\lVert v\rVert`
    (Chamberlain 2019, Eq. 12 at :math:`o`), the time coordinate as
    :func:`projx` sets it.

    For a fixed curvature with every row below the cap, one fused step with
    its gradient by hand,

    .. math::
        \bar v = f\,\bar x_{1:} + \big(\sqrt k f\,\bar x_0
        + k\,g(\theta)\,\bar x_{1:}\cdot v\big)\,v,\qquad
        f = \frac{\sinh\theta}{\theta},\quad
        g = \frac{\theta\cosh\theta - \sinh\theta}{\theta^3}

    (:math:`g` by its series below :math:`\theta = 0.1`, where the
    difference cancels): a table-sized map costs three passes forward and
    backward instead of autograd's dozen, which a tangent table pays at every
    batch. Otherwise (a learnable curvature, a row past the cap, an
    accelerator) it is ``expmap0`` of the padded vector, with its cap."""
    if not isinstance(k, Tensor) and numerics.host_checks(v):
        with torch.no_grad():
            length = numerics.norm(v, keepdim=True)
        if bool((length <= numerics.max_cosh_arg(v.dtype) / k ** 0.5).all()):
            return _Expmap0Coords.apply(v, length, float(k))
    return expmap0(torch.nn.functional.pad(v, (1, 0)), k=k)


def _sinh_excess(theta: Tensor) -> Tensor:
    # (theta cosh theta - sinh theta) / theta^3, its series near 0
    small = theta < 0.1
    t = torch.where(small, torch.ones_like(theta), theta)
    exact = (t * torch.cosh(t) - torch.sinh(t)) / t.pow(3)
    t2 = theta * theta
    series = 1 / 3 + t2 * (1 / 30 + t2 * (1 / 840 + t2 / 45360))
    return torch.where(small, series, exact)


class _Expmap0Coords(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v: Tensor, length: Tensor, k: float) -> Tensor:
        sk = k ** 0.5
        theta = sk * length
        f = torch.sinh(theta) / theta
        out = v.new_empty(*v.shape[:-1], v.shape[-1] + 1)
        torch.mul(v, f, out=out[..., 1:])
        out[..., :1] = (1.0 / k + (f * length).square()).sqrt()
        ctx.save_for_backward(v, theta, f)
        ctx.k = k
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        v, theta, f = ctx.saved_tensors
        k = ctx.k
        if torch.is_grad_enabled():  # create_graph: theta and f as functions of v, for a second derivative
            theta = k ** 0.5 * numerics.norm(v, keepdim=True)
            f = torch.sinh(theta) / theta
        g_space = grad[..., 1:]
        coef = k ** 0.5 * f * grad[..., :1] + k * _sinh_excess(theta) * torch.linalg.vecdot(g_space, v).unsqueeze(-1)
        return torch.addcmul(g_space * f, v, coef), None, None


def logmap(x: Tensor, y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Logarithmic map: :math:`d(x,y)\,\frac{y + k\langle x,y\rangle x}{\lVert y + k\langle x,y\rangle x\rVert_{\mathcal L}}`,
    where the denominator equals :math:`\sinh(\sqrt k\,d)/\sqrt k`."""
    # The direction has Minkowski norm sinh(sqrt(k) d) / sqrt(k); using that
    # closed form instead of measuring it avoids squaring coordinates of
    # order cosh(d)^2, which overflows float32 for points far from the origin.
    # proju(x, y) / sinh(theta) = y / sinh + (k <x, y> / sinh) x, divided
    # before it is formed: the direction's coordinates reach x0^2 y0, which
    # overflows float32 past distance ~30 from the origin (the cap is at 40),
    # and a factor theta / sinh(theta) would take a gradient summing their
    # products with the incoming one (inf - inf past distance ~25); the
    # divided terms are of order x0 and y0
    sk = k ** 0.5
    theta = sk * dist(x, y, k=k, dim=dim, keepdim=True)
    s = numerics.sinh(theta)
    return torch.addcmul(y / s, x, k * inner(x, y, dim=dim, keepdim=True) / s) * theta


def logmap0(y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Logarithmic map at the origin; the returned time coordinate is 0."""
    return torch.cat([torch.zeros_like(_time(y, dim)), logmap0_space(y, k=k, dim=dim)], dim=dim)


def logmap0_space(y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""The space coordinates of :func:`logmap0` (its time coordinate is 0):
    :math:`\operatorname{arsinh}(\sqrt k\lVert y_{1:}\rVert) / (\sqrt k\lVert y_{1:}\rVert)\; y_{1:}`,
    without the copy that joining a zero column would make."""
    if not isinstance(k, Tensor) and dim in (-1, y.dim() - 1) and numerics.host_checks(y):
        return _Logmap0Space.apply(y, float(k))
    space = _space(y, dim)
    n = numerics.norm(space, dim=dim, keepdim=True)
    sk = k ** 0.5
    return torch.asinh(sk * n) / (sk * n) * space


def _asinh_deficit(a: Tensor) -> Tensor:
    # (a / sqrt(1 + a^2) - asinh a) / a^3, by its series where the difference cancels
    small = a < (1e-2 if a.dtype == torch.float64 else 1e-1)
    t = torch.where(small, torch.ones_like(a), a)
    exact = (t / torch.hypot(torch.ones_like(t), t) - torch.asinh(t)) / t.pow(3)
    a2 = a * a
    series = -1 / 3 + a2 * (3 / 10 + a2 * (-15 / 56 + a2 * 35 / 144))
    return torch.where(small, series, exact)


class _Logmap0Space(torch.autograd.Function):
    r""":func:`logmap0_space` for a fixed curvature, its gradient by hand:
    with :math:`a = \sqrt k\lVert y_{1:}\rVert` and
    :math:`\varphi = \operatorname{arsinh}(a)/a`,
    :math:`\bar y_{1:} = \varphi\,\bar t + k\,\frac{a/\sqrt{1+a^2} - \operatorname{arsinh}a}{a^3}
    (\bar t\cdot y_{1:})\,y_{1:}` and :math:`\bar y_0 = 0`."""

    @staticmethod
    def forward(ctx, y: Tensor, k: float) -> Tensor:
        space = y[..., 1:]
        a = k ** 0.5 * numerics.norm(space, keepdim=True)
        phi = torch.asinh(a) / a
        ctx.save_for_backward(y, a, phi)
        ctx.k = k
        return space * phi

    @staticmethod
    def backward(ctx, grad: Tensor):
        y, a, phi = ctx.saved_tensors
        space = y[..., 1:]
        if torch.is_grad_enabled():  # create_graph: a and phi as functions of y, for a second derivative
            a = ctx.k ** 0.5 * numerics.norm(space, keepdim=True)
            phi = torch.asinh(a) / a
        coef = ctx.k * _asinh_deficit(a) * torch.linalg.vecdot(grad, space).unsqueeze(-1)
        return torch.nn.functional.pad(torch.addcmul(grad * phi, space, coef), (1, 0)), None


def from_klein_homogeneous_log0(h: Tensor, weight_sum: Tensor, *, k: Curv = 1.0) -> Tuple[Tensor, Tensor]:
    r"""``(y, t)``: the point :math:`y` of :func:`~hypgraph.manifolds.conversions.klein_homogeneous_to_lorentz`
    and the space coordinates of its :math:`\log_o`,
    :math:`t = \operatorname{arsinh}(a)/a\; y_{1:}` with
    :math:`a = \sqrt k\lVert y_{1:}\rVert` (the inverse of Chamberlain 2019,
    Eq. 12 at :math:`o`; :func:`logmap0_space`), for the Einstein midpoint
    of Eq. 24-25.

    A graph layer that aggregates by Einstein midpoint and combines its hops
    in :math:`T_o` (LGCF) needs both at every hop. For a fixed curvature
    they come from one fused step with the gradient by hand: since
    :math:`y_{1:} = h_{1:}/s`, :math:`t = h_{1:}\,\varphi(a)/s`, and the
    backward folds :math:`\bar t` into :math:`\bar y` with per-row scalars
    (three passes over the table forward and five backward, where the two
    functions apart make about twenty-five). A learnable curvature takes
    the two functions in turn."""
    if isinstance(k, Tensor):
        y = klein_homogeneous_to_lorentz(h, weight_sum, k=k)
        return y, logmap0_space(y, k=k)
    floor = (weight_sum.unsqueeze(-1) ** 2).to(h.dtype)
    return _HomogeneousToLorentzLog0.apply(h, floor, float(k))


def _to_lorentz_log0_parts(h: Tensor, floor: Tensor, k: float):
    # y, 1/s, a, arsinh(a)/a and the active rows, as functions of h (also
    # under autograd, for a second derivative)
    h0, hs = h[..., :1], h[..., 1:]
    n = torch.linalg.vector_norm(hs, dim=-1, keepdim=True)
    q = h0 * h0 - k * n * n
    active = q >= floor
    inv = torch.where(active, q, floor).clamp_min(numerics.min_norm(h.dtype) ** 2).rsqrt()
    y = h * inv
    if k != 1.0:
        y = torch.cat([y[..., :1] / k ** 0.5, y[..., 1:]], dim=-1)
    a = (k ** 0.5 * n * inv).clamp_min(numerics.min_norm(h.dtype))  # sqrt(k) |y_s|, never 0
    return y, inv, a, torch.asinh(a) / a, active


class _HomogeneousToLorentzLog0(torch.autograd.Function):
    r""":func:`from_klein_homogeneous_log0` for a fixed curvature.
    With :math:`\bar y, \bar t` the incoming gradients, the logarithm's
    backward (:class:`_Logmap0Space`) adds
    :math:`\varphi\,\bar t + c_t\,y_{1:}`, :math:`c_t = k\,\delta(a)\,(\bar t\cdot y_{1:})`,
    :math:`\delta = (a/\sqrt{1+a^2} - \operatorname{arsinh}a)/a^3`, to
    :math:`\bar y_{1:}`; its product with :math:`y` is
    :math:`\bar y\cdot y + \varphi\,(\bar t\cdot y_{1:}) + c_t a^2/k`, and
    ``conversions._HomogeneousToLorentz``'s backward takes it from there."""

    @staticmethod
    def forward(ctx, h: Tensor, floor: Tensor, k: float) -> Tuple[Tensor, Tensor]:
        y, inv, a, phi, active = _to_lorentz_log0_parts(h, floor, k)
        t = h[..., 1:] * (phi * inv)
        ctx.save_for_backward(h, floor, y, inv, a, phi, active)
        ctx.k = k
        ctx.set_materialize_grads(False)  # the last hop's points go unused: no table of zeros
        return y, t

    @staticmethod
    def backward(ctx, grad_y: Optional[Tensor], grad_t: Optional[Tensor]):
        h, floor, y, inv, a, phi, active = ctx.saved_tensors
        k = ctx.k
        if torch.is_grad_enabled():  # create_graph: the parts as functions of h
            y, inv, a, phi, active = _to_lorentz_log0_parts(h, floor, k)
        ys = y[..., 1:]
        along = torch.zeros_like(a)
        space_coef = torch.zeros_like(a)  # of y_s in the space part, before the 1/s
        if grad_t is not None:
            t_dot = (grad_t.unsqueeze(-2) @ ys.unsqueeze(-1)).squeeze(-1)  # a matmul reads each row once
            c_t = k * _asinh_deficit(a) * t_dot
            along = along + phi * t_dot + c_t * (a * a / k)
            space_coef = space_coef + c_t
        if grad_y is not None:
            along = along + (grad_y.unsqueeze(-2) @ y.unsqueeze(-1)).squeeze(-1)
        c = along * active
        space_coef = (space_coef + k * c) * inv
        if torch.is_grad_enabled():  # out of place, for autograd
            out = torch.cat([-k ** 0.5 * c * y[..., :1] * inv, ys * space_coef], dim=-1)
            if grad_t is not None:
                out = out + torch.nn.functional.pad(grad_t * (phi * inv), (1, 0))
        else:  # the table written once and updated in place
            out = torch.empty_like(y)
            torch.mul(ys, space_coef, out=out[..., 1:])
            torch.mul(c * y[..., :1], -k ** 0.5 * inv, out=out[..., :1])
            if grad_t is not None:
                out[..., 1:].addcmul_(grad_t, phi * inv)
        if grad_y is not None:
            scale = inv if k == 1.0 else torch.cat([inv / k ** 0.5, inv.expand(*inv.shape[:-1], y.size(-1) - 1)], dim=-1)
            out = torch.addcmul(out, grad_y, scale) if torch.is_grad_enabled() else out.addcmul_(grad_y, scale)
        grad_floor = None
        if ctx.needs_input_grad[1]:  # s = sqrt(floor) where the floor holds
            grad_floor = -(along * ~active) * inv * inv / 2
        return out, grad_floor, None


def transp(x: Tensor, y: Tensor, v: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Parallel transport of :math:`v \in T_x` to :math:`T_y` along the geodesic:
    :math:`v + \frac{k\langle y, v\rangle}{1 - k\langle x, y\rangle}(x + y)`."""
    num = k * inner(y, v, dim=dim, keepdim=True)
    den = 1 - k * inner(x, y, dim=dim, keepdim=True)  # >= 2 on the hyperboloid
    return v + num / den * (x + y)


def origin(*size: int, k: Curv = 1.0, dtype=None, device=None) -> Tensor:
    r"""The origin :math:`(1/\sqrt k, 0, \dots, 0)` with shape :obj:`size`."""
    time = torch.ones(*size[:-1], 1, dtype=dtype, device=device) / k ** 0.5
    space = torch.zeros(*size[:-1], size[-1] - 1, dtype=time.dtype, device=device)
    return torch.cat([time, space], dim=-1)
