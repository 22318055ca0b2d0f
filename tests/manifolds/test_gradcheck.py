"""float64 gradcheck of every differentiable geometry primitive."""
import pytest
import torch
from torch.autograd import gradcheck

from hypgraph.manifolds import (Lorentz, PoincareBall, einstein_midpoint, klein_to_lorentz, klein_to_poincare,
                                lorentz_to_klein, lorentz_to_poincare, poincare_to_klein,
                                poincare_to_lorentz)
from hypgraph.manifolds.lorentz import math as L
from hypgraph.manifolds.poincare import math as P

from .conftest import MANIFOLDS, points, tangent


def req(x):
    return x.detach().clone().requires_grad_(True)


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_gradcheck_dist_exp_log(name):
    m = MANIFOLDS[name]()
    x, y = req(points(m, n=4, dim=3)), req(points(m, n=4, dim=3, seed=1))
    u = req(tangent(m, x.detach()))
    assert gradcheck(lambda a, b: m.dist(a, b), (x, y))
    assert gradcheck(lambda a, v: m.expmap(a, v), (x, u))
    assert gradcheck(lambda a, b: m.logmap(a, b), (x, y))
    assert gradcheck(lambda a: m.dist0(a), (x,))
    assert gradcheck(lambda a, b, v: m.transp(a, b, v), (x, y, u))


def test_gradcheck_lorentz_dist_with_margin():
    m = Lorentz(margin=1e-6)
    x, y = req(points(m, n=4, dim=3)), req(points(m, n=4, dim=3, seed=1))
    assert gradcheck(lambda a, b: m.dist(a, b), (x, y))


def test_gradcheck_mobius_add_and_curvature():
    x = req(points(MANIFOLDS["poincare"](), n=4, dim=3))
    y = req(points(MANIFOLDS["poincare"](), n=4, dim=3, seed=1))
    c = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, b, k: P.mobius_add(a, b, k=k), (x, y, c))
    assert gradcheck(lambda a, b, k: P.dist(a, b, k=k), (x, y, c))


