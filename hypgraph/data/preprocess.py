r"""Preparation of interaction data before splitting: implicit feedback,
user-activity filtering, de-duplication and compaction.

Every function takes the :class:`~torch_geometric.data.HeteroData` shape of
:mod:`hypgraph.data.hetero`, returns a **new** object (a shallow copy, as PyG
transforms do: tensors that a step does not change are shared with the input,
none is modified in place), carries the per-interaction attributes
(``time``, ``rating``, ``train_mask``, ``test_mask``, ...) along with the edges
they belong to, and appends a :class:`~hypgraph.data.report.FilterReport` to
``data.filter_log``: nothing is dropped silently.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .hetero import INTERACTS, LINKS, check_interactions, set_interactions
from .report import FilterReport, record

__all__ = ["implicit_feedback", "min_user_interactions", "dedupe", "compact", "prepare"]


def implicit_feedback(data: HeteroData, min_rating: float) -> HeteroData:
    r"""Keep the interactions rated at least :obj:`min_rating`, turning explicit
    ratings into implicit positive feedback (Chamberlain 2019, §6.3: MovieLens
    ratings of 4 or 5 are the positives).

    Args:
        data (HeteroData): Interactions with a ``rating`` attribute.
        min_rating (float): Smallest rating that counts as a positive.

    Returns:
        HeteroData: A new object with the kept interactions.

    Raises:
        ValueError: If the interactions carry no ``rating``.
    """
    return _run(data, min_rating=min_rating)


def min_user_interactions(data: HeteroData, n: int) -> HeteroData:
    r"""Keep only the interactions of users with at least :obj:`n` of them.

    One pass, not a k-core: items may be left with fewer interactions.
    Chamberlain 2019, §6.2 trains on "users with more than 20 interactions",
    i.e. ``n=21``. Run :func:`dedupe` first so that repeats do not count.

    Args:
        data (HeteroData): Interactions.
        n (int): Minimum number of interactions a user must have.

    Returns:
        HeteroData: A new object with the kept interactions.

    Raises:
        ValueError: If :obj:`n` is negative.
    """
    return _run(data, min_users=n)


def dedupe(data: HeteroData) -> HeteroData:
    r"""Remove repeated ``(user, item)`` pairs, keeping one interaction per pair.

    The kept one is the earliest by ``time`` when the data has timestamps,
    ties (and data without time) going to the first row; kept rows stay in
    their input order.

    Args:
        data (HeteroData): Interactions.

    Returns:
        HeteroData: A new object without repeated pairs.
    """
    return _run(data, repeats=True)


def compact(data: HeteroData) -> HeteroData:
    r"""Drop users and items without interactions and renumber both
    ``0..n-1`` in their old order.

    Every per-node attribute (``raw_id``, and e.g. the latent coordinates of
    :func:`~hypgraph.data.synthetic.make_synthetic`) is subset alongside, so
    ``raw_id`` still maps each new index to its original identifier.
    ``('item', 'links', 'entity')`` is renumbered and loses the links of dropped
    items. Entities and the knowledge graph are left as they are: after
    compaction item ``i`` need not be entity ``i`` any more, the links say
    which entity it is.

    Args:
        data (HeteroData): Interactions (and optionally a KG).

    Returns:
        HeteroData: A new object in which every user and item has an interaction.
    """
    return _run(data, renumber=True)


def prepare(
    data: HeteroData,
    *,
    min_rating: Optional[float] = None,
    min_user_interactions: Optional[int] = None,
    dedupe: bool = True,
    compact: bool = True,
) -> HeteroData:
    r"""Apply the preparation steps in a fixed order:

    1. :func:`implicit_feedback` (if :obj:`min_rating` is given) — first, so that
       a repeated pair keeps a *positive* occurrence;
    2. :func:`dedupe` (if :obj:`dedupe`) — before counting, so that repeats do not
       make a user look more active than it is;
    3. :func:`min_user_interactions` (if :obj:`min_user_interactions` is given);
    4. :func:`compact` (if :obj:`compact`) — last, once every removal is done.

    The result, ``filter_log`` included, is that of calling the steps one
    after the other, but the interactions are copied once, at the end: the
    steps in between only narrow down which rows are kept. On 20M
    interactions this takes about 2 s and one copy of the interactions
    beyond the input.

    Args:
        data (HeteroData): Interactions as read from disk.
        min_rating (float, optional): Threshold for implicit feedback
            (Chamberlain 2019, §6.3 uses 4). (default: :obj:`None`)
        min_user_interactions (int, optional): Minimum interactions per user
            (Chamberlain 2019, §6.2 uses 21, "more than 20"). (default: :obj:`None`)
        dedupe (bool): Remove repeated pairs. (default: :obj:`True`)
        compact (bool): Drop nodes without interactions and renumber.
            (default: :obj:`True`)

    Returns:
        HeteroData: The prepared data; ``data.filter_log`` lists every step.
    """
    if min_rating is None and min_user_interactions is None and not dedupe and not compact:
        return data
    return _run(data, min_rating=min_rating, min_users=min_user_interactions, repeats=dedupe,
                renumber=compact)


# ---------------------------------------------------------------------------
# The steps on a mask of kept rows, materialised once.

#: Rows copied per block when the kept interactions are materialised: bounds
#: the temporaries of a copy (a block of indices and values) to a few MB.
_BLOCK = 1 << 20


def _run(data: HeteroData, *, min_rating: Optional[float] = None, min_users: Optional[int] = None,
         repeats: bool = False, renumber: bool = False) -> HeteroData:
    r"""The steps of :func:`prepare`, in its order, each recorded as if it had
    returned a new object; the interactions are copied once, at the end."""
    rows: Optional[_Rows] = None
    if min_rating is not None:
        rows = _Rows(data)
        rows.implicit_feedback(min_rating)
    if repeats:
        rows = rows or _Rows(data)
        rows.dedupe()
    if min_users is not None:
        if min_users < 0:
            raise ValueError(f"min_user_interactions needs n >= 0, got {min_users}")
        rows = rows or _Rows(data)
        rows.min_user_interactions(min_users)
    rows = rows or _Rows(data)
    return rows.finish(renumber)


class _Rows:
    r"""The interactions of :obj:`data`, which of them the steps so far keep
    (a boolean mask, ``None`` while all are) and the user and item degrees
    over the kept ones, kept up to date by subtracting the removed rows.

    The work is done on numpy views of the tensors (no copy): on a CPU its
    gathers, masks and sorts are several times faster than torch's on
    20M-row arrays. Tensors on another device are brought to the CPU and the
    results sent back.
    """

    def __init__(self, data: HeteroData):
        self.data = data
        self.edge_index, self.attrs = _interactions(data)
        self.device = self.edge_index.device
        self.user, self.item = _numpy(self.edge_index[0]), _numpy(self.edge_index[1])
        self.num_edges = self.edge_index.size(1)
        self.num_nodes = (data["user"].num_nodes, data["item"].num_nodes)
        self.keep: Optional[np.ndarray] = None
        self.kept = self.num_edges
        self._degree: Optional[List[np.ndarray]] = None
        self.out = copy.copy(data)            # receives the reports, then the interactions

    def degree(self, row: int) -> np.ndarray:
        r"""Kept interactions per user (``row=0``) or item (``row=1``)."""
        if self._degree is None:
            self._degree = [np.bincount(index if self.keep is None else index[self.keep], minlength=n)
                            for index, n in zip((self.user, self.item), self.num_nodes)]
        return self._degree[row]

    # -- the filters --------------------------------------------------------
    def implicit_feedback(self, min_rating: float) -> None:
        rating = self.attrs.get("rating")
        if rating is None:
            raise ValueError(
                f"implicit_feedback(min_rating={min_rating}) needs a 'rating' attribute on "
                f"{INTERACTS}, found only {sorted(self.attrs) or 'edge_index'}")
        # Compared by torch, in the rating's own dtype, as before.
        positive = _numpy(rating >= min_rating)
        self._drop_where(np.logical_not(positive, out=positive), f"rating >= {min_rating:g}")

    def min_user_interactions(self, n: int) -> None:
        active = self.degree(0) >= n
        # mode="clip" only spares numpy a buffer: the degrees span every user index.
        inactive = np.take(active, self.user, out=_empty(self.num_edges, bool), mode="clip")
        self._drop_where(np.logical_not(inactive, out=inactive), f"users with >= {n} interactions")

    def dedupe(self) -> None:
        time = self.attrs.get("time")
        rule = "earliest by time" if time is not None else "first row"
        self._drop(_repeats(self.user, self.item, time, self.num_nodes, self.keep),
                   f"dedupe (user, item) pairs, keeping the {rule}")

    def _drop_where(self, drop: np.ndarray, step: str) -> None:
        if self.keep is not None:
            drop &= self.keep
        self._drop(np.flatnonzero(drop), step)

    def _drop(self, removed: np.ndarray, step: str) -> None:
        r"""Drop the kept rows :obj:`removed` (indices) and record :obj:`step`
        with the users/items it left without interactions."""
        emptied = []
        if removed.size:
            self.degree(0)                    # the degrees before the removal
            if self.keep is None:
                self.keep = _empty(self.num_edges, bool)
                self.keep.fill(True)
            self.keep[removed] = False
        for row, (index, node_type) in enumerate(zip((self.user, self.item), ("user", "item"))):
            count = 0
            if removed.size:
                before = self.degree(row)
                lost = np.bincount(index[removed], minlength=before.size)
                count = int(np.count_nonzero((before > 0) & (before == lost)))
                before -= lost
            emptied.append(f"{count:,} {node_type}s")
        self.kept -= removed.size
        detail = f"left without interactions: {emptied[0]} and {emptied[1]}"
        record(self.out, FilterReport(step=step, kept=self.kept, removed=int(removed.size),
                                      detail=detail))

    # -- the result ---------------------------------------------------------
    def finish(self, renumber: bool) -> HeteroData:
        r"""The kept interactions (and, with :obj:`renumber`, the compaction
        of :func:`compact`) as a new object."""
        out = self.out
        keep = None if self.kept == self.num_edges else self.keep
        remaps: List[Optional[np.ndarray]] = [None, None]
        if renumber:
            counts = []
            for row, node_type in enumerate(("user", "item")):
                used = self.degree(row) > 0
                n, k = self.num_nodes[row], int(np.count_nonzero(used))
                if k < n:       # old index -> new, -1 if dropped
                    remaps[row] = np.where(used, np.cumsum(used) - 1, -1)
                _subset_nodes(out, node_type, torch.from_numpy(used))
                counts.append((n, k))
        if keep is None and remaps[0] is None and remaps[1] is None:
            edge_index = self.edge_index
        else:
            edge_index = torch.empty((2, self.kept), dtype=torch.long)
            for row, (index, remap) in enumerate(zip((self.user, self.item), remaps)):
                _compress(index, keep, edge_index[row].numpy(), remap)
            edge_index = edge_index.to(self.device)
        attrs = {k: v if keep is None else _compress_tensor(v, keep, self.kept)
                 for k, v in self.attrs.items()}
        set_interactions(out, edge_index, **attrs)
        if renumber:
            item_remap = None if remaps[1] is None else torch.from_numpy(remaps[1])
            links_removed = _renumber_links(self.data, out, item_remap)
            (nu, ku), (ni, ki) = counts
            detail = (f"dropped {nu - ku:,} of {nu:,} users and {ni - ki:,} of {ni:,} items "
                      f"without interactions and {links_removed:,} item-entity links of dropped "
                      f"items; renumbered users and items 0..n-1")
            record(out, FilterReport(step="compact", kept=self.kept, removed=0, detail=detail))
        return out


def _empty(size: int, dtype) -> np.ndarray:
    r"""``np.empty(size, dtype)`` from torch's allocator. numpy asks for
    transparent huge pages on large arrays, and on the VMs this was measured
    on a fresh huge page costs several times what its 512 small pages do
    (0.3-0.5 s of system time for 20M int64 against 0.07 s), and varies."""
    return torch.empty(size, dtype=torch.from_numpy(np.empty(0, dtype=dtype)).dtype).numpy()


def _numpy(value: Tensor) -> np.ndarray:
    r"""A numpy view of :obj:`value` (a CPU copy when it lives elsewhere)."""
    return value.detach().cpu().numpy()


def _repeats(user: np.ndarray, item: np.ndarray, time: Optional[Tensor],
             num_nodes: Tuple[int, int], keep: Optional[np.ndarray]) -> np.ndarray:
    r"""The rows (indices) that repeat the ``(user, item)`` pair of an earlier
    kept row, "earlier" meaning by ``(time, row)`` when :obj:`time` is given
    and by row otherwise; only rows in :obj:`keep` (all when ``None``) count.

    The pairs are keyed ``user * num_items + item`` and the keys of the kept
    rows sorted once (values only, in place) to find the repeated ones,
    usually few; the order by ``(pair, time, row)`` that picks the survivor
    is then taken (with torch's stable sorts, as before) among the rows of
    repeated pairs only.
    """
    num_users, num_items = num_nodes
    none = np.zeros(0, dtype=np.int64)
    key = _empty(user.size if keep is None else int(np.count_nonzero(keep)), np.int64)
    if keep is None:
        np.multiply(user, num_items, out=key)
        key += item
    else:
        _compress(user, keep, key)
        key *= num_items
        kept_item = _empty(key.size, np.int64)
        _compress(item, keep, kept_item)
        key += kept_item
        del kept_item
    if key.size < 2:
        return none
    key.sort()
    same = np.equal(key[1:], key[:-1], out=_empty(key.size - 1, bool))
    repeated = np.unique(key[1:][same])
    del key, same
    if repeated.size == 0:
        return none
    # Rows of the users with a repeated pair, then of the repeated pairs themselves.
    flagged = np.zeros(num_users, dtype=bool)
    flagged[repeated // num_items] = True
    # (mode="clip" spares numpy a buffer; a clipped row is no candidate after the key check)
    candidate = np.take(flagged, user, out=_empty(user.size, bool), mode="clip")
    if keep is not None:
        candidate &= keep
    rows = np.flatnonzero(candidate)
    del candidate
    key = user[rows] * num_items + item[rows]
    repeat = np.isin(key, repeated)
    rows, key = torch.from_numpy(rows[repeat]), torch.from_numpy(key[repeat])
    # Two stable sorts give the lexicographic order (pair, time, row).
    order = torch.arange(rows.numel())
    if time is not None:
        order = order[torch.sort(time[rows.to(time.device)].cpu(), stable=True).indices]
    order = order[torch.sort(key[order], stable=True).indices]
    sorted_key = key[order]
    later = torch.zeros_like(sorted_key, dtype=torch.bool)
    later[1:] = sorted_key[1:] == sorted_key[:-1]
    return rows[order[later]].numpy()


def _compress(source: np.ndarray, keep: Optional[np.ndarray], out: np.ndarray,
              remap: Optional[np.ndarray] = None) -> None:
    r"""Write ``source[keep]`` (along the first dimension; all rows when
    :obj:`keep` is ``None``), mapped through :obj:`remap` if given, into
    :obj:`out`, block by block so that the temporaries stay a few MB."""
    at = 0
    for start in range(0, source.shape[0], _BLOCK):
        part = source[start:start + _BLOCK]
        if keep is not None:
            part = part[keep[start:start + _BLOCK]]
        stop = at + part.shape[0]
        if remap is not None:
            np.take(remap, part, out=out[at:stop], mode="clip")     # remaps span every index
        else:
            out[at:stop] = part
        at = stop


def _compress_tensor(value: Tensor, keep: np.ndarray, kept: int) -> Tensor:
    r"""``value[keep]`` along the first dimension, through numpy when it
    can hold the dtype (and the tensor is a plain CPU one)."""
    if value.is_cpu and not value.requires_grad:
        try:
            source = value.numpy()
        except TypeError:                    # e.g. bfloat16: no numpy dtype
            source = None
        if source is not None:
            out = value.new_empty((kept,) + tuple(value.shape[1:]))
            _compress(source, keep, out.numpy())
            return out
    return value[torch.from_numpy(keep).to(value.device)]


def _renumber_links(data: HeteroData, out: HeteroData, item_remap: Optional[Tensor]) -> int:
    r"""Renumber ``('item', 'links', 'entity')`` of :obj:`data` into
    :obj:`out` through :obj:`item_remap` (``None``: every item kept), without
    the links of dropped items; returns how many were dropped."""
    if LINKS not in data.edge_types:
        return 0
    links = data[LINKS].edge_index
    new_item = links[0] if item_remap is None else item_remap[links[0]]
    keep = new_item >= 0
    store = out[LINKS]
    for key, value in data[LINKS].items():  # per-link attributes, if any
        if key != "edge_index" and isinstance(value, Tensor) and value.size(0) == keep.numel():
            store[key] = value[keep]
    store.edge_index = torch.stack([new_item[keep], links[1][keep]])
    return int((~keep).sum())


# ---------------------------------------------------------------------------
# Helpers shared with :mod:`hypgraph.data.split`.

def _interactions(data: HeteroData) -> Tuple[Tensor, Dict[str, Tensor]]:
    r"""The interaction ``edge_index`` and its per-edge attributes.

    Raises:
        ValueError: If there are no interactions, or the data has already been
            split (an ``edge_label_index`` is present).
    """
    store = check_interactions(data)
    edge_index = store.edge_index
    num_edges = edge_index.size(1)
    attrs: Dict[str, Tensor] = {}
    for key, value in store.items():
        if key == "edge_index":
            continue
        if key.startswith("edge_label"):
            raise ValueError(
                f"{INTERACTS} already carries '{key}' from a split; prepare and split "
                f"the full data, not one part of a split")
        if isinstance(value, Tensor) and value.dim() >= 1 and value.size(0) == num_edges:
            attrs[key] = value
        else:
            raise ValueError(
                f"{INTERACTS} attribute '{key}' is not per-edge (expected {num_edges} rows)")
    return edge_index, attrs


def _subset_nodes(data: HeteroData, node_type: str, keep: Tensor) -> None:
    r"""Subset every per-node attribute of :obj:`node_type` in place on a
    copied :obj:`data` (``num_nodes`` becomes the kept count)."""
    store = data[node_type]
    n = store.num_nodes
    keep_np = keep.numpy()
    for key, value in list(store.items()):
        if key == "num_nodes":
            continue
        if isinstance(value, Tensor) and value.dim() >= 1 and value.size(0) == n:
            store[key] = value[keep]
        elif isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
            store[key] = value[keep_np]
        elif isinstance(value, (list, tuple)) and len(value) == n:
            store[key] = type(value)(v for v, k in zip(value, keep_np) if k)
    store.num_nodes = int(keep.sum())
