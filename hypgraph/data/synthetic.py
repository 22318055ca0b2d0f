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
``num_users * avg_user_degree`` on the finite one (:func:`_calibrate_mu`).

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
2019): see :func:`_sample_edges`.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .hetero import build_hetero_data

__all__ = ["make_synthetic", "default_dataset", "RELATIONS"]

TWO_PI = 2.0 * math.pi
# KG relation ids: item -> leaf category, category -> parent category.
RELATIONS = ("in_category", "subcategory_of")
# Timestamps start here (2017-07-14, Unix seconds); gaps average one day.
_EPOCH = 1_500_000_000
_MEAN_GAP_S = 86_400.0
# Cap on user x layer pairs and on near-region candidates handled at once.
_PAIR_BUDGET = 1 << 22
_CANDIDATE_BUDGET = 1 << 22


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
    kappa_u = _pareto(num_users, user_gamma, avg_user_degree, generator)
    kappa_i = _pareto(num_items, gamma, num_users * avg_user_degree / num_items, generator)
    theta_u = torch.rand(num_users, generator=generator, dtype=torch.double) * TWO_PI
    theta_i = torch.rand(num_items, generator=generator, dtype=torch.double) * TWO_PI

    radius = num_items / TWO_PI
    mu = _calibrate_mu(kappa_u, kappa_i, radius, beta, num_users * avg_user_degree)
    geometry = _Geometry(kappa_u, theta_u, kappa_i, theta_i, mu, radius, beta)
    user, item = _sample_edges(geometry, generator)
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
# Edges.

class _Geometry:
    r"""Hidden degrees and angles of both sides, plus the items grouped into
    weight layers ``[2^l, 2^{l+1}) * kappa_min`` and sorted by angle within
    each layer (one sorted key ``8 * layer + theta``, as ``2 pi < 8``)."""

    def __init__(self, kappa_u, theta_u, kappa_i, theta_i, mu, radius, beta):
        self.kappa_u, self.theta_u = kappa_u, theta_u
        self.kappa_i, self.theta_i = kappa_i, theta_i
        self.mu, self.radius, self.beta = mu, radius, beta
        layer = torch.floor(torch.log2(kappa_i / kappa_i.min())).long()
        key = layer.double() * 8.0 + theta_i
        self.sorted_key, self.order = torch.sort(key)
        layers, self.size = torch.unique_consecutive(layer[self.order], return_counts=True)
        self.start = torch.cumsum(self.size, 0) - self.size
        self.base = layers.double() * 8.0
        self.kappa_max = torch.zeros(layers.numel(), dtype=torch.double).scatter_reduce(
            0, torch.repeat_interleave(torch.arange(layers.numel()), self.size),
            kappa_i[self.order], reduce="amax", include_self=False)

    @property
    def num_layers(self) -> int:
        return self.size.numel()

    def position(self, layer: Tensor, angle: Tensor) -> Tensor:
        r"""Periodic position of :obj:`angle` among the angles of :obj:`layer`:
        the number of the layer's items below it, plus ``size`` per full turn,
        so that ``[position(a), position(b))`` are the items in ``[a, b)``."""
        turns = torch.floor(angle / TWO_PI)
        inside = (angle - turns * TWO_PI).clamp(0.0, TWO_PI)
        found = torch.searchsorted(self.sorted_key, self.base[layer] + inside)
        return found - self.start[layer] + turns.long() * self.size[layer]

    def item_at(self, layer: Tensor, position: Tensor) -> Tensor:
        return self.order[self.start[layer] + torch.remainder(position, self.size[layer])]

    def link_probability(self, user: Tensor, item: Tensor) -> Tensor:
        r"""Fermi–Dirac connection probability (Kitsak et al. 2017, Eq. 1)."""
        gap = torch.abs(self.theta_u[user] - self.theta_i[item])
        gap = math.pi - torch.abs(math.pi - gap)
        log_ratio = (torch.log(self.radius * gap)
                     - torch.log(self.mu * self.kappa_u[user] * self.kappa_i[item]))
        # sigmoid(-beta * log(x / a)) = 1 / (1 + (x / a)^beta), without overflow.
        return torch.sigmoid(-self.beta * log_ratio)


