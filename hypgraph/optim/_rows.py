r"""Row-wise machinery shared by the Riemannian optimisers.

A parameter is updated either whole (dense gradient) or on the rows its
sparse gradient touches; both cases run the same math on a tensor of rows
``x`` with gradient ``grad``, gathered here and scattered back with
``index_copy_``.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from ..manifolds import numerics as nx
from ..manifolds.base import Manifold
from ..manifolds.euclidean import Euclidean

Count = Union[float, Tensor]


def manifold_of(param: Tensor) -> Optional[Manifold]:
    r"""The manifold of :obj:`param`, or ``None`` for Euclidean geometry
    (plain tensors and :class:`Euclidean` parameters share one code path,
    which reproduces :mod:`torch.optim` exactly)."""
    manifold = getattr(param, "manifold", None)
    return None if manifold is None or isinstance(manifold, Euclidean) else manifold


def euclidean_points(param: Tensor) -> Optional[Manifold]:
    r"""The :class:`Euclidean` manifold of a parameter that holds Euclidean
    points (a :class:`~hypgraph.optim.ManifoldParameter` on it, at least 2-D),
    else ``None``: such a table can be optimised as a product of one factor
    per point, like the tables on other manifolds."""
    manifold = getattr(param, "manifold", None)
    return manifold if isinstance(manifold, Euclidean) and param.dim() >= 2 else None


def gather(param: Tensor, grad: Tensor, manifold: Optional[Manifold],
           optimizer: str) -> Tuple[Optional[Tensor], Tensor, Tensor]:
    r"""``(index, rows, grad_rows)``: the whole parameter for a dense gradient
    (``index`` is ``None``), else the rows touched by the coalesced sparse
    gradient (duplicate indices summed)."""
    if param.is_complex():
        raise ValueError(f"{optimizer}: complex parameters are not supported, got one of "
                         f"dtype {param.dtype}")
    if not grad.is_sparse:
        return None, param, grad
    if grad.sparse_dim() != 1:
        raise ValueError(f"{optimizer}: a sparse gradient must be sparse along dim 0 only "
                         f"(sparse_dim=1, as nn.Embedding(sparse=True) produces), got "
                         f"sparse_dim={grad.sparse_dim()} for a parameter of shape "
                         f"{tuple(param.shape)}")
    if manifold is not None and param.dim() < 2:
        raise ValueError(f"{optimizer}: a sparse gradient on a manifold parameter needs one "
                         f"point per row (shape (N, ..., D)), got shape {tuple(param.shape)}")
    grad = grad.coalesce()
    index = grad.indices()[0]
    return index, param.index_select(0, index), grad.values()


def read(tensor: Tensor, index: Optional[Tensor]) -> Tensor:
    return tensor if index is None else tensor.index_select(0, index)


def write(tensor: Tensor, index: Optional[Tensor], rows: Tensor) -> None:
    if index is None:
        if rows is not tensor:  # updated in place already
            tensor.copy_(rows)
    else:
        tensor.index_copy_(0, index, rows)


def store(state: dict, key: str, index: Optional[Tensor], rows: Tensor) -> None:
    """Put updated optimiser state back: the new tensor itself after a dense
    update (no copy), its rows otherwise."""
    if index is None:
        state[key] = rows
    else:
        state[key].index_copy_(0, index, rows)


def _scalar_dtype() -> torch.dtype:
    # torch.optim keeps `step` in float32 unless the default dtype is float64
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def advance_count(state: dict, param: Tensor, index: Optional[Tensor]) -> Count:
    r"""Count one more update of the rows being updated and return the new
    count.

    While a parameter only receives dense gradients, ``state["step"]`` is a
    0-d tensor as in :mod:`torch.optim` and the count is returned as a float.
    The first sparse gradient turns it into one ``int64`` count per row
    (dim 0), returned for the updated rows with shape ``(R, 1, ..., 1)``.
    (The key ``"step"`` is the one :meth:`torch.optim.Optimizer.load_state_dict`
    never casts to the parameter's dtype, so the counts stay integers.)
    """
    step = state.get("step")
    if step is None:
        step = state["step"] = torch.tensor(0.0, dtype=_scalar_dtype())
    if index is not None and step.dim() == 0:
        step = state["step"] = torch.full((param.size(0),), int(step.item()),
                                          dtype=torch.long, device=param.device)
    if step.dim() == 0:
        step += 1
        return step.item()
    if step.device != param.device:  # loaded from a checkpoint saved elsewhere
        step = state["step"] = step.to(param.device)
    if index is None:
        step += 1
        rows = step
    else:
        rows = step.index_select(0, index).add_(1)
        step.index_copy_(0, index, rows)
    return rows.view(-1, *([1] * (param.dim() - 1)))


def riemannian_grad(manifold: Optional[Manifold], x: Tensor, grad: Tensor,
                    weight_decay: float) -> Tensor:
    r"""The Riemannian gradient of the loss plus weight decay at :obj:`x`.

    Euclidean: ``grad + weight_decay * x`` (:mod:`torch.optim`'s L2 penalty).
    On a manifold the gradient is converted by ``egrad2rgrad`` (inverse
    metric, then tangent projection: [Chamberlain 2019] Eq. 20-21) and the
    weight decay is the Riemannian gradient of
    :math:`\tfrac{\lambda}{2} d(o, x)^2`, namely :math:`-\lambda \log_x(o)`:
    a geodesic pull toward the origin that is the same in every model of
    hyperbolic space and reduces to the L2 penalty in Euclidean space.
    """
    if manifold is None:
        return grad.add(x, alpha=weight_decay) if weight_decay != 0 else grad
    rgrad = manifold.egrad2rgrad(x, grad)  # Chamberlain 2019, Eq. 20-21
    if weight_decay != 0:
        origin = manifold.origin(*x.shape, dtype=x.dtype, device=x.device)
        rgrad = rgrad.sub(manifold.logmap(x, origin), alpha=weight_decay)
    return hold_overflowed(rgrad, grad)


def hold_overflowed(rgrad: Tensor, grad: Tensor) -> Tensor:
    r"""Zero the rows of a Riemannian gradient that overflowed although the
    Euclidean gradient is finite.

    On the hyperboloid the ambient coordinates of :math:`g^{-1}
abla` projected
    onto :math:`T_x` grow like :math:`x_0^2\lVert
abla
Vert`; for a float32
    point near :func:`projx`'s cap (coordinates ~1e17) a gradient of 1e3 is
    already out of range, and the step would turn the point into NaN. Such a
    point is held where it is for this step. A gradient that is itself not
    finite (a NaN loss) is left alone, so that it shows. One reduction per
    step; the mask is built only when something overflowed."""
    if nx.surely_finite(rgrad):
        return rgrad
    overflowed = ~torch.isfinite(rgrad.sum(dim=-1, keepdim=True)) & torch.isfinite(grad.sum(dim=-1, keepdim=True))
    return rgrad.masked_fill(overflowed, 0.0)


def clip(manifold: Optional[Manifold], x: Tensor, u: Tensor,
         max_norm: Optional[float]) -> Tensor:
    r"""Rescale each tangent vector (one per point, last dimension) whose
    Riemannian norm exceeds :obj:`max_norm` down to that norm
    ([Chamberlain 2019] §5.3: gradient norm clipping in the tangent space)."""
    if max_norm is None:
        return u
    if manifold is None:
        norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    else:
        norm = manifold.norm(x, u, keepdim=True)
    # a zero norm gives inf, clamped to a factor of 1
    return u * (max_norm / norm).clamp(max=1.0)


def restart_overflowed(moment: Tensor) -> Tensor:
    r"""Zero the rows of a transported moment that overflowed.

    A point held at :func:`projx`'s radial cap (float32: distance 40 from
    the origin, coordinates ~1e17) has tangent vectors of enormous ambient
    size; transporting a large moment there can overflow to ``inf``, and the
    next step would turn the point into NaN. Such a row restarts its
    momentum instead (in place). One reduction per step; the mask is built only when
    something overflowed."""
    if nx.surely_finite(moment):
        return moment
    return moment.masked_fill_(~torch.isfinite(moment.sum(dim=-1, keepdim=True)), 0.0)


def check_common(group: dict) -> None:
    r"""Validation shared by both optimisers, with torch.optim's messages."""
    lr, weight_decay = group["lr"], group["weight_decay"]
    max_grad_norm = group["max_grad_norm"]
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if max_grad_norm is not None and not max_grad_norm > 0.0:
        raise ValueError(f"Invalid max_grad_norm value: {max_grad_norm} "
                         f"(expected a positive number or None)")
