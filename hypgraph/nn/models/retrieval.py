r"""Exact top-k retrieval for any number of users and items in bounded
memory: users in chunks, and each chunk's items in blocks whose top-k are
merged, so no ``users x items`` matrix (nor a ``chunk x items`` one) is ever
formed. Or, with ``index=``, the chunks of users searched in a faiss index
(:mod:`~hypgraph.nn.models.index`)."""
from __future__ import annotations

import math
from typing import Iterator, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ...data.history import InteractionCSR
from ..device import module_device
from .index import INDEX_KINDS, ItemIndex, ranks_on_manifold

__all__ = ["recommend_chunked", "block_rank_scores", "USER_CHUNK", "ITEM_CHUNK"]

#: Users ranked at once by :func:`recommend_chunked` (default).
USER_CHUNK = 256
#: Items scored at once per user chunk (default): with :data:`USER_CHUNK`
#: the score block is 256 x 65,536 float32 values, 64 MiB.
ITEM_CHUNK = 1 << 16


def block_rank_scores(model: nn.Module, user_points: Tensor, items: Tensor) -> Tensor:
    r"""``[B, len(items)]`` values ordering the items :obj:`items` for the
    users at :obj:`user_points` as ``model.rank_scores`` orders them among
    all items.

    A model with a ``manifold`` and a ``score_kind`` (every
    :class:`~hypgraph.nn.models.base.PointRecommender`) is ranked by
    :meth:`Manifold.rank_scores <hypgraph.manifolds.Manifold.rank_scores>`
    against the points of just these items (``model.item_points(items)``:
    its item table's, or the propagated ones); a model with
    ``item_points`` and no manifold (LightGCN) by the dot product; any other
    by ``model.score`` of the ``[B, len(items)]`` pairs.
    """
    item_points = getattr(model, "item_points", None)
    if ranks_on_manifold(model):
        return model.manifold.rank_scores(user_points, model.item_points(items), model.score_kind)
    if callable(item_points):
        return user_points @ item_points(items).t()
    return model.score(user_points, items.expand(user_points.size(0), -1))


@torch.no_grad()
def recommend_chunked(model: nn.Module, users: Tensor, k: int, history: Optional[InteractionCSR] = None, *,
                      exclude_seen: bool = True, exclude: Optional[InteractionCSR] = None,
                      user_chunk: int = USER_CHUNK, item_chunk: int = ITEM_CHUNK,
                      index: Union[None, str, ItemIndex] = None) -> Iterator[Tuple[Tensor, Tensor, Tensor]]:
    r"""The top-:obj:`k` items of every user in :obj:`users`, as
    ``model.recommend(users, k, history)`` returns them, computed
    :obj:`user_chunk` users and :obj:`item_chunk` items at a time: memory is
    bounded by ``user_chunk x item_chunk`` scores whatever the number of users
    and items.

    Each block of items is ranked (:func:`block_rank_scores`), the user's
    :obj:`history` items are masked, and the block's top-:obj:`k` are merged
    with the best so far; the scores of the winners are then
    ``model.score(points, items)``, as in ``model.recommend``. A user with
    fewer than :obj:`k` unseen items gets them all, the rest of the row
    padded with item ``-1`` and score ``nan`` (``model.recommend`` fills it
    with seen items instead).

    With :obj:`index`, each chunk of users is searched in a faiss index of
    the items instead (:meth:`ItemIndex.search
    <hypgraph.nn.models.index.ItemIndex.search>`): ``'flat'`` gives the same
    items up to float32 near-ties, ``'hnsw'`` most of them, much faster on
    a large catalogue.

    Args:
        model (torch.nn.Module): A recommender with ``num_items``,
            ``user_points``, ``score`` (and what :func:`block_rank_scores`
            uses). Put it in ``eval()`` mode first.
        users (Tensor): ``[U]`` user indices.
        k (int): Items per user (:math:`\ge 1`).
        history (InteractionCSR, optional): The users' training items: the
            history of midpoint and graph users, and what is excluded.
        exclude_seen (bool): Leave out the :obj:`history` items (or those
            of :obj:`exclude`). (default: :obj:`True`)
        exclude (InteractionCSR, optional): The items to leave out instead
            of the :obj:`history` ones, e.g. every known interaction while
            the users' history stays the training one. (default: :obj:`None`)
        user_chunk (int): Users at once. (default: :data:`USER_CHUNK`)
        item_chunk (int): Items at once. (default: :data:`ITEM_CHUNK`)
        index (str or ItemIndex, optional): ``'flat'`` or ``'hnsw'``: an
            :class:`~hypgraph.nn.models.index.ItemIndex` of that kind built
            (with its default options) after the first chunk's
            ``user_points``, which propagates a graph model; or one built
            already. Needs faiss. (default: :obj:`None`: the exact chunked
            product)

    Yields:
        (Tensor, Tensor, Tensor): Per chunk of users in the order given,
        the users ``[b]``, their items ``[b, k']`` best first and their scores
        ``[b, k']``, with :math:`k' = \min(k, \text{num\_items})`.
    """
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if user_chunk < 1 or item_chunk < 1:
        raise ValueError(f"user_chunk and item_chunk must be >= 1, got {user_chunk}, {item_chunk}")
    if isinstance(index, str) and index not in INDEX_KINDS:
        raise ValueError(f"index kind {index!r} is not one of {INDEX_KINDS}")
    mask = exclude if exclude is not None else history
    if exclude_seen and mask is None:
        raise ValueError("exclude_seen=True needs the users' history (or exclude=)")
    num_items = int(model.num_items)
    k = min(k, num_items)
    device = module_device(model)  # every tensor here is made there; users and histories are moved there
    users = users.to(device)
    history = None if history is None else history.to(device)
    mask = None if mask is None else mask.to(device)
    for start in range(0, users.numel(), user_chunk):
        batch = users[start:start + user_chunk]
        points = model.user_points(batch, history)
        if index is not None:
            if isinstance(index, str):
                index = ItemIndex.build(model, index)
            yield (batch, *index.search(points, k, users=batch, exclude=mask if exclude_seen else None))
            continue
        row, col = mask.rows(batch) if exclude_seen else (None, None)
        best_value = torch.empty(batch.numel(), 0, device=device)
        best_item = torch.empty(batch.numel(), 0, dtype=torch.long, device=device)
        for first in range(0, num_items, item_chunk):
            items = torch.arange(first, min(first + item_chunk, num_items), device=device)
            values = block_rank_scores(model, points, items).to(torch.float64, copy=True)
            if exclude_seen:
                inside = (col >= first) & (col < first + items.numel())
                values[row[inside], col[inside] - first] = -math.inf
            top = values.topk(min(k, items.numel()), dim=1)
            best_value = torch.cat([best_value.to(top.values.dtype), top.values], dim=1)
            best_item = torch.cat([best_item, items[top.indices]], dim=1)
            if best_value.size(1) > k:
                keep = best_value.topk(k, dim=1).indices
                best_value, best_item = best_value.gather(1, keep), best_item.gather(1, keep)
        order = best_value.sort(dim=1, descending=True, stable=True).indices
        best_value, best_item = best_value.gather(1, order), best_item.gather(1, order)
        found = torch.isfinite(best_value)
        scores = model.score(points, best_item).to(torch.float64)
        yield batch, torch.where(found, best_item, -1), torch.where(found, scores, math.nan)