def test_gradcheck_conversions():
    lor = MANIFOLDS["lorentz-k0.5"]()
    x = req(points(lor, n=4, dim=3))
    p = req(lorentz_to_poincare(x.detach(), k=0.5))
    kap = req(lorentz_to_klein(x.detach(), k=0.5))
    for f, inp in [(lorentz_to_poincare, x), (lorentz_to_klein, x), (poincare_to_lorentz, p),
                   (poincare_to_klein, p), (klein_to_lorentz, kap), (klein_to_poincare, kap)]:
        assert gradcheck(lambda a, f=f: f(a, k=0.5), (inp,)), f.__name__


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_gradcheck_einstein_midpoint(name):
    m = MANIFOLDS[name]()
    x = req(points(m, n=6, dim=3))
    w = req(torch.rand(6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.1)
    index = torch.tensor([0, 0, 1, 2, 2, 2])
    # The midpoint is a function of points *on* the manifold: the hyperboloid's
    # reads x_0 as stored, so perturb the points through the chart projx (x_0
    # from the space coordinates), i.e. along the manifold. (Off it, a group
    # of one point sits on the kink of the s^2 >= (sum w)^2 floor.)
    assert gradcheck(lambda a, b: einstein_midpoint(m.projx(a), b, manifold=m), (x, w))
    assert gradcheck(lambda a, b: einstein_midpoint(m.projx(a), b, manifold=m, index=index, dim_size=4),
                     (x, w))


def _reference_dist_grads(m, x, y, weight):
    # autograd through the formula of Lorentz.dist, not the closed-form backward
    a, b = req(x), req(y)
    L._dist_formula(a, b, m.k, m.margin, -1, False).mul(weight).sum().backward()
    return a.grad, b.grad


@pytest.mark.parametrize("k", [1.0, 0.5])
@pytest.mark.parametrize("margin", [0.0, 1e-6])
def test_lorentz_dist_closed_form_backward_matches_autograd(k, margin):
    # the training shape: [B, 1, D] users against [B, n, D] items, broadcast
    m = Lorentz(k=k, margin=margin)
    x = points(m, n=6, dim=4, std=1.5).unsqueeze(1)
    y = points(m, n=18, dim=4, std=1.5, seed=2).view(6, 3, -1)
    weight = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a, b = req(x), req(y)
    m.dist(a, b).mul(weight).sum().backward()
    ref_a, ref_b = _reference_dist_grads(m, x, y, weight)
    assert a.grad.shape == x.shape and b.grad.shape == y.shape
    torch.testing.assert_close(a.grad, ref_a, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(b.grad, ref_b, rtol=1e-9, atol=1e-12)
    assert bool((a.grad[..., 0] == 0).all())  # dist reads the space coordinates only
    # one side only, as when items are fixed
    c = req(y)
    m.dist(x, c).mul(weight).sum().backward()
    torch.testing.assert_close(c.grad, ref_b, rtol=1e-9, atol=1e-12)


def test_lorentz_dist_second_derivatives():
    # the bilevel trainer differentiates a gradient (create_graph=True)
    m = Lorentz(margin=1e-6)
    x, y = req(points(m, n=4, dim=3)), req(points(m, n=4, dim=3, seed=1))
    assert torch.autograd.gradgradcheck(lambda a, b: m.dist(a, b), (x, y))


def test_lorentz_dist_learnable_curvature_gets_a_gradient():
    # a curvature that is learned takes autograd through the formula
    x, y = req(points(Lorentz(), n=4, dim=3)), req(points(Lorentz(), n=4, dim=3, seed=1))
    k = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, b, c: L.dist(L.projx(a, k=c), L.projx(b, k=c), k=c), (x, y, k))


def _ball_points(n, dim, norm, k=1.0, seed=0):
    # points of Euclidean norm `norm` / sqrt(k) in random directions
    g = torch.Generator().manual_seed(seed)
    direction = torch.nn.functional.normalize(torch.randn(n, dim, generator=g, dtype=torch.float64), dim=-1)
    return direction * norm / k ** 0.5


def _uses_closed_form(d):
    node = d.grad_fn
    while node is not None and "ClosedForm" not in node.name():
        node = node.next_functions[0][0] if node.next_functions else None
    return node is not None


@pytest.mark.parametrize("k", [1.0, 0.5, "tensor"])
def test_gradcheck_poincare_dist_closed_form(k):
    # k: a float, or a fixed tensor as PoincareBall._like passes a non-unit one
    k = torch.tensor(0.7, dtype=torch.float64) if k == "tensor" else k
    m = MANIFOLDS["poincare"]()
    x = req(points(m, n=4, dim=3) / k ** 0.5)
    y = req(points(m, n=4, dim=3, seed=1) / k ** 0.5)
    assert _uses_closed_form(P.dist(x, y, k=k))
    assert gradcheck(lambda a, b: P.dist(a, b, k=k), (x, y))
    assert torch.autograd.gradgradcheck(lambda a, b: P.dist(a, b, k=k), (x, y))
    # broadcast, keepdim and one side only
    xb = req(x.detach()[:2].unsqueeze(1))
    yb = req(y.detach().view(2, 2, -1))
    assert gradcheck(lambda a, b: P.dist(a, b, k=k, keepdim=True), (xb, yb))
    assert gradcheck(lambda b: P.dist(xb.detach(), b, k=k), (yb,))


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_gradcheck_poincare_dist_closed_form_near_boundary(k):
    # |x| = |y| = (1 - 1e-6)/sqrt k: 1 - k|x|^2 ~ 2e-6 is off by ~1e-16, so d
    # (~28) carries a rounding error of ~1e-11, and its gradient entries reach
    # ~1e6 and its second derivatives ~1e12. Central differences with steps of
    # 3e-10 (inside the ball) are then good to ~0.3 and ~1e5: the tolerances
    # are 1e-6 of the largest entry.
    x = req(_ball_points(4, 3, 1 - 1e-6, k))
    y = req(_ball_points(4, 3, 1 - 1e-6, k, seed=1))
    f = lambda a, b: P.dist(a, b, k=k)  # noqa: E731
    assert _uses_closed_form(f(x, y))
    assert gradcheck(f, (x, y), eps=3e-10, atol=1.0, rtol=1e-6)
    assert torch.autograd.gradgradcheck(f, (x, y), eps=3e-10, atol=1e6, rtol=1e-6)
    # a point at 0.5 against them, at the default tolerances
    inner = req(_ball_points(4, 3, 0.5, k, seed=2))
    assert gradcheck(lambda b: f(x.detach(), b), (inner,))
    assert torch.autograd.gradgradcheck(lambda b: f(x.detach(), b), (inner,))


def _reference_poincare_dist_grads(x, y, k, weight):
    # autograd through the formula of P.dist, not the closed-form backward
    a, b = req(x), req(y)
    P._dist_formula(a, b, k, -1, False).mul(weight).sum().backward()
    return a.grad, b.grad


@pytest.mark.parametrize("k", [1.0, 0.5, "tensor"])
def test_poincare_dist_closed_form_backward_matches_autograd(k):
    # the training shape, [B, 1, D] users against [B, n, D] items, with
    # coincident pairs (gradient 0) and points near the boundary
    k = torch.tensor(0.7, dtype=torch.float64) if k == "tensor" else k
    m = PoincareBall(k=float(k))
    x = points(m, n=6, dim=4).unsqueeze(1)
    y = points(m, n=18, dim=4, seed=2).view(6, 3, -1)
    y[0, 0] = x[0, 0]
    x[1, 0] = _ball_points(1, 4, 1 - 1e-6, float(k), seed=3)[0]
    y[2, 1] = _ball_points(1, 4, 1 - 1e-9, float(k), seed=4)[0]
    weight = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a, b = req(x), req(y)
    d = P.dist(a, b, k=k)
    assert _uses_closed_form(d)
    torch.testing.assert_close(d, P._dist_formula(x, y, k, -1, False), rtol=0, atol=0)
    d.mul(weight).sum().backward()
    ref_a, ref_b = _reference_poincare_dist_grads(x, y, k, weight)
    assert a.grad.shape == x.shape and b.grad.shape == y.shape
    torch.testing.assert_close(a.grad, ref_a, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(b.grad, ref_b, rtol=1e-9, atol=1e-12)
    assert bool((b.grad[0, 0] == 0).all())  # x = y: gradient 0 (from the other pairs only for a)
    c = req(y)
    P.dist(x, c, k=k).mul(weight).sum().backward()
    torch.testing.assert_close(c.grad, ref_b, rtol=1e-9, atol=1e-12)


def test_poincare_dist_clamped_boundary_matches_autograd():
    # on or past the boundary the formula clamps 1 - k|x|^2 to eps, which drops
    # that point's own term from its gradient; the closed form does the same
    x = torch.cat([_ball_points(3, 4, 1.0), _ball_points(3, 4, 0.3, seed=5)])
    y = torch.cat([_ball_points(3, 4, 0.5, seed=1), _ball_points(3, 4, 1 + 1e-3, seed=6)])
    weight = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    a, b = req(x), req(y)
    P.dist(a, b).mul(weight).sum().backward()
    ref_a, ref_b = _reference_poincare_dist_grads(x, y, 1.0, weight)
    torch.testing.assert_close(a.grad, ref_a, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(b.grad, ref_b, rtol=1e-9, atol=1e-12)


def test_poincare_dist_learnable_curvature_gets_a_gradient():
    # a curvature that is learned takes autograd through the formula
    m = PoincareBall(k=0.8, learnable=True)
    x, y = points(m, n=4, dim=3), points(m, n=4, dim=3, seed=1)
    d = m.dist(req(x), req(y))
    assert not _uses_closed_form(d)
    d.sum().backward()
    assert m.curvature.raw.grad is not None and bool(m.curvature.raw.grad != 0)
