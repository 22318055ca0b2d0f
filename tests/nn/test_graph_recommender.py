"""HyperbolicGraphRecommender (HGCF / HRCF / HICF / LGCF options): each option
against a reference written with loops, LightGCN equality, stability, errors."""
import math

import pytest
import torch

from hypgraph.data import make_synthetic, random_split
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall, einstein_midpoint
from hypgraph.nn import adaptive_margin_weight, hinge_loss
from hypgraph.nn.models import HyperbolicGraphRecommender, LightGCNRecommender
from hypgraph.nn.models.graph import nearest_negatives
from hypgraph.nn.models.propagation import normalized_adjacency
from hypgraph.optim import RiemannianAdam
from hypgraph.train import Trainer

# 4 users, 5 items; user 3 and item 4 have no interactions; (0, 1) is repeated
PAIRS = torch.tensor([[0, 0, 0, 1, 1, 2, 2, 2, 0], [0, 1, 2, 1, 3, 0, 2, 3, 1]])
NU, NI = 4, 5


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def neighbours(self_loops):
    """Dense list of neighbour multisets per node (users 0..3, items 4..8)."""
    out = [[] for _ in range(NU + NI)]
    for u, i in PAIRS.t().tolist():
        out[u].append(NU + i)
        out[NU + i].append(u)
    if self_loops:
        for n in range(NU + NI):
            out[n].append(n)
    return out


def reference_weights(normalization, self_loops):
    """The normalised adjacency entry for each (node, neighbour) by loops."""
    nbrs = neighbours(self_loops)
    deg = [len(n) for n in nbrs]
    w = torch.zeros(NU + NI, NU + NI, dtype=torch.float64)
    for a, ns in enumerate(nbrs):
        for b in ns:
            w[a, b] += 1 / deg[a] if normalization == "row" else 1 / math.sqrt(deg[a] * deg[b])
    return w


def model_with_graph(**kwargs):
    model = HyperbolicGraphRecommender(NU, NI, **kwargs).double()
    model.set_graph(PAIRS)
    return model


@pytest.mark.parametrize("normalization", ["row", "symmetric"])
@pytest.mark.parametrize("self_loops", [False, True])
def test_normalized_adjacency_equals_loops_and_transpose(normalization, self_loops):
    from hypgraph.nn.models.propagation import bipartite_edges
    adj, adj_t = normalized_adjacency(bipartite_edges(PAIRS, NU), NU + NI, normalization, torch.float64,
                                      self_loops=self_loops)
    expected = reference_weights(normalization, self_loops)
    torch.testing.assert_close(adj.to_dense(), expected)
    if normalization == "symmetric":
        assert adj_t is None
        torch.testing.assert_close(expected, expected.t())
    else:
        torch.testing.assert_close(adj_t.to_dense(), expected.t())
        # rows of nodes with neighbours sum to 1 (the mean); isolated rows are 0
        sums = expected.sum(1)
        assert torch.allclose(sums[sums > 0], torch.ones(1, dtype=torch.float64))
        if not self_loops:
            assert sums[3] == 0 and sums[NU + 4] == 0


@pytest.mark.parametrize("manifold", [Lorentz(), Lorentz(k=0.5), PoincareBall(), Euclidean()], ids=str)
@pytest.mark.parametrize("combine,include_input,root", [("sum", False, False), ("mean", True, False),
                                                         ("sum", False, True)])
def test_tangent_propagation_equals_loop_reference(manifold, combine, include_input, root):
    model = model_with_graph(dim=3, num_layers=3, manifold=manifold, combine=combine,
                             include_input=include_input, self_loops=True, root_alignment=root)
    x = torch.cat([model.points("user"), model.points("item")])
    w = reference_weights("row", True)
    h = [manifold.tangent0_coords(manifold.logmap0(x[n])) for n in range(NU + NI)]
    hops = [h] if include_input else []
    for _ in range(3):
        h = [sum(w[a, b] * h[b] for b in range(NU + NI)) for a in range(NU + NI)]
        hops.append(h)
    combined = torch.stack([torch.stack(hop) for hop in hops]).sum(0)
    if combine == "mean":
        combined = combined / len(hops)
    if root:
        combined = combined - combined.mean(0)
    tangent = model.propagate()
    torch.testing.assert_close(tangent, combined)
    model.train()
    points = model.user_points(torch.arange(NU)), model.item_points()
    torch.testing.assert_close(torch.cat(points), manifold.expmap0(manifold.tangent0(combined)))
    if root:  # HRCF root alignment: the centroid of the tangent vectors is the origin
        torch.testing.assert_close(tangent.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-15, rtol=0)


