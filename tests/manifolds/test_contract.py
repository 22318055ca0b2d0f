"""One contract suite over every manifold and both float dtypes."""
import pytest
import torch

from hypgraph.manifolds import (Klein, Manifold, Lorentz, PoincareBall, conversions as C,
                                klein_to_lorentz, klein_to_poincare, lorentz_to_klein,
                                lorentz_to_poincare, poincare_to_klein, poincare_to_lorentz)
from hypgraph.manifolds.lorentz import math as L

from .conftest import TOL, points, tangent


def close(a, b, dtype, scale=1.0):
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(a, b, atol=atol * scale, rtol=rtol * scale)


def test_dtype_reaches_the_code(manifold, dtype):
    x = points(manifold, dtype=dtype)
    y = points(manifold, seed=3, dtype=dtype)
    u = tangent(manifold, x)
    assert x.dtype == dtype
    for out in (manifold.dist(x, y), manifold.expmap(x, u), manifold.logmap(x, y),
                manifold.projx(x), manifold.egrad2rgrad(x, u), manifold.transp(x, y, u),
                manifold.dist0(x), manifold.logmap0(x), manifold.inner(x, u)):
        assert out.dtype == dtype
    # a single point gives 0-dim results, which a float64 curvature would promote
    assert manifold.dist(x[0], y[0]).dtype == dtype and manifold.dist0(x[0]).dtype == dtype


def test_projx_lands_on_manifold(manifold, dtype):
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(64, manifold.coord_dim(4), generator=g, dtype=dtype) * 3
    x = manifold.projx(raw)
    assert manifold.check_point(x), manifold.check_point(x, explain=True)
    close(manifold.projx(x), x, dtype)  # idempotent


def test_exp_log_inverse(manifold, dtype):
    x = points(manifold, dtype=dtype)
    y = points(manifold, seed=5, dtype=dtype)
    close(manifold.expmap(x, manifold.logmap(x, y)), y, dtype, scale=10)
    u = tangent(manifold, x)
    close(manifold.logmap(x, manifold.expmap(x, u)), u, dtype, scale=10)


def test_exp0_log0_match_general_maps(manifold, dtype):
    x = points(manifold, dtype=dtype)
    o = manifold.origin(*x.shape, dtype=dtype)
    close(manifold.logmap0(x), manifold.logmap(o, x), dtype, scale=10)
    u = manifold.logmap0(x)
    close(manifold.expmap0(u), x, dtype, scale=10)
    close(manifold.dist0(x), manifold.dist(o, x), dtype, scale=10)


def test_logmap0_coords_are_the_intrinsic_coordinates_of_logmap0(manifold, dtype):
    x = points(manifold, dtype=dtype)
    coords = manifold.logmap0_coords(x)
    assert coords.shape[-1] == x.shape[-1] - manifold.extra_dims
    torch.testing.assert_close(coords, manifold.tangent0_coords(manifold.logmap0(x)), rtol=0, atol=0)
    close(manifold.expmap0(manifold.tangent0(coords)), x, dtype, scale=10)
    close(manifold.expmap0_coords(coords), x, dtype, scale=10)
    close(manifold.expmap0_coords(coords), manifold.expmap0(manifold.tangent0(coords)), dtype)


def test_dist_symmetric_and_zero_on_diagonal(manifold, dtype):
    x = points(manifold, dtype=dtype)
    y = points(manifold, seed=7, dtype=dtype)
    close(manifold.dist(x, y), manifold.dist(y, x), dtype)
    assert (manifold.dist(x, x) < (1e-3 if dtype == torch.float32 else 1e-7)).all()
    assert (manifold.dist(x, y) >= 0).all()


def test_triangle_inequality(manifold, dtype):
    x, y, z = (points(manifold, seed=s, std=1.0, dtype=dtype) for s in (1, 2, 3))
    slack = 1e-4 if dtype == torch.float32 else 1e-10
    assert (manifold.dist(x, z) <= manifold.dist(x, y) + manifold.dist(y, z) + slack).all()


