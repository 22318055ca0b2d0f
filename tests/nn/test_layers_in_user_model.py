"""The layers inside an ordinary user model: items and entities are manifold
parameters, users are Einstein midpoints of their items (Chamberlain 2019
§5.4), the KG regulariser is d(v, n_v) with n_v from HyperbolicKGAttention
(Hyper-Know Eq. 7) and the ranking loss is BPR, -log sigma(d(u, j) - d(u, i))
(Hyper-Know Eq. 3). Trained with RiemannianAdam on a hand-built HeteroData."""
import pytest
import torch
import torch.nn.functional as F

from hypgraph.data import build_hetero_data
from hypgraph.data.hetero import INTERACTS, LINKS, RELATES, REV_INTERACTS
from hypgraph.data.negative import sample_negatives
from hypgraph.manifolds import Lorentz, PoincareBall
from hypgraph.nn import EinsteinMidpointConv, HyperbolicKGAttention
from hypgraph.optim import ManifoldParameter, RiemannianAdam

NUM_USERS, NUM_ITEMS, NUM_ENTITIES, NUM_RELATIONS = 5, 8, 10, 2
STEPS = 40


def hand_built_data():
    # two tastes: users 0-1 like items 0-3, users 2-4 items 4-7; the KG says
    # the same (relation 0: item -> genre entity 8 or 9; relation 1: sequels)
    user = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4]
    item = [0, 1, 2, 1, 2, 3, 4, 5, 6, 5, 7, 4, 6, 7]
    head = list(range(8)) + [0, 1, 2, 4, 5, 6]
    relation = [0] * 8 + [1] * 6
    tail = [8, 8, 8, 8, 9, 9, 9, 9] + [1, 2, 3, 5, 6, 7]
    return build_hetero_data(user, item, num_users=NUM_USERS, num_items=NUM_ITEMS,
                             kg_head=head, kg_relation=relation, kg_tail=tail,
                             num_entities=NUM_ENTITIES, num_relations=NUM_RELATIONS,
                             link_item=list(range(8)), link_entity=list(range(8)))


def item_neighbourhoods(data):
    """Hyper-Know's triples (v, r, t) for items v, as edges entity t -> item v
    with type r: an item inherits the triples of the entity it is linked to."""
    link_item, link_entity = data[LINKS].edge_index
    head, tail = data[RELATES].edge_index
    rel = data[RELATES].edge_type
    src, dst, types = [], [], []
    for v, e in zip(link_item.tolist(), link_entity.tolist()):
        for h, t, r in zip(head.tolist(), tail.tolist(), rel.tolist()):
            if h == e:
                src.append(t)
                dst.append(v)
                types.append(r)
    return torch.tensor([src, dst]), torch.tensor(types)


class KGRecommender(torch.nn.Module):
    def __init__(self, manifold, dim: int, generator: torch.Generator) -> None:
        super().__init__()
        self.manifold = manifold
        coords = manifold.coord_dim(dim)
        self.item = ManifoldParameter(manifold.random(NUM_ITEMS, coords, std=0.1, generator=generator), manifold)
        self.entity = ManifoldParameter(manifold.random(NUM_ENTITIES, coords, std=0.1, generator=generator),
                                        manifold)
        self.users = EinsteinMidpointConv(manifold=manifold)
        self.kg = HyperbolicKGAttention(coords, NUM_RELATIONS, manifold=manifold)

    def forward(self, data, kg_edge_index, kg_edge_type):
        users = self.users((self.item, None), data[REV_INTERACTS].edge_index, size=(NUM_ITEMS, NUM_USERS))
        neighbourhood = self.kg(self.item, self.entity, kg_edge_index, kg_edge_type)
        return users, neighbourhood

    def loss(self, data, kg_edge_index, kg_edge_type, negatives, beta=0.5):
        users, neighbourhood = self(data, kg_edge_index, kg_edge_type)
        u, i = data[INTERACTS].edge_index
        d_pos = self.manifold.dist(users[u], self.item[i])
        d_neg = self.manifold.dist(users[u], self.item[negatives])
        ranking = -F.logsigmoid(d_neg - d_pos).mean()  # Hyper-Know, Eq. 3
        has_kg = torch.zeros(NUM_ITEMS, dtype=torch.bool)
        has_kg[kg_edge_index[1]] = True
        regulariser = self.manifold.dist(self.item[has_kg], neighbourhood[has_kg]).mean()  # Eq. 7
        return ranking + beta * regulariser, regulariser


def ranking_accuracy(model, data, kg_edge_index, kg_edge_type):
    """Share of (user, positive, non-positive) triples ranked correctly."""
    with torch.no_grad():
        users, _ = model(data, kg_edge_index, kg_edge_type)
        d = model.manifold.dist(users.unsqueeze(1), model.item.unsqueeze(0))  # [users, items]
    positive = torch.zeros(NUM_USERS, NUM_ITEMS, dtype=torch.bool)
    positive[data[INTERACTS].edge_index[0], data[INTERACTS].edge_index[1]] = True
    right = total = 0
    for u in range(NUM_USERS):
        pairs = d[u][positive[u]].unsqueeze(1) < d[u][~positive[u]].unsqueeze(0)
        right, total = right + int(pairs.sum()), total + pairs.numel()
    return right / total


@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall()], ids=["lorentz", "poincare"])
def test_trains_and_loss_decreases(manifold):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    data = hand_built_data()
    kg_edge_index, kg_edge_type = item_neighbourhoods(data)
    assert kg_edge_index.size(1) == 14 and set(kg_edge_index[1].tolist()) == set(range(8))
    model = KGRecommender(manifold, dim=3, generator=g)
    assert {name for name, _ in model.named_parameters()} == {"item", "entity", "kg.relation"}  # no user table
    optimizer = RiemannianAdam(model.parameters(), lr=0.05)
    fixed = sample_negatives(data[INTERACTS].edge_index, NUM_ITEMS, 1, generator=g)[:, 0]
    start_loss, start_regulariser = model.loss(data, kg_edge_index, kg_edge_type, fixed)
    start_accuracy = ranking_accuracy(model, data, kg_edge_index, kg_edge_type)
    for _ in range(STEPS):
        negatives = sample_negatives(data[INTERACTS].edge_index, NUM_ITEMS, 1, generator=g)[:, 0]
        optimizer.zero_grad()
        loss, _ = model.loss(data, kg_edge_index, kg_edge_type, negatives)
        loss.backward()
        assert torch.isfinite(model.item.grad).all() and model.item.grad.abs().sum() > 0
        assert model.entity.grad.abs().sum() > 0 and model.kg.relation.grad.abs().sum() > 0
        optimizer.step()
    end_loss, end_regulariser = model.loss(data, kg_edge_index, kg_edge_type, fixed)
    assert end_loss < 0.7 * start_loss, (start_loss, end_loss)
    assert end_regulariser < start_regulariser, (start_regulariser, end_regulariser)
    assert ranking_accuracy(model, data, kg_edge_index, kg_edge_type) > max(start_accuracy, 0.9)
    assert manifold.check_point(model.item.detach()) and manifold.check_point(model.entity.detach())
