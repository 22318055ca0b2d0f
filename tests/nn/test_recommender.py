"""HyperbolicRecommender (Chamberlain 2019 §5): one code path for every geometry."""
import pytest
import torch

from hypgraph.data import make_synthetic, random_split, sample_negatives
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall, lorentz_to_poincare
from hypgraph.nn.losses import bpr_loss
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam
from hypgraph.train.metrics import full_ranking_metrics

MANIFOLDS = [Lorentz(margin=1e-6), Euclidean(), PoincareBall()]


@pytest.fixture(autouse=True)
def seeded():
    # models initialise from the global generator; fix it so that results do
    # not depend on which tests ran before in the same worker
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def split():
    # geometric enough (T = 0.2) and not hub-dominated (gamma = 3) for
    # personalisation to matter; on hub-heavy graphs popularity is hard to beat
    data = make_synthetic(num_users=600, num_items=400, gamma=3.0, temperature=0.2, seed=0)
    train, val, test = random_split(data, seed=0)
    ei = train["user", "interacts", "item"].edge_index
    return dict(ei=ei, nu=data["user"].num_nodes, ni=data["item"].num_nodes,
                val=val["user", "interacts", "item"].edge_label_index,
                test=test["user", "interacts", "item"].edge_label_index,
                history=InteractionCSR(ei, data["user"].num_nodes))


def train_model(model, s, epochs, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = RiemannianAdam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for b in torch.randperm(s["ei"].size(1), generator=g).split(1024):
            neg = sample_negatives(s["ei"][:, b], s["ni"], 4, generator=g, exclude=s["ei"])
            pos_score, neg_score = model(s["ei"][0, b], s["ei"][1, b], neg, s["history"])
            loss = bpr_loss(pos_score, neg_score)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total)
    return losses


def recall(model, s):
    return full_ranking_metrics(lambda u: model.score_all(model.user_points(u, s["history"])),
                                s["ei"], s["test"], s["nu"], s["ni"], ks=(10,),
                                exclude_edge_index=s["val"])["recall@10"]


