import torch

from hypgraph.optim import RiemannianAdam, RiemannianSGD

from ..manifold_cases import EVERY_MODEL, fixtures, hyperbolic as _hyperbolic_names, select

# Every manifold, with a non-unit curvature for each hyperbolic model.
MANIFOLDS = select(EVERY_MODEL)
HYPERBOLIC = _hyperbolic_names(MANIFOLDS)

# Optimisers by name: (class, keyword arguments).
OPTIMIZERS = {
    "sgd": (RiemannianSGD, dict(lr=0.2)),
    "sgd-momentum": (RiemannianSGD, dict(lr=0.1, momentum=0.5)),
    "sgd-nesterov": (RiemannianSGD, dict(lr=0.1, momentum=0.5, nesterov=True)),
    "adam": (RiemannianAdam, dict(lr=0.05)),
    "amsgrad": (RiemannianAdam, dict(lr=0.05, amsgrad=True)),
}


def make_optimizer(name, params, **overrides):
    cls, kwargs = OPTIMIZERS[name]
    return cls(params, **{**kwargs, **overrides})


def points(manifold, n=16, dim=3, std=0.5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return manifold.random(n, manifold.coord_dim(dim), std=std, generator=g, dtype=dtype)


manifold, hyperbolic = fixtures(MANIFOLDS)
