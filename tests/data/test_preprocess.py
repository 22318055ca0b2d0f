import numpy as np
import pytest
import torch

from hypgraph.data.hetero import INTERACTS, LINKS, RELATES, REV_INTERACTS, build_hetero_data
from hypgraph.data.preprocess import (compact, dedupe, implicit_feedback, min_user_interactions,
                                      prepare)


def toy(**overrides):
    r"""5 users (user 4 without interactions), 6 items (item 5 without), a
    repeated pair (0, 1), a KG over 8 entities and item -> entity links."""
    args = dict(
        user=[0, 0, 0, 1, 1, 2, 3, 0],
        item=[1, 2, 1, 0, 3, 4, 4, 3],
        num_users=5, num_items=6,
        time=[30, 10, 20, 5, 6, 7, 8, 40],
        rating=[5, 3, 4, 4, 2, 5, 1, 4],
        user_raw_id=[10, 11, 12, 13, 14],
        item_raw_id=["a", "b", "c", "d", "e", "f"],
        kg_head=[0, 1, 5], kg_relation=[0, 0, 1], kg_tail=[6, 6, 7], num_entities=8,
        link_item=[0, 1, 2, 3, 4, 5], link_entity=[0, 1, 2, 3, 4, 5],
    )
    args.update(overrides)
    return build_hetero_data(**args)


def rows(data):
    r"""The interactions as sorted (user, item, time, rating) tuples of raw ids."""
    store = data[INTERACTS]
    u, i = store.edge_index
    uraw, iraw = data["user"].raw_id, data["item"].raw_id
    return sorted(zip((int(uraw[x]) for x in u), (str(iraw[x]) for x in i),
                      store.time.tolist(), store.rating.tolist()))


def snapshot(data):
    return {str(k): v.clone() if isinstance(v, torch.Tensor) else v
            for store in data.stores for k, v in store.items()}


def assert_unchanged(data, before):
    after = snapshot(data)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, after[key]), key


def test_implicit_feedback_keeps_ratings_at_threshold_and_attrs_follow():
    data = toy()
    before = snapshot(data)
    out = implicit_feedback(data, 4)
    assert_unchanged(data, before)
    store = out[INTERACTS]
    assert store.rating.min() >= 4
    assert store.edge_index.size(1) == 5
    assert (store.time == torch.tensor([30, 20, 5, 7, 40])).all()
    assert torch.equal(out[REV_INTERACTS].edge_index, store.edge_index.flip(0))
    assert torch.equal(out[REV_INTERACTS].time, store.time)
    report = out.filter_log[-1]
    assert (report.kept, report.removed) == (5, 3)
    # user 3's only rating is 1; item 2 (rated 3) and nothing else lose all interactions
    assert "1 users and 1 items" in report.detail


def test_implicit_feedback_without_rating_names_the_problem():
    with pytest.raises(ValueError, match="rating"):
        implicit_feedback(toy(rating=None), 4)


def test_min_user_interactions_counts_rows_and_reports_emptied_users():
    out = min_user_interactions(toy(), 2)
    users = out[INTERACTS].edge_index[0].unique().tolist()
    assert users == [0, 1]  # user 0: 4 rows, user 1: 2 rows, users 2 and 3: 1 row
    report = out.filter_log[-1]
    assert (report.kept, report.removed) == (6, 2)
    assert "2 users and 1 items" in report.detail  # item 4 had only users 2 and 3
    with pytest.raises(ValueError, match="-1"):
        min_user_interactions(toy(), -1)


def test_dedupe_keeps_earliest_by_time():
    out = dedupe(toy())
    store = out[INTERACTS]
    pairs = list(zip(*store.edge_index.tolist()))
    assert len(pairs) == len(set(pairs)) == 7
    # (0, 1) occurs at times 30 and 20: the one at 20 (rating 4) stays.
    k = pairs.index((0, 1))
    assert (int(store.time[k]), float(store.rating[k])) == (20, 4.0)
    # kept rows keep their input order
    assert store.time.tolist() == [10, 20, 5, 6, 7, 8, 40]
    assert out.filter_log[-1].removed == 1


def test_dedupe_without_time_keeps_first_row_and_ties_go_to_first_row():
    out = dedupe(toy(time=None))
    store = out[INTERACTS]
    assert store.rating.tolist() == [5, 3, 4, 2, 5, 1, 4]  # first (0, 1) row has rating 5
    tied = dedupe(toy(time=[20, 10, 20, 5, 6, 7, 8, 40]))
    assert float(tied[INTERACTS].rating[0]) == 5.0


