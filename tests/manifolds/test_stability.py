"""float32 must give finite values and gradients near the Poincaré boundary,
far out on the hyperboloid, and at coincident points."""
import pytest
import torch

from hypgraph.manifolds import (Klein, Lorentz, PoincareBall, einstein_midpoint,
                                lorentz_to_klein, lorentz_to_poincare, poincare_to_klein,
                                poincare_to_lorentz)
from hypgraph.manifolds.lorentz import math as L
from hypgraph.manifolds.poincare import math as P

from .conftest import MANIFOLDS


def finite(*tensors):
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def boundary_points(n=64, dim=4, max_norm=1 - 1e-6, seed=0):
    g = torch.Generator().manual_seed(seed)
    direction = torch.nn.functional.normalize(torch.randn(n, dim, generator=g), dim=-1)
    # norms from the centre right up to 1 - 1e-6, densest near the boundary
    gap = torch.logspace(0, torch.log10(torch.tensor(1 - max_norm)).item(), n)
    return direction * (1 - gap).clamp(0, max_norm).unsqueeze(-1)


def test_poincare_float32_near_boundary_is_finite():
    m = PoincareBall()
    x = boundary_points().requires_grad_(True)
    y = boundary_points(seed=1).requires_grad_(True)
    assert float(x.detach().norm(dim=-1).max()) >= 1 - 2e-6
    outs = [m.dist(x, y), m.dist0(x), m.logmap(x, y), m.logmap0(x), m.expmap(x, m.logmap(x, y)),
            m.mobius_add(x, y), m.egrad2rgrad(x, y), m.transp(x, y, y),
            poincare_to_lorentz(x), poincare_to_klein(x),
            einstein_midpoint(torch.stack([x, y], 1), manifold=m)]
    assert finite(*outs)
    sum(o.sum() for o in outs).backward()
    assert finite(x.grad, y.grad)
    # distances grow without saturating: d(0, x) for |x| = 1 - 1e-6 is ~14.5
    assert float(m.dist0(x.detach()).max()) > 14.0
    assert float(m.dist(x.detach(), -x.detach()).max()) > 28.0


def test_poincare_boundary_distances_match_float64():
    m = PoincareBall()
    x, y = boundary_points(max_norm=1 - 1e-5), boundary_points(max_norm=1 - 1e-5, seed=1)
    d32, d64 = m.dist(x, y), m.dist(x.double(), y.double())
    # Both read the same float32 points: the difference is rounding inside dist.
    # d = 2 arsinh(sqrt z), z = |x-y|^2 / ((1-|x|^2)(1-|y|^2)), and
    # |dd| = sqrt(z / (1+z)) |dz| / z <= |dz| / z: d's absolute error is at most
    # z's relative error (to first order). |x|^2 is a sum of n rounded squares,
    # off by at most n u |x|^2 (u = 2^-24), and 1 - |x|^2 is then exact
    # (Sterbenz), so 1 - |x|^2 is off relatively by n u / (1 - |x|^2): the
    # conditioning at the boundary, 4e-3 at |x| = 1 - 1e-5. The rest of z
    # (|x-y|^2, the product and quotient) adds (n + 4) u relative, sqrt u/2,
    # and asinh (1 ulp) and the factor 2 add 2 u relative to d.
    # (Seeds 0-11 of boundary_points: the error reaches 0.19-0.29 of this bound.)
    u, n = 2.0 ** -24, x.size(-1)
    one_minus_x2 = 1 - x.double().pow(2).sum(-1)
    one_minus_y2 = 1 - y.double().pow(2).sum(-1)
    bound = n * u * (1 / one_minus_x2 + 1 / one_minus_y2) + (n + 5 + 2 * d64) * u
    error = (d32.double() - d64).abs()
    assert (error <= bound).all(), (error / bound).max()
    # the points reach the boundary (bound 2e-2 there, d = 24) and the centre
    # (bound 1e-6, d = 0)
    assert d64.max() > 20 and bound.max() > 1e-2 and bound.min() < 2e-6


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_poincare_float32_mobius_difference_of_nearby_boundary_points_matches_float64(k):
    # w = -x (+) y for points near the boundary at hyperbolic distance ~0.5:
    # its denominator 1 - 2k<x,y> + k^2|x|^2|y|^2 ~ 1e-10 is computed as
    # k|y - x|^2 + (1 - k|x|^2)(1 - k|y|^2), so w (and logmap, and the
    # distance it implies) is the float64 one on the same float32 points up to
    # float32's error in 1 - k|x|^2 and 1 - k|y|^2 (n u / (1 - k|x|^2) each,
    # as in the test above); the expanded form returned noise there.
    m = PoincareBall(k=k)
    x64 = boundary_points(n=128, dim=8, max_norm=1 - 1e-5, seed=3).double() / k ** 0.5
    g = torch.Generator().manual_seed(4)
    step = torch.randn(128, 8, generator=g, dtype=torch.float64)
    y64 = m.expmap(x64, 0.5 * step / m.norm(x64, step, keepdim=True))
    x, y = x64.float(), y64.float()
    x64, y64 = x.double(), y.double()  # the same float32 points in float64
    u, n = 2.0 ** -24, x.size(-1)
    conditioning = sum(n * u / (1 - k * z.square().sum(-1)) for z in (x64, y64)) + 8 * n * u
    w32, w64 = m.mobius_add(-x, y), m.mobius_add(-x64, y64)
    error = (w32.double() - w64).norm(dim=-1) / w64.norm(dim=-1)
    assert (error <= 2 * conditioning).all(), float((error / conditioning).max())
    assert conditioning.max() > 1e-3  # the points do reach the boundary
    # |logmap_x y|_x is the distance (float64, same float32 points; ~0.5)
    log_norm, d64 = m.norm(x64, m.logmap(x, y).double()), m.dist(x64, y64)
    assert ((log_norm - d64).abs() <= 2 * conditioning * d64).all()
    assert (d64 - 0.5).abs().max() < 0.01


