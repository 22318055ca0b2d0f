r"""The popularity baseline: every user gets the most interacted-with items."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ...data.history import InteractionCSR
from .ranking import top_k

__all__ = ["PopularityRecommender"]


class PopularityRecommender(nn.Module):
    r"""Scores item :math:`i` by :math:`\log(1 + n_i)`, its number of training
    interactions — the naive baseline [Chamberlain 2019] §5.1 warns hyperbolic
    models must beat. Same scoring interface as
    :class:`~hypgraph.nn.models.HyperbolicRecommender`, so the evaluation code
    is shared.

    Args:
        num_items (int): Number of items.
    """

    def __init__(self, num_items: int) -> None:
        super().__init__()
        if num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {num_items}")
        self.num_items = num_items
        self.register_buffer("count", torch.zeros(num_items))

    def fit(self, edge_index: Tensor) -> "PopularityRecommender":
        """Count the training interactions ``[2, E]`` (user, item)."""
        if edge_index.numel() and int(edge_index[1].max()) >= self.num_items:
            raise ValueError(f"item index {int(edge_index[1].max())} out of range [0, {self.num_items})")
        self.count = torch.bincount(edge_index[1], minlength=self.num_items).float()
        return self

    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        return users  # popularity ignores who the user is

    def score(self, user_points: Tensor, items: Tensor) -> Tensor:
        return torch.log1p(self.count)[items]

    def rank_scores(self, user_points: Tensor) -> Tensor:
        return self.score_all(user_points)

    def score_all(self, user_points: Tensor) -> Tensor:
        return torch.log1p(self.count).expand(user_points.numel(), -1).clone()

    @torch.no_grad()
    def recommend(self, users: Tensor, k: int, history: Optional[InteractionCSR] = None,
                  exclude_seen: bool = True) -> Tuple[Tensor, Tensor]:
        return top_k(self.score_all(users), users, k, history, exclude_seen)

    def extra_repr(self) -> str:
        return f"num_items={self.num_items}"
