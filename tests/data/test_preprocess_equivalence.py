r"""The preparation steps give exactly what they gave before their rewrite for
speed (issue 15): every output of :mod:`hypgraph.data.preprocess` is compared,
store by store and tensor by tensor (dtype, shape, values, NaN included), and
its ``filter_log`` report by report, with the frozen reference implementation
in :mod:`tests.data._preprocess_reference`, on random data full of repeated
pairs, tied and missing timestamps, missing ratings, users and items without interactions,
extra per-edge and per-node attributes and a knowledge graph."""
import copy
import itertools

import numpy as np
import pytest
import torch

from hypgraph.data import preprocess as fast
from hypgraph.data.hetero import INTERACTS, REV_INTERACTS, build_hetero_data, set_interactions
from hypgraph.data.report import FilterReport

from . import _preprocess_reference as ref


def random_data(seed: int, *, max_edges: int = 60, max_nodes: int = 9):
    r"""Small random interactions: many repeated pairs and tied times."""
    rng = np.random.default_rng(seed)
    num_users = int(rng.integers(1, max_nodes))
    num_items = int(rng.integers(1, max_nodes))
    e = int(rng.integers(0, max_edges))
    user = rng.integers(0, num_users, e)
    item = rng.integers(0, num_items, e)
    kwargs = {}
    if rng.random() < 0.8:
        kwargs["rating"] = rng.integers(1, 6, e)
    time_kind = rng.choice(["none", "int", "float"], p=[0.3, 0.5, 0.2])
    if time_kind == "int":
        kwargs["time"] = rng.integers(0, 4, e)           # many ties
    if rng.random() < 0.3:
        kwargs["train_mask"] = rng.random(e) < 0.7
    if rng.random() < 0.5:
        kwargs["user_raw_id"] = [f"u{k}" for k in rng.permutation(num_users)]
    if rng.random() < 0.5:
        kwargs["item_raw_id"] = rng.permutation(num_items) * 7 + 3
    if rng.random() < 0.4:
        num_entities = num_items + 3
        kwargs.update(kg_head=rng.integers(0, num_entities, 5), kg_relation=rng.integers(0, 2, 5),
                      kg_tail=rng.integers(0, num_entities, 5), num_entities=num_entities)
        linked = np.flatnonzero(rng.random(num_items) < 0.8)
        kwargs.update(link_item=linked, link_entity=rng.integers(0, num_entities, linked.size))
    data = build_hetero_data(user, item, num_users=num_users, num_items=num_items, **kwargs)
    if time_kind == "float":
        time = torch.from_numpy(rng.integers(0, 3, e).astype(np.float64))
        time[torch.from_numpy(rng.random(e) < 0.2)] = float("nan")
        data[INTERACTS].time = data[REV_INTERACTS].time = time
    if "rating" in kwargs and rng.random() < 0.2:      # missing ratings: never positive
        rating = data[INTERACTS].rating.clone()
        rating[torch.from_numpy(rng.random(e) < 0.2)] = float("nan")
        data[INTERACTS].rating = data[REV_INTERACTS].rating = rating
    if rng.random() < 0.3:                             # a 2-D per-edge attribute
        feat = torch.from_numpy(rng.normal(size=(e, 2)))
        data[INTERACTS].feat = data[REV_INTERACTS].feat = feat
    if rng.random() < 0.3:                             # per-node attributes of every kind
        data["item"].x = torch.from_numpy(rng.normal(size=(num_items, 3)))
        data["user"].names = np.array([f"n{k}" for k in range(num_users)])
        data["user"].tags = [f"t{k}" for k in range(num_users)]
    if rng.random() < 0.3:
        data.filter_log = [FilterReport(step="read", kept=e, removed=2, unit="lines")]
    return data


def assert_same_value(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.isnan(), b.isnan()) if a.is_floating_point() else True, where
        if a.is_floating_point():
            assert torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)), where
        else:
            assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    else:
        assert a == b, where


def assert_same(got, want):
    assert got.node_types == want.node_types
    assert got.edge_types == want.edge_types
    for key in itertools.chain(got.node_types, got.edge_types):
        g, w = dict(got[key].items()), dict(want[key].items())
        assert sorted(g) == sorted(w), key
        for name in w:
            assert_same_value(g[name], w[name], (key, name))
    assert list(getattr(got, "filter_log", None) or []) == list(getattr(want, "filter_log", None) or [])


def snapshot(data):
    return {(str(key), name): value.clone() if isinstance(value, torch.Tensor) else copy.copy(value)
            for key in itertools.chain(data.node_types, data.edge_types)
            for name, value in data[key].items()}


def assert_unchanged(data, before):
    after = snapshot(data)
    assert after.keys() == before.keys()
    for where, value in before.items():
        assert_same_value(after[where], value, where)


OPTIONS = [dict(min_rating=mr, min_user_interactions=mu, dedupe=d, compact=c)
           for mr in (None, 3, 4) for mu in (None, 0, 2, 3) for d in (True, False) for c in (True, False)]


