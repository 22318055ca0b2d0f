"""parameterization='manifold' | 'tangent' for every point table of
HyperbolicRecommender and HyperKnow: the same model function, another
storage; torch.optim training, sparse gradients, rows read per batch, and
state dicts across parameterisations."""
import copy
import io

import pytest
import torch

from hypgraph.data import build_hetero_data, make_synthetic, random_split, sample_negatives
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall
from hypgraph.nn.losses import bpr_loss
from hypgraph.nn.models import HyperbolicRecommender, HyperKnow
from hypgraph.optim import ManifoldParameter, ManifoldTable, TangentTable
from hypgraph.train import Trainer

MANIFOLDS = {"lorentz": lambda: Lorentz(margin=1e-6), "poincare": lambda: PoincareBall(),
             "euclidean": lambda: Euclidean()}
INTERACTS = ("user", "interacts", "item")


def recommender(kind, manifold="lorentz", asymmetric=False, seed=0, **kw):
    model = HyperbolicRecommender(12, 30, dim=4, manifold=MANIFOLDS[manifold](), asymmetric=asymmetric,
                                  parameterization=kind, **kw).double()
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def hand_kg():
    # 8 items, entities 8-10 are KG neighbours of items 0-2; 6 users
    user = torch.arange(6)
    return build_hetero_data(user, user // 2, num_users=6, num_items=8, kg_head=torch.tensor([0, 0, 1, 1, 2]),
                             kg_relation=torch.tensor([0, 1, 0, 1, 0]), kg_tail=torch.tensor([8, 9, 8, 9, 10]),
                             num_entities=11, num_relations=2, link_item=torch.arange(8),
                             link_entity=torch.arange(8))


def hyperknow(kind, seed=0, **kw):
    torch.manual_seed(seed)  # the relation embeddings
    kw.setdefault("beta", 1.0)
    model = HyperKnow.from_data(hand_kg(), dim=4, init_std=0.3, parameterization=kind,
                                num_neighbour_samples=None, **kw).double()
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def history():
    g = torch.Generator().manual_seed(1)
    return InteractionCSR(torch.stack([torch.randint(12, (60,), generator=g),
                                       torch.randint(30, (60,), generator=g)]), 12)


BATCH = (torch.tensor([0, 3, 3, 7, 11]), torch.tensor([1, 2, 2, 9, 29]), torch.tensor([[4, 5], [0, 1], [8, 9],
                                                                                         [2, 3], [6, 7]]))


# --- one function, two storages ---------------------------------------------------

def test_default_is_the_papers_and_unknown_names_are_errors():
    model = HyperbolicRecommender(12, 30, dim=4, asymmetric=False)
    assert isinstance(model.item, ManifoldParameter) and isinstance(model.point_tables["user"], ManifoldTable)
    assert "parameterization" not in repr(model)
    knowing = HyperKnow.from_data(hand_kg(), dim=4)
    assert {n: type(t) for n, t in knowing.point_tables.items()} == {
        "user": ManifoldTable, "item": ManifoldTable, "entity": ManifoldTable}
    with pytest.raises(ValueError, match="parameterization must be one of"):
        HyperbolicRecommender(12, 30, dim=4, parameterization="euclidean")
    with pytest.raises(ValueError, match="parameterization must be one of"):
        HyperKnow.from_data(hand_kg(), dim=4, parameterization="points")


@pytest.mark.parametrize("manifold", list(MANIFOLDS))
def test_tangent_tables_are_plain_parameters_of_the_intrinsic_dimension(manifold):
    model = recommender("tangent", manifold)
    assert {n: tuple(p.shape) for n, p in model.named_parameters()} == {"item": (30, 4), "user": (12, 4)}
    assert all(type(p) is torch.nn.Parameter for p in model.parameters())
    assert all(isinstance(t, TangentTable) for t in model.point_tables.values())
    assert model.point_parameters() == [model.item, model.user]
    assert "parameterization='tangent'" in repr(model)
    knowing = hyperknow("tangent", sparse=True)
    assert {n for n, p in knowing.named_parameters() if type(p) is torch.nn.Parameter} >= {"user", "item", "entity"}
    assert knowing.item.shape == (8, 4) and "parameterization='tangent', sparse=True" in repr(knowing)


