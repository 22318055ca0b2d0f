"""RiemannianSGD and RiemannianAdam: convergence on Lorentz, Poincaré, Klein and
Euclidean, the hyperboloid constraint over 10,000 steps, Chamberlain 2019 Eq. 20-22
by hand, clipping, weight decay, momentum transport, and validation."""
import pytest
import torch

from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall
from hypgraph.manifolds.lorentz import math as L
from hypgraph.optim import ManifoldParameter, RiemannianAdam, RiemannianSGD

from .conftest import MANIFOLDS, make_optimizer, points


def minkowski_flip(n, dtype):
    """diag(-1, 1, ..., 1): the inverse Minkowski metric (Chamberlain 2019, Eq. 20)."""
    flip = torch.ones(n, dtype=dtype)
    flip[0] = -1
    return flip


# --- convergence -------------------------------------------------------------

# (steps, tolerance on the final distance per dtype); SGD contracts d^2 by a
# constant factor per step, Adam with a constant lr only linearly-ish.
CONVERGENCE = {
    "sgd": (60, {torch.float64: 1e-9, torch.float32: 1e-4}),
    "sgd-nesterov": (60, {torch.float64: 1e-9, torch.float32: 1e-4}),
    "adam": (150, {torch.float64: 5e-3, torch.float32: 5e-3}),
}


@pytest.mark.parametrize("opt_name", list(CONVERGENCE))
@pytest.mark.parametrize("name", ["lorentz", "lorentz-k0.5", "poincare", "klein", "euclidean"])
def test_drives_points_to_target(name, opt_name, dtype):
    manifold = MANIFOLDS[name]()
    start = points(manifold, std=0.3, dtype=dtype)
    target = points(manifold, std=0.3, seed=1, dtype=dtype)
    param = ManifoldParameter(start.clone(), manifold)
    steps, tol = CONVERGENCE[opt_name]
    opt = make_optimizer(opt_name, [param], **({"lr": 0.1} if opt_name == "adam" else {}))
    for _ in range(steps):
        opt.zero_grad()
        manifold.dist(param, target).pow(2).sum().backward()
        opt.step()
    final = param.detach()
    assert final.dtype == dtype
    assert manifold.dist(start, target).min() > 0.1  # there was somewhere to go
    assert manifold.dist(final, target).max() < tol[dtype]
    assert manifold.check_point(final), manifold.check_point(final, explain=True)


# --- the hyperboloid over 10,000 steps ----------------------------------------

@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_stays_on_hyperboloid_for_10k_steps(opt_name, dtype):
    k = 0.5
    manifold = Lorentz(k=k)
    g = torch.Generator().manual_seed(0)
    target = manifold.random(64, 11, generator=g, dtype=dtype)
    param = ManifoldParameter(manifold.random(64, 11, generator=g, dtype=dtype), manifold)
    if opt_name == "sgd":
        opt = RiemannianSGD([param], lr=1e-2, momentum=0.9, max_grad_norm=10.0)
    else:
        opt = RiemannianAdam([param], lr=1e-2)
    # Euclidean gradient of the loss -<x, target>_L (Chamberlain 2019 §5.2:
    # interchangeable with the distance for ranking), plus noise divided by
    # x0 so that its Riemannian norm stays O(0.1) wherever the point is.
    pull = -minkowski_flip(11, dtype) * target
    x0 = param.detach()[:, :1]  # a view: the optimiser writes in place
    param.grad = torch.empty_like(pull)
    for _ in range(20):
        noise = 0.1 * torch.randn(500, 64, 11, generator=g, dtype=dtype)
        for step_noise in noise:
            torch.addcdiv(pull, step_noise, x0, out=param.grad)
            opt.step()
    x = param.detach()
    assert torch.isfinite(x).all() and (x[:, 0] > 0).all()
    err = (L.inner(x, x) + 1 / k).abs()
    if dtype == torch.float64:
        assert err.max() < 1e-8
    else:
        assert (err < 1e-4 * x[:, 0] ** 2).all()
    assert manifold.dist(x, target).max() < 0.5  # it tracked the target all along


# --- Chamberlain 2019, Eq. 20-22 by hand ---------------------------------------

