"""explicit_split: train/validation/test interactions read from separate files."""
import pytest
import torch

from hypgraph.data import build_hetero_data, prepare
from hypgraph.data.hetero import INTERACTS
from hypgraph.data.split import explicit_split


def part(pairs, time=True, **kwargs):
    users = sorted({u for u, _ in pairs}, key=str)
    items = sorted({i for _, i in pairs}, key=str)
    u = [users.index(x) for x, _ in pairs]
    i = [items.index(y) for _, y in pairs]
    extra = {"time": list(range(len(pairs)))} if time else {}
    return build_hetero_data(u, i, num_users=len(users), num_items=len(items), user_raw_id=users,
                             item_raw_id=items, **extra, **kwargs)


def raw_pairs(data, edge_index):
    users, items = (ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
                    for ids in (data["user"].raw_id, data["item"].raw_id))
    return [(str(users[u]), str(items[i])) for u, i in edge_index.t().tolist()]


def test_ids_match_across_files_and_what_is_left_out_is_counted():
    train = part([("a", "x"), ("a", "y"), ("b", "y"), ("c", "z")])
    # each file numbers its own ids: "y" is item 0 here, item 1 in train
    val = part([("b", "y"), ("a", "z"), ("new", "x"), ("a", "z")])
    test = part([("b", "x"), ("a", "z"), ("c", "gone"), ("c", "x")])
    tr, va, te = explicit_split(train, test, val)
    assert raw_pairs(tr, tr[INTERACTS].edge_label_index) == [("a", "x"), ("a", "y"), ("b", "y"), ("c", "z")]
    assert raw_pairs(va, va[INTERACTS].edge_label_index) == [("a", "z")]
    assert raw_pairs(te, te[INTERACTS].edge_label_index) == [("b", "x"), ("c", "x")]
    assert te[INTERACTS].edge_index.size(1) == 5  # train + validation
    assert tr["user"].num_nodes == 3 and tr["item"].num_nodes == 3
    log = [str(r) for r in te.filter_log]
    val_log = next(r for r in log if "validation pairs kept" in r)
    assert "removed 3 of 4" in val_log and "1 with a user or item not in train (1 unknown users, 0 unknown items)" \
        in val_log and "1 repeated" in val_log and "1 already in train" in val_log
    test_log = next(r for r in log if "test pairs kept" in r)
    assert "removed 2 of 4" in test_log and "(0 unknown users, 1 unknown items)" in test_log \
        and "1 already in train or validation" in test_log
    assert te[INTERACTS].edge_label_time.tolist() == [0, 3]


def test_integer_ids_and_a_validation_share():
    train = prepare(part([(1, 10), (1, 11), (1, 12), (2, 10), (2, 12), (3, 11)]))
    test = part([(1, 13), (2, 11), (30, 10)])
    tr, va, te = explicit_split(train, test, val_ratio=0.5, seed=0)
    assert raw_pairs(te, te[INTERACTS].edge_label_index) == [("2", "11")]
    held = va[INTERACTS].edge_label_index
    # half of each user's training pairs rounded half up, one always left: 2 of 3, 1 of 2, 0 of 1
    assert sorted(held[0].tolist()) == [0, 0, 1]
    assert tr[INTERACTS].edge_label_index.size(1) == 3


def test_attributes_kept_only_when_every_part_has_them():
    train = part([("a", "x"), ("b", "y")], rating=[5.0, 4.0])
    test = part([("a", "y")], time=False)
    tr, _, te = explicit_split(train, test)
    assert "time" not in tr[INTERACTS] and "rating" not in te[INTERACTS]


def test_errors():
    train, test = part([("a", "x"), ("a", "x")]), part([("a", "y")])
    with pytest.raises(ValueError, match="repeated"):
        explicit_split(train, test)
    with pytest.raises(ValueError, match="not both"):
        explicit_split(part([("a", "x")]), test, test, val_ratio=0.1)
    with pytest.raises(ValueError, match="val_ratio"):
        explicit_split(part([("a", "x")]), test, val_ratio=1.5)
