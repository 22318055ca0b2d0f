r"""KGAT (Wang et al., KDD 2019) folders: ``train.txt``, ``test.txt`` and an
optional ``kg_final.txt`` (or ``kg_final.txt.gz``).

``train.txt`` / ``test.txt`` hold one line per user, ``user item item ...``,
with remapped 0-based ids. ``kg_final.txt`` holds ``head relation tail`` over
entity ids, where item ``i`` is entity ``i``.

The ``*_list.txt`` files are optional. Only their *row counts* are used (they
fix the number of users, items and entities, so nodes without edges are kept,
and make out-of-range ids an error), plus the relation names of
``relation_list.txt``; their other columns are not parsed because some are
malformed upstream (e.g. ``yelp2018/item_list.txt`` lines without separators).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from ..report import FilterReport, record
from .columns import FIXED_LINE_BYTES
from .files import find_file, missing_error, require_dir
from .ids import check_below, check_dense
from .stream import RepeatedLines, TextStream

__all__ = ["read_kgat"]

EXPECTED = "a KGAT folder with train.txt and test.txt (kg_final.txt or kg_final.txt.gz optional)"


class _Lists:
    """Users and their items from one ``train.txt``/``test.txt``."""

    def __init__(self, path: Path) -> None:
        self.path = os.fspath(path)
        with TextStream(path, what="lines 'user item item ...'") as stream:
            lines = stream.ragged_ints()
        self.user = np.repeat(lines.heads, lines.counts)
        self.item = lines.rest
        self.line = RepeatedLines(lines.line, lines.counts)  # of each item, computed on demand
        self.user_ids, self.user_lines = lines.heads, lines.line
        self.empty_lines = int((lines.counts == 0).sum())
        self.num_lines = len(lines.heads)

    def dedupe(self, num_items: int) -> Optional[FilterReport]:
        r"""Drop repeated (user, item) pairs, keeping the first; the items'
        lines are not needed after the range checks and are dropped."""
        self.line = None
        if not _has_repeats(self.user * num_items + self.item):
            return None
        _, keep = np.unique(self.user * num_items + self.item, return_index=True)
        keep.sort()  # file order
        removed = len(self.user) - len(keep)
        self.user, self.item = self.user[keep], self.item[keep]
        return FilterReport(
            step="repeated item ids within a user's line", kept=len(keep), removed=removed,
            unit="entries", source=self.path,
            detail="KGAT last-fm lists listening events; the first occurrence is kept")

    def take_concatenated(self, other: "_Lists") -> np.ndarray:
        r"""Users and items of this split then :obj:`other`, as the rows of
        one ``[2, E]`` array (the graph keeps it as it is); both splits give
        up their arrays, each freed once copied."""
        edge = np.empty((2, len(self.user) + len(other.user)), dtype=np.int64)
        np.concatenate([self.user, other.user], out=edge[0])
        self.user = other.user = None
        np.concatenate([self.item, other.item], out=edge[1])
        self.item = other.item = None
        return edge

    def empty_report(self) -> Optional[FilterReport]:
        if self.empty_lines == 0:
            return None
        return FilterReport(
            step="lines with a user id but no items", kept=self.num_lines - self.empty_lines,
            removed=self.empty_lines, unit="lines", source=self.path,
            detail="those users are kept as nodes")


def _has_repeats(key: np.ndarray) -> bool:
    # Sorts key in place: one array instead of np.unique's several, for the
    # usual file without repeats.
    key.sort()
    return bool((key[1:] == key[:-1]).any())


def _list_count(folder: Path, name: str) -> Optional[Tuple[str, int]]:
    path = folder / name
    if not path.is_file():
        return None
    with TextStream(path, what="a header line and one line per id") as stream:
        rows = stream.count_nonblank_lines()
    return os.fspath(path), rows - 1


def _relation_names(folder: Path) -> Optional[List[str]]:
    path = folder / "relation_list.txt"
    if not path.is_file():
        return None
    with TextStream(path, what="'org_id remap_id' lines after a header", max_line=FIXED_LINE_BYTES) as stream:
        stream.header()
        rows = stream.rows(["org_id", "remap_id"], lines=True, org_id="token", remap_id="int")
    cols = rows.columns
    wrong = np.flatnonzero(cols["remap_id"] != np.arange(len(rows)))
    if len(wrong):
        k = int(wrong[0])
        raise DataFormatError(f"expected remap_id {k} (ids listed in order), found {cols['remap_id'][k]}",
                              path, rows.line[k])
    return cols["org_id"].to_pylist()


def _count(ids_and_lines, listed: Optional[Tuple[str, int]], what: str) -> int:
    """Node count: the list file's row count when present, else max id + 1."""
    if listed is not None:
        list_path, n = listed
        for ids, line, path in ids_and_lines:
            check_below(ids, line, path, n, what,
                        f"< {n:,}, the number of rows of {os.path.basename(list_path)}")
        return n
    return max([check_dense(ids, line, path, what) for ids, line, path in ids_and_lines] + [0])


