r"""Per-user interaction lists in CSR form: the history behind midpoint users,
seen-item masks and evaluation."""
from __future__ import annotations

import warnings
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ["InteractionCSR"]


class InteractionCSR:
    r"""The items of every user, as ``ptr`` (``[num_users + 1]``) and ``items``.

    Args:
        edge_index (Tensor): ``[2, E]`` (user, item) pairs.
        num_users (int): Number of users (users without pairs have empty rows).
    """

    def __init__(self, edge_index: Tensor, num_users: int) -> None:
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
        user = edge_index[0]
        if user.numel() and (int(user.min()) < 0 or int(user.max()) >= num_users):
            raise ValueError(f"user index out of range [0, {num_users})")
        order = torch.argsort(user, stable=True)
        self.items = edge_index[1][order]
        self.ptr = torch.zeros(num_users + 1, dtype=torch.long)
        self.ptr[1:] = torch.bincount(user, minlength=num_users).cumsum(0)
        self.num_users = num_users
        self._dedup: Optional[Tuple[Tensor, Tensor, Tensor]] = None

    def degree(self, users: Tensor) -> Tensor:
        return self.ptr[users + 1] - self.ptr[users]

    def rows(self, users: Tensor) -> Tuple[Tensor, Tensor]:
        """``(position in users, item)`` pairs of the rows of :obj:`users`."""
        local, position = _gather_rows(self.ptr, users)
        return local, self.items[position]

    def adjacency(self, users: Tensor, num_items: int, dtype: torch.dtype = torch.float32) -> Tensor:
        r"""The rows of :obj:`users` as a sparse CSR matrix ``[len(users), num_items]``
        whose entry :math:`(b, i)` counts how often ``users[b]`` interacted with
        item :math:`i` (columns sorted and distinct per row, as ``torch.sparse``
        requires). Multiplying it with a table of item features sums each
        user's history in one sparse-dense product; see
        :func:`~hypgraph.manifolds.einstein_midpoint` (``adj=``)."""
        if self.items.numel() and int(self.items.max()) >= num_items:
            raise ValueError(f"history has item {int(self.items.max())}, but num_items={num_items}")
        ptr, items, counts = self._distinct()
        local, position = _gather_rows(ptr, users)
        crow = torch.zeros(users.numel() + 1, dtype=torch.long, device=users.device)
        crow[1:] = torch.bincount(local, minlength=users.numel()).cumsum(0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(crow, items[position], counts[position].to(dtype),
                                           (users.numel(), num_items), check_invariants=False)

    def _distinct(self) -> Tuple[Tensor, Tensor, Tensor]:
        # per user: sorted distinct items and their multiplicities, built once
        if self._dedup is None:
            user = torch.repeat_interleave(torch.arange(self.num_users, device=self.items.device),
                                           self.ptr.diff())
            width = int(self.items.max()) + 1 if self.items.numel() else 1
            key, counts = torch.unique(user * width + self.items, return_counts=True)  # sorted
            ptr = torch.zeros_like(self.ptr)
            ptr[1:] = torch.bincount(key // width, minlength=self.num_users).cumsum(0)
            self._dedup = (ptr, key % width, counts)
        return self._dedup


def _gather_rows(ptr: Tensor, users: Tensor) -> Tuple[Tensor, Tensor]:
    # (position in users, index into the CSR arrays) of every entry of the rows
    start, count = ptr[users], ptr[users + 1] - ptr[users]
    local = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), count)
    offset = torch.arange(int(count.sum()), device=users.device) - torch.repeat_interleave(
        count.cumsum(0) - count, count)
    return local, start[local] + offset
