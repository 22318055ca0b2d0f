r"""RecBole atomic files (Zhao et al., CIKM 2021): ``<name>.inter`` with an
optional knowledge graph ``<name>.kg`` and item-entity links ``<name>.link``.

Each file is tab-separated with a typed header, e.g.
``user_id:token<TAB>item_id:token<TAB>rating:float<TAB>timestamp:float``.
Tokens are strings (e.g. Freebase mids such as ``m.04ctbw8``); users, items,
entities and relations are numbered ``0..n-1`` in sorted order of their
tokens (numerically when all tokens are plain integers), and ``raw_id`` /
``relation_raw_id`` keep the tokens. Extra columns (``token_seq`` etc.) are
allowed and ignored.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from .files import missing_error, require_dir
from .ids import factorize, factorize_tokens
from .stream import MAX_LINE_BYTES, TextStream

__all__ = ["read_recbole"]

TYPES = ("token", "token_seq", "float", "float_seq")
EXPECTED = "RecBole atomic files <name>.inter (+ <name>.kg, <name>.link optional)"


def _typed_rows(path: Path, required: Dict[str, str], optional: Dict[str, str] = None) -> Tuple[dict, int]:
    """The columns of a typed-header file: the :obj:`required` ones and those
    of :obj:`optional` the header names, each converted to its kind."""
    names_required = list(required)
    with TextStream(path, what=f"a typed header ({', '.join(names_required)}) and rows", sep="\t",
                    max_line=MAX_LINE_BYTES) as stream:
        header, header_line = stream.header()
        names, types = [], {}
        for field in header:
            name, colon, kind = field.partition(":")
            if not colon or kind not in TYPES:
                raise DataFormatError(
                    f"expected a typed RecBole header field like 'user_id:token' (types: {', '.join(TYPES)}), "
                    f"got {field!r}", path, header_line)
            if name in types:
                raise DataFormatError(
                    f"column {name!r} appears twice in the header (fields {names.index(name) + 1} and "
                    f"{len(names) + 1}); expected each column once", path, header_line)
            names.append(name)
            types[name] = kind
        absent = [name for name in names_required if name not in types]
        if absent:
            raise DataFormatError(
                f"expected columns {', '.join(names_required)}; the header lacks {', '.join(absent)} "
                f"(it has {', '.join(names)})", path, header_line)
        kinds = dict(required, **{name: kind for name, kind in (optional or {}).items() if name in types})
        # ratings as the graph stores them (float32), without a float64 copy
        rows = stream.rows(names, dtypes={name: np.float32 for name, kind in kinds.items() if kind == "float"},
                           **kinds)
        if len(rows) == 0:
            raise DataFormatError(f"no rows after the header; expected rows of {', '.join(names_required)}",
                                  path, header_line + 1)
    return rows.columns, len(rows)


def _find_name(root: Path) -> str:
    inters = sorted(root.glob("*.inter"))
    if len(inters) == 1:
        return inters[0].stem
    if not inters:
        raise missing_error(root, ["<name>.inter"], EXPECTED)
    raise DataFormatError(
        f"several .inter files ({', '.join(p.name for p in inters)}); pass name= to choose one", root)


def read_recbole(root: Union[str, os.PathLike], name: Optional[str] = None) -> HeteroData:
    r"""Read RecBole atomic files.

    Args:
        root (str or os.PathLike): The folder holding the files, or the
            ``.inter`` file itself.
        name (str, optional): The dataset name, i.e. the file stem. Required
            only when the folder holds several ``.inter`` files.

    Returns:
        HeteroData: Users, items and ``('user', 'interacts', 'item')`` (with
        ``rating`` / ``time`` when the ``.inter`` file has ``rating`` /
        ``timestamp`` columns). With ``.kg``: entities and
        ``('entity', 'relates', 'entity')`` with ``edge_type``,
        ``num_relations`` and ``relation_raw_id`` (the relation names). With
        ``.link``: ``('item', 'links', 'entity')``; linked items absent from
        ``.inter`` become item nodes without interactions.

    Raises:
        DataFormatError: If ``.inter`` is missing, a header is untyped, lacks
            a required column or names one twice, a file has no rows after
            its header, a row is malformed, or a line is longer than
            :data:`~hypgraph.data.readers.stream.MAX_LINE_BYTES` (16 MiB).
    """
    root = Path(root)
    if root.suffix == ".inter" and root.is_file():
        root, name = root.parent, root.stem
    root = require_dir(root, EXPECTED)
    name = name or _find_name(root)
    inter_path, kg_path, link_path = (root / f"{name}.{ext}" for ext in ("inter", "kg", "link"))
    if not inter_path.is_file():
        raise missing_error(root, [inter_path.name], EXPECTED)

    cols, _ = _typed_rows(inter_path, {"user_id": "token", "item_id": "token"},
                          {"rating": "float", "timestamp": "time"})
    link = kg = None
    if link_path.is_file():
        link, _ = _typed_rows(link_path, {"item_id": "token", "entity_id": "token"})
    if kg_path.is_file():
        kg, _ = _typed_rows(kg_path, {"head_id": "token", "relation_id": "token", "tail_id": "token"})

    # Codes go straight into the rows of the [2, n] arrays the graph keeps
    # (no stacked copy beside them); pop: each text column is freed once coded.
    has_kg, has_link = kg is not None, link is not None
    edge = np.empty((2, len(cols["user_id"])), dtype=np.int64)
    _, user_raw = factorize(cols.pop("user_id"), out=edge[0])
    links = np.empty((2, len(link["item_id"])), dtype=np.int64) if has_link else None
    _, item_raw = factorize_tokens([cols.pop("item_id")] + ([link.pop("item_id")] if has_link else []),
                                   out=[edge[1]] + ([links[0]] if has_link else []))

    extra = {}
    if has_kg or has_link:
        ends = np.empty((2, len(kg["head_id"])), dtype=np.int64) if has_kg else None
        parts = ([kg.pop("head_id"), kg.pop("tail_id")] if has_kg else []) + \
            ([link.pop("entity_id")] if has_link else [])
        targets = ([ends[0], ends[1]] if has_kg else []) + ([links[1]] if has_link else [])
        _, entity_raw = factorize_tokens(parts, out=targets)
        del parts
        extra.update(num_entities=len(entity_raw), entity_raw_id=entity_raw)
        if has_kg:
            relation, relation_raw = factorize(kg.pop("relation_id"))
            extra.update(kg_head=ends[0], kg_tail=ends[1], kg_relation=relation,
                         num_relations=len(relation_raw), relation_raw_id=_as_str(relation_raw))
        if has_link:
            extra.update(link_item=links[0], link_entity=links[1])
    return build_hetero_data(
        edge[0], edge[1], num_users=len(user_raw), num_items=len(item_raw),
        rating=cols.get("rating"), time=cols.get("timestamp"),
        user_raw_id=user_raw, item_raw_id=item_raw, **extra)


def _as_str(raw) -> List[str]:
    # Relation names are labels, never counted: keep them as strings.
    return [str(r) for r in raw]
