"""HyperKnow: the recommender interface, the KG regulariser (Eq. 4-9, 13),
every Table 3 row through the Trainer, gradients and float32 numerics."""
import math

import pytest
import torch

from hypgraph.data import (KGNeighbourhoods, build_hetero_data, make_synthetic, random_split,
                           sample_negatives)
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall
from hypgraph.nn.losses import bpr_loss
from hypgraph.nn.models import ABLATIONS, FIXED_BETA, HyperKnow
from hypgraph.optim import RiemannianAdam
from hypgraph.train import BilevelTrainer, Trainer, evaluate_full


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(num_users=80, num_items=60, avg_user_degree=8, gamma=3.0, temperature=0.3,
                          num_categories=8, kg_depth=2, seed=3)
    return random_split(data, seed=0)


def hand_kg(num_users=6):
    r"""8 items; items 0 and 1 share both their KG neighbours (entities 8, 9),
    item 2 has its own (entity 10), items 3-7 have none. Users 0-1 like item
    0, users 2-3 item 1, users 4-5 item 2."""
    user = torch.arange(num_users)
    item = user // 2
    head = torch.tensor([0, 0, 1, 1, 2])
    rel = torch.tensor([0, 1, 0, 1, 0])
    tail = torch.tensor([8, 9, 8, 9, 10])
    return build_hetero_data(user, item, num_users=num_users, num_items=8, kg_head=head, kg_relation=rel,
                             kg_tail=tail, num_entities=11, num_relations=2,
                             link_item=torch.arange(8), link_entity=torch.arange(8))


def model_for(data, seed=0, **kw):
    # every KG triple (the default samples 8 per item per batch): the formulas tested here are exact
    torch.manual_seed(seed)
    kw.setdefault("dim", 4)
    kw.setdefault("num_neighbour_samples", None)
    model = HyperKnow.from_data(data, **kw)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


# --- configurations -----------------------------------------------------------

EXPECTED = {  # Table 3: geometry, KG mode, adaptive beta
    "BPR+E": (Euclidean, None, False), "BPR+H": (PoincareBall, None, False),
    "BPR+Att+E": (Euclidean, "attention", False), "BPR+Att+H": (PoincareBall, "attention", False),
    "BPR+Avg+H": (PoincareBall, "average", False), "Hyper-Know": (PoincareBall, "attention", True),
}


def test_table3_rows_are_one_class_differing_only_in_configuration(split):
    train, _, _ = split
    assert set(ABLATIONS) == set(EXPECTED)
    models = {name: HyperKnow.ablation(name, data=train, dim=4) for name in ABLATIONS}
    for name, model in models.items():
        geometry, kg, adaptive = EXPECTED[name]
        assert type(model) is HyperKnow and isinstance(model.manifold, geometry)
        assert model.kg == kg and (model.beta_logit is not None) == adaptive
        assert model.beta == ("adaptive" if adaptive else FIXED_BETA)

    def shapes(model):
        return {n: tuple(p.shape) for n, p in model.named_parameters()}

    # E vs H: the same parameters and methods, only the manifold differs
    euclid, hyper = models["BPR+Att+E"], models["BPR+Att+H"]
    assert shapes(euclid) == shapes(hyper) and type(euclid.manifold) is not type(hyper.manifold)
    assert type(euclid.attention) is type(hyper.attention)
    assert shapes(models["BPR+E"]) == shapes(models["BPR+H"]) == {"user": (80, 4), "item": (60, 4)}
    # Avg has no relation embeddings; the full model adds one beta per item
    assert "attention.relation" not in shapes(models["BPR+Avg+H"])
    assert shapes(models["Hyper-Know"]) == {**shapes(hyper), "beta_logit": (60,)}
    # the Fig. 2 sweep: a fixed beta per run
    assert HyperKnow.ablation("BPR+Att+H", data=train, beta=0.25).beta == 0.25


