"""hypgraph.optim.functional: the optimisers' steps as functions. The
optimisers are the functions plus state (bit for bit, float64), the
differentiable steps pass float64 gradcheck, and they leave their inputs alone."""
import pytest
import torch

from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall
from hypgraph.optim import ManifoldParameter, RiemannianAdam, RiemannianSGD
from hypgraph.optim import functional as F

from .conftest import HYPERBOLIC, MANIFOLDS, points

SGD_CASES = {
    "plain": dict(lr=0.2),
    "decay-clip": dict(lr=0.2, weight_decay=0.1, max_grad_norm=0.3),
    "momentum": dict(lr=0.1, momentum=0.6),
    "nesterov": dict(lr=0.1, momentum=0.6, nesterov=True, weight_decay=0.05),
    "dampening-clip": dict(lr=0.1, momentum=0.7, dampening=0.3, max_grad_norm=0.5),
}
ADAM_CASES = {
    "plain": dict(lr=0.05),
    "amsgrad-decay-clip": dict(lr=0.05, amsgrad=True, weight_decay=0.05, max_grad_norm=0.5),
    "betas-eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
}
STEPS = 5


def parameter(name):
    """A table of 12 points on :obj:`name` (a key of MANIFOLDS) or a plain
    tensor (``'plain'``), float64, with a fixed sequence of gradients."""
    g = torch.Generator().manual_seed(3)
    if name == "plain":
        param = torch.nn.Parameter(torch.randn(12, 4, generator=g, dtype=torch.float64))
    else:
        manifold = MANIFOLDS[name]()
        param = ManifoldParameter(points(manifold, n=12), manifold)
    grads = [torch.randn(param.shape, generator=g, dtype=torch.float64) for _ in range(STEPS)]
    return param, grads


@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("name", [*MANIFOLDS, "plain"])
def test_rsgd_step_is_the_optimisers_step_bit_for_bit(name, case):
    param, grads = parameter(name)
    kwargs = SGD_CASES[case]
    x, buf = param.detach().clone(), None
    opt = RiemannianSGD([param], **kwargs)
    for grad in grads:
        param.grad = grad
        opt.step()
        x, buf = F.rsgd_step(x, grad, manifold=F.manifold_of(param), momentum_buffer=buf, **kwargs)
        assert torch.equal(x, param.detach())
    if kwargs.get("momentum"):
        assert torch.equal(buf, opt.state[param]["momentum_buffer"])


@pytest.mark.parametrize("case", list(ADAM_CASES))
@pytest.mark.parametrize("name", [*MANIFOLDS, "plain", "euclidean-points"])
def test_adam_step_is_the_optimisers_step_bit_for_bit(name, case):
    param, grads = parameter("euclidean" if name == "euclidean-points" else name)
    kwargs = dict(ADAM_CASES[case])
    amsgrad = kwargs.pop("amsgrad", False)
    if name == "euclidean-points":  # one second moment per point, as on a manifold
        opt = RiemannianAdam([param], amsgrad=amsgrad, euclidean_factor="point", **kwargs)
        manifold = param.manifold
    else:
        opt = RiemannianAdam([param], amsgrad=amsgrad, **kwargs)
        manifold = F.manifold_of(param)
    x = param.detach().clone()
    exp_avg = torch.zeros_like(x)
    exp_avg_sq = torch.zeros_like(x) if manifold is None else x.new_zeros(x.shape[:-1] + (1,))
    max_sq = torch.zeros_like(exp_avg_sq) if amsgrad else None
    for step, grad in enumerate(grads, 1):
        param.grad = grad
        opt.step()
        x, exp_avg, exp_avg_sq, max_sq = F.adam_step(x, grad, exp_avg, exp_avg_sq, step=step, manifold=manifold,
                                                     max_exp_avg_sq=max_sq, **kwargs)
        assert torch.equal(x, param.detach())
    state = opt.state[param]
    assert torch.equal(exp_avg, state["exp_avg"]) and torch.equal(exp_avg_sq, state["exp_avg_sq"])
    if amsgrad:
        assert torch.equal(max_sq, state["max_exp_avg_sq"])


def test_sparse_rows_take_the_functional_step_with_lazy_momentum():
    # the rows of a sparse gradient: the first update of a row starts its buffer
    manifold = Lorentz()
    param = ManifoldParameter(points(manifold, n=8), manifold)
    x = param.detach().clone()
    opt = RiemannianSGD([param], lr=0.1, momentum=0.5)
    g = torch.Generator().manual_seed(0)
    buffer, seen = torch.zeros_like(x), torch.zeros(8, 1, dtype=torch.bool)
    for rows in ([1, 4], [4, 6], [1, 6, 7]):
        index = torch.tensor(rows)
        values = torch.randn(len(rows), x.size(1), generator=g, dtype=torch.float64)
        param.grad = torch.sparse_coo_tensor(index[None], values, x.shape)
        opt.step()
        new, buf = F.rsgd_step(x[index], values, lr=0.1, manifold=manifold, momentum=0.5,
                               momentum_buffer=buffer[index], fresh=~seen[index])
        x[index], buffer[index], seen[index] = new, buf, True
        assert torch.equal(x, param.detach())
    assert torch.equal(buffer, opt.state[param]["momentum_buffer"])


