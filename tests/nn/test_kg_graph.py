"""HyperbolicKGNN: KG attention in the forward pass, against a loop reference
of its layer; the layers' PyG conventions it relies on; stability; errors."""
import pytest
import torch

from hypgraph.data import KGNeighbourhoods, build_hetero_data, make_synthetic, random_split
from hypgraph.data.hetero import INTERACTS, REV_INTERACTS
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall, einstein_midpoint
from hypgraph.nn.conv import EinsteinMidpointConv, HyperbolicHeteroConv, HyperbolicKGAttention
from hypgraph.nn.models import HyperbolicKGNN
from hypgraph.nn.models.kg_graph import KG_TO_ITEM
from hypgraph.train import Trainer

NU, NI, NE, NR = 6, 5, 9, 2
# user 5 and item 4 have no interactions; items 3 and 4 have no KG triples
PAIRS = torch.tensor([[0, 0, 1, 2, 3, 4, 4], [0, 1, 1, 2, 3, 0, 2]])


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def data():
    return build_hetero_data(PAIRS[0], PAIRS[1], num_users=NU, num_items=NI,
                             kg_head=torch.tensor([0, 0, 1, 2, 5]), kg_relation=torch.tensor([0, 1, 0, 1, 0]),
                             kg_tail=torch.tensor([5, 6, 6, 7, 8]), num_entities=NE, num_relations=NR,
                             link_item=torch.arange(NI), link_entity=torch.arange(NI))


def model(**kwargs):
    net = HyperbolicKGNN.from_data(data(), dim=3, **kwargs).double()
    net.set_graph(PAIRS)
    return net


def weights(normalization="symmetric"):
    deg = torch.zeros(NU + NI, dtype=torch.float64)
    w = torch.zeros(NU + NI, NU + NI, dtype=torch.float64)
    for u, i in PAIRS.t().tolist():
        w[u, NU + i] += 1
        w[NU + i, u] += 1
    deg = w.sum(1)
    inv = deg.pow(-0.5).masked_fill(deg == 0, 0)
    return inv[:, None] * w * inv[None, :]


@pytest.mark.parametrize("manifold", [PoincareBall(), Lorentz(k=0.5), Euclidean()], ids=str)
@pytest.mark.parametrize("attention", [True, False])
def test_one_layer_equals_a_loop_reference(manifold, attention):
    net = model(manifold=manifold, num_layers=1, attention=attention, include_input=False, combine="sum")
    net.eval()
    m = manifold
    users, items, entities = net.points("user"), net.points("item"), net.points("entity")
    w = weights()
    # users: the A-weighted midpoint of their items; isolated users the origin
    new_users = torch.stack([einstein_midpoint(items, w[u, NU:], manifold=m) for u in range(NU)])
    # items: the midpoint of (their users' midpoint, their KG neighbourhood), the latter only with triples
    nb = net.neighbourhoods
    edge_index, edge_type = nb.neighbours(torch.arange(NI))
    kg = net.layers[0].convs["__".join(KG_TO_ITEM)](items, entities, edge_index, edge_type)
    new_items = []
    for i in range(NI):
        from_users = einstein_midpoint(users, w[NU + i, :NU], manifold=m)
        has_users, has_kg = bool(w[NU + i, :NU].sum() > 0), bool((edge_index[1] == i).any())
        parts = [p for p, keep in ((from_users, has_users), (kg[i], has_kg)) if keep]
        new_items.append(einstein_midpoint(torch.stack(parts), manifold=m) if parts else m.origin(items.size(-1),
                                                                                                 dtype=items.dtype))
    expected = m.tangent0_coords(m.logmap0(torch.cat([new_users, torch.stack(new_items)])))
    with torch.no_grad():
        torch.testing.assert_close(net.propagate(), expected)


def test_two_layers_read_the_previous_hop_and_combine_in_the_tangent_space():
    net = model(num_layers=2, combine="mean", include_input=True)
    net.eval()
    m = net.manifold
    x = {"user": net.points("user"), "item": net.points("item"), "entity": net.points("entity")}
    edges, kg_type = net._edges(None, x["item"].dtype, x["item"].device)
    hops = [torch.cat([x["user"], x["item"]])]
    for layer in net.layers:
        out = layer(x, edges, edge_type_dict={KG_TO_ITEM: kg_type})
        x = {**x, **out}
        hops.append(torch.cat([x["user"], x["item"]]))
    expected = sum(m.tangent0_coords(m.logmap0(h)) for h in hops) / 3
    with torch.no_grad():
        torch.testing.assert_close(net.propagate(), expected)


def test_training_samples_neighbours_and_eval_reads_them_all():
    net = model(num_neighbour_samples=1)
    net.eval()
    with torch.no_grad():
        every = net.propagate()
        assert torch.equal(every, net.propagate())  # eval: deterministic, all triples
    net.train()
    samples = {tuple(net.propagate().detach().flatten().tolist()) for _ in range(8)}
    assert len(samples) > 1  # item 0 has two triples: one drawn per propagation
    full = model(num_neighbour_samples=None)
    full.load_state_dict(net.state_dict())
    full.train()
    torch.testing.assert_close(full.propagate(), every)