def test_compact_reindexes_and_keeps_raw_ids_links_and_kg():
    data = toy()
    data["item"].x = torch.arange(6).float().unsqueeze(1) * 10
    before = snapshot(data)
    out = compact(data)
    assert_unchanged(data, before)
    assert out["user"].num_nodes == 4 and out["item"].num_nodes == 5
    assert out["user"].raw_id.tolist() == [10, 11, 12, 13]
    assert list(out["item"].raw_id) == ["a", "b", "c", "d", "e"]
    assert out["item"].x.squeeze(1).tolist() == [0, 10, 20, 30, 40]
    assert rows(out) == rows(data)
    # item 5 is gone, so is its link; the KG is the same object
    assert out[LINKS].edge_index.tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    assert out[RELATES].edge_index is data[RELATES].edge_index
    assert out["entity"].num_nodes == 8
    detail = out.filter_log[-1].detail
    assert "1 of 5 users" in detail and "1 of 6 items" in detail and "1 item-entity" in detail


def test_compact_maps_links_through_the_new_item_ids():
    data = toy(user=[0, 1], item=[4, 2], time=[1, 2], rating=[5, 5])
    out = compact(data)
    # items 2 and 4 survive as 0 and 1; their links point to entities 2 and 4
    assert out[LINKS].edge_index.tolist() == [[0, 1], [2, 4]]
    assert list(out["item"].raw_id) == ["c", "e"]


def test_prepare_order_matters_and_is_logged():
    # User 0 rated item 1 with 2 then 5: the positive occurrence must survive;
    # user 1 repeats one item 3 times: after dedupe it has 1 interaction.
    data = build_hetero_data(
        user=[0, 0, 0, 1, 1, 1, 2, 2], item=[1, 1, 2, 0, 0, 0, 0, 2],
        num_users=3, num_items=3, time=[1, 2, 3, 4, 5, 6, 7, 8],
        rating=[2, 5, 5, 5, 5, 5, 5, 5])
    out = prepare(data, min_rating=4, min_user_interactions=2)
    assert [r.step.split()[0] for r in out.filter_log] == ["rating", "dedupe", "users", "compact"]
    assert out["user"].num_nodes == 2  # user 1 dropped, users renumbered
    assert out["user"].raw_id.tolist() == [0, 2]
    store = out[INTERACTS]
    assert store.edge_index.tolist() == [[0, 0, 1, 1], [1, 2, 0, 2]]
    assert store.time.tolist() == [2, 3, 7, 8]


def test_prepare_to_empty_graph():
    out = prepare(toy(), min_rating=6)
    assert out[INTERACTS].edge_index.shape == (2, 0)
    assert out["user"].num_nodes == 0 and out["item"].num_nodes == 0
    assert out[LINKS].edge_index.shape == (2, 0)


def test_refuses_split_data():
    data = toy()
    data[INTERACTS].edge_label_index = torch.zeros(2, 1, dtype=torch.long)
    with pytest.raises(ValueError, match="edge_label_index"):
        dedupe(data)


def test_movielens_100k_ratings_at_least_4(shared_data):
    path = shared_data / "ml-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    raw = np.loadtxt(path, dtype=np.int64, delimiter="\t")
    assert raw.shape == (100_000, 4)
    users, user_index = np.unique(raw[:, 0], return_inverse=True)
    items, item_index = np.unique(raw[:, 1], return_inverse=True)
    data = build_hetero_data(user_index, item_index, num_users=len(users), num_items=len(items),
                             rating=raw[:, 2], time=raw[:, 3],
                             user_raw_id=users, item_raw_id=items)
    out = prepare(data, min_rating=4)
    store = out[INTERACTS]
    assert store.edge_index.size(1) == 55_375
    assert out["user"].num_nodes == 942
    assert out["item"].num_nodes == 1_447
    # raw ids still name the original pairs
    positive = raw[raw[:, 2] >= 4]
    expected = set(zip(positive[:, 0].tolist(), positive[:, 1].tolist()))
    u, i = store.edge_index
    got = set(zip(out["user"].raw_id[u].tolist(), out["item"].raw_id[i].tolist()))
    assert got == expected
    assert out.filter_log[0].removed == 44_625
