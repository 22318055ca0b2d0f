"""float64 gradcheck of every differentiable geometry primitive."""
import pytest
import torch
from torch.autograd import gradcheck

from hypgraph.manifolds import (Lorentz, einstein_midpoint, klein_to_lorentz, klein_to_poincare,
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
