"""KGNeighbourhoods: per-item KG triples in CSR form, full and sampled batches."""
import pytest
import torch

from hypgraph.data import KGNeighbourhoods, build_hetero_data, make_synthetic

# 6 items, 8 entities, 2 relations.
# item 0 -> e0, item 1 -> e1 and e5, item 2 -> e2 (only ever a tail),
# item 3 is not linked, item 4 -> e6 (no triples), item 5 -> e0 (shares item 0's entity)
LINKS = [[0, 1, 2, 4, 1, 5],
         [0, 1, 2, 6, 5, 0]]
TRIPLES = [  # (head, relation, tail)
    (0, 0, 3), (0, 1, 4), (1, 0, 3), (3, 1, 1), (4, 0, 2), (5, 1, 7), (7, 0, 0),
]
NUM_ITEMS, NUM_ENTITIES, NUM_RELATIONS = 6, 8, 2


def make(inverse=True, links=LINKS, triples=TRIPLES, **kw):
    head, rel, tail = zip(*triples)
    args = dict(num_items=NUM_ITEMS, num_entities=NUM_ENTITIES, num_relations=NUM_RELATIONS, inverse=inverse)
    args.update(kw)
    return KGNeighbourhoods(torch.tensor(links), torch.tensor([head, tail]), torch.tensor(rel), **args)


def reference(links, triples, num_items, num_relations, inverse):
    """Per-item sorted (entity, relation) lists, by loops."""
    all_triples = list(triples)
    if inverse:
        all_triples += [(t, r + num_relations, h) for h, r, t in triples]
    out = {i: [] for i in range(num_items)}
    for item, entity in zip(*links):
        out[item] += [(t, r) for h, r, t in all_triples if h == entity]
    return {i: sorted(v) for i, v in out.items()}


def rows(nb, items):
    edge_index, edge_type = nb.neighbours(torch.tensor(items))
    out = {p: [] for p in range(len(items))}
    for e, p, r in zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_type.tolist()):
        out[p].append((e, r))
    return {p: sorted(v) for p, v in out.items()}


@pytest.mark.parametrize("inverse", [True, False])
def test_csr_matches_a_loop_reference(inverse):
    nb = make(inverse)
    ref = reference(LINKS, TRIPLES, NUM_ITEMS, NUM_RELATIONS, inverse)
    assert nb.ptr.tolist()[0] == 0 and nb.ptr.tolist()[-1] == nb.num_triples
    for item in range(NUM_ITEMS):
        got = sorted(zip(nb.entity[nb.ptr[item]:nb.ptr[item + 1]].tolist(),
                         nb.relation[nb.ptr[item]:nb.ptr[item + 1]].tolist()))
        assert got == ref[item], item
    assert nb.num_relations == NUM_RELATIONS * (2 if inverse else 1)


def test_random_kg_matches_the_reference():
    g = torch.Generator().manual_seed(0)
    n_items, n_entities, n_rel = 40, 60, 3
    links = torch.stack([torch.randint(n_items, (50,), generator=g),
                         torch.randint(n_entities, (50,), generator=g)])
    triples = [tuple(t) for t in torch.stack([torch.randint(n_entities, (200,), generator=g),
                                              torch.randint(n_rel, (200,), generator=g),
                                              torch.randint(n_entities, (200,), generator=g)], 1).tolist()]
    head, rel, tail = zip(*triples)
    nb = KGNeighbourhoods(links, torch.tensor([head, tail]), torch.tensor(rel), num_items=n_items,
                          num_entities=n_entities, num_relations=n_rel)
    ref = reference(links.tolist(), triples, n_items, n_rel, True)
    batch = torch.randint(n_items, (25,), generator=g).tolist()
    assert rows(nb, batch) == {p: ref[i] for p, i in enumerate(batch)}


def test_inverse_relations_give_tail_items_neighbours():
    # item 2's entity e2 only appears as a tail: (e4, r0, e2)
    assert make(inverse=False).degree(torch.tensor([2])).item() == 0
    nb = make(inverse=True)
    assert rows(nb, [2])[0] == [(4, 0 + NUM_RELATIONS)]
    # item 0's entity e0 is a head twice and a tail once, (e7, r0, e0)
    assert rows(nb, [0])[0] == [(3, 0), (4, 1), (7, 0 + NUM_RELATIONS)]


