"""The Einstein midpoint (Chamberlain 2019 Eq. 24-25, Hyper-Know Eq. 5)."""
import math

import pytest
import torch

from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall, einstein_midpoint, frechet_mean
from hypgraph.manifolds import conversions as C

from .conftest import points


def test_single_point_and_copies(manifold, dtype):
    x = points(manifold, n=5, dtype=dtype)
    tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(einstein_midpoint(x.unsqueeze(-2), manifold=manifold), x, **tol)
    copies = x.unsqueeze(-2).expand(5, 7, x.size(-1))
    w = torch.rand(5, 7, dtype=dtype) + 0.1
    torch.testing.assert_close(einstein_midpoint(copies, w, manifold=manifold), x, **tol)


def test_two_points_lie_on_geodesic_at_equal_distance(manifold):
    x, y = points(manifold, seed=1), points(manifold, seed=2)
    m = einstein_midpoint(torch.stack([x, y], -2), manifold=manifold)
    dx, dy, dxy = manifold.dist(m, x), manifold.dist(m, y), manifold.dist(x, y)
    torch.testing.assert_close(dx, dy, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(dx + dy, dxy, atol=1e-9, rtol=1e-9)


def test_matches_explicit_klein_formula(hyperbolic):
    # Eq. 24 with the true Lorentz factor 1/sqrt(1 - c|kappa|^2), evaluated
    # literally in Klein coordinates, against the homogeneous-coordinate code.
    x = points(hyperbolic, n=6, std=0.8)
    w = torch.rand(6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    c = _curvature(hyperbolic)
    kappa = _to_klein(hyperbolic, x)
    gamma = 1 / torch.sqrt(1 - c * kappa.pow(2).sum(-1))
    expected = ((w * gamma).unsqueeze(-1) * kappa).sum(0) / (w * gamma).sum()
    got = _to_klein(hyperbolic, einstein_midpoint(x, w, manifold=hyperbolic))
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)


def _curvature(manifold):
    return manifold.k


def _to_klein(manifold, x):
    if isinstance(manifold, Lorentz):
        return C.lorentz_to_klein(x, k=manifold.k)
    if isinstance(manifold, PoincareBall):
        return C.poincare_to_klein(x, k=manifold.k)
    return x


def test_weights_act_as_multiplicities(manifold):
    x = points(manifold, n=3)
    weighted = einstein_midpoint(x, torch.tensor([2.0, 1.0, 3.0], dtype=x.dtype), manifold=manifold)
    repeated = einstein_midpoint(x[[0, 0, 1, 2, 2, 2]], manifold=manifold)
    torch.testing.assert_close(weighted, repeated, atol=1e-10, rtol=1e-10)


def _boost(x, t):
    """A Lorentz boost in the (x0, x1) plane: an isometry of the hyperboloid."""
    x0, x1 = x[..., :1], x[..., 1:2]
    return torch.cat([math.cosh(t) * x0 + math.sinh(t) * x1,
                      math.sinh(t) * x0 + math.cosh(t) * x1, x[..., 2:]], -1)


def test_equivariant_under_lorentz_boost():
    m = Lorentz()
    x = points(m, n=9)
    w = torch.rand(9, dtype=torch.float64) + 0.1
    moved = einstein_midpoint(_boost(x, 0.7), w, manifold=m)
    torch.testing.assert_close(moved, _boost(einstein_midpoint(x, w, manifold=m), 0.7), atol=1e-9, rtol=1e-9)
    assert m.check_point(_boost(x, 0.7))


def test_equivariant_under_mobius_translation():
    m = PoincareBall(k=1.5)
    x = points(m, n=9)
    a = points(m, n=1, seed=42)[0] * 0.8
    w = torch.rand(9, dtype=torch.float64) + 0.1
    moved = einstein_midpoint(m.mobius_add(a.expand_as(x), x), w, manifold=m)
    expected = m.mobius_add(a, einstein_midpoint(x, w, manifold=m))
    torch.testing.assert_close(moved, expected, atol=1e-9, rtol=1e-9)


def test_grouped_equals_dense_per_group(manifold):
    x = points(manifold, n=10)
    w = torch.rand(10, dtype=torch.float64) + 0.1
    index = torch.tensor([3, 0, 0, 3, 1, 3, 0, 1, 1, 3])
    out = einstein_midpoint(x, w, manifold=manifold, index=index, dim_size=5)
    assert out.shape == (5, x.size(-1))
    for g in range(4):
        sel = index == g
        if sel.any():
            torch.testing.assert_close(out[g], einstein_midpoint(x[sel], w[sel], manifold=manifold),
                                       atol=1e-10, rtol=1e-10)
    # groups 2 and 4 are empty: the origin
    origin = manifold.origin(2, x.size(-1), dtype=x.dtype)
    torch.testing.assert_close(out[[2, 4]], origin)


def test_euclidean_midpoint_is_weighted_mean():
    x = torch.randn(6, 3, dtype=torch.float64)
    w = torch.rand(6, dtype=torch.float64)
    torch.testing.assert_close(einstein_midpoint(x, w, manifold=Euclidean()),
                               (w[:, None] * x).sum(0) / w.sum())


def test_agrees_with_frechet_mean_on_fig4_scan():
    # Chamberlain 2019, Fig. 4: x = (cosh a, sinh a), -2 <= a <= 2; each point
    # paired with every greater a; the Fréchet mean by 10 gradient steps.
    m = Lorentz()
    alphas = torch.linspace(-2, 2, 21, dtype=torch.float64)
    pts = torch.stack([torch.cosh(alphas), torch.sinh(alphas)], -1)
    i, j = torch.triu_indices(21, 21, offset=1)
    pairs = torch.stack([pts[i], pts[j]], -2)
    ein = einstein_midpoint(pairs, manifold=m)
    fre = frechet_mean(pairs, manifold=m, max_iter=10)
    half = m.dist(pts[i], pts[j]) / 2
    rel = m.dist(ein, fre) / half
    assert float(rel.max()) < 3e-3
    # the midpoint of (cosh a, sinh a) and (cosh b, sinh b) is at (a + b) / 2
    expected = (alphas[i] + alphas[j]) / 2
    torch.testing.assert_close(torch.asinh(ein[:, 1]), expected, atol=1e-12, rtol=1e-12)


def test_frechet_mean_minimises_sum_of_squared_distances(hyperbolic):
    x = points(hyperbolic, n=7, std=0.9)
    f = frechet_mean(x, manifold=hyperbolic)
    cost = lambda p: hyperbolic.dist(p.expand_as(x), x).pow(2).sum()  # noqa: E731
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        u = hyperbolic.proju(f, torch.randn(f.shape, generator=g, dtype=f.dtype)) * 1e-3
        assert cost(hyperbolic.expmap(f, u)) > cost(f)


def test_frechet_mean_rejects_bad_iterations():
    with pytest.raises(ValueError, match="max_iter"):
        frechet_mean(torch.zeros(2, 3), manifold=Euclidean(), max_iter=0)


def _adjacency(index, weights, num_groups, layout):
    adj = torch.sparse_coo_tensor(torch.stack([index, torch.arange(index.numel())]), weights,
                                  (num_groups, index.numel()), check_invariants=True).coalesce()
    return adj.to_sparse_csr() if layout == "csr" else adj


@pytest.mark.filterwarnings("ignore:Converting sparse tensor to CSR")
@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_adjacency_equals_grouped(manifold, layout):
    # adj[g, i] = w_i for the group of point i: the same midpoints as index=,
    # including the empty groups 2 and 4, which get the origin
    x = points(manifold, n=10)
    w = torch.rand(10, dtype=torch.float64) + 0.1
    index = torch.tensor([3, 0, 0, 3, 1, 3, 0, 1, 1, 3])
    expected = einstein_midpoint(x, w, manifold=manifold, index=index, dim_size=5)
    got = einstein_midpoint(x, manifold=manifold, adj=_adjacency(index, w, 5, layout))
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)