def ranking_loss(model, data, negatives):
    # BPR (without the KG term) over every training pair against fixed negatives
    edge_index = data["user", "interacts", "item"].edge_index
    history = InteractionCSR(edge_index, data["user"].num_nodes)
    model.eval()
    with torch.no_grad():
        pos_score, neg_score = model(edge_index[0], edge_index[1], negatives, history)
    return float(bpr_loss(pos_score, neg_score))


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_every_table3_row_trains_through_the_trainer(split, name):
    train, val, test = split
    model = HyperKnow.ablation(name, data=train, dim=8, l2=1e-3, num_neighbour_samples=2)
    model.reset_parameters(generator=torch.Generator().manual_seed(0))
    edge_index = train["user", "interacts", "item"].edge_index
    negatives = sample_negatives(edge_index, train["item"].num_nodes, 4,
                                 generator=torch.Generator().manual_seed(1), exclude=edge_index)
    untrained_loss = ranking_loss(model, train, negatives)
    untrained = evaluate_full(model, test, ks=(20,))
    theta = [p for n, p in model.named_parameters() if n != "beta_logit"]
    kwargs = dict(max_epochs=8, patience=8, batch_size=128, progress=False, seed=0)
    if name == "Hyper-Know":
        trainer = BilevelTrainer(model, RiemannianAdam(theta, lr=0.05),
                                 torch.optim.Adam([model.beta_logit], lr=0.05), **kwargs)
    else:
        trainer = Trainer(model, RiemannianAdam(theta, lr=0.05), **kwargs)
    result = trainer.fit(train, val)
    assert all(math.isfinite(r["loss"]) for r in result.records)
    for _, p in model.named_parameters():
        assert torch.isfinite(p).all()
    if not isinstance(model.manifold, Euclidean):
        assert model.manifold.check_point(model.item.detach())
    # training, not just running: the ranking loss on the training pairs falls
    # and the held-out ranking improves clearly over the same model untrained
    # (seed 0, 8 epochs: loss 0.694 -> 0.37-0.61, test NDCG@20 0.156 -> 0.33-0.51)
    assert ranking_loss(model, train, negatives) < 0.93 * untrained_loss
    trained = evaluate_full(model, test, ks=(20,))
    assert trained["ndcg@20"] > 2 * untrained["ndcg@20"] > 0
    assert trained["recall@20"] > untrained["recall@20"] + 0.1


def test_ablation_and_constructor_errors(split):
    train, _, _ = split
    with pytest.raises(ValueError, match="unknown ablation 'BPR\\+X'"):
        HyperKnow.ablation("BPR+X", data=train)
    with pytest.raises(ValueError, match="is Euclidean"):
        HyperKnow.ablation("BPR+E", data=train, manifold=PoincareBall())
    with pytest.raises(ValueError, match="fixed beta"):
        HyperKnow.ablation("BPR+Att+H", data=train, beta="adaptive")
    with pytest.raises(ValueError, match="kg must be one of"):
        HyperKnow(2, 2, 2, 1, kg="mean")
    with pytest.raises(ValueError, match="beta must be"):
        HyperKnow(2, 2, 2, 1, beta=-1.0)
    with pytest.raises(ValueError, match="num_neighbour_samples"):
        HyperKnow(2, 2, 2, 1, num_neighbour_samples=0)
    # the KG-free rows need no KG in the data
    no_kg = build_hetero_data([0, 1], [1, 0], num_users=2, num_items=2)
    assert HyperKnow.ablation("BPR+E", data=no_kg, dim=3).entity is None
    model = HyperKnow(80, 60, 5, 2, dim=4)
    with pytest.raises(ValueError, match="neighbourhoods"):
        model.auxiliary_loss(torch.tensor([0]), torch.tensor([0]), torch.tensor([[1]]))
    with pytest.raises(ValueError, match="the model expects"):
        model.set_neighbourhoods(KGNeighbourhoods.from_hetero(train))