@pytest.mark.parametrize("manifold", list(MANIFOLDS))
@pytest.mark.parametrize("asymmetric", [False, True])
def test_recommender_scores_do_not_depend_on_the_parameterisation(manifold, asymmetric):
    a, b = recommender("manifold", manifold, asymmetric), recommender("tangent", manifold, asymmetric)
    torch.testing.assert_close(b.points("item"), a.item.detach(), rtol=1e-10, atol=1e-12)
    h = history()
    for x, y in zip(a(*BATCH, history=h), b(*BATCH, history=h)):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-10)
    users = torch.arange(12)
    torch.testing.assert_close(b.rank_scores(b.user_points(users, h)), a.rank_scores(a.user_points(users, h)),
                               rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(b.recommend(users, 5, h)[0], a.recommend(users, 5, h)[0])


def test_hyperknow_losses_do_not_depend_on_the_parameterisation():
    a, b = hyperknow("manifold"), hyperknow("tangent")
    users, pos, neg = torch.tensor([0, 2, 4, 1]), torch.tensor([0, 1, 2, 3]), torch.tensor([[3, 4], [5, 0], [6, 7], [2, 1]])
    for x, y in zip(a(users, pos, neg), b(users, pos, neg)):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(b.auxiliary_loss(users, pos, neg), a.auxiliary_loss(users, pos, neg),
                               rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(b.neighbourhood_points(pos)[0], a.neighbourhood_points(pos)[0], rtol=1e-9, atol=1e-10)


def test_hyperknow_l2_is_on_the_stored_rows():
    # Eq. 13 penalises the parameters: the points, or the tangent vectors
    for kind in ("manifold", "tangent"):
        model = hyperknow(kind, kg=None, l2=0.5)
        users, pos, neg = torch.tensor([0, 1]), torch.tensor([2, 3]), torch.tensor([[4], [5]])
        rows = [model.user[users], model.item[pos], model.item[neg]]
        expected = 0.5 * sum(r.pow(2).sum() for r in rows) / 2
        torch.testing.assert_close(model.auxiliary_loss(users, pos, neg), expected)


# --- reading only what a batch needs ----------------------------------------------

@pytest.mark.parametrize("asymmetric", [False, True])
def test_a_batch_maps_only_the_rows_it_reads(monkeypatch, asymmetric):
    model = recommender("tangent", "poincare", asymmetric)
    h = history()
    seen = []
    expmap0 = model.manifold.expmap0
    monkeypatch.setattr(model.manifold, "expmap0", lambda u: seen.append(u.shape[:-1].numel()) or expmap0(u))
    users, pos, neg = BATCH
    model(users, pos, neg, history=h)
    read = torch.cat([pos, neg.flatten()]).numel() + (0 if asymmetric else users.numel())
    if asymmetric:  # the distinct items of the batch users' histories
        read += torch.unique(h.rows(torch.unique(users))[1]).numel()
    assert sum(seen) == read < 30 + 12


def test_hyperknow_maps_only_the_entities_of_the_batch(monkeypatch):
    model = hyperknow("tangent")
    seen = []
    expmap0 = model.manifold.expmap0
    monkeypatch.setattr(model.manifold, "expmap0", lambda u: seen.append(u.shape[:-1].numel()) or expmap0(u))
    model.kg_loss(torch.tensor([0, 0, 2]))
    # items 0 and 2, their 3 distinct entities, and the 2 x 2 relation embeddings
    assert sorted(seen) == [2, 3, 4]


# --- training with torch.optim -----------------------------------------------------

@pytest.fixture(scope="module")
def split():
    data = make_synthetic(num_users=200, num_items=120, avg_user_degree=12, gamma=3.0, temperature=0.2, seed=1)
    return random_split(data, seed=0)


def test_tangent_recommender_learns_with_torch_adam(split):
    train, val, _ = split
    torch.manual_seed(0)
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=8, asymmetric=False,
                                  parameterization="tangent")
    model.reset_parameters(generator=torch.Generator().manual_seed(0))
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=0.05), max_epochs=6, batch_size=256,
                      progress=False, metric="ndcg@10")
    args = (train[INTERACTS].edge_index, val[INTERACTS].edge_label_index, train["user"].num_nodes,
            train["item"].num_nodes)
    before = trainer.evaluate_split(*args)["ndcg@10"]
    result = trainer.fit(train, val)
    assert result.best_metrics["ndcg@10"] > before + 0.05
    assert model.manifold.check_point(model.points("item").detach())