def test_sparse_adjacency_counts_repeated_columns(manifold):
    # a row that holds point 0 with value 2 is the midpoint of {x0, x0, x1}
    x = points(manifold, n=2)
    adj = torch.tensor([[2.0, 1.0]], dtype=torch.float64).to_sparse_csr()
    expected = einstein_midpoint(x[[0, 0, 1]], manifold=manifold)
    torch.testing.assert_close(einstein_midpoint(x, manifold=manifold, adj=adj)[0], expected,
                               atol=1e-10, rtol=1e-10)


def test_sparse_adjacency_gradcheck(hyperbolic):
    x = points(hyperbolic, n=6, dim=3).requires_grad_()
    index = torch.tensor([0, 1, 1, 0, 2, 1])
    adj = _adjacency(index, torch.rand(6, dtype=torch.float64) + 0.1, 3, "csr")
    # along the manifold (see test_gradcheck.py::test_gradcheck_einstein_midpoint)
    assert torch.autograd.gradcheck(lambda y: einstein_midpoint(hyperbolic.projx(y), manifold=hyperbolic, adj=adj),
                                    (x,))


def test_sparse_adjacency_rejects_bad_input():
    M = Lorentz()
    x = points(M, n=4)
    adj = torch.ones(2, 4, dtype=torch.float64).to_sparse_csr()
    with pytest.raises(ValueError, match="do not also pass weights"):
        einstein_midpoint(x, torch.ones(4), manifold=M, adj=adj)
    with pytest.raises(ValueError, match=r"sparse \[G, 4\] matrix, got a dense"):
        einstein_midpoint(x, manifold=M, adj=torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"sparse \[G, 4\] matrix, got a sparse tensor of shape \(2, 3\)"):
        einstein_midpoint(x, manifold=M, adj=torch.ones(2, 3).to_sparse_csr())


