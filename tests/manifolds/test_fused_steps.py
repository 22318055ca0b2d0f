"""The optimiser's fused pieces: the Riemannian gradient with its squared
norm in one call (Manifold.egrad2rgrad_sq_norm, what Riemannian Adam reads),
the Poincaré ball's geodesic step with its transport
(PoincareBall.geodesic_step), and the row-wise dot product every model's
formulas share (numerics.dot)."""
import pytest
import torch

from hypgraph.manifolds import Lorentz, Manifold, PoincareBall, einstein_midpoint, numerics
from hypgraph.manifolds.lorentz import math as L
from hypgraph.manifolds.poincare import math as P
from hypgraph.optim import functional as F

from .conftest import MANIFOLDS, points


def test_dot_is_the_sum_of_products_along_any_dimension_with_broadcasting():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, 6, dtype=torch.float64, generator=g)
    y = torch.randn(4, 3, 6, dtype=torch.float64, generator=g)
    for dim in (-1, 2, 0, -3):
        for keepdim in (False, True):
            expected = (x * y).sum(dim=dim, keepdim=keepdim)
            torch.testing.assert_close(numerics.dot(x, y, dim=dim, keepdim=keepdim), expected,
                                       rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(numerics.sq_norm(y, keepdim=True), (y * y).sum(-1, keepdim=True),
                               rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("std", [0.6, 6.0])
def test_egrad2rgrad_sq_norm_is_egrad2rgrad_and_its_squared_norm(name, std):
    m = MANIFOLDS[name]()
    x = points(m, n=64, dim=5, std=std)
    grad = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(3))
    rgrad, sq = m.egrad2rgrad_sq_norm(x, grad)
    torch.testing.assert_close(rgrad, m.egrad2rgrad(x, grad), rtol=1e-10, atol=1e-12)
    assert sq.shape == (64, 1)
    torch.testing.assert_close(sq, m.norm(x, m.egrad2rgrad(x, grad), keepdim=True).square(),
                               rtol=1e-9, atol=1e-12)


def test_lorentz_sq_norm_at_the_origin_and_along_the_normal():
    # at the origin <h, h> = |grad_space|^2; a gradient along the normal
    # flip(x) has no tangent part: both terms vanish
    m = Lorentz(k=0.5)
    o = m.origin(3, 5, dtype=torch.float64)
    grad = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, sq = m.egrad2rgrad_sq_norm(o, grad)
    torch.testing.assert_close(sq, grad[:, 1:].square().sum(-1, keepdim=True), rtol=1e-14, atol=0)
    x = points(m, n=8, dim=4, std=2.0)
    rgrad, sq = m.egrad2rgrad_sq_norm(x, 3.0 * L.flip_time(x))
    assert sq.abs().max() < 1e-20 and rgrad.abs().max() < 1e-9


@pytest.mark.parametrize("offset", [2.220446049250313e-16, 1e-8, 1e-160, 1e-300, 0.0])
def test_lorentz_sq_norm_next_to_the_origin(offset):
    # within ~1e-15 of the origin a floor on |x_s|^2 broke the two terms (the
    # norm off by percents), and |x_s|^2 underflows below 1e-154; there the
    # Minkowski square of h has no cancellation and is the exact reference
    m = Lorentz()
    x = m.expmap0(torch.tensor([[0.0, offset, -offset / 3, 0.0]], dtype=torch.float64))
    grad = torch.tensor([[0.7, 0.3, -0.4, 1.2]], dtype=torch.float64)
    rgrad, sq = m.egrad2rgrad_sq_norm(x, grad)
    torch.testing.assert_close(sq, L.inner(rgrad, rgrad, keepdim=True), rtol=1e-15, atol=0)
    torch.testing.assert_close(sq, m.norm(x, rgrad, keepdim=True).square(), rtol=1e-15, atol=0)


@pytest.mark.parametrize("radius", [8.0, 14.0])
def test_lorentz_float32_sq_norm_far_out_matches_float64(radius):
    # far from the origin <h, h>_L taken from h's coordinates subtracts two
    # numbers of order x0^2 |h|^2 (float32 keeps nothing of it at radius 14);
    # the two non-negative terms keep float32 within rounding of float64
    m = Lorentz()
    g = torch.Generator().manual_seed(0)
    direction = torch.nn.functional.normalize(torch.randn(256, 6, dtype=torch.float64, generator=g), dim=-1)
    x64 = m.expmap0(torch.cat([torch.zeros(256, 1, dtype=torch.float64), radius * direction], -1))
    grad64 = torch.zeros_like(x64)
    grad64[:, 1:] = torch.randn(256, 6, dtype=torch.float64, generator=g)  # as Lorentz.dist's gradient: no time part
    grad64[:128, 1:] = x64[:128, 1:] * 0.3 + 1e-3 * grad64[:128, 1:]  # nearly radial, the hard case
    _, exact = m.egrad2rgrad_sq_norm(x64, grad64)
    _, sq32 = m.egrad2rgrad_sq_norm(x64.float(), grad64.float())
    torch.testing.assert_close(sq32.double(), exact, rtol=2e-4, atol=0)
    naive = L.inner(*[m.egrad2rgrad(x64.float(), grad64.float())] * 2, keepdim=True)
    assert ((naive.double() - exact).abs() / exact).max() > 1e-2  # what the direct form loses


def _adam_steps(manifold, x, grads, **kwargs):
    x = x.clone()
    m, v = torch.zeros_like(x), x.new_zeros(x.shape[:-1] + (1,))
    for t, grad in enumerate(grads, 1):
        x, m, v, _ = F.adam_step(x, grad, m, v, step=float(t), lr=0.05, manifold=manifold, **kwargs)
    return x, m, v


@pytest.mark.parametrize("kwargs", [{}, {"max_grad_norm": 0.3}, {"weight_decay": 0.1}])
def test_adam_step_with_the_shared_norm_equals_the_separate_computations(monkeypatch, kwargs):
    m = Lorentz(k=0.5)
    x = points(m, n=32, dim=4, std=2.0)
    g = torch.Generator().manual_seed(5)
    grads = [torch.randn(x.shape, dtype=x.dtype, generator=g) for _ in range(4)]
    fused = _adam_steps(m, x, grads, **kwargs)
    monkeypatch.setattr(Lorentz, "egrad2rgrad_sq_norm", Manifold.egrad2rgrad_sq_norm)
    separate = _adam_steps(m, x, grads, **kwargs)
    for a, b in zip(fused, separate):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [1.0, 2.0, 0.7])
