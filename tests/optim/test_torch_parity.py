"""Plain tensors (and Euclidean manifold parameters) follow torch.optim.SGD /
torch.optim.Adam bit for bit."""
import copy

import pytest
import torch
from torch import nn

from hypgraph.manifolds import Euclidean
from hypgraph.optim import ManifoldParameter, RiemannianAdam, RiemannianSGD


def small_model(euclidean_parameters: bool) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    if euclidean_parameters:
        for module in (model[0], model[2]):
            module.weight = ManifoldParameter(module.weight.detach(), Euclidean())
            module.bias = ManifoldParameter(module.bias.detach(), Euclidean())
    return model


def train(model, opt, steps=25):
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 5, generator=g)
        y = torch.randn(16, 1, generator=g)
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach() for p in model.parameters()]


SGD_CASES = [
    dict(),
    dict(momentum=0.9),
    dict(momentum=0.9, nesterov=True, weight_decay=1e-2),
    dict(momentum=0.5, dampening=0.3, weight_decay=0.1),
]
ADAM_CASES = [
    dict(),
    dict(amsgrad=True),
    dict(betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
    dict(amsgrad=True, weight_decay=0.1),
]


@pytest.mark.parametrize("wrap", [False, True], ids=["plain", "euclidean"])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_equals_torch_sgd(kwargs, wrap):
    ours, ref = small_model(wrap), small_model(False)
    got = train(ours, RiemannianSGD(ours.parameters(), lr=0.05, **kwargs))
    want = train(ref, torch.optim.SGD(ref.parameters(), lr=0.05, foreach=False, **kwargs))
    assert not torch.equal(want[0], small_model(False)[0].weight)  # it trained
    for a, b in zip(got, want):
        assert torch.equal(a, b)


@pytest.mark.parametrize("wrap", [False, True], ids=["plain", "euclidean"])
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=str)
def test_equals_torch_adam(kwargs, wrap):
    ours, ref = small_model(wrap), small_model(False)
    got = train(ours, RiemannianAdam(ours.parameters(), lr=1e-2, **kwargs))
    want = train(ref, torch.optim.Adam(ref.parameters(), lr=1e-2, foreach=False, **kwargs))
    assert not torch.equal(want[0], small_model(False)[0].weight)
    for a, b in zip(got, want):
        assert torch.equal(a, b)


def test_equals_torch_in_float64():
    ours, ref = small_model(False).double(), small_model(False).double()
    g = torch.Generator().manual_seed(3)
    opt = RiemannianAdam(ours.parameters(), lr=1e-2)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-2, foreach=False)
    for _ in range(10):
        x = torch.randn(4, 5, generator=g, dtype=torch.float64)
        for model, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad()
            model(x).pow(2).sum().backward()
            o.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert a.dtype == torch.float64 and torch.equal(a, b)


def test_sparse_adam_first_step_matches_torch_sparse_adam():
    # on a row's first update the per-row and the global step count agree
    torch.manual_seed(0)
    ours = nn.Embedding(10, 4, sparse=True)
    ref = copy.deepcopy(ours)
    idx = torch.tensor([1, 4, 4, 7])
    w = torch.randn(4, 4)
    for emb, opt in ((ours, RiemannianAdam(ours.parameters(), lr=0.1)),
                     (ref, torch.optim.SparseAdam(ref.parameters(), lr=0.1))):
        (emb(idx) * w).sum().backward()
        opt.step()
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ours_cls, ref_cls, kwargs", [
    (RiemannianSGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (RiemannianAdam, torch.optim.Adam, dict(lr=1e-2, amsgrad=True)),
], ids=["sgd", "adam"])
def test_resumes_from_a_torch_optimizer_state(ours_cls, ref_cls, kwargs):
    # same state keys as torch.optim for plain tensors: a checkpoint migrates
    ref = small_model(False)
    ref_opt = ref_cls(ref.parameters(), foreach=False, **kwargs)
    train(ref, ref_opt, steps=5)
    ours = copy.deepcopy(ref)
    opt = ours_cls(ours.parameters(), **kwargs)
    opt.load_state_dict(copy.deepcopy(ref_opt.state_dict()))  # not shared with ref_opt
    for a, b in zip(train(ours, opt, steps=5), train(ref, ref_opt, steps=5)):
        assert torch.equal(a, b)


def test_complex_parameters_are_rejected():
    param = nn.Parameter(torch.zeros(3, dtype=torch.complex64))
    param.grad = torch.ones_like(param)
    with pytest.raises(ValueError, match="complex parameters are not supported"):
        RiemannianAdam([param]).step()
