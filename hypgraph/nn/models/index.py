r"""Top-k retrieval through a `faiss <https://github.com/facebookresearch/faiss>`_
index, for catalogues too large to rank exactly for every request.

Each manifold writes its ranking as one matrix product,
``rank_queries(x) @ rank_keys(y).T``
(:meth:`~hypgraph.manifolds.Manifold.rank_queries`): on the hyperboloid the
nearest item is the one of largest inner product with the query whose time
coordinate is negated ([Chamberlain 2019] Eq. 7, 9, 19; the keys hold
their height :math:`y_0 - 1/\sqrt k` as time coordinate, which shifts each
query's products by a constant and keeps float32 exact near the origin),
the Poincaré ball goes through the hyperboloid, flat space appends one
coordinate. So the item
keys go into a maximum-inner-product index: ``'flat'`` (exact, faiss
``IndexFlatIP``) or ``'hnsw'`` (approximate, ``IndexHNSWFlat``).

The HNSW graph is built and searched in L2, after the reduction of
Bachrach et al. 2014 ("Speeding up the Xbox recommender system using a
Euclidean transformation for inner-product spaces", §3): every key padded
with :math:`\sqrt{M^2 - \lVert y\rVert^2}` (:math:`M` the largest key
norm), every query with 0, so that
:math:`\lVert q - y\rVert^2 = \lVert q\rVert^2 + M^2 - 2\,q \cdot y`
orders the items as the inner product does. Built on the inner product
itself, the graph links items by :math:`y \cdot y'`, which on the
hyperboloid says nothing about their distance: on 100,000 items in 64
dimensions its recall@20 was 0.01 where the L2 graph's was 0.99
(``benchmarks/retrieval.py``).

faiss is optional (``pip install "hypgraph-pyg[serve]"``) and imported only
when an index is built.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ...data.history import InteractionCSR

__all__ = ["ItemIndex", "INDEX_KINDS", "import_faiss", "ranks_on_manifold", "item_keys", "user_queries", "l2_keys",
           "l2_queries"]

#: The indexes :meth:`ItemIndex.build` makes.
INDEX_KINDS = ("flat", "hnsw")


def import_faiss():
    r"""The :mod:`faiss` module, or an :class:`ImportError` that says how to
    install it."""
    try:
        import faiss
    except ImportError:
        raise ImportError('retrieval through an index needs faiss: pip install "hypgraph-pyg[serve]"') from None
    return faiss


def ranks_on_manifold(model: nn.Module) -> bool:
    r"""Whether :obj:`model` ranks through its manifold (it has one and a
    ``score_kind``: every :class:`~hypgraph.nn.models.base.PointRecommender`),
    rather than by a plain dot product of points (LightGCN)."""
    return getattr(model, "manifold", None) is not None and hasattr(model, "score_kind")


def item_keys(model: nn.Module) -> Tensor:
    r"""``[num_items, D']`` vectors whose inner products with
    :func:`user_queries` order the items as ``model.rank_scores`` does: the
    manifold's :meth:`~hypgraph.manifolds.Manifold.rank_keys` of
    ``model.item_points()``, or the item points themselves for a model that
    scores by the dot product (LightGCN). A graph model must have
    propagated first (any ``model.user_points`` call does it)."""
    if ranks_on_manifold(model):
        return model.manifold.rank_keys(model.item_points(), model.score_kind)
    if callable(getattr(model, "item_points", None)):
        return model.item_points()
    raise TypeError(f"{type(model).__name__} has no item points to index")


def user_queries(model: nn.Module, user_points: Tensor) -> Tensor:
    r"""``[B, D']`` query vectors of the users at :obj:`user_points`, the
    other side of :func:`item_keys`."""
    if ranks_on_manifold(model):
        return model.manifold.rank_queries(user_points, model.score_kind)
    return user_points


def l2_keys(keys: Tensor) -> Tensor:
    r"""``[N, D' + 1]``: :obj:`keys` padded to one norm, the largest, so that
    the L2 distance from :func:`l2_queries` orders them as the inner product
    does (Bachrach et al. 2014, §3)."""
    # in float64: the pad is a difference of squares close to each other
    keys = keys.double()
    sq = keys.pow(2).sum(-1, keepdim=True)
    largest = sq.max() if sq.numel() else 0.0
    return torch.cat([keys, (largest - sq).clamp_min(0).sqrt()], dim=-1)


def l2_queries(queries: Tensor) -> Tensor:
    r"""``[B, D' + 1]``: :obj:`queries` padded with 0, for :func:`l2_keys`."""
    return torch.cat([queries, queries.new_zeros(queries.shape[:-1] + (1,))], dim=-1)


def _as_faiss(x: Tensor):
    # faiss reads contiguous float32 arrays on the CPU
    return x.detach().to("cpu", torch.float32).contiguous().numpy()


class ItemIndex:
    r"""The items of a trained recommender in a faiss maximum-inner-product
    index, searched for the top-:obj:`k` unseen items of batches of users.

    ``'flat'`` compares every item (faiss ``IndexFlatIP``); ``'hnsw'``
    walks a graph (``IndexHNSWFlat``, in L2 after :func:`l2_keys`).
    Build it with :meth:`build`; :func:`~hypgraph.nn.models.recommend_chunked`
    takes one (or its kind) as ``index=``. Vectors are searched in float32.

    Seen items are left out by asking the index for
    :math:`k + h` neighbours, :math:`h` the longest history in the batch,
    and dropping the seen ones: exact for ``'flat'`` (at least :math:`k`
    unseen items remain among them whenever the catalogue has them), and the
    cost of a batch grows with its longest history, not with the catalogue.

    Args:
        index: The faiss index holding :func:`item_keys` of :obj:`model`.
        model (torch.nn.Module): The recommender whose items it holds.
        kind (str): ``'flat'`` or ``'hnsw'``.
    """

    def __init__(self, index, model: nn.Module, kind: str) -> None:
        self.index = index
        self.model = model
        self.kind = kind

    @classmethod
    @torch.no_grad()
    def build(cls, model: nn.Module, kind: str = "flat", *, hnsw_m: int = 32, ef_construction: int = 100,
              ef_search: int = 128) -> "ItemIndex":
        r"""Index the items of :obj:`model` (in ``eval()`` mode; a graph
        model after one ``user_points`` call, which propagates it).

        Args:
            model (torch.nn.Module): A recommender with ``item_points``.
            kind (str): ``'flat'`` (exact) or ``'hnsw'`` (approximate).
                (default: ``'flat'``)
            hnsw_m (int): Neighbours per node of the HNSW graph
                (:math:`2 \times` that on its bottom layer). (default: ``32``)
            ef_construction (int): HNSW candidate list while building.
                (default: ``100``)
            ef_search (int): HNSW candidate list while searching; larger is
                slower and finds more of the true top-k. (default: ``128``)
        """
        if kind not in INDEX_KINDS:
            raise ValueError(f"index kind {kind!r} is not one of {INDEX_KINDS}")
        for name, value in (("hnsw_m", hnsw_m), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        faiss = import_faiss()
        keys = item_keys(model).detach().cpu()
        faiss.omp_set_num_threads(torch.get_num_threads())
        if kind == "flat":
            index = faiss.IndexFlatIP(keys.shape[1])
        else:
            keys = l2_keys(keys)
            index = faiss.IndexHNSWFlat(keys.shape[1], hnsw_m, faiss.METRIC_L2)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
        index.add(_as_faiss(keys))
        return cls(index, model, kind)

    @property
    def num_items(self) -> int:
        return int(self.index.ntotal)

    @torch.no_grad()
    def search(self, user_points: Tensor, k: int, *, users: Optional[Tensor] = None,
               exclude: Optional[InteractionCSR] = None) -> Tuple[Tensor, Tensor]:
        r"""The top-:obj:`k` items of the users at :obj:`user_points`
        (``model.user_points(users, history)``), best first.

        Args:
            user_points (Tensor): ``[B, D]`` user points.
            k (int): Items per user (:math:`\ge 1`).
            users (Tensor, optional): ``[B]`` user indices: the rows of
                :obj:`exclude`. (default: :obj:`None`)
            exclude (InteractionCSR, optional): Items never returned to each
                user, e.g. the training history. (default: :obj:`None`)

        Returns:
            (Tensor, Tensor): Items ``[B, k']`` (int64) and their
            ``model.score`` (float64), :math:`k' = \min(k, \text{num\_items})`;
            where fewer unseen items are found, item ``-1`` and score ``nan``.
        """
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if exclude is not None and (users is None or users.numel() != user_points.size(0)):
            raise ValueError("exclude= needs users=, one index per row of user_points")
        k = min(k, self.num_items)
        width = k
        if exclude is not None and users.numel():
            width = min(k + int(exclude.degree(users).max()), self.num_items)
        faiss = import_faiss()
        faiss.omp_set_num_threads(torch.get_num_threads())
        queries = user_queries(self.model, user_points)
        if self.kind == "hnsw":
            queries = l2_queries(queries)
        queries = _as_faiss(queries)
        params = None
        if self.kind == "hnsw" and width > self.index.hnsw.efSearch:
            # HNSW returns at most efSearch items: widen it for this search alone
            params = faiss.SearchParametersHNSW(efSearch=width)
        _, found = self.index.search(queries, width, params=params)
        found = torch.from_numpy(found).long().to(user_points.device)  # faiss answers on the CPU
        valid = found >= 0  # HNSW may return fewer than asked
        if exclude is not None:
            valid &= ~_seen(found, users, exclude, self.num_items)
        items = _first_k(found, valid, k)
        present = items >= 0
        scores = self.model.score(user_points, items.clamp_min(0)).to(torch.float64)
        return items, torch.where(present, scores, math.nan)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, num_items={self.num_items}, dim={self.index.d})"


def _seen(found: Tensor, users: Tensor, exclude: InteractionCSR, num_items: int) -> Tensor:
    # [B, width] mask of the candidates in their user's excluded items: one
    # key per (row, item) pair, looked up among the sorted excluded keys
    row, col = exclude.rows(users)
    seen = (row * num_items + col).unique()
    key = torch.arange(found.size(0), device=found.device).unsqueeze(1) * num_items + found.clamp_min(0)
    position = torch.searchsorted(seen, key).clamp_max(max(seen.numel() - 1, 0))
    return (seen[position] == key) if seen.numel() else torch.zeros_like(found, dtype=torch.bool)


def _first_k(found: Tensor, valid: Tensor, k: int) -> Tensor:
    # the first k valid candidates of each row, in order; -1 beyond them
    rank = valid.long().cumsum(1) - 1
    keep = valid & (rank < k)
    out = torch.full((found.size(0), k), -1, dtype=torch.long, device=found.device)
    row = torch.arange(found.size(0), device=found.device).unsqueeze(1).expand_as(found)
    out[row[keep], rank[keep]] = found[keep]
    return out