def test_stored_transpose_gives_the_same_midpoints_and_gradients(manifold):
    # adj_t= only changes how the backward multiplies: values and gradients equal the plain sparse path
    from hypgraph.manifolds import sparse_matmul
    x = points(manifold, n=10).requires_grad_()
    index = torch.tensor([3, 0, 0, 3, 1, 3, 0, 1, 1, 3])
    adj = _adjacency(index, torch.rand(10, dtype=torch.float64) + 0.1, 5, "csr")
    adj_t = adj.to_dense().t().to_sparse_csr()
    weight = torch.randn(5, x.size(-1), dtype=torch.float64)
    plain = einstein_midpoint(x, manifold=manifold, adj=adj)
    (grad_plain,) = torch.autograd.grad((plain * weight).sum(), x)
    stored = einstein_midpoint(x, manifold=manifold, adj=adj, adj_t=adj_t)
    (grad_stored,) = torch.autograd.grad((stored * weight).sum(), x)
    torch.testing.assert_close(stored, plain, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(grad_stored, grad_plain, atol=1e-12, rtol=1e-12)
    # sparse_matmul: A x forward, A^T g backward from the stored transpose
    y = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: sparse_matmul(adj, v, adj_t), (y,))
    with pytest.raises(ValueError, match="adj_t must be the torch.sparse transpose"):
        einstein_midpoint(x, manifold=manifold, adj=adj, adj_t=adj)


@pytest.mark.parametrize("k", [1.0, 0.5, 2.0])
def test_the_fused_normalisation_equals_the_composed_form_with_its_gradient(k):
    # a fixed curvature (a Python float) takes the fused step with the
    # gradient by hand; a curvature tensor the composed form through autograd
    m = Lorentz(k=k)
    x = m.to_klein_homogeneous(points(m, n=40, std=2.0))
    h = x[:20] * 0.3 + x[20:] * 0.7
    w = torch.ones(20, dtype=torch.float64)
    w[:3] = 1e3  # the floor holds on these rows: no gradient through s there
    grad = torch.randn(20, x.size(-1), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    outs, grads = [], []
    for curvature in (k, torch.tensor(k, dtype=torch.float64)):
        leaf = h.clone().requires_grad_()
        y = C.klein_homogeneous_to_lorentz(leaf, w, k=curvature)
        y.backward(grad)
        outs.append(y.detach())
        grads.append(leaf.grad)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)
    assert m.check_point(outs[0][3:])
    assert torch.autograd.gradcheck(lambda t: C.klein_homogeneous_to_lorentz(t, w, k=k), (h.clone().requires_grad_(),))


