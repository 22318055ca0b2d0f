r"""Per-user interaction lists in CSR form: the history behind midpoint users,
seen-item masks and evaluation."""
from __future__ import annotations

from typing import Tuple

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

    def degree(self, users: Tensor) -> Tensor:
        return self.ptr[users + 1] - self.ptr[users]

    def rows(self, users: Tensor) -> Tuple[Tensor, Tensor]:
        """``(position in users, item)`` pairs of the rows of :obj:`users`."""
        start, count = self.ptr[users], self.degree(users)
        local = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), count)
        offset = torch.arange(int(count.sum()), device=users.device) - torch.repeat_interleave(
            count.cumsum(0) - count, count)
        return local, self.items[start[local] + offset]
