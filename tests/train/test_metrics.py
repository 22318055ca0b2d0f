"""Ranking metrics against brute force and PyG's LinkPred metrics."""
import math

import pytest
import torch
from torch_geometric.metrics import LinkPredNDCG, LinkPredPrecision, LinkPredRecall

from hypgraph.train.metrics import full_ranking_metrics, ranks_against_negatives, sampled_metrics


def random_problem(num_users=37, num_items=23, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(num_users, num_items, generator=g, dtype=torch.float64)
    pairs = torch.randperm(num_users * num_items, generator=g)[: num_users * num_items // 3]
    user, item = pairs // num_items, pairs % num_items
    is_test = torch.rand(pairs.numel(), generator=g) < 0.3
    train = torch.stack([user[~is_test], item[~is_test]])
    test = torch.stack([user[is_test], item[is_test]])
    return scores, train, test


def brute_force(scores, train, test, k):
    num_users, num_items = scores.shape
    out = {"recall": [], "precision": [], "ndcg": [], "ndcg_kgat": []}
    for u in range(num_users):
        t = set(test[1][test[0] == u].tolist())
        if not t:
            continue
        seen = set(train[1][train[0] == u].tolist())
        ranked = sorted((i for i in range(num_items) if i not in seen), key=lambda i: -float(scores[u, i]))[:k]
        rel = [1.0 if i in t else 0.0 for i in ranked]
        dcg = sum(r / math.log2(p + 2) for p, r in enumerate(rel))
        idcg = sum(1 / math.log2(p + 2) for p in range(min(k, len(t))))
        idcg_kgat = sum(1 / math.log2(p + 2) for p in range(int(sum(rel))))
        out["recall"].append(sum(rel) / len(t))
        out["precision"].append(sum(rel) / k)
        out["ndcg"].append(dcg / idcg)
        out["ndcg_kgat"].append(dcg / idcg_kgat if idcg_kgat else 0.0)
    return {key: sum(v) / len(v) for key, v in out.items()}


@pytest.mark.parametrize("chunk_size", [1, 5, 1000])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_full_ranking_matches_brute_force(k, chunk_size):
    scores, train, test = random_problem()
    got = full_ranking_metrics(lambda users: scores[users], train, test, *scores.shape,
                               ks=(k,), chunk_size=chunk_size)
    ref = brute_force(scores, train, test, k)
    for name in ("recall", "precision", "ndcg", "ndcg_kgat"):
        assert got[f"{name}@{k}"] == pytest.approx(ref[name], abs=1e-12), name


def test_full_ranking_matches_pyg_linkpred_metrics():
    scores, train, test = random_problem(seed=3)
    k = 5
    masked = scores.clone()
    masked[train[0], train[1]] = -math.inf
    users = torch.unique(test[0])
    top = masked[users].topk(k, dim=1).indices
    # PyG indexes rows of pred_index_mat by position: relabel test users to 0..B-1
    row = torch.searchsorted(users, test[0])
    metrics = {"recall": LinkPredRecall(k), "precision": LinkPredPrecision(k), "ndcg": LinkPredNDCG(k)}
    got = full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(k,))
    for name, metric in metrics.items():
        metric.update(top, torch.stack([row, test[1]]))
        assert got[f"{name}@{k}"] == pytest.approx(float(metric.compute()), abs=1e-6), name


def test_kgat_ndcg_is_never_below_standard():
    scores, train, test = random_problem(seed=5)
    got = full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(3, 10))
    for k in (3, 10):
        assert got[f"ndcg_kgat@{k}"] >= got[f"ndcg@{k}"] - 1e-12
    assert got["users"] == torch.unique(test[0]).numel()


def test_training_and_excluded_items_are_never_recommended():
    # a model that scores training items highest must get no credit for them
    scores, train, test = random_problem(seed=7)
    rigged = scores.clone()
    rigged[train[0], train[1]] += 100
    a = full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(5,))
    b = full_ranking_metrics(lambda u: rigged[u], train, test, *scores.shape, ks=(5,))
    assert a == b
    # excluding the test items themselves leaves nothing to find
    c = full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(5,), exclude_edge_index=test)
    assert c["recall@5"] == 0.0


