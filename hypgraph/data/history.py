r"""Per-user interaction lists in CSR form: the history behind midpoint users,
seen-item masks and evaluation; and :class:`Interactions`, one part of a
split indexed once for training, validation and evaluation alike."""
from __future__ import annotations

import functools
import warnings
import weakref
from typing import Dict, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .hetero import check_interactions
from .negative import PositiveSet

__all__ = ["InteractionCSR", "Interactions"]


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
        self.ptr = torch.zeros(num_users + 1, dtype=torch.long, device=user.device)
        self.ptr[1:] = torch.bincount(user, minlength=num_users).cumsum(0)
        self.num_users = num_users
        self._dedup: Optional[Tuple[Tensor, Tensor, Tensor]] = None

    def to(self, device: Union[str, torch.device]) -> "InteractionCSR":
        r"""These histories on :obj:`device` (itself when they are there)."""
        device = torch.device(device)
        if self.ptr.device == device:
            return self
        out = object.__new__(InteractionCSR)
        out.ptr, out.items, out.num_users = self.ptr.to(device), self.items.to(device), self.num_users
        out._dedup = None if self._dedup is None else tuple(t.to(device) for t in self._dedup)
        return out

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
                                           (users.numel(), num_items), check_invariants=False,
                                           device=users.device)

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


class Interactions:
    r"""One part of a split (:mod:`hypgraph.data.split`) indexed once: its
    ``(user, item)`` pairs and every structure built from them, each built on
    first use and then kept.

    ==================  =====================================================
    attribute           what
    ==================  =====================================================
    ``edge_index``      ``[2, E]`` the pairs a model may see (the part's
                        ``edge_index``)
    ``labels``          ``[2, L]`` its held-out pairs (``edge_label_index``),
                        or ``None``
    ``csr``             :class:`InteractionCSR` of ``edge_index``: the users'
                        histories, and the items full ranking leaves out
    ``positives``       :class:`~hypgraph.data.negative.PositiveSet` of
                        ``edge_index``: what training negatives exclude
    ``known``           :class:`~hypgraph.data.negative.PositiveSet` of
                        ``edge_index`` and ``labels``
    ``item_counts``     ``[num_items]`` pairs per item (popularity)
    ``user_counts``     ``[num_users]`` pairs per user
    ==================  =====================================================

    :meth:`of` returns the one object of a :class:`HeteroData` part, so a
    trainer, its validation and a later evaluation of the same part sort the
    pairs once between them. The tensors are read, never copied: a part whose
    ``edge_index`` is modified in place or replaced gets a fresh object.

    Args:
        edge_index (Tensor): ``[2, E]`` (user, item) pairs.
        num_users (int): Number of users.
        num_items (int): Number of items.
        labels (Tensor, optional): ``[2, L]`` held-out pairs.
        csr (InteractionCSR, optional): :attr:`csr` when it is already built.
    """

    def __init__(self, edge_index: Tensor, num_users: int, num_items: int, *,
                 labels: Optional[Tensor] = None, csr: Optional[InteractionCSR] = None) -> None:
        for name, pairs in (("edge_index", edge_index), ("labels", labels)):
            if pairs is not None and (pairs.dim() != 2 or pairs.size(0) != 2):
                raise ValueError(f"{name} must have shape [2, E], got {tuple(pairs.shape)}")
        if csr is not None and csr.num_users != num_users:
            raise ValueError(f"csr has {csr.num_users} users, not {num_users}")
        self.edge_index, self.labels = edge_index, labels
        self.num_users, self.num_items = int(num_users), int(num_items)
        self._built: Dict[str, object] = {} if csr is None else {"csr": csr}
        self._versions = _versions(edge_index, labels)

    @classmethod
    def of(cls, data: HeteroData, *, labels: bool = False, what: str = "data") -> "Interactions":
        r"""The :class:`Interactions` of a part's ``('user', 'interacts',
        'item')`` pairs, the same object on every call while the part holds
        the same tensors.

        Args:
            data (HeteroData): A part of a split (or any graph of that shape).
            labels (bool): Require held-out pairs (``edge_label_index``)
                (default: ``False``).
            what (str): How to name :obj:`data` in errors, e.g. ``"val_data"``.
        """
        store = check_interactions(data, labels=labels, what=what)
        edge_index = store.edge_index
        label = store.edge_label_index if "edge_label_index" in store else None
        num_users, num_items = data["user"].num_nodes, data["item"].num_nodes
        key = id(store)
        entry = _PARTS.get(key)
        if entry is not None and entry[0]() is store:
            found = entry[1]
            if (found.edge_index is edge_index and found.labels is label and found.num_users == num_users
                    and found.num_items == num_items and found._versions == _versions(edge_index, label)):
                return found
        found = cls(edge_index, num_users, num_items, labels=label)
        _PARTS[key] = (weakref.ref(store, functools.partial(_forget, key)), found)
        return found

    def _get(self, name: str, build):
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    def to(self, device: Union[str, torch.device]) -> "Interactions":
        r"""This part on :obj:`device`: itself when its pairs are there
        already, else a copy whose pairs (and every structure built from
        them) live on :obj:`device`, made once and kept."""
        device = torch.device(device)
        if self.edge_index.device == device:
            return self

        def build() -> "Interactions":
            labels = None if self.labels is None else self.labels.to(device)
            return Interactions(self.edge_index.to(device), self.num_users, self.num_items, labels=labels)

        return self._get(f"on {device}", build)

    @property
    def num_pairs(self) -> int:
        return self.edge_index.size(1)

    @property
    def csr(self) -> InteractionCSR:
        return self._get("csr", lambda: InteractionCSR(self.edge_index, self.num_users))

    @property
    def positives(self) -> PositiveSet:
        return self._get("positives", lambda: PositiveSet(self.edge_index, self.num_items, self.num_users))

    @property
    def known(self) -> PositiveSet:
        def build() -> PositiveSet:
            pairs = self.edge_index if self.labels is None else torch.cat([self.edge_index, self.labels], 1)
            return PositiveSet(pairs, self.num_items, self.num_users)

        return self._get("known", build)

    @property
    def item_counts(self) -> Tensor:
        return self._get("item_counts", lambda: torch.bincount(self.edge_index[1], minlength=self.num_items))

    @property
    def user_counts(self) -> Tensor:
        return self._get("user_counts", lambda: self.csr.ptr.diff())

    def __repr__(self) -> str:
        held = "" if self.labels is None else f", labels={self.labels.size(1)}"
        return (f"{type(self).__name__}(users={self.num_users}, items={self.num_items}, "
                f"pairs={self.num_pairs}{held})")


# id(EdgeStorage) -> (weak reference to it, its Interactions): storages are
# unhashable, and one entry must not keep its part alive
_PARTS: Dict[int, Tuple[weakref.ref, Interactions]] = {}


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _PARTS.get(key)
    if entry is not None and entry[0] is ref:
        del _PARTS[key]


def _versions(*tensors: Optional[Tensor]) -> Tuple[Optional[int], ...]:
    # bumped by every in-place change of the tensor
    return tuple(None if t is None else t._version for t in tensors)


def _gather_rows(ptr: Tensor, users: Tensor) -> Tuple[Tensor, Tensor]:
    # (position in users, index into the CSR arrays) of every entry of the rows
    start, count = ptr[users], ptr[users + 1] - ptr[users]
    local = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), count)
    offset = torch.arange(int(count.sum()), device=users.device) - torch.repeat_interleave(
        count.cumsum(0) - count, count)
    return local, start[local] + offset
