r"""KGCN / RippleNet processed folders (Wang et al., WWW 2019 / CIKM 2018):
``ratings_final.txt`` (``user item label``), ``kg_final.txt``
(``head relation tail``) and ``item_index2entity_id.txt``
(``original_item_id entity_id``, row ``i`` describing item ``i``).

Rows with label 0 are negatives *sampled at random* by the preprocessing, not
observed interactions: they are left out and their count is recorded in
``data.filter_log``. Their users still count as nodes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
from torch_geometric.data import HeteroData

from ..hetero import build_hetero_data
from ..report import FilterReport, record
from .columns import FIXED_LINE_BYTES
from .files import find_file, missing_error, require_dir
from .ids import check_below, check_dense, decode_tokens
from .stream import TextStream

__all__ = ["read_kgcn"]

EXPECTED = ("a KGCN folder with ratings_final.txt (here or in a subfolder), "
            "kg_final.txt and item_index2entity_id.txt optional")


def read_kgcn(root: Union[str, os.PathLike]) -> HeteroData:
    r"""Read a KGCN/RippleNet processed folder.

    ``ratings_final.txt`` is looked up in :obj:`root`, then in its immediate
    subfolders (the Last.FM copy keeps it in ``processed_mcclk/``);
    ``kg_final.txt`` beside it, else in :obj:`root`;
    ``item_index2entity_id.txt`` beside it, in :obj:`root` or in the parent
    of the ratings folder. Without the index file, items are ``0..max id`` and
    item ``i`` is entity ``i``.

    Args:
        root (str or os.PathLike): The folder.

    Returns:
        HeteroData: Users, items (``raw_id``: the original item ids of the
        index file, e.g. Last.FM artist ids or ISBNs), the label-1 rows as
        ``('user', 'interacts', 'item')``, and with a KG the entities,
        ``('entity', 'relates', 'entity')`` with ``edge_type`` and
        ``num_relations``, and ``('item', 'links', 'entity')``.

    Raises:
        DataFormatError: If ``ratings_final.txt`` is missing, a row is
            malformed, a label is not 0/1 or an id is out of range.
    """
    root = require_dir(root, EXPECTED)
    ratings_path = find_file([root], ["ratings_final.txt"], subfolders=True)
    if ratings_path is None:
        raise missing_error(root, ["ratings_final.txt"], EXPECTED)
    here = ratings_path.parent
    kg_path = find_file([here, root], ["kg_final.txt", "kg_final.txt.gz"])
    index_path = find_file([here, root, here.parent], ["item_index2entity_id.txt"])

    with TextStream(ratings_path, what="'user item label' rows", max_line=FIXED_LINE_BYTES) as stream:
        rows = stream.rows(["user", "item", "label"], no_header=True, lines=True, user="int", item="int",
                           label="int")
    cols = rows.columns
    path = os.fspath(ratings_path)
    check_below(cols["label"], rows.line, path, 2, "label", "0 or 1")
    num_users = check_dense(cols["user"], rows.line, path, "user id")

    link = _read_index(index_path) if index_path is not None else None
    if link is not None:
        raw_items, link_entity = link
        num_items = len(raw_items)
        check_below(cols["item"], rows.line, path, num_items, "item id",
                    f"< {num_items:,}, the number of rows of {index_path.name}")
    else:
        num_items = check_dense(cols["item"], rows.line, path, "item id")
        raw_items, link_entity = None, np.arange(num_items)

    kg = _read_kg(kg_path, num_items, link_entity) if kg_path is not None else {}
    positive = cols.pop("label") == 1
    # The label-1 rows go straight into the rows of the [2, E] edge array
    # the graph keeps; pop: each full column is freed once filtered.
    edge = np.empty((2, int(np.count_nonzero(positive))), dtype=np.int64)
    np.compress(positive, cols.pop("user"), out=edge[0])
    np.compress(positive, cols.pop("item"), out=edge[1])
    data = build_hetero_data(edge[0], edge[1], num_users=num_users, num_items=num_items, item_raw_id=raw_items,
                             **kg)
    negatives = int((~positive).sum())
    if negatives:
        record(data, FilterReport(
            step="label 0 rows (randomly sampled negatives)", kept=int(positive.sum()),
            removed=negatives, unit="rows", source=path,
            detail="sampled by the KGCN preprocessing, not observed interactions"))
    return data


def _read_index(path: Path):
    with TextStream(path, what="'item_id entity_id' rows", max_line=FIXED_LINE_BYTES) as stream:
        rows = stream.rows(["item_id", "entity_id"], lines=True, item_id="token", entity_id="int")
    cols = rows.columns
    check_dense(cols["entity_id"], rows.line, os.fspath(path), "entity id")
    return decode_tokens(cols["item_id"]), cols["entity_id"]


def _read_kg(path: Path, num_items: int, link_entity: np.ndarray) -> dict:
    with TextStream(path, what="'head relation tail' triples", max_line=FIXED_LINE_BYTES) as stream:
        rows = stream.rows(["head", "relation", "tail"], no_header=True, lines=True, head="int",
                           relation="int", tail="int")
    cols = rows.columns
    file = os.fspath(path)
    num_entities = max(check_dense(cols["head"], rows.line, file, "entity id"),
                       check_dense(cols["tail"], rows.line, file, "entity id"),
                       int(link_entity.max()) + 1 if len(link_entity) else 0)
    num_relations = check_dense(cols["relation"], rows.line, file, "relation id")
    ends = _rows(cols.pop("head"), cols.pop("tail"))
    links = _rows(np.arange(num_items), link_entity)
    return dict(kg_head=ends[0], kg_relation=cols["relation"], kg_tail=ends[1],
                num_entities=num_entities, num_relations=num_relations,
                link_item=links[0], link_entity=links[1])


def _rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    # The two columns as the rows of one [2, n] array, which the graph keeps
    # as it is (see build_hetero_data).
    out = np.empty((2, len(first)), dtype=np.int64)
    out[0], out[1] = first, second
    return out
