"""ItemIndex: a faiss flat index returns the library's own exact ranking on
every geometry, seen items excluded; HNSW finds nearly all of it."""
import pytest
import torch

from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Klein, PoincareBall
from hypgraph.nn.models import (HyperbolicGraphRecommender, HyperbolicRecommender, ItemIndex, LightGCNRecommender,
                                PopularityRecommender, recommend_chunked)
from hypgraph.nn.models.index import item_keys, user_queries

faiss = pytest.importorskip("faiss")

NUM_USERS, NUM_ITEMS = 23, 41
USERS = torch.tensor([5, 0, 3, 22, 11, 17, 1, 2, 9, 13])


def history(seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(NUM_USERS, NUM_ITEMS, generator=g) < 0.2
    mask[:, 0] = True      # everyone has seen item 0
    mask[3] = False        # user 3 has seen nothing
    mask[9, :-3] = True    # user 9 has three unseen items: fewer than k
    user, item = mask.nonzero().t()
    return torch.stack([user, item]), InteractionCSR(torch.stack([user, item]), NUM_USERS)


MODELS = {
    "lorentz": lambda: HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=4, asymmetric=False),
    "lorentz-midpoint-inner": lambda: HyperbolicRecommender(num_items=NUM_ITEMS, dim=5, score_kind="inner"),
    "poincare-sqdist": lambda: HyperbolicRecommender(num_items=NUM_ITEMS, dim=3, manifold=PoincareBall(k=0.7),
                                                     score_kind="sqdist"),
    "euclidean-inner": lambda: HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=5, manifold=Euclidean(),
                                                     asymmetric=False, score_kind="inner",
                                                     parameterization="tangent"),
    "euclidean-sqdist": lambda: HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=5, manifold=Euclidean(),
                                                      asymmetric=False, score_kind="sqdist"),
    "graph": lambda: HyperbolicGraphRecommender(NUM_USERS, NUM_ITEMS, dim=4, num_layers=2,
                                                parameterization="tangent"),
    "lightgcn": lambda: LightGCNRecommender(NUM_USERS, NUM_ITEMS, dim=6, num_layers=2),
}


def model(name):
    torch.manual_seed(0)
    return MODELS[name]().eval()


@pytest.mark.parametrize("name", list(MODELS))
def test_flat_index_is_the_exact_ranking(name):
    edge_index, csr = history()
    m = model(name)
    k = 10
    expected = list(recommend_chunked(m, USERS, k, csr, user_chunk=4, item_chunk=9))
    got = list(recommend_chunked(m, USERS, k, csr, user_chunk=4, index="flat"))
    assert len(got) == len(expected) == 3
    for (batch, items, scores), (want_batch, want_items, want_scores) in zip(got, expected):
        assert torch.equal(batch, want_batch)
        # random float points: no ties, so the very same lists, padding included
        assert torch.equal(items, want_items)
        torch.testing.assert_close(scores, want_scores, rtol=1e-6, atol=1e-6, equal_nan=True)
    items = torch.cat([g[1] for g in got])
    assert (items[USERS.tolist().index(9), 3:] == -1).all()  # three unseen items, then padding
    seen = set(zip(*edge_index.tolist()))
    assert not any((int(u), int(i)) in seen for u, row in zip(USERS, items) for i in row if i >= 0)
    # and model.recommend's own top-k where the user has k unseen items
    own, _ = m.recommend(USERS, k, csr)
    full = torch.tensor([u != 9 for u in USERS.tolist()])
    assert torch.equal(items[full], own[full])


@pytest.mark.parametrize("name", ["lorentz", "poincare-sqdist", "euclidean-sqdist", "lightgcn"])
def test_keys_and_queries_rank_as_the_model(name):
    _, csr = history()
    m = model(name)
    points = m.user_points(USERS, csr)
    product = user_queries(m, points) @ item_keys(m).t()
    assert torch.equal(product.argsort(dim=1, descending=True), m.rank_scores(points).argsort(dim=1, descending=True))


