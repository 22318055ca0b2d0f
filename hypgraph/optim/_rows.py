r"""Row-wise machinery shared by the Riemannian optimisers.

A parameter is updated either whole (dense gradient) or on the rows its
sparse gradient touches; both cases run the same math on a tensor of rows
``x`` with gradient ``grad``, gathered here and scattered back with
``index_copy_``. The math of a step is :mod:`hypgraph.optim.functional`'s.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from ..manifolds.base import Manifold
from .functional import Count


def euclidean_points(param: Tensor) -> Optional[Manifold]:
    r"""The :class:`Euclidean` manifold of a parameter that holds Euclidean
    points (a :class:`~hypgraph.optim.ManifoldParameter` on it, at least 2-D),
    else ``None``: such a table can be optimised as a product of one factor
    per point, like the tables on other manifolds."""
    manifold = getattr(param, "manifold", None)
    return manifold if manifold is not None and manifold.is_flat and param.dim() >= 2 else None


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
        # on the CPU whatever the parameter's device, as torch.optim keeps it
        # (reading it is then no wait for an accelerator)
        step = state["step"] = torch.tensor(0.0, dtype=_scalar_dtype(), device="cpu")
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
