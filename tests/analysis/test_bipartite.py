"""Bipartite basics (Chamberlain 2019, Table 1) from arrays and real data."""
import numpy as np
import pytest

from analysis import BipartiteGraph, bipartite_stats, describe


def test_tiny_graph_by_hand():
    # Users 10, 11, 12 (ids need not be contiguous); pair (10, 5) repeated.
    user = [10, 10, 10, 11, 12, 12]
    item = [5, 7, 5, 7, 7, 9]
    graph = BipartiteGraph.from_arrays(user, item)
    assert graph.n_duplicates == 1
    assert graph.user_index.tolist() == [10, 11, 12]
    assert graph.item_index.tolist() == [5, 7, 9]
    assert graph.user_degree.tolist() == [2, 1, 2]
    assert graph.item_degree.tolist() == [1, 3, 1]
    s = bipartite_stats(graph)
    assert (s.n_users, s.n_items, s.n_interactions) == (3, 3, 5)
    assert s.density == pytest.approx(5 / 9)
    assert s.mean_item_degree == pytest.approx(5 / 3)
    assert s.mean_user_degree == pytest.approx(5 / 3)
    assert (s.max_item_degree, s.max_user_degree) == (3, 2)


def test_matches_a_dense_computation():
    rng = np.random.default_rng(0)
    user = rng.integers(0, 300, 5000) * 7            # sparse ids: unique() path
    item = rng.integers(0, 80, 5000)
    graph = BipartiteGraph.from_arrays(user, item)
    dense = np.zeros((user.max() + 1, item.max() + 1), dtype=int)
    dense[user, item] = 1
    dense = dense[dense.any(1)][:, dense.any(0)]
    np.testing.assert_array_equal(graph.matrix.toarray(), dense)
    assert graph.n_duplicates == 5000 - dense.sum()


@pytest.mark.parametrize("user,item,match", [([0, 1], [0], "same length"), ([], [], "no interactions"),
                                             ([-1], [0], "negative"), ([0.5], [1], "integers"),
                                             ([[0]], [[0]], "1-D")])
def test_bad_arrays(user, item, match):
    with pytest.raises(ValueError, match=match):
        BipartiteGraph.from_arrays(user, item)


def test_movielens_100k_table_1_counts(shared_data):
    # Chamberlain 2019, Table 1 counts for MovieLens 100K with ratings >= 4
    # (the paper's implicit feedback, §6.3).
    from hypgraph.data.preprocess import prepare
    from hypgraph.data.readers import read

    path = shared_data / "ml-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    raw = read(path)
    data = prepare(raw, min_rating=4)
    report = describe(data, name="ml-100k", n_read=100_000, compare=False, projection=False)
    b = report.basics
    assert (b.n_users, b.n_items) == (942, 1447)
    assert round(b.density, 4) == 0.0406
    assert round(b.mean_item_degree, 4) == 38.2688
    assert report.n_removed == 100_000 - b.n_interactions
    assert [f["step"] for f in report.filters][0] == "rating >= 4"