@pytest.mark.parametrize("k", [1.0, 0.5])
def test_poincare_float32_closed_form_dist_gradient_at_boundary_and_coincident_points(k):
    # P.dist's hand-written backward: finite at |x| = 1 - 1e-6 and 0 at x = y,
    # and the same as autograd through the formula (P._dist_formula)
    m = PoincareBall(k=k)
    x = boundary_points(seed=2) / k ** 0.5
    y = boundary_points(seed=3) / k ** 0.5
    x[:8] = torch.nn.functional.normalize(x[:8], dim=-1) * (1 - 1e-6) / k ** 0.5
    y[8:16] = x[8:16]  # coincident pairs
    y[:4] = x[:4]      # coincident on the boundary
    a, b = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    d = m.dist(a, b)
    assert "ClosedForm" in d.grad_fn.next_functions[0][0].name()
    d.sum().backward()
    assert finite(d, a.grad, b.grad)
    assert bool((a.grad[:4] == 0).all() and (a.grad[8:16] == 0).all() and (b.grad[8:16] == 0).all())
    ra, rb = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    P._dist_formula(ra, rb, m._like(ra), -1, False).sum().backward()
    # the two round differently (the gradient reaches ~1e6 here)
    torch.testing.assert_close(a.grad, ra.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(b.grad, rb.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("radius", [1.0, 5.0, 10.0, 20.0])
def test_lorentz_float32_far_from_origin_is_finite(radius):
    m = Lorentz()
    g = torch.Generator().manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(32, 6, generator=g), dim=-1) * radius
    u = torch.cat([torch.zeros(32, 1), v[:, 1:]], -1)
    x = m.expmap0(u).requires_grad_(True)
    y = m.expmap0(u.roll(1, 0)).requires_grad_(True)
    torch.testing.assert_close(m.dist0(x), torch.full((32,), radius) * u[:, 1:].norm(dim=-1) / radius,
                               rtol=1e-3, atol=1e-3)
    outs = [m.dist(x, y), m.logmap(x, y), m.expmap(x, m.logmap(x, y) / m.dist(x, y, keepdim=True)), m.transp(x, y, m.proju(x, y)),
            m.egrad2rgrad(x, y), lorentz_to_poincare(x), lorentz_to_klein(x), m.dist0(x),
            einstein_midpoint(torch.stack([x, y], 1), manifold=m)]
    assert finite(*outs)
    sum(o.sum() for o in outs).backward()
    assert finite(x.grad, y.grad)
    # the constraint holds relative to the size of the time coordinate
    x0 = x.detach()[:, 0]
    assert ((L.inner(x.detach(), x.detach()) + 1).abs() <= 1e-4 * x0 ** 2).all()


@pytest.mark.parametrize("radius", [25.0, 30.0, 32.0])
def test_lorentz_float32_log_and_exp_finite_near_the_cap(radius):
    # projx caps float32 points at 40. logmap's direction y + <x, y> x has
    # coordinates ~ x0^2 y0 (overflow past 30), and the gradients of logmap
    # and tangent_norm overflowed past 25; the unit geodesic step from the log
    # keeps values and gradients finite up to 32. (A vector of size y0 made
    # tangent at x, as proju(x, y) or egrad2rgrad(x, y) do, is ~ x0^2 y0
    # itself: not representable there, so not asked for.)
    m = Lorentz()
    g = torch.Generator().manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(32, 5, generator=g), dim=-1) * radius
    u = torch.cat([torch.zeros(32, 1), v], -1)
    x = m.expmap0(u).requires_grad_(True)
    y = m.expmap0(u.roll(1, 0)).requires_grad_(True)
    d = m.dist(x, y, keepdim=True)
    log = m.logmap(x, y)
    outs = [d, log, m.expmap(x, log / d), m.dist0(x), einstein_midpoint(torch.stack([x, y], 1), manifold=m)]
    assert finite(*outs)
    sum(o.sum() for o in outs).backward()
    assert finite(x.grad, y.grad)


