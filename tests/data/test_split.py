import math
from collections import defaultdict

import numpy as np
import pytest
import torch

from hypgraph.data.hetero import INTERACTS, LINKS, RELATES, REV_INTERACTS, build_hetero_data
from hypgraph.data.split import given_split, leave_last_out, random_split, sample_label_users
from hypgraph.data.synthetic import default_dataset


def random_graph(seed, num_users=40, num_items=30, max_degree=25, time_values=6):
    r"""Distinct pairs with few distinct timestamps (many ties), in shuffled
    row order; some users have 0, 1 or 2 interactions."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(num_users):
        d = int(rng.integers(0, max_degree)) if u >= 3 else u  # users 0, 1, 2 have degree 0, 1, 2
        chosen = rng.choice(num_items, size=d, replace=False)
        users += [u] * d
        items += chosen.tolist()
    perm = rng.permutation(len(users))
    users, items = np.asarray(users)[perm], np.asarray(items)[perm]
    time = rng.integers(0, time_values, size=len(users))
    return build_hetero_data(users, items, num_users=num_users, num_items=num_items, time=time,
                             rating=rng.integers(1, 6, size=len(users)),
                             kg_head=[0], kg_relation=[0], kg_tail=[1], num_entities=num_items,
                             link_item=np.arange(num_items), link_entity=np.arange(num_items))


def pairs(edge_index):
    return list(zip(*edge_index.tolist()))


def parts_of(split):
    train, val, test = split
    return (pairs(train[INTERACTS].edge_label_index), pairs(val[INTERACTS].edge_label_index),
            pairs(test[INTERACTS].edge_label_index))


def check_layout(data, split):
    train, val, test = split
    tr, va, te = parts_of(split)
    # no pair in two parts, and together they are the input
    assert not (set(tr) & set(va)) and not (set(tr) & set(te)) and not (set(va) & set(te))
    assert sorted(tr + va + te) == sorted(pairs(data[INTERACTS].edge_index))
    # message edges: train, train, train + val
    assert sorted(pairs(train[INTERACTS].edge_index)) == sorted(tr)
    assert sorted(pairs(val[INTERACTS].edge_index)) == sorted(tr)
    assert sorted(pairs(test[INTERACTS].edge_index)) == sorted(tr + va)
    for part in split:
        store = part[INTERACTS]
        assert torch.equal(part[REV_INTERACTS].edge_index, store.edge_index.flip(0))
        assert torch.equal(store.edge_label, torch.ones(store.edge_label_index.size(1)))
        # per-edge attributes follow their edges
        lookup = {p: (t, r) for p, t, r in zip(pairs(data[INTERACTS].edge_index),
                                                data[INTERACTS].time.tolist(),
                                                data[INTERACTS].rating.tolist())}
        assert [lookup[p] for p in pairs(store.edge_index)] == list(
            zip(store.time.tolist(), store.rating.tolist()))
        assert [lookup[p][0] for p in pairs(store.edge_label_index)] == store.edge_label_time.tolist()
        # nodes and KG are shared, not copied
        assert part["user"].num_nodes == data["user"].num_nodes
        for edge_type in (RELATES, LINKS):
            assert (edge_type in part.edge_types) == (edge_type in data.edge_types)
            if edge_type in data.edge_types:
                assert part[edge_type].edge_index is data[edge_type].edge_index


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leave_last_out_matches_brute_force(seed):
    data = random_graph(seed)
    split = leave_last_out(data)
    check_layout(data, split)
    by_user = defaultdict(list)
    for row, (u, i) in enumerate(pairs(data[INTERACTS].edge_index)):
        by_user[u].append((int(data[INTERACTS].time[row]), i))
    expected_test, expected_val = set(), set()
    for u, events in by_user.items():
        events.sort()  # by time, ties: larger item is later (documented)
        if len(events) >= 2:
            expected_test.add((u, events[-1][1]))
        if len(events) >= 3:
            expected_val.add((u, events[-2][1]))
    _, va, te = parts_of(split)
    assert set(te) == expected_test and set(va) == expected_val


def test_leave_last_out_does_not_depend_on_row_order():
    data = random_graph(3)
    store = data[INTERACTS]
    perm = torch.randperm(store.edge_index.size(1), generator=torch.Generator().manual_seed(0))
    shuffled = build_hetero_data(store.edge_index[0, perm], store.edge_index[1, perm],
                                 num_users=40, num_items=30, time=store.time[perm],
                                 rating=store.rating[perm])
    assert [set(p) for p in parts_of(leave_last_out(data))] == \
        [set(p) for p in parts_of(leave_last_out(shuffled))]


def test_leave_last_out_reports_short_users_and_val_false():
    data = random_graph(0)
    train, val, test = leave_last_out(data, val=False)
    assert val[INTERACTS].edge_label_index.shape == (2, 0)
    report = test.filter_log[-1]
    degree = torch.bincount(data[INTERACTS].edge_index[0], minlength=40)
    single, active = int((degree == 1).sum()), int((degree > 0).sum())
    assert single >= 1  # user 1, at least
    # users with one interaction keep it in train and get no test
    assert report.removed == single and report.kept == active - single and report.unit == "users"
    assert 1 in train[INTERACTS].edge_index[0].tolist()
    assert 1 not in test[INTERACTS].edge_label_index[0].tolist()
    with_val = leave_last_out(data)[0].filter_log[-1]
    assert f"no validation interaction for {int(((degree == 1) | (degree == 2)).sum())} users" \
        in with_val.detail


def test_leave_last_out_needs_time_and_distinct_pairs():
    with pytest.raises(ValueError, match="time"):
        leave_last_out(build_hetero_data([0, 0], [0, 1], num_users=1, num_items=2))
    with pytest.raises(ValueError, match="user 0, item 1"):
        leave_last_out(build_hetero_data([0, 0, 0], [0, 1, 1], num_users=1, num_items=2,
                                         time=[1, 2, 3]))


def expected_share(count, ratio):
    return min(math.floor(count * ratio + 0.5), max(count - 1, 0))


@pytest.mark.parametrize("test_ratio,val_ratio", [(0.2, 0.1), (0.3, 0.0), (0.5, 0.25)])
def test_random_split_per_user_proportions(test_ratio, val_ratio):
    data = random_graph(4, max_degree=30)
    split = random_split(data, test_ratio=test_ratio, val_ratio=val_ratio, seed=1)
    check_layout(data, split)
    tr, va, te = parts_of(split)
    degree = torch.bincount(data[INTERACTS].edge_index[0], minlength=40).tolist()
    for u, d in enumerate(degree):
        n_test = sum(1 for p in te if p[0] == u)
        n_val = sum(1 for p in va if p[0] == u)
        assert n_test == expected_share(d, test_ratio)
        assert n_val == expected_share(d - n_test, val_ratio)
        assert d == 0 or sum(1 for p in tr if p[0] == u) >= 1


def test_random_split_is_seeded_and_uniform():
    data = random_graph(5)
    assert parts_of(random_split(data, seed=7)) == parts_of(random_split(data, seed=7))
    assert parts_of(random_split(data, seed=7)) != parts_of(random_split(data, seed=8))
    # One user with 10 items: each item is the test item (2 of 10) with probability 0.2.
    single = build_hetero_data([0] * 10, list(range(10)), num_users=1, num_items=10)
    hits = torch.zeros(10)
    runs = 400
    for seed in range(runs):
        hits[torch.tensor(parts_of(random_split(single, seed=seed))[2])[:, 1]] += 1
    # Binomial(400, 0.2): sd = 8; 5 sd around 80 fails for a biased choice only.
    assert ((hits - 80).abs() < 40).all(), hits


def test_random_split_rejects_bad_ratios():
    data = random_graph(0)
    with pytest.raises(ValueError, match="test_ratio must be in \\[0, 1\\), got 1.0"):
        random_split(data, test_ratio=1.0)
    with pytest.raises(ValueError, match="val_ratio.*-0.1"):
        random_split(data, val_ratio=-0.1)


def with_masks(train_mask, test_mask=None):
    return build_hetero_data([0, 0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 0, 1, 2], num_users=2,
                             num_items=4, time=[1, 2, 3, 4, 5, 6, 7], rating=[5] * 7,
                             train_mask=train_mask, test_mask=test_mask)


def test_given_split_uses_masks():
    data = with_masks([1, 1, 1, 0, 1, 1, 0], [0, 0, 0, 1, 0, 0, 1])
    train, val, test = given_split(data)
    assert pairs(train[INTERACTS].edge_label_index) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert pairs(test[INTERACTS].edge_label_index) == [(0, 3), (1, 2)]
    assert val[INTERACTS].edge_label_index.size(1) == 0
    # the masks travel along as edge attributes
    assert train[INTERACTS].train_mask.all()
    # with validation: user 0 has 3 train edges -> round(1.5) = 2, capped at 2; user 1: 1
    _, val, _ = given_split(data, val_ratio=0.5, seed=3)
    va = pairs(val[INTERACTS].edge_label_index)
    assert sum(p[0] == 0 for p in va) == 2 and sum(p[0] == 1 for p in va) == 1
    check_layout(data, given_split(data, val_ratio=0.5, seed=3))


def test_given_split_test_mask_defaults_to_complement_and_rows_in_neither_are_reported():
    train, _, test = given_split(with_masks([1, 1, 1, 0, 1, 1, 0]))
    assert test[INTERACTS].edge_label_index.size(1) == 2
    train, val, test = given_split(with_masks([1, 1, 0, 0, 1, 1, 0], [0, 0, 0, 1, 0, 0, 1]))
    everything = parts_of((train, val, test))
    assert (0, 2) not in sum(everything, [])
    assert any("neither" in r.step and r.removed == 1 for r in test.filter_log)


def test_given_split_errors():
    with pytest.raises(ValueError, match="train_mask"):
        given_split(build_hetero_data([0], [0], num_users=1, num_items=1))
    with pytest.raises(ValueError, match="both.*row 1"):
        given_split(with_masks([1, 1, 1, 0, 1, 1, 0], [0, 1, 0, 1, 0, 0, 1]))


def test_splits_on_the_synthetic_default():
    data = default_dataset()
    for split in (leave_last_out(data), random_split(data, seed=0)):
        train, val, test = split
        tr, va, te = parts_of(split)
        assert len(tr) + len(va) + len(te) == data[INTERACTS].edge_index.size(1)
        assert not set(te) & set(pairs(test[INTERACTS].edge_index))


def test_sample_label_users_keeps_every_label_of_the_drawn_users_and_nothing_else():
    data = random_graph(4)
    _, val, _ = random_split(data, test_ratio=0.2, val_ratio=0.2, seed=1)
    store = val[INTERACTS]
    labelled = sorted(set(store.edge_label_index[0].tolist()))
    before = (store.edge_label_index.clone(), store.edge_label_time.clone())
    sub = sample_label_users(val, 10, seed=7)
    kept = sub[INTERACTS].edge_label_index
    users = set(kept[0].tolist())
    assert len(users) == 10 and users <= set(labelled)
    # every label of a drawn user, in the original order, with its attributes; none of the others
    expected = [i for i, u in enumerate(store.edge_label_index[0].tolist()) if u in users]
    assert torch.equal(kept, store.edge_label_index[:, expected])
    assert torch.equal(sub[INTERACTS].edge_label_time, store.edge_label_time[expected])
    assert torch.equal(sub[INTERACTS].edge_label, torch.ones(len(expected)))
    # the history the ranking masks is unchanged, the input part untouched
    assert torch.equal(sub[INTERACTS].edge_index, store.edge_index)
    assert torch.equal(store.edge_label_index, before[0]) and torch.equal(store.edge_label_time, before[1])
    # seeded; reported
    assert torch.equal(sample_label_users(val, 10, seed=7)[INTERACTS].edge_label_index, kept)
    assert not torch.equal(sample_label_users(val, 10, seed=8)[INTERACTS].edge_label_index, kept)
    report = sub.filter_log[-1]
    assert report.kept == len(expected) and report.removed == store.edge_label_index.size(1) - len(expected)
    assert f"{len(labelled) - 10:,} of {len(labelled):,} users left out" in report.detail
    # as many users as asked or more: the part itself; fewer than one: refused
    assert sample_label_users(val, len(labelled), seed=7) is val
    with pytest.raises(ValueError, match="num_users must be >= 1, got 0"):
        sample_label_users(val, 0)