@pytest.mark.parametrize("name", [*MANIFOLDS, "plain"])
def test_differentiable_step_has_the_same_value_and_leaves_its_inputs_alone(name):
    param, grads = parameter(name)
    manifold = F.manifold_of(param)
    x, grad = param.detach().clone(), grads[0]
    buf = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    if manifold is not None:
        buf = manifold.proju(x, buf)
    for kwargs in (dict(lr=0.2), dict(lr=0.2, momentum=0.5), dict(lr=0.2, momentum=0.5, nesterov=True)):
        momentum = dict(momentum_buffer=buf) if "momentum" in kwargs else {}
        inputs = (x.clone(), buf.clone())
        out, out_buf = F.rsgd_step(x, grad, manifold=manifold, differentiable=True, **kwargs, **momentum)
        assert torch.equal(x, inputs[0]) and torch.equal(buf, inputs[1])
        ref, ref_buf = F.rsgd_step(x.clone(), grad, manifold=manifold, **kwargs,
                                   **({"momentum_buffer": buf.clone()} if momentum else {}))
        torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-13)
        if momentum:
            torch.testing.assert_close(out_buf, ref_buf, rtol=1e-13, atol=1e-13)
        if not momentum:  # the proxy of BilevelTrainer: exactly the optimiser's plain step
            assert torch.equal(out, ref)


@pytest.mark.parametrize("momentum,first", [(0.0, False), (0.5, False), (0.5, True)],
                         ids=["plain", "momentum", "first-buffer"])
@pytest.mark.parametrize("name", [*HYPERBOLIC, "euclidean"])
def test_rsgd_step_gradcheck(name, momentum, first):
    manifold = MANIFOLDS[name]()
    m = F.manifold_of(ManifoldParameter(points(manifold, n=3), manifold))
    x = points(manifold, n=3, std=0.4).requires_grad_(True)
    g = torch.Generator().manual_seed(5)
    grad = (0.5 * torch.randn(x.shape, generator=g, dtype=torch.float64)).requires_grad_(True)
    buf = (0.3 * torch.randn(x.shape, generator=g, dtype=torch.float64))
    buf = (buf if m is None else m.proju(x.detach(), buf)).requires_grad_(True)

    def step(x, grad, buf=None):
        new_x, new_buf = F.rsgd_step(x, grad, lr=0.3, manifold=m, weight_decay=0.1, momentum=momentum,
                                     momentum_buffer=None if first or not momentum else buf,
                                     differentiable=True)
        return (new_x,) if new_buf is None else (new_x, new_buf)

    inputs = (x, grad) if first or not momentum else (x, grad, buf)
    assert torch.autograd.gradcheck(step, inputs)


@pytest.mark.parametrize("name", [*HYPERBOLIC, "euclidean"])
def test_adam_step_gradcheck(name):
    manifold = MANIFOLDS[name]()
    m = F.manifold_of(ManifoldParameter(points(manifold, n=3), manifold))
    x = points(manifold, n=3, std=0.4).requires_grad_(True)
    g = torch.Generator().manual_seed(6)
    grad = (0.5 * torch.randn(x.shape, generator=g, dtype=torch.float64)).requires_grad_(True)
    exp_avg = 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    exp_avg = (exp_avg if m is None else m.proju(x.detach(), exp_avg)).requires_grad_(True)
    shape = x.shape if m is None else x.shape[:-1] + (1,)
    exp_avg_sq = (0.1 + torch.rand(shape, generator=g, dtype=torch.float64)).requires_grad_(True)

    def step(x, grad, exp_avg, exp_avg_sq):
        out = F.adam_step(x, grad, exp_avg, exp_avg_sq, step=3, lr=0.05, manifold=m, differentiable=True)
        return out.x, out.exp_avg, out.exp_avg_sq

    assert torch.autograd.gradcheck(step, (x, grad, exp_avg, exp_avg_sq))


def test_hypergradient_through_a_step_with_create_graph():
    # d/d(beta) of a loss after one step whose gradient depends on beta
    # (the shape of BilevelTrainer's Eq. 11-12), against central differences
    manifold = PoincareBall()
    x0 = points(manifold, n=4, std=0.3)
    target = points(manifold, n=4, std=0.3, seed=1)

    def after_step(beta):
        x = x0.clone().requires_grad_(True)
        inner = (beta * manifold.dist(x, target).pow(2)).sum()
        (grad,) = torch.autograd.grad(inner, x, create_graph=True)
        new_x, _ = F.rsgd_step(x, grad, lr=0.2, manifold=manifold, differentiable=True)
        return manifold.dist0(new_x).pow(2).sum()

    beta = torch.tensor([0.7, 1.3, 0.4, 1.0], dtype=torch.float64, requires_grad=True)
    (analytic,) = torch.autograd.grad(after_step(beta), beta)
    eps = 1e-6
    for i in range(4):
        up, down = beta.detach().clone(), beta.detach().clone()
        up[i] += eps
        down[i] -= eps
        numeric = (after_step(up) - after_step(down)) / (2 * eps)
        assert analytic[i].item() == pytest.approx(numeric.item(), rel=1e-6, abs=1e-10)
    assert analytic.abs().max() > 1e-3


def test_manifold_of():
    assert F.manifold_of(torch.zeros(2)) is None
    assert F.manifold_of(ManifoldParameter(torch.zeros(2, 3), Euclidean())) is None
    lorentz = Lorentz()
    assert F.manifold_of(ManifoldParameter(lorentz.origin(2, 3), lorentz)) is lorentz
