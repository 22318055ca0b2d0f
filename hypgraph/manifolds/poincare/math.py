r"""Pure functions of the Poincaré ball :math:`\{x : k\lVert x\rVert^2 < 1\}`
with curvature :math:`-k` ([Hyper-Know] Eq. 1-2, where it is written
:math:`-c`; Ganea et al. 2018). The curvature keyword is ``k`` as on every
manifold; ``c=`` still works for one release with a DeprecationWarning."""
from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import Tensor

from .. import numerics
from ..base import _accepts_c

Curv = Union[float, Tensor]

__all__ = [
    "mobius_add", "lambda_x", "inner", "norm", "dist", "pairwise_dist", "dist0", "decay_egrad", "projx", "proju",
    "egrad2rgrad", "expmap", "expmap0", "logmap", "logmap0", "gyration", "transp", "geodesic_step",
]


@_accepts_c
def mobius_add(x: Tensor, y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Möbius addition

    .. math::
        x \oplus_k y = \frac{(1 + 2k\langle x,y\rangle + k\lVert y\rVert^2)x
        + (1 - k\lVert x\rVert^2) y}{1 + 2k\langle x,y\rangle + k^2\lVert x\rVert^2\lVert y\rVert^2}
        = \frac{(1 - k\lVert x\rVert^2)\,s + k\lVert s\rVert^2 x}
        {k\lVert s\rVert^2 + (1 - k\lVert x\rVert^2)(1 - k\lVert y\rVert^2)},\qquad s = x + y

    ([Hyper-Know] Eq. 2), evaluated in the second form: its denominator is a
    sum of two non-negative terms, where the first cancels to float32
    rounding for :math:`y \approx -x` near the boundary (the
    :math:`-x \oplus y` of :func:`logmap` and of distances between nearby
    points), a denominator of ~1e-12 computed as ~1e-7 noise.
    """
    x2, y2 = numerics.sq_norm(x, dim=dim, keepdim=True), numerics.sq_norm(y, dim=dim, keepdim=True)
    s = x + y
    s2 = numerics.sq_norm(s, dim=dim, keepdim=True)
    one_minus = 1 - k * x2
    den = (k * s2 + one_minus * (1 - k * y2)).clamp_min(numerics.min_norm(x2.dtype))
    return torch.addcmul(one_minus * s, x, k * s2) / den


def _mobius_coefficients(x2: Tensor, y2: Tensor, xy: Tensor, k: Curv):
    # x (+)_k y = (a x + b y) / den from |x|^2, |y|^2 and <x, y> (Hyper-Know, Eq. 2);
    # den >= (1 - k|x||y|)^2 > 0 inside the ball, clamped for rounding
    den = (1 + 2 * k * xy + k ** 2 * x2 * y2).clamp_min(numerics.min_norm(x2.dtype))
    return 1 + 2 * k * xy + k * y2, 1 - k * x2, den


@_accepts_c
def lambda_x(x: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Conformal factor :math:`\lambda^k_x = 2 / (1 - k\lVert x\rVert^2)`."""
    den = (1 - k * numerics.sq_norm(x, dim, keepdim)).clamp_min(numerics.eps(x.dtype))
    return 2 / den


@_accepts_c
def inner(x: Tensor, u: Tensor, v: Tensor, *, k: Curv = 1.0, dim: int = -1,
          keepdim: bool = False) -> Tensor:
    r"""Riemannian metric :math:`(\lambda^k_x)^2\langle u, v\rangle`."""
    return lambda_x(x, k=k, dim=dim, keepdim=keepdim) ** 2 * (u * v).sum(dim=dim, keepdim=keepdim)


@_accepts_c
def norm(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    return lambda_x(x, k=k, dim=dim, keepdim=keepdim) * numerics.norm(u, dim, keepdim)


@_accepts_c
def dist(x: Tensor, y: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Geodesic distance :math:`\tfrac{2}{\sqrt k}\operatorname{artanh}(\sqrt k\lVert -x \oplus_k y\rVert)`.

    Evaluated as :math:`\tfrac{2}{\sqrt k}\operatorname{arsinh}\sqrt{z}`,
    :math:`z = k\lVert x-y\rVert^2 / ((1-k\lVert x\rVert^2)(1-k\lVert y\rVert^2))`,
    the same function ([Chamberlain 2019] Eq. 2 with curvature :math:`-k`)
    but without ``artanh`` saturating at 1 when both points are near the
    boundary in float32.
    """
    # Hyper-Know, Eq. 1
    if _closed_form_backward(x, y, k, dim):
        out = _ClosedFormDist.apply(x, y, k)
        return out if keepdim else out.squeeze(-1)
    return _dist_formula(x, y, k, dim, keepdim)


def _dist_formula(x: Tensor, y: Tensor, k: Curv, dim: int, keepdim: bool) -> Tensor:
    return _dist_parts(x, y, k, dim, keepdim)[0]


def _dist_parts(x: Tensor, y: Tensor, k: Curv, dim: int, keepdim: bool):
    # (d, x - y, 1 - k|x|^2, 1 - k|y|^2, z, s): the distance and what its
    # gradient reads; the last four before their clamps, except s = sqrt(z)
    e = numerics.eps(x.dtype)
    diff = x - y
    dx_raw = 1 - k * numerics.sq_norm(x, dim, keepdim)
    dy_raw = 1 - k * numerics.sq_norm(y, dim, keepdim)
    z = k * numerics.sq_norm(diff, dim, keepdim) / (dx_raw.clamp_min(e) * dy_raw.clamp_min(e))
    s = z.clamp_min(numerics.min_norm(x.dtype) ** 2).sqrt()
    return 2 * torch.asinh(s) / k ** 0.5, diff, dx_raw, dy_raw, z, s


def _closed_form_backward(x: Tensor, y: Tensor, k: Curv, dim: int) -> bool:
    # the hand-written gradient of _ClosedFormDist covers points along the last
    # dimension and a curvature that is not being learned; compiled code
    # differentiates the formula itself
    return (torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
            and (dim == -1 or (x.dim() == y.dim() and dim == x.dim() - 1))
            and not (isinstance(k, Tensor) and k.requires_grad)
            and not torch.compiler.is_compiling())


class _ClosedFormDist(torch.autograd.Function):
    r""":func:`dist` along the last dimension (keepdim) with its gradient in
    closed form instead of autograd through the formula. With
    :math:`D_x = 1 - k\lVert x\rVert^2`, :math:`D_y = 1 - k\lVert y\rVert^2`,
    :math:`q = \lVert x-y\rVert^2`, :math:`z = kq/(D_xD_y) = s^2` and
    :math:`d = 2\operatorname{arsinh}(s)/\sqrt k`,

    .. math::
        \frac{\partial d}{\partial x} = \frac{2\sqrt k}{s\sqrt{1+s^2}\,D_xD_y}
        \Big((x - y) + \frac{kq}{D_x}x\Big)
        = \frac{2\sqrt k}{\sqrt{1+s^2}}\Big(\frac{x - y}{s D_xD_y} + \frac{s}{D_x}x\Big),

    and symmetrically for :math:`y`. Where the formula clamps, so does the
    gradient: it is 0 where :math:`z` is below its floor (:math:`x = y`), and
    the :math:`x` term is dropped where :math:`D_x` is clamped to
    :math:`\epsilon`, as autograd through the formula gives. A second
    derivative (``create_graph=True``, as the bilevel trainer takes)
    differentiates these same expressions, recomputed from :math:`x, y`
    under autograd: a dozen operations, where differentiating autograd's own
    backward of the formula built three times as many."""

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor, k: Curv) -> Tensor:
        d, diff, dx_raw, dy_raw, z, s = _dist_parts(x, y, k, -1, True)
        ctx.save_for_backward(x, y, diff, dx_raw, dy_raw, z, s)
        ctx.k = k
        return d

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, y, *parts = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward: the parts again, recorded by autograd
            parts = _dist_parts(x, y, ctx.k, -1, True)[1:]
        gx, gy = _closed_form_grads(grad, x, y, *parts, ctx.k, ctx.needs_input_grad[:2])
        return gx, gy, None


def _closed_form_grads(grad: Tensor, x: Tensor, y: Tensor, diff: Tensor, dx_raw: Tensor, dy_raw: Tensor,
                       z: Tensor, s: Tensor, k: Curv, needs: Tuple[bool, bool]):
    # the gradient of _ClosedFormDist, out of place so that autograd can
    # record it for a second derivative
    e = numerics.eps(x.dtype)
    dx, dy = dx_raw.clamp_min(e), dy_raw.clamp_min(e)
    # grad * 2 sqrt(k) / sqrt(1 + s^2), 0 where z sits on its floor; then
    # dd/dx = c ((x - y) / (s D_x D_y) + s x / D_x), as kq/(D_x D_y) = s^2
    c = (grad * (2 * k ** 0.5) / (1 + z).sqrt()).masked_fill(z < numerics.min_norm(x.dtype) ** 2, 0)
    da = diff * (c / (s * dx * dy))
    cs = c * s
    gx = gy = None
    if needs[0]:
        gx = _sum_to(torch.addcmul(da, x, (cs / dx).masked_fill(dx_raw < e, 0)), x)
    if needs[1]:
        gy = _sum_to(torch.addcmul(-da, y, (cs / dy).masked_fill(dy_raw < e, 0)), y)
    return gx, gy


def _sum_to(g: Tensor, like: Tensor) -> Tensor:
    # summed over the dimensions `like` was broadcast along
    return g if g.shape == like.shape else g.sum_to_size(like.shape)


@_accepts_c
def pairwise_dist(x: Tensor, y: Tensor, *, k: Curv = 1.0) -> Tensor:
    r""":func:`dist` between all rows of ``x [B, n]`` and ``y [N, n]``, ``[B, N]``,
    with :math:`\lVert x-y\rVert^2` from one matrix product."""
    e = numerics.eps(x.dtype)
    x2, y2 = numerics.sq_norm(x, keepdim=True), numerics.sq_norm(y, keepdim=True).transpose(-1, -2)
    sq = (x2 + y2 - 2 * x @ y.transpose(-1, -2)).clamp_min(0)
    z = k * sq / ((1 - k * x2).clamp_min(e) * (1 - k * y2).clamp_min(e))
    return 2 * torch.asinh(z.clamp_min(numerics.min_norm(x.dtype) ** 2).sqrt()) / k ** 0.5


@_accepts_c
def dist0(x: Tensor, *, k: Curv = 1.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    r""":math:`\tfrac{2}{\sqrt k}\operatorname{artanh}(\sqrt k\lVert x\rVert)`."""
    sk = k ** 0.5
    return 2 * numerics.artanh(sk * numerics.norm(x, dim, keepdim)) / sk


@_accepts_c
def decay_egrad(x: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""The Euclidean gradient of :math:`\tfrac12 d(0, x)^2` (:func:`dist0`):
    with :math:`a = \sqrt k\lVert x\rVert`,
    :math:`4\,\frac{\operatorname{artanh}a}{a}\,\frac{x}{1 - a^2}`
    (:math:`4x` at the origin, where the conformal factor is 2)."""
    a = k ** 0.5 * numerics.norm(x, dim, keepdim=True)
    return 4 * numerics.artanh(a) / a / (1 - a.square()) * x


@_accepts_c
def projx(x: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Pull points onto the closed ball of radius :math:`(1-\epsilon)/\sqrt k`."""
    max_norm = (1 - numerics.eps(x.dtype)) / k ** 0.5
    n = numerics.norm(x, dim, keepdim=True)
    return torch.where(n > max_norm, x / n * max_norm, x)


@_accepts_c
def proju(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    return u  # every tangent space is R^n


@_accepts_c
def egrad2rgrad(x: Tensor, grad: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Rescale by the inverse metric, :math:`g / (\lambda^k_x)^2`."""
    return grad / lambda_x(x, k=k, dim=dim, keepdim=True) ** 2


@_accepts_c
def expmap(x: Tensor, u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`x \oplus_k \big(\tanh(\sqrt k\lambda_x\lVert u\rVert/2)\,u/(\sqrt k\lVert u\rVert)\big)`, projected."""
    sk = k ** 0.5
    n = numerics.norm(u, dim, keepdim=True)
    lam = lambda_x(x, k=k, dim=dim, keepdim=True)
    second = numerics.tanh(sk * lam * n / 2) * u / (sk * n)
    return projx(mobius_add(x, second, k=k, dim=dim), k=k, dim=dim)


@_accepts_c
def expmap0(u: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`\tanh(\sqrt k\lVert u\rVert)\,u/(\sqrt k\lVert u\rVert)`, projected.

    **Cap.** A tangent vector longer than :math:`\operatorname{artanh}(1-\epsilon)/\sqrt k`
    (:func:`~hypgraph.manifolds.numerics.max_tanh_arg`; 7.25 in float32, 14.2
    in float64, for :math:`k = 1`) is first rescaled to that length, whose
    image lies on the sphere :math:`\sqrt k\lVert x\rVert = 1 - \epsilon` where
    :func:`projx` keeps every point: the result stays strictly inside the
    ball, on the ray of :math:`u`, and its gradient is the rescaled map's (no
    radial part, finite) instead of that of a ``tanh`` rounded to 1.
    """
    sk = k ** 0.5
    u, n = numerics.clip_norm(u, numerics.max_tanh_arg(u.dtype) / sk, dim=dim)
    return projx(numerics.tanh(sk * n) * u / (sk * n), k=k, dim=dim)


@_accepts_c
def logmap(x: Tensor, y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r""":math:`\tfrac{2}{\sqrt k\lambda_x}\operatorname{artanh}(\sqrt k\lVert w\rVert)\,w/\lVert w\rVert`, :math:`w = -x\oplus_k y`."""
    sk = k ** 0.5
    w = mobius_add(-x, y, k=k, dim=dim)
    n = numerics.norm(w, dim, keepdim=True)
    lam = lambda_x(x, k=k, dim=dim, keepdim=True)
    return 2 / (sk * lam) * numerics.artanh(sk * n) * w / n


@_accepts_c
def logmap0(y: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    sk = k ** 0.5
    n = numerics.norm(y, dim, keepdim=True)
    return numerics.artanh(sk * n) * y / (sk * n)


@_accepts_c
def gyration(u: Tensor, v: Tensor, w: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Closed form of :math:`\operatorname{gyr}[u, v]w = \ominus(u\oplus v)\oplus(u\oplus(v\oplus w))`."""
    u2, v2 = numerics.sq_norm(u, dim=dim, keepdim=True), numerics.sq_norm(v, dim=dim, keepdim=True)
    uv = numerics.dot(u, v, dim=dim, keepdim=True)
    uw, vw = numerics.dot(u, w, dim=dim, keepdim=True), numerics.dot(v, w, dim=dim, keepdim=True)
    a, b, d = _gyration_coefficients(u2, v2, uv, uw, vw, k)
    return w + 2 * (a * u + b * v) / d


def _gyration_coefficients(u2: Tensor, v2: Tensor, uv: Tensor, uw: Tensor, vw: Tensor, k: Curv):
    # gyr[u, v] w = w + 2 (a u + b v) / d from the five inner products
    k2 = k ** 2
    a = -k2 * uw * v2 + k * vw + 2 * k2 * uv * vw
    b = -k2 * vw * u2 - k * uw
    d = (1 + 2 * k * uv + k2 * u2 * v2).clamp_min(numerics.min_norm(u2.dtype))
    return a, b, d


def geodesic_step(x: Tensor, v: Tensor, t, *, k: Curv = 1.0, dim: int = -1) -> Tuple[Tensor, Tensor]:
    r"""``(y, w)``: :math:`y = \operatorname{Exp}_x(t v)` (:func:`expmap`, projected)
    and :math:`w = \frac{\lambda_x}{\lambda_y}\operatorname{gyr}[y, -x]\,v`,
    :math:`v` transported to :math:`T_y` (:func:`transp`), for a scalar or
    per-point (``[..., 1]``) step :obj:`t`: a Riemannian Adam step along its
    own first moment.

    Both are linear combinations of :math:`x` and :math:`v` with per-point
    coefficients: with :math:`c = \tanh(\sqrt k\lambda_x|t|\lVert v\rVert/2)\,
    t/(\sqrt k|t|\lVert v\rVert)` the exponential map is
    :math:`x \oplus_k c\,v`, whose Möbius sum ([Hyper-Know] Eq. 2) needs only
    :math:`\lVert x\rVert^2`, :math:`\langle x, v\rangle`, :math:`\lVert v\rVert^2`,
    and the transport needs the inner products of the step :math:`y - x` with
    :math:`x`, :math:`v` and itself (the form :func:`transp` uses, accurate in
    float32 at the boundary). Seven row-wise dot products and five passes, where
    :func:`expmap` then :func:`transp` (Möbius sum, projection, two conformal
    factors, gyration) take about twenty; the same clamps, so the result is
    theirs up to rounding."""
    e, floor = numerics.eps(x.dtype), numerics.min_norm(x.dtype)
    sk = k ** 0.5
    xx = numerics.sq_norm(x, dim=dim, keepdim=True)
    xv = numerics.dot(x, v, dim=dim, keepdim=True)
    vv = numerics.sq_norm(v, dim=dim, keepdim=True)
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    one_minus = (1 - k * xx).clamp_min(e)  # 2 / lambda_x, as lambda_x clamps it
    # expmap: the tangent vector u = t v, its (floored) norm, and u's image c v
    n = (t * t * vv).clamp_min(floor ** 2).sqrt()
    c = numerics.tanh(sk * (2 / one_minus) * n / 2) * t / (sk * n)
    # mobius_add(x, c v) = (a x + b c v) / den (Hyper-Know, Eq. 2)
    a, b, den = _mobius_coefficients(xx, c * c * vv, c * xv, k)
    y = projx(torch.addcmul(x * (a / den), v, b * c / den), k=k, dim=dim)
    return y, _transport(x, y, v, xx, xv, one_minus, k, dim)


def _transport(x: Tensor, y: Tensor, v: Tensor, xx: Tensor, xv: Tensor, one_minus: Tensor, k: Curv,
               dim: int) -> Tensor:
    # (lambda_x / lambda_y) gyr[y, -x] v = ratio (v + 2 (a y - b x) / d) with the
    # gyration's coefficients (u = y, v = -x, w = v) rewritten in the step
    # delta = y - x: a y - b x = (a - b) x + a delta and
    # d = 1 - 2k<x, y> + k^2|x|^2|y|^2 = k|delta|^2 + (1 - k|x|^2)(1 - k|y|^2),
    # a sum of two non-negative terms. Near the boundary d is ~1e-12 while the
    # expanded form cancels to float32 rounding (~1e-7): transporting by it
    # multiplied the optimisers' first moment of such points by rounding
    # noise at every step, until its square overflowed and the next step made
    # the point NaN. xx = |x|^2, xv = <x, v>, one_minus = 1 - k|x|^2 (clamped).
    e = numerics.eps(x.dtype)
    delta = y - x
    yy = numerics.sq_norm(y, dim=dim, keepdim=True)
    q = numerics.dot(delta, v, dim=dim, keepdim=True)
    r = numerics.dot(x, delta, dim=dim, keepdim=True)
    s = numerics.sq_norm(delta, dim=dim, keepdim=True)
    one_minus_y = (1 - k * yy).clamp_min(e)
    d = k * s + one_minus * one_minus_y
    kk = k * k
    a = 2 * kk * r * xv - k * xv * one_minus - kk * xx * q
    a_minus_b = k * q * one_minus - kk * s * xv
    ratio = one_minus_y / one_minus
    return torch.addcmul(v * ratio, x, ratio * 2 * a_minus_b / d).addcmul_(delta, ratio * 2 * a / d)


@_accepts_c
def transp(x: Tensor, y: Tensor, v: Tensor, *, k: Curv = 1.0, dim: int = -1) -> Tensor:
    r"""Parallel transport :math:`\frac{\lambda_x}{\lambda_y}\operatorname{gyr}[y, -x]v`
    (Hyper-Know Eq. 3's gyration), in a form that stays accurate in float32
    for points a rounding away from the boundary (see :func:`_transport`)."""
    xx = numerics.sq_norm(x, dim=dim, keepdim=True)
    one_minus = (1 - k * xx).clamp_min(numerics.eps(x.dtype))
    return _transport(x, y, v, xx, numerics.dot(x, v, dim=dim, keepdim=True), one_minus, k, dim)