@pytest.mark.parametrize("normalization", ["symmetric", "row"])
@pytest.mark.parametrize("manifold", [Lorentz(), Lorentz(k=0.5), PoincareBall(), Euclidean()], ids=str)
def test_midpoint_propagation_equals_per_node_einstein_midpoint(manifold, normalization):
    # values and gradients: the model's hops (the row sums cached, the
    # hyperboloid's point and log_o in one fused step) against a loop of
    # per-node midpoints and log_o through autograd
    model = model_with_graph(dim=3, num_layers=2, manifold=manifold, aggregation="midpoint",
                             normalization=normalization, self_loops=True, combine="sum")
    x = torch.cat([model.points("user"), model.points("item")])
    w = reference_weights(normalization, True)
    hops = []
    for _ in range(2):
        x = torch.stack([einstein_midpoint(x, w[a], manifold=manifold) for a in range(NU + NI)])
        hops.append(manifold.tangent0_coords(manifold.logmap0(x)))
    weight = torch.randn(NU + NI, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    expected = torch.autograd.grad(((hops[0] + hops[1]) * weight).sum(), [model.user, model.item])
    got = model.propagate()
    torch.testing.assert_close(got, hops[0] + hops[1])
    for g, e in zip(torch.autograd.grad((got * weight).sum(), [model.user, model.item]), expected):
        torch.testing.assert_close(g, e)
    torch.testing.assert_close(model.adjacency.row_sums(None, torch.float64, torch.device("cpu")), w.sum(1))


def test_euclidean_tangent_configuration_equals_lightgcn():
    # LightGCN (He et al. 2020, Eq. 3-4) is the Euclidean, symmetric, mean-with-hop-0, inner-product case
    nu, ni = 30, 20
    g = torch.Generator().manual_seed(1)
    pairs = torch.stack([torch.randint(0, nu, (120,), generator=g), torch.randint(0, ni, (120,), generator=g)])
    ours = HyperbolicGraphRecommender(nu, ni, dim=8, num_layers=3, manifold=Euclidean(), normalization="symmetric",
                                      combine="mean", include_input=True, score_kind="inner",
                                      parameterization="tangent").double()
    lightgcn = LightGCNRecommender(nu, ni, dim=8, num_layers=3).double()
    with torch.no_grad():
        ours.user.copy_(lightgcn.lightgcn.embedding.weight[:nu])
        ours.item.copy_(lightgcn.lightgcn.embedding.weight[nu:])
    history = InteractionCSR(pairs, nu)
    users = torch.arange(nu)
    u_ours, u_theirs = ours.user_points(users, history), lightgcn.user_points(users, history)
    torch.testing.assert_close(u_ours, u_theirs)
    torch.testing.assert_close(ours.score_all(u_ours), lightgcn.score_all(u_theirs))
    items = torch.randint(0, ni, (nu, 3), generator=g)
    torch.testing.assert_close(ours.score(u_ours, items), lightgcn.score(u_theirs, items))
    weight = torch.randn(nu, ni, dtype=torch.float64, generator=g)
    (ours.score_all(u_ours) * weight).sum().backward()
    (lightgcn.score_all(u_theirs) * weight).sum().backward()
    grad = lightgcn.lightgcn.embedding.weight.grad
    torch.testing.assert_close(ours.user.grad, grad[:nu])
    torch.testing.assert_close(ours.item.grad, grad[nu:])


@pytest.mark.parametrize("aggregation", ["tangent", "midpoint"])
@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall()], ids=str)
def test_gradcheck_through_propagation_and_scores(aggregation, manifold):
    model = model_with_graph(dim=3, num_layers=2, manifold=manifold, aggregation=aggregation,
                             parameterization="tangent", root_alignment=True)
    user, item = model.user.detach().clone(), model.item.detach().clone()

    def f(user_rows, item_rows):
        out = torch.func.functional_call(model, {"user": user_rows, "item": item_rows},
                                         (torch.tensor([0, 1, 2]), torch.tensor([0, 3, 2]),
                                          torch.tensor([[4, 1], [0, 2], [3, 4]])))
        return out[0], out[1]

    assert torch.autograd.gradcheck(f, (user.requires_grad_(), item.requires_grad_()))


