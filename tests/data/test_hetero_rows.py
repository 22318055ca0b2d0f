"""build_hetero_data keeps the rows of one [2, E] array as edge_index without
a copy (the readers fill such an array row by row, so that the sources and a
stacked copy of them are never held together), and stacks anything else."""
import numpy as np
import pytest
import torch

from hypgraph.data import build_hetero_data

UI = ("user", "interacts", "item")
KG = ("entity", "relates", "entity")
LINKS = ("item", "links", "entity")


def _build(user, item, **kwargs):
    return build_hetero_data(user, item, num_users=4, num_items=4, **kwargs)


def test_rows_of_one_numpy_array_are_kept_as_they_are():
    edge = np.empty((2, 5), dtype=np.int64)
    edge[0] = [0, 1, 2, 2, 0]
    edge[1] = [3, 2, 1, 0, 0]
    data = _build(edge[0], edge[1])
    edge_index = data[UI].edge_index
    assert edge_index.tolist() == edge.tolist()
    assert edge_index.data_ptr() == edge.__array_interface__["data"][0]  # no copy
    assert data["item", "rev_interacts", "user"].edge_index.tolist() == edge[::-1].tolist()


def test_rows_of_one_tensor_are_kept_as_they_are():
    edge = torch.tensor([[0, 1, 2], [3, 2, 1]])
    data = _build(edge[0], edge[1])
    assert data[UI].edge_index.data_ptr() == edge.data_ptr()
    assert torch.equal(data[UI].edge_index, edge)


@pytest.mark.parametrize("make", [
    lambda e: (e[0].copy(), e[1].copy()),              # separate arrays
    lambda e: (e[1], e[0]),                            # rows in the other order
    lambda e: (e[0, :2], e[1, :2]),                    # not adjacent
    lambda e: (e[0].astype(np.int32), e[1].astype(np.int32)),
    lambda e: (e.T.copy().T[0], e.T.copy().T[1]),      # rows of a Fortran-ordered array
    lambda e: (torch.as_tensor(e)[1], torch.as_tensor(e)[0]),
    lambda e: (list(e[0]), list(e[1])),
])
def test_anything_else_is_stacked(make):
    edge = np.array([[0, 1, 2], [3, 2, 1]], dtype=np.int64)
    user, item = make(edge)
    data = _build(user, item)
    expected = torch.stack([torch.as_tensor(np.asarray(user), dtype=torch.long),
                            torch.as_tensor(np.asarray(item), dtype=torch.long)])
    assert torch.equal(data[UI].edge_index, expected)


def test_checks_still_apply_to_rows_of_one_array():
    edge = np.array([[0, 1, 4], [3, 2, 1]], dtype=np.int64)  # user 4 of 4
    with pytest.raises(ValueError, match="user index 4 out of range"):
        _build(edge[0], edge[1])
    edge = np.array([[0, 1, 2], [3, 2, 4]], dtype=np.int64)
    with pytest.raises(ValueError, match="item index 4 out of range"):
        _build(edge[0], edge[1])
    with pytest.raises(ValueError, match="1-D of equal length"):
        _build(np.arange(3), np.arange(2))


def test_kg_and_links_rows_of_one_array():
    ends = np.array([[0, 1, 5], [2, 3, 4]], dtype=np.int64)
    links = np.array([[0, 1, 2, 3], [0, 1, 2, 3]], dtype=np.int64)
    data = _build(np.array([0]), np.array([1]), kg_head=ends[0], kg_tail=ends[1],
                  kg_relation=np.array([0, 1, 0]), num_entities=6, link_item=links[0], link_entity=links[1])
    assert data[KG].edge_index.data_ptr() == ends.__array_interface__["data"][0]
    assert data[KG].edge_index.tolist() == ends.tolist()
    assert data[LINKS].edge_index.tolist() == links.tolist()
    assert data[KG].num_relations == 2
    bad = np.array([[0, 1, 6], [2, 3, 4]], dtype=np.int64)
    with pytest.raises(ValueError, match="KG head entity index 6 out of range"):
        _build(np.array([0]), np.array([1]), kg_head=bad[0], kg_tail=bad[1], kg_relation=np.zeros(3, dtype=np.int64),
               num_entities=6)
