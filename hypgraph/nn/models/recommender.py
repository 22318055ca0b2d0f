r"""The hyperbolic recommender of [Chamberlain 2019]. Its Euclidean
baseline is the same class with ``manifold=Euclidean()``: models are named
for the hyperbolic model they implement and take their geometry as an
argument (:class:`~hypgraph.nn.models.base.PointRecommender`)."""
from __future__ import annotations

import math
import warnings
from typing import Optional

import torch
from torch import Tensor

from ...data.history import InteractionCSR
from .base import SCORES, PointRecommender, _score_kind_from_score
from ...manifolds import Lorentz, Manifold
from ..conv import EinsteinMidpointConv

__all__ = ["HyperbolicRecommender"]



class HyperbolicRecommender(PointRecommender):
    r"""User–item scoring in hyperbolic space, from `"Scalable Hyperbolic
    Recommender Systems" <https://arxiv.org/abs/1902.08648>`_ (§5).

    Items are points :math:`v_i` of :obj:`manifold`. Users are either points
    of their own (``asymmetric=False``) or, as in §5.4, the Einstein midpoint
    of the items in their history (``asymmetric=True``, no user parameters,
    computed by :class:`~hypgraph.nn.EinsteinMidpointConv`; with
    :class:`~hypgraph.manifolds.Euclidean` this is the mean). Scores
    (higher = better), chosen by ``score_kind``:

    - ``score_kind='distance'``: :math:`s_{u,i} = -d(v_u, v_i)` (Eq. 14, 17), with
      the margin of Eq. 19 when the manifold is ``Lorentz(margin=eps)``;
    - ``score_kind='sqdist'``: :math:`s_{u,i} = -d(v_u, v_i)^2`, the same ranking
      with a loss that weighs far pairs more (the squared distance of
      Poincaré-ball recommenders and hyperbolic KG embeddings);
    - ``score_kind='inner'``: the Minkowski inner product
      :math:`\langle v_u, v_i\rangle_{\mathcal L}` (§5.2; a monotone function of
      the distance without its singularity), or the dot product in Euclidean
      space.

    Both are computed for all items with one matrix product
    (:meth:`score_all`), so hyperbolic evaluation costs what Euclidean does.

    **The Euclidean baseline** is ``HyperbolicRecommender(...,
    manifold=Euclidean())``: points in :math:`\mathbb R^n`, mean users,
    Euclidean distance or dot product, the same code and interface (its
    repr shows ``manifold=Euclidean()``). The class keeps the paper's
    name, as :class:`HyperKnow` and the layers do.

    **Parameterisation.** With ``parameterization='manifold'`` (the paper's
    §5.3) the user and item tables hold the points, to be trained with
    :class:`~hypgraph.optim.RiemannianSGD` or
    :class:`~hypgraph.optim.RiemannianAdam`; with ``'tangent'`` they hold
    tangent vectors at the origin, mapped by ``expmap0`` when read (only the
    rows a batch uses), to be trained with any :mod:`torch.optim` optimiser,
    e.g. :class:`torch.optim.Adam`, or :class:`torch.optim.SparseAdam` with
    ``sparse=True`` (then :meth:`point_parameters` go to it and the rest,
    if any, to a dense optimiser). The step is then no longer Riemannian and
    Adam's per-coordinate adaptivity depends on the chart; see
    :class:`~hypgraph.optim.TangentTable` for the trade-off.

    Args:
        num_users (int, optional): Number of users; required when
            ``asymmetric=False`` (midpoint users have no parameters).
        num_items (int): Number of items. The order ``(num_users, num_items,
            ...)`` is every recommender's here; before 0.2 this class took
            ``(num_items, num_users)``: a call that still passes the items
            first is caught when the model meets its data (the
            :class:`~hypgraph.train.Trainer` and the evaluators compare the
            sizes).
        dim (int): Intrinsic dimension (default: ``50``).
        manifold (Manifold, optional): (default: ``Lorentz(margin=1e-6)``)
        asymmetric (bool): Midpoint users (default: ``True``).
        score_kind (str): ``'distance'``, ``'sqdist'`` or ``'inner'``, one
            of the manifold's :attr:`~hypgraph.manifolds.Manifold.score_kinds`
            (default: ``'distance'``). Before 0.2 this keyword was ``score``
            (the name of the method): ``score=`` still works for one release
            with a :class:`DeprecationWarning`.
        attention (bool): Attention-weighted midpoint users (default: ``False``).
        init_width (float): Poincaré-ball radius of the least frequent items
            at initialisation (default: ``0.1``).
        parameterization (str): How the user and item tables hold their
            points: ``'manifold'`` or ``'tangent'``
            (:data:`~hypgraph.optim.PARAMETERIZATIONS`; default: ``'manifold'``).
        sparse (bool): Sparse row gradients for the tables, as
            ``nn.Embedding(sparse=True)`` (default: ``False``).
    """

    def __init__(self, num_users: Optional[int] = None, num_items: Optional[int] = None, dim: int = 50,
                 manifold: Optional[Manifold] = None, asymmetric: bool = True,
                 score_kind: str = "distance", attention: bool = False, init_width: float = 0.1, *,
                 parameterization: str = "manifold", sparse: bool = False, score: Optional[str] = None) -> None:
        super().__init__()
        score_kind = _score_kind_from_score(score_kind, score, "HyperbolicRecommender")
        if num_items is None:
            raise TypeError("HyperbolicRecommender needs num_items: its arguments are (num_users, num_items, ...) "
                            "(before 0.2 they were (num_items, num_users); pass num_items=... for midpoint users)")
        manifold = Lorentz(margin=1e-6) if manifold is None else manifold
        if score_kind not in SCORES:
            raise ValueError(f"score_kind must be one of {SCORES}, got {score_kind!r}")
        manifold.check_score_kind(score_kind)
        if not asymmetric and not num_users:
            raise ValueError("a symmetric model (asymmetric=False) needs num_users")
        if num_items < 1 or dim < 1 or not 0 < init_width < 1:
            raise ValueError(f"need num_items >= 1, dim >= 1 and 0 < init_width < 1, "
                             f"got {num_items}, {dim}, {init_width}")
        self.manifold, self.num_items, self.num_users = manifold, num_items, num_users
        self.dim, self.asymmetric, self.score_kind, self.init_width = dim, asymmetric, score_kind, init_width
        width = manifold.coord_dim(dim)
        self.register_point_table("item", num_items, dim, parameterization, sparse=sparse)
        if asymmetric:
            self.register_parameter("user", None)
            self.encoder = EinsteinMidpointConv(width, manifold=manifold, attention=attention)
        else:
            self.register_point_table("user", num_users, dim, parameterization, sparse=sparse)
            self.encoder = None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, item_frequency: Optional[Tensor] = None,
                         generator: Optional[torch.Generator] = None) -> None:
        r"""§5.3 initialisation: points drawn in the Poincaré ball with a radius
        :math:`\propto 1/\log n_i` (popular items start near the origin), mapped
        to the manifold. Without :obj:`item_frequency` every item gets
        :obj:`init_width`."""
        if item_frequency is None:
            radius = torch.full((self.num_items,), self.init_width)
        else:
            if item_frequency.shape != (self.num_items,):
                raise ValueError(f"item_frequency must have shape ({self.num_items},), "
                                 f"got {tuple(item_frequency.shape)}")
            radius = self.init_width / torch.log(math.e + item_frequency.double().clamp_min(0)).float()
        self._reset_table("item", radius * torch.rand(self.num_items, generator=generator), generator)
        if self.user is not None:
            radius = torch.full((self.num_users,), self.init_width)
            self._reset_table("user", radius * torch.rand(self.num_users, generator=generator), generator)
        if self.encoder is not None:
            self.encoder.reset_parameters()

    def _reset_table(self, name: str, ball_radius: Tensor, generator: Optional[torch.Generator]) -> None:
        # a Poincaré-ball radius r is hyperbolic distance 2 artanh(r) from the origin
        direction = torch.randn(ball_radius.numel(), self.dim, generator=generator)
        direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        tangent = direction * (2 * torch.atanh(ball_radius)).unsqueeze(-1)
        weight = getattr(self, name)
        self.point_tables[name].reset_parameters(weight, tangent=self.manifold.tangent0(tangent.to(weight.dtype)))

    def user_points(self, users: Tensor, history: Optional[InteractionCSR] = None) -> Tensor:
        r"""Points of :obj:`users` ``[B]``: their own parameters, or the midpoint
        of their :obj:`history` items (required for asymmetric models). Users
        with an empty history get the origin."""
        if not self.asymmetric:
            return self.points("user", users)
        if history is None:
            raise ValueError("an asymmetric model needs the users' history (an InteractionCSR)")
        # a batch of interactions repeats its most active users, whose histories
        # are the longest: aggregate each distinct user once
        unique, inverse = torch.unique(users, return_inverse=True)
        # [distinct users, items] counts: without attention the midpoints are
        # one sparse-dense product, never a copy of an item per history entry
        adj_t = history.adjacency(unique, self.num_items, dtype=self.item.dtype)
        # the items the histories read (all of them when reading the table is free)
        items, local = self.gather_points("item", adj_t.col_indices())
        if items.size(0) != self.num_items:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                adj_t = torch.sparse_csr_tensor(adj_t.crow_indices(), local, adj_t.values(),
                                                (adj_t.size(0), items.size(0)), check_invariants=False,
                                                device=adj_t.device)
        return self.encoder((items, None), adj_t)[inverse]

    def extra_repr(self) -> str:
        users = "midpoint" if self.asymmetric else self.num_users
        return (f"num_items={self.num_items}, users={users}, dim={self.dim}, "
                f"manifold={self.manifold}, score_kind={self.score_kind!r}{self._tables_repr()}")
