"""state_dict() / load_state_dict(): a restored optimiser takes the same steps."""
import io

import pytest
import torch
from torch import nn

from hypgraph.manifolds import Lorentz, PoincareBall
from hypgraph.optim import ManifoldParameter

from .conftest import make_optimizer, points


class Model(nn.Module):
    """A dense hyperboloid table, a sparse Poincaré embedding and a plain layer."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        lorentz, ball = Lorentz(k=0.5), PoincareBall()
        self.points = ManifoldParameter(points(lorentz, n=6, seed=seed, dtype=torch.float32),
                                        lorentz)
        self.items = nn.Embedding(12, 3, sparse=True)
        self.items.weight = ManifoldParameter(
            points(ball, n=12, seed=seed + 1, dtype=torch.float32), ball)
        torch.manual_seed(seed)
        self.linear = nn.Linear(3, 1)

    def loss(self, step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(100 + step)
        idx = torch.randint(0, 12, (5,), generator=g)
        items = self.items(idx)
        return (self.points.manifold.dist0(self.points).pow(2).sum()
                + self.items.weight.manifold.dist0(items).sum()
                + self.linear(items).pow(2).sum())


def run(model, opt, steps):
    for step in steps:
        opt.zero_grad()
        model.loss(step).backward()
        opt.step()


@pytest.mark.parametrize("opt_name, extra", [
    ("sgd-momentum", dict(stabilize=2, weight_decay=0.01, max_grad_norm=1.0)),
    ("sgd-nesterov", dict()),
    ("amsgrad", dict(weight_decay=0.01, max_grad_norm=1.0)),
])
def test_round_trip_gives_identical_steps(opt_name, extra):
    model = Model(seed=0)
    opt = make_optimizer(opt_name, model.parameters(), **extra)
    run(model, opt, range(5))

    model_state = {k: v.clone() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)  # must load with weights_only=True
    run(model, opt, range(5, 10))

    restored = Model(seed=1)  # different initial values, overwritten below
    restored.load_state_dict(model_state)
    assert isinstance(restored.items.weight, ManifoldParameter)
    new_opt = make_optimizer(opt_name, restored.parameters(), **extra)
    buffer.seek(0)
    new_opt.load_state_dict(torch.load(buffer, weights_only=True))
    step = new_opt.state[restored.items.weight]["step"]
    assert step.dtype == torch.long and step.dim() == 1  # per-row counts survive as integers
    run(restored, new_opt, range(5, 10))

    for (name, a), b in zip(model.named_parameters(), restored.parameters()):
        assert torch.equal(a, b), name
    assert new_opt.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


def test_loading_casts_moments_to_the_parameter_dtype():
    model = Model(seed=0)
    opt = make_optimizer("adam", model.parameters())
    run(model, opt, range(2))
    model64 = Model(seed=0).double()
    opt64 = make_optimizer("adam", model64.parameters())
    opt64.load_state_dict(opt.state_dict())
    state = opt64.state[model64.points]
    assert state["exp_avg"].dtype == torch.float64 and state["exp_avg_sq"].shape == (6, 1)
    run(model64, opt64, range(2, 4))
    assert model64.points.manifold.check_point(model64.points.detach())
