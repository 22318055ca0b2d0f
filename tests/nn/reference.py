r"""Dense, loop-based reference implementations of the equations behind the
layers of :mod:`hypgraph.nn`, written from the papers and independent of the
library's geometry code: every conversion, Lorentz factor, Möbius addition and
distance is spelled out here, and every layer is a Python loop over
destination nodes and their incoming edges.

Curvature is :math:`-c` in every model (``k`` for :class:`Lorentz`); balls
have radius :math:`1/\sqrt c`, the hyperboloid is
:math:`\langle x, x\rangle_{\mathcal L} = -1/c`.
"""
import math
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall


def curvature(m) -> float:
    if isinstance(m, (Lorentz, PoincareBall, Klein)):
        return float(m.k.detach())
    assert isinstance(m, Euclidean)
    return 0.0


def dot(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).sum()


def origin(m, dim: int) -> Tensor:
    o = torch.zeros(dim, dtype=torch.float64)
    if isinstance(m, Lorentz):
        o[0] = 1 / math.sqrt(curvature(m))
    return o


# --- coordinates -------------------------------------------------------------

def to_klein(m, x: Tensor) -> Tensor:
    c = curvature(m)
    if isinstance(m, Lorentz):
        return x[1:] / (math.sqrt(c) * x[0])  # Chamberlain 2019, Eq. 4
    if isinstance(m, PoincareBall):
        return 2 * x / (1 + c * dot(x, x))  # Hyper-Know, Eq. 6 (f_{B->K})
    return x.clone()


def from_klein(m, kappa: Tensor) -> Tensor:
    c = curvature(m)
    if isinstance(m, Lorentz):  # Chamberlain 2019, Eq. 5
        head = torch.ones(1, dtype=kappa.dtype)
        return torch.cat([head, math.sqrt(c) * kappa]) / (math.sqrt(c) * torch.sqrt(1 - c * dot(kappa, kappa)))
    if isinstance(m, PoincareBall):
        return kappa / (1 + torch.sqrt(1 - c * dot(kappa, kappa)))  # Hyper-Know, Eq. 6 (f_{K->B})
    return kappa.clone()


def to_poincare(m, x: Tensor) -> Tensor:
    c = curvature(m)
    if isinstance(m, Lorentz):
        return x[1:] / (1 + math.sqrt(c) * x[0])
    if isinstance(m, Klein):
        return x / (1 + torch.sqrt(1 - c * dot(x, x)))  # Hyper-Know, Eq. 6 (f_{K->B})
    return x.clone()


def from_poincare(m, p: Tensor) -> Tensor:
    c = curvature(m)
    p2 = c * dot(p, p)
    if isinstance(m, Lorentz):
        return torch.cat([((1 + p2) / math.sqrt(c)).reshape(1), 2 * p]) / (1 - p2)
    if isinstance(m, Klein):
        return 2 * p / (1 + p2)  # Hyper-Know, Eq. 6 (f_{B->K})
    return p.clone()


def lorentz_factor(m, kappa: Tensor) -> Tensor:
    r""":math:`\gamma = 1/\sqrt{1 - c\lVert\kappa\rVert^2}` (Hyper-Know Eq. 5); 1 in flat space."""
    if isinstance(m, Euclidean):
        return torch.tensor(1.0, dtype=torch.float64)
    return 1 / torch.sqrt(1 - curvature(m) * dot(kappa, kappa))


def hyperboloid_point(space: Tensor, k: float) -> Tensor:
    """The hyperboloid point with the given space coordinates: x_0 = sqrt(1/k + |x_s|^2)."""
    return torch.cat([torch.sqrt(1 / k + dot(space, space)).reshape(1), space])


# --- maps at the origin ----------------------------------------------------------

