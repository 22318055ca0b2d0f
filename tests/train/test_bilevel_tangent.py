"""BilevelTrainer on HyperKnow with tangent tables: the proxy of Eq. 12 is a
plain Euclidean SGD step on the tangent vectors, the Theta step is the
Trainer's (torch.optim.Adam), and a fit runs."""
import copy

import pytest
import torch

from hypgraph.data import make_synthetic, random_split
from hypgraph.nn.models import HyperKnow
from hypgraph.train import BilevelTrainer, Trainer

from .test_bilevel import FullLoss, batch, theta_of

INTERACTS = ("user", "interacts", "item")


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=6, gamma=3.0, temperature=0.3,
                          num_categories=6, kg_depth=2, seed=3)
    return random_split(data, seed=0)


def build(train, seed=0, **kw):
    torch.manual_seed(seed)
    model = HyperKnow.ablation("Hyper-Know", data=train, dim=4, parameterization="tangent", **kw)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def test_hypergradient_matches_finite_differences_of_a_euclidean_proxy(split):
    train, _, _ = split
    model = build(train, l2=1e-2, init_std=0.3).double()
    with torch.no_grad():
        model.beta_logit.copy_(torch.linspace(-1, 1, model.num_items, dtype=torch.float64))
    alpha = 0.5
    trainer = BilevelTrainer(model, torch.optim.SGD(theta_of(model), lr=0.01),
                             torch.optim.SGD([model.beta_logit], lr=0.0), outer="train", proxy_lr=alpha,
                             progress=False)
    users, pos, neg = batch(train, torch.Generator().manual_seed(0))
    theta = {n: p.detach().clone() for n, p in model.named_parameters() if n != "beta_logit"}
    assert all(type(p) is torch.nn.Parameter for p in theta_of(model))  # no manifold parameters
    trainer._step(users, pos, neg, None, torch.Generator().manual_seed(0))
    analytic = model.beta_logit.grad.clone()
    full = FullLoss(copy.deepcopy(model))

    def outer_of(beta):
        # Eq. 12 over whole tables, every one a plain SGD step on what it stores
        leaves = {n: t.clone().requires_grad_(True) for n, t in theta.items()}
        swapped = {f"model.{n}": t for n, t in leaves.items()}
        swapped["model.beta_logit"] = beta
        inner = torch.func.functional_call(full, swapped, (users, pos, neg, True))
        grads = torch.autograd.grad(inner, list(leaves.values()))
        proxy = {f"model.{n}": x.detach() - alpha * g for (n, x), g in zip(leaves.items(), grads)}
        return torch.func.functional_call(full, proxy, (users, pos, neg, False)).item()

    beta0 = model.beta_logit.detach().clone()
    eps = 1e-5
    for v in pos.unique()[:4].tolist():
        up, down = beta0.clone(), beta0.clone()
        up[v] += eps
        down[v] -= eps
        numeric = (outer_of(up) - outer_of(down)) / (2 * eps)
        assert analytic[v].item() == pytest.approx(numeric, rel=1e-4, abs=1e-10), v
    assert analytic[pos.unique()].abs().max() > 1e-6


def test_theta_update_is_the_trainers_torch_adam_step(split):
    train, _, _ = split
    plain, twin = build(train, l2=1e-3), build(train, l2=1e-3)
    with torch.no_grad():
        plain.beta_logit.copy_(torch.linspace(-2, 2, plain.num_items))
        twin.beta_logit.copy_(plain.beta_logit)
    trainer = Trainer(plain, torch.optim.Adam(theta_of(plain), lr=0.05), progress=False)
    bi = BilevelTrainer(twin, torch.optim.Adam(theta_of(twin), lr=0.05),
                        torch.optim.SGD([twin.beta_logit], lr=0.0), outer="train", progress=False)
    for step in range(3):
        users, pos, neg = batch(train, torch.Generator().manual_seed(step))
        a = trainer._step(users, pos, neg, None, torch.Generator().manual_seed(10 + step))
        b = bi._step(users, pos, neg, None, torch.Generator().manual_seed(10 + step))
        assert float(a) == pytest.approx(float(b), rel=1e-6)
    for (name, p), (_, q) in zip(plain.named_parameters(), twin.named_parameters()):
        assert torch.allclose(p, q, atol=1e-6), name


def test_fit_with_torch_adam_moves_beta_and_stays_finite(split):
    train, val, _ = split
    model = build(train)
    trainer = BilevelTrainer(model, torch.optim.Adam(theta_of(model), lr=0.05),
                             torch.optim.Adam([model.beta_logit], lr=0.1), max_epochs=2, patience=2,
                             batch_size=64, progress=False)
    result = trainer.fit(train, val)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result.records)
    assert not torch.equal(model.beta_logit, torch.zeros_like(model.beta_logit))
    assert model.manifold.check_point(model.points("item").detach())
