import math

import networkx as nx
import numpy as np
import pytest
import torch
from networkx.algorithms import bipartite

from hypgraph.data.hetero import INTERACTS, LINKS, RELATES
from hypgraph.data.synthetic import RELATIONS, default_dataset, make_synthetic


def edges(data):
    return data[INTERACTS].edge_index


def test_deterministic_per_seed_and_seeds_differ():
    a, b = make_synthetic(seed=3), make_synthetic(seed=3)
    for key in ("edge_index", "time"):
        assert torch.equal(a[INTERACTS][key], b[INTERACTS][key])
    assert torch.equal(a[RELATES].edge_index, b[RELATES].edge_index)
    assert torch.equal(a["item"].theta, b["item"].theta)
    c = make_synthetic(seed=4)
    assert not torch.equal(a["item"].theta, c["item"].theta)
    assert edges(a).shape != edges(c).shape or not torch.equal(edges(a), edges(c))


def test_default_dataset_shape_and_invariants():
    data = default_dataset()
    assert (data["user"].num_nodes, data["item"].num_nodes) == (600, 400)
    ei = edges(data)
    assert ei[0].max() < 600 and ei[1].max() < 400
    key = ei[0] * 400 + ei[1]
    assert key.unique().numel() == key.numel()  # no duplicate pairs
    # the expected number of edges is num_users * avg_user_degree = 12,000
    assert abs(ei.size(1) - 12_000) < 0.05 * 12_000
    for node_type in ("user", "item"):
        store = data[node_type]
        assert store.r.shape == store.theta.shape == store.kappa.shape == (store.num_nodes,)
        assert (store.theta >= 0).all() and (store.theta < 2 * math.pi).all()
        assert (store.r >= 0).all() and (store.r <= data.disk_radius + 1e-4).all()


@pytest.mark.parametrize("temperature", [0.2, 0.8])
def test_edge_count_calibrated_and_link_probability_is_fermi_dirac(temperature):
    data = make_synthetic(num_users=1000, num_items=500, avg_user_degree=15,
                          temperature=temperature, seed=1)
    ei = edges(data)
    assert abs(ei.size(1) - 15_000) < 0.05 * 15_000
    # Every pair: hyperbolic distance x = r_u + r_i + 2 ln(dtheta / 2) and the
    # model's p = 1 / (1 + exp((x - R-hat) / 2T)) (Kitsak et al. 2017).
    user, item = data["user"], data["item"]
    u, i = torch.meshgrid(torch.arange(1000), torch.arange(500), indexing="ij")
    u, i = u.reshape(-1), i.reshape(-1)
    gap = (user.theta[u].double() - item.theta[i].double()).abs()
    gap = math.pi - (math.pi - gap).abs()
    x = user.r[u].double() + item.r[i].double() + 2 * torch.log(gap / 2)
    p = torch.sigmoid(-(x - data.disk_radius) / (2 * temperature))
    linked = torch.zeros(1000 * 500)
    linked[ei[0] * 500 + ei[1]] = 1
    exact = (user.r[u] > 0) & (item.r[i] > 0)  # r clamped at 0 for saturated hubs
    x, p, linked = x[exact], p[exact], linked[exact]
    # The sampler is exact, so in every distance bin the edge count matches
    # the sum of p within a few binomial standard deviations.
    bins = torch.quantile(x, torch.linspace(0, 1, 21, dtype=torch.double))
    which = torch.bucketize(x, bins[1:-1])
    for b in range(20):
        in_bin = which == b
        expected, observed = p[in_bin].sum(), linked[in_bin].sum()
        sd = (p[in_bin] * (1 - p[in_bin])).sum().sqrt()
        assert (observed - expected).abs() < 5 * sd + 5, (b, float(observed), float(expected))
    # and links prefer short distances
    assert x[linked == 1].mean() < x.mean() - 1.0


def test_timestamps_increase_per_user_and_drift_in_angle():
    data = default_dataset()
    ei, time = edges(data), data[INTERACTS].time
    correlations = []
    for u in range(600):
        mine = (ei[0] == u).nonzero().squeeze(1)
        if mine.numel() < 8:
            continue
        t = time[mine]
        assert (t.diff() > 0).all()  # edges come in time order, no ties
        offset = torch.remainder(data["item"].theta[ei[1, mine]] - data["user"].theta[u] + math.pi,
                                 2 * math.pi) - math.pi
        rho = np.corrcoef(np.argsort(np.argsort(t.numpy())), np.argsort(np.argsort(offset.numpy())))
        correlations.append(abs(rho[0, 1]))
    # Later interactions sit further along one direction: strong rank correlation
    # (without drift it would be ~0.1-0.2 for these degrees).
    assert np.mean(correlations) > 0.6