def read_kgat(root: Union[str, os.PathLike]) -> HeteroData:
    r"""Read a KGAT dataset folder.

    Interactions of both files are concatenated, train first, with
    ``train_mask``/``test_mask`` on the interaction edges. Repeated items on a
    user's line (KGAT last-fm) are removed, keeping the first, and recorded in
    ``data.filter_log``; so are lines with a user id but no items (88 in
    amazon-book's ``test.txt``), whose users stay nodes. A pair present in both
    files is kept in both splits.

    A folder without ``train.txt`` (KGAT's last-fm and yelp2018 as published
    without it) is an error naming the missing file: test interactions alone
    are not a usable dataset, and silently reading them would hide that.

    Args:
        root (str or os.PathLike): The folder.

    Returns:
        HeteroData: Users, items, ``('user', 'interacts', 'item')`` with
        ``train_mask``/``test_mask``; with a KG also entities,
        ``('entity', 'relates', 'entity')`` with ``edge_type`` and
        ``num_relations`` (``relation_raw_id`` from ``relation_list.txt`` when
        present) and ``('item', 'links', 'entity')`` linking item ``i`` to
        entity ``i``. ``raw_id`` are the remapped ids of the files.

    Raises:
        DataFormatError: If ``train.txt`` or ``test.txt`` is missing, a line is
            malformed, or an id is out of range.
    """
    root = require_dir(root, EXPECTED)
    missing = [name for name in ("train.txt", "test.txt") if not (root / name).is_file()]
    if missing:
        raise missing_error(root, missing, EXPECTED)
    train, test = _Lists(root / "train.txt"), _Lists(root / "test.txt")
    kg_path = find_file([root], ["kg_final.txt", "kg_final.txt.gz"])

    num_users = _count([(s.user_ids, s.user_lines, s.path) for s in (train, test)],
                       _list_count(root, "user_list.txt"), "user id")
    num_items = _count([(s.item, s.line, s.path) for s in (train, test)],
                       _list_count(root, "item_list.txt"), "item id")
    reports = [r for s in (train, test) for r in (s.empty_report(), s.dedupe(max(num_items, 1)))]

    kg = {}
    if kg_path is not None:
        kg = _read_kg(kg_path, root, num_items)
    sizes = [len(train.item), len(test.item)]
    edge = train.take_concatenated(test)  # each split's arrays freed as they are copied
    data = build_hetero_data(
        edge[0], edge[1], num_users=num_users, num_items=num_items,
        train_mask=np.repeat([True, False], sizes), test_mask=np.repeat([False, True], sizes),
        **kg)
    for report in reports:
        if report is not None:
            record(data, report)
    return data


def _read_kg(path: Path, root: Path, num_items: int) -> dict:
    with TextStream(path, what="'head relation tail' triples", max_line=FIXED_LINE_BYTES) as stream:
        rows = stream.rows(["head", "relation", "tail"], no_header=True, lines=True, head="int", relation="int",
                           tail="int")
    cols = rows.columns
    file = os.fspath(path)
    ends = [(cols["head"], rows.line, file), (cols["tail"], rows.line, file)]
    num_entities = max(_count(ends, _list_count(root, "entity_list.txt"), "entity id"), num_items)
    names = _relation_names(root)
    if names is not None:
        check_below(cols["relation"], rows.line, file, len(names), "relation id",
                    f"< {len(names)}, the number of rows of relation_list.txt")
        num_relations = len(names)
    else:
        num_relations = check_dense(cols["relation"], rows.line, file, "relation id")
    # head and tail as the rows of one [2, n] array, which the graph keeps as
    # it is (see build_hetero_data); each column freed once copied.
    ends = np.empty((2, len(rows)), dtype=np.int64)
    ends[0] = cols.pop("head")
    ends[1] = cols.pop("tail")
    links = np.empty((2, num_items), dtype=np.int64)
    links[0] = links[1] = np.arange(num_items)
    return dict(kg_head=ends[0], kg_relation=cols["relation"], kg_tail=ends[1],
                num_entities=num_entities, num_relations=num_relations, relation_raw_id=names,
                link_item=links[0], link_entity=links[1])
