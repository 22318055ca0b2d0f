r"""Ranking losses of [Chamberlain 2019] §5.1, on scores (higher = better).

For a distance-based model pass ``score = -distance``; for the Minkowski
inner-product score (§5.2) pass it as is.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["bpr_loss", "wmrb_loss", "hinge_loss", "adaptive_margin_weight", "l2_penalty"]


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


def hinge_loss(pos_score: Tensor, neg_score: Tensor, margin: Union[float, Tensor] = 0.1,
               reduction: str = "mean") -> Tensor:
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
        margin (float or Tensor): :math:`m \ge 0` (default: ``0.1``, HGCF's),
            or one non-negative margin per positive, ``[B]`` (e.g. HICF's
            adaptive margin, :func:`adaptive_margin_weight` times a constant;
            not checked for sign, which would make a GPU wait).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` over the
            positives (default: ``'mean'``).
    """
    neg_score = _check(pos_score, neg_score)
    if isinstance(margin, Tensor):
        if margin.shape != pos_score.shape:
            raise ValueError(f"a margin tensor must have the positives' shape {tuple(pos_score.shape)}, "
                             f"got {tuple(margin.shape)}")
        margin = margin.unsqueeze(-1)
    elif not margin >= 0:
        raise ValueError(f"need margin >= 0, got {margin}")
    loss = F.relu(margin - pos_score.unsqueeze(-1) + neg_score).mean(-1)
    return _reduce(loss, reduction)


def _log_cosh(x: Tensor) -> Tensor:
    # log cosh x = |x| + log(1 + exp(-2|x|)) - log 2, finite for every x
    x = x.abs()
    return x + F.softplus(-2 * x) - math.log(2.0)


def adaptive_margin_weight(manifold, users: Tensor, items: Tensor) -> Tensor:
    r"""HICF's adaptive margin factor (Yang et al., KDD 2022; its code,
    marlin-codes/HICF ``models/hicf_model.py``, ``hratio``) of user and
    item points ``[..., D]``: the hinge of a pair gets margin :math:`m\,w`,

    .. math::
        w = \sigma\Big(-\frac{1 + \cosh\sqrt k\,d(u, i) - \cosh\sqrt k\,r_u
        - \cosh\sqrt k\,r_i}{\cosh\sqrt k\,r_u\,\cosh\sqrt k\,r_i}\Big),
        \qquad r = d(o, \cdot).

    On the unit hyperboloid :math:`\cosh d(u, i) = -\langle u, i\rangle_{\mathcal L}`
    and :math:`\cosh r_u = u_0`, so this is the published
    :math:`\sigma(-(1 - \langle u, i\rangle_{\mathcal L} - u_0 - i_0) / (u_0 i_0))`;
    written with distances it holds on any model of curvature :math:`-k`.
    It is evaluated as :math:`\operatorname{sech}a\operatorname{sech}b
    + e^{\log\cosh c - \log\cosh a - \log\cosh b} - \operatorname{sech}a
    - \operatorname{sech}b`, with no overflow far from the origin
    (:math:`c \le a + b` bounds the middle term by 2). In flat space
    (:attr:`~hypgraph.manifolds.Manifold.is_flat`) the fraction tends to 0
    as :math:`k \to 0` and the factor is its limit, :math:`1/2`. Gradients
    flow through it, as in the published code."""
    if manifold.is_flat:
        return torch.full(torch.broadcast_shapes(users.shape[:-1], items.shape[:-1]), 0.5,
                          dtype=users.dtype, device=users.device)
    sk = manifold.curvature().to(users.dtype).sqrt()
    a, b = sk * manifold.dist0(users), sk * manifold.dist0(items)
    c = sk * manifold.dist(users, items)
    sech_a, sech_b = torch.exp(-_log_cosh(a)), torch.exp(-_log_cosh(b))
    ratio = sech_a * sech_b + torch.exp(_log_cosh(c) - _log_cosh(a) - _log_cosh(b)) - sech_a - sech_b
    return torch.sigmoid(-ratio)


def l2_penalty(*tensors: Tensor, weight: float = 1.0, batch_size: Optional[int] = None) -> Tensor:
    r""":math:`\lambda\sum\lVert\Theta\rVert^2` of [Chamberlain 2019] Eq. 13 over the
    given (batch) embeddings, divided by :obj:`batch_size` when given."""
    if not tensors:
        raise ValueError("l2_penalty needs at least one tensor")
    total = sum(t.pow(2).sum() for t in tensors)
    return weight * total / (batch_size or 1)
