r"""What every recommender with users and items as points of a manifold
shares: batch scoring, one-matmul ranking, and top-k recommendation."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ...data.history import InteractionCSR
from ...manifolds import Euclidean, Lorentz, Manifold, PoincareBall
from ...manifolds.conversions import poincare_to_lorentz
from ...manifolds.lorentz import math as L
from .ranking import top_k

__all__ = ["PointRecommender", "rank_scores"]

SCORES = ("distance", "inner")


def rank_scores(manifold: Manifold, users: Tensor, items: Tensor, score: str = "distance") -> Tensor:
    r"""``[B, N]`` values that order :obj:`items` for each of :obj:`users`
    exactly as their scores do, from one matrix product.

    - ``score='distance'`` (:math:`-d(u, v)`): the hyperboloid distance is a
      decreasing function of the Minkowski inner product ([Chamberlain 2019]
      §5.2); the Poincaré distance is the hyperboloid distance of the mapped
      points (Eq. 4-5); in Euclidean space :math:`-\lVert u-v\rVert^2` differs
      from :math:`2\langle u, v\rangle - \lVert v\rVert^2` by a per-user
      constant. Other models fall back to ``-pairwise_dist``.
    - ``score='inner'``: the Minkowski (Lorentz) or dot (Euclidean) product.
    """
    if isinstance(manifold, PoincareBall):
        c = manifold.c.to(users.dtype)
        return L.pairwise_inner(poincare_to_lorentz(users, k=c), poincare_to_lorentz(items, k=c))
    if isinstance(manifold, Lorentz):
        return L.pairwise_inner(users, items)
    if isinstance(manifold, Euclidean):
        dot = users @ items.t()
        return dot if score == "inner" else 2 * dot - items.pow(2).sum(-1)
    return -manifold.pairwise_dist(users, items)


class PointRecommender(nn.Module):
    r"""Base class: subclasses own ``manifold``, an item table ``item`` of
    points, ``score_kind`` (``'distance'`` or ``'inner'``) and
    :meth:`user_points`; scoring, ranking and recommendation follow."""

    manifold: Manifold
    item: Tensor
    score_kind: str = "distance"

    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        raise NotImplementedError

    def score(self, user_points: Tensor, items: Tensor) -> Tensor:
        """Scores (higher = better) of ``[B]`` users against ``[B]`` or ``[B, k]`` items."""
        if items.dim() == user_points.dim():
            user_points = user_points.unsqueeze(-2)
        elif items.dim() != user_points.dim() - 1:
            raise ValueError(f"items must be [B] or [B, k], got {tuple(items.shape)}")
        item_points = self.item[items]
        if self.score_kind == "distance":
            return -self.manifold.dist(user_points, item_points)
        if isinstance(self.manifold, Lorentz):
            return L.inner(user_points, item_points)
        return (user_points * item_points).sum(-1)

    def score_all(self, user_points: Tensor) -> Tensor:
        """Scores of ``[B]`` users against every item, ``[B, num_items]``."""
        if self.score_kind == "distance":
            return -self.manifold.pairwise_dist(user_points, self.item)
        return self.rank_scores(user_points)

    def rank_scores(self, user_points: Tensor) -> Tensor:
        """``[B, num_items]`` values ordering items as :meth:`score_all` does,
        from one matrix product (:func:`rank_scores`). Evaluation ranks with these."""
        return rank_scores(self.manifold, user_points, self.item, self.score_kind)

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
