r"""Exact edge sampling for the bipartite :math:`\mathbb{S}^1` model
(Kitsak et al., Phys. Rev. E 95, 032309, 2017) behind
:func:`hypgraph.data.make_synthetic`: hidden degrees, the calibration of
:math:`\mu`, and independent Bernoulli draws for every user–item pair in
expected :math:`O(N + E \log N)` time and :math:`O(E)` memory by the
cell/weight-layer thinning of geometric inhomogeneous random graphs
(Bringmann, Keusch and Lengler, Theor. Comput. Sci. 760, 2019)."""
from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ["S1Geometry", "sample_edges", "calibrate_mu", "pareto_hidden_degrees", "TWO_PI"]

TWO_PI = 2.0 * math.pi
# Cap on user x layer pairs and on near-region candidates handled at once.
_PAIR_BUDGET = 1 << 22
_CANDIDATE_BUDGET = 1 << 22



class S1Geometry:
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


def sample_edges(geometry: S1Geometry, generator: torch.Generator) -> Tuple[Tensor, Tensor]:
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


def _sample_chunk(geometry: S1Geometry, users: Tensor, generator: torch.Generator):
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


def calibrate_mu(kappa_u: Tensor, kappa_i: Tensor, radius: float, beta: float,
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


def pareto_hidden_degrees(n: int, gamma: float, mean: float, generator: torch.Generator) -> Tensor:
    r"""``n`` draws of density :math:`\propto \kappa^{-\gamma}` on
    :math:`[\kappa_0, \infty)`, :math:`\kappa_0 = \text{mean} (\gamma - 2) /
    (\gamma - 1)`, by inversion."""
    kappa0 = mean * (gamma - 2.0) / (gamma - 1.0)
    uniform = 1.0 - torch.rand(n, generator=generator, dtype=torch.double)  # (0, 1]
    return kappa0 * uniform.pow(-1.0 / (gamma - 1.0))
