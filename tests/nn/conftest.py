"""Manifolds and hand-written graphs shared by the layer tests.

Points are written by hand as Euclidean coordinates of norm 0.3-0.7 and
placed into each model by :func:`embed` (used as they are in the balls and
Euclidean space, as the space coordinates of a hyperboloid point in the
Lorentz model), so every test reads the same small example."""
import pytest
import torch

from hypgraph.manifolds import Klein, Lorentz, PoincareBall

from ..manifold_cases import LAYERS, fixtures, select
from .reference import hyperboloid_point

# Every model a layer accepts, hyperbolic ones also with curvature != 1.
MANIFOLDS = select(LAYERS)
# Learnable curvature makes the manifold's raw curvature a parameter of the layer.
LEARNABLE = {
    "lorentz-k0.5": lambda: Lorentz(k=0.5, learnable=True),
    "poincare-k0.7": lambda: PoincareBall(k=0.7, learnable=True),
    "klein-k1.3": lambda: Klein(k=1.3, learnable=True),
}
# One of each model, for the slower checks (gradcheck, compile).
ONE_PER_MODEL = ["lorentz-k0.5", "poincare-k0.7", "klein-k1.3", "euclidean"]

F64 = dict(atol=1e-10, rtol=1e-10)

# --- the bipartite example: 6 items -> 4 users --------------------------------
# item 5 has no edge, user 2 has none; user 3 has four items, user 0 three.
ITEMS = [
    [0.30, -0.20, 0.10],
    [-0.45, 0.15, 0.35],
    [0.05, 0.60, -0.25],
    [-0.10, -0.35, -0.50],
    [0.55, 0.25, 0.20],
    [0.20, 0.10, -0.40],
]
USERS = [
    [0.10, 0.40, 0.30],
    [-0.50, -0.20, 0.10],
    [0.25, -0.45, -0.15],
    [0.00, 0.20, -0.60],
]
EDGE_INDEX = [[0, 1, 2, 2, 3, 0, 4, 3, 1],
              [0, 0, 0, 1, 1, 3, 3, 3, 3]]
EDGE_WEIGHT = [0.5, 1.0, 2.0, 1.5, 0.25, 1.0, 3.0, 0.75, 1.25]
# GAT-style attention vectors (a leading entry for the hyperboloid's time axis)
ATT_SRC = [0.4, -0.7, 0.5]
ATT_DST = [-0.3, 0.6, 0.8]

# --- the knowledge-graph example: 6 entities -> 4 items, 3 relations ------------
# item 2 has no neighbour; item 3 has four.
ENTITIES = [
    [0.35, 0.10, -0.30],
    [-0.20, 0.50, 0.15],
    [0.05, -0.40, 0.45],
    [-0.55, -0.05, -0.20],
    [0.25, 0.35, 0.40],
    [-0.15, -0.30, -0.45],
]
KG_EDGE_INDEX = [[0, 1, 2, 3, 0, 4, 5, 1, 2],
                 [0, 0, 0, 1, 1, 3, 3, 3, 3]]
KG_EDGE_TYPE = [0, 1, 2, 0, 1, 2, 0, 1, 0]
RELATIONS = [  # tangent vectors at the origin
    [0.20, -0.10, 0.30],
    [-0.25, 0.15, 0.05],
    [0.10, 0.30, -0.20],
]


def f64(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def embed(manifold, rows, dtype=torch.float64) -> torch.Tensor:
    """Hand-written coordinates as points of :obj:`manifold`."""
    x = f64(rows)
    if isinstance(manifold, Lorentz):
        x = torch.stack([hyperboloid_point(s, float(manifold.k.detach())) for s in x])
    return x.to(dtype)


def tangent0(manifold, rows) -> torch.Tensor:
    """Hand-written tangent vectors at the origin (time coordinate 0 on the hyperboloid)."""
    u = f64(rows)
    if isinstance(manifold, Lorentz):
        u = torch.cat([torch.zeros(u.size(0), 1, dtype=u.dtype), u], dim=-1)
    return u


def att_vectors(manifold):
    extra = [0.9] if isinstance(manifold, Lorentz) else []  # multiplies log_o's zero time entry
    return f64(extra + ATT_SRC), f64(extra + ATT_DST)


def edge_index() -> torch.Tensor:
    return torch.tensor(EDGE_INDEX)


def kg_graph():
    return torch.tensor(KG_EDGE_INDEX), torch.tensor(KG_EDGE_TYPE)


def req(x: torch.Tensor) -> torch.Tensor:
    return x.detach().clone().requires_grad_(True)


manifold, hyperbolic = fixtures(MANIFOLDS)


@pytest.fixture(params=ONE_PER_MODEL, ids=ONE_PER_MODEL)
def one_per_model(request):
    return MANIFOLDS[request.param]()


def permutation(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def relabel(edge_index: torch.Tensor, src_perm=None, dst_perm=None) -> torch.Tensor:
    """Edges of the same graph after reordering nodes so that new node ``j``
    is old node ``perm[j]`` (inputs become ``x[perm]``, outputs ``out[perm]``)."""
    src, dst = edge_index
    if src_perm is not None:
        src = torch.argsort(src_perm)[src]
    if dst_perm is not None:
        dst = torch.argsort(dst_perm)[dst]
    return torch.stack([src, dst])


def parameter_function(module, args, kwargs=None):
    """``(f, params)`` with ``f(*params)`` the module's output as a function of
    its parameters (via :func:`torch.func.functional_call`), for gradcheck."""
    names = [name for name, _ in module.named_parameters()]
    params = tuple(req(p) for _, p in module.named_parameters())

    def f(*values):
        out = torch.func.functional_call(module, dict(zip(names, values)), args, kwargs or {})
        return tuple(out[key] for key in sorted(out)) if isinstance(out, dict) else out

    return f, params