def test_gradients_reach_entities_relations_and_gradcheck():
    net = model(parameterization="tangent", num_layers=1, num_neighbour_samples=None)
    names = ["user", "item", "entity"]
    start = [getattr(net, n).detach().clone().requires_grad_() for n in names]
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([[3], [4], [0]])

    def scores(*tables):
        p, n = torch.func.functional_call(net, dict(zip(names, tables)), (users, pos, neg))
        return p, n

    assert torch.autograd.gradcheck(scores, tuple(start))
    p, n = net(users, pos, neg)
    (p.sum() - n.sum()).backward()
    relation = net.layers[0].convs["__".join(KG_TO_ITEM)].relation
    assert net.entity.grad.abs().sum() > 0 and relation.grad.abs().sum() > 0


@pytest.mark.parametrize("manifold", [PoincareBall(), Lorentz()], ids=str)
def test_float32_finite_far_from_the_origin(manifold):
    net = HyperbolicKGNN.from_data(data(), dim=4, manifold=manifold, parameterization="tangent", init_scale=300.0)
    net.set_graph(PAIRS)
    p, n = net(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([[2, 3], [4, 0]]))
    (n.sum() - p.sum()).backward()
    for t in (p, n, net.user.grad, net.item.grad, net.entity.grad):
        assert torch.isfinite(t).all()


def test_hetero_conv_presence_from_a_sparse_adjacency_and_kg_attention_in_pyg_convention():
    m = PoincareBall()
    x_user, x_item = m.random(4, 3, std=0.3).double(), m.random(3, 3, std=0.3).double()
    edge_index = torch.tensor([[0, 1, 1], [0, 0, 2]])  # user -> item; item 1 has no users
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), torch.ones(3, dtype=torch.float64), (3, 4),
                                    check_invariants=True).to_sparse_csr()
    conv = HyperbolicHeteroConv({INTERACTS: EinsteinMidpointConv(manifold=m)}, manifold=m)
    dense = conv({"user": x_user, "item": x_item}, {INTERACTS: edge_index})["item"]
    sparse = conv({"user": x_user, "item": x_item}, {INTERACTS: adj_t})["item"]
    torch.testing.assert_close(sparse, dense)
    # a second edge type into items: item 1 (no users) takes the KG message alone
    att = HyperbolicKGAttention(3, 2, manifold=m).double()
    x_entity = m.random(2, 3, std=0.3).double()
    kg_index, kg_type = torch.tensor([[0, 1, 1], [0, 1, 2]]), torch.tensor([0, 1, 0])
    both = HyperbolicHeteroConv({INTERACTS: EinsteinMidpointConv(manifold=m), KG_TO_ITEM: att}, manifold=m)
    out = both({"user": x_user, "item": x_item, "entity": x_entity}, {INTERACTS: adj_t, KG_TO_ITEM: kg_index},
               edge_type_dict={KG_TO_ITEM: kg_type})["item"]
    kg = att(x_item, x_entity, kg_index, kg_type)
    torch.testing.assert_close(att((x_entity, x_item), kg_index, edge_type=kg_type), kg)
    torch.testing.assert_close(out[1], kg[1])
    torch.testing.assert_close(out[0], einstein_midpoint(torch.stack([dense[0], kg[0]]), manifold=m))
    with pytest.raises(ValueError, match="edge_index goes second"):
        att((x_entity, x_item), kg_index, kg_index, kg_type)


def test_errors():
    with pytest.raises(ValueError, match="midpoint"):
        HyperbolicKGNN.from_data(data(), aggregation="tangent")
    with pytest.raises(ValueError, match="num_neighbour_samples"):
        HyperbolicKGNN.from_data(data(), num_neighbour_samples=0)
    bare = HyperbolicKGNN(NU, NI, NE, NR)
    bare.set_graph(PAIRS)
    with pytest.raises(ValueError, match="KG triples"):
        bare.user_points(torch.tensor([0]))
    other = KGNeighbourhoods.from_hetero(data(), inverse=False)
    with pytest.raises(ValueError, match="relation ids"):
        bare.set_neighbourhoods(other)


def test_trains_through_the_trainer_and_beats_random():
    synthetic = make_synthetic(num_users=120, num_items=80, avg_user_degree=8, gamma=3.0, temperature=0.3,
                               num_categories=8, kg_depth=2, seed=3)
    train, val, _ = random_split(synthetic, seed=0)
    net = HyperbolicKGNN.from_data(train, dim=8, parameterization="tangent")
    trainer = Trainer(net, torch.optim.Adam(net.parameters(), lr=0.03), batch_size=256, max_epochs=8,
                      patience=8, metric="recall@10", progress=False)
    result = trainer.fit(train, val)
    assert result.best_metrics["recall@10"] > 0.25  # a random ranking: ~10/80
