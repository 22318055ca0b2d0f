r"""BipartiteGraph.from_arrays builds exactly the graph it built before its
rewrite for speed (issue 15): same matrix (indices, indptr, data and their
dtypes, sorted), same index maps, same duplicate count, compared with the
scipy COO -> CSR construction it replaced."""
import numpy as np
import pytest
import scipy.sparse as sp

from analysis.bipartite import BipartiteGraph, _index_array


def _compact(index):
    used = np.bincount(index) > 0
    remap = np.cumsum(used) - 1
    return np.flatnonzero(used), remap[index]


def reference(user, item):
    r"""The construction of from_arrays before issue 15, verbatim."""
    user, item = _index_array(user, "user"), _index_array(item, "item")
    user_index, user = np.unique(user, return_inverse=True) if user.max() > 4 * user.size \
        else _compact(user)
    item_index, item = np.unique(item, return_inverse=True) if item.max() > 4 * item.size \
        else _compact(item)
    ones = np.ones(user.size, dtype=np.int32)
    matrix = sp.csr_matrix((ones, (user, item)), shape=(user_index.size, item_index.size))
    matrix.sum_duplicates()
    n_duplicates = user.size - matrix.nnz
    matrix.data[:] = 1
    return matrix, user_index, item_index, int(n_duplicates)


def assert_same(user, item):
    graph = BipartiteGraph.from_arrays(user, item)
    matrix, user_index, item_index, n_duplicates = reference(user, item)
    got = graph.matrix
    assert type(got) is type(matrix) and got.shape == matrix.shape
    for name in ("indices", "indptr", "data"):
        a, b = getattr(got, name), getattr(matrix, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert got.has_sorted_indices and got.has_canonical_format
    for a, b in ((graph.user_index, user_index), (graph.item_index, item_index)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert graph.n_duplicates == n_duplicates


@pytest.mark.parametrize("seed", range(30))
def test_from_arrays_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    e = int(rng.integers(1, 400))
    users, items = int(rng.integers(1, 60)), int(rng.integers(1, 30))
    user, item = rng.integers(0, users, e), rng.integers(0, items, e)
    kind = seed % 5
    if kind == 1:                      # sparse ids: the np.unique path
        user, item = user * 1000 + 3, item * 7919
    elif kind == 2:                    # every index used, in order: nothing to relabel
        user = np.concatenate([np.arange(users), user])
        item = np.concatenate([np.arange(items), item])
        user, item = user[: item.size], item[: user.size]
    elif kind == 3:                    # other integer dtypes, and integral floats
        user, item = user.astype(np.uint32), item.astype(np.float64)
    elif kind == 4:                    # no repeats
        pairs = np.unique(np.stack([user, item], 1), axis=0)
        user, item = pairs[rng.permutation(len(pairs))].T
    assert_same(user, item)


def test_from_arrays_matches_the_reference_large():
    rng = np.random.default_rng(1)
    user = (rng.pareto(1.5, 400_000) * 50).astype(np.int64) % 30_000
    item = (rng.pareto(1.2, 400_000) * 10).astype(np.int64) % 3_000
    assert_same(user, item)
    assert_same(user[:1], item[:1])
    assert_same(np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64))
