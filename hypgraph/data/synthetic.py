r"""Synthetic bipartite complex networks from hyperbolic geometry, with a
tree-like knowledge graph: the embedded default dataset for demos and tests.

The model is the bipartite :math:`\mathbb{S}^1` model of Kitsak et al.,
"Latent geometry of bipartite networks", Phys. Rev. E 95, 032309 (2017),
which is isomorphic to the hyperbolic-plane model of Krioukov et al.,
"Hyperbolic geometry of complex networks", Phys. Rev. E 82, 036106 (2010).
User :math:`u` and item :math:`i` have angles :math:`\theta` (uniform on the
circle) and hidden degrees :math:`\kappa` (Pareto, exponent :math:`\gamma`),
and are linked independently with the Fermi–Dirac probability

.. math::
    p_{ui} = \frac{1}{1 + \left(\frac{R\,\Delta\theta_{ui}}
    {\mu\,\kappa_u\,\kappa_i}\right)^{1/T}}
    = \frac{1}{1 + e^{\frac{1}{2T}(x_{ui} - \hat R)}},

where :math:`R = N_{items}/2\pi` (one item per unit of arc), :math:`\beta =
1/T`, and :math:`x_{ui} \approx r_u + r_i + 2\ln \frac{\Delta\theta}{2}` is
the hyperbolic distance for the radial coordinates :math:`r = \hat R - 2
\ln(\kappa / \kappa_{min})`, :math:`\hat R = 2 \ln \frac{2R}{\mu
\kappa_{u,min} \kappa_{i,min}}` (Kitsak et al. 2017, Eq. 4–6). Kitsak et al.
take :math:`\mu = \beta \sin(\pi/\beta) / 2\pi \langle\kappa_i\rangle`,
which makes expected degrees equal hidden degrees on an infinite circle; here
:math:`\mu` is solved for so that the expected number of edges is
``num_users * avg_user_degree`` on the finite one (:func:`~hypgraph.data.edge_sampler.calibrate_mu`).

Pareto hidden degrees with exponent :math:`\gamma` are radial coordinates
with density :math:`\alpha e^{\alpha (r - \hat R)}`, :math:`\gamma = 2\alpha
+ 1`: the large-:math:`r` form of the uniform-in-the-disc density
:math:`\propto \sinh(\alpha r)` (Krioukov et al. 2010, §IV), so item degrees
follow a power law with exponent :math:`\gamma`. The temperature :math:`T \in
(0, 1)` sets clustering: the colder, the more a link depends on angular
proximity alone.

Sampling is exact (every pair is an independent Bernoulli draw with the
probability above, up to floating-point rounding at region boundaries) in
expected :math:`O(N + E \log N)` time and :math:`O(E)` memory, without
visiting all user–item pairs, by the cell/weight-layer
thinning of geometric inhomogeneous random graphs (Bringmann, Keusch and
Lengler, "Geometric inhomogeneous random graphs", Theor. Comput. Sci. 760,
2019): see :mod:`hypgraph.data.edge_sampler`.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .edge_sampler import TWO_PI, S1Geometry, calibrate_mu, pareto_hidden_degrees, sample_edges
from .hetero import build_hetero_data

__all__ = ["make_synthetic", "default_dataset", "RELATIONS"]

# KG relation ids: item -> leaf category, category -> parent category.
RELATIONS = ("in_category", "subcategory_of")
# Timestamps start here (2017-07-14, Unix seconds); gaps average one day.
_EPOCH = 1_500_000_000
_MEAN_GAP_S = 86_400.0


def make_synthetic(
    num_users: int = 1000,
    num_items: int = 500,
    avg_user_degree: float = 20.0,
    gamma: float = 2.5,
    temperature: float = 0.5,
    num_categories: int = 64,
    kg_depth: int = 3,
    seed: int = 0,
    *,
    user_gamma: Optional[float] = None,
) -> HeteroData:
    r"""Draw a bipartite user–item network from hyperbolic geometry (see the
    module docstring for the model) with timestamps and a category KG.

    Timestamps: each user starts at a random time in the first year and then
    interacts about once a day; the order of its interactions drifts across
    its angular neighbourhood (sorted by signed angular offset in a random
    direction, plus noise), so later interactions are geometrically
    correlated, as a drifting taste would make them.

    Knowledge graph (KGAT convention: items are entities ``0..num_items-1``):
    ``kg_depth`` levels of category entities made of angular sectors, level
    ``d`` (top ``d = 0``) cutting the circle into ``round(num_categories **
    ((d + 1) / kg_depth))`` equal sectors; each category's parent is the
    sector one level up that holds its centre angle, and each item is in the
    leaf sector holding its angle. Triples are ``(item, 'in_category', leaf)``
    and ``(category, 'subcategory_of', parent)``; categories without items
    below them are dropped. The KG is thus a forest whose leaves are the items,
    and items close in angle share categories.

    Args:
        num_users (int): Users. (default: :obj:`1000`)
        num_items (int): Items. (default: :obj:`500`)
        avg_user_degree (float): Expected mean interactions per user, below
            :obj:`num_items`. (default: :obj:`20.0`)
        gamma (float): Power-law exponent of item degrees, ``> 2``.
            (default: :obj:`2.5`)
        temperature (float): In ``(0, 1)``; lower gives more clustering.
            (default: :obj:`0.5`)
        num_categories (int): Leaf categories of the KG. (default: :obj:`64`)
        kg_depth (int): Category levels. (default: :obj:`3`)
        seed (int): Seed of a :class:`torch.Generator`; the same arguments and
            seed give the same data. (default: :obj:`0`)
        user_gamma (float, optional): Power-law exponent of user hidden
            degrees, ``> 2``. (default: :obj:`gamma`)

    Returns:
        HeteroData: The shape of :mod:`hypgraph.data.hetero` with ``time``,
        the KG, and the latent coordinates ``data['user'].r``, ``.theta``,
        ``.kappa`` (hidden degree, to which the expected degree is proportional
        until it saturates) and the same for items; ``data.disk_radius``
        is :math:`\hat R` and ``data.temperature`` is :math:`T`.

    Raises:
        ValueError: If an argument is out of range (the message names it).
    """
    user_gamma = gamma if user_gamma is None else user_gamma
    _check(num_users >= 1, "num_users", num_users, ">= 1")
    _check(num_items >= 1, "num_items", num_items, ">= 1")
    _check(avg_user_degree > 0, "avg_user_degree", avg_user_degree, "> 0")
    _check(gamma > 2, "gamma", gamma, "> 2 (finite mean degree)")
    _check(user_gamma > 2, "user_gamma", user_gamma, "> 2 (finite mean degree)")
    _check(0 < temperature < 1, "temperature", temperature, "in (0, 1)")
    _check(num_categories >= 1, "num_categories", num_categories, ">= 1")
    _check(kg_depth >= 1, "kg_depth", kg_depth, ">= 1")
    _check(avg_user_degree < num_items, "avg_user_degree", avg_user_degree,
           f"< num_items = {num_items}")

    generator = torch.Generator().manual_seed(seed)
    beta = 1.0 / temperature
    kappa_u = pareto_hidden_degrees(num_users, user_gamma, avg_user_degree, generator)
    kappa_i = pareto_hidden_degrees(num_items, gamma, num_users * avg_user_degree / num_items, generator)
    theta_u = torch.rand(num_users, generator=generator, dtype=torch.double) * TWO_PI
    theta_i = torch.rand(num_items, generator=generator, dtype=torch.double) * TWO_PI

    radius = num_items / TWO_PI
    mu = calibrate_mu(kappa_u, kappa_i, radius, beta, num_users * avg_user_degree)
    geometry = S1Geometry(kappa_u, theta_u, kappa_i, theta_i, mu, radius, beta)
    user, item = sample_edges(geometry, generator)
    time = _timestamps(user, item, theta_u, theta_i, num_users, generator)
    # Users in order, each user's interactions in time order.
    order = torch.sort(time, stable=True).indices
    order = order[torch.sort(user[order], stable=True).indices]
    user, item, time = user[order], item[order], time[order]

    head, rel, tail, entity_raw_id = _category_kg(theta_i, num_categories, kg_depth)
    data = build_hetero_data(
        user, item, num_users=num_users, num_items=num_items, time=time,
        kg_head=head, kg_relation=rel, kg_tail=tail,
        num_entities=len(entity_raw_id), num_relations=len(RELATIONS),
        entity_raw_id=entity_raw_id, relation_raw_id=list(RELATIONS),
        link_item=torch.arange(num_items), link_entity=torch.arange(num_items))

    disk_radius = 2.0 * math.log(2.0 * radius / (mu * float(kappa_u.min()) * float(kappa_i.min())))
    for node_type, kappa, theta in (("user", kappa_u, theta_u), ("item", kappa_i, theta_i)):
        store = data[node_type]
        # Hubs whose hidden degree saturates could land beyond the origin.
        store.r = (disk_radius - 2.0 * torch.log(kappa / kappa.min())).clamp(min=0).float()
        store.theta = theta.float()
        store.kappa = kappa.float()
    data.disk_radius = disk_radius
    data.temperature = float(temperature)
    return data


def default_dataset() -> HeteroData:
    r"""The embedded default: :func:`make_synthetic` with 600 users, 400 items,
    20 interactions per user on average, :math:`\gamma = 2.5`, :math:`T = 0.5`,
    64 leaf categories in 3 levels, seed 0. Generated afresh on every call
    (milliseconds), so callers may modify it freely."""
    return make_synthetic(num_users=600, num_items=400, avg_user_degree=20.0, gamma=2.5,
                          temperature=0.5, num_categories=64, kg_depth=3, seed=0)


# ---------------------------------------------------------------------------
# Time and knowledge graph.

def _timestamps(user: Tensor, item: Tensor, theta_u: Tensor, theta_i: Tensor,
                num_users: int, generator: torch.Generator) -> Tensor:
    r"""Per-user increasing timestamps whose order drifts across the user's
    angular neighbourhood (see :func:`make_synthetic`)."""
    offset = torch.remainder(theta_i[item] - theta_u[user] + math.pi, TWO_PI) - math.pi
    direction = torch.randint(2, (num_users,), generator=generator).double() * 2.0 - 1.0
    degree = torch.bincount(user, minlength=num_users).clamp(min=1)
    spread = torch.zeros(num_users, dtype=torch.double).index_add_(0, user, offset.abs()) / degree
    noise = torch.randn(user.numel(), generator=generator, dtype=torch.double)
    score = direction[user] * offset / spread[user].clamp(min=1e-12) + 0.5 * noise
    order = torch.sort(score, stable=True).indices
    order = order[torch.sort(user[order], stable=True).indices]
    uniform = 1.0 - torch.rand(user.numel(), generator=generator, dtype=torch.double)
    gap = 1 + (-torch.log(uniform) * _MEAN_GAP_S).long()  # exponential, >= 1 s: no ties
    elapsed = torch.cumsum(gap, 0)
    sorted_user = user[order]
    counts = torch.bincount(sorted_user, minlength=num_users)
    before = torch.cumsum(counts, 0) - counts  # edges of earlier users
    elapsed_before = torch.cat([torch.zeros(1, dtype=torch.long), elapsed])[before]
    start = (torch.rand(num_users, generator=generator, dtype=torch.double) * 365 * 86_400).long()
    time = torch.empty_like(elapsed)
    time[order] = _EPOCH + start[sorted_user] + elapsed - elapsed_before[sorted_user]
    return time


def _category_kg(theta_i: Tensor, num_categories: int, depth: int):
    r"""Triples of the angular-sector category forest (see :func:`make_synthetic`)."""
    num_items = theta_i.numel()
    sizes = [max(1, round(num_categories ** ((d + 1) / depth))) for d in range(depth)]
    sizes[-1] = num_categories

    def sector(angle: Tensor, n: int) -> Tensor:
        return torch.floor(angle / TWO_PI * n).long().clamp(0, n - 1)

    leaf = sector(theta_i, sizes[-1])
    # Parent of every sector of level d + 1: the level-d sector of its centre.
    parents = [sector((torch.arange(sizes[d + 1]).double() + 0.5) / sizes[d + 1] * TWO_PI, sizes[d])
               for d in range(depth - 1)]
    used = [torch.zeros(n, dtype=torch.bool) for n in sizes]
    used[-1][leaf] = True
    for d in range(depth - 2, -1, -1):
        used[d][parents[d][used[d + 1]]] = True
    # Entity ids: items first (KGAT convention), then categories level by level.
    entity = []
    next_id = num_items
    raw_id = [f"item/{i}" for i in range(num_items)]
    for d, n in enumerate(sizes):
        ids = torch.full((n,), -1, dtype=torch.long)
        kept = used[d].nonzero().squeeze(1)
        ids[kept] = torch.arange(next_id, next_id + kept.numel())
        next_id += kept.numel()
        raw_id += [f"category/{d}/{int(s)}" for s in kept]
        entity.append(ids)
    heads = [torch.arange(num_items)]
    tails = [entity[-1][leaf]]
    rels = [torch.zeros(num_items, dtype=torch.long)]
    for d in range(depth - 1):
        child = used[d + 1].nonzero().squeeze(1)
        heads.append(entity[d + 1][child])
        tails.append(entity[d][parents[d][child]])
        rels.append(torch.ones(child.numel(), dtype=torch.long))
    return torch.cat(heads), torch.cat(rels), torch.cat(tails), np.asarray(raw_id, dtype=object)


def _check(ok: bool, name: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {expected}, got {value}")
