"""Sparse gradients (nn.Embedding(sparse=True)): only the touched rows and
their optimiser state change; momentum and moments are lazy per row."""
import pytest
import torch
from torch import nn

from hypgraph.optim import ManifoldParameter

from .conftest import MANIFOLDS, make_optimizer, points

KINDS = ["lorentz", "poincare", "klein", "euclidean", "plain"]
OPTS = ["sgd", "sgd-momentum", "adam", "amsgrad"]


def embedding(kind, n=20, dim=3, dtype=torch.float64):
    emb = nn.Embedding(n, dim + (kind == "lorentz"), sparse=True, dtype=dtype)
    if kind == "plain":
        emb.weight.data.normal_(generator=torch.Generator().manual_seed(0))
    else:
        manifold = MANIFOLDS[kind]()
        emb.weight = ManifoldParameter(points(manifold, n=n, dim=dim, dtype=dtype), manifold)
    return emb


def state_tensors(opt, param):
    return {k: v.clone() for k, v in opt.state[param].items() if torch.is_tensor(v)}


@pytest.mark.parametrize("opt_name", OPTS)
@pytest.mark.parametrize("kind", KINDS)
def test_only_touched_rows_change(kind, opt_name, dtype):
    emb = embedding(kind, dtype=dtype)
    opt = make_optimizer(opt_name, emb.parameters())
    g = torch.Generator().manual_seed(1)
    # the second batch revisits row 7 and leaves rows 3 and 11, which now carry
    # momentum, alone: lazy momentum must not move them
    for batch in (torch.tensor([3, 7, 3, 11]), torch.tensor([7, 15])):
        before = emb.weight.detach().clone()
        state_before = state_tensors(opt, emb.weight)
        opt.zero_grad()
        w = torch.randn(len(batch), emb.weight.size(1), generator=g, dtype=dtype)
        (emb(batch) * w).sum().backward()
        assert emb.weight.grad.is_sparse
        opt.step()
        after = emb.weight.detach()
        touched = torch.zeros(len(after), dtype=torch.bool)
        touched[batch] = True
        assert torch.equal(after[~touched], before[~touched])  # bit-identical
        assert (after[touched] != before[touched]).any(dim=-1).all()
        for key, old in state_before.items():
            new = opt.state[emb.weight][key]
            assert torch.equal(new[~touched], old[~touched]), key
        if kind != "plain":
            manifold = emb.weight.manifold
            assert manifold.check_point(after), manifold.check_point(after, explain=True)
    assert opt.state[emb.weight]["step"].tolist() == [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
                                                       1, 0, 0, 0, 1, 0, 0, 0, 0]


@pytest.mark.parametrize("opt_name", OPTS)
@pytest.mark.parametrize("kind", KINDS)
def test_sparse_step_equals_dense_step_on_touched_rows(kind, opt_name):
    # a first step: no momentum history, so the lazy rule and the dense rule agree
    dense, sparse = embedding(kind), embedding(kind)
    dense.sparse = False
    batch = torch.tensor([2, 5, 5, 9])
    w = torch.randn(4, dense.weight.size(1), generator=torch.Generator().manual_seed(2),
                    dtype=torch.float64)
    for emb in (dense, sparse):
        opt = make_optimizer(opt_name, emb.parameters())
        (emb(batch) * w).sum().backward()
        opt.step()
    assert sparse.weight.grad.is_sparse and not dense.weight.grad.is_sparse
    rows = batch.unique()
    torch.testing.assert_close(sparse.weight[rows], dense.weight[rows], atol=1e-12, rtol=1e-12)


def test_adam_bias_corrects_each_row_with_its_own_count():
    # row 0 is updated ten times, then row 1 for the first time: its first
    # update has Adam's first-step size, lr * |g| / (|g| + eps) per coordinate
    emb = embedding("plain")
    opt = make_optimizer("adam", emb.parameters(), lr=0.01)
    for _ in range(10):
        opt.zero_grad()
        emb(torch.tensor([0])).sum().backward()
        opt.step()
    before = emb.weight.detach().clone()
    opt.zero_grad()
    (emb(torch.tensor([1])) * 3.0).sum().backward()
    opt.step()
    moved = (emb.weight.detach()[1] - before[1]).abs()
    torch.testing.assert_close(moved, torch.full_like(moved, 0.01), rtol=1e-6, atol=0)
    assert opt.state[emb.weight]["step"][:2].tolist() == [10, 1]


def test_dense_steps_then_sparse_steps_keep_counting():
    emb = embedding("lorentz")
    opt = make_optimizer("adam", emb.parameters())
    emb.sparse = False
    emb(torch.tensor([1, 2])).sum().backward()
    opt.step()
    assert opt.state[emb.weight]["step"].dim() == 0
    emb.sparse = True
    opt.zero_grad()
    emb(torch.tensor([2])).sum().backward()
    opt.step()
    step = opt.state[emb.weight]["step"]
    assert step.dtype == torch.long and step[:3].tolist() == [1, 1, 2]
    emb.sparse = False
    opt.zero_grad()
    emb(torch.tensor([0])).sum().backward()
    opt.step()  # a dense step counts for every row
    assert opt.state[emb.weight]["step"][:3].tolist() == [2, 2, 3]


def test_sparse_gradient_with_no_rows_is_a_noop():
    emb = embedding("poincare")
    before = emb.weight.detach().clone()
    emb.weight.grad = torch.sparse_coo_tensor(torch.zeros(1, 0, dtype=torch.long),
                                              torch.zeros(0, 3, dtype=torch.float64),
                                              emb.weight.shape, check_invariants=True)
    for name in ("sgd-momentum", "adam"):
        make_optimizer(name, emb.parameters()).step()
    assert torch.equal(emb.weight.detach(), before)