def test_perfect_scores_give_perfect_metrics():
    _, train, test = random_problem(seed=9)
    perfect = torch.zeros(37, 23, dtype=torch.float64)
    perfect[test[0], test[1]] = 1.0
    got = full_ranking_metrics(lambda u: perfect[u], train, test, 37, 23, ks=(23,))
    assert got["recall@23"] == pytest.approx(1.0) and got["ndcg@23"] == pytest.approx(1.0)


def test_full_ranking_errors():
    scores, train, test = random_problem()
    with pytest.raises(ValueError, match="exceeds"):
        full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(24,))
    with pytest.raises(ValueError, match="k must be"):
        full_ranking_metrics(lambda u: scores[u], train, test, *scores.shape, ks=(0,))
    with pytest.raises(ValueError, match="shape"):
        full_ranking_metrics(lambda u: scores[u, :5], train, test, *scores.shape)
    with pytest.raises(ValueError, match="no user"):
        full_ranking_metrics(lambda u: scores[u], train, test[:, :0], *scores.shape)


def test_sampled_metrics_by_hand():
    pos = torch.tensor([5.0, 1.0, 3.0])
    neg = torch.tensor([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 0.0, 1.0]])
    # ranks: 0, 3, 1 (a tie with the positive counts against it)
    assert ranks_against_negatives(pos, neg).tolist() == [0, 3, 1]
    got = sampled_metrics(pos, neg, k=2)
    assert got["hr@2"] == pytest.approx(2 / 3)
    assert got["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 3)


def test_constant_scores_get_no_credit():
    pos, neg = torch.zeros(50), torch.zeros(50, 100)
    assert sampled_metrics(pos, neg, k=10) == {"hr@10": 0.0, "ndcg@10": 0.0}


def test_sampled_metrics_errors():
    with pytest.raises(ValueError, match="neg_score"):
        sampled_metrics(torch.zeros(3), torch.zeros(4, 10))
    with pytest.raises(ValueError, match="no held-out"):
        sampled_metrics(torch.zeros(0), torch.zeros(0, 10))


def test_evaluate_sampled_and_full_agree_with_direct_computation():
    from hypgraph.data import make_synthetic, random_split
    from hypgraph.data.history import InteractionCSR
    from hypgraph.nn.models import HyperbolicRecommender, PopularityRecommender
    from hypgraph.train import evaluate_full, evaluate_sampled
    data = make_synthetic(num_users=80, num_items=60, avg_user_degree=8, seed=2)
    train, _, test = random_split(data, seed=0)
    model = HyperbolicRecommender(num_items=60, dim=4)
    got = evaluate_sampled(model, test, generator=torch.Generator().manual_seed(0), num_negatives=20, k=5)
    # same negatives, scored by hand through score_all
    from hypgraph.data import sample_eval_negatives
    neg = sample_eval_negatives(test, 20, generator=torch.Generator().manual_seed(0))
    store = test["user", "interacts", "item"]
    history = InteractionCSR(store.edge_index, 80)
    scores = model.score_all(model.user_points(torch.arange(80), history)).detach()
    label = store.edge_label_index
    ref = sampled_metrics(scores[label[0], label[1]], scores[label[0].unsqueeze(1), neg], k=5)
    assert got == pytest.approx(ref, abs=1e-6)
    pop = PopularityRecommender(60).fit(store.edge_index)
    full = evaluate_full(pop, test, ks=(10,))
    direct = full_ranking_metrics(lambda u: pop.score_all(u), store.edge_index, label, 80, 60, ks=(10,))
    assert full == direct


@pytest.mark.parametrize("ks,match", [((), "ks must hold at least one cut-off"), ((0,), "k must be a positive integer"),
                                      ((5, 2.5), "k must be a positive integer")])
def test_full_ranking_refuses_bad_cut_offs(ks, match):
    train = torch.tensor([[0], [0]])
    test = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match=match):
        full_ranking_metrics(lambda users: torch.zeros(users.numel(), 3), train, test, 1, 3, ks=ks)


def test_full_ranking_takes_a_single_int_cut_off():
    train = torch.tensor([[0], [0]])
    test = torch.tensor([[0], [2]])
    scores = torch.tensor([[0.0, 1.0, 2.0]])
    out = full_ranking_metrics(lambda users: scores[users], train, test, 1, 3, ks=1)
    assert out["recall@1"] == 1.0 and out["precision@1"] == 1.0
