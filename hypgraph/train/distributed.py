r"""Data-parallel training on :mod:`torch.distributed`.

Every process (*rank*) holds the whole model. Each mini-batch of an epoch
is the same on every rank (one shuffled order and one set of negatives,
drawn from generators seeded alike); rank :math:`r` computes the loss and
its gradient on its share of the batch, and the gradients are summed across
the ranks, each weighted by its share of the positives, *before* the
(Riemannian or Euclidean) step. The summed gradient is the gradient of the
whole batch's loss, the same on every rank, so every rank takes the same
step and the replicas stay identical; a one-process run with the same batch
size takes that step too, up to the order of floating-point sums.

Launch with ``torchrun --nproc_per_node N -m hypgraph train ...`` (or
``hypgraph train --nproc N``); :func:`init_from_environment` reads what
``torchrun`` sets. ``gloo`` on the CPU, ``nccl`` on CUDA devices (one per
rank, ``cuda:LOCAL_RANK``).

The process group is PyTorch's; nothing here replaces it:
:class:`GradientAllReduce` is one ``all_reduce`` per step of the flattened
dense gradients, the flags saying which exist and the loss (plus one of the
sparse row gradients of each sparse table on ``gloo``, which sums sparse
tensors natively).
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .device import DeviceSpec, resolve_device

__all__ = ["is_distributed", "rank", "world_size", "init_from_environment", "destroy", "GradientAllReduce",
           "broadcast_state", "broadcast_object", "all_reduce", "shard_bounds"]


def _dist():
    import torch.distributed as dist

    return dist


def is_distributed() -> bool:
    r"""Whether a default process group with more than one rank is set up."""
    dist = _dist()
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return _dist().get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of ranks (1 outside a process group)."""
    return _dist().get_world_size() if is_distributed() else 1


def init_from_environment(device: DeviceSpec = "auto") -> torch.device:
    r"""Join the process group ``torchrun`` describes in the environment
    (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``)
    and return this rank's device: ``cuda:LOCAL_RANK`` with the ``nccl``
    backend when :obj:`device` is (or ``'auto'`` finds) CUDA, else the CPU
    with ``gloo``. Does nothing but resolve :obj:`device` when
    ``WORLD_SIZE`` is absent or 1.

    Raises:
        ValueError: For a device :func:`~hypgraph.train.resolve_device`
            rejects, or fewer CUDA devices than local ranks.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    chosen = resolve_device(device)
    if world <= 1:
        return chosen
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if chosen.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(f"local rank {local} needs a CUDA device of its own, but there are "
                             f"{torch.cuda.device_count()}")
        chosen = torch.device("cuda", local)
        torch.cuda.set_device(chosen)
    dist = _dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return chosen


def destroy() -> None:
    r"""Leave the default process group, if one is set up."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard_bounds(size: int, parts: int, index: int) -> range:
    r"""Positions ``[start, stop)`` of part :obj:`index` when :obj:`size`
    items are cut into :obj:`parts` contiguous parts whose sizes differ by at
    most one (the first ``size % parts`` parts one larger), as
    :func:`torch.tensor_split` cuts them."""
    base, extra = divmod(size, parts)
    start = index * base + min(index, extra)
    return range(start, start + base + (index < extra))


def broadcast_state(module: nn.Module, source: int = 0) -> None:
    r"""Copy rank :obj:`source`'s parameters and buffers to every rank, in
    place (the replicas then start identical whatever each initialised)."""
    dist = _dist()
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, source)


def all_reduce(tensor: Tensor) -> None:
    r"""Sum :obj:`tensor` over the ranks, in place (every rank gets the sum)."""
    _dist().all_reduce(tensor)


def broadcast_object(value: Any, source: int = 0) -> Any:
    r""":obj:`value` of rank :obj:`source`, on every rank (picklable objects
    this library made itself: metrics, error messages)."""
    box = [value]
    _dist().broadcast_object_list(box, src=source)
    return box[0]