def logmap0(m, x: Tensor) -> Tensor:
    r"""Tangent vector at the origin with Riemannian length :math:`d(o, x)`,
    pointing at :obj:`x`, in the model's own tangent coordinates."""
    c = curvature(m)
    if isinstance(m, Lorentz):
        s = x[1:]
        n = torch.sqrt(dot(s, s))
        return torch.cat([torch.zeros(1, dtype=x.dtype), torch.asinh(math.sqrt(c) * n) / (math.sqrt(c) * n) * s])
    if isinstance(m, (PoincareBall, Klein)):
        # Poincaré: d(o,x) = 2 artanh(sqrt(c)|x|)/sqrt(c) with metric 4I at o;
        # Klein: d(o,x) = artanh(sqrt(c)|x|)/sqrt(c) with metric I at o
        n = torch.sqrt(dot(x, x))
        return torch.atanh(math.sqrt(c) * n) / (math.sqrt(c) * n) * x
    return x.clone()


def expmap0(m, u: Tensor) -> Tensor:
    """Inverse of :func:`logmap0` (the time coordinate of a hyperboloid vector is ignored)."""
    c = curvature(m)
    if isinstance(m, Lorentz):
        s = u[1:]
        n = torch.sqrt(dot(s, s))
        sc = math.sqrt(c)
        return torch.cat([(torch.cosh(sc * n) / sc).reshape(1), torch.sinh(sc * n) / (sc * n) * s])
    if isinstance(m, (PoincareBall, Klein)):
        n = torch.sqrt(dot(u, u))
        return torch.tanh(math.sqrt(c) * n) / (math.sqrt(c) * n) * u
    return u.clone()


# --- the Poincaré ball of Hyper-Know -------------------------------------------