def test_repr():
    model = HyperKnow(5, 7, 3, 2, dim=4, beta=0.5, kg="average")
    text = repr(model)
    assert text.startswith("HyperKnow(")
    assert "num_users=5, num_items=7, dim=4, manifold=PoincareBall(k=1), kg='average', beta=0.5" in text
    assert "HyperbolicKGAttention(4, num_relations=4" in text  # 2 relations + their inverses


# --- scoring interface ----------------------------------------------------------

@pytest.mark.parametrize("manifold", [PoincareBall(k=1.0), PoincareBall(k=0.5), Euclidean()],
                         ids=["poincare", "poincare-k0.5", "euclidean"])
def test_rank_scores_order_items_as_the_distance_does(manifold):
    torch.manual_seed(0)
    model = HyperKnow(10, 50, 1, 1, dim=5, kg=None, manifold=manifold, init_std=0.3).double()
    users = torch.arange(10)
    points = model.user_points(users)
    rank = model.rank_scores(points)
    exact = model.score_all(points)
    assert rank.shape == exact.shape == (10, 50)
    order = rank.argsort(dim=-1, descending=True)
    # scores taken in rank order never increase: the same ranking
    assert (exact.gather(1, order).diff(dim=-1) <= 1e-12).all()
    # forward and score agree with score_all
    pos, neg = torch.arange(10), torch.randint(50, (10, 3))
    pos_score, neg_score = model(users, pos, neg)
    assert torch.allclose(pos_score, exact[users, pos]) and torch.allclose(neg_score, exact.gather(1, neg))


@pytest.mark.parametrize("manifold", [PoincareBall(k=1.0), Euclidean()], ids=["poincare", "euclidean"])
def test_sqdist_score_squares_the_distance_and_ranks_alike(split, manifold):
    train, _, _ = split
    torch.manual_seed(0)
    model = HyperKnow.from_data(train, dim=5, kg="attention", beta=0.1, manifold=manifold, init_std=0.3,
                                score_kind="sqdist").double()
    plain = HyperKnow.from_data(train, dim=5, kg="attention", beta=0.1, manifold=manifold).double()
    plain.load_state_dict(model.state_dict())
    users, pos, neg = torch.arange(10), torch.arange(10), torch.randint(60, (10, 3))
    (sq_pos, sq_neg), (d_pos, d_neg) = model(users, pos, neg), plain(users, pos, neg)
    torch.testing.assert_close(sq_pos, -d_pos.pow(2))
    torch.testing.assert_close(sq_neg, -d_neg.pow(2))
    points = model.user_points(users)
    order = model.rank_scores(points).argsort(dim=-1, descending=True)
    assert (model.score_all(points).gather(1, order).diff(dim=-1) <= 1e-12).all()
    # the KG term is still the distance of Eq. 7
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(model.kg_loss(pos, g), plain.kg_loss(pos, torch.Generator().manual_seed(0)))
    assert "score_kind='sqdist'" in repr(model) and "score" not in repr(plain)
    with pytest.raises(ValueError, match="score_kind must be one of"):
        HyperKnow(2, 2, 2, 1, score_kind="inner")


def test_score_kind_is_the_keyword_and_score_still_works_with_a_warning(split):
    train, _, _ = split
    with pytest.warns(DeprecationWarning, match=r"HyperKnow(\.\w+)?\(score=\.\.\.\) is now score_kind=") as record:
        old = HyperKnow(2, 2, 2, 1, score="sqdist")
        from_data = HyperKnow.from_data(train, dim=4, score="sqdist")
        ablation = HyperKnow.ablation("BPR+H", data=train, dim=4, score="sqdist")
    assert [w.filename for w in record] == [__file__] * 3  # each names the caller's line
    assert old.score_kind == from_data.score_kind == ablation.score_kind == "sqdist"
    assert repr(old) == repr(HyperKnow(2, 2, 2, 1, score_kind="sqdist"))
    with pytest.raises(TypeError, match="pass score_kind only"):
        HyperKnow(2, 2, 2, 1, score_kind="sqdist", score="distance")