def test_parameterisations_give_the_same_points_and_convert_through_state_dict():
    a = model_with_graph(dim=4, parameterization="manifold")
    b = model_with_graph(dim=4, parameterization="tangent")
    b.load_state_dict(a.state_dict())  # converts the rows through the points
    torch.testing.assert_close(a.propagate(), b.propagate())
    torch.testing.assert_close(a.user_points(torch.arange(NU)), b.user_points(torch.arange(NU)))


def test_hinge_loss_value_and_gradient_by_hand():
    pos = torch.tensor([-0.5, -2.0, -0.1], dtype=torch.float64, requires_grad=True)
    neg = torch.tensor([[-0.55, -3.0], [-1.0, -2.05], [-0.4, -0.3]], dtype=torch.float64, requires_grad=True)
    m = 0.1
    # |m - s_pos + s_neg|_+ per negative: [0.05, 0], [1.1, 0.05], [0, 0]; mean over negatives
    per_positive = torch.tensor([0.025, 0.575, 0.0], dtype=torch.float64)
    torch.testing.assert_close(hinge_loss(pos, neg, m, reduction="none"), per_positive)
    torch.testing.assert_close(hinge_loss(pos, neg, m, reduction="sum"), per_positive.sum())
    loss = hinge_loss(pos, neg, m)
    torch.testing.assert_close(loss, per_positive.mean())
    loss.backward()
    # active hinges: (0, 0), (1, 0), (1, 1); d/d s_pos = -1/(k B) per active, d/d s_neg = +1/(k B)
    torch.testing.assert_close(pos.grad, torch.tensor([-1, -2, 0], dtype=torch.float64) / 6)
    torch.testing.assert_close(neg.grad, torch.tensor([[1, 0], [1, 1], [0, 0]], dtype=torch.float64) / 6)
    # with sqdist scores it is HGCF's |d^2(u, i) - d^2(u, j) + m|_+
    d_pos, d_neg = torch.tensor([1.0]), torch.tensor([1.05])
    torch.testing.assert_close(hinge_loss(-d_pos, -d_neg, m), (d_pos - d_neg + m).clamp_min(0).mean())
    with pytest.raises(ValueError, match="margin"):
        hinge_loss(pos, neg, -0.1)
    with pytest.raises(ValueError, match="reduction"):
        hinge_loss(pos, neg, reduction="max")


def test_hinge_with_a_margin_per_positive_by_hand():
    pos = torch.tensor([0.2, -0.5, 1.0], dtype=torch.float64)
    neg = torch.tensor([[0.1, 0.3], [-0.9, -0.2], [0.0, 0.95]], dtype=torch.float64)
    margin = torch.tensor([0.5, 0.05, 0.1], dtype=torch.float64)
    by_hand = torch.tensor([[max(0.0, float(margin[b] - pos[b] + neg[b, j])) for j in range(2)] for b in range(3)],
                           dtype=torch.float64).mean(1)
    torch.testing.assert_close(hinge_loss(pos, neg, margin, reduction="none"), by_hand)
    # a constant tensor margin is the float margin
    torch.testing.assert_close(hinge_loss(pos, neg, torch.full((3,), 0.1, dtype=torch.float64)), hinge_loss(pos, neg, 0.1))
    with pytest.raises(ValueError, match="positives' shape"):
        hinge_loss(pos, neg, torch.ones(2, dtype=torch.float64))


def _hicf_hratio(u, i):
    # marlin-codes/HICF models/hicf_model.py, hratio, on the unit hyperboloid, literally
    u0, i0 = u[:, 0], i[:, 0]
    minkowski = (u * i).sum(-1) - 2 * u0 * i0
    return torch.sigmoid(-((1 - minkowski - u0 - i0) / (u0 * i0)))