@pytest.mark.parametrize("radius", [1e-6, 1.0, 20.0, 39.0, 45.0])
def test_lorentz_float32_weight_decay_direction_is_finite_and_matches_float64(radius):
    # the weight decay's Euclidean gradient on the hyperboloid, converted, is
    # -log_x(o) = arsinh(a) (|x_s|, x0 x_s / |x_s|): finite out to projx's cap
    # (45 is pulled back to it) and as accurate as float64 relative to its size
    m = Lorentz()
    g = torch.Generator().manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(16, 5, generator=g, dtype=torch.float64), dim=-1) * radius
    x32 = m.projx(m.expmap0(torch.cat([torch.zeros(16, 1, dtype=torch.float64), v], -1)).float())
    x64 = m.projx(x32.double())  # the same points (45 is pulled back to float32's cap, 40)
    pull32 = m.egrad2rgrad(x32, m.decay_egrad(x32))
    assert finite(m.decay_egrad(x32), pull32)
    pull64 = m.egrad2rgrad(x64, m.decay_egrad(x64))
    size = pull64.abs().amax(-1, keepdim=True)
    assert ((pull32.double() - pull64).abs() / size).max() < 1e-5
    r = x64[:, 1:].norm(dim=-1, keepdim=True)
    closed = torch.asinh(r) * torch.cat([r, x64[:, :1] * x64[:, 1:] / r], -1)
    assert ((pull64 - closed)[:, 1:].abs() / size).max() < 1e-12
    # the time coordinate is a difference of terms of size k x0^2 e0 ~ 1 next
    # to the origin (where it is ~|x_s|^2): accurate to rounding of those
    assert ((pull64 - closed)[:, 0].abs() / closed[:, 0].abs().clamp_min(1)).max() < 1e-14


@pytest.mark.parametrize("name", ["poincare", "klein"])
def test_ball_float32_weight_decay_direction_is_finite_at_the_boundary(name):
    m = MANIFOLDS[name]()
    g = torch.Generator().manual_seed(0)
    x = m.projx(torch.nn.functional.normalize(torch.randn(16, 5, generator=g), dim=-1))  # at projx's rim
    pull = m.egrad2rgrad(x, m.decay_egrad(x))
    assert finite(m.decay_egrad(x), pull)
    # at the rim 1 - |x|^2 ~ 2e-6 is known to ~5% in float32 (|x|^2 rounds at
    # 1e-7), as it is for logmap; in float64 at the same points it is exact
    x64 = x.double()
    exact = -m.logmap(x64, torch.zeros_like(x64))
    assert ((pull.double() - exact).norm(dim=-1) / exact.norm(dim=-1)).max() < 0.1
    pull64 = m.egrad2rgrad(x64, m.decay_egrad(x64))
    assert ((pull64 - exact).norm(dim=-1) / exact.norm(dim=-1)).max() < 1e-8


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_identical_points_give_finite_gradients(name, dtype):
    m = MANIFOLDS[name]()
    x = m.random(8, m.coord_dim(3), generator=torch.Generator().manual_seed(0), dtype=dtype)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    d = m.dist(a, b)
    (d.sum() + m.logmap(a, b).sum()).backward()
    assert finite(d, a.grad, b.grad)
    assert float(d.detach().max()) < (1e-3 if dtype == torch.float32 else 1e-6)