def test_items_without_triples_are_counted():
    nb = make(inverse=True)
    # item 3 is not linked; item 4's entity e6 has no triple
    assert nb.num_isolated == 2
    assert nb.has_neighbours.tolist() == [True, True, True, False, False, True]
    assert make(inverse=False).num_isolated == 3  # item 2 as well
    assert "num_isolated=2" in repr(nb)


def test_batches_repeat_items_and_address_positions():
    nb = make()
    batch = [5, 3, 0, 0, 1]
    got = rows(nb, batch)
    ref = reference(LINKS, TRIPLES, NUM_ITEMS, NUM_RELATIONS, True)
    assert got == {p: ref[i] for p, i in enumerate(batch)}
    edge_index, _ = nb.neighbours(torch.tensor(batch))
    assert torch.equal(edge_index[1], edge_index[1].sort().values)  # grouped by position
    empty_index, empty_type = nb.neighbours(torch.tensor([3, 4]))
    assert empty_index.shape == (2, 0) and empty_type.shape == (0,)


def test_sampled_neighbourhoods_have_fixed_size_and_come_from_the_item():
    nb = make()
    batch = torch.tensor([0, 1, 3, 2, 4, 1])
    edge_index, edge_type = nb.neighbours(batch, num_samples=7, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(edge_index[1], minlength=batch.numel())
    assert counts.tolist() == [7, 7, 0, 7, 0, 7]
    ref = reference(LINKS, TRIPLES, NUM_ITEMS, NUM_RELATIONS, True)
    for e, p, r in zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_type.tolist()):
        assert (e, r) in ref[int(batch[p])]
    # with replacement: 200 draws from item 1's 3 triples hit every one of them
    many, many_type = nb.neighbours(torch.tensor([1]), num_samples=200,
                                    generator=torch.Generator().manual_seed(1))
    assert sorted(set(zip(many[0].tolist(), many_type.tolist()))) == ref[1]
    # seeded: the same generator state gives the same sample, another seed another one
    again, _ = nb.neighbours(batch, num_samples=7, generator=torch.Generator().manual_seed(0))
    other, _ = nb.neighbours(batch, num_samples=7, generator=torch.Generator().manual_seed(5))
    assert torch.equal(again, edge_index) and not torch.equal(other, edge_index)


def test_from_hetero_reads_the_synthetic_kg():
    data = make_synthetic(num_users=30, num_items=40, avg_user_degree=5, num_categories=8, kg_depth=2, seed=0)
    nb = KGNeighbourhoods.from_hetero(data)
    # every item is the head of exactly one (item, in_category, leaf) triple
    assert nb.num_isolated == 0 and nb.degree(torch.arange(40)).eq(1).all()
    assert nb.relation.eq(0).all() and nb.num_relations == 4
    assert nb.num_entities == data["entity"].num_nodes


def test_from_hetero_without_a_kg_raises():
    data = build_hetero_data([0], [0], num_users=1, num_items=1)
    with pytest.raises(ValueError, match="links"):
        KGNeighbourhoods.from_hetero(data)


@pytest.mark.parametrize("change, message", [
    (dict(links=[[0, 1], [0, 9]]), r"linked entity id 9 out of range: expected ids in \[0, 8\)"),
    (dict(links=[[0, 6], [0, 1]]), r"linked item id 6 out of range: expected ids in \[0, 6\)"),
    (dict(triples=TRIPLES + [(8, 0, 1)]), r"KG entity id 8 out of range: expected ids in \[0, 8\)"),
    (dict(triples=TRIPLES + [(1, 2, 3)]),
     r"edge_type \(relation id\) 2 out of range: expected ids in \[0, 2\)"),
    (dict(triples=TRIPLES + [(1, -1, 3)]), r"edge_type \(relation id\) -1 out of range"),
    (dict(links=[0, 1, 2]), r"link_index must have shape \[2, E\], got \[3\]"),
])
def test_bad_input_raises_one_line(change, message):
    with pytest.raises(ValueError, match=message) as info:
        make(**change)
    assert "\n" not in str(info.value)


def test_bad_queries_raise():
    nb = make()
    with pytest.raises(ValueError, match=r"item id 6 out of range"):
        nb.neighbours(torch.tensor([0, 6]))
    with pytest.raises(ValueError, match="num_samples"):
        nb.neighbours(torch.tensor([0]), num_samples=0)
