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
:class:`GradientAllReduce` is one ``all_reduce`` of the flattened dense
gradients per step (plus one of the sparse row gradients of each sparse
table on ``gloo``, which sums sparse tensors natively).
"""
from __future__ import annotations

import os
from typing import Any, List, Sequence

import torch
from torch import Tensor, nn

from .device import DeviceSpec, resolve_device

__all__ = ["is_distributed", "rank", "world_size", "init_from_environment", "destroy", "GradientAllReduce",
           "broadcast_state", "broadcast_object", "shard_bounds"]


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


def broadcast_object(value: Any, source: int = 0) -> Any:
    r""":obj:`value` of rank :obj:`source`, on every rank (picklable objects
    this library made itself: metrics, error messages)."""
    box = [value]
    _dist().broadcast_object_list(box, src=source)
    return box[0]


class GradientAllReduce:
    r"""Sums the gradients of :obj:`params` over the ranks, each rank's
    weighted by its share of the batch.

    Per step: one ``all_reduce`` of a small vector (which parameters have a
    gradient, dense or sparse, on any rank, and the weighted loss), one of
    every dense gradient flattened into one buffer, and on ``gloo`` one per
    sparse gradient (``nccl`` sums only dense tensors: sparse gradients are
    made dense there). A parameter without a gradient on every rank keeps
    none (an optimiser skips it as in one process); one with a gradient on
    some ranks gets theirs, the others contributing zeros.

    Args:
        params (Sequence[Tensor]): In the same order on every rank (e.g. the
            optimiser's parameter groups).
    """

    def __init__(self, params: Sequence[Tensor]) -> None:
        self.params: List[Tensor] = list(params)
        self.sparse_native = _dist().get_backend() == "gloo"

    def __call__(self, loss: Tensor, share: float) -> Tensor:
        r"""Replace every ``.grad`` by the weighted sum over the ranks and
        return :math:`\sum_r \text{share}_r\,\text{loss}_r`, the same 0-dim
        tensor on every rank (so a non-finite loss anywhere is seen
        everywhere)."""
        dist = _dist()
        device = loss.device
        grads = [p.grad for p in self.params]
        kinds = torch.zeros(2 * len(grads) + 1, dtype=torch.float64, device=device)
        for i, g in enumerate(grads):
            if g is not None:
                kinds[2 * i + int(g.is_sparse)] = 1.0
        kinds[-1] = loss.detach().double() * share
        dist.all_reduce(kinds)
        # one read per step (which buffers to exchange): the only time the
        # host waits for the device in a distributed step besides the logging reads
        present = kinds[:-1].view(-1, 2).tolist()
        dense: List[int] = []
        sparse: List[int] = []
        for i, (has_dense, has_sparse) in enumerate(present):
            if has_sparse and (has_dense or not self.sparse_native):
                dense.append(i)  # mixed kinds, or a backend without sparse sums: dense
            elif has_sparse:
                sparse.append(i)
            elif has_dense:
                dense.append(i)
        if dense:
            parts = []
            for i in dense:
                g, p = grads[i], self.params[i]
                if g is None:
                    parts.append(torch.zeros(p.numel(), dtype=p.dtype, device=p.device))
                else:
                    parts.append((g.to_dense() if g.is_sparse else g).reshape(-1) * share)
            flat = torch.cat(parts)
            dist.all_reduce(flat)
            offset = 0
            for i in dense:
                p = self.params[i]
                p.grad = flat[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
        for i in sparse:
            g, p = grads[i], self.params[i]
            if g is None:
                index = torch.zeros(1, 0, dtype=torch.long, device=p.device)
                g = torch.sparse_coo_tensor(index, torch.zeros(0, *p.shape[1:], dtype=p.dtype, device=p.device),
                                            p.shape, device=p.device)
            g = (g.coalesce() * share).coalesce()
            dist.all_reduce(g)
            p.grad = g.coalesce()
        return kinds[-1].to(loss.dtype)

