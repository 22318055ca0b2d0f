r"""Riemannian stochastic gradient descent ([Chamberlain 2019] §5.3)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _rows as R
from . import functional as F
from .base import RiemannianOptimizer

__all__ = ["RiemannianSGD"]

_NAME = "RiemannianSGD"


def _check(group: dict) -> None:
    R.check_common(group)
    momentum, dampening = group["momentum"], group["dampening"]
    if not 0.0 <= momentum:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if group["nesterov"] and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    stabilize = group["stabilize"]
    if stabilize is not None and (isinstance(stabilize, bool) or not isinstance(stabilize, int)
                                  or stabilize < 1):
        raise ValueError(f"Invalid stabilize value: {stabilize} (expected a positive int or None)")


class RiemannianSGD(RiemannianOptimizer):
    r"""Riemannian SGD with momentum, following `"Scalable Hyperbolic
    Recommender Systems" <https://arxiv.org/abs/1902.08648>`_ (Chamberlain
    et al., 2019, §5.3). For a parameter on a manifold (a
    :class:`~hypgraph.optim.ManifoldParameter`), each point :math:`x` with
    Euclidean gradient :math:`\nabla_x L` is updated by

    .. math::
        h_m = g^{-1}\nabla_x L \quad (20), \qquad
        h_t = \Pi_x(h_m) \quad (21), \qquad
        x_{t+1} = \operatorname{Exp}_{x_t}(-\lambda h_t) \quad (22),

    i.e. ``manifold.egrad2rgrad`` (Eq. 20-21), optional clipping of
    :math:`h_t` to a Riemannian norm of at most ``max_grad_norm`` per point
    (§5.3), then ``manifold.expmap`` (Eq. 22), whose result every manifold
    re-projects with ``projx``.

    With momentum :math:`\mu` the buffer lives in the tangent space and is
    parallel-transported to the new point after every step:

    .. math::
        b_t = \mu\,\Gamma_{x_{t-1}\to x_t}(b_{t-1}) + (1-\tau)\,h_t, \qquad
        x_{t+1} = \operatorname{Exp}_{x_t}(-\lambda b_t)

    (Nesterov: :math:`-\lambda(h_t + \mu b_t)`). The first buffer is
    :math:`h_t` itself, as in :class:`torch.optim.SGD`.

    **Euclidean parameters.** Plain tensors, and parameters whose manifold is
    :class:`~hypgraph.manifolds.Euclidean`, follow :class:`torch.optim.SGD`
    operation for operation (``max_grad_norm`` aside, which clips each row
    of the last dimension); put parameters that should not be clipped in a
    param group with ``max_grad_norm=None``.

    **Weight decay** :math:`\lambda_w` adds :math:`\lambda_w x` to Euclidean
    gradients (torch's L2 penalty). On a manifold it adds the Riemannian
    gradient of :math:`\tfrac{\lambda_w}{2}\, d(o, x)^2`, which is
    :math:`-\lambda_w \log_x(o)`: a pull toward the origin :math:`o` along the
    geodesic, by :math:`\lambda\lambda_w\, d(o, x)` per plain step. It is
    intrinsic (Lorentz, Poincaré and Klein parameters take the same step)
    and reduces to the L2 penalty in Euclidean space, whereas adding
    :math:`\lambda_w x` to the ambient gradient would depend on the model's
    coordinates.

    **Sparse gradients** (``nn.Embedding(sparse=True)``, on a plain or a
    manifold parameter) are coalesced and only the touched rows are updated
    (weight decay included): they are gathered, stepped with the same math,
    and written back with
    ``index_copy_``, so untouched rows and their momentum stay bit-identical.
    Momentum is lazy, as in :class:`torch.optim.SparseAdam`: a row's buffer
    decays only when the row is touched, and a row's first buffer is its
    gradient. A dense gradient, zero rows included, moves every row.

    Args:
        params (iterable): Parameters or param-group dicts.
        lr (float): Learning rate :math:`\lambda`.
        momentum (float): Momentum factor :math:`\mu` (default: ``0``).
        dampening (float): Dampening :math:`\tau` for momentum (default: ``0``).
        weight_decay (float): Weight decay :math:`\lambda_w`, see above
            (default: ``0``).
        nesterov (bool): Nesterov momentum (default: ``False``).
        max_grad_norm (float, optional): Clip each point's Riemannian
            gradient (after weight decay) to this norm; [Chamberlain 2019]
            §8.4 uses ``1``. A momentum-free step then moves each point by at
            most ``lr * max_grad_norm`` (default: ``None``, no clipping).
        stabilize (int, optional): Every this many updates of a row,
            re-project its momentum buffer onto the tangent space with
            ``proju``, removing any normal component that transport or
            rounding left (hypgraph's transports already land in the tangent
            space, so there this only trims rounding). Points are
            re-projected by ``expmap`` at every step (default: ``None``).

    Example:
        >>> from hypgraph.manifolds import Lorentz
        >>> from hypgraph.optim import ManifoldParameter, RiemannianSGD
        >>> H = Lorentz()
        >>> emb = ManifoldParameter(H.random(100, H.coord_dim(8)), H)
        >>> opt = RiemannianSGD([emb], lr=0.1, momentum=0.9, max_grad_norm=1.0)
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 max_grad_norm: Optional[float] = None, stabilize: Optional[int] = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov,
                        max_grad_norm=max_grad_norm, stabilize=stabilize)
        _check(defaults)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("max_grad_norm", None)
            group.setdefault("stabilize", None)

    _check = staticmethod(_check)

    def _update(self, param: Tensor, group: dict) -> None:
        manifold = F.manifold_of(param)
        index, x, grad = R.gather(param, param.grad, manifold, _NAME)
        state = self.state[param]
        count = R.advance_count(state, param, index)
        buf, fresh = self._buffer_rows(state, param, index, count) if group["momentum"] != 0 else (None, None)
        new_x, buf = F.rsgd_step(x, grad, lr=group["lr"], manifold=manifold, weight_decay=group["weight_decay"],
                                 max_grad_norm=group["max_grad_norm"], momentum=group["momentum"],
                                 dampening=group["dampening"], nesterov=group["nesterov"],
                                 momentum_buffer=buf, fresh=fresh)
        if buf is not None and manifold is not None:
            buf = self._stabilize(manifold, new_x, buf, count, group["stabilize"])
        R.write(param, index, new_x)
        if buf is not None:
            R.store(state, "momentum_buffer", index, buf)

    @staticmethod
    def _buffer_rows(state: dict, param: Tensor, index: Optional[Tensor],
                     count: R.Count) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        # (buffer rows, rows on their first update): torch.optim.SGD's buffer
        # while only dense gradients came; lazy rows once a sparse one did
        buf = state.get("momentum_buffer")
        if isinstance(count, float):
            return buf, None
        if buf is None:
            buf = state["momentum_buffer"] = torch.zeros_like(param)
        return R.read(buf, index), count == 1

    @staticmethod
    def _stabilize(manifold, new_x: Tensor, buf: Tensor, count: R.Count,
                   stabilize: Optional[int]) -> Tensor:
        if stabilize is None:
            return buf
        due = count % stabilize == 0
        if isinstance(due, Tensor):
            return torch.where(due, manifold.proju(new_x, buf), buf)
        return manifold.proju(new_x, buf) if due else buf
