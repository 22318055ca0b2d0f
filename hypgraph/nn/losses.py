r"""Ranking losses of [Chamberlain 2019] §5.1, on scores (higher = better).

For a distance-based model pass ``score = -distance``; for the Minkowski
inner-product score (§5.2) pass it as is.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["bpr_loss", "wmrb_loss", "hinge_loss", "l2_penalty"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    if neg_score.dim() == pos_score.dim():
        neg_score = neg_score.unsqueeze(-1)
    if neg_score.shape[:-1] != pos_score.shape:
        raise ValueError(f"neg_score must be {tuple(pos_score.shape)} or {tuple(pos_score.shape)} + (k,), "
                         f"got {tuple(neg_score.shape)}")
    return neg_score


def bpr_loss(pos_score: Tensor, neg_score: Tensor, reduction: str = "mean") -> Tensor:
    r"""Bayesian Personalised Ranking ([Chamberlain 2019] Eq. 13, [Hyper-Know] Eq. 3):
    :math:`-\ln\sigma(s_{u,i} - s_{u,j})`, averaged over the :math:`k` negatives
    when several are given. Computed as ``softplus(s_j - s_i)``, which does not
    overflow.

    Args:
        pos_score (Tensor): ``[B]`` scores of positives.
        neg_score (Tensor): ``[B]`` or ``[B, k]`` scores of sampled negatives.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (default: ``'mean'``).
    """
    neg_score = _check(pos_score, neg_score)
    loss = F.softplus(neg_score - pos_score.unsqueeze(-1)).mean(-1)
    return _reduce(loss, reduction)


def wmrb_loss(pos_score: Tensor, neg_score: Tensor, margin: float = 1.0,
              scale: float = 1.0, reduction: str = "mean") -> Tensor:
    r"""Weighted Margin-Rank Batch loss ([Chamberlain 2019] Eq. 15-16; Liu &
    Natarajan 2017):

    .. math::
        r_{i} = s \sum_{k \in N} \lvert \epsilon - s_{u,i} + s_{u,k} \rvert_+,\qquad
        L = \log(1 + r_i)

    With distances (:math:`s = -d`) the hinge is Eq. 15's
    :math:`\lvert\epsilon + d(u, i) - d(u, k)\rvert_+`.

    Args:
        pos_score (Tensor): ``[B]``.
        neg_score (Tensor): ``[B, k]`` (``[B]`` is one negative each).
        margin (float): The slack :math:`\epsilon` (default: ``1.0``, as in the paper).
        scale (float): Rank scale :math:`s`; Liu & Natarajan use
            ``num_items / k`` so that :math:`r` estimates the rank, Eq. 15 uses 1
            (default: ``1.0``).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (default: ``'mean'``).
    """
    if margin < 0 or scale <= 0:
        raise ValueError(f"need margin >= 0 and scale > 0, got margin={margin}, scale={scale}")
    neg_score = _check(pos_score, neg_score)
    rank = scale * F.relu(margin - pos_score.unsqueeze(-1) + neg_score).sum(-1)
    return _reduce(torch.log1p(rank), reduction)


def hinge_loss(pos_score: Tensor, neg_score: Tensor, margin: float = 0.1, reduction: str = "mean") -> Tensor:
    r"""The margin ranking loss of HGCF (Sun et al., WWW 2021; its code:
    layer6ai-labs/HGCF ``models/base_models.py``, ``compute_loss``) and HRCF,
    on scores:

    .. math::
        L_{u,i} = \frac{1}{k}\sum_{j=1}^{k} \lvert m - s_{u,i} + s_{u,j} \rvert_+

    With squared-distance scores (:math:`s = -d^2`, ``score='sqdist'``) this is
    :math:`\lvert d^2(u, i) - d^2(u, j) + m\rvert_+`. The published code sums it
    over the batch (``reduction='sum'``); the mean keeps a learning rate
    independent of the batch size.

    Args:
        pos_score (Tensor): ``[B]`` scores of positives.
        neg_score (Tensor): ``[B]`` or ``[B, k]`` scores of negatives.
        margin (float): :math:`m \ge 0` (default: ``0.1``, HGCF's).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` over the
            positives (default: ``'mean'``).
    """
    if not margin >= 0:
        raise ValueError(f"need margin >= 0, got {margin}")
    neg_score = _check(pos_score, neg_score)
    loss = F.relu(margin - pos_score.unsqueeze(-1) + neg_score).mean(-1)
    return _reduce(loss, reduction)


def l2_penalty(*tensors: Tensor, weight: float = 1.0, batch_size: Optional[int] = None) -> Tensor:
    r""":math:`\lambda\sum\lVert\Theta\rVert^2` of [Chamberlain 2019] Eq. 13 over the
    given (batch) embeddings, divided by :obj:`batch_size` when given."""
    if not tensors:
        raise ValueError("l2_penalty needs at least one tensor")
    total = sum(t.pow(2).sum() for t in tensors)
    return weight * total / (batch_size or 1)
