r"""Per-item knowledge-graph neighbourhoods for Hyper-Know (Ma et al., AAAI
2021): the triples :math:`\mathcal N_v = \{(v, r, t)\}` of every item,
stored once in CSR form and handed out per mini-batch as the
``(edge_index, edge_type)`` that
:class:`~hypgraph.nn.conv.HyperbolicKGAttention` consumes."""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .hetero import LINKS, RELATES

__all__ = ["KGNeighbourhoods"]


class KGNeighbourhoods:
    r"""The knowledge-graph triples around every item, as CSR over items.

    Hyper-Know (Eq. 4-5) aggregates, for an item :math:`v`, the tails of its
    triples :math:`\mathcal N_v = \{(v, r, t) \in \mathcal G\}`. Items reach the
    KG through ``('item', 'links', 'entity')``: the triples of item :math:`v`
    are those whose head is an entity :math:`e` linked to :math:`v` (all of
    them, if an item links to several entities).

    **Inverse relations.** In KGAT/KGCN-style data an item's entity is often
    only a *tail* (``(director, directed, film)``), and with head-only
    neighbourhoods such items would have none. With ``inverse=True`` (the
    default) every triple :math:`(h, r, t)` also contributes the reversed
    triple :math:`(t, r + R, h)` with its own relation id (:math:`R` the number
    of relations), so that the attention learns a separate translation for the
    reverse direction, as KGAT does. Relation ids are then
    ``0 .. 2R - 1`` (:attr:`num_relations`); ``inverse=False`` keeps Eq. 4's
    head-only :math:`\mathcal N_v` and ids ``0 .. R - 1``.

    **Items without triples** (not linked, or linked to an entity without
    triples) have empty rows; :attr:`num_isolated` counts them and
    :attr:`has_neighbours` marks the others. Their neighbourhood point would
    be the origin, so :class:`~hypgraph.nn.models.HyperKnow` gives them no KG
    regulariser at all.

    Everything is built and queried with sorts, ``bincount`` and
    ``repeat_interleave``: no Python loop over items or triples.

    Args:
        link_index (Tensor): ``[2, L]`` (item, entity) pairs.
        kg_edge_index (Tensor): ``[2, T]`` (head, tail) entity pairs.
        kg_edge_type (Tensor): ``[T]`` relation ids.
        num_items (int): Number of items.
        num_entities (int): Number of entities.
        num_relations (int): Number of relation types :math:`R` of the KG.
        inverse (bool): Add reversed triples with ids :math:`r + R`
            (default: ``True``).

    Attributes:
        ptr (Tensor): ``[num_items + 1]`` row boundaries.
        entity (Tensor): ``[nnz]`` neighbour (tail) entity of each triple.
        relation (Tensor): ``[nnz]`` relation id of each triple.

    Raises:
        ValueError: If an id is out of range or a shape is wrong (one line
            saying what was expected).
    """

    def __init__(self, link_index: Tensor, kg_edge_index: Tensor, kg_edge_type: Tensor, *,
                 num_items: int, num_entities: int, num_relations: int, inverse: bool = True) -> None:
        if num_items < 0 or num_entities < 0 or num_relations < 0:
            raise ValueError(f"num_items, num_entities and num_relations must be >= 0, got "
                             f"{num_items}, {num_entities}, {num_relations}")
        link_index = _edge_index(link_index, "link_index")
        kg_edge_index = _edge_index(kg_edge_index, "kg_edge_index")
        kg_edge_type = torch.as_tensor(kg_edge_type).long()
        if kg_edge_type.shape != kg_edge_index[0].shape:
            raise ValueError(f"kg_edge_type must have shape [{kg_edge_index.size(1)}] (one relation "
                             f"per triple), got {list(kg_edge_type.shape)}")
        _check_range(link_index[0], num_items, "linked item id")
        _check_range(link_index[1], num_entities, "linked entity id")
        _check_range(kg_edge_index.flatten(), num_entities, "KG entity id")
        _check_range(kg_edge_type, num_relations, "edge_type (relation id)")

        self.num_items, self.num_entities = int(num_items), int(num_entities)
        self.num_base_relations, self.inverse = int(num_relations), bool(inverse)
        self.num_relations = self.num_base_relations * (2 if inverse else 1)

        head, tail, rel = kg_edge_index[0], kg_edge_index[1], kg_edge_type
        if inverse:
            head, tail = torch.cat([head, tail]), torch.cat([tail, head])
            rel = torch.cat([rel, rel + self.num_base_relations])
        # the triples of each entity (as head), CSR over entities
        order = torch.argsort(head, stable=True)
        tail, rel = tail[order], rel[order]
        entity_degree = torch.bincount(head, minlength=self.num_entities)
        entity_ptr = torch.cumsum(entity_degree, 0) - entity_degree

        # each (item, entity) link brings its entity's triples; links sorted by item
        order = torch.argsort(link_index[0], stable=True)
        item, linked = link_index[0][order], link_index[1][order]
        count = entity_degree[linked]
        start = torch.repeat_interleave(entity_ptr[linked], count)
        first = torch.cumsum(count, 0) - count
        position = torch.arange(int(count.sum())) - torch.repeat_interleave(first, count)
        source = start + position
        self.entity, self.relation = tail[source], rel[source]
        self.ptr = torch.zeros(self.num_items + 1, dtype=torch.long)
        self.ptr[1:] = torch.cumsum(torch.bincount(item, weights=count.double(),
                                                   minlength=self.num_items).long(), 0)

    @classmethod
    def from_hetero(cls, data: HeteroData, *, inverse: bool = True) -> "KGNeighbourhoods":
        r"""Read ``('item', 'links', 'entity')`` and ``('entity', 'relates', 'entity')``
        (``edge_index``, ``edge_type``, ``num_relations``) of the project's
        :class:`HeteroData` (:mod:`hypgraph.data.hetero`)."""
        for key in (LINKS, RELATES):
            if key not in data.edge_types or "edge_index" not in data[key]:
                raise ValueError(f"the data has no {key} edge_index; KG neighbourhoods need the "
                                 f"item->entity links and the KG triples")
        store = data[RELATES]
        if "edge_type" not in store:
            raise ValueError(f"{RELATES} needs an edge_type (relation id per triple)")
        num_relations = store.num_relations if "num_relations" in store else (
            int(store.edge_type.max()) + 1 if store.edge_type.numel() else 0)
        return cls(data[LINKS].edge_index, store.edge_index, store.edge_type,
                   num_items=data["item"].num_nodes, num_entities=data["entity"].num_nodes,
                   num_relations=int(num_relations), inverse=inverse)

    # --- queries ----------------------------------------------------------
    @property
    def num_triples(self) -> int:
        return int(self.entity.numel())

    @property
    def has_neighbours(self) -> Tensor:
        """``[num_items]`` boolean: the item has at least one triple."""
        return self.ptr[1:] > self.ptr[:-1]

    @property
    def num_isolated(self) -> int:
        """Number of items without triples (no KG regulariser for them)."""
        return int((~self.has_neighbours).sum())

    def degree(self, items: Tensor) -> Tensor:
        """Number of triples of each of :obj:`items`."""
        return self.ptr[items + 1] - self.ptr[items]

    def neighbours(self, items: Tensor, num_samples: Optional[int] = None,
                   generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
        r"""The triples of a batch of :obj:`items` as a bipartite graph
        entity :math:`\to` position of the item in :obj:`items`.

        Args:
            items (Tensor): ``[B]`` item ids (repeats allowed; each position
                gets its own edges).
            num_samples (int, optional): Draw this many triples per item,
                uniformly *with replacement* (KGCN-style fixed-size
                neighbourhoods); items without triples get none. ``None``
                returns every triple (default: ``None``).
            generator (torch.Generator, optional): Source of the samples.

        Returns:
            (Tensor, Tensor): ``edge_index [2, T_b]`` (row 0 global entity id,
            row 1 position in :obj:`items`) and ``edge_type [T_b]``, grouped
            by position in ascending order.
        """
        items = items.long() if isinstance(items, Tensor) else torch.as_tensor(items, dtype=torch.long)
        if items.dim() != 1:
            raise ValueError(f"items must be 1-D, got shape {list(items.shape)}")
        _check_range(items, self.num_items, "item id")
        start, degree = self.ptr[items], self.degree(items)
        if num_samples is None:
            position = torch.repeat_interleave(torch.arange(items.numel(), device=items.device), degree)
            offset = torch.arange(int(degree.sum()), device=items.device) - torch.repeat_interleave(
                torch.cumsum(degree, 0) - degree, degree)
        else:
            if num_samples < 1:
                raise ValueError(f"num_samples must be >= 1 or None, got {num_samples}")
            present = (degree > 0).nonzero().squeeze(-1)
            draw = torch.rand(present.numel(), num_samples, generator=generator,
                              device=items.device, dtype=torch.float64)
            deg = degree[present].unsqueeze(-1)
            offset = torch.minimum((draw * deg).long(), deg - 1).flatten()
            position = present.repeat_interleave(num_samples)
        source = start[position] + offset
        return torch.stack([self.entity[source], position]), self.relation[source]

    def apply(self, fn: Callable[[Tensor], Tensor]) -> "KGNeighbourhoods":
        """Apply :obj:`fn` (e.g. a device move) to the index tensors, in place."""
        self.ptr, self.entity, self.relation = fn(self.ptr), fn(self.entity), fn(self.relation)
        return self

    def to(self, device) -> "KGNeighbourhoods":
        return self.apply(lambda t: t.to(device))

    def check_sizes(self, num_items: int, num_entities: int, num_relation_ids: int) -> "KGNeighbourhoods":
        r"""Raise :class:`ValueError` unless these triples are of :obj:`num_items`
        items, :obj:`num_entities` entities and :obj:`num_relation_ids` relation
        ids (a model's sizes); return them."""
        got = (self.num_items, self.num_entities, self.num_relations)
        expected = (num_items, num_entities, num_relation_ids)
        if got != expected:
            raise ValueError(f"neighbourhoods have (num_items, num_entities, relation ids) = {got}, "
                             f"the model expects {expected}")
        return self

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_items={self.num_items}, num_triples={self.num_triples}, "
                f"num_relations={self.num_relations}, num_isolated={self.num_isolated})")


def _edge_index(x: Tensor, name: str) -> Tensor:
    x = torch.as_tensor(x).long()
    if x.dim() != 2 or x.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got {list(x.shape)}")
    return x


def _check_range(index: Tensor, n: int, what: str) -> None:
    if index.numel() == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= n:
        raise ValueError(f"{what} {lo if lo < 0 else hi} out of range: expected ids in [0, {n})")
