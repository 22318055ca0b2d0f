"""Assemble the one :class:`~torch_geometric.data.HeteroData` shape every
reader, generator, model and the statistics CLI share (../shared/DESIGN.md).

.. code-block:: text

    data['user'].num_nodes, data['item'].num_nodes, data['entity'].num_nodes
    data['user'].raw_id / data['item'].raw_id / data['entity'].raw_id
    data['user', 'interacts', 'item'].edge_index      (+ time, rating when known,
                                                       + train_mask/test_mask for
                                                       given splits)
    data['item', 'rev_interacts', 'user'].edge_index   (same edges, reversed)
    data['item', 'links', 'entity'].edge_index         (item -> its KG entity)
    data['entity', 'relates', 'entity'].edge_index, .edge_type, .num_relations

``raw_id`` keeps the original identifiers (index -> original); use
:func:`index_of` for the other direction.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

__all__ = [
    "INTERACTS", "REV_INTERACTS", "LINKS", "RELATES",
    "build_hetero_data", "index_of", "set_interactions", "check_interactions",
]

INTERACTS = ("user", "interacts", "item")
REV_INTERACTS = ("item", "rev_interacts", "user")
LINKS = ("item", "links", "entity")
RELATES = ("entity", "relates", "entity")

RawIds = Union[Tensor, np.ndarray, Sequence]


def _long(x) -> Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.long)


def _rows_of_one(first, second) -> Optional[Tensor]:
    # first and second as the [2, E] array they are the rows of, without a
    # copy: edge[0] and edge[1] of a C-contiguous [2, E] int64 numpy array or
    # long tensor. None when they are not.
    if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
        if not (first.dtype == second.dtype == np.int64 and first.ndim == second.ndim == 1
                and first.shape == second.shape and first.flags.c_contiguous and second.flags.c_contiguous
                and first.base is not None and first.base is second.base and len(first)):
            return None
        start = first.__array_interface__["data"][0]
        if second.__array_interface__["data"][0] != start + first.nbytes:
            return None
        both = np.lib.stride_tricks.as_strided(first, shape=(2, len(first)), strides=(first.nbytes, 8),
                                               writeable=first.flags.writeable)
        return torch.as_tensor(both)
    if isinstance(first, Tensor) and isinstance(second, Tensor):
        if not (first.dtype == second.dtype == torch.long and first.dim() == second.dim() == 1
                and first.shape == second.shape and first.is_contiguous() and second.is_contiguous()
                and first.numel() and first.device == second.device
                and first.untyped_storage().data_ptr() == second.untyped_storage().data_ptr()
                and second.storage_offset() == first.storage_offset() + first.numel()):
            return None
        return first.as_strided((2, first.numel()), (first.numel(), 1), first.storage_offset())
    return None


def _pair(first, second) -> Tensor:
    # [2, E]: the rows of one array as they are, else the two stacked.
    joined = _rows_of_one(first, second)
    return joined if joined is not None else torch.stack([_long(first), _long(second)])


def _raw_ids(raw: Optional[RawIds], n: int, kind: str):
    if raw is None:
        return torch.arange(n)
    if len(raw) != n:
        raise ValueError(f"raw ids for '{kind}' have length {len(raw)}, expected {n}")
    if not (isinstance(raw, list) and all(type(r) is str for r in raw)):  # noqa: E721
        # (a list of str is never integers: no fixed-width numpy copy of it to find out)
        arr = np.asarray(raw)
        if arr.dtype.kind in "iu":
            return torch.as_tensor(arr, dtype=torch.long)
        del arr
    return np.fromiter((str(r) for r in raw), dtype=object, count=n)


def check_interactions(data: HeteroData, *, labels: bool = False, what: str = "data"):
    r"""The ``('user', 'interacts', 'item')`` store of :obj:`data`, after
    checking that it is the shape every reader and split returns.

    Args:
        data (HeteroData): The graph.
        labels (bool): Also require ``edge_label_index`` (held-out pairs of a
            split's validation or test part). (default: :obj:`False`)
        what (str): How to name :obj:`data` in errors, e.g. ``"val_data"``.

    Raises:
        ValueError: Naming what is missing, in one line.
    """
    if not isinstance(data, HeteroData):
        raise TypeError(f"{what} must be a HeteroData, got {type(data).__name__}")
    if INTERACTS not in data.edge_types or "edge_index" not in data[INTERACTS]:
        raise ValueError(f"{what} has no {INTERACTS} edges; build it with build_hetero_data")
    for node_type in ("user", "item"):
        if node_type not in data.node_types or data[node_type].num_nodes is None:
            raise ValueError(f"{what} has no {node_type!r} node count; build it with build_hetero_data")
    store = data[INTERACTS]
    if labels and "edge_label_index" not in store:
        raise ValueError(f"{what} has no held-out pairs (edge_label_index); pass a part returned by "
                         f"a split of hypgraph.data.split")
    return store


def set_interactions(data: HeteroData, edge_index: Tensor, **edge_attrs: Optional[Tensor]) -> HeteroData:
    """Set ``('user','interacts','item')`` and its reverse to :obj:`edge_index`
    (shape ``[2, E]``, row 0 users, row 1 items) with per-edge attributes
    (``None`` values are skipped). The reverse edge type carries the same
    attributes in the same order."""
    edge_index = edge_index.to(torch.long)
    data[INTERACTS].edge_index = edge_index
    data[REV_INTERACTS].edge_index = edge_index.flip(0)
    for store in (data[INTERACTS], data[REV_INTERACTS]):
        for key in list(store.keys()):
            if key != "edge_index":
                del store[key]
    for key, value in edge_attrs.items():
        if value is None:
            continue
        if value.size(0) != edge_index.size(1):
            raise ValueError(
                f"edge attribute '{key}' has {value.size(0)} rows, expected {edge_index.size(1)}")
        data[INTERACTS][key] = value
        data[REV_INTERACTS][key] = value
    return data


def build_hetero_data(
    user: RawIds,
    item: RawIds,
    *,
    num_users: int,
    num_items: int,
    time: Optional[RawIds] = None,
    rating: Optional[RawIds] = None,
    train_mask: Optional[RawIds] = None,
    test_mask: Optional[RawIds] = None,
    user_raw_id: Optional[RawIds] = None,
    item_raw_id: Optional[RawIds] = None,
    kg_head: Optional[RawIds] = None,
    kg_relation: Optional[RawIds] = None,
    kg_tail: Optional[RawIds] = None,
    num_entities: Optional[int] = None,
    num_relations: Optional[int] = None,
    entity_raw_id: Optional[RawIds] = None,
    relation_raw_id: Optional[RawIds] = None,
    link_item: Optional[RawIds] = None,
    link_entity: Optional[RawIds] = None,
) -> HeteroData:
    r"""Build the project's :class:`HeteroData` from 0-based index arrays.

    Args:
        user, item: Interaction endpoints, 0-based indices (length ``E``).
            The rows of one ``[2, E]`` array (``edge[0], edge[1]`` of a
            C-contiguous int64 numpy array or long tensor) become
            ``edge_index`` as they are, without a copy; so do ``kg_head,
            kg_tail`` and ``link_item, link_entity`` (readers fill such an
            array row by row and free each source as it is copied, instead
            of holding the sources and their stacked copy together).
        num_users, num_items: Node counts (nodes without interactions allowed).
        time, rating: Optional per-interaction timestamps / ratings.
        train_mask, test_mask: Optional per-interaction booleans for datasets
            that ship their own train/test files.
        *_raw_id: Original identifiers, index -> original (default: arange).
        kg_head, kg_relation, kg_tail: Knowledge-graph triples over entity
            indices ``0..num_entities-1`` and relation ids ``0..num_relations-1``.
        link_item, link_entity: Item -> entity alignment pairs.

    Raises:
        ValueError: If an index is out of range or lengths disagree (readers
            validate first and raise :class:`DataFormatError` with file/line).
    """
    edge_index = _rows_of_one(user, item)
    if edge_index is None:
        user, item = _long(user), _long(item)
        if user.shape != item.shape or user.dim() != 1:
            raise ValueError(
                f"user and item must be 1-D of equal length, got {tuple(user.shape)} and {tuple(item.shape)}")
        edge_index = torch.stack([user, item])
    del user, item  # edge_index holds them (the caller may still hold the sources)
    _check_range(edge_index[0], num_users, "user")
    _check_range(edge_index[1], num_items, "item")

    data = HeteroData()
    data["user"].num_nodes = int(num_users)
    data["item"].num_nodes = int(num_items)
    data["user"].raw_id = _raw_ids(user_raw_id, num_users, "user")
    data["item"].raw_id = _raw_ids(item_raw_id, num_items, "item")

    attrs: Dict[str, Optional[Tensor]] = {
        "time": None if time is None else _long(time),
        "rating": None if rating is None else torch.as_tensor(np.asarray(rating), dtype=torch.float),
        "train_mask": None if train_mask is None else torch.as_tensor(np.asarray(train_mask), dtype=torch.bool),
        "test_mask": None if test_mask is None else torch.as_tensor(np.asarray(test_mask), dtype=torch.bool),
    }
    set_interactions(data, edge_index, **attrs)

    if kg_head is not None or link_item is not None:
        if num_entities is None:
            raise ValueError("num_entities is required with a knowledge graph")
        data["entity"].num_nodes = int(num_entities)
        data["entity"].raw_id = _raw_ids(entity_raw_id, num_entities, "entity")
    if kg_head is not None:
        ends, rel = _pair(kg_head, kg_tail), _long(kg_relation)
        if num_relations is None:
            num_relations = int(rel.max()) + 1 if rel.numel() else 0
        _check_range(ends[0], num_entities, "KG head entity")
        _check_range(ends[1], num_entities, "KG tail entity")
        _check_range(rel, num_relations, "KG relation")
        store = data[RELATES]
        store.edge_index = ends
        store.edge_type = rel
        store.num_relations = int(num_relations)
        if relation_raw_id is not None:
            store.relation_raw_id = _raw_ids(relation_raw_id, num_relations, "relation")
    if link_item is not None:
        links = _pair(link_item, link_entity)
        _check_range(links[0], num_items, "linked item")
        _check_range(links[1], num_entities, "linked entity")
        data[LINKS].edge_index = links
    return data


def _check_range(index: Tensor, n: int, what: str) -> None:
    if index.numel() == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{what} index {bad} out of range [0, {n})")


def index_of(data: HeteroData, node_type: str, raw_ids: Sequence) -> Tensor:
    """Map original identifiers of :obj:`node_type` to 0-based indices.

    Raises:
        KeyError: Naming the first identifier that is not in the data.
    """
    raw = data[node_type].raw_id
    keys = raw.tolist() if isinstance(raw, Tensor) else list(raw)
    lookup = {k: i for i, k in enumerate(keys)}
    cast = int if isinstance(raw, Tensor) else str
    out = []
    for r in raw_ids:
        try:
            out.append(lookup[cast(r)])
        except (KeyError, ValueError):
            raise KeyError(f"unknown {node_type} id {r!r}") from None
    return torch.tensor(out, dtype=torch.long)