@pytest.mark.parametrize("asymmetric", [False, True])
def test_sparse_recommender_trains_with_sparse_adam(asymmetric):
    model = recommender("tangent", "lorentz", asymmetric, sparse=True).float()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SparseAdam(model.point_parameters(), lr=0.05)
    h = history()
    users, pos, neg = BATCH
    pos_score, neg_score = model(users, pos, neg, history=h)
    bpr_loss(pos_score, neg_score).backward()
    assert all(p.grad.is_sparse for p in model.point_parameters())
    opt.step()
    read = torch.cat([pos, neg.flatten()])
    if asymmetric:
        read = torch.cat([read, h.rows(torch.unique(users))[1]])
    changed = (model.item.detach() != before["item"]).any(-1)
    assert changed.nonzero().flatten().tolist() == torch.unique(read).tolist()


def test_sparse_hyperknow_splits_into_a_sparse_and_a_dense_optimiser():
    model = hyperknow("tangent", sparse=True, l2=1e-3).float()
    tables = model.point_parameters()
    rest = [p for p in model.parameters() if all(p is not t for t in tables)]
    assert rest == [model.attention.relation]
    sparse_opt, dense_opt = torch.optim.SparseAdam(tables, lr=0.05), torch.optim.Adam(rest, lr=0.05)
    before = model.entity.detach().clone()
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([0, 1]), torch.tensor([[5], [6]])
    pos_score, neg_score = model(users, pos, neg)
    (bpr_loss(pos_score, neg_score) + model.auxiliary_loss(users, pos, neg)).backward()
    assert all(t.grad.is_sparse for t in tables) and not model.attention.relation.grad.is_sparse
    sparse_opt.step()
    dense_opt.step()
    changed = (model.entity.detach() != before).any(-1)
    assert changed.nonzero().flatten().tolist() == [8, 9]  # the KG neighbours of items 0 and 1


# --- state ---------------------------------------------------------------------------

@pytest.mark.parametrize("manifold", ["lorentz", "poincare"])
def test_state_dicts_convert_between_parameterisations(manifold):
    source = recommender("manifold", manifold, seed=3)
    state = source.state_dict()
    assert state._metadata[""]["point_tables"] == {"item": "manifold", "user": "manifold"}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    target = recommender("tangent", manifold, seed=4)
    target.load_state_dict(torch.load(buffer, weights_only=True))
    torch.testing.assert_close(target.points("item"), source.item.detach(), rtol=1e-10, atol=1e-10)
    back = recommender("manifold", manifold, seed=5)
    back.load_state_dict(target.state_dict())
    torch.testing.assert_close(back.user.detach(), source.user.detach(), rtol=1e-10, atol=1e-10)
    # without the record (a rebuilt dict) the rows load as they are, as before
    same = recommender("tangent", manifold, seed=6)
    same.load_state_dict({k: v.clone() for k, v in target.state_dict().items()})
    assert torch.equal(same.item, target.item)


def test_deepcopy_and_a_copied_model_reads_its_own_manifold():
    model = recommender("tangent", "poincare")
    twin = copy.deepcopy(model)
    assert twin.point_tables["item"].manifold is twin.manifold is not model.manifold
    torch.testing.assert_close(twin.points("item"), model.points("item"))


def test_negatives_from_the_sampler_score_in_both():
    # [B, k] negatives, as the Trainer draws them
    model = recommender("tangent", "lorentz")
    pos = torch.tensor([[0, 1], [3, 5]])
    neg = sample_negatives(pos, 30, 3, generator=torch.Generator().manual_seed(0), exclude=pos)
    pos_score, neg_score = model(pos[0], pos[1], neg)
    assert neg_score.shape == (2, 3) and torch.isfinite(neg_score).all()


def test_a_pickled_model_keeps_its_tables(tmp_path):
    model = recommender("tangent", "lorentz", sparse=True)
    torch.save(model, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    assert loaded.point_tables["item"].sparse and loaded.point_tables["item"].manifold is loaded.manifold
    torch.testing.assert_close(loaded.points("user"), model.points("user"))
