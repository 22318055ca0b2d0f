r"""The optimisers' update rules as functions of tensors.

=====================================  ============================================
function                               what
=====================================  ============================================
:func:`manifold_of`                    the manifold a parameter's rows live on, or
                                       ``None`` for :math:`\mathbb R^n`
:func:`riemannian_grad`                [Chamberlain 2019] Eq. 20-21, plus weight
                                       decay and the overflow guard
:func:`clip_tangent`                   tangent-norm clipping ([Chamberlain 2019]
                                       §5.3)
:func:`rsgd_step`                      one Riemannian SGD step (Eq. 20-22), with
                                       transported momentum
:func:`adam_step`                      one Riemannian Adam step (Bécigneul &
                                       Ganea, ICLR 2019)
=====================================  ============================================

:class:`~hypgraph.optim.RiemannianSGD` and
:class:`~hypgraph.optim.RiemannianAdam` keep the state (step counts, lazy
rows of sparse gradients, checkpoints) and call these on the rows they
update; :class:`~hypgraph.train.BilevelTrainer` calls :func:`rsgd_step` with
``differentiable=True`` for the proxy of Hyper-Know Eq. 12. The math of a
step, clipping and the overflow guards included, lives here only.

Like :mod:`torch.optim`'s functional steps, the default
(``differentiable=False``) updates :obj:`x` and the state tensors passed in
place where the update allows it (the optimisers pass tensors they own) and
returns the new tensors, which may be those same objects. With
``differentiable=True`` nothing passed in is modified and every operation is
recorded by autograd, so a step can be differentiated with respect to the
points, the gradient or anything upstream of it (``create_graph=True``).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from ..manifolds import numerics
from ..manifolds.base import Manifold

__all__ = ["manifold_of", "riemannian_grad", "clip_tangent", "rsgd_step", "adam_step", "AdamStep"]

#: An update count: a Python number (dense updates, as in :mod:`torch.optim`)
#: or one count per row, shaped to broadcast against the rows (sparse updates).
Count = Union[float, Tensor]


def manifold_of(param: Tensor) -> Optional[Manifold]:
    r"""The manifold of :obj:`param`, or ``None`` for Euclidean geometry
    (plain tensors and :class:`~hypgraph.manifolds.Euclidean` parameters
    share one code path, which reproduces :mod:`torch.optim` exactly)."""
    manifold = getattr(param, "manifold", None)
    return None if manifold is None or manifold.is_flat else manifold


def riemannian_grad(x: Tensor, grad: Tensor, *, manifold: Optional[Manifold] = None,
                    weight_decay: float = 0.0) -> Tensor:
    r"""The Riemannian gradient of the loss plus weight decay at :obj:`x`.

    Euclidean (``manifold=None``): ``grad + weight_decay * x``
    (:mod:`torch.optim`'s L2 penalty). On a manifold the gradient is converted
    by ``egrad2rgrad`` (inverse metric, then tangent projection:
    [Chamberlain 2019] Eq. 20-21) and the weight decay is the Riemannian
    gradient of :math:`\tfrac{\lambda}{2} d(o, x)^2`, namely
    :math:`-\lambda \log_x(o)`: a geodesic pull toward the origin that is the
    same in every model of hyperbolic space and reduces to the L2 penalty in
    Euclidean space. It is added as the Euclidean gradient
    :meth:`~hypgraph.manifolds.Manifold.decay_egrad` before the one
    conversion (no logarithmic map). Rows that overflow from a finite gradient are zeroed
    (see below). Out of place: autograd can differentiate it.

    **Overflow.** On the hyperboloid the ambient coordinates of
    :math:`\Pi_x(g^{-1}\nabla)` grow like :math:`x_0^2\lVert\nabla\rVert`; for
    a float32 point near ``projx``'s cap (coordinates ~1e17) a gradient of
    1e3 is already out of range, and the step would turn the point into NaN.
    Such a point is held where it is for this step. A gradient that is itself
    not finite (a NaN loss) is left alone, so that it shows.
    """
    if manifold is None:
        return grad.add(x, alpha=weight_decay) if weight_decay != 0 else grad
    decayed = _decayed(x, grad, manifold, weight_decay)
    rgrad = manifold.egrad2rgrad(x, decayed)  # Chamberlain 2019, Eq. 20-21
    return _hold_overflowed(rgrad, grad)


def _decayed(x: Tensor, grad: Tensor, manifold: Manifold, weight_decay: float) -> Tensor:
    # the loss's Euclidean gradient plus the decay's (Manifold.decay_egrad), so
    # that one egrad2rgrad converts both: no logarithmic map to the origin
    return grad.add(manifold.decay_egrad(x), alpha=weight_decay) if weight_decay != 0 else grad


def _hold_overflowed(rgrad: Tensor, grad: Tensor) -> Tensor:
    # one reduction per step; the mask is built only when something overflowed
    if numerics.surely_finite(rgrad):
        return rgrad
    overflowed = ~torch.isfinite(rgrad.sum(dim=-1, keepdim=True)) & torch.isfinite(grad.sum(dim=-1, keepdim=True))
    return rgrad.masked_fill(overflowed, 0.0)


def clip_tangent(x: Tensor, u: Tensor, max_norm: Optional[float], *,
                 manifold: Optional[Manifold] = None) -> Tensor:
    r"""Rescale each tangent vector (one per point, last dimension) whose
    Riemannian norm exceeds :obj:`max_norm` down to that norm
    ([Chamberlain 2019] §5.3: gradient norm clipping in the tangent space);
    ``max_norm=None`` returns :obj:`u` itself."""
    if max_norm is None:
        return u
    if manifold is None:
        norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    else:
        norm = manifold.norm(x, u, keepdim=True)
    # a zero norm gives inf, clamped to a factor of 1
    return u * (max_norm / norm).clamp(max=1.0)


def _restart_overflowed(moment: Tensor, inplace: bool) -> Tensor:
    # A point held at projx's radial cap (float32: distance 40 from the
    # origin, coordinates ~1e17) has tangent vectors of enormous ambient size;
    # transporting a large moment there can overflow to inf, and the next step
    # would turn the point into NaN. Such a row restarts its momentum instead.
    if numerics.surely_finite(moment):
        return moment
    overflowed = ~torch.isfinite(moment.sum(dim=-1, keepdim=True))
    return moment.masked_fill_(overflowed, 0.0) if inplace else moment.masked_fill(overflowed, 0.0)


def rsgd_step(x: Tensor, grad: Tensor, *, lr: float, manifold: Optional[Manifold] = None,
              weight_decay: float = 0.0, max_grad_norm: Optional[float] = None,
              momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
              momentum_buffer: Optional[Tensor] = None, fresh: Optional[Tensor] = None,
              differentiable: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
    r"""One Riemannian SGD step ([Chamberlain 2019] §5.3) of the points
    :obj:`x` with Euclidean gradient :obj:`grad`:

    .. math::
        h = \Pi_x(g^{-1}\nabla_x L) \quad (20\text{-}21), \qquad
        x' = \operatorname{Exp}_x(-\lambda h) \quad (22),

    with weight decay and the overflow guard of :func:`riemannian_grad`, then
    :func:`clip_tangent` (§5.3). With momentum :math:`\mu` the buffer
    :math:`b' = \mu\, b + (1-\tau) h` (the first buffer is :math:`h` itself)
    is stepped along (Nesterov: :math:`h + \mu b'`) and parallel-transported
    to :math:`x'`; a row whose transported buffer overflowed restarts at zero.
    For ``manifold=None`` this is :class:`torch.optim.SGD`'s update operation
    for operation. See :class:`~hypgraph.optim.RiemannianSGD` for the
    parameters.

    Args:
        x (Tensor): Points ``[..., D]`` (a parameter or its gathered rows).
        grad (Tensor): Euclidean gradient at :obj:`x`, same shape.
        lr (float): Learning rate :math:`\lambda`.
        manifold (Manifold, optional): :func:`manifold_of` the parameter
            (default: ``None``, :math:`\mathbb R^n` coordinate-wise).
        weight_decay (float): (default: ``0``)
        max_grad_norm (float, optional): (default: ``None``)
        momentum (float): :math:`\mu` (default: ``0``).
        dampening (float): :math:`\tau` (default: ``0``).
        nesterov (bool): (default: ``False``)
        momentum_buffer (Tensor, optional): :math:`b` at :obj:`x`; ``None``
            before the first step (default: ``None``).
        fresh (Tensor, optional): Boolean mask broadcasting against
            :obj:`x`: rows on their first update, whose buffer is :math:`h`
            (lazy sparse momentum) (default: ``None``).
        differentiable (bool): Out of place, for autograd (default: ``False``).

    Returns:
        ``(x', b')``: the new points and the transported buffer (``None``
        without momentum).
    """
    d_p = riemannian_grad(x, grad, manifold=manifold, weight_decay=weight_decay)  # Chamberlain 2019, Eq. 20-21
    d_p = clip_tangent(x, d_p, max_grad_norm, manifold=manifold)  # Chamberlain 2019, §5.3
    buf = None
    if momentum != 0:
        buf = _momentum(d_p, momentum_buffer, fresh, momentum, dampening, differentiable)
        d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
    if manifold is None:
        return x.add(d_p, alpha=-lr), buf
    if buf is None:
        return manifold.expmap(x, d_p * -lr), None  # Chamberlain 2019, Eq. 22 (re-projected)
    if d_p is not buf:
        new_x, buf = manifold.expmap_transp(x, d_p * -lr, buf)
    elif differentiable:
        new_x, buf = manifold.geodesic_step(x, buf, -lr)
    else:  # plain momentum: step along the buffer and carry it, in place
        manifold.geodesic_step_(x, buf, -lr)
        new_x = x
    return new_x, _restart_overflowed(buf, inplace=not differentiable)


def _momentum(d_p: Tensor, buf: Optional[Tensor], fresh: Optional[Tensor], momentum: float,
              dampening: float, differentiable: bool) -> Tensor:
    if buf is None:  # the first buffer is the gradient itself, as in torch.optim.SGD
        return d_p.clone() if differentiable else d_p.detach().clone()
    new = buf.mul(momentum).add_(d_p, alpha=1 - dampening)
    return new if fresh is None else torch.where(fresh, d_p, new)  # a row's first buffer is its gradient


def _rgrad_and_sq_norm(x: Tensor, grad: Tensor, manifold: Manifold, weight_decay: float,
                       max_grad_norm: Optional[float]) -> Tuple[Tensor, Tensor]:
    # (g, <g, g>_x) for Adam on a manifold: g = riemannian_grad then clip_tangent.
    # The manifold gives both at once (one shared pass), weight decay included
    # as riemannian_grad adds it (a Euclidean gradient before the conversion);
    # where its norm or gradient overflowed, or off the CPU, each is computed
    # as riemannian_grad and the manifold's norm do it, taken as norm^2 since
    # Lorentz.norm avoids the cancellation of <u, u>_L far from the origin
    decayed = _decayed(x, grad, manifold, weight_decay)
    rgrad, sq_norm = manifold.egrad2rgrad_sq_norm(x, decayed)  # Chamberlain 2019, Eq. 20-21
    if numerics.surely_finite(sq_norm) and numerics.surely_finite(rgrad):
        if max_grad_norm is not None:  # Chamberlain 2019, §5.3, as clip_tangent
            scale = (max_grad_norm / sq_norm.sqrt()).clamp(max=1.0)
            rgrad, sq_norm = rgrad * scale, sq_norm * scale.square()
        return rgrad, sq_norm
    rgrad = riemannian_grad(x, grad, manifold=manifold, weight_decay=weight_decay)  # Chamberlain 2019, Eq. 20-21
    rgrad = clip_tangent(x, rgrad, max_grad_norm, manifold=manifold)  # Chamberlain 2019, §5.3
    return rgrad, manifold.norm(x, rgrad, keepdim=True).square()


class AdamStep(NamedTuple):
    r"""What :func:`adam_step` returns: the new points and moments
    (``max_exp_avg_sq`` is ``None`` unless AMSGrad)."""
    x: Tensor
    exp_avg: Tensor
    exp_avg_sq: Tensor
    max_exp_avg_sq: Optional[Tensor]


def _bias_correction(beta: float, step: Count, dtype: torch.dtype):
    r""":math:`1 - \beta^t` for a scalar count (a float, as in torch.optim.Adam)
    or per-row counts (computed in float64, returned in :obj:`dtype`)."""
    if isinstance(step, float):
        return 1 - beta ** step
    return (1 - torch.pow(beta, step.to(torch.float64))).to(dtype)


def adam_step(x: Tensor, grad: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, *, step: Count, lr: float,
              betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
              manifold: Optional[Manifold] = None, weight_decay: float = 0.0,
              max_grad_norm: Optional[float] = None, max_exp_avg_sq: Optional[Tensor] = None,
              differentiable: bool = False) -> AdamStep:
    r"""One Riemannian Adam step (Bécigneul & Ganea, ICLR 2019) of the points
    :obj:`x`: with :math:`g = \Pi_x(g^{-1}\nabla L)` ([Chamberlain 2019]
    Eq. 20-21, weight decay and overflow guard of :func:`riemannian_grad`,
    then :func:`clip_tangent`),

    .. math::
        m &= \beta_1 m + (1-\beta_1)\, g, \qquad
        v = \beta_2 v + (1-\beta_2)\,\lVert g\rVert^2_x,\\
        x' &= \operatorname{Exp}_x\!\Big(-\frac{\alpha}{1-\beta_1^t}\,
              \frac{m}{\sqrt{v/(1-\beta_2^t)} + \epsilon}\Big),

    and :math:`m` is parallel-transported to :math:`x'` (a row that
    overflowed there restarts at zero). On a manifold (including
    :class:`~hypgraph.manifolds.Euclidean` points, one factor per point)
    :math:`v` is one scalar per point, shape ``[..., 1]``; for
    ``manifold=None`` it is per coordinate and the step is
    :class:`torch.optim.Adam`'s operation for operation. See
    :class:`~hypgraph.optim.RiemannianAdam`.

    Args:
        x (Tensor): Points ``[..., D]``.
        grad (Tensor): Euclidean gradient at :obj:`x`.
        exp_avg (Tensor): First moment :math:`m`, shape of :obj:`x`.
        exp_avg_sq (Tensor): Second moment :math:`v`.
        step (float or Tensor): This update's count :math:`t` (from 1): a
            number, or one count per row broadcasting against :obj:`x`.
        lr (float): :math:`\alpha`.
        betas (Tuple[float, float]): (default: ``(0.9, 0.999)``)
        eps (float): (default: ``1e-8``)
        manifold (Manifold, optional): (default: ``None``, :math:`\mathbb R^n`
            coordinate-wise)
        weight_decay (float): (default: ``0``)
        max_grad_norm (float, optional): (default: ``None``)
        max_exp_avg_sq (Tensor, optional): The running maximum of :math:`v`
            (AMSGrad; zeros before the first step); ``None`` for plain Adam.
        differentiable (bool): Out of place, for autograd (default: ``False``).
    """
    beta1, beta2 = betas
    if not isinstance(step, Tensor):
        step = float(step)
    if manifold is None:
        rgrad = riemannian_grad(x, grad, weight_decay=weight_decay)
        rgrad = clip_tangent(x, rgrad, max_grad_norm)
    else:
        rgrad, sq_norm = _rgrad_and_sq_norm(x, grad, manifold, weight_decay, max_grad_norm)
    if differentiable:
        exp_avg, exp_avg_sq = exp_avg.lerp(rgrad, 1 - beta1), exp_avg_sq.mul(beta2)
    else:
        exp_avg, exp_avg_sq = exp_avg.lerp_(rgrad, 1 - beta1), exp_avg_sq.mul_(beta2)
    if manifold is None:
        exp_avg_sq = exp_avg_sq.addcmul(rgrad, rgrad, value=1 - beta2) if differentiable else \
            exp_avg_sq.addcmul_(rgrad, rgrad, value=1 - beta2)
    else:  # Bécigneul & Ganea 2019: the squared Riemannian norm <g, g>_x
        exp_avg_sq = exp_avg_sq.add(sq_norm, alpha=1 - beta2) if differentiable else \
            exp_avg_sq.add_(sq_norm, alpha=1 - beta2)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        second = max_exp_avg_sq = torch.maximum(max_exp_avg_sq, exp_avg_sq)

    step_size = lr / _bias_correction(beta1, step, x.dtype)
    denom = (second.sqrt() / _bias_correction(beta2, step, x.dtype) ** 0.5).add_(eps)
    if manifold is None:
        if isinstance(step, float):
            new_x = torch.addcdiv(x, exp_avg, denom, value=-step_size)
        else:
            new_x = torch.addcdiv(x, exp_avg * step_size, denom, value=-1)
    else:
        if differentiable:
            new_x, exp_avg = manifold.geodesic_step(x, exp_avg, -step_size / denom)
        else:  # step along the geodesic and carry the first moment with it, in place
            manifold.geodesic_step_(x, exp_avg, -step_size / denom)
            new_x = x
        exp_avg = _restart_overflowed(exp_avg, inplace=not differentiable)
    return AdamStep(new_x, exp_avg, exp_avg_sq, max_exp_avg_sq)