@pytest.mark.parametrize("k", [1.0, 0.5, 2.0])
def test_the_fused_hop_with_its_logarithm_equals_the_two_functions_in_turn(k):
    # Lorentz.from_klein_homogeneous_log0 (one fused step for a float k)
    # against klein_homogeneous_to_lorentz then logmap0_coords through
    # autograd: values, the gradient of both outputs together, the floor's
    from hypgraph.manifolds.lorentz import math as L
    m = Lorentz(k=k)
    x = m.to_klein_homogeneous(points(m, n=40, std=2.0))
    h = x[:20] * 0.3 + x[20:] * 0.7
    h[6, 1:] = 0.0     # the origin's direction: |y_s| = 0, log_o = 0
    h[6, 0] = 2.0 / k ** 0.5  # (twice the origin: clear of the floor)
    w = torch.ones(20, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        w[:3] = 1e3  # the floor holds on these rows
    g = torch.Generator().manual_seed(2)
    grad_y = torch.randn(20, x.size(-1), dtype=torch.float64, generator=g)
    grad_t = torch.randn(20, x.size(-1) - 1, dtype=torch.float64, generator=g)
    results = []
    for fused in (True, False):
        leaf, weight = h.clone().requires_grad_(), w.detach().clone().requires_grad_()
        if fused:
            y, t = m.from_klein_homogeneous_log0(leaf, weight)
        else:
            y = C.klein_homogeneous_to_lorentz(leaf, weight, k=torch.tensor(k, dtype=torch.float64))
            t = L.logmap0_space(y, k=torch.tensor(k, dtype=torch.float64))
        torch.autograd.backward([y, t], [grad_y, grad_t])
        results.append((y.detach(), t.detach(), leaf.grad, weight.grad))
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    assert results[0][3][:3].abs().min() > 0  # the floor rows did get a gradient
    torch.testing.assert_close(results[0][1][6], torch.zeros(x.size(-1) - 1, dtype=torch.float64))
    # both outputs, then the second derivative (create_graph recomputes the parts from h)
    leaf = h[3:].clone().requires_grad_()
    w_rest = w.detach()[3:]
    assert torch.autograd.gradcheck(lambda v: m.from_klein_homogeneous_log0(v, w_rest), (leaf,))
    assert torch.autograd.gradgradcheck(lambda v: m.from_klein_homogeneous_log0(v, w_rest), (leaf,))
    # batched [2, 17, D]: each slice as alone
    stacked = torch.stack([h[3:], h[3:].flip(0)]).requires_grad_()
    w_stacked = torch.stack([w_rest, w_rest.flip(0)])
    y, t = m.from_klein_homogeneous_log0(stacked, w_stacked)
    torch.autograd.backward([y, t], [grad_y[3:].expand(2, -1, -1), grad_t[3:].expand(2, -1, -1)])
    for i, rows in enumerate((h[3:], h[3:].flip(0))):
        leaf = rows.clone().requires_grad_()
        y1, t1 = m.from_klein_homogeneous_log0(leaf, w_stacked[i])
        torch.autograd.backward([y1, t1], [grad_y[3:], grad_t[3:]])
        torch.testing.assert_close(y[i], y1, rtol=0, atol=0)
        torch.testing.assert_close(t[i], t1, rtol=0, atol=0)
        torch.testing.assert_close(stacked.grad[i], leaf.grad, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("layout", ["index", "adj", "adj_t"])
def test_midpoint_with_its_logarithm_equals_logmap0_of_the_midpoint(manifold, layout):
    # logmap0=True returns (midpoints, logmap0_coords(midpoints)), with the
    # same gradient; the empty group 2 gets the origin and 0
    x = points(manifold, n=10).requires_grad_()
    w = torch.rand(10, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) + 0.1
    index = torch.tensor([3, 0, 0, 3, 1, 3, 0, 1, 1, 3])
    adj = _adjacency(index, w, 4, "csr")
    kwargs = {"index": {"weights": w, "index": index, "dim_size": 4}, "adj": {"adj": adj},
              "adj_t": {"adj": adj, "adj_t": adj.to_dense().t().to_sparse_csr(),
                        "weight_sum": torch.zeros(4, dtype=torch.float64).index_add_(0, index, w)}}[layout]
    weight = torch.randn(4, x.size(-1) - manifold.extra_dims, dtype=torch.float64)
    mid = einstein_midpoint(x, manifold=manifold, **kwargs)
    tangent = manifold.logmap0_coords(mid)
    (expected,) = torch.autograd.grad((tangent * weight).sum() + mid.sum(), x)
    got_mid, got_tangent = einstein_midpoint(x, manifold=manifold, logmap0=True, **kwargs)
    (got,) = torch.autograd.grad((got_tangent * weight).sum() + got_mid.sum(), x)
    torch.testing.assert_close(got_mid, mid, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(got_tangent, tangent, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(got_tangent[2], torch.zeros_like(got_tangent[2]))


def test_weight_sum_is_checked():
    M = Lorentz()
    x = points(M, n=4)
    adj = torch.ones(2, 4, dtype=torch.float64).to_sparse_csr()
    with pytest.raises(ValueError, match=r"weight_sum must hold the 2 row sums of adj, got shape \(4,\)"):
        einstein_midpoint(x, manifold=M, adj=adj, weight_sum=torch.ones(4))
    with pytest.raises(ValueError, match="weight_sum= gives the row sums of adj="):
        einstein_midpoint(x, manifold=M, index=torch.tensor([0, 0, 1, 1]), weight_sum=torch.ones(2))


@pytest.mark.parametrize("radius", [10.0, 30.0, 40.0, 80.0])
def test_the_fused_hop_stays_finite_in_float32_far_out(radius):
    # float32 points at distance `radius` from the origin (80: past float32's
    # cap, where expmap0 stops): the midpoints, their log_o and the gradient
    # are finite, and no midpoint lies farther out than its farthest point
    m = Lorentz()
    g = torch.Generator().manual_seed(5)
    d = torch.randn(64, 8, generator=g)
    x = m.expmap0_coords(d / d.norm(dim=-1, keepdim=True) * radius).requires_grad_()
    index = torch.arange(64) % 8
    adj = _adjacency(index, torch.full((64,), 1 / 8, dtype=torch.float32), 8, "csr")
    y, t = einstein_midpoint(x, manifold=m, adj=adj, adj_t=adj.to_dense().t().to_sparse_csr(), logmap0=True)
    (y.sum() + t.sum()).backward()
    assert torch.isfinite(y).all() and torch.isfinite(t).all() and torch.isfinite(x.grad).all()
    farthest = float(m.dist0(x.detach()).max())
    assert float(t.norm(dim=-1).max()) <= farthest * (1 + 1e-5)