def mobius_add(x: Tensor, y: Tensor, c: float) -> Tensor:
    """Hyper-Know, Eq. 2."""
    xy, x2, y2 = dot(x, y), dot(x, x), dot(y, y)
    return ((1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y) / (1 + 2 * c * xy + c ** 2 * x2 * y2)


def poincare_dist(x: Tensor, y: Tensor, c: float) -> Tensor:
    """Hyper-Know, Eq. 1."""
    w = mobius_add(-x, y, c)
    return 2 / math.sqrt(c) * torch.atanh(math.sqrt(c) * torch.sqrt(dot(w, w)))


# --- Einstein midpoint -------------------------------------------------------------

def midpoint(m, xs: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    r"""Chamberlain 2019 Eq. 24 with the Lorentz factor of Hyper-Know Eq. 5:
    :math:`\sum_i w_i\gamma_i\kappa_i / \sum_i w_i\gamma_i` in Klein
    coordinates; the weighted mean in Euclidean space. No points (or zero
    total weight): the origin."""
    assert len(xs) > 0, "callers give isolated nodes the origin themselves"
    if sum(float(w) for w in weights) == 0.0:
        return origin(m, xs[0].numel())
    if isinstance(m, Euclidean):
        return sum(w * x for w, x in zip(weights, xs)) / sum(weights)
    num, den = 0.0, 0.0
    for x, w in zip(xs, weights):
        kappa = to_klein(m, x)
        gamma = lorentz_factor(m, kappa)
        num = num + w * gamma * kappa
        den = den + w * gamma
    return from_klein(m, num / den)


def leaky_relu(s: Tensor, slope: float) -> Tensor:
    return s if s >= 0 else slope * s


def midpoint_conv(m, x_src: Tensor, edge_index: Tensor, num_dst: int, *,
                  edge_weight: Optional[Tensor] = None, x_dst: Optional[Tensor] = None,
                  att_src: Optional[Tensor] = None, att_dst: Optional[Tensor] = None,
                  negative_slope: float = 0.2) -> Tensor:
    r"""EinsteinMidpointConv: destination :math:`i` is the midpoint of its
    sources with weights :math:`\alpha_{ji} w_{ji}`, where, with attention,
    :math:`\alpha_{ji} = \operatorname{softmax}_j \operatorname{LeakyReLU}(
    a_s^\top\log_o x_j + a_d^\top\log_o x_i)` (the destination term only when
    :obj:`x_dst` is given), else 1."""
    src, dst = edge_index.tolist()
    out = []
    for i in range(num_dst):
        edges = [e for e in range(len(dst)) if dst[e] == i]
        if not edges:
            out.append(origin(m, x_src.size(1)))
            continue
        w = [float(edge_weight[e]) if edge_weight is not None else 1.0 for e in edges]
        if att_src is not None:
            scores = []
            for e in edges:
                s = dot(att_src, logmap0(m, x_src[src[e]]))
                if x_dst is not None:
                    s = s + dot(att_dst, logmap0(m, x_dst[i]))
                scores.append(leaky_relu(s, negative_slope))
            top = max(scores)
            exps = [torch.exp(s - top) for s in scores]
            alpha = [float(a / sum(exps)) for a in exps]
            w = [wi * ai for wi, ai in zip(w, alpha)]
        out.append(midpoint(m, [x_src[src[e]] for e in edges], w))
    return torch.stack(out)


# --- Hyper-Know neighbourhood representation -------------------------------------

def kg_attention(m, x_item: Tensor, x_entity: Tensor, edge_index: Tensor, edge_type: Tensor,
                 relation: Optional[Tensor], attention: bool = True):
    r"""Hyper-Know Eq. 4-6 for every item, computed in the Poincaré ball of
    the same curvature and mapped back into :obj:`m`'s coordinates; with
    :class:`Euclidean`, TransE attention :math:`\exp(-\lVert v + r - t\rVert)`
    and the weighted mean. Returns ``(n, coeff)``: the neighbourhood points and,
    per edge, the normalised coefficient of Eq. 5."""
    ent, item = edge_index.tolist()
    rel = edge_type.tolist()
    c = curvature(m)
    out = []
    coeff = torch.zeros(len(ent), dtype=torch.float64)
    for v in range(x_item.size(0)):
        edges = [e for e in range(len(item)) if item[e] == v]
        if not edges:
            out.append(origin(m, x_item.size(1)))
            continue
        if isinstance(m, Euclidean):
            alpha = [torch.exp(-torch.sqrt(dot(x_item[v] + relation[rel[e]] - x_entity[ent[e]],
                                                  x_item[v] + relation[rel[e]] - x_entity[ent[e]])))
                     if attention else torch.tensor(1.0, dtype=torch.float64) for e in edges]
            total = sum(alpha)
            for e, a in zip(edges, alpha):
                coeff[e] = a / total
            out.append(sum(a * x_entity[ent[e]] for e, a in zip(edges, alpha)) / total)
            continue
        v_ball = to_poincare(m, x_item[v])
        weighted, kappas = [], []
        for e in edges:
            t_ball = to_poincare(m, x_entity[ent[e]])
            if attention:
                r_ball = to_poincare(m, expmap0(m, relation[rel[e]]))
                alpha = torch.exp(-poincare_dist(mobius_add(v_ball, r_ball, c), t_ball, c))  # Eq. 4
            else:
                alpha = torch.tensor(1.0, dtype=torch.float64)
            t_klein = 2 * t_ball / (1 + c * dot(t_ball, t_ball))  # Eq. 6, f_{B->K}
            gamma = 1 / torch.sqrt(1 - c * dot(t_klein, t_klein))  # Eq. 5
            weighted.append(alpha * gamma)
            kappas.append(t_klein)
        total = sum(weighted)
        n_klein = sum(wg / total * k for wg, k in zip(weighted, kappas))  # Eq. 5
        for e, wg in zip(edges, weighted):
            coeff[e] = wg / total
        n_ball = n_klein / (1 + torch.sqrt(1 - c * dot(n_klein, n_klein)))  # Eq. 6, f_{K->B}
        out.append(from_poincare(m, n_ball))
    return torch.stack(out), coeff


# --- HyperbolicHeteroConv ------------------------------------------------------------

def hetero_combine(m, results: List[Tensor], edge_indices: List[Tensor], num_dst: int) -> Tensor:
    """Per destination node, the unweighted midpoint of the per-edge-type
    results over the edge types with an edge into it; the origin if none."""
    out = []
    for i in range(num_dst):
        reached = [res[i] for res, ei in zip(results, edge_indices) if (ei[1] == i).any()]
        out.append(midpoint(m, reached, [1.0] * len(reached)) if reached
                   else origin(m, results[0].size(1)))
    return torch.stack(out)