def _sample_edges(geometry: _Geometry, generator: torch.Generator) -> Tuple[Tensor, Tensor]:
    r"""Exact independent Bernoulli draws for all pairs, by thinning.

    For a user and an item layer, :math:`\bar a = \mu \kappa_u \kappa_{max}`
    bounds the reach of every item of the layer; with :math:`\bar\varphi = \bar
    a / R`, items within angle :math:`2\bar\varphi` (the *near* region) are all
    visited and accepted with :math:`p_{ui}`. In ring :math:`j \ge 1`, angle
    :math:`[2^j, 2^{j+1}) \bar\varphi`, :math:`p_{ui} < (\bar a / 2^j \bar
    a)^\beta = 2^{-j\beta} =: \bar p_j`, so a Binomial(:math:`n_j, \bar p_j`)
    number of distinct uniformly chosen ring items are proposed (each item
    independently with probability :math:`\bar p_j`) and accepted with
    :math:`p_{ui} / \bar p_j`. The proposals per ring shrink geometrically, so
    the expected work is a constant times the number of edges (GIRG sampling,
    Bringmann et al. 2019, §4). Users are processed in chunks to keep memory
    :math:`O(E)`.
    """
    num_users = geometry.kappa_u.numel()
    mean_reach = 4.0 * float(geometry.kappa_u.mean()) + geometry.num_layers
    chunk = int(max(1, min(_PAIR_BUDGET // geometry.num_layers, _CANDIDATE_BUDGET / mean_reach)))
    users: List[Tensor] = []
    items: List[Tensor] = []
    for lo in range(0, num_users, chunk):
        u, i = _sample_chunk(geometry, torch.arange(lo, min(lo + chunk, num_users)), generator)
        users.append(u)
        items.append(i)
    user, item = torch.cat(users), torch.cat(items)
    # Rings partition the circle, so pairs are distinct; this guards the
    # boundaries against floating-point rounding all the same.
    key = torch.unique(user * geometry.kappa_i.numel() + item)
    return key // geometry.kappa_i.numel(), key % geometry.kappa_i.numel()


def _sample_chunk(geometry: _Geometry, users: Tensor, generator: torch.Generator):
    g = geometry
    num_layers = g.num_layers
    user = users.repeat_interleave(num_layers)
    layer = torch.arange(num_layers).repeat(users.numel())
    theta = g.theta_u[user]
    reach = g.mu * g.kappa_u[user] * g.kappa_max[layer] / g.radius  # phi-bar, in radians
    size = g.size[layer]
    out_user: List[Tensor] = []
    out_item: List[Tensor] = []

    def accept(pair: Tensor, position: Tensor, bound: float) -> None:
        cand_user, cand_layer = user[pair], layer[pair]
        cand_item = g.item_at(cand_layer, position)
        prob = g.link_probability(cand_user, cand_item) / bound
        keep = torch.rand(prob.numel(), generator=generator, dtype=torch.double) < prob
        out_user.append(cand_user[keep])
        out_item.append(cand_item[keep])

    # Near region: every item within 2 * phi-bar (the whole layer if that wraps).
    half = 2.0 * reach
    whole = half >= math.pi
    first = g.position(layer, theta - half.clamp(max=math.pi))
    last = torch.where(whole, first + size, g.position(layer, theta + half.clamp(max=math.pi)))
    pair, position = _expand(first, last - first)
    accept(pair, position, 1.0)

    # Rings j >= 1 on both sides, thinned with p-bar_j = 2^(-j beta) < 1/2.
    ring = 1
    active = torch.nonzero(~whole).squeeze(1)
    while active.numel():
        inner = (2.0 ** ring) * reach[active]
        keep = inner < math.pi
        active, inner = active[keep], inner[keep]
        if active.numel() == 0:
            break
        outer = (2.0 * inner).clamp(max=math.pi)
        lay, th = layer[active], theta[active]
        right_lo = g.position(lay, th + inner)
        right_hi = g.position(lay, th + outer)
        # At the antipode both sides must meet exactly: one turn = size items.
        left_lo = torch.where(outer >= math.pi, right_hi - size[active], g.position(lay, th - outer))
        left_hi = g.position(lay, th - inner)
        n_left, n_right = left_hi - left_lo, right_hi - right_lo
        bound = 2.0 ** (-ring * g.beta)
        count = torch.binomial((n_left + n_right).double(),
                               torch.full((active.numel(),), bound, dtype=torch.double),
                               generator=generator).long()
        which, offset = _distinct_offsets(n_left + n_right, count, generator)
        position = torch.where(offset < n_left[which], left_lo[which] + offset,
                               right_lo[which] + offset - n_left[which])
        accept(active[which], position, bound)
        ring += 1
    return torch.cat(out_user), torch.cat(out_item)


def _expand(first: Tensor, count: Tensor) -> Tuple[Tensor, Tensor]:
    r"""For ranges ``[first, first + count)``: the range id and the value of every element."""
    pair = torch.repeat_interleave(torch.arange(count.numel()), count)
    offset = torch.arange(pair.numel()) - torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
    return pair, first[pair] + offset


def _distinct_offsets(size: Tensor, count: Tensor, generator: torch.Generator):
    r"""For each group ``g``, :obj:`count[g]` distinct offsets drawn uniformly
    from ``[0, size[g])``: i.i.d. draws, then redraws of the repeats only, in
    the groups that had repeats. With ``count / size`` around ``p-bar < 1/2``
    repeats are rare and this takes a few rounds."""
    group = torch.repeat_interleave(torch.arange(count.numel()), count)
    offset = _below(size[group], generator)
    todo = torch.arange(group.numel())
    width = int(size.max()) + 1 if size.numel() else 1
    while todo.numel():
        key = group[todo] * width + offset[todo]
        sorted_key, order = torch.sort(key)
        repeat = sorted_key[1:] == sorted_key[:-1]
        if not bool(repeat.any()):
            break
        redo = todo[order[1:][repeat]]
        offset[redo] = _below(size[group[redo]], generator)
        hit = torch.zeros(count.numel(), dtype=torch.bool)
        hit[group[redo]] = True
        todo = todo[hit[group[todo]]]
    return group, offset


def _below(bound: Tensor, generator: torch.Generator) -> Tensor:
    r"""Uniform integers in ``[0, bound)`` elementwise."""
    draw = (torch.rand(bound.numel(), generator=generator, dtype=torch.double) * bound).long()
    return torch.minimum(draw, bound - 1)


def _calibrate_mu(kappa_u: Tensor, kappa_i: Tensor, radius: float, beta: float,
                  target_edges: float) -> float:
    r"""The :math:`\mu` whose expected number of edges is :obj:`target_edges`.

    Kitsak et al. 2017 take :math:`\mu = \beta \sin(\pi/\beta) / (2\pi
    \langle\kappa_i\rangle)`, exact for an infinite circle. On the finite
    one the far tail of :math:`p` is cut at the antipode and hubs saturate,
    which loses up to half of the edges near :math:`T = 1`; so :math:`\mu` is
    solved for instead. A pair's link probability averaged over the angle is
    :math:`P(a) = \frac{a}{\pi R} F(\frac{\pi R}{a})`, :math:`a = \mu
    \kappa_u \kappa_i`, :math:`F(X) = \int_0^X \frac{dt}{1 + t^\beta}`
    (tabulated on a log grid); the sum over pairs uses 256 log-bins of each
    side's hidden degrees, and :math:`\mu` is found by bisection in
    :math:`\log\mu` (the sum increases with :math:`\mu`).
    """
    log_t = np.linspace(-20.0, 40.0, 16_385)
    t = np.exp(log_t)
    integrand = t / (1.0 + t ** beta)  # dt = t d(log t)
    table = t[0] + np.concatenate([[0.0], np.cumsum(
        0.5 * (integrand[1:] + integrand[:-1]) * np.diff(log_t))])
    total = math.pi / beta / math.sin(math.pi / beta)

    def integral(x: np.ndarray) -> np.ndarray:
        inside = np.interp(np.log(x), log_t, table)
        clipped = np.maximum(x, t[-1])  # the tail formula is only used there
        large = total - clipped ** (1.0 - beta) / (beta - 1.0)  # 1 / (1 + t^beta) ~ t^-beta
        return np.where(x < t[0], x, np.where(x > t[-1], large, inside))  # ~ 1 near 0

    def binned(kappa: Tensor):
        log_k = np.log(kappa.numpy())
        counts, edges = np.histogram(log_k, bins=256)
        sums, _ = np.histogram(log_k, bins=edges, weights=kappa.numpy())
        used = counts > 0
        return sums[used] / counts[used], counts[used]

    (ku, wu), (ki, wi) = binned(kappa_u), binned(kappa_i)
    product, weight = np.outer(ku, ki), np.outer(wu, wi)
    arc = math.pi * radius

    def expected_edges(log_mu: float) -> float:
        a = math.exp(log_mu) * product
        return float((weight * a / arc * integral(arc / a)).sum())

    guess = math.log(beta * math.sin(math.pi / beta) / (TWO_PI * float(kappa_i.mean())))
    lo, hi = guess - 30.0, guess + 30.0
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if expected_edges(mid) < target_edges else (lo, mid)
    return math.exp(0.5 * (lo + hi))


def _pareto(n: int, gamma: float, mean: float, generator: torch.Generator) -> Tensor:
    r"""``n`` draws of density :math:`\propto \kappa^{-\gamma}` on
    :math:`[\kappa_0, \infty)`, :math:`\kappa_0 = \text{mean} (\gamma - 2) /
    (\gamma - 1)`, by inversion."""
    kappa0 = mean * (gamma - 2.0) / (gamma - 1.0)
    uniform = 1.0 - torch.rand(n, generator=generator, dtype=torch.double)  # (0, 1]
    return kappa0 * uniform.pow(-1.0 / (gamma - 1.0))


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