# Clauset, Shalizi & Newman 2009, Eq. 3.7: discrete power-law MLE approximation.
def power_law_exponent(degree, xmin):
    x = degree[degree >= xmin].astype(np.float64)
    return 1.0 + x.size / np.log(x / (xmin - 0.5)).sum(), x.size


@pytest.mark.parametrize("gamma", [2.2, 2.5, 3.0])
def test_item_degree_tail_exponent(gamma):
    data = make_synthetic(num_users=10_000, num_items=20_000, avg_user_degree=50, gamma=gamma,
                          seed=0)
    degree = torch.bincount(edges(data)[1], minlength=20_000).numpy()
    alpha, n = power_law_exponent(degree, xmin=40)
    # Tolerance 0.3: the statistical error (alpha - 1) / sqrt(n) is <= 0.05 for the
    # ~2,000 items above xmin; the rest covers the systematic biases of Eq. 3.7
    # (Poisson noise around small hidden degrees, hubs saturating at 10,000
    # users), about +0.1 at gamma = 2.2. A wrong radial law (e.g. uniform r,
    # exponential degrees) gives alpha off by more than 1.
    assert n > 1000
    assert abs(alpha - gamma) < 0.3, (alpha, gamma)


def test_kg_is_a_forest_with_items_as_leaves_and_angular_categories():
    data = make_synthetic(num_users=300, num_items=500, num_categories=27, kg_depth=3, seed=2)
    store = data[RELATES]
    head, tail = store.edge_index
    assert store.num_relations == 2 and list(store.relation_raw_id) == list(RELATIONS)
    # items are entities 0..num_items-1, linked to themselves
    assert torch.equal(data[LINKS].edge_index, torch.arange(500).repeat(2, 1))
    graph = nx.DiGraph()  # child -> parent
    graph.add_nodes_from(range(data["entity"].num_nodes))
    graph.add_edges_from(zip(head.tolist(), tail.tolist()))
    assert nx.is_forest(graph.to_undirected())
    assert max(d for _, d in graph.out_degree()) == 1  # one parent at most
    leaves = {n for n, d in graph.in_degree() if d == 0}
    assert leaves == set(range(500))
    # depth: item -> leaf -> middle -> top
    assert max(len(nx.descendants(graph, i)) for i in range(500)) == 3
    in_category = store.edge_type == RELATIONS.index("in_category")
    assert torch.equal(head[in_category].sort().values, torch.arange(500))
    # items in one leaf category lie in one sector of width 2 pi / 27
    theta = data["item"].theta
    for leaf in tail[in_category].unique():
        members = theta[head[in_category][tail[in_category] == leaf]]
        assert members.max() - members.min() < 2 * math.pi / 27


def clustering(temperature, seed):
    data = make_synthetic(num_users=300, num_items=200, avg_user_degree=10,
                          temperature=temperature, seed=seed)
    graph = nx.Graph()
    users = [("u", u) for u in range(300)]
    graph.add_nodes_from(users)
    graph.add_edges_from((("u", u), ("i", i)) for u, i in edges(data).t().tolist())
    # Latapy et al. 2008 bipartite clustering (neighbourhood overlap of users)
    return bipartite.average_clustering(graph, nodes=users)


def test_clustering_higher_at_low_temperature():
    cold = np.mean([clustering(0.1, seed) for seed in (0, 1)])
    hot = np.mean([clustering(0.9, seed) for seed in (0, 1)])
    assert cold > 1.3 * hot, (cold, hot)


@pytest.mark.parametrize("kwargs,name", [
    (dict(gamma=2.0), "gamma"),
    (dict(temperature=1.0), "temperature"),
    (dict(temperature=0.0), "temperature"),
    (dict(avg_user_degree=500), "avg_user_degree"),
    (dict(num_users=0), "num_users"),
    (dict(kg_depth=0), "kg_depth"),
    (dict(user_gamma=1.5), "user_gamma"),
])
def test_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        make_synthetic(**kwargs)
