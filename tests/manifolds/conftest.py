import torch

from ..manifold_cases import EVERY_MODEL, fixtures, select

# Every manifold, including a non-unit curvature for each hyperbolic model:
# the contract suite runs over all of them (geoopt once left one out).
MANIFOLDS = select(EVERY_MODEL)

# (atol, rtol) per dtype
TOL = {torch.float32: (2e-4, 2e-4), torch.float64: (1e-9, 1e-9)}


manifold, hyperbolic = fixtures(MANIFOLDS)


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
