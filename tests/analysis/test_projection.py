"""One-mode projection onto items (Chamberlain 2019, Fig. 2)."""
import networkx as nx
import numpy as np
import pytest

from analysis import (BipartiteGraph, clustering_exact, item_projection, projection_stats,
                      weighted_degree)

# Users A..D, items 1..4: A {1, 2}, B {1, 2, 3}, C {3, 4}, D {4}.
USERS = [0, 0, 1, 1, 1, 2, 2, 3]
ITEMS = [1, 2, 1, 2, 3, 3, 4, 4]


def test_projection_by_hand():
    graph = BipartiteGraph.from_arrays(USERS, ITEMS)
    w = item_projection(graph).toarray()
    expected = np.array([[0, 2, 1, 0],
                         [2, 0, 1, 0],
                         [1, 1, 0, 1],
                         [0, 0, 1, 0]])
    np.testing.assert_array_equal(w, expected)
    # s_i = sum_j W_ij = sum over the item's users of (k_u - 1).
    np.testing.assert_array_equal(weighted_degree(graph), expected.sum(1))
    stats = projection_stats(graph)
    assert stats.exact and stats.n_edges == 4 and stats.mean_degree == 2.0
    assert stats.mean_weighted_degree == pytest.approx(expected.sum() / 4)
    # One triangle (1, 2, 3); items 1 and 2 have C = 1, item 3 has 1/3, item 4 has 0.
    assert stats.average_clustering == pytest.approx((1 + 1 + 1 / 3 + 0) / 4)
    assert stats.transitivity == pytest.approx(3 / 5)


def random_graph(seed, users=200, items=120, edges=1500):
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.5, items) + 1
    item = rng.choice(items, edges, p=popularity / popularity.sum())
    return BipartiteGraph.from_arrays(rng.integers(0, users, edges), item)


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_statistics_match_networkx(seed):
    graph = random_graph(seed)
    w = item_projection(graph)
    g = nx.from_scipy_sparse_array(w)
    assert np.allclose(weighted_degree(graph), [d for _, d in g.degree(weight="weight")])
    local, transitivity = clustering_exact((w > 0).astype(np.int64))
    assert local.mean() == pytest.approx(nx.average_clustering(g), rel=1e-12)
    assert transitivity == pytest.approx(nx.transitivity(g), rel=1e-12)
    stats = projection_stats(graph)
    assert stats.n_edges == g.number_of_edges()
    degrees = np.array([d for _, d in g.degree()], dtype=float)
    assert stats.degree_cv == pytest.approx(degrees.std() / degrees.mean())
    assert stats.density == pytest.approx(nx.density(g))


def test_sampled_estimates_agree_with_exact_within_their_errors():
    graph = random_graph(3, users=400, items=300, edges=3000)
    exact = projection_stats(graph)
    for seed in range(3):
        est = projection_stats(graph, exact_max_nodes=0, n_samples=200, wedges_per_node=16,
                               random_state=seed)
        assert not est.exact and est.n_sampled == 200
        assert est.mean_weighted_degree == exact.mean_weighted_degree     # always exact
        for name in ("mean_degree", "average_clustering", "transitivity"):
            value, se = getattr(est, name), getattr(est, name + "_se" if name != "mean_degree"
                                                    else "mean_degree_se")
            assert se > 0
            assert abs(value - getattr(exact, name)) < 4 * se, name


def test_sampling_every_node_gives_exact_degrees():
    graph = random_graph(4)
    exact = projection_stats(graph)
    est = projection_stats(graph, exact_max_nodes=0, n_samples=10_000, random_state=0)
    assert est.n_sampled == graph.n_items
    assert est.mean_degree == pytest.approx(exact.mean_degree)
    assert est.degree_cv == pytest.approx(exact.degree_cv)


def test_projection_is_more_regular_than_the_bipartite_graph():
    # Chamberlain 2019, Fig. 2: degrees even out; weights keep heterogeneity.
    from hypgraph.data.synthetic import default_dataset

    edge_index = default_dataset()["user", "interacts", "item"].edge_index.numpy()
    stats = projection_stats(BipartiteGraph.from_arrays(edge_index[0], edge_index[1]))
    assert stats.degree_cv < stats.weighted_degree_cv < stats.bipartite_degree_cv