def test_adaptive_margin_weight_is_hicfs_hratio():
    m = Lorentz()
    g = torch.Generator().manual_seed(3)
    u = m.expmap0(m.tangent0(torch.randn(50, 4, generator=g, dtype=torch.float64) * 1.5))
    i = m.expmap0(m.tangent0(torch.randn(50, 4, generator=g, dtype=torch.float64) * 1.5))
    expected = _hicf_hratio(u, i)
    torch.testing.assert_close(adaptive_margin_weight(m, u, i), expected, rtol=1e-10, atol=1e-12)
    # on the ball: the same for the same points (it is written with distances)
    ball = PoincareBall()
    torch.testing.assert_close(adaptive_margin_weight(ball, m.to_poincare(u), m.to_poincare(i)), expected,
                               rtol=1e-8, atol=1e-10)
    # curvature k: the unit formula on the points rescaled to curvature 1
    k = Lorentz(k=0.5)
    torch.testing.assert_close(adaptive_margin_weight(k, u * 2 ** 0.5, i * 2 ** 0.5), expected, rtol=1e-10,
                               atol=1e-12)
    # flat space: the k -> 0 limit
    flat = adaptive_margin_weight(Euclidean(), u[:, 1:], i[:, 1:])
    assert torch.equal(flat, torch.full((50,), 0.5, dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda a, b: adaptive_margin_weight(m, m.expmap0(m.tangent0(a)),
                                                                        m.expmap0(m.tangent0(b))),
                                    (torch.randn(5, 3, dtype=torch.float64, requires_grad=True),
                                     torch.randn(5, 3, dtype=torch.float64, requires_grad=True)))


def test_adaptive_margin_weight_is_finite_in_float32_far_out():
    # cosh of 60 overflows float32 squared; the log-domain form does not
    m = Lorentz()
    g = torch.Generator().manual_seed(4)
    directions = torch.nn.functional.normalize(torch.randn(20, 4, generator=g, dtype=torch.float64), dim=-1)
    u64, i64 = m.expmap0(m.tangent0(directions * 30)), m.expmap0(m.tangent0(directions.flip(0) * 25))
    u32, i32 = u64.float().requires_grad_(), i64.float().requires_grad_()
    w = adaptive_margin_weight(m, u32, i32)
    w.sum().backward()
    assert torch.isfinite(w).all() and torch.isfinite(u32.grad).all() and torch.isfinite(i32.grad).all()
    torch.testing.assert_close(w.double(), adaptive_margin_weight(m, u64, i64), rtol=1e-4, atol=1e-5)


def test_the_trainer_scales_the_hinge_margin_by_the_models_weights():
    model = model_with_graph(dim=3, adaptive_margin=True, parameterization="tangent")
    users, pos, neg = torch.tensor([0, 1, 3]), torch.tensor([0, 1, 2]), torch.tensor([[3], [4], [0]])
    trainer = Trainer(model, torch.optim.Adam(model.parameters()), loss="hinge", margin=0.7, progress=False)
    loss = trainer._loss(users, pos, neg, None, None)
    pos_score, neg_score = model(users, pos, neg)
    w = _hicf_hratio(model.user_points(users), model.item_points(pos))
    torch.testing.assert_close(loss, (0.7 * w - pos_score + neg_score[:, 0]).clamp_min(0).mean())
    assert not torch.allclose(loss, hinge_loss(pos_score, neg_score, 0.7))
    assert model_with_graph(dim=3).margin_weights(users, pos) is None
    with pytest.raises(ValueError, match="adaptive margin"):
        Trainer(model, torch.optim.Adam(model.parameters()), loss="bpr", progress=False)


def test_nearest_negatives_picks_the_candidate_closest_to_the_positive():
    m = Lorentz()
    tangent = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.9, 0.1]], dtype=torch.float64)
    x = m.expmap0(m.tangent0(tangent))
    positive = x[[1, 2]]
    candidates = x[torch.tensor([[0, 2, 3, 4], [3, 0, 4, 1]])]
    # item 4 (0.9, 0.1) is nearest item 1; for item 2, item 0 (the origin) is nearest
    assert nearest_negatives(m, positive, candidates).tolist() == [3, 1]
    with pytest.raises(ValueError, match="candidates"):
        nearest_negatives(m, positive, candidates[0])
    # the table form: distinct candidates and each row's indices into them, in chunks of one row
    index = torch.tensor([[0, 2, 3, 4], [3, 0, 4, 1]])
    for table_of in (m, PoincareBall(), Euclidean()):
        points = x if table_of is m else (m.to_poincare(x) if isinstance(table_of, PoincareBall) else tangent)
        loop = nearest_negatives(table_of, points[[1, 2]], points[index])
        assert nearest_negatives(table_of, points[[1, 2]], points, index, chunk=1).tolist() == loop.tolist()
    with pytest.raises(ValueError, match="index"):
        nearest_negatives(m, positive, x, index[0])


