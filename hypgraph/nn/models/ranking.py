r"""Top-k selection shared by every recommender model."""
from __future__ import annotations

import math
from typing import Optional, Tuple

from torch import Tensor

from ...data.history import InteractionCSR

__all__ = ["top_k"]


def top_k(scores: Tensor, users: Tensor, k: int, history: Optional[InteractionCSR],
          exclude_seen: bool) -> Tuple[Tensor, Tensor]:
    """``(items, scores)`` of the :obj:`k` best items per row of ``scores [B, N]``,
    masking each user's :obj:`history` items when :obj:`exclude_seen`."""
    if exclude_seen:
        if history is None:
            raise ValueError("exclude_seen=True needs the users' history")
        row, col = history.rows(users)
        scores[row, col] = -math.inf
    top = scores.topk(min(k, scores.size(-1)), dim=-1)
    return top.indices, top.values