def test_ablation_asks_the_manifold_for_its_geometry(split):
    train, _, _ = split
    # another curvature or another model of hyperbolic space keeps an H row hyperbolic
    for manifold in (PoincareBall(k=0.5), Lorentz(), Klein(k=2.0)):
        assert HyperKnow.ablation("BPR+H", data=train, dim=3, manifold=manifold).manifold is manifold
    with pytest.raises(ValueError, match="is hyperbolic"):
        HyperKnow.ablation("BPR+Att+H", data=train, manifold=Euclidean())

    class Flat(PoincareBall):  # a manifold that declares itself flat is an E row, whatever its class
        is_flat = True

    assert HyperKnow.ablation("BPR+E", data=train, dim=3, manifold=Flat()).manifold.is_flat
    with pytest.raises(ValueError, match="is hyperbolic"):
        HyperKnow.ablation("BPR+H", data=train, manifold=Flat())


def test_recommend_excludes_seen_items():
    torch.manual_seed(0)
    model = HyperKnow(4, 12, 1, 1, dim=3, kg=None, init_std=0.3)
    history = InteractionCSR(torch.tensor([[0, 0, 1], [2, 5, 7]]), 4)
    items, scores = model.recommend(torch.tensor([0, 1]), 4, history)
    assert items.shape == (2, 4) and not {2, 5} & set(items[0].tolist()) and 7 not in items[1].tolist()
    assert (scores.diff(dim=-1) <= 1e-6).all()


# --- the KG regulariser -------------------------------------------------------