@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall(), Euclidean()], ids=str)
def test_the_chunked_table_form_picks_what_the_distance_picks(manifold):
    g = torch.Generator().manual_seed(6)
    table = manifold.expmap0(manifold.tangent0(torch.randn(40, 4, generator=g, dtype=torch.float64)))
    positive = manifold.expmap0(manifold.tangent0(torch.randn(300, 4, generator=g, dtype=torch.float64)))
    index = torch.randint(40, (300, 7), generator=g)
    expected = manifold.dist(positive.unsqueeze(1), table[index]).argmin(-1)
    assert torch.equal(nearest_negatives(manifold, positive, table, index, chunk=64), expected)


def test_hard_negatives_score_only_the_nearest_candidate():
    model = model_with_graph(dim=2, hard_negatives=True)
    users, pos = torch.tensor([0, 1]), torch.tensor([0, 1])
    neg = torch.tensor([[2, 3, 4], [4, 0, 2]])
    pos_score, neg_score = model(users, pos, neg)
    assert neg_score.shape == (2, 1)
    items = model.item_points()
    d = model.manifold.dist(items[pos].unsqueeze(1), items[neg])
    chosen = neg.gather(1, d.argmin(1, keepdim=True))
    u = model.user_points(users)
    torch.testing.assert_close(neg_score, model.score(u, chosen))
    # and without the option every candidate is scored
    plain = model_with_graph(dim=2)
    assert plain(users, pos, neg)[1].shape == (2, 3)


def test_origin_penalty_by_hand_and_it_pushes_items_outwards():
    model = model_with_graph(dim=3, origin_weight=2.0, parameterization="tangent")
    users, pos, neg = torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
    model(users, pos, neg)
    penalty = model.auxiliary_loss(users, pos, neg)
    items = model.item_points()
    m = model.manifold
    expected = 2.0 / ((m.logmap0(items).pow(2).sum(-1).mean() + 1e-6).sqrt())
    torch.testing.assert_close(penalty, expected)
    before = m.logmap0(items).norm(dim=-1).mean()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    penalty.backward()
    opt.step()
    model(users, pos, neg)
    assert m.logmap0(model.item_points()).norm(dim=-1).mean() > before
    off = model_with_graph(dim=3)
    off(users, pos, neg)
    assert float(off.auxiliary_loss(users, pos, neg)) == 0.0


def test_l2_on_the_batch_rows_by_hand_and_added_to_the_origin_penalty():
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([[4, 0], [2, 2]])
    plain = model_with_graph(dim=3, parameterization="tangent", l2=0.5)
    plain(users, pos, neg)
    u, i = plain.user.detach(), plain.item.detach()
    by_hand = 0.5 * (u[users].pow(2).sum() + i[pos].pow(2).sum() + i[neg].pow(2).sum()) / 2
    torch.testing.assert_close(plain.auxiliary_loss(users, pos, neg), by_hand)
    both = model_with_graph(dim=3, parameterization="tangent", l2=0.5, origin_weight=2.0)
    both.load_state_dict(plain.state_dict())
    both(users, pos, neg)
    penalty = 2.0 / (both.propagate()[NU:].pow(2).sum(-1).mean() + 1e-6).sqrt()
    torch.testing.assert_close(both.auxiliary_loss(users, pos, neg), by_hand + penalty)
    with pytest.raises(ValueError, match="l2"):
        HyperbolicGraphRecommender(NU, NI, l2=-1.0)