@pytest.fixture
def small_blocks(monkeypatch):
    r"""Copies in blocks of a few rows, so that block boundaries are crossed."""
    monkeypatch.setattr(fast, "_BLOCK", 7)


@pytest.mark.parametrize("seed", range(40))
def test_prepare_matches_the_reference(seed, request):
    if seed % 2:
        request.getfixturevalue("small_blocks")
    data = random_data(seed)
    rated = "rating" in data[INTERACTS]
    for options in OPTIONS:
        if options["min_rating"] is not None and not rated:
            continue
        before = snapshot(data)
        got = fast.prepare(data, **options)
        assert_unchanged(data, before)
        assert_same(got, ref.prepare(data, **options))


@pytest.mark.parametrize("seed", range(40))
def test_each_step_matches_the_reference(seed):
    data = random_data(seed)
    steps = [("dedupe", (), {}), ("compact", (), {}), ("min_user_interactions", (2,), {}),
             ("min_user_interactions", (0,), {})]
    if "rating" in data[INTERACTS]:
        steps.append(("implicit_feedback", (4,), {}))
    for name, args, kwargs in steps:
        before = snapshot(data)
        got = getattr(fast, name)(data, *args, **kwargs)
        assert_unchanged(data, before)
        assert_same(got, getattr(ref, name)(data, *args, **kwargs))


@pytest.mark.parametrize("seed", range(3))
def test_large_data_with_many_repeats_matches_the_reference(seed, monkeypatch):
    monkeypatch.setattr(fast, "_BLOCK", 65_536)
    # Big enough for every chunked or blocked path; about one pair in three repeated.
    rng = np.random.default_rng(100 + seed)
    e, num_users, num_items = 300_000, 20_000, 2_000
    user = (rng.pareto(1.5, e) * 300).astype(np.int64) % num_users
    item = (rng.pareto(1.2, e) * 30).astype(np.int64) % num_items
    data = build_hetero_data(user, item, num_users=num_users + 5, num_items=num_items + 5,
                             time=rng.integers(0, 50, e), rating=rng.integers(1, 6, e))
    for options in (dict(), dict(min_rating=4), dict(min_rating=3, min_user_interactions=5),
                    dict(dedupe=False, min_user_interactions=3), dict(compact=False)):
        assert_same(fast.prepare(data, **options), ref.prepare(data, **options))
    assert_same(fast.dedupe(data), ref.dedupe(data))


def test_which_repeat_survives_large():
    # Every pair repeated 3 times with a random time order: the earliest (first on a tie) row
    # must survive, with its own rating.
    rng = np.random.default_rng(7)
    pairs = rng.integers(0, 1000, (50_000, 2))
    user, item = np.repeat(pairs, 3, axis=0).T
    time = rng.integers(0, 3, user.size)
    rating = rng.integers(1, 6, user.size)
    data = build_hetero_data(user, item, num_users=1000, num_items=1000, time=time, rating=rating)
    got, want = fast.dedupe(data), ref.dedupe(data)
    assert_same(got, want)
    assert_same(fast.dedupe(build_hetero_data(user, item, num_users=1000, num_items=1000,
                                              rating=rating)),
                ref.dedupe(build_hetero_data(user, item, num_users=1000, num_items=1000,
                                             rating=rating)))


def test_nothing_to_remove_matches_the_reference():
    user = np.repeat(np.arange(50), 4)
    item = np.tile(np.arange(4), 50)
    data = build_hetero_data(user, item, num_users=50, num_items=4, time=np.arange(200),
                             rating=np.full(200, 5))
    for options in (dict(), dict(min_rating=1, min_user_interactions=4)):
        assert_same(fast.prepare(data, **options), ref.prepare(data, **options))


def test_no_steps_returns_the_input():
    data = random_data(0)
    assert fast.prepare(data, dedupe=False, compact=False) is data


def test_errors_match_the_reference():
    data = random_data(3)
    del data[INTERACTS].rating
    del data[REV_INTERACTS].rating
    messages = {}
    for module in (fast, ref):
        with pytest.raises(ValueError) as no_rating:
            module.prepare(data, min_rating=4)
        with pytest.raises(ValueError) as negative:
            module.prepare(data, min_user_interactions=-1)
        messages[module] = (str(no_rating.value), str(negative.value))
    assert messages[fast] == messages[ref]
    split = random_data(4)
    split[INTERACTS].edge_label_index = torch.zeros(2, 1, dtype=torch.long)
    for module in (fast, ref):
        with pytest.raises(ValueError, match="edge_label_index"):
            module.prepare(split)


def test_edge_index_may_be_a_view():
    # A non-contiguous edge_index (e.g. a column slice) is read like any other.
    data = random_data(5, max_edges=200)
    ei = data[INTERACTS].edge_index
    wide = torch.stack([ei[0], ei[0], ei[1], ei[1]], dim=1).t()   # [4, E], strided rows
    set_interactions(data, wide[1:3], **{k: v for k, v in data[INTERACTS].items() if k != "edge_index"})
    assert not data[INTERACTS].edge_index.is_contiguous() or data[INTERACTS].edge_index.numel() == 0
    assert_same(fast.prepare(data), ref.prepare(data))
