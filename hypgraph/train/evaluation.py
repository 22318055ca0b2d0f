r"""Evaluate a recommender under either protocol, on a split from
:mod:`hypgraph.data.split`."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn
from torch_geometric.data import HeteroData

from ..data.history import Interactions
from ..data.negative import sample_eval_negatives
from .device import module_device
from .metrics import full_ranking_metrics, sampled_metrics

__all__ = ["evaluate_sampled", "evaluate_full", "check_model_fits"]


def check_model_fits(model: nn.Module, data: HeteroData, what: str = "data") -> None:
    r"""Check that :obj:`model`'s ``num_users``/``num_items`` (where it has
    them) are the node counts of :obj:`data`.

    Raises:
        ValueError: Naming both counts and the argument order
            ``(num_users, num_items, ...)`` of every recommender here (a model
            built with them swapped fails here, not with an index error deep
            in training or, worse, silently).
    """
    for node_type in ("user", "item"):
        expected = getattr(model, f"num_{node_type}s", None)
        actual = data[node_type].num_nodes
        if expected is not None and actual is not None and expected != actual:
            raise ValueError(f"{type(model).__name__} was built for {expected} {node_type}s but {what} has "
                             f"{actual}; recommenders take (num_users, num_items, ...) in that order")


@torch.no_grad()
def evaluate_sampled(model: nn.Module, test_data: HeteroData, *, generator: torch.Generator,
                     num_negatives: int = 100, k: int = 10, chunk_size: int = 4096) -> Dict[str, float]:
    r"""HR@K and NDCG@K with :obj:`num_negatives` uniformly sampled unseen
    items per held-out positive ([Chamberlain 2019] §8.1). The users' history
    is ``test_data``'s ``edge_index`` (train + validation), indexed once per
    part (:meth:`Interactions.of <hypgraph.data.history.Interactions.of>`)."""
    device = module_device(model)
    test = Interactions.of(test_data, labels=True, what="test_data").to(device)
    check_model_fits(model, test_data, "test_data")
    history, label = test.csr, test.labels
    # drawn where the generator is (the stream does not depend on the model's device)
    negatives = sample_eval_negatives(test_data, num_negatives, generator=generator).to(device)
    model.eval()
    pos, neg = [], []
    for start in range(0, label.size(1), chunk_size):
        users, items = label[0, start:start + chunk_size], label[1, start:start + chunk_size]
        points = model.user_points(users, history)
        pos.append(model.score(points, items))
        neg.append(model.score(points, negatives[start:start + chunk_size]))
    return sampled_metrics(torch.cat(pos), torch.cat(neg), k=k)


@torch.no_grad()
def evaluate_full(model: nn.Module, test_data: HeteroData, *, ks: Sequence[int] = (20,),
                  chunk_size: int = 1024, exclude: Optional[torch.Tensor] = None) -> Dict[str, float]:
    r"""Full-ranking Recall/Precision/NDCG@K ([Hyper-Know]) of ``test_data``'s
    ``edge_label_index``; items in its ``edge_index`` (and :obj:`exclude`) are
    not ranked. Its index is built once per part
    (:meth:`Interactions.of <hypgraph.data.history.Interactions.of>`) and
    serves as both the users' histories and the items left out."""
    device = module_device(model)
    test = Interactions.of(test_data, labels=True, what="test_data").to(device)
    check_model_fits(model, test_data, "test_data")
    history = test.csr
    model.eval()
    return full_ranking_metrics(lambda users: model.rank_scores(model.user_points(users, history)),
                                history if exclude is None else test.edge_index, test.labels,
                                test.num_users, test.num_items, ks=ks, chunk_size=chunk_size,
                                exclude_edge_index=None if exclude is None else exclude.to(device))