def test_search_without_exclusion_and_a_k_beyond_the_catalogue():
    _, csr = history()
    m = model("lorentz")
    index = ItemIndex.build(m)
    points = m.user_points(USERS, csr)
    items, scores = index.search(points, 100)
    assert items.shape == scores.shape == (USERS.numel(), NUM_ITEMS)
    assert items.dtype == torch.int64 and scores.dtype == torch.float64
    assert torch.equal(items, m.rank_scores(points).argsort(dim=1, descending=True))
    assert (scores.diff(dim=1) <= 1e-6).all()
    assert repr(index) == f"ItemIndex('flat', num_items={NUM_ITEMS}, dim=5)"


def test_hnsw_finds_nearly_all_of_the_exact_top_k():
    num_users, num_items, k = 200, 3000, 10
    torch.manual_seed(1)
    m = HyperbolicRecommender(num_users, num_items, dim=8, asymmetric=False).eval()
    with torch.no_grad():  # a realistic spread: radii up to ~3 rather than the initial cluster
        for name, size in (("item", num_items), ("user", num_users)):
            m.point_tables[name].reset_parameters(getattr(m, name), points=m.manifold.random(size, 9, std=0.8))
    users = torch.arange(num_users)
    csr = InteractionCSR(torch.stack([users, users % num_items]), num_users)
    exact = torch.cat([b[1] for b in recommend_chunked(m, users, k, csr)])
    index = ItemIndex.build(m, "hnsw", hnsw_m=16, ef_construction=100, ef_search=200)
    approx = torch.cat([b[1] for b in recommend_chunked(m, users, k, csr, index=index)])
    recall = sum(len(set(a.tolist()) & set(e.tolist())) for a, e in zip(approx, exact)) / exact.numel()
    assert recall >= 0.95
    assert not (approx == (users % num_items).unsqueeze(1)).any()  # the seen item is left out
    assert index.index.hnsw.efSearch == 200


def test_hnsw_finds_k_items_when_k_is_beyond_ef_search():
    torch.manual_seed(2)
    m = HyperbolicRecommender(10, 3000, dim=8, asymmetric=False).eval()
    index = ItemIndex.build(m, "hnsw", hnsw_m=8, ef_search=4)
    items, scores = index.search(m.user_points(torch.arange(10)), 300)
    # faiss alone stops short of k when k > efSearch: the search widens it
    assert (items >= 0).all() and torch.isfinite(scores).all()
    assert all(len(set(row)) == 300 for row in items.tolist())
    assert index.index.hnsw.efSearch == 4


def test_errors():
    _, csr = history()
    m = model("lorentz")
    with pytest.raises(ValueError, match=r"index kind 'ivf' is not one of \('flat', 'hnsw'\)"):
        ItemIndex.build(m, "ivf")
    with pytest.raises(ValueError, match="index kind 'ivf'"):
        next(recommend_chunked(m, USERS, 3, csr, index="ivf"))
    with pytest.raises(ValueError, match="ef_search must be >= 1"):
        ItemIndex.build(m, "hnsw", ef_search=0)
    index = ItemIndex.build(m)
    points = m.user_points(USERS, csr)
    with pytest.raises(ValueError, match="k must be"):
        index.search(points, 0)
    with pytest.raises(ValueError, match="needs users="):
        index.search(points, 3, exclude=csr)
    with pytest.raises(TypeError, match="PopularityRecommender has no item points"):
        ItemIndex.build(PopularityRecommender(NUM_ITEMS))
    klein = HyperbolicRecommender(NUM_USERS, NUM_ITEMS, dim=3, manifold=Klein(), asymmetric=False)
    with pytest.raises(NotImplementedError, match="no matrix-product form"):
        ItemIndex.build(klein)


def test_faiss_follows_torch_threads():
    _, csr = history()
    m = model("lorentz")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        ItemIndex.build(m).search(m.user_points(USERS, csr), 3)
        assert faiss.omp_get_max_threads() == 1
    finally:
        torch.set_num_threads(before)