def test_dist_along_exp_equals_tangent_norm(manifold, dtype):
    x = points(manifold, dtype=dtype)
    u = tangent(manifold, x, std=0.4)
    close(manifold.dist(x, manifold.expmap(x, u)), manifold.norm(x, u), dtype, scale=10)


def test_logmap_is_tangent_and_has_norm_dist(manifold, dtype):
    x = points(manifold, dtype=dtype)
    y = points(manifold, seed=9, dtype=dtype)
    v = manifold.logmap(x, y)
    close(manifold.proju(x, v), v, dtype, scale=10)
    close(manifold.norm(x, v), manifold.dist(x, y), dtype, scale=10)


def test_transport_is_isometric_and_maps_log_to_minus_log(manifold, dtype):
    x = points(manifold, dtype=dtype)
    y = points(manifold, seed=11, dtype=dtype)
    u, w = tangent(manifold, x, seed=1), tangent(manifold, x, seed=2)
    tu, tw = manifold.transp(x, y, u), manifold.transp(x, y, w)
    close(manifold.inner(y, tu, tw), manifold.inner(x, u, w), dtype, scale=10)
    close(tu, manifold.proju(y, tu), dtype, scale=10)
    close(manifold.transp(x, y, manifold.logmap(x, y)), -manifold.logmap(y, x), dtype, scale=10)


def test_egrad2rgrad_is_riemannian_gradient(manifold):
    # <rgrad, u>_x must equal the directional derivative <egrad, u> for tangent u.
    x = points(manifold)
    y = points(manifold, seed=4)
    xr = x.clone().requires_grad_(True)
    manifold.dist(xr, y).pow(2).sum().backward()
    rgrad = manifold.egrad2rgrad(x, xr.grad)
    u = tangent(manifold, x)
    torch.testing.assert_close(manifold.inner(x, rgrad, u), (xr.grad * u).sum(-1), atol=1e-9, rtol=1e-9)
    # and the gradient of d^2/2 is -log_x(y)
    torch.testing.assert_close(rgrad / 2, -manifold.logmap(x, y), atol=1e-8, rtol=1e-8)


def test_decay_egrad_converts_to_the_pull_toward_the_origin(manifold):
    # egrad2rgrad(x, decay_egrad(x)) = grad of d(o, x)^2 / 2 = -log_x(o), at
    # ordinary points, the origin, next to it and far from it, and the closed
    # form is a Euclidean gradient of dist0^2 / 2 (the base class's autograd)
    x = torch.cat([points(manifold, std=1.5), manifold.origin(1, manifold.coord_dim(5), dtype=torch.float64),
                   manifold.expmap0(1e-9 * manifold.logmap0(points(manifold, n=2, seed=5)))])
    if not manifold.is_flat:
        x = torch.cat([x, manifold.expmap0(manifold.logmap0(points(manifold, n=4, seed=6)) * 8)])
    rgrad = manifold.egrad2rgrad(x, manifold.decay_egrad(x))
    pull = -manifold.logmap(x, manifold.origin(*x.shape, dtype=x.dtype))
    scale = pull.abs().amax(-1, keepdim=True).clamp_min(1)  # far points: coordinates ~1e3
    torch.testing.assert_close(rgrad / scale, pull / scale, atol=1e-12, rtol=1e-10)
    by_autograd = Manifold.decay_egrad(manifold, x)
    torch.testing.assert_close(manifold.egrad2rgrad(x, by_autograd) / scale, pull / scale, atol=1e-12, rtol=1e-10)
    assert torch.isfinite(by_autograd).all()


def test_decay_egrad_gradcheck(manifold):
    # the optimisers' differentiable step (a learned proxy) goes through it
    x = points(manifold, n=6, dim=3, std=1.0).requires_grad_(True)
    assert torch.autograd.gradcheck(manifold.decay_egrad, (x,))