@pytest.mark.parametrize("shape", [(4,), (1, 4)], ids=["point", "row"])
def test_rsgd_step_is_chamberlain_eq_20_to_22(shape):
    x = Lorentz().random(4, generator=torch.Generator().manual_seed(3), std=0.7,
                         dtype=torch.float64).reshape(shape)
    param = ManifoldParameter(x.clone(), Lorentz())
    lr = 0.3
    torch.sin(param).mul(torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
    grad = param.grad.reshape(4).clone()
    RiemannianSGD([param], lr=lr).step()

    x = x.reshape(4)

    def mink(u, v):  # Chamberlain 2019, Eq. 7
        return -u[0] * v[0] + (u[1:] * v[1:]).sum()

    h_m = grad.clone()
    h_m[0] = -h_m[0]                     # Eq. 20: h_m = g^{-1} grad
    h_t = h_m + mink(x, h_m) * x          # Eq. 21: projection onto T_x (Eq. 11)
    v = -lr * h_t
    n = mink(v, v).sqrt()
    expected = torch.cosh(n) * x + torch.sinh(n) * v / n  # Eq. 22 with Eq. 12
    assert abs(mink(x, h_t)) < 1e-12
    assert abs(mink(expected, expected) + 1) < 1e-12
    torch.testing.assert_close(param.detach().reshape(4), expected, atol=1e-12, rtol=1e-12)


def test_momentum_is_transported_by_hand(hyperbolic):
    # two steps of RSGD with momentum against the formula written out with the
    # manifold's own maps: b1 = h1, x1 = Exp_x0(-lr b1),
    # b2 = mu Gamma_{x0->x1}(b1) + h2, x2 = Exp_x1(-lr b2)
    manifold, lr, mu = hyperbolic, 0.05, 0.8
    x0 = points(manifold, n=6)
    g = torch.Generator().manual_seed(7)
    grads = [torch.randn(x0.shape, generator=g, dtype=x0.dtype) for _ in range(2)]
    param = ManifoldParameter(x0.clone(), manifold)
    opt = RiemannianSGD([param], lr=lr, momentum=mu)
    for grad in grads:
        param.grad = grad.clone()
        opt.step()

    b1 = manifold.egrad2rgrad(x0, grads[0])
    x1 = manifold.expmap(x0, -lr * b1)
    b2 = mu * manifold.transp(x0, x1, b1) + manifold.egrad2rgrad(x1, grads[1])
    x2 = manifold.expmap(x1, -lr * b2)
    torch.testing.assert_close(param.detach(), x2, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(opt.state[param]["momentum_buffer"],
                               manifold.transp(x1, x2, b2), atol=1e-10, rtol=1e-10)
    assert not torch.allclose(manifold.transp(x0, x1, b1), b1)  # transport mattered


@pytest.mark.parametrize("opt_name", ["sgd-momentum", "adam"])
def test_momentum_stays_tangent_on_hyperboloid(opt_name):
    manifold = Lorentz()
    param = ManifoldParameter(points(manifold, n=32, std=1.0), manifold)
    target = points(manifold, n=32, std=1.0, seed=5)
    opt = make_optimizer(opt_name, [param])
    for _ in range(10):
        opt.zero_grad()
        manifold.dist(param, target).pow(2).sum().backward()
        opt.step()
    key = "momentum_buffer" if "sgd" in opt_name else "exp_avg"
    buf, x = opt.state[param][key], param.detach()
    assert manifold.norm(x, buf).min() > 1e-2  # a real buffer
    # <x, b>_L = 0 on T_x; an untransported buffer would sit on T_{x_prev}
    scale = x.norm(dim=-1) * buf.norm(dim=-1)
    assert (L.inner(x, buf).abs() < 1e-12 * scale).all()


class _LorentzWithoutTransport(Lorentz):
    """Moves momentum without transporting it, so buffers drift off T_x."""

    def transp(self, x, y, v):
        return v

    def expmap_transp(self, x, u, v):
        return self.expmap(x, u), v

    def geodesic_step(self, x, v, t):
        return self.expmap(x, v * t), v

    def geodesic_step_(self, x, v, t):
        x.copy_(self.expmap(x, v * t))


@pytest.mark.parametrize("sparse", [False, True])
def test_stabilize_reprojects_the_buffer_every_n_updates(sparse):
    manifold = _LorentzWithoutTransport()
    x = points(manifold, n=8)
    drift = {}
    for stabilize in (None, 2):
        param = ManifoldParameter(x.clone(), manifold)
        opt = RiemannianSGD([param], lr=0.05, momentum=0.9, stabilize=stabilize)
        drift[stabilize] = []
        for _ in range(2):
            grad = torch.ones_like(x)
            param.grad = grad.to_sparse(1) if sparse else grad
            opt.step()
            buf = opt.state[param]["momentum_buffer"]
            drift[stabilize].append(float(L.inner(param.detach(), buf).abs().max()))
    assert drift[None][0] > 1e-3 and drift[None][1] > 1e-3
    assert drift[2][0] > 1e-3  # first update: not due
    assert drift[2][1] < 1e-10  # second update: re-projected onto T_x


# --- Adam: one second moment per point ----------------------------------------

@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_first_step_moves_each_point_by_lr(hyperbolic, amsgrad):
    # m_1/sqrt(v_1) is a unit tangent vector when v is the squared Riemannian
    # norm of the point's gradient, whatever the gradient's scale
    x = points(hyperbolic, n=8)
    g = torch.Generator().manual_seed(2)
    scale = 10.0 ** torch.arange(-3, 5, dtype=x.dtype).unsqueeze(-1)
    param = ManifoldParameter(x.clone(), hyperbolic)
    param.grad = torch.randn(x.shape, generator=g, dtype=x.dtype) * scale
    opt = RiemannianAdam([param], lr=0.01, amsgrad=amsgrad)
    opt.step()
    assert opt.state[param]["exp_avg_sq"].shape == (8, 1)
    n = hyperbolic.norm(x, hyperbolic.egrad2rgrad(x, param.grad))
    assert n.max() / n.min() > 1e5  # gradients of very different sizes ...
    # ... all give a step of lr |g| / (|g| + eps) ~ lr
    torch.testing.assert_close(hyperbolic.dist(x, param.detach()), 0.01 * n / (n + 1e-8),
                               rtol=1e-6, atol=0)


def test_adam_is_coordinatewise_in_euclidean_space():
    x = points(Euclidean(), n=8)
    param = ManifoldParameter(x.clone(), Euclidean())
    param.grad = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    opt = RiemannianAdam([param], lr=0.01)
    opt.step()
    assert opt.state[param]["exp_avg_sq"].shape == x.shape
    torch.testing.assert_close((param.detach() - x).abs(), torch.full_like(x, 0.01),
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_adam_point_factor_in_euclidean_space_is_the_hyperbolic_optimiser(sparse):
    # euclidean_factor='point': one second moment per row, so every point moves
    # by lr along its gradient whatever the gradient's scale (as on a manifold),
    # over several steps equal to a hand-written per-point Adam
    x = points(Euclidean(), n=8)
    g = torch.Generator().manual_seed(1)
    scale = 10.0 ** torch.arange(-3, 5, dtype=x.dtype).unsqueeze(-1)
    grads = [torch.randn(x.shape, generator=g, dtype=x.dtype) * scale for _ in range(3)]
    param = ManifoldParameter(x.clone(), Euclidean())
    opt = RiemannianAdam([param], lr=0.01, euclidean_factor="point")
    ref, m, v = x.clone(), torch.zeros_like(x), torch.zeros(8, 1, dtype=x.dtype)
    for t, grad in enumerate(grads, start=1):
        param.grad = grad.to_sparse(1) if sparse else grad
        opt.step()
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad.square().sum(-1, keepdim=True)
        ref = ref - 0.01 / (1 - 0.9 ** t) * m / ((v / (1 - 0.999 ** t)).sqrt() + 1e-8)
        if t == 1:
            assert opt.state[param]["exp_avg_sq"].shape == (8, 1)
            n = grad.norm(dim=-1)
            torch.testing.assert_close((param.detach() - x).norm(dim=-1), 0.01 * n / (n + 1e-8), rtol=1e-6, atol=0)
    torch.testing.assert_close(param.detach(), ref, rtol=1e-10, atol=1e-12)


def test_adam_point_factor_leaves_plain_tensors_per_coordinate_and_rejects_unknown_values():
    plain = torch.nn.Parameter(torch.zeros(4, 3, dtype=torch.float64))
    plain.grad = torch.arange(12, dtype=torch.float64).view(4, 3) + 1
    RiemannianAdam([plain], lr=0.01, euclidean_factor="point").step()
    torch.testing.assert_close(plain.detach(), torch.full((4, 3), -0.01, dtype=torch.float64))
    with pytest.raises(ValueError, match="Invalid euclidean_factor: 'row'"):
        RiemannianAdam([plain], euclidean_factor="row")


# --- clipping (Chamberlain 2019, §5.3) -----------------------------------------

def test_clipping_bounds_the_step(manifold, dtype):
    lr, max_norm = 0.1, 1.0
    x = points(manifold, n=32, dtype=dtype)
    g = torch.Generator().manual_seed(4)
    big = torch.randn(x.shape, generator=g, dtype=dtype) * 1e3
    param = ManifoldParameter(x.clone(), manifold)
    param.grad = big
    RiemannianSGD([param], lr=lr, max_grad_norm=max_norm).step()
    moved = manifold.dist(x, param.detach())
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    assert (moved <= lr * max_norm + tol).all()
    assert (moved >= lr * max_norm * (1 - 1e-3)).all()  # clipped to, not below, the bound


def test_clipping_leaves_small_gradients_alone(manifold):
    x = points(manifold, n=16)
    small = 1e-3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    out = []
    for max_norm in (None, 1.0):
        param = ManifoldParameter(x.clone(), manifold)
        param.grad = small.clone()
        RiemannianSGD([param], lr=0.1, max_grad_norm=max_norm).step()
        out.append(param.detach())
    assert torch.equal(out[0], out[1])


# --- weight decay: geodesic pull toward the origin ------------------------------

def test_weight_decay_pulls_along_the_geodesic_to_the_origin(manifold):
    lr, wd = 0.1, 0.5
    x = points(manifold, n=16)
    param = ManifoldParameter(x.clone(), manifold)
    param.grad = torch.zeros_like(x)
    RiemannianSGD([param], lr=lr, weight_decay=wd).step()
    # moved toward o along the geodesic by lr * wd * d(o, x)
    expected = manifold.expmap0((1 - lr * wd) * manifold.logmap0(x))
    torch.testing.assert_close(param.detach(), expected, atol=1e-9, rtol=1e-9)


def test_weight_decay_is_the_riemannian_gradient_of_half_squared_distance(hyperbolic):
    wd = 0.3
    x = points(hyperbolic, n=16)
    decayed = ManifoldParameter(x.clone(), hyperbolic)
    decayed.grad = torch.zeros_like(x)
    RiemannianSGD([decayed], lr=0.1, weight_decay=wd).step()
    by_loss = ManifoldParameter(x.clone(), hyperbolic)
    (0.5 * wd * hyperbolic.dist0(by_loss).pow(2)).sum().backward()
    RiemannianSGD([by_loss], lr=0.1).step()
    torch.testing.assert_close(decayed.detach(), by_loss.detach(), atol=1e-9, rtol=1e-9)


def test_weight_decay_on_a_plain_tensor_is_l2():
    x = torch.randn(5, 3, dtype=torch.float64)
    param = torch.nn.Parameter(x.clone())
    param.grad = torch.zeros_like(x)
    RiemannianSGD([param], lr=0.1, weight_decay=0.5).step()
    torch.testing.assert_close(param.detach(), x * (1 - 0.05))


# --- torch.optim conventions ---------------------------------------------------

def test_closure_zero_grad_and_no_grad_noop():
    manifold = PoincareBall()
    param = ManifoldParameter(points(manifold, n=4), manifold)
    before = param.detach().clone()
    opt = RiemannianAdam([param], lr=0.1)
    opt.step()  # no gradient yet: nothing happens
    assert torch.equal(param.detach(), before) and len(opt.state) == 0

    def closure():
        opt.zero_grad()
        loss = manifold.dist0(param).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    torch.testing.assert_close(loss, manifold.dist0(before).sum())
    assert not torch.equal(param.detach(), before)
    opt.zero_grad()
    assert param.grad is None


def test_param_groups_have_their_own_hyperparameters():
    manifold = Lorentz()
    x = points(manifold, n=4)
    a, b = ManifoldParameter(x.clone(), manifold), ManifoldParameter(x.clone(), manifold)
    opt = RiemannianSGD([{"params": [a]}, {"params": [b], "lr": 0.0}], lr=0.1)
    a.grad = torch.ones_like(x)
    b.grad = torch.ones_like(x)
    opt.step()
    assert torch.equal(b.detach(), x) and not torch.equal(a.detach(), x)
    assert opt.param_groups[1]["momentum"] == 0 and opt.param_groups[1]["lr"] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (dict(lr=0.1, weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (dict(lr=0.1, max_grad_norm=0.0), "Invalid max_grad_norm value: 0.0"),
    (dict(lr=0.1, stabilize=0), "Invalid stabilize value: 0"),
    (dict(lr=0.1, stabilize=True), "Invalid stabilize value: True"),
])
def test_sgd_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RiemannianSGD([torch.nn.Parameter(torch.zeros(2))], **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=-1e-3), "Invalid learning rate: -0.001"),
    (dict(lr=float("nan")), "Invalid learning rate: nan"),
    (dict(betas=(1.0, 0.999)), r"Invalid beta parameter at index 0: 1.0"),
    (dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1"),
    (dict(betas=(0.9,)), r"Invalid betas: \(0.9,\)"),
    (dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (dict(max_grad_norm=-1.0), "Invalid max_grad_norm value: -1.0"),
])
def test_adam_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RiemannianAdam([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_bad_param_group_is_rejected_before_it_is_added():
    opt = RiemannianSGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="Invalid momentum value: -1"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "momentum": -1})
    assert len(opt.param_groups) == 1


def test_sparse_gradient_must_be_sparse_along_rows_only():
    manifold = Lorentz()
    param = ManifoldParameter(points(manifold, n=4), manifold)
    param.grad = torch.sparse_coo_tensor(torch.tensor([[0, 1], [1, 2]]),
                                         torch.ones(2, dtype=param.dtype), param.shape,
                                         check_invariants=True)
    with pytest.raises(ValueError, match="sparse_dim=2"):
        RiemannianSGD([param], lr=0.1).step()


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_points_pushed_to_the_cap_stay_finite(optimizer):
    # a loss that pushes float32 points away from the origin for ever, as BPR
    # does to items that are only ever negatives: they reach projx's radial
    # cap (distance 40, coordinates ~1e17), where a transported moment can
    # overflow; the optimiser must restart it rather than produce NaN
    manifold = Lorentz()
    g = torch.Generator().manual_seed(0)
    param = ManifoldParameter(manifold.expmap0(torch.randn(8, 17, generator=g) * 0.1), manifold)
    opt = (RiemannianAdam([param], lr=0.5) if optimizer == "adam"
           else RiemannianSGD([param], lr=0.5, momentum=0.9))
    key = "exp_avg" if optimizer == "adam" else "momentum_buffer"
    for _ in range(150):
        opt.zero_grad()
        (-manifold.dist0(param).sum()).backward()
        opt.step()
        assert torch.isfinite(param).all() and torch.isfinite(opt.state[param][key]).all()
    assert float(manifold.dist0(param.detach()).min()) > 30  # they did reach the far region


@pytest.mark.parametrize("optimizer", ["adam", "sgd-momentum"])
def test_float32_points_at_the_cap_with_huge_gradients_stay_finite(optimizer):
    # coordinates ~1e17 and gradients of 1e6: the Riemannian gradient's
    # squares (and for some rows the gradient itself) overflow float32; the
    # points must stay finite and inside projx's cap (this was NaN)
    manifold = Lorentz()
    x = manifold.random(32, 5, std=25.0, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    param = ManifoldParameter(x.clone(), manifold)
    opt = (RiemannianAdam([param], lr=30.0) if optimizer == "adam"
           else RiemannianSGD([param], lr=1e-3, momentum=0.9))
    g = torch.Generator().manual_seed(4)
    for _ in range(3):
        param.grad = torch.randn(x.shape, generator=g) * 1e6
        opt.step()
    assert torch.isfinite(param).all()
    state = opt.state[param]
    assert torch.isfinite(state["exp_avg" if optimizer == "adam" else "momentum_buffer"]).all()
    assert (manifold.dist0(param.detach()) <= 40.0 + 1e-3).all()  # nx.max_cosh_arg(float32)


def test_a_nan_gradient_is_not_hidden_by_the_overflow_guard():
    # hold_overflowed zeroes rows that overflowed from a finite gradient only
    manifold = Lorentz()
    param = ManifoldParameter(points(manifold, n=4), manifold)
    grad = torch.zeros_like(param)
    grad[1, 2] = float("nan")
    param.grad = grad
    RiemannianSGD([param], lr=0.1).step()
    assert torch.isnan(param[1]).any() and torch.isfinite(param[[0, 2, 3]]).all()
