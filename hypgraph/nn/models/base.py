r"""What every recommender with users and items as points of a manifold
shares: batch scoring, one-matmul ranking, and top-k recommendation."""
from __future__ import annotations

import warnings

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from ...data.history import InteractionCSR
from ...manifolds import Manifold
from ...optim import PARAMETERIZATIONS, PointTable, point_table
from .ranking import top_k

__all__ = ["PointRecommender", "rank_scores"]

SCORES = ("distance", "sqdist", "inner")


def rank_scores(manifold: Manifold, users: Tensor, items: Tensor, score: str = "distance") -> Tensor:
    r"""Deprecated: use ``manifold.rank_scores(users, items, score)``
    (:meth:`~hypgraph.manifolds.Manifold.rank_scores`); the geometry now
    decides the formula, not the model."""
    warnings.warn("hypgraph.nn.models.base.rank_scores(manifold, ...) is deprecated; use "
                  "manifold.rank_scores(users, items, score)", DeprecationWarning, stacklevel=2)
    return manifold.rank_scores(users, items, score)


def _score_kind_from_score(score_kind: str, score: Optional[str], owner: str, default: str = "distance",
                           *, stacklevel: int = 3) -> str:
    # the constructor keyword score= of before 0.2, for one release: score is
    # the method, score_kind the attribute and the keyword
    if score is None:
        return score_kind
    if score_kind != default:
        raise TypeError(f"{owner}: got both score_kind={score_kind!r} and its deprecated name "
                        f"score={score!r}; pass score_kind only")
    warnings.warn(f"{owner}(score=...) is now score_kind=... (the attribute's name; score() is the "
                  "method); score= will be removed in the next release", DeprecationWarning,
                  stacklevel=stacklevel)
    return score


def _rename_score_keyword(kwargs: dict, owner: str) -> None:
    # for a classmethod that hands kwargs to the constructor: the warning
    # names its caller's line
    if "score" in kwargs:
        kwargs["score_kind"] = _score_kind_from_score(kwargs.pop("score_kind", "distance"), kwargs.pop("score"),
                                                      owner, stacklevel=4)