def test_poincare_geodesic_step_is_expmap_then_transp_and_the_geodesic_velocity(k):
    # y = Exp_x(t v) and w = transp(x, y, v) from five dot products; and the
    # transport of v along its own geodesic is that geodesic's velocity at y
    m = PoincareBall(k=k)
    g = torch.Generator().manual_seed(0)
    x = m.random(200, 5, std=0.7, generator=g, dtype=torch.float64)
    v = torch.randn(200, 5, generator=g, dtype=torch.float64)
    v = v / m.norm(x, v, keepdim=True)
    t = torch.randn(200, 1, generator=g, dtype=torch.float64)
    y, w = m.geodesic_step(x, v, t)
    y0, w0 = Manifold.geodesic_step(m, x, v, t)  # expmap_transp: expmap, then transp
    torch.testing.assert_close(y, y0, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(w, w0, rtol=1e-9, atol=1e-12)
    h = 1e-6
    velocity = (P.expmap(x, (t + h) * v, k=k) - P.expmap(x, (t - h) * v, k=k)) / (2 * h)
    torch.testing.assert_close(w, velocity, rtol=1e-5, atol=1e-7)
    # a scalar step too
    y_s, w_s = m.geodesic_step(x, v, -0.3)
    torch.testing.assert_close(w_s, Manifold.geodesic_step(m, x, v, -0.3)[1], rtol=1e-9, atol=1e-12)


def test_poincare_geodesic_step_float32_near_the_boundary_stays_inside_and_finite():
    m = PoincareBall(k=2.0)
    g = torch.Generator().manual_seed(1)
    x = torch.nn.functional.normalize(torch.randn(256, 8, generator=g), dim=-1) * (1 - 1e-6) / 2 ** 0.5
    v = torch.randn(256, 8, generator=g) * 1e3
    for t in (1e-3, 1.0, -50.0):
        y, w = m.geodesic_step(x, v, t)
        assert torch.isfinite(y).all() and torch.isfinite(w).all()
        assert (2.0 * y.double().square().sum(-1) < 1).all()


def _near_the_boundary(n, dim, k, gap, seed):
    # float32 points with sqrt(k)|x| = 1 - gap (1e-6: as far out as projx lets them be)
    g = torch.Generator().manual_seed(seed)
    m = PoincareBall(k=k)
    x = torch.nn.functional.normalize(torch.randn(n, dim, generator=g), dim=-1) * (1 - gap) / k ** 0.5
    return m, m.projx(x), g


@pytest.mark.parametrize("k", [1.0, 2.0])
@pytest.mark.parametrize("gap", [1e-6, 1e-4])
def test_poincare_transport_in_float32_at_the_boundary_is_the_float64_one(k, gap):
    # An Adam-sized step (Riemannian length 0.03) of points near the boundary:
    # the transported vector is the gyration formula evaluated in float64 on
    # the same (float32) x, y and v, as closely as float32 knows the conformal
    # factors 2 / (1 - k|x|^2) of such points (twice their relative errors; up
    # to 6 % each at the cap, 0.06 % at 1e-4), and keeps the Riemannian norm. The expanded
    # denominator 1 - 2k<x, y> + k^2|x|^2|y|^2 (~1e-12 here) cancelled to
    # float32 rounding and gave vectors off by factors up to 1e8.
    m, x, g = _near_the_boundary(256, 32, k, gap, seed=2)
    v = torch.randn(256, 32, generator=g)
    v = v / m.norm(x, v, keepdim=True)
    y, w = m.geodesic_step(x, v, -0.03)
    assert y.dtype == w.dtype == torch.float32
    x64, y64, v64 = x.double(), y.double(), v.double()
    one_minus = lambda z: 1 - k * z.square().sum(-1)  # noqa: E731
    reference = P.gyration(y64, -x64, v64, k=k) * (one_minus(y64) / one_minus(x64)).unsqueeze(-1)
    error = m.norm(y64, w.double() - reference) / m.norm(y64, reference)
    # float32's own errors in 1 - k|x|^2 and 1 - k|y|^2, which the transport scales by
    conformal = sum((one_minus(z).double() / one_minus(z.double()) - 1).abs() for z in (x, y))
    assert (error <= 2 * conformal + 1e-5).all(), float((error - 2 * conformal).max())
    assert error.max() < (0.1 if gap == 1e-6 else 2e-3)
    ratio = m.norm(y64, w.double()) / m.norm(x64, v64)
    assert ((ratio - 1).abs() <= 2 * conformal + 1e-5).all()
    torch.testing.assert_close(m.transp(x, y, v), w, rtol=1e-5, atol=0)


def test_riemannian_adam_keeps_points_at_the_boundary_finite_over_many_steps():
    # Book-Crossing's BPR+H (RiemannianAdam, lr 0.03) turned an item into NaN
    # after 217 epochs: points pinned at projx's cap carried a first moment
    # that the transport inflated by rounding noise at every step. Here, from
    # unit Riemannian moments and occasional small gradients, the moments stay
    # bounded (zero gradients only shrink them) and every point stays finite
    # and inside the ball.
    m, x, g = _near_the_boundary(512, 32, 1.0, 1e-6, seed=3)
    exp_avg = torch.randn(512, 32, generator=g)
    exp_avg = exp_avg / m.norm(x, exp_avg, keepdim=True)
    exp_avg_sq = torch.full((512, 1), 1e-11)
    largest = 0.0
    for step in range(1, 301):
        grad = torch.randn(512, 32, generator=g) * (1e-3 if step % 7 == 0 else 0.0)
        x, exp_avg, exp_avg_sq, _ = F.adam_step(x, grad, exp_avg, exp_avg_sq, step=float(step + 3000), lr=0.03,
                                                manifold=m)
        assert torch.isfinite(x).all(), step
        largest = max(largest, float(m.norm(x, exp_avg).max()))
    assert largest < 1.5
    assert (x.double().square().sum(-1) < 1).all()


def _value_and_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    (grad,) = torch.autograd.grad(out.sin().sum(), x)
    return out.detach(), grad


@pytest.mark.parametrize("name", ["lorentz", "poincare", "klein"])
def test_host_fast_paths_equal_the_branch_free_ones_bit_for_bit(name):
    # clip_norm with no row past its cap, and an Einstein midpoint with no
    # empty group, skip their table-sized where on the CPU: values and
    # gradients are those of the branch-free path an accelerator runs (the
    # values bit for bit; gradients up to the order autograd sums two terms in)
    m = MANIFOLDS[name]()
    g = torch.Generator().manual_seed(0)
    u = torch.randn(40, 5, dtype=torch.float64, generator=g)
    x = points(m, n=40, dim=4)
    rows = torch.arange(12).repeat_interleave(4)
    adj = torch.sparse_coo_tensor(torch.stack([rows, torch.randint(40, (48,), generator=g)]),
                                  torch.rand(48, dtype=torch.float64, generator=g) + 0.1, (12, 40)).coalesce()
    cases = [lambda t: numerics.clip_norm(t, 10.0)[0] + numerics.clip_norm(t, 10.0)[1],
             lambda t: einstein_midpoint(t, manifold=m, adj=adj)]
    for fn, inputs in zip(cases, (u, x)):
        fast = _value_and_grad(fn, inputs)
        with numerics.branch_free():
            slow = _value_and_grad(fn, inputs)
        assert torch.equal(fast[0], slow[0])
        torch.testing.assert_close(fast[1], slow[1], rtol=1e-14, atol=1e-15)
