import pytest
import torch

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall

# Every manifold, including a non-unit curvature for each hyperbolic model:
# the contract suite runs over all of them (geoopt once left one out).
MANIFOLDS = {
    "lorentz": lambda: Lorentz(),
    "lorentz-k0.5": lambda: Lorentz(k=0.5),
    "poincare": lambda: PoincareBall(),
    "poincare-c2": lambda: PoincareBall(c=2.0),
    "klein": lambda: Klein(),
    "klein-c0.7": lambda: Klein(c=0.7),
    "euclidean": lambda: Euclidean(),
}
HYPERBOLIC = [k for k in MANIFOLDS if k != "euclidean"]

# (atol, rtol) per dtype
TOL = {torch.float32: (2e-4, 2e-4), torch.float64: (1e-9, 1e-9)}


@pytest.fixture(params=list(MANIFOLDS), ids=list(MANIFOLDS))
def manifold(request):
    return MANIFOLDS[request.param]()


@pytest.fixture(params=HYPERBOLIC, ids=HYPERBOLIC)
def hyperbolic(request):
    return MANIFOLDS[request.param]()


def points(manifold, n=32, dim=5, std=0.6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return manifold.random(n, manifold.coord_dim(dim), std=std, generator=g, dtype=dtype)


def tangent(manifold, x, std=0.5, seed=1):
    """Tangent vectors at x with Riemannian norms spread over (0, 2 std]: a
    fixed Euclidean scale would mean huge steps near the Poincaré boundary."""
    g = torch.Generator().manual_seed(seed)
    u = manifold.proju(x, torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype))
    length = 2 * std * torch.rand(x.shape[:-1] + (1,), generator=g, dtype=torch.float64).to(x.dtype)
    return u / manifold.norm(x, u, keepdim=True) * length.clamp_min(0.05)