class PointRecommender(nn.Module):
    r"""Base class: subclasses own ``manifold``, an item table ``item``
    (:meth:`register_point_table`), ``score_kind`` (``'distance'``,
    ``'sqdist'`` or ``'inner'``; the constructors' ``score_kind=``, one of
    the manifold's :attr:`~hypgraph.manifolds.Manifold.score_kinds`) and
    :meth:`user_points`; scoring (:meth:`score`), ranking and recommendation
    follow.

    **Names.** A model is named for the hyperbolic model it implements; its
    geometry is its ``manifold=`` argument, and ``manifold=Euclidean()`` is
    its Euclidean baseline (the same code, so an ablation changes one
    argument). There are no separate Euclidean classes.

    **Point tables.** Each table of points (users, items, entities) is a
    parameter of the model under its own name (``model.item``) together with
    a :class:`~hypgraph.optim.PointTable` in :attr:`point_tables` that says
    how the parameter holds the points (``'manifold'``: the points;
    ``'tangent'``: tangent vectors at the origin). Models read points only
    through :meth:`points` and :meth:`gather_points`. A state dict records
    each table's parameterisation, and loading one saved with another
    converts its rows (through the points, with this model's manifold).
    """

    manifold: Manifold
    item: Tensor
    score_kind: str = "distance"

    def __init__(self) -> None:
        super().__init__()
        self.point_tables: Dict[str, PointTable] = {}
        self.register_state_dict_post_hook(_record_point_tables)

    # --- point tables ------------------------------------------------------
    def register_point_table(self, name: str, num_points: int, dim: int, parameterization: str = "manifold",
                             *, sparse: bool = False) -> PointTable:
        """Add a table of :obj:`num_points` points of dimension :obj:`dim` on
        :attr:`manifold`: its (uninitialised) parameter becomes ``self.<name>``."""
        table = point_table(parameterization, self.manifold, num_points, dim, sparse=sparse)
        self.point_tables[name] = table
        self.register_parameter(name, table.new_parameter())
        return table

    def points(self, name: str, index: Optional[Tensor] = None) -> Tensor:
        r"""Points of table :obj:`name`: the rows :obj:`index` (any shape,
        ``[*index.shape, D]``; only those rows are mapped), or all of them."""
        table, weight = self.point_tables[name], getattr(self, name)
        return table.points(weight) if index is None else table.rows(weight, index)

    def gather_points(self, name: str, index: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(points, local)`` with ``points[local]`` the points of
        :obj:`index` in table :obj:`name` (:meth:`PointTable.gather`)."""
        return self.point_tables[name].gather(getattr(self, name), index)

    def stored_rows(self, name: str, index: Tensor) -> Tensor:
        r"""The rows :obj:`index` of table :obj:`name`'s parameter as stored
        (points, or tangent vectors): what a penalty on the parameters reads."""
        return self.point_tables[name].take(getattr(self, name), index)

    def point_parameters(self) -> List[nn.Parameter]:
        """The parameters of the point tables (e.g. for a sparse optimiser;
        the rest of :meth:`parameters` then goes to a dense one)."""
        return [getattr(self, name) for name in self.point_tables]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
        saved = (local_metadata or {}).get("point_tables", {})
        for name, kind in saved.items():
            table, key = self.point_tables.get(name), prefix + name
            if table is None or kind == table.kind or kind not in PARAMETERIZATIONS or key not in state_dict:
                continue
            source = PARAMETERIZATIONS[kind](self.manifold, table.num_points, table.dim)
            with torch.no_grad():
                state_dict[key] = table.convert(state_dict[key], source)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    def _tables_repr(self) -> str:
        kinds = {table.kind for table in self.point_tables.values()}
        out = "" if kinds <= {"manifold"} else f", parameterization={'/'.join(sorted(kinds))!r}"
        return out + (", sparse=True" if any(t.sparse for t in self.point_tables.values()) else "")

    # --- scoring -----------------------------------------------------------
    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        raise NotImplementedError

    def item_points(self, items: Optional[Tensor] = None) -> Tensor:
        r"""The points scoring reads for :obj:`items` (any shape; every item
        when ``None``): the item table's. A model whose items are computed
        (propagated over a graph) overrides this alone, and scoring, ranking
        and retrieval follow."""
        return self.points("item", items)

    def score(self, user_points: Tensor, items: Tensor) -> Tensor:
        """Scores (higher = better) of ``[B]`` users against ``[B]`` or ``[B, k]`` items."""
        if items.dim() == user_points.dim():
            user_points = user_points.unsqueeze(-2)
        elif items.dim() != user_points.dim() - 1:
            raise ValueError(f"items must be [B] or [B, k], got {tuple(items.shape)}")
        return self.manifold.score(user_points, self.item_points(items), self.score_kind)

    def score_all(self, user_points: Tensor) -> Tensor:
        """Scores of ``[B]`` users against every item, ``[B, num_items]``."""
        return self.manifold.pairwise_score(user_points, self.item_points(), self.score_kind)

    def rank_scores(self, user_points: Tensor) -> Tensor:
        """``[B, num_items]`` values ordering items as :meth:`score_all` does,
        from one matrix product (:meth:`Manifold.rank_scores
        <hypgraph.manifolds.Manifold.rank_scores>`). Evaluation ranks with these."""
        return self.manifold.rank_scores(user_points, self.item_points(), self.score_kind)

    def forward(self, users: Tensor, pos_items: Tensor, neg_items: Tensor,
                history: Optional[InteractionCSR] = None) -> Tuple[Tensor, Tensor]:
        """Scores of positives ``[B]`` and negatives ``[B]`` or ``[B, k]`` for a batch."""
        u = self.user_points(users, history)
        # positives and negatives scored in one call: half the kernel launches
        both = self.score(u, torch.cat([pos_items.unsqueeze(-1), neg_items.view(neg_items.size(0), -1)], -1))
        return both[:, 0], both[:, 1:].view_as(neg_items)

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int, history: Optional[InteractionCSR] = None,
                  exclude_seen: bool = True) -> Tuple[Tensor, Tensor]:
        """Top-:obj:`k` items and scores for each of :obj:`users`, excluding
        items in their history unless ``exclude_seen=False``."""
        points = self.user_points(users, history)
        items, _ = top_k(self.rank_scores(points), users, k, history, exclude_seen)
        return items, self.score(points, items)


def _record_point_tables(module: PointRecommender, state_dict, prefix: str, local_metadata: dict) -> None:
    # state_dict post-hook: each table's parameterisation, beside the version
    local_metadata["point_tables"] = {name: table.kind for name, table in module.point_tables.items()}