def train_on(data, steps=100, seed=0, **kw):
    """Full-batch BPR + auxiliary loss (what Trainer._step does), without
    the Trainer's restore of the best validation state."""
    model = model_for(data, seed=seed, dim=4, init_std=0.3, **kw)
    opt = RiemannianAdam(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(seed)
    pos = data["user", "interacts", "item"].edge_index
    for _ in range(steps):
        neg = sample_negatives(pos, data["item"].num_nodes, 1, generator=g)
        pos_score, neg_score = model(pos[0], pos[1], neg)
        loss = bpr_loss(pos_score, neg_score) + model.auxiliary_loss(pos[0], pos[1], neg, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize("kg", ["attention", "average"])
def test_kg_term_pulls_items_that_share_entities_together(kg):
    data = hand_kg()
    without = train_on(data, kg=kg, beta=0.0)  # the same run without the KG term
    with_kg = train_on(data, kg=kg, beta=1.0)

    def dist(model, i, j):
        return model.manifold.dist(model.item[i], model.item[j]).item()

    assert dist(with_kg, 0, 1) < 0.6 * dist(without, 0, 1)
    if kg == "average":  # the same neighbourhood point for items 0 and 1
        assert dist(with_kg, 0, 1) < 0.1 * dist(with_kg, 0, 2)


def test_items_without_triples_get_no_regulariser():
    data = hand_kg()
    model = model_for(data, kg="attention", beta=1.0, init_std=0.3)
    items = torch.tensor([0, 3, 2, 7])
    loss = model.kg_loss(items)
    assert loss[0] > 0 and loss[2] > 0 and loss[1] == 0 and loss[3] == 0
    n_v, has = model.neighbourhood_points(items)
    assert has.tolist() == [True, False, True, False] and n_v[1].abs().max() == 0  # the origin
    model.auxiliary_loss(torch.tensor([0, 1]), torch.tensor([3, 7]), torch.tensor([[0], [1]])).backward()
    assert model.item.grad is None or model.item.grad.abs().max() == 0


def test_fixed_beta_scales_the_kg_term_and_adaptive_uses_sigmoid():
    data = hand_kg()
    users, pos, neg = torch.tensor([0, 2, 4]), torch.tensor([0, 1, 2]), torch.tensor([[5], [6], [7]])
    one = model_for(data, beta=1.0, init_std=0.3).auxiliary_loss(users, pos, neg)
    three = model_for(data, beta=3.0, init_std=0.3).auxiliary_loss(users, pos, neg)
    assert torch.allclose(three, 3 * one)
    adaptive = model_for(data, beta="adaptive", beta_init=0.0, init_std=0.3)
    assert torch.allclose(adaptive.auxiliary_loss(users, pos, neg), 0.5 * one)
    with torch.no_grad():
        adaptive.beta_logit[1] = 2.0
    weight = adaptive.kg_weight(pos)
    assert torch.allclose(weight, torch.tensor([0.5, 1 / (1 + math.exp(-2.0)), 0.5]))
    per_item = adaptive.kg_loss(pos)
    assert torch.allclose(adaptive.auxiliary_loss(users, pos, neg), (weight * per_item).mean())
    assert model_for(data, kg=None).auxiliary_loss(users, pos, neg) == 0


def test_gradients_reach_entity_and_relation_embeddings():
    data = hand_kg()
    model = model_for(data, kg="attention", beta=1.0, l2=1e-2, init_std=0.3)
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([0, 2]), torch.tensor([[5], [6]])
    model.auxiliary_loss(users, pos, neg).backward()
    entity_grad = model.entity.grad.norm(dim=-1)
    assert (entity_grad[[8, 9, 10]] > 0).all()   # neighbours of items 0 and 2
    assert (entity_grad[:8] == 0).all()          # item entities are nobody's neighbours
    relation_grad = model.attention.relation.grad.norm(dim=-1)
    assert (relation_grad > 0).all()             # relations 0 and 1 are both used by item 0


class FullLoss(torch.nn.Module):
    """BPR (Eq. 3) + the auxiliary terms (Eq. 7, 9, 13) as one module."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, users, pos, neg):
        pos_score, neg_score = self.model(users, pos, neg)
        return bpr_loss(pos_score, neg_score) + self.model.auxiliary_loss(users, pos, neg)


def test_gradcheck_of_the_full_loss_float64():
    data = hand_kg()
    model = model_for(data, kg="attention", beta="adaptive", l2=1e-2, init_std=0.3).double()
    with torch.no_grad():
        model.beta_logit.copy_(torch.linspace(-1, 1, 8, dtype=torch.float64))
    users, pos = torch.tensor([0, 2, 4, 1]), torch.tensor([0, 1, 2, 0])
    neg = torch.tensor([[3, 4], [5, 0], [6, 7], [2, 1]])
    names = ["user", "item", "entity", "attention.relation", "beta_logit"]
    params = {n: p for n, p in model.named_parameters()}
    full = FullLoss(model)

    def loss(*values):
        swapped = {f"model.{n}": v for n, v in zip(names, values)}
        return torch.func.functional_call(full, swapped, (users, pos, neg))

    inputs = tuple(params[n].detach().clone().requires_grad_(True) for n in names)
    assert torch.autograd.gradcheck(loss, inputs, atol=1e-7, rtol=1e-5)


# --- float32 near the boundary ------------------------------------------------

@pytest.mark.parametrize("kg", ["attention", "average"])
def test_float32_items_at_the_boundary_give_finite_loss_and_gradients(kg):
    data = hand_kg()
    model = model_for(data, kg=kg, beta="adaptive", l2=1e-3, init_std=0.3)
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        for table in (model.item, model.entity):
            direction = torch.randn(table.shape, generator=g)
            table.copy_(direction / direction.norm(dim=-1, keepdim=True) * (1 - 1e-6))
    assert model.item.dtype == torch.float32
    users, pos, neg = torch.tensor([0, 2, 4]), torch.tensor([0, 1, 2]), torch.tensor([[3], [4], [0]])
    pos_score, neg_score = model(users, pos, neg)
    loss = bpr_loss(pos_score, neg_score) + model.auxiliary_loss(users, pos, neg)
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name
    assert torch.isfinite(model.rank_scores(model.user_points(users))).all()
    # one optimiser step keeps the points finite and inside the ball
    RiemannianAdam(model.parameters(), lr=0.01).step()
    assert model.manifold.check_point(model.item.detach())
