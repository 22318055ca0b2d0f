import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import hypgraph.data.negative as neg
from hypgraph.data.hetero import INTERACTS, build_hetero_data
from hypgraph.data.negative import sample_eval_negatives, sample_negatives
from hypgraph.data.split import leave_last_out
from hypgraph.data.synthetic import default_dataset


def seen_sets(edge_index):
    seen = {}
    for u, i in edge_index.t().tolist():
        seen.setdefault(u, set()).add(i)
    return seen


@st.composite
def small_graphs(draw):
    num_users = draw(st.integers(1, 8))
    num_items = draw(st.integers(2, 12))
    edges = []
    for u in range(num_users):
        # at most num_items - 1 items each, so a negative always exists
        items = draw(st.sets(st.integers(0, num_items - 1), min_size=1, max_size=num_items - 1))
        edges += [(u, i) for i in sorted(items)]
    return torch.tensor(edges).t(), num_items, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=60, deadline=None)
@given(small_graphs(), st.integers(1, 6))
def test_never_a_seen_item(graph, k):
    edge_index, num_items, seed = graph
    out = sample_negatives(edge_index, num_items, k, generator=torch.Generator().manual_seed(seed))
    assert out.shape == (edge_index.size(1), k) and out.dtype == torch.long
    seen = seen_sets(edge_index)
    for (u, _), row in zip(edge_index.t().tolist(), out.tolist()):
        assert all(0 <= i < num_items and i not in seen[u] for i in row)


@settings(max_examples=40, deadline=None)
@given(small_graphs())
def test_eval_negatives_are_unseen_and_distinct(graph):
    edge_index, num_items, seed = graph
    data = build_hetero_data(edge_index[0], edge_index[1], num_users=int(edge_index[0].max()) + 1,
                             num_items=num_items, time=torch.arange(edge_index.size(1)))
    train, val, test = leave_last_out(data)
    seen = seen_sets(data[INTERACTS].edge_index)
    label = test[INTERACTS].edge_label_index
    k = min(num_items - max(len(s) for s in seen.values()), 5)
    out = sample_eval_negatives(test, k, generator=torch.Generator().manual_seed(seed))
    assert out.shape == (label.size(1), k)
    for u, row in zip(label[0].tolist(), out.tolist()):
        assert len(set(row)) == k and not set(row) & seen[u]


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_exclude_formats_agree_and_extend_the_seen_set():
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 3, 0, 4]])
    known = torch.tensor([[0, 0, 0, 1, 1, 2], [1, 3, 2, 0, 4, 4]])  # adds (0, 2), (1, 4)
    rowptr, col = torch.tensor([0, 3, 5, 6]), torch.tensor([1, 2, 3, 0, 4, 4])
    csr = torch.sparse_csr_tensor(rowptr, col, torch.ones(6), size=(3, 6), check_invariants=True)
    draws = [sample_negatives(edge_index, 6, 50, exclude=exclude,
                              generator=torch.Generator().manual_seed(0))
             for exclude in (known, (rowptr, col), csr)]
    assert torch.equal(draws[0], draws[1]) and torch.equal(draws[0], draws[2])
    seen = seen_sets(known)
    for u, row in zip(edge_index[0].tolist(), draws[0].tolist()):
        assert not set(row) & seen[u]
    assert (draws[0][:2] == 2).sum() == 0  # (0, 2) excluded though not in edge_index


