"""Interactions: one index per part of a split, built once and shared by
training, validation and evaluation."""
import gc
import weakref

import pytest
import torch

from hypgraph.data import make_synthetic, random_split, sample_negatives
from hypgraph.data.history import InteractionCSR, Interactions
from hypgraph.data.negative import PositiveSet
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam
from hypgraph.train import Trainer, evaluate_full, evaluate_sampled

INTERACTS = ("user", "interacts", "item")


def fresh_split(seed=0):
    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=6, seed=seed)
    return random_split(data, seed=0)


def test_one_object_per_part_while_it_holds_the_same_tensors():
    train, val, test = fresh_split()
    a = Interactions.of(train)
    assert Interactions.of(train) is a
    assert Interactions.of(val, labels=True) is Interactions.of(val) is not a
    assert a.csr is a.csr and a.positives is a.positives  # built once
    # an edge_index changed in place, or replaced, is indexed again
    train[INTERACTS].edge_index.add_(0)
    b = Interactions.of(train)
    assert b is not a
    train[INTERACTS].edge_index = train[INTERACTS].edge_index.clone()
    assert Interactions.of(train) is not b
    assert Interactions.of(test).labels is test[INTERACTS].edge_label_index


def test_the_cache_does_not_keep_a_part_alive():
    train, _, _ = fresh_split()
    index = weakref.ref(Interactions.of(train))
    del train
    gc.collect()
    assert index() is None


def test_structures_equal_those_built_directly():
    _, _, test = fresh_split()
    store = test[INTERACTS]
    nu, ni = test["user"].num_nodes, test["item"].num_nodes
    inter = Interactions.of(test, labels=True, what="test_data")
    direct = InteractionCSR(store.edge_index, nu)
    assert torch.equal(inter.csr.ptr, direct.ptr) and torch.equal(inter.csr.items, direct.items)
    assert torch.equal(inter.positives.positives.keys, PositiveSet(store.edge_index, ni, nu).positives.keys)
    both = torch.cat([store.edge_index, store.edge_label_index], 1)
    assert torch.equal(inter.known.positives.keys, PositiveSet(both, ni, nu).positives.keys)
    assert torch.equal(inter.item_counts, torch.bincount(store.edge_index[1], minlength=ni))
    assert torch.equal(inter.user_counts, torch.bincount(store.edge_index[0], minlength=nu))
    assert inter.num_pairs == store.edge_index.size(1)
    # negatives drawn against `known` avoid the held-out pairs too
    neg = sample_negatives(store.edge_label_index, ni, 20, generator=torch.Generator().manual_seed(0),
                           exclude=inter.known)
    seen = set(map(tuple, both.t().tolist()))
    users = store.edge_label_index[0].tolist()
    assert not any((u, i) in seen for u, row in zip(users, neg.tolist()) for i in row)
    assert repr(inter) == (f"Interactions(users={nu}, items={ni}, pairs={inter.num_pairs}, "
                           f"labels={store.edge_label_index.size(1)})")


def test_errors_name_the_part():
    train, _, _ = fresh_split()
    unlabelled = train.clone()
    del unlabelled[INTERACTS].edge_label_index
    with pytest.raises(ValueError, match=r"val_data has no held-out pairs"):
        Interactions.of(unlabelled, labels=True, what="val_data")
    with pytest.raises(ValueError, match=r"edge_index must have shape \[2, E\]"):
        Interactions(torch.zeros(3, 2, dtype=torch.long), 2, 2)
    with pytest.raises(ValueError, match="csr has 5 users, not 4"):
        Interactions(torch.zeros(2, 0, dtype=torch.long), 4, 2, csr=InteractionCSR(torch.zeros(2, 0, dtype=torch.long), 5))


def test_fit_and_evaluation_index_each_part_once(monkeypatch):
    train, val, test = fresh_split(seed=4)
    built = {"csr": 0, "positives": 0}
    csr_init, positives_init = InteractionCSR.__init__, PositiveSet.__init__

    def count_csr(self, *args, **kwargs):
        built["csr"] += 1
        csr_init(self, *args, **kwargs)

    def count_positives(self, *args, **kwargs):
        built["positives"] += 1
        positives_init(self, *args, **kwargs)

    monkeypatch.setattr(InteractionCSR, "__init__", count_csr)
    monkeypatch.setattr(PositiveSet, "__init__", count_positives)
    torch.manual_seed(0)
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=4, patience=10,
                      batch_size=64, progress=False)
    result = trainer.fit(train, val)
    assert len(result.records) == 4
    # the training pairs: one CSR (histories and the items validation leaves
    # out) and one positive set, for four epochs and four validations
    assert built == {"csr": 1, "positives": 1}
    trainer.fit(train, val)
    assert built == {"csr": 1, "positives": 1}  # a second fit of the same parts too
    # the test part: one CSR for the full ranking and the sampled protocol
    evaluate_full(model, test, ks=(5,))
    evaluate_full(model, test, ks=(10,))
    evaluate_sampled(model, test, generator=torch.Generator().manual_seed(0), num_negatives=5)
    assert built["csr"] == 2


def test_validation_with_the_shared_index_equals_the_edge_index_form():
    train, val, _ = fresh_split(seed=2)
    torch.manual_seed(0)
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), progress=False)
    edges, labels = train[INTERACTS].edge_index, val[INTERACTS].edge_label_index
    nu, ni = train["user"].num_nodes, train["item"].num_nodes
    assert trainer.validate(Interactions.of(train), labels) == trainer.evaluate_split(edges, labels, nu, ni)
    exclude = labels[:, :5]
    assert (trainer.validate(Interactions.of(train), labels, exclude)
            == trainer.evaluate_split(edges, labels, nu, ni, exclude_edge_index=exclude))
