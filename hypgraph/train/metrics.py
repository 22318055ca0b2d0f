r"""Ranking metrics for the two evaluation protocols of the papers.

- Sampled ([Chamberlain 2019] §8.1): each held-out positive is ranked against
  uniformly sampled unseen items; HR@K and NDCG@K.
- Full ranking ([Hyper-Know]): each user's items not in their training set are
  ranked; Recall@K, Precision@K and NDCG@K. Two NDCG definitions exist in
  the literature: the standard one (ideal DCG of the user's test items) and
  KGAT's, normalised by the ideal DCG of the *retrieved* list only, which
  inflates it. Both are returned, the second labelled ``ndcg_kgat``.

Scores are computed in chunks of users, so memory is bounded by
``chunk_size x num_items``; a users x items matrix is never formed.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence, Union

import torch
from torch import Tensor

from ..data.history import InteractionCSR

__all__ = ["sampled_metrics", "full_ranking_metrics", "ranks_against_negatives"]


def ranks_against_negatives(pos_score: Tensor, neg_score: Tensor) -> Tensor:
    r"""0-based rank of each positive among its negatives.

    Ties count against the positive (a negative scoring *equal* to the
    positive is ranked above it): a model that scores everything alike must
    not look good.

    Args:
        pos_score (Tensor): ``[P]``.
        neg_score (Tensor): ``[P, N]``.
    """
    if neg_score.dim() != 2 or neg_score.size(0) != pos_score.numel():
        raise ValueError(f"neg_score must be [P, N] with P = {pos_score.numel()}, got {tuple(neg_score.shape)}")
    return (neg_score >= pos_score.unsqueeze(-1)).sum(-1)


def sampled_metrics(pos_score: Tensor, neg_score: Tensor, k: int = 10) -> Dict[str, float]:
    r"""HR@K and NDCG@K of the sampled protocol ([Chamberlain 2019] §8.1).

    With one relevant item per list, :math:`\text{HR@K} = [r < K]` and
    :math:`\text{NDCG@K} = [r < K] / \log_2(r + 2)` for 0-based rank :math:`r`.

    Args:
        pos_score (Tensor): Score of each held-out positive, ``[P]``.
        neg_score (Tensor): Scores of its sampled negatives, ``[P, N]``.
        k (int): Cut-off (default: ``10``).
    """
    _check_k(k)
    if pos_score.numel() == 0:
        raise ValueError("no held-out positives to evaluate")
    rank = ranks_against_negatives(pos_score, neg_score).double()
    hit = rank < k
    return {f"hr@{k}": float(hit.double().mean()),
            f"ndcg@{k}": float((hit / torch.log2(rank + 2)).mean())}


def _check_k(k: int) -> None:
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")


def full_ranking_metrics(
    score_fn: Callable[[Tensor], Tensor],
    train_edge_index: Union[Tensor, InteractionCSR],
    test_edge_index: Tensor,
    num_users: int,
    num_items: int,
    ks: Sequence[int] = (20,),
    chunk_size: int = 1024,
    exclude_edge_index: Optional[Tensor] = None,
) -> Dict[str, float]:
    r"""Full-ranking Recall@K, Precision@K, NDCG@K and KGAT's NDCG@K.

    For every user with at least one test item, all items are scored by
    :obj:`score_fn`, the user's training items (and :obj:`exclude_edge_index`,
    e.g. validation items) are removed, and the top :math:`K` are compared
    with the test items :math:`T_u`:

    .. math::
        \text{Recall@K} = \frac{|R_u \cap T_u|}{|T_u|},\quad
        \text{Precision@K} = \frac{|R_u \cap T_u|}{K},\quad
        \text{NDCG@K} = \frac{\sum_{i<K} \text{rel}_i/\log_2(i+2)}
                             {\sum_{i<\min(K,|T_u|)} 1/\log_2(i+2)}

    ``ndcg_kgat@K`` divides the same DCG by the ideal DCG of the retrieved
    hits only (:math:`\sum_{i < |R_u\cap T_u|} 1/\log_2(i+2)`), as KGAT's code
    does; it is reported for comparison with published numbers only.

    Args:
        score_fn (callable): Maps a ``[B]`` tensor of user ids to ``[B, num_items]``
            scores (higher is better).
        train_edge_index (Tensor or InteractionCSR): ``[2, E]`` (user, item)
            pairs seen in training, or the :class:`InteractionCSR` of the
            pairs to leave out, already built (e.g.
            :attr:`Interactions.csr <hypgraph.data.history.Interactions>`; a
            trainer validating every epoch then indexes them once).
        test_edge_index (Tensor): ``[2, T]`` held-out (user, item) pairs.
        num_users (int): Number of users.
        num_items (int): Number of items.
        ks (Sequence[int]): Cut-offs (default: ``(20,)``).
        chunk_size (int): Users scored at once (default: ``1024``).
        exclude_edge_index (Tensor, optional): Further pairs to remove from the
            ranking (e.g. validation positives when testing).

    Returns:
        Dict[str, float]: ``recall@K``, ``precision@K``, ``ndcg@K``,
        ``ndcg_kgat@K`` for each K, averaged over users with test items, and
        ``users`` (how many).
    """
    ks = (ks,) if isinstance(ks, int) else tuple(ks)
    if not ks:
        raise ValueError("ks must hold at least one cut-off, e.g. (20,)")
    for k in ks:
        _check_k(k)
    if max(ks) > num_items:
        raise ValueError(f"k = {max(ks)} exceeds the number of items ({num_items})")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    seen_rows = _seen_rows(train_edge_index, exclude_edge_index, num_users)
    users = torch.unique(test_edge_index[0])
    if users.numel() == 0:
        raise ValueError("no user has a test item")
    test_key = test_edge_index[0] * num_items + test_edge_index[1]
    test_key = torch.unique(test_key)  # sorted; repeated test pairs count once
    kmax = max(ks)
    device = test_edge_index.device  # every tensor here; the sums are read once, at the end
    discount = 1.0 / torch.log2(torch.arange(2, kmax + 2, dtype=torch.double, device=device))
    ideal = torch.cat([torch.zeros(1, dtype=torch.double, device=device), discount.cumsum(0)])
    sums = {name: torch.zeros((), dtype=torch.double, device=device)
            for k in ks for name in (f"recall@{k}", f"precision@{k}", f"ndcg@{k}", f"ndcg_kgat@{k}")}
    n_test = torch.bincount(test_key // num_items, minlength=num_users)

    for start in range(0, users.numel(), chunk_size):
        batch = users[start:start + chunk_size]
        with torch.no_grad():
            scores = score_fn(batch).detach().to(torch.double, copy=True)
        if scores.shape != (batch.numel(), num_items):
            raise ValueError(f"score_fn returned shape {tuple(scores.shape)}, "
                             f"expected ({batch.numel()}, {num_items})")
        row, col = seen_rows.rows(batch)
        scores[row, col] = -math.inf
        top = scores.topk(kmax, dim=1).indices
        key = batch.unsqueeze(1) * num_items + top
        pos = torch.searchsorted(test_key, key).clamp_max(test_key.numel() - 1)
        rel = (test_key[pos] == key).double()                     # [B, kmax]
        size = n_test[batch].double()
        for k in ks:
            hits = rel[:, :k].sum(1)
            dcg = (rel[:, :k] * discount[:k]).sum(1)
            idcg = ideal[size.clamp_max(k).long()]
            idcg_kgat = ideal[hits.long()]
            sums[f"recall@{k}"] += (hits / size).sum()
            sums[f"precision@{k}"] += (hits / k).sum()
            sums[f"ndcg@{k}"] += (dcg / idcg).sum()
            sums[f"ndcg_kgat@{k}"] += torch.where(hits > 0, dcg / idcg_kgat.clamp_min(1e-12),
                                                  torch.zeros_like(dcg)).sum()
    n = users.numel()
    out = {name: value / n for name, value in zip(sums, torch.stack(list(sums.values())).tolist())}
    out["users"] = n
    return out


def _seen_rows(train: Union[Tensor, InteractionCSR], exclude: Optional[Tensor], num_users: int) -> InteractionCSR:
    if isinstance(train, InteractionCSR):
        if exclude is not None:
            raise ValueError("exclude_edge_index needs the training pairs as an edge_index, not an "
                             "InteractionCSR (pass the CSR of both instead)")
        if train.num_users != num_users:
            raise ValueError(f"the InteractionCSR has {train.num_users} users, not {num_users}")
        return train
    seen = train if exclude is None else torch.cat([train, exclude], dim=1)
    return InteractionCSR(seen, num_users)