def test_l2_with_hard_negatives_reads_the_chosen_negative_not_every_candidate():
    # the scores read one negative per pair, so does the penalty (it counted
    # all k candidates before: k times the negatives' weight of other rows)
    users, pos = torch.tensor([0, 2, 1]), torch.tensor([1, 3, 0])
    neg = torch.tensor([[4, 0, 2, 3], [2, 1, 0, 4], [3, 4, 1, 2]])
    model = model_with_graph(dim=3, parameterization="tangent", l2=0.5, hard_negatives=True)
    model(users, pos, neg)
    points = model.item_points()
    chosen = neg.gather(1, model.manifold.dist(points[pos].unsqueeze(1), points[neg]).argmin(1, keepdim=True))
    u, i = model.user.detach(), model.item.detach()
    by_hand = 0.5 * (u[users].pow(2).sum() + i[pos].pow(2).sum() + i[chosen].pow(2).sum()) / 3
    torch.testing.assert_close(model.auxiliary_loss(users, pos, neg), by_hand)


@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall()], ids=str)
@pytest.mark.parametrize("aggregation", ["tangent", "midpoint"])
def test_float32_finite_far_from_the_origin(manifold, aggregation):
    # tangent rows of norm ~1e3 (far beyond the hyperboloid's float32 range and the ball's boundary)
    model = HyperbolicGraphRecommender(NU, NI, dim=4, manifold=manifold, aggregation=aggregation,
                                       parameterization="tangent", init_scale=500.0, origin_weight=1.0)
    model.set_graph(PAIRS)
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([[3, 4], [2, 0], [1, 4]])
    pos_score, neg_score = model(users, pos, neg)
    loss = hinge_loss(pos_score, neg_score) + model.auxiliary_loss(users, pos, neg)
    loss.backward()
    for t in (pos_score, neg_score, loss, model.user.grad, model.item.grad):
        assert torch.isfinite(t).all()
    assert torch.isfinite(model.rank_scores(model.user_points(users))).all()


def test_eval_mode_propagates_once_and_train_forgets():
    model = model_with_graph(dim=2)
    calls = []
    original = model.propagate
    model.propagate = lambda history=None: calls.append(1) or original(history)
    model.eval()
    with torch.no_grad():
        a = model.user_points(torch.arange(NU))
        b = model.user_points(torch.arange(NU))
    assert len(calls) == 1 and torch.equal(a, b)
    model.train()
    with torch.no_grad():
        model.user_points(torch.arange(NU))
    assert len(calls) == 2


def test_argument_and_graph_errors():
    for kwargs, match in [(dict(aggregation="max"), "aggregation"), (dict(combine="concat"), "combine"),
                          (dict(normalization="left"), "normalization"), (dict(score_kind="cosine"), "score_kind"),
                          (dict(num_layers=0), "num_layers"), (dict(origin_weight=-1.0), "origin_weight"),
                          (dict(score_kind="inner", manifold=PoincareBall()), "inner")]:
        with pytest.raises(ValueError, match=match):
            HyperbolicGraphRecommender(NU, NI, **kwargs)
    model = HyperbolicGraphRecommender(NU, NI)
    with pytest.raises(ValueError, match="history"):
        model.user_points(torch.tensor([0]))
    with pytest.raises(ValueError, match="outside"):
        model.set_graph(torch.tensor([[0], [NI]]))
    with pytest.raises(RuntimeError, match="user_points"):
        HyperbolicGraphRecommender(NU, NI).score_all(torch.zeros(1, 51))


def test_hgcf_recipe_trains_with_the_trainer_and_beats_random():
    # the HGCF configuration with its loss (margin hinge, summed) and a Riemannian optimiser on a
    # geometric synthetic graph: validation recall@10 well above a random ranking's ~10/num_items
    data = make_synthetic(num_users=300, num_items=200, gamma=3.0, temperature=0.2, seed=0)
    train, val, _ = random_split(data, seed=0)
    model = HyperbolicGraphRecommender.hgcf(300, 200, dim=16)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.01), loss="hinge", reduction="sum",
                      batch_size=2048, max_epochs=15, patience=15, metric="recall@10", progress=False)
    assert trainer.margin == 0.1
    result = trainer.fit(train, val)
    assert result.best_metrics["recall@10"] > 0.15  # random ranking: ~0.05
    assert result.records[-1]["loss"] < result.records[0]["loss"]