@pytest.mark.parametrize("name", list(MANIFOLDS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tangent_magnitudes_from_1e_15_to_1(name, dtype):
    m = MANIFOLDS[name]()
    x = m.random(16, m.coord_dim(3), generator=torch.Generator().manual_seed(1), dtype=dtype)
    direction = m.proju(x, torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=dtype))
    direction = direction / m.norm(x, direction, keepdim=True)
    for mag in [1e-15, 1e-10, 1e-6, 1e-3, 1.0]:
        u = (direction * mag).requires_grad_(True)
        xs = x.clone().requires_grad_(True)
        y = m.expmap(xs, u)
        (y.sum() + m.logmap(xs, y).sum() + m.expmap0(u).sum()).backward()
        assert finite(y, u.grad, xs.grad), (name, mag)


def test_klein_near_boundary_is_finite():
    m = Klein()
    x = boundary_points().requires_grad_(True)
    y = boundary_points(seed=3).requires_grad_(True)
    outs = [m.dist(x, y), m.logmap0(x), m.egrad2rgrad(x, y), einstein_midpoint(torch.stack([x, y], 1), manifold=m)]
    assert finite(*outs)
    sum(o.sum() for o in outs).backward()
    assert finite(x.grad, y.grad)


def test_lorentz_tangent_norm_does_not_overflow_at_the_cap():
    # float32 points at projx's cap (coordinates ~1e17) carry Riemannian
    # gradients with coordinates ~1e28 whose norm is ~1e17: the squares
    # overflow, the norm must not (a NaN here made Adam steps NaN)
    M = Lorentz()
    x = M.random(64, 6, std=30.0, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    grad = torch.randn(64, 6, generator=torch.Generator().manual_seed(1)) * 1e2
    u = M.egrad2rgrad(x, grad)
    assert torch.isfinite(u).all() and u.abs().max() > 1e25
    norm = M.norm(x, u)
    # (its value is rounding noise: u is nearly parallel to x_s there, and
    # float32 cannot resolve the tangent part; finite and bounded is the claim)
    assert torch.isfinite(norm).all() and (norm > 0).all()
    assert (norm <= u[:, 1:].norm(dim=-1) * (1 + 1e-3)).all()  # <u,u>_L = |u_s|^2 - u_0^2
    # rows that did not overflow are computed exactly as before
    small = M.random(8, 6, std=0.5, generator=torch.Generator().manual_seed(2), dtype=torch.float32)
    v = M.egrad2rgrad(small, torch.randn(8, 6, generator=torch.Generator().manual_seed(3)))
    both = M.norm(torch.cat([small, x]), torch.cat([v, u]))
    assert torch.equal(both[:8], M.norm(small, v))


@pytest.mark.parametrize("radius", [5.0, 15.0, 39.0])
def test_lorentz_float32_distance_gradient_far_out_matches_finite_differences(radius):
    # the closed-form gradient of dist, in float32 far from the origin, against
    # central differences of the float64 distance along each space coordinate
    # (autograd through the distance formula itself is off by 2x at radius 39
    # even in float64: its terms cancel)
    m = Lorentz(margin=1e-6)
    g = torch.Generator().manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(8, 5, generator=g, dtype=torch.float64), dim=-1) * radius
    w = v + 0.3 * torch.randn(8, 5, generator=g, dtype=torch.float64)
    pad = torch.zeros(8, 1, dtype=torch.float64)
    x64, y64 = m.expmap0(torch.cat([pad, v], -1)), m.expmap0(torch.cat([pad, w], -1))
    x = x64.float().requires_grad_(True)
    d = m.dist(x, y64.float())
    d.sum().backward()
    assert finite(d, x.grad)
    assert bool((x.grad[:, 0] == 0).all())  # the time coordinate is recomputed from the space ones
    numeric = torch.zeros_like(x64)
    for i in range(1, 6):
        step = torch.zeros_like(x64)
        step[:, i] = x64[:, 1:].abs().amax(-1) * 1e-7
        numeric[:, i] = (L.dist(x64 + step, y64) - L.dist(x64 - step, y64)) / (2 * step[:, i])
    scale = numeric.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(x.grad.double() / scale, numeric / scale, rtol=0, atol=1e-3)