def test_reproducible_with_seed():
    edge_index = default_dataset()[INTERACTS].edge_index
    a = sample_negatives(edge_index, 400, 3, generator=torch.Generator().manual_seed(1))
    b = sample_negatives(edge_index, 400, 3, generator=torch.Generator().manual_seed(1))
    c = sample_negatives(edge_index, 400, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def chi_square_uniform(values, support):
    counts = np.array([(values == v).sum() for v in support])
    assert counts.sum() == values.size, "a value outside the support was drawn"
    return stats.chisquare(counts).pvalue


@pytest.mark.parametrize("num_seen", [5, 38])  # 38 of 40: rejection mostly fails -> exact fallback
def test_roughly_uniform_over_unseen_items(num_seen, monkeypatch):
    exact = spy(monkeypatch, "kth_unseen")
    num_items = 40
    seen = torch.arange(0, 2 * num_seen, 2) % num_items if num_seen <= 20 else torch.arange(num_seen)
    edge_index = torch.stack([torch.zeros(num_seen, dtype=torch.long), seen])
    out = sample_negatives(edge_index, num_items, 2000, generator=torch.Generator().manual_seed(0))
    unseen = sorted(set(range(num_items)) - set(seen.tolist()))
    # 2000 * num_seen draws: a sampler that favours some items by even 10% gives
    # p far below 1e-4, while a uniform one passes at this level 9,999 times in 10,000.
    assert chi_square_uniform(out.numpy().ravel(), unseen) > 1e-4
    assert (exact["rows"] > 0) == (num_seen == 38)  # the fallback path was taken


def spy(monkeypatch, name):
    r"""Count the rows that go through ``_Positives.<name>``."""
    calls = {"rows": 0}
    original = getattr(neg._Positives, name)

    def wrapper(self, users, *args):
        calls["rows"] += users.numel()
        return original(self, users, *args)

    monkeypatch.setattr(neg._Positives, name, wrapper)
    return calls


def test_chi_square_check_has_power():
    # The same check on a sampler biased towards low item ids must fail.
    rng = np.random.default_rng(0)
    biased = rng.choice(35, size=70_000, p=np.linspace(1.2, 0.8, 35) / np.linspace(1.2, 0.8, 35).sum())
    assert chi_square_uniform(biased, range(35)) < 1e-4


def test_eval_negatives_uniform_and_fallback(monkeypatch):
    dense = spy(monkeypatch, "random_unseen_sets")
    # one user, 110 items, 8 seen: 100 distinct of the 102 unseen -> rejection
    # rarely completes a row, the exact dense fallback does.
    data = build_hetero_data([0] * 8, list(range(8)), num_users=1, num_items=110,
                             time=list(range(8)))
    _, _, test = leave_last_out(data)
    assert test[INTERACTS].edge_label_index.tolist() == [[0], [7]]
    rows = [sample_eval_negatives(test, 100, generator=torch.Generator().manual_seed(s))
            for s in range(50)]
    out = torch.cat(rows)
    assert out.min() >= 8
    assert all(len(set(r.tolist())) == 100 for r in out)
    assert chi_square_uniform(out.numpy().ravel(), range(8, 110)) > 1e-4
    assert dense["rows"] > 0


def test_eval_negatives_on_default_dataset():
    data = default_dataset()
    _, _, test = leave_last_out(data)
    generator = torch.Generator().manual_seed(0)
    out = sample_eval_negatives(test, generator=generator)
    label = test[INTERACTS].edge_label_index
    assert out.shape == (label.size(1), 100)
    seen = seen_sets(data[INTERACTS].edge_index)
    for u, row in zip(label[0].tolist(), out.tolist()):
        assert len(set(row)) == 100 and not set(row) & seen[u]
    again = sample_eval_negatives(test, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    independent = sample_eval_negatives(test, 100, generator=generator, distinct=False)
    assert independent.shape == out.shape


def test_errors_when_impossible():
    edge_index = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 2]])
    with pytest.raises(ValueError, match="user 1 has interacted with 3 of 3 items"):
        sample_negatives(edge_index, 3, 1)
    with pytest.raises(ValueError, match="item index 5 out of range"):
        sample_negatives(torch.tensor([[0], [5]]), 3, 1)
    data = build_hetero_data([0, 0, 0], [0, 1, 2], num_users=1, num_items=5, time=[1, 2, 3])
    _, _, test = leave_last_out(data)
    with pytest.raises(ValueError, match="leaving 2 unseen: cannot draw 3 distinct"):
        sample_eval_negatives(test, 3, generator=torch.Generator())


def test_scale_sanity():
    # 1M positives over 50k users x 10k items, 4 negatives each: no users x items matrix.
    generator = torch.Generator().manual_seed(0)
    user = torch.randint(50_000, (1_000_000,), generator=generator)
    item = torch.randint(10_000, (1_000_000,), generator=generator)
    out = sample_negatives(torch.stack([user, item]), 10_000, 4, generator=generator)
    assert out.shape == (1_000_000, 4)
    key = torch.unique(user * 10_000 + item)
    query = user.unsqueeze(1) * 10_000 + out
    pos = torch.searchsorted(key, query).clamp(max=key.numel() - 1)
    assert not (key[pos] == query).any()


def test_positive_set_gives_the_same_draws_as_the_edge_index():
    from hypgraph.data.negative import PositiveSet
    g = torch.Generator().manual_seed(0)
    edge_index = torch.stack([torch.randint(30, (400,), generator=g), torch.randint(50, (400,), generator=g)])
    batch = edge_index[:, :64]
    a = sample_negatives(batch, 50, 3, generator=torch.Generator().manual_seed(1), exclude=edge_index)
    b = sample_negatives(batch, 50, 3, generator=torch.Generator().manual_seed(1),
                         exclude=PositiveSet(edge_index, 50, 30))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="items"):
        sample_negatives(batch, 60, 3, exclude=PositiveSet(edge_index, 50, 30))
