"""recommend_chunked: exact top-k in user chunks and item blocks equals each
model's own recommend()."""
import math

import pytest
import torch

from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, PoincareBall
from hypgraph.nn.models import (HyperbolicGraphRecommender, HyperbolicRecommender, LightGCNRecommender,
                                PopularityRecommender, recommend_chunked)

NUM_USERS, NUM_ITEMS = 23, 41


def history(seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(NUM_USERS, NUM_ITEMS, generator=g) < 0.2
    mask[:, 0] = True  # everyone has seen item 0
    mask[3] = False     # user 3 has seen nothing
    user, item = mask.nonzero().t()
    return torch.stack([user, item]), InteractionCSR(torch.stack([user, item]), NUM_USERS)


def models(edge_index):
    torch.manual_seed(0)
    yield HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=4, asymmetric=False)
    yield HyperbolicRecommender(num_items=NUM_ITEMS, dim=3, manifold=PoincareBall(), score_kind="sqdist")
    yield HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=5, manifold=Euclidean(), asymmetric=False,
                                score_kind="inner", parameterization="tangent")
    yield HyperbolicGraphRecommender(NUM_USERS, NUM_ITEMS, dim=4, num_layers=2, parameterization="tangent")
    yield LightGCNRecommender(NUM_USERS, NUM_ITEMS, dim=6, num_layers=2)
    counts = torch.randperm(NUM_ITEMS, generator=torch.Generator().manual_seed(1))  # distinct: no ties
    pop = PopularityRecommender(NUM_ITEMS)
    pop.count = counts.float()
    yield pop


@pytest.mark.parametrize("user_chunk,item_chunk", [(5, 7), (1000, 1000), (1, 1), (23, 40)])
@pytest.mark.parametrize("index", range(6))
def test_equals_recommend(index, user_chunk, item_chunk):
    edge_index, csr = history()
    model = list(models(edge_index))[index].eval()
    users = torch.tensor([5, 0, 3, 22, 5, 11, 17, 1, 2, 9, 13])
    k = 10
    expected_items, expected_scores = model.recommend(users, k, csr)
    got = list(recommend_chunked(model, users, k, csr, user_chunk=user_chunk, item_chunk=item_chunk))
    assert len(got) == math.ceil(users.numel() / user_chunk)
    batch = torch.cat([g[0] for g in got])
    items = torch.cat([g[1] for g in got])
    scores = torch.cat([g[2] for g in got])
    assert torch.equal(batch, users)
    assert torch.equal(items, expected_items)
    torch.testing.assert_close(scores, expected_scores.double(), rtol=1e-6, atol=1e-6)
    seen = set(zip(*edge_index.tolist()))
    assert not any((int(u), int(i)) in seen for u, row in zip(users, items) for i in row)


def test_fewer_unseen_items_than_k_are_padded():
    user = torch.zeros(NUM_ITEMS - 2, dtype=torch.long)
    edge_index = torch.stack([user, torch.arange(NUM_ITEMS - 2)])
    csr = InteractionCSR(edge_index, 1)
    model = HyperbolicRecommender(num_items=NUM_ITEMS, dim=3).eval()
    (_, items, scores), = recommend_chunked(model, torch.tensor([0]), 5, csr, item_chunk=4)
    assert sorted(items[0, :2].tolist()) == [NUM_ITEMS - 2, NUM_ITEMS - 1]
    assert items[0, 2:].tolist() == [-1, -1, -1] and torch.isnan(scores[0, 2:]).all()
    (_, items, _), = recommend_chunked(model, torch.tensor([0]), 100, csr, exclude_seen=False)
    assert items.shape == (1, NUM_ITEMS) and sorted(items[0].tolist()) == list(range(NUM_ITEMS))


def test_exclude_another_set_than_the_history():
    edge_index, csr = history()
    more = torch.cat([edge_index, torch.tensor([[5, 5, 5], [1, 2, 3]])], 1)
    model = HyperbolicRecommender(num_items=NUM_ITEMS, dim=3).eval()
    users = torch.arange(NUM_USERS)
    (_, items, _), = recommend_chunked(model, users, 40, csr, exclude=InteractionCSR(more, NUM_USERS),
                                       user_chunk=100, item_chunk=6)
    (_, plain, _), = recommend_chunked(model, users, 40, csr, user_chunk=100, item_chunk=6)
    seen = set(zip(*more.tolist()))
    assert not any((u, i) in seen for u in range(NUM_USERS) for i in items[u].tolist())
    # the history (midpoint users) is still the training one: other users are unchanged
    assert torch.equal(items[:5], plain[:5]) and not torch.equal(items[5], plain[5])


def test_memory_is_bounded_by_the_blocks(score_blocks):
    # no score matrix wider than item_chunk is formed, however many items
    widths = score_blocks
    _, csr = history()
    model = HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=4, asymmetric=False).eval()
    list(recommend_chunked(model, torch.arange(NUM_USERS), 3, csr, user_chunk=4, item_chunk=8))
    assert max(w for _, w in widths) == 8 and max(b for b, _ in widths) == 4


def test_errors():
    model = HyperbolicRecommender(num_items=NUM_ITEMS, dim=3)
    with pytest.raises(ValueError, match="k must be"):
        next(recommend_chunked(model, torch.tensor([0]), 0, history()[1]))
    with pytest.raises(ValueError, match="needs the users' history"):
        next(recommend_chunked(model, torch.tensor([0]), 3))
    with pytest.raises(ValueError, match="user_chunk"):
        next(recommend_chunked(model, torch.tensor([0]), 3, history()[1], item_chunk=0))


def test_an_index_without_faiss_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    model = HyperbolicRecommender(num_items=NUM_ITEMS, dim=3).eval()
    with pytest.raises(ImportError, match=r'pip install "hypgraph-pyg\[serve\]"'):
        next(recommend_chunked(model, torch.tensor([0]), 3, history()[1], index="flat"))
