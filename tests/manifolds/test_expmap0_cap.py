"""expmap0 of long tangent vectors: the norm cap (the hyperboloid's projx
distance, the ball's boundary margin), finite points and gradients in
float32, the gradient past the cap, and float64 gradcheck below it."""
import math

import pytest
import torch

from hypgraph.manifolds import Klein, Lorentz, PoincareBall
from hypgraph.manifolds import numerics

LORENTZ = {"lorentz": lambda: Lorentz(margin=1e-6), "lorentz-k0.5": lambda: Lorentz(k=0.5)}
BALLS = {"poincare": lambda: PoincareBall(), "poincare-k2": lambda: PoincareBall(k=2.0),
         "klein": lambda: Klein()}
MANIFOLDS = {**LORENTZ, **BALLS}
NORMS = [10.0, 40.0, 100.0, 1e4]


def curvature(m):
    return float(m.k.detach())


def cap(m, dtype):
    """The tangent norm beyond which expmap0 rescales."""
    if isinstance(m, Lorentz):
        return numerics.max_cosh_arg(dtype) / curvature(m) ** 0.5
    return math.atanh(1 - numerics.eps(dtype)) / curvature(m) ** 0.5


def tangents(m, norm, n=6, dim=5, dtype=torch.float32, seed=0):
    """Intrinsic coordinates [n, dim] of norm `norm`, and the same as tangent vectors at o."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n, dim, generator=g, dtype=torch.float64)
    v = (v / v.norm(dim=-1, keepdim=True) * norm).to(dtype)
    return v


def others(m, n=6, dim=5, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    return m.random(n, m.coord_dim(dim), std=0.5, generator=g, dtype=dtype)


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("norm", NORMS)
def test_float32_long_tangents_give_finite_points_on_the_manifold_and_finite_gradients(name, norm):
    m = MANIFOLDS[name]()
    v = tangents(m, norm).requires_grad_(True)
    x = m.expmap0(m.tangent0(v))
    assert torch.isfinite(x).all()
    assert m.check_point(x.detach()), m.check_point(x.detach(), explain=True)
    y = others(m)
    # what a recommender differentiates: distances to other points and to each other, ranking scores
    loss = m.dist(x, y).sum() + m.dist(x, x.roll(1, 0)).sum() + m.pairwise_dist(x, y).sum()
    (grad,) = torch.autograd.grad(loss, v)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("norm", NORMS + [1e20, 1e30])
def test_points_lie_on_the_ray_at_the_capped_distance(name, dtype, norm):
    m = MANIFOLDS[name]()
    v = tangents(m, norm, dtype=dtype)
    x = m.expmap0(m.tangent0(v))
    expected = min(norm, cap(m, dtype))
    if isinstance(m, PoincareBall):  # the ball's expmap0 reaches distance 2|u| (lambda_o = 2)
        expected *= 2
    if isinstance(m, Lorentz):
        assert m.dist0(x) == pytest.approx(expected, rel=1e-5)
    else:  # strictly inside the ball, within its margin (up to rounding of the coordinates)
        radius = curvature(m) ** 0.5 * x.double().norm(dim=-1)
        ulps = 4 * torch.finfo(dtype).eps
        assert (radius <= 1 - numerics.eps(dtype) + ulps).all() and (radius < 1).all()
        if norm <= cap(m, dtype):
            assert m.dist0(x) == pytest.approx(expected, rel=1e-4)
        else:
            assert radius == pytest.approx(1 - numerics.eps(dtype), abs=ulps)
    # on the ray of v
    direction = m.tangent0_coords(m.logmap0(x)) if isinstance(m, Lorentz) else x
    cosine = torch.nn.functional.cosine_similarity(direction.double(), v.double(), dim=-1)
    assert cosine == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_below_the_cap_expmap0_is_unchanged(name):
    # rows below the cap take exactly the uncapped formula
    m = MANIFOLDS[name]()
    v = tangents(m, 0.5 * cap(m, torch.float64), dtype=torch.float64)
    u = m.tangent0(v)
    sc = curvature(m) ** 0.5
    n = u.norm(dim=-1, keepdim=True)
    if isinstance(m, Lorentz):
        expected = torch.cat([torch.cosh(sc * n) / sc, torch.sinh(sc * n) / (sc * n) * u[..., 1:]], -1)
    else:
        expected = torch.tanh(sc * n) * u / (sc * n)
    torch.testing.assert_close(m.expmap0(u), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_gradient_past_the_cap_is_that_of_the_rescaled_map(name):
    # past the cap expmap0(u) = expmap0(R u / |u|): the same gradient, with no radial part
    # (a linear functional of the point: a distance at the ball's float64
    # margin, 1e-12 from the boundary, keeps only a few digits)
    m = MANIFOLDS[name]()
    dtype = torch.float64
    R = cap(m, dtype)
    v = tangents(m, 3 * R, dtype=dtype).requires_grad_(True)
    weights = torch.randn(v.size(0), m.coord_dim(v.size(1)), generator=torch.Generator().manual_seed(3),
                          dtype=dtype)
    (grad,) = torch.autograd.grad((m.expmap0(m.tangent0(v)) * weights).sum(), v)
    w = v.detach().clone().requires_grad_(True)
    # the rescaled map, written out; 1 - 1e-12 keeps it below the cap, where expmap0 is the plain formula
    rescaled = w * (R * (1 - 1e-12) / w.norm(dim=-1, keepdim=True))
    (expected,) = torch.autograd.grad((m.expmap0(m.tangent0(rescaled)) * weights).sum(), w)
    torch.testing.assert_close(grad, expected, rtol=1e-6, atol=0)
    radial = (grad * v.detach()).sum(-1) / v.detach().norm(dim=-1)
    assert radial.abs().max() <= 1e-9 * grad.norm(dim=-1).max()


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_expmap0_is_continuous_at_the_cap(name):
    m = MANIFOLDS[name]()
    R = cap(m, torch.float64)
    below, above = tangents(m, R * (1 - 1e-12), dtype=torch.float64), tangents(m, R * (1 + 1e-12), dtype=torch.float64)
    torch.testing.assert_close(m.expmap0(m.tangent0(below)), m.expmap0(m.tangent0(above)), rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_gradcheck_expmap0_then_dist_float64_below_the_cap(name):
    m = MANIFOLDS[name]()
    # norms up to 0.9 of the cap on the hyperboloid; up to sqrt(c) |u| = 4 in the balls,
    # beyond which (1 - sqrt(c) |x| < 1e-3) the distance curves too fast for finite differences
    top = 0.9 * cap(m, torch.float64) if isinstance(m, Lorentz) else 4.0 / curvature(m) ** 0.5
    lengths = torch.linspace(0.05, top, 6, dtype=torch.float64)
    v = tangents(m, 1.0, dtype=torch.float64) * lengths.unsqueeze(-1)
    y = others(m, dtype=torch.float64)

    def f(v):
        x = m.expmap0(m.tangent0(v))
        return m.dist(x, y), m.pairwise_dist(x, y[:3])

    assert torch.autograd.gradcheck(f, (v.requires_grad_(True),), atol=1e-7, rtol=1e-5)


def test_clip_norm_with_a_learnable_curvature_keeps_the_graph():
    m = PoincareBall(k=1.5, learnable=True)
    v = tangents(m, 100.0, dtype=torch.float32).requires_grad_(True)
    x = m.expmap0(v)
    m.dist(x, others(m)).sum().backward()
    assert torch.isfinite(v.grad).all() and torch.isfinite(m.curvature.raw.grad)


@pytest.mark.parametrize("k", [1.0, 0.5])
def test_fused_expmap0_coords_equals_the_composed_map_with_its_gradient(k):
    # a fixed curvature below the cap takes the fused step with the gradient
    # by hand; a curvature tensor the padded expmap0 through autograd. Norms
    # from 1e-9 (theta's series) through 0.1 (where the series hands over)
    # to just under the float64 cap
    m = Lorentz(k=k)
    g = torch.Generator().manual_seed(0)
    directions = torch.nn.functional.normalize(torch.randn(60, 5, generator=g, dtype=torch.float64), dim=-1)
    lengths = torch.cat([torch.logspace(-9, 0, 30, dtype=torch.float64),
                         torch.tensor([0.099, 0.1, 0.101], dtype=torch.float64) / k ** 0.5,
                         torch.linspace(1.0, 0.99 * cap(m, torch.float64), 27, dtype=torch.float64)])
    v = directions * lengths.unsqueeze(-1)
    upstream = torch.randn(60, 6, generator=g, dtype=torch.float64) / torch.cosh(k ** 0.5 * lengths).unsqueeze(-1)
    outs, grads = [], []
    for curv in (k, torch.tensor(k, dtype=torch.float64)):
        leaf = v.clone().requires_grad_()
        out = Lorentz(k=curv).expmap0_coords(leaf) if isinstance(curv, float) else \
            m.expmap0(torch.nn.functional.pad(leaf, (1, 0)))
        out.backward(upstream)
        outs.append(out.detach())
        grads.append(leaf.grad)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-12, atol=1e-300)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
    assert torch.autograd.gradcheck(m.expmap0_coords, (v[[0, 20, 31, 40]].clone().requires_grad_(),))


def test_fused_expmap0_coords_in_float32_and_past_the_cap():
    m = Lorentz()
    g = torch.Generator().manual_seed(1)
    directions = torch.nn.functional.normalize(torch.randn(8, 5, generator=g, dtype=torch.float64), dim=-1)
    v64 = directions * torch.tensor([1e-6, 1e-3, 0.05, 0.5, 3.0, 10.0, 30.0, 39.9], dtype=torch.float64).unsqueeze(-1)
    v32 = v64.float().requires_grad_()
    out = m.expmap0_coords(v32)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(v32.grad).all()
    torch.testing.assert_close(out.double(), m.expmap0_coords(v64), rtol=2e-6, atol=1e-7)
    # a row past the cap: the whole table takes expmap0 with its cap (the same points as the padded map)
    far = torch.cat([v32.detach(), directions[:1].float() * 1e4])
    torch.testing.assert_close(m.expmap0_coords(far), m.expmap0(m.tangent0(far)), rtol=0, atol=0)
    assert torch.isfinite(m.expmap0_coords(far)).all()


@pytest.mark.parametrize("k", [1.0, 0.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_logmap0_coords_equals_the_composed_map_with_its_gradient(k, dtype):
    # the series of the gradient's coefficient near 0, the exact form beyond, far out to the cap
    m = Lorentz(k=k)
    g = torch.Generator().manual_seed(2)
    directions = torch.nn.functional.normalize(torch.randn(50, 5, generator=g, dtype=torch.float64), dim=-1)
    lengths = torch.cat([torch.logspace(-6, 0, 25, dtype=torch.float64),
                         torch.tensor([0.0099, 0.01, 0.0101, 0.099, 0.1, 0.101], dtype=torch.float64) / k ** 0.5,
                         torch.linspace(1.0, 0.99 * cap(m, dtype), 19, dtype=torch.float64)])
    y = m.expmap0_coords(directions * lengths.unsqueeze(-1)).to(dtype)
    upstream = torch.randn(50, 5, generator=g, dtype=torch.float64).to(dtype)
    outs, grads = [], []
    for curv in (k, torch.tensor(k, dtype=dtype)):
        leaf = y.clone().requires_grad_()
        out = Lorentz(k=curv).logmap0_coords(leaf) if isinstance(curv, float) else \
            m.tangent0_coords(m.logmap0(leaf))
        out.backward(upstream)
        outs.append(out.detach())
        grads.append(leaf.grad)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outs[0], outs[1], **tol)
    # the composed gradient loses digits to cancellation near 0 in float32: compare with float64's
    reference = y.double().requires_grad_()
    m.logmap0_coords(reference).backward(upstream.double())
    torch.testing.assert_close(grads[0].double(), reference.grad, rtol=1e-4 if dtype == torch.float32 else 1e-10,
                               atol=1e-5 if dtype == torch.float32 else 1e-12)
    assert torch.equal(grads[0][:, 0], torch.zeros_like(grads[0][:, 0]))
    if dtype == torch.float64:
        torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
        assert torch.autograd.gradcheck(m.logmap0_coords, (y[[0, 26, 30, 40]].clone().requires_grad_(),))


@pytest.mark.parametrize("k", [1.0, 0.5])
def test_the_fused_maps_have_second_derivatives(k):
    # the bilevel trainer differentiates gradients (create_graph=True): the
    # fused steps' backward recomputes what it needs under autograd
    from hypgraph.manifolds import conversions as C

    m = Lorentz(k=k)
    g = torch.Generator().manual_seed(3)
    v = (torch.randn(4, 3, generator=g, dtype=torch.float64) * torch.tensor([[0.01], [0.3], [2.0], [5.0]],
                                                                             dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradgradcheck(m.expmap0_coords, (v,))
    y = m.expmap0_coords(v.detach()).requires_grad_()
    assert torch.autograd.gradgradcheck(m.logmap0_coords, (y,))
    h = (m.to_klein_homogeneous(y.detach()[:2]) * 0.4 + m.to_klein_homogeneous(y.detach()[2:]) * 0.6).requires_grad_()
    w = torch.ones(2, dtype=torch.float64)
    assert torch.autograd.gradgradcheck(lambda t: C.klein_homogeneous_to_lorentz(t, w, k=k), (h,))
