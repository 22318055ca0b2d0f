r"""Riemannian Adam (Bécigneul & Ganea, ICLR 2019)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _rows as R
from . import functional as F
from .base import RiemannianOptimizer

__all__ = ["RiemannianAdam"]

_NAME = "RiemannianAdam"


def _check(group: dict) -> None:
    R.check_common(group)
    eps, betas = group["eps"], group["betas"]
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas} (expected a pair (beta1, beta2))")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if group.get("euclidean_factor", "coordinate") not in ("coordinate", "point"):
        raise ValueError(f"Invalid euclidean_factor: {group['euclidean_factor']!r} "
                         f"(expected 'coordinate' or 'point')")


class RiemannianAdam(RiemannianOptimizer):
    r"""Riemannian Adam from `"Riemannian Adaptive Optimization Methods"
    <https://arxiv.org/abs/1810.00760>`_ (Bécigneul & Ganea, ICLR 2019), the
    adaptive optimiser [Chamberlain 2019] names as future work.

    A table of points is treated as a product of manifolds, one factor per
    point, and adaptivity acts across the factors (Bécigneul & Ganea, §3.2):
    for a point :math:`x_t` with Riemannian gradient
    :math:`g_t = \Pi_{x_t}(g^{-1}\nabla L)` ([Chamberlain 2019] Eq. 20-21),

    .. math::
        m_t &= \beta_1 \tau_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\,\lVert g_t\rVert^2_{x_t},\\
        x_{t+1} &= \operatorname{Exp}_{x_t}\!\Big(-\frac{\alpha}{1-\beta_1^t}\,
                   \frac{m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}\Big), \qquad
        \tau_t = \Gamma_{x_t\to x_{t+1}}(m_t),

    so the first moment is a tangent vector parallel-transported with
    ``manifold.transp``, the second moment one scalar per point, the squared
    Riemannian norm ``manifold.norm(x, g) ** 2`` (state ``exp_avg_sq`` of
    shape ``(..., 1)``), and the
    step is ``manifold.expmap`` (which re-projects with ``projx``). With
    ``amsgrad=True`` the running maximum of :math:`v_t` is used (RAMSGRAD).

    **Euclidean parameters.** Plain tensors, and parameters whose manifold is
    :class:`~hypgraph.manifolds.Euclidean` (:math:`\mathbb R^n`, the product
    of :math:`n` lines), follow :class:`torch.optim.Adam` operation for
    operation, with a second moment per coordinate (``max_grad_norm``
    aside, which clips each row of the last dimension).

    **Euclidean points** (a :class:`~hypgraph.optim.ManifoldParameter` on
    :class:`~hypgraph.manifolds.Euclidean`) can instead be treated as the
    manifold tables are, one factor per point: ``euclidean_factor='point'``
    keeps one second moment per row, the squared norm of the row's gradient,
    and steps :math:`x - \alpha\,\hat m/(\sqrt{\hat v}+\epsilon)` with
    that scalar. This is the same optimiser a hyperbolic table gets, so a
    hyperbolic model and its Euclidean twin then differ in geometry only;
    with the default ``'coordinate'`` the Euclidean twin also gets Adam's
    per-coordinate adaptivity, which on MovieLens 100K alone is worth more
    than 0.1 HR@10 (``benchmarks/results/chamberlain``). Plain tensors are
    always per coordinate.

    **Weight decay** is the L2 penalty for Euclidean parameters and the
    geodesic pull toward the origin, :math:`-\lambda_w\log_x(o)` (the
    Riemannian gradient of :math:`\tfrac{\lambda_w}{2}d(o,x)^2`), for manifold
    parameters; like torch's Adam it is added to the gradient before the
    moments. See :class:`RiemannianSGD`.

    **Sparse gradients** update only the touched rows (gathered, stepped,
    written back with ``index_copy_``); moments are lazy, as in
    :class:`torch.optim.SparseAdam`: an untouched row's moments do not decay
    and the row does not move. Unlike ``SparseAdam``, which bias-corrects
    with the global step, each row is bias-corrected with its own number of
    updates (``state["step"]`` becomes one count per row), so a row's first
    update has the usual Adam size whenever it first appears in a batch.

    Args:
        params (iterable): Parameters or param-group dicts.
        lr (float): Learning rate :math:`\alpha` (default: ``1e-3``).
        betas (Tuple[float, float]): :math:`(\beta_1, \beta_2)`
            (default: ``(0.9, 0.999)``).
        eps (float): :math:`\epsilon` added to the denominator
            (default: ``1e-8``).
        weight_decay (float): Weight decay, see above (default: ``0``).
        amsgrad (bool): Use the running maximum of the second moment
            (default: ``False``).
        max_grad_norm (float, optional): Clip each point's Riemannian
            gradient to this norm before it enters the moments
            ([Chamberlain 2019] §5.3) (default: ``None``).
        euclidean_factor (str): ``'coordinate'`` (:class:`torch.optim.Adam`)
            or ``'point'`` (one second moment per point, as on a manifold)
            for Euclidean manifold parameters; see above
            (default: ``'coordinate'``).

    Example:
        >>> from hypgraph.manifolds import PoincareBall
        >>> from hypgraph.optim import ManifoldParameter, RiemannianAdam
        >>> B = PoincareBall()
        >>> emb = ManifoldParameter(B.random(100, 8, std=0.1), B)
        >>> opt = RiemannianAdam([emb], lr=1e-2)
    """

    def __init__(self, params, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 max_grad_norm: Optional[float] = None, euclidean_factor: str = "coordinate") -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, max_grad_norm=max_grad_norm, euclidean_factor=euclidean_factor)
        _check(defaults)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("max_grad_norm", None)
            group.setdefault("euclidean_factor", "coordinate")

    _check = staticmethod(_check)

    def _init_state(self, state: dict, param: Tensor, manifold, amsgrad: bool) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            # one scalar per point on a manifold, one per coordinate in R^n
            shape = param.shape if manifold is None else param.shape[:-1] + (1,)
            state["exp_avg_sq"] = param.new_zeros(shape)
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = torch.zeros_like(state["exp_avg_sq"])

    def _update(self, param: Tensor, group: dict) -> None:
        amsgrad = group["amsgrad"]
        manifold = F.manifold_of(param)
        if manifold is None and group["euclidean_factor"] == "point":
            manifold = R.euclidean_points(param)  # one factor per point, as on a manifold
        index, x, grad = R.gather(param, param.grad, manifold, _NAME)
        state = self.state[param]
        self._init_state(state, param, manifold, amsgrad)
        count = R.advance_count(state, param, index)
        # the moments are the state itself (dense) or its gathered rows
        new = F.adam_step(x, grad, R.read(state["exp_avg"], index), R.read(state["exp_avg_sq"], index),
                          step=count, lr=group["lr"], betas=group["betas"], eps=group["eps"], manifold=manifold,
                          weight_decay=group["weight_decay"], max_grad_norm=group["max_grad_norm"],
                          max_exp_avg_sq=R.read(state["max_exp_avg_sq"], index) if amsgrad else None)
        R.write(param, index, new.x)
        R.store(state, "exp_avg", index, new.exp_avg)
        R.store(state, "exp_avg_sq", index, new.exp_avg_sq)
        if amsgrad:
            R.store(state, "max_exp_avg_sq", index, new.max_exp_avg_sq)
