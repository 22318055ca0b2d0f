r"""The Fréchet (Karcher) mean by Riemannian gradient descent, for comparison
with the closed-form Einstein midpoint ([Chamberlain 2019] Fig. 4)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .base import Manifold

__all__ = ["frechet_mean"]


def frechet_mean(
    x: Tensor,
    weights: Optional[Tensor] = None,
    *,
    manifold: Manifold,
    init: Optional[Tensor] = None,
    lr: float = 1.0,
    max_iter: int = 100,
    tol: Optional[float] = None,
) -> Tensor:
    r"""Minimise :math:`f(p) = \tfrac12\sum_i w_i d^2(p, x_i)` over :math:`p` ([Chamberlain 2019] Eq. 23).

    The Riemannian gradient of :math:`f` is :math:`-\sum_i w_i \log_p(x_i)`, so
    each step is :math:`p \leftarrow \exp_p\big(t \sum_i \bar w_i \log_p(x_i)\big)`
    with normalised weights :math:`\bar w`. :math:`t = 1` is Karcher's
    fixed-point iteration; it overshoots when the points are spread (the
    Hessian of :math:`d^2/2` grows like :math:`d\coth d` in
    :math:`\mathbb{H}^n`), so :math:`t` is halved per mean until :math:`f`
    decreases (backtracking), which makes every step a descent step.

    Args:
        x (Tensor): Points, shape ``[..., N, D]``.
        weights (Tensor, optional): Non-negative, shape ``[..., N]`` (default: 1).
        manifold (Manifold): The model :obj:`x` lives in.
        init (Tensor, optional): Starting point ``[..., D]`` (default: ``x[..., 0, :]``).
        lr (float): Initial step :math:`t` of every iteration (default: ``1.0``).
        max_iter (int): Iterations (default: ``100``).
        tol (float, optional): Stop when every gradient's norm is below it
            (default: ``1e3 * finfo(dtype).eps``).

    Returns:
        Tensor: The mean, shape ``[..., D]``.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if weights is None:
        weights = torch.ones_like(x[..., 0])
    w = weights / weights.sum(dim=-1, keepdim=True)
    if tol is None:
        tol = 1e3 * torch.finfo(x.dtype).eps

    def cost(p: Tensor) -> Tensor:
        return (w * manifold.dist(p.unsqueeze(-2), x).pow(2)).sum(-1) / 2

    p = x[..., 0, :] if init is None else init
    f = cost(p)
    for _ in range(max_iter):
        step = (w.unsqueeze(-1) * manifold.logmap(p.unsqueeze(-2), x)).sum(dim=-2)
        if bool((manifold.norm(p, step) < tol).all()):
            break
        t = torch.full_like(f, lr).unsqueeze(-1)
        for _ in range(30):  # backtracking: halve t where f did not decrease
            candidate = manifold.expmap(p, t * step)
            f_new = cost(candidate)
            worse = (f_new > f).unsqueeze(-1)
            if not bool(worse.any()):
                break
            t = torch.where(worse, t / 2, t)
        improved = (f_new <= f).unsqueeze(-1)
        p = torch.where(improved, candidate, p)
        f = torch.minimum(f_new, f)
    return p
