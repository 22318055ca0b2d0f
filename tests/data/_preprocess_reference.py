# A frozen copy of hypgraph/data/preprocess.py as of 05ff4b4, before its rewrite for speed
# (issue 15): the reference that tests/data/test_preprocess_equivalence.py holds the fast
# implementation to, output for output. Not imported by the library.
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
import functools
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from hypgraph.data.hetero import INTERACTS, LINKS, check_interactions, set_interactions
from hypgraph.data.report import FilterReport, record

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
    edge_index, attrs = _interactions(data)
    rating = attrs.get("rating")
    if rating is None:
        raise ValueError(
            f"implicit_feedback(min_rating={min_rating}) needs a 'rating' attribute on "
            f"{INTERACTS}, found only {sorted(attrs) or 'edge_index'}")
    return _keep(data, rating >= min_rating, f"rating >= {min_rating:g}")


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
    if n < 0:
        raise ValueError(f"min_user_interactions needs n >= 0, got {n}")
    edge_index, _ = _interactions(data)
    degree = torch.bincount(edge_index[0], minlength=data["user"].num_nodes)
    return _keep(data, degree[edge_index[0]] >= n, f"users with >= {n} interactions")


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
    edge_index, attrs = _interactions(data)
    num_items = data["item"].num_nodes
    key = edge_index[0] * num_items + edge_index[1]
    order = torch.arange(key.numel())
    # Two stable sorts give the lexicographic order (pair, time, row).
    if "time" in attrs:
        order = order[torch.sort(attrs["time"], stable=True).indices]
    order = order[torch.sort(key[order], stable=True).indices]
    sorted_key = key[order]
    first = torch.ones_like(sorted_key, dtype=torch.bool)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    keep = torch.zeros_like(first)
    keep[order[first]] = True
    rule = "earliest by time" if "time" in attrs else "first row"
    return _keep(data, keep, f"dedupe (user, item) pairs, keeping the {rule}")


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
    edge_index, attrs = _interactions(data)
    out = copy.copy(data)
    remaps, counts = [], []
    for row, node_type in enumerate(("user", "item")):
        n = data[node_type].num_nodes
        used = torch.zeros(n, dtype=torch.bool)
        used[edge_index[row]] = True
        remap = torch.full((n,), -1, dtype=torch.long)  # old index -> new, -1 if dropped
        remap[used] = torch.arange(int(used.sum()))
        _subset_nodes(out, node_type, used)
        remaps.append(remap)
        counts.append((n, int(used.sum())))
    user_remap, item_remap = remaps
    set_interactions(out, torch.stack([user_remap[edge_index[0]], item_remap[edge_index[1]]]),
                     **attrs)

    links_removed = 0
    if LINKS in data.edge_types:
        links = data[LINKS].edge_index
        new_item = item_remap[links[0]]
        keep = new_item >= 0
        links_removed = int((~keep).sum())
        store = out[LINKS]
        for key, value in data[LINKS].items():  # per-link attributes, if any
            if key != "edge_index" and isinstance(value, Tensor) and value.size(0) == keep.numel():
                store[key] = value[keep]
        store.edge_index = torch.stack([new_item[keep], links[1][keep]])

    (nu, ku), (ni, ki) = counts
    detail = (f"dropped {nu - ku:,} of {nu:,} users and {ni - ki:,} of {ni:,} items "
              f"without interactions and {links_removed:,} item-entity links of dropped items; "
              f"renumbered users and items 0..n-1")
    record(out, FilterReport(step="compact", kept=edge_index.size(1), removed=0, detail=detail))
    return out


def _steps(min_rating: Optional[float], min_users: Optional[int], repeats: bool,
           renumber: bool) -> List[Callable[[HeteroData], HeteroData]]:
    r"""The steps :func:`prepare` runs, in order (built here, where the
    step functions are not shadowed by :func:`prepare`'s keyword names)."""
    steps: List[Callable[[HeteroData], HeteroData]] = []
    if min_rating is not None:
        steps.append(functools.partial(implicit_feedback, min_rating=min_rating))
    if repeats:
        steps.append(dedupe)
    if min_users is not None:
        steps.append(functools.partial(min_user_interactions, n=min_users))
    if renumber:
        steps.append(compact)
    return steps


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
    for step in _steps(min_rating, min_user_interactions, dedupe, compact):
        data = step(data)
    return data


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


def _keep(data: HeteroData, keep: Tensor, step: str) -> HeteroData:
    r"""A copy of :obj:`data` with only the interactions where :obj:`keep`,
    recorded as :obj:`step` with the users/items it left without interactions."""
    edge_index, attrs = _interactions(data)
    out = copy.copy(data)
    set_interactions(out, edge_index[:, keep], **{k: v[keep] for k, v in attrs.items()})
    emptied = []
    for row, node_type in enumerate(("user", "item")):
        n = data[node_type].num_nodes
        before = torch.bincount(edge_index[row], minlength=n) > 0
        after = torch.bincount(edge_index[row][keep], minlength=n) > 0
        emptied.append(f"{int((before & ~after).sum()):,} {node_type}s")
    kept = int(keep.sum())
    detail = f"left without interactions: {emptied[0]} and {emptied[1]}"
    record(out, FilterReport(step=step, kept=kept, removed=keep.numel() - kept, detail=detail))
    return out


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