@pytest.mark.parametrize("asymmetric", [True, False])
def test_hyperbolic_model_learns_and_beats_popularity(split, asymmetric):
    torch.manual_seed(0)
    model = HyperbolicRecommender(split["nu"], split["ni"], dim=16, asymmetric=asymmetric)
    model.reset_parameters(torch.bincount(split["ei"][1], minlength=split["ni"]), torch.Generator().manual_seed(0))
    losses = train_model(model, split, epochs=8)
    assert losses[-1] < 0.85 * losses[0] and losses[-1] < losses[len(losses) // 2]
    pop = torch.bincount(split["ei"][1], minlength=split["ni"]).double()
    pop_recall = full_ranking_metrics(lambda u: pop.expand(u.numel(), -1), split["ei"], split["test"],
                                      split["nu"], split["ni"], ks=(10,), exclude_edge_index=split["val"])["recall@10"]
    assert recall(model, split) > 2 * pop_recall
    assert model.manifold.check_point(model.item.detach())


@pytest.mark.parametrize("manifold", MANIFOLDS, ids=str)
@pytest.mark.parametrize("asymmetric", [True, False])
def test_score_all_agrees_with_score(split, manifold, asymmetric):
    model = HyperbolicRecommender(split["nu"], split["ni"], dim=8, manifold=manifold, asymmetric=asymmetric)
    users = torch.tensor([0, 5, 17])
    u = model.user_points(users, split["history"])
    every = torch.arange(split["ni"]).expand(3, -1)
    torch.testing.assert_close(model.score_all(u), model.score(u, every), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("manifold", MANIFOLDS, ids=str)
@pytest.mark.parametrize("parameterization", ["manifold", "tangent"])
def test_sqdist_score_is_minus_the_squared_distance(split, manifold, parameterization):
    model = HyperbolicRecommender(split["nu"], split["ni"], dim=8, manifold=manifold, asymmetric=False,
                                  score_kind="sqdist", parameterization=parameterization)
    plain = HyperbolicRecommender(split["nu"], split["ni"], dim=8, manifold=manifold, asymmetric=False,
                                  parameterization=parameterization)
    plain.load_state_dict(model.state_dict())
    users, pos, neg = torch.tensor([0, 5, 17]), torch.tensor([1, 2, 3]), torch.tensor([[4, 5], [6, 7], [8, 9]])
    (sq_pos, sq_neg), (d_pos, d_neg) = model(users, pos, neg), plain(users, pos, neg)
    torch.testing.assert_close(sq_pos, -d_pos.pow(2))
    torch.testing.assert_close(sq_neg, -d_neg.pow(2))
    u = model.user_points(users)
    torch.testing.assert_close(model.score_all(u), -plain.score_all(u).pow(2))
    # BPR on -d^2 trains: finite gradients even for a user sitting on its item
    model.user.data[0] = model.item.data[1]
    bpr_loss(*model(users, pos, neg)).backward()
    assert torch.isfinite(model.user.grad).all() and torch.isfinite(model.item.grad).all()
    assert "score_kind='sqdist'" in repr(model)


def float64_model(num_items, **kwargs):
    # points drawn again in float64 so that they lie on the manifold to float64
    # precision: the scores then differ from each other by far more than their
    # rounding, no two items tie, and monotone-equivalent scores must give the
    # identical ordering, position for position
    model = HyperbolicRecommender(num_items=num_items, **kwargs).double()
    model.reset_parameters(generator=torch.Generator().manual_seed(0))
    return model


@pytest.mark.parametrize("init_width", [0.1, 0.9])  # items up to distance 2 artanh(init_width)
def test_inner_product_score_ranks_like_distance(split, init_width):
    # -<u, v>_L = cosh d(u, v) (§5.2): ranking by the inner product is ranking by distance
    model = float64_model(split["ni"], dim=8, score_kind="inner", init_width=init_width)
    u = model.user_points(torch.arange(10), split["history"])
    by_inner = model.score_all(u).argsort(dim=-1, descending=True)
    every = torch.arange(split["ni"]).expand(10, -1)
    assert torch.equal(by_inner, (-model.manifold.pairwise_dist(u, model.item)).argsort(dim=-1, descending=True))
    assert torch.equal(by_inner, (-model.manifold.dist(u.unsqueeze(1), model.item[every])).argsort(
        dim=-1, descending=True))


def test_gradients_reach_items_through_midpoint_users(split):
    model = HyperbolicRecommender(num_items=split["ni"], dim=8)
    users = torch.tensor([3])
    _, history_items = split["history"].rows(users)
    pos, neg = model(users, torch.tensor([0]), torch.tensor([[1]]), split["history"])
    (neg - pos).sum().backward()
    touched = model.item.grad.abs().sum(-1) > 0
    assert touched[history_items].all()
    others = torch.ones(split["ni"], dtype=torch.bool)
    others[history_items] = False
    others[[0, 1]] = False
    assert not touched[others].any()
    assert model.user is None  # asymmetric: no user parameters


def test_initialisation_puts_popular_items_near_the_origin():
    freq = torch.cat([torch.full((500,), 1000), torch.full((500,), 1)])
    model = HyperbolicRecommender(num_items=1000, dim=4)
    model.reset_parameters(freq, torch.Generator().manual_seed(0))
    radius = lorentz_to_poincare(model.item.detach()).norm(dim=-1)
    assert radius[:500].mean() < 0.5 * radius[500:].mean()
    assert radius.max() < model.init_width + 1e-6


def test_recommend_excludes_seen_items(split):
    model = HyperbolicRecommender(num_items=split["ni"], dim=8)
    users = torch.arange(20)
    items, scores = model.recommend(users, 15, split["history"])
    row, col = split["history"].rows(users)
    seen = set(zip(row.tolist(), col.tolist()))
    assert not any((r, int(i)) in seen for r in range(20) for i in items[r])
    # items are ranked by the one-matmul rank_scores; their exact distances may
    # differ from that order only by rounding among near-ties
    assert (scores[:, :-1] >= scores[:, 1:] - 1e-5).all()


def test_argument_errors(split):
    with pytest.raises(ValueError, match="num_users"):
        HyperbolicRecommender(num_items=10, asymmetric=False)
    with pytest.raises(ValueError, match="score_kind must be one of"):
        HyperbolicRecommender(num_items=10, score_kind="cosine")
    with pytest.raises(ValueError, match="inner"):
        HyperbolicRecommender(num_items=10, manifold=PoincareBall(), score_kind="inner")
    with pytest.raises(ValueError, match="history"):
        HyperbolicRecommender(num_items=10).user_points(torch.tensor([0]))
    assert "users=midpoint" in str(HyperbolicRecommender(num_items=10, dim=4))


def test_score_kind_is_the_keyword_and_score_still_works_with_a_warning(split):
    new = HyperbolicRecommender(split["nu"], split["ni"], dim=4, asymmetric=False, score_kind="sqdist")
    with pytest.warns(DeprecationWarning, match=r"HyperbolicRecommender\(score=...\) is now score_kind=") as record:
        old = HyperbolicRecommender(split["nu"], split["ni"], dim=4, asymmetric=False, score="sqdist")
    assert record[0].filename == __file__  # the warning names the caller's line
    assert old.score_kind == new.score_kind == "sqdist" and repr(old) == repr(new)
    old.load_state_dict(new.state_dict())
    users, items = torch.tensor([0, 3]), torch.tensor([[1, 2], [3, 4]])
    torch.testing.assert_close(old.score(old.user_points(users), items), new.score(new.user_points(users), items))
    # the sixth positional argument keeps its place
    assert HyperbolicRecommender(split["nu"], split["ni"], 4, None, True, "inner").score_kind == "inner"
    with pytest.raises(TypeError, match="pass score_kind only"):
        HyperbolicRecommender(num_items=10, score_kind="sqdist", score="inner")


def test_the_euclidean_baseline_is_the_same_class_with_a_euclidean_manifold(split):
    model = HyperbolicRecommender(split["nu"], split["ni"], dim=4, manifold=Euclidean())
    assert type(model) is HyperbolicRecommender and model.manifold.is_flat
    assert "manifold=Euclidean()" in repr(model)


def test_popularity_baseline(split):
    from hypgraph.nn.models import PopularityRecommender
    pop = PopularityRecommender(split["ni"]).fit(split["ei"])
    counts = torch.bincount(split["ei"][1], minlength=split["ni"])
    items, _ = pop.recommend(torch.tensor([0, 1]), 5, split["history"])
    row, col = split["history"].rows(torch.tensor([0]))
    unseen = torch.ones(split["ni"], dtype=torch.bool)
    unseen[col] = False
    best_unseen = counts.masked_fill(~unseen, -1).topk(5).values
    assert torch.equal(counts[items[0]].sort(descending=True).values, best_unseen)
    with pytest.raises(ValueError, match="out of range"):
        PopularityRecommender(3).fit(torch.tensor([[0], [5]]))


def test_lightgcn_baseline_trains_through_the_same_trainer(split):
    from hypgraph.nn.models import LightGCNRecommender
    torch.manual_seed(0)
    model = LightGCNRecommender(split["nu"], split["ni"], dim=16, num_layers=2)
    losses = train_model(model, split, epochs=4)
    assert losses[-1] < losses[0]
    model.eval()
    users = torch.tensor([0, 5, 17])
    u = model.user_points(users, split["history"])
    every = torch.arange(split["ni"]).expand(3, -1)
    torch.testing.assert_close(model.score_all(u), model.score(u, every))
    pop = torch.bincount(split["ei"][1], minlength=split["ni"]).double()
    pop_recall = full_ranking_metrics(lambda u: pop.expand(u.numel(), -1), split["ei"], split["test"],
                                      split["nu"], split["ni"], ks=(10,), exclude_edge_index=split["val"])["recall@10"]
    with torch.no_grad():
        assert recall(model, split) > pop_recall


def test_lightgcn_propagation_equals_pyg_lgconv_and_its_gradient():
    # the cached D^-1/2 A D^-1/2 CSR product against PyG's LightGCN on the
    # edge list (LGConv renormalising every call), values and gradients;
    # user 3 has no history (degree 0)
    from torch_geometric.nn.models import LightGCN
    from hypgraph.nn.models import LightGCNRecommender
    torch.manual_seed(0)
    nu, ni = 6, 5
    pairs = torch.tensor([[0, 0, 1, 2, 2, 2, 4, 5, 5], [0, 3, 1, 0, 2, 4, 1, 3, 4]])
    model = LightGCNRecommender(nu, ni, dim=4, num_layers=3).double()
    model.set_graph(pairs)
    reference = LightGCN(nu + ni, 4, 3).double()
    reference.embedding.weight.data.copy_(model.lightgcn.embedding.weight.data)
    ours = model._propagate()
    theirs = reference.get_embedding(model.graph)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(ours[3], model.lightgcn.embedding.weight[3] / 4)  # alpha_0 = 1/(L+1) only
    weight = torch.randn(ours.shape, dtype=torch.float64)
    (ours * weight).sum().backward()
    (theirs * weight).sum().backward()
    torch.testing.assert_close(model.lightgcn.embedding.weight.grad, reference.embedding.weight.grad)


# score_kind='inner' on the Poincaré ball is refused by the constructor (test_argument_errors)
@pytest.mark.parametrize("manifold,score", [(m, s) for m in MANIFOLDS for s in ("distance", "sqdist", "inner")
                                            if not (s == "inner" and isinstance(m, PoincareBall))],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("init_width", [0.1, 0.9])  # near the origin (many near-ties), spread out
def test_rank_scores_order_items_like_score_all(split, manifold, score, init_width):
    model = float64_model(split["ni"], dim=8, manifold=manifold, score_kind=score, init_width=init_width)
    u = model.user_points(torch.arange(12), split["history"])
    by_rank = model.rank_scores(u).argsort(dim=-1, descending=True)
    every = torch.arange(split["ni"]).expand(12, -1)
    # the whole ordering, against the batched and the one-pair-at-a-time score
    assert torch.equal(by_rank, model.score_all(u).argsort(dim=-1, descending=True))
    assert torch.equal(by_rank, model.score(u, every).argsort(dim=-1, descending=True))
