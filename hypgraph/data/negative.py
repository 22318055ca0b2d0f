r"""Negative sampling: items a user has not interacted with, drawn uniformly.

Membership of a ``(user, item)`` pair in the known positives is tested against
the sorted hashes ``user * num_items + item`` with :func:`torch.searchsorted`,
so no ``users x items`` matrix is ever built. Rejection sampling redraws only
the collisions; after a few rounds the entries still colliding (users who have
seen most of the catalogue) are drawn exactly instead, so the work stays
bounded however dense a user is. Both ways give each unseen item the same
probability.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from ..manifolds import numerics
from .hetero import INTERACTS

__all__ = ["sample_negatives", "sample_eval_negatives", "PositiveSet"]

# Rejection rounds before the exact fallback. A draw for a user who has seen a
# share s of the items survives a round with probability s, so after 8 rounds
# only users with s close to 1 are left (s = 0.5 leaves 0.4% of their draws).
_MAX_ROUNDS = 8
# Cap on the scores tensor of the dense fallback of sample_eval_negatives.
_DENSE_CHUNK = 1 << 22

Positives = Union[Tensor, Tuple[Tensor, Tensor], "PositiveSet"]


class PositiveSet:
    r"""Known positives prepared once (sorted hashes, per-user counts) for
    many :func:`sample_negatives` calls: a training loop that passes the raw
    ``edge_index`` as ``exclude=`` would sort all of it again every batch.

    Args:
        positives (Tensor or (Tensor, Tensor)): ``edge_index [2, M]`` or CSR.
        num_items (int): Number of items.
        num_users (int, optional): Number of users (default: largest user + 1).
    """

    def __init__(self, positives: Union[Tensor, Tuple[Tensor, Tensor]], num_items: int,
                 num_users: Optional[int] = None) -> None:
        keys = _positive_keys(positives, num_items)
        top = torch.full((1 if num_users else 0,), (num_users or 1) - 1, dtype=torch.long, device=keys.device)
        self.num_items = num_items
        self.positives = _Positives(keys, num_items, top)
        # whether some user has seen every item: only then can a draw for a
        # user of this set fail, so sample_negatives checks a batch only then
        self.has_full_user = bool((self.positives.count >= num_items).any())


def sample_negatives(
    edge_index: Tensor,
    num_items: int,
    num_negatives: int,
    *,
    generator: Optional[torch.Generator] = None,
    exclude: Optional[Positives] = None,
    method: Optional[str] = None,
) -> Tensor:
    r"""Draw :obj:`num_negatives` items per interaction, independently and
    uniformly among the items its user has not interacted with (the BPR
    negatives of Chamberlain 2019, §5.1).

    Args:
        edge_index (Tensor): Interactions ``[2, E]`` (row 0 users, row 1 items)
            to draw negatives for.
        num_items (int): Number of items.
        num_negatives (int): Negatives per interaction ``k``.
        generator (torch.Generator, optional): Source of randomness; the same
            seed gives the same negatives. (default: :obj:`None`, the global one)
        exclude (Tensor or (Tensor, Tensor) or PositiveSet, optional): Each
            user's full known positives, as an ``edge_index`` ``[2, M]``, a
            ``(rowptr, col)`` CSR pair, a ``torch.sparse_csr`` tensor of shape
            ``[num_users, num_items]``, or a :class:`PositiveSet` prepared once
            for many calls. (default: :obj:`edge_index`)
        method (str, optional): ``'rejection'`` (uniform draws, the
            collisions redrawn, then the exact draw for what is left) or
            ``'exact'`` (every entry by the exact draw: the :math:`r`-th
            unseen item of its user for a uniform :math:`r`, one
            :func:`torch.searchsorted`, no data-dependent shapes and so no
            host synchronisation on an accelerator). Both draw each unseen
            item with the same probability; their streams of random numbers
            differ. (default: ``'rejection'`` on the CPU, ``'exact'`` on any
            other device)

    Returns:
        LongTensor: ``[E, k]`` item indices; row ``e`` belongs to ``edge_index[:, e]``.
        Draws within a row are independent and may repeat.

    Raises:
        ValueError: If :obj:`num_items` or :obj:`num_negatives` is invalid, an
            item index is out of range, or a user has interacted with every item.
    """
    if num_items < 1:
        raise ValueError(f"num_items must be positive, got {num_items}")
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}")
    users = edge_index[0].long()
    if method is None:
        method = "rejection" if users.device.type == "cpu" else "exact"
    elif method not in ("rejection", "exact"):
        raise ValueError(f"method must be 'rejection' or 'exact', got {method!r}")
    if isinstance(exclude, PositiveSet):
        if exclude.num_items != num_items:
            raise ValueError(f"exclude was built for {exclude.num_items} items, not {num_items}")
        positives = exclude.positives
        # checked where it costs nothing: on an accelerator reading users.max()
        # would wait for the device every batch
        if numerics.host_checks(users) and users.numel() and int(users.max()) >= positives.count.numel():
            raise ValueError(f"user {int(users.max())} is beyond the PositiveSet's users; "
                             f"build it with num_users=")
    else:
        positives = _Positives(_positive_keys(edge_index if exclude is None else exclude, num_items),
                               num_items, users)
    if not isinstance(exclude, PositiveSet) or exclude.has_full_user:
        positives.require_unseen(users, 1)

    flat_users = users.repeat_interleave(num_negatives)
    if method == "exact":
        return positives.kth_unseen(flat_users, generator).view(users.numel(), num_negatives)
    out = torch.randint(num_items, (flat_users.numel(),), generator=generator, device=users.device)
    todo = torch.arange(out.numel(), device=users.device)
    for _ in range(_MAX_ROUNDS):
        todo = todo[positives.contains(flat_users[todo], out[todo])]
        if todo.numel() == 0:
            break
        out[todo] = torch.randint(num_items, (todo.numel(),), generator=generator, device=users.device)
    else:
        todo = todo[positives.contains(flat_users[todo], out[todo])]
        out[todo] = positives.kth_unseen(flat_users[todo], generator)
    return out.view(users.numel(), num_negatives)


def sample_eval_negatives(
    test_data: HeteroData,
    num_negatives: int = 100,
    *,
    generator: torch.Generator,
    distinct: bool = True,
) -> Tensor:
    r"""Negatives for sampled evaluation (Chamberlain 2019, §8.1): each
    held-out positive is ranked against :obj:`num_negatives` items drawn
    uniformly among those its user has not interacted with.

    "Not interacted with" means in none of train, validation or test: the
    ``edge_index`` (train + validation edges) and the ``edge_label_index``
    (test positives) of :obj:`test_data` from :mod:`hypgraph.data.split`.

    Args:
        test_data (HeteroData): The third part of a split.
        num_negatives (int): Negatives per held-out positive. (default: :obj:`100`)
        generator (torch.Generator): Source of randomness (required, so that
            evaluations are reproducible).
        distinct (bool): Draw the negatives of one positive without
            replacement, as a uniformly random set of unseen items; otherwise
            independently. (default: :obj:`True`)

    Returns:
        LongTensor: ``[L, num_negatives]``, row ``l`` for ``edge_label_index[:, l]``.

    Raises:
        ValueError: If a user has fewer unseen items than needed.
    """
    store = test_data[INTERACTS]
    if "edge_label_index" not in store:
        raise ValueError(f"test_data has no {INTERACTS} edge_label_index; build it with a split")
    label = store.edge_label_index
    known = torch.cat([store.edge_index, label], dim=1)
    num_items = test_data["item"].num_nodes
    if not distinct:
        return sample_negatives(label, num_items, num_negatives, generator=generator, exclude=known)
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}")

    users = label[0].long()
    positives = _Positives(_positive_keys(known, num_items), num_items, users)
    positives.require_unseen(users, num_negatives)
    out = torch.randint(num_items, (users.numel(), num_negatives), generator=generator, device=users.device)
    rows, bad = positives.rejects(users, out, torch.arange(users.numel(), device=users.device))
    for _ in range(_MAX_ROUNDS):
        if rows.numel() == 0:
            return out
        redraw = out[rows]
        redraw[bad] = torch.randint(num_items, (int(bad.sum()),), generator=generator, device=users.device)
        out[rows] = redraw
        rows, bad = positives.rejects(users, out, rows)
    if rows.numel():
        out[rows] = positives.random_unseen_sets(users[rows], num_negatives, generator)
    return out


# ---------------------------------------------------------------------------

def _positive_keys(positives: Positives, num_items: int) -> Tensor:
    r"""Sorted unique hashes ``user * num_items + item`` of the positives."""
    if isinstance(positives, Tensor) and positives.layout == torch.sparse_csr:
        positives = (positives.crow_indices(), positives.col_indices())
    if isinstance(positives, (tuple, list)):
        rowptr, col = (torch.as_tensor(t, dtype=torch.long) for t in positives)
        user = torch.repeat_interleave(torch.arange(rowptr.numel() - 1, device=rowptr.device), rowptr.diff())
        item = col
    else:
        if positives.dim() != 2 or positives.size(0) != 2:
            raise ValueError(f"exclude must be an edge_index [2, M] or a CSR, got shape "
                             f"{tuple(positives.shape)}")
        user, item = positives.long()
    if item.numel() and (int(item.min()) < 0 or int(item.max()) >= num_items):
        bad = int(item.min()) if int(item.min()) < 0 else int(item.max())
        raise ValueError(f"item index {bad} out of range [0, {num_items})")
    return torch.unique(user * num_items + item)


class _Positives:
    r"""The known positives as sorted hashes, with the per-user counts and
    offsets that membership tests and exact draws need."""

    def __init__(self, keys: Tensor, num_items: int, users: Tensor) -> None:
        self.keys, self.n = keys, num_items
        key_user = keys // num_items
        size = max(int(key_user.max()) + 1 if keys.numel() else 0,
                   int(users.max()) + 1 if users.numel() else 0)
        self.count = torch.bincount(key_user, minlength=size)
        self.start = torch.cumsum(self.count, 0) - self.count
        self.key_user = key_user
        self._gap_keys: Optional[Tensor] = None

    def require_unseen(self, users: Tensor, k: int) -> None:
        unseen = self.n - self.count[users]
        short = unseen < max(k, 1)
        if users.numel() and bool(short.any()):
            i = int(short.nonzero()[0])
            what = f"{k} distinct negatives" if k > 1 else "a negative"
            raise ValueError(
                f"user {int(users[i])} has interacted with {int(self.count[users[i]])} of "
                f"{self.n} items, leaving {int(unseen[i])} unseen: cannot draw {what}")

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        query = users * self.n + items
        if self.keys.numel() == 0:
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, query).clamp(max=self.keys.numel() - 1)
        return self.keys[pos] == query

    def rejects(self, users: Tensor, out: Tensor, rows: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Rows among :obj:`rows` of :obj:`out` holding a seen item or a repeat,
        and the mask of the entries to redraw in them."""
        sub = out[rows]
        bad = self.contains(users[rows, None].expand_as(sub), sub)
        values, order = torch.sort(sub, dim=1, stable=True)
        repeat = torch.zeros_like(bad)
        repeat.scatter_(1, order[:, 1:], values[:, 1:] == values[:, :-1])  # later copies
        bad |= repeat
        keep = bad.any(dim=1)
        return rows[keep], bad[keep]

    def kth_unseen(self, users: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        r"""One exact uniform draw among each user's unseen items.

        The ``r``-th unseen item of a user is ``r + #{j : e_j - j <= r}`` for its
        sorted seen items ``e_0 < e_1 < ...`` (``e_j - j`` counts the unseen items
        below ``e_j``); that count is one :func:`torch.searchsorted` over the
        keys ``user * (n + 1) + e_j - j``, sorted because ``e_j - j`` never
        decreases within a user.
        """
        unseen = self.n - self.count[users]
        r = (torch.rand(users.numel(), generator=generator, dtype=torch.double, device=users.device)
             * unseen).long()
        r = torch.minimum(r, unseen - 1)
        if self._gap_keys is None:  # depends on the positives alone: built once
            rank = torch.arange(self.keys.numel(), device=self.keys.device) - self.start[self.key_user]
            below = self.keys % self.n - rank
            self._gap_keys = self.key_user * (self.n + 1) + below
        found = torch.searchsorted(self._gap_keys, users * (self.n + 1) + r, right=True)
        return r + (found - self.start[users])

    def random_unseen_sets(self, users: Tensor, k: int, generator: torch.Generator) -> Tensor:
        r"""For each user a uniformly random ``k``-subset of its unseen items:
        the ``k`` smallest of i.i.d. uniform scores, seen items scored ``inf``.
        Dense per row, so only for the few rows rejection could not finish."""
        device = users.device
        out = torch.empty(users.numel(), k, dtype=torch.long, device=device)
        step = max(1, _DENSE_CHUNK // self.n)
        for lo in range(0, users.numel(), step):
            chunk = users[lo:lo + step]
            scores = torch.rand(chunk.numel(), self.n, generator=generator, device=device)
            counts = self.count[chunk]
            row = torch.repeat_interleave(torch.arange(chunk.numel(), device=device), counts)
            first = torch.repeat_interleave(self.start[chunk], counts)
            offset = torch.arange(row.numel(), device=device) - torch.repeat_interleave(
                torch.cumsum(counts, 0) - counts, counts)
            scores[row, self.keys[first + offset] % self.n] = float("inf")
            out[lo:lo + step] = torch.topk(scores, k, dim=1, largest=False).indices
        return out