class GradientAllReduce:
    r"""Sums the gradients of :obj:`params` over the ranks, each rank's
    weighted by its share of the batch.

    Which parameters have a gradient, and whether it is dense or sparse, is
    agreed on every step: each rank adds two flags per parameter to the
    exchange. The dense gradients travel flattened in one buffer laid out as
    the previous step agreed, with the flags and the weighted loss at its
    end, so a step is one ``all_reduce`` (plus, on ``gloo``, one per sparse
    gradient; ``nccl`` sums only dense tensors, so sparse gradients are made
    dense there). When the flags show that the kinds changed (the first
    step, a parameter that got no gradient anywhere, or a new one), every
    rank sees it alike and the dense gradients are exchanged again in the
    new layout. A parameter without a gradient on every rank keeps none (an
    optimiser skips it as in one process); one with a gradient on some ranks
    gets theirs, the others contributing zeros. The flags are read on the
    host once per step.

    Args:
        params (Sequence[Tensor]): In the same order on every rank (e.g. the
            optimiser's parameter groups).
    """

    def __init__(self, params: Sequence[Tensor]) -> None:
        self.params: List[Tensor] = list(params)
        self.sparse_native = _dist().get_backend() == "gloo"
        dtypes = {p.dtype for p in self.params}
        # gradients, flags and loss travel together when the parameters share
        # one dtype; otherwise the flags go first and the gradients in float64
        self.merged = len(dtypes) == 1
        self.dtype = next(iter(dtypes)) if self.merged else torch.float64
        self.layout: Optional[Tuple[Tuple[int, ...], Tuple[int, ...]]] = None  # (dense, sparse) agreed last

    def __call__(self, loss: Tensor, share: float) -> Tensor:
        r"""Replace every ``.grad`` by the weighted sum over the ranks and
        return :math:`\sum_r \text{share}_r\,\text{loss}_r`, the same 0-dim
        tensor on every rank (so a non-finite loss anywhere is seen
        everywhere)."""
        dist = _dist()
        grads = [p.grad for p in self.params]
        flags = torch.zeros(2 * len(grads) + 1, dtype=self.dtype, device=loss.device)
        for i, g in enumerate(grads):
            if g is not None:
                flags[2 * i + int(g.is_sparse)] = 1.0
        flags[-1] = loss.detach().to(self.dtype) * share
        guess = self.layout if self.merged else None
        flat = torch.cat([*self._dense_parts(grads, guess[0], share), flags]) if guess else flags
        dist.all_reduce(flat)
        summed = flat[flat.numel() - flags.numel():]
        layout = self._layout(summed[:-1].view(-1, 2).tolist())  # the one read of the step
        if layout != guess:  # the buffer's layout was not the agreed one: exchange again
            flat = torch.cat(self._dense_parts(grads, layout[0], share)) if layout[0] else flat[:0]
            if layout[0]:
                dist.all_reduce(flat)
        offset = 0
        for i in layout[0]:
            p = self.params[i]
            p.grad = flat[offset:offset + p.numel()].view_as(p).to(p.dtype)
            offset += p.numel()
        for i in layout[1]:
            self.params[i].grad = self._sparse_sum(grads[i], self.params[i], share)
        for i in set(range(len(grads))) - set(layout[0]) - set(layout[1]):
            self.params[i].grad = None
        self.layout = layout
        return summed[-1].to(loss.dtype)

    def _layout(self, present) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        # (dense, sparse) parameter indices from the summed flags
        dense: List[int] = []
        sparse: List[int] = []
        for i, (has_dense, has_sparse) in enumerate(present):
            if has_sparse and (has_dense or not self.sparse_native):
                dense.append(i)  # mixed kinds, or a backend without sparse sums: dense
            elif has_sparse:
                sparse.append(i)
            elif has_dense:
                dense.append(i)
        return tuple(dense), tuple(sparse)

    def _dense_parts(self, grads: List[Optional[Tensor]], dense: Sequence[int], share: float) -> List[Tensor]:
        parts = []
        for i in dense:
            g, p = grads[i], self.params[i]
            if g is None:
                parts.append(torch.zeros(p.numel(), dtype=self.dtype, device=p.device))
            else:
                parts.append((g.to_dense() if g.is_sparse else g).reshape(-1).to(self.dtype) * share)
        return parts

    def _sparse_sum(self, g: Optional[Tensor], p: Tensor, share: float) -> Tensor:
        if g is None:
            index = torch.zeros(1, 0, dtype=torch.long, device=p.device)
            g = torch.sparse_coo_tensor(index, torch.zeros(0, *p.shape[1:], dtype=p.dtype, device=p.device),
                                        p.shape, device=p.device)
        g = (g.coalesce() * share).coalesce()
        _dist().all_reduce(g)
        return g.coalesce()