def test_random_is_seeded(manifold):
    a = manifold.random(4, manifold.coord_dim(3), generator=torch.Generator().manual_seed(3))
    b = manifold.random(4, manifold.coord_dim(3), generator=torch.Generator().manual_seed(3))
    c = manifold.random(4, manifold.coord_dim(3), generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert manifold.check_point(a)


@pytest.mark.parametrize("k", [1.0, 0.3, 2.5])
def test_conversions_round_trip_and_preserve_distance(k, dtype):
    lor, poi, kle = Lorentz(k=k), PoincareBall(k=k), Klein(k=k)
    x = points(lor, dtype=dtype)
    y = points(lor, seed=2, dtype=dtype)
    kx = lorentz_to_klein(x, k=k)
    px = klein_to_poincare(kx, k=k)
    close(poincare_to_lorentz(px, k=k), x, dtype, scale=10)
    close(klein_to_lorentz(kx, k=k), x, dtype, scale=10)
    close(poincare_to_klein(lorentz_to_poincare(x, k=k), k=k), kx, dtype, scale=10)
    ky, py = lorentz_to_klein(y, k=k), lorentz_to_poincare(y, k=k)
    d = lor.dist(x, y)
    close(poi.dist(px, py), d, dtype, scale=10)
    close(kle.dist(kx, ky), d, dtype, scale=10)
    close(poi.dist(px, klein_to_poincare(ky, k=k)), d, dtype, scale=10)


def test_lorentz_distance_matches_arcosh_of_inner_product():
    m = Lorentz(k=0.7)
    x, y = points(m), points(m, seed=1)
    expected = torch.acosh(-0.7 * L.inner(x, y)) / 0.7 ** 0.5  # Chamberlain 2019, Eq. 9
    torch.testing.assert_close(m.dist(x, y), expected, atol=1e-10, rtol=1e-10)


def test_lorentz_margin_follows_eq19():
    m = Lorentz(margin=1e-6)
    x, y = points(m), points(m, seed=1)
    expected = torch.acosh(-L.inner(x, y) + 1e-6)
    torch.testing.assert_close(m.dist(x, y), expected, atol=1e-10, rtol=1e-10)
    assert (m.dist(x, x) > 0).all()  # the margin keeps d(x, x) off the singularity


def test_poincare_distance_matches_mobius_formula():
    m = PoincareBall(k=1.7)
    x, y = points(m), points(m, seed=1)
    w = m.mobius_add(-x, y)
    expected = 2 / 1.7 ** 0.5 * torch.atanh(1.7 ** 0.5 * w.norm(dim=-1))  # Hyper-Know, Eq. 1
    torch.testing.assert_close(m.dist(x, y), expected, atol=1e-10, rtol=1e-10)


def test_gyration_matches_its_definition():
    from hypgraph.manifolds.poincare import math as P
    m = PoincareBall(k=0.8)
    u, v, w = (points(m, seed=s) for s in (1, 2, 3))
    add = lambda a, b: P.mobius_add(a, b, k=0.8)  # noqa: E731
    expected = add(-add(u, v), add(u, add(v, w)))
    torch.testing.assert_close(P.gyration(u, v, w, k=0.8), expected, atol=1e-10, rtol=1e-10)


def test_mobius_left_cancellation():
    m = PoincareBall(k=1.3)
    x, y = points(m, seed=1), points(m, seed=2)
    torch.testing.assert_close(m.mobius_add(-x, m.mobius_add(x, y)), y, atol=1e-10, rtol=1e-10)


def test_klein_metric_is_pullback_of_lorentz_metric():
    from hypgraph.manifolds.klein import math as K
    m = Klein(k=0.6)
    x = points(m)
    u, w = tangent(m, x, seed=1), tangent(m, x, seed=2)
    pu, pw = K.pushforward(x, u, k=0.6), K.pushforward(x, w, k=0.6)
    torch.testing.assert_close(m.inner(x, u, w), L.inner(pu, pw), atol=1e-10, rtol=1e-10)
    xl = C.klein_to_lorentz(x, k=0.6)
    torch.testing.assert_close(K.pullback(xl, pu, k=0.6), u, atol=1e-10, rtol=1e-10)


def test_check_point_rejects_off_manifold_points():
    lor = Lorentz()
    x = points(lor)
    assert lor.check_point(x)
    ok, reason = lor.check_point(x * 1.1, explain=True)
    assert not ok and "-1/k" in reason
    assert not lor.check_point(-x)
    assert not PoincareBall().check_point(torch.tensor([[0.8, 0.7]]))
    assert not Klein().check_point(torch.tensor([[float("nan"), 0.0]]))


def test_curvature_validation_and_repr():
    with pytest.raises(ValueError, match="-2"):
        Lorentz(k=-2.0)
    assert str(Lorentz()) == "Lorentz(k=1)"
    assert str(PoincareBall(k=0.5, learnable=True)) == "PoincareBall(k=0.5, learnable=True)"
    assert str(Klein()) == "Klein(k=1)"


def test_the_manifold_says_whether_it_is_flat(manifold):
    # what models and ablations ask instead of testing the class
    assert manifold.is_flat == (manifold.name == "euclidean")


def test_learnable_curvature_gets_gradient_and_stays_positive():
    m = PoincareBall(k=0.5, learnable=True)
    assert abs(float(m.k.detach()) - 0.5) < 1e-12
    x, y = points(m, std=0.3), points(m, seed=1, std=0.3)
    m.dist(x, y).sum().backward()
    raw = m.curvature.raw
    assert raw.grad is not None and torch.isfinite(raw.grad)
    with torch.no_grad():
        raw.fill_(-30.0)
    assert float(m.k.detach()) > 0


@pytest.mark.parametrize("name", ["lorentz-k0.5", "klein-k0.7"])
def test_generic_translation_is_mobius_addition_in_other_coordinates(name):
    from .conftest import MANIFOLDS
    m = MANIFOLDS[name]()
    k = m.k
    to_p = (lambda a: lorentz_to_poincare(a, k=k)) if isinstance(m, Lorentz) else (lambda a: klein_to_poincare(a, k=k))
    x, y = points(m, seed=1), points(m, seed=2)
    ball = PoincareBall(k=float(k))
    torch.testing.assert_close(to_p(m.mobius_add(x, y)), ball.mobius_add(to_p(x), to_p(y)), atol=1e-9, rtol=1e-9)


def test_generic_translation_matches_closed_form_in_the_ball():
    from hypgraph.manifolds.base import Manifold
    m = PoincareBall(k=1.3)
    x, y = points(m, seed=1), points(m, seed=2)
    torch.testing.assert_close(Manifold.mobius_add(m, x, y), m.mobius_add(x, y), atol=1e-10, rtol=1e-10)


def test_lorentz_tangent_norm_is_accurate_far_from_origin():
    # 15 units out, tangent vectors have ambient coordinates ~ x0 = cosh(15):
    # the Minkowski square of u cancels ~1e13 and loses most digits, the
    # tangent_norm decomposition does not. Vectors of known length come from
    # transporting vectors of length 0.5 from the origin (an isometry whose
    # formula has no cancellation).
    m = Lorentz()
    g = torch.Generator().manual_seed(0)
    u0 = torch.nn.functional.normalize(torch.randn(16, 3, generator=g, dtype=torch.float64), dim=-1) * 15
    x = m.expmap0(torch.cat([torch.zeros(16, 1, dtype=torch.float64), u0], -1))
    w = torch.nn.functional.normalize(torch.randn(16, 3, generator=g, dtype=torch.float64), dim=-1) * 0.5
    o = m.origin(16, 4, dtype=torch.float64)
    v = m.transp(o, x, torch.cat([torch.zeros(16, 1, dtype=torch.float64), w], -1))
    half = torch.full((16,), 0.5, dtype=torch.float64)
    torch.testing.assert_close(m.norm(x, v), half, atol=1e-9, rtol=0)
    assert float((L.norm(v) - half).abs().max()) > 1e-6  # what the cancellation costs


@pytest.mark.parametrize("offset", [2.220446049250313e-16, 1e-8, 1e-160, 1e-200, 1e-300, 5e-324, 0.0])
def test_lorentz_tangent_norm_is_exact_next_to_the_origin(offset):
    # Points within ~1e-15 of the origin: the tangent_norm decomposition must
    # divide |x_s| out exactly (a floor on |x_s|^2 made the norm at 2.2e-16 off
    # by 2.4 %, and |x_s|^2 underflows below 1e-154). There u_0 is negligible,
    # so the plain Minkowski norm is the exact reference.
    m = Lorentz()
    x = m.expmap0(torch.tensor([0.0, offset, 0.0, 0.0], dtype=torch.float64))
    u = m.proju(x, torch.tensor([0.0, 0.3, -0.4, 1.2], dtype=torch.float64))
    torch.testing.assert_close(m.norm(x, u), L.norm(u), atol=0, rtol=1e-15)
    y = m.expmap0(torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(m.expmap(x, m.logmap(x, y)), y, atol=1e-15, rtol=0)


def test_pairwise_dist_matches_dist(manifold, dtype):
    x = points(manifold, n=7, dtype=dtype)
    y = points(manifold, n=5, seed=3, dtype=dtype)
    expected = manifold.dist(x.unsqueeze(1), y.unsqueeze(0))
    got = manifold.pairwise_dist(x, y)
    assert got.shape == (7, 5) and got.dtype == dtype
    tol = 2e-3 if dtype == torch.float32 else 1e-7
    torch.testing.assert_close(got, expected, atol=tol, rtol=tol)


def test_lorentz_pairwise_dist_keeps_the_margin():
    m = Lorentz(margin=1e-6)
    x = points(m, n=4)
    torch.testing.assert_close(m.pairwise_dist(x, x).diagonal(), m.dist(x, x), atol=1e-9, rtol=1e-6)


def test_expmap_transp_equals_expmap_then_transp(manifold, dtype):
    # the fused step (closed-form inner products on the hyperboloid) against
    # the two separate calls, including a v that is not parallel to u
    x = points(manifold, n=16, dtype=dtype)
    u = tangent(manifold, x, seed=3).to(dtype)
    v = tangent(manifold, x, seed=4).to(dtype)
    y, w = manifold.expmap_transp(x, u, v)
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(y, manifold.expmap(x, u), atol=atol, rtol=rtol)
    torch.testing.assert_close(w, manifold.transp(x, manifold.expmap(x, u), v), atol=atol, rtol=rtol)


@pytest.mark.parametrize("per_point", [False, True])
def test_geodesic_step_equals_expmap_transp_along_v(manifold, dtype, per_point):
    # the optimisers' step: move t*v and carry v; closed form on the hyperboloid
    x = points(manifold, n=16, dtype=dtype)
    v = tangent(manifold, x, seed=5).to(dtype)
    t = -0.7
    if per_point:  # Adam's per-point step, including a zero step
        t = -torch.rand(16, 1, dtype=dtype, generator=torch.Generator().manual_seed(6)) * 2
        t[3] = 0.0
    y, w = manifold.geodesic_step(x, v, t)
    y_ref = manifold.expmap(x, v * t)
    w_ref = manifold.transp(x, y_ref, v)
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(y, y_ref, atol=atol, rtol=rtol)
    torch.testing.assert_close(w, w_ref, atol=atol, rtol=rtol)
    if per_point:
        torch.testing.assert_close(y[3], x[3], atol=atol, rtol=rtol)
        torch.testing.assert_close(w[3], v[3], atol=atol, rtol=rtol)


@pytest.mark.parametrize("per_point", [False, True])
def test_geodesic_step_in_place_equals_geodesic_step(manifold, dtype, per_point):
    # what the optimisers call: x and v overwritten with y and w
    x = points(manifold, n=16, dtype=dtype)
    v = tangent(manifold, x, seed=5).to(dtype)
    t = -0.7
    if per_point:
        t = -torch.rand(16, 1, dtype=dtype, generator=torch.Generator().manual_seed(6)) * 2
        t[3] = 0.0
    y, w = manifold.geodesic_step(x, v, t)
    x_, v_ = x.clone(), v.clone()
    assert manifold.geodesic_step_(x_, v_, t) is None
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(x_, y, atol=atol, rtol=rtol)
    torch.testing.assert_close(v_, w, atol=atol, rtol=rtol)
