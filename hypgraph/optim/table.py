r"""Point tables: how a table of points on a manifold is stored in a
parameter, read back by rows, and initialised.

=====================================  ============================================
parameterization                       the parameter holds
=====================================  ============================================
``"manifold"`` (:class:`ManifoldTable`)  the points, a :class:`ManifoldParameter`
                                       for :class:`RiemannianSGD` /
                                       :class:`RiemannianAdam` ([Chamberlain 2019]
                                       §5.3, Eq. 20-22)
``"tangent"`` (:class:`TangentTable`)    tangent vectors at the origin, an ordinary
                                       ``nn.Parameter`` mapped by ``expmap0`` when
                                       read, for any :mod:`torch.optim` optimiser
=====================================  ============================================

A table holds no tensor of its own: its owner registers the parameter
(:meth:`PointTable.new_parameter`) under its own name and hands it to every
call. Parameter names, state dicts and :func:`torch.func.functional_call`
(which swaps a module's parameters for other tensors, as the bilevel trainer
does with its proxy tables) then see the parameter where they always did,
and a model reads its tables only through this interface, so another
parameterisation is one more entry in :data:`PARAMETERIZATIONS`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, Optional, Tuple, Type

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..manifolds import numerics
from ..manifolds.base import Manifold
from .parameter import ManifoldParameter

__all__ = ["PointTable", "ManifoldTable", "TangentTable", "PARAMETERIZATIONS", "point_table", "rows_stand_in"]

_ROWS = "_hypgraph_stand_in_rows"


def rows_stand_in(table: Tensor, index: Tensor, rows: Tensor) -> Tensor:
    r""":obj:`table` with its rows :obj:`index` (sorted, distinct) replaced by
    :obj:`rows`: a stand-in for a functional call (as
    :class:`~hypgraph.train.BilevelTrainer` builds for Hyper-Know Eq. 12)
    that knows which of its rows are live.

    :meth:`PointTable.take`, :meth:`~PointTable.rows` and
    :meth:`~PointTable.gather` read those rows from :obj:`rows` itself, so the
    gradient of every read is ``[len(index), width]`` instead of a zero table
    of the full size per read (for the 35k-entity table of ml-100k's KG, a
    9 MB fill and sum per read, and a differentiable one under
    ``create_graph=True``). Any other read of the returned tensor sees the
    same values and still reaches :obj:`rows`. When :obj:`rows` hold the
    table's own values (the inner step of the bilevel trainer) and the table
    needs no gradient, the stand-in is the table itself, not a copy, and
    passes the gradient of such reads to :obj:`rows`."""
    if (not table.requires_grad and numerics.host_checks(rows)
            and torch.equal(table.index_select(0, index), rows.detach())):
        out = _TableWithLiveRows.apply(table, index, rows)
    else:
        out = table.index_copy(0, index, rows)
    setattr(out, _ROWS, (index, rows))
    return out


class _TableWithLiveRows(torch.autograd.Function):
    # the table itself (no copy), whose rows `index` hold the values of
    # `rows`: the gradient of any read is gathered back to those rows
    @staticmethod
    def forward(ctx, table: Tensor, index: Tensor, rows: Tensor) -> Tensor:
        ctx.save_for_backward(index)
        return table.view_as(table)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (index,) = ctx.saved_tensors
        return None, None, grad.index_select(0, index)


def _live_rows(weight: Tensor, index: Tensor) -> Optional[Tuple[Tensor, Tensor]]:
    # (rows, local) with rows[local] the rows `index` of a rows_stand_in,
    # or None: not a stand-in, `index` reads a row outside its live rows, or
    # off the CPU, where checking that would wait for the device (the
    # stand-in is then read as a table, with the same values and gradients)
    live = getattr(weight, _ROWS, None)
    if live is None or not numerics.host_checks(index):
        return None
    ids, rows = live
    if ids.numel() == 0:
        return None
    local = torch.searchsorted(ids, index).clamp_max_(ids.numel() - 1)
    if not bool((ids[local] == index).all()):
        return None
    return rows, local


class PointTable(ABC):
    r"""A table of :obj:`num_points` points of intrinsic dimension :obj:`dim`
    on :obj:`manifold`, stored in a parameter that the caller owns.

    Reading is index first: :meth:`rows` maps only the rows asked for (a
    batch never maps the whole table), :meth:`points` maps them all (full
    ranking), :meth:`gather` returns what an expression indexed by many
    repeated ids needs. With ``sparse=True`` the rows of an
    :class:`~torch.nn.Parameter` are read as
    :func:`torch.nn.functional.embedding` with ``sparse=True`` does, so its
    gradient is sparse along the rows (for :class:`torch.optim.SparseAdam`,
    :class:`torch.optim.Adagrad`, or the Riemannian optimisers' row-wise
    updates); other tensors (a functional call's stand-ins) are read densely.

    Args:
        manifold (Manifold): Where the points live.
        num_points (int): Rows of the table.
        dim (int): Intrinsic dimension of the points.
        sparse (bool): Sparse row gradients (default: ``False``).
    """

    #: the name of the parameterisation in :data:`PARAMETERIZATIONS`
    kind: str = ""
    #: the parameter holds the points themselves: reading all of them costs nothing
    stores_points: bool = False

    def __init__(self, manifold: Manifold, num_points: int, dim: int, *, sparse: bool = False) -> None:
        if not isinstance(manifold, Manifold):
            raise TypeError(f"{type(self).__name__} needs a hypgraph Manifold, got {type(manifold).__name__}")
        if num_points < 0 or dim < 1:
            raise ValueError(f"need num_points >= 0 and dim >= 1, got {num_points} and {dim}")
        self.manifold, self.num_points, self.dim, self.sparse = manifold, int(num_points), int(dim), bool(sparse)

    # --- storage ----------------------------------------------------------
    @property
    @abstractmethod
    def width(self) -> int:
        """Stored coordinates per row."""

    @abstractmethod
    def new_parameter(self, dtype: Optional[torch.dtype] = None, device=None) -> nn.Parameter:
        """An uninitialised ``(num_points, width)`` parameter of the right kind
        (fill it with :meth:`reset_parameters`)."""

    @abstractmethod
    def to_points(self, stored: Tensor) -> Tensor:
        """Points ``[..., D]`` of stored rows ``[..., width]``."""

    @abstractmethod
    def from_points(self, points: Tensor) -> Tensor:
        """Stored rows that read back as :obj:`points` (the inverse of :meth:`to_points`)."""

    @abstractmethod
    def from_tangent(self, tangent: Tensor) -> Tensor:
        r"""Stored rows that read back as :math:`\exp_o(\text{tangent})`, for
        tangent vectors at the origin in the manifold's coordinates (as
        :meth:`~hypgraph.manifolds.Manifold.expmap0` takes them)."""

    # --- reading ------------------------------------------------------------
    def take(self, weight: Tensor, index: Tensor) -> Tensor:
        r"""The stored rows :obj:`index` (any shape) of :obj:`weight`, with a
        sparse gradient when the table is sparse and :obj:`weight` a parameter."""
        if self.sparse and isinstance(weight, nn.Parameter):
            return F.embedding(index, weight, sparse=True)
        live = _live_rows(weight, index)
        if live is not None:  # a rows_stand_in: read its live rows directly
            rows, local = live
            return rows[local]
        return weight[index]

    def rows(self, weight: Tensor, index: Tensor) -> Tensor:
        """Points of the rows :obj:`index` (any shape), ``[*index.shape, D]``.
        An index with more entries than the table has rows (e.g. 100 sampled
        negatives for each of 4,096 test pairs) reads the whole table once
        and picks from it, instead of mapping each entry: the same points (to
        rounding)."""
        if (not self.stores_points and index.numel() > weight.size(0) and getattr(weight, _ROWS, None) is None
                and not (self.sparse and isinstance(weight, nn.Parameter))):
            return self.points(weight)[index]
        return self.to_points(self.take(weight, index))

    def points(self, weight: Tensor) -> Tensor:
        """Every point of the table, ``[num_points, D]``."""
        return self.to_points(weight)

    def tangents(self, weight: Tensor) -> Tensor:
        r"""The intrinsic coordinates ``[num_points, dim]`` of
        :math:`\log_o x` for every point :math:`x` of the table: what
        propagation in the tangent space at the origin reads (HGCF)."""
        return self.manifold.logmap0_coords(self.points(weight))

    def gather(self, weight: Tensor, index: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(points, local)`` with ``points[local]`` the points of
        :obj:`index`: the whole table when reading it is free (dense gradient,
        :attr:`stores_points`), else only the distinct rows of :obj:`index`,
        each mapped once. For expressions that index a table many times
        (message passing over a batch's neighbours)."""
        live = _live_rows(weight, index)
        if live is not None:  # a rows_stand_in: its live rows, each mapped once
            rows, local = live
            return self.to_points(rows), local
        if self.stores_points and not (self.sparse and isinstance(weight, nn.Parameter)):
            return self.points(weight), index
        distinct, local = torch.unique(index, return_inverse=True)
        return self.rows(weight, distinct), local

    # --- writing ------------------------------------------------------------
    @torch.no_grad()
    def reset_parameters(self, weight: Tensor, *, points: Optional[Tensor] = None,
                         tangent: Optional[Tensor] = None) -> None:
        r"""Fill :obj:`weight` in place so that it reads back as :obj:`points`
        ``[num_points, D]``, or as :math:`\exp_o` of :obj:`tangent` (tangent
        vectors at the origin in the manifold's coordinates,
        ``[num_points, D]``); exactly one of the two."""
        if (points is None) == (tangent is None):
            raise ValueError("reset_parameters needs exactly one of points= and tangent=")
        given = points if tangent is None else tangent
        expected = (self.num_points, self.manifold.coord_dim(self.dim))
        if tuple(given.shape) != expected:
            raise ValueError(f"{'points' if tangent is None else 'tangent'} must have shape {expected}, "
                             f"got {tuple(given.shape)}")
        given = given.to(dtype=weight.dtype, device=weight.device)
        weight.copy_(self.from_points(given) if tangent is None else self.from_tangent(given))

    def convert(self, stored: Tensor, source: "PointTable") -> Tensor:
        """Rows stored by :obj:`source` (another parameterisation of the same
        points) as this table stores them."""
        if type(source) is type(self):
            return stored
        return self.from_points(source.to_points(stored))

    def __repr__(self) -> str:
        sparse = ", sparse=True" if self.sparse else ""
        return f"{type(self).__name__}({self.manifold}, {self.num_points}, dim={self.dim}{sparse})"


class ManifoldTable(PointTable):
    r"""The points themselves, in a :class:`~hypgraph.optim.ManifoldParameter`
    of width ``manifold.coord_dim(dim)``: the parameterisation of the papers,
    updated by :class:`~hypgraph.optim.RiemannianSGD` ([Chamberlain 2019]
    Eq. 20-22) or :class:`~hypgraph.optim.RiemannianAdam`, whose steps follow
    geodesics and keep every point on the manifold. A plain
    :mod:`torch.optim` optimiser would step off it."""

    kind = "manifold"
    stores_points = True

    @property
    def width(self) -> int:
        return self.manifold.coord_dim(self.dim)

    def new_parameter(self, dtype: Optional[torch.dtype] = None, device=None) -> nn.Parameter:
        return ManifoldParameter(torch.empty(self.num_points, self.width, dtype=dtype, device=device),
                                 self.manifold)

    def to_points(self, stored: Tensor) -> Tensor:
        return stored

    def from_points(self, points: Tensor) -> Tensor:
        return self.manifold.projx(points)

    def from_tangent(self, tangent: Tensor) -> Tensor:
        return self.manifold.expmap0(tangent)


class TangentTable(PointTable):
    r"""Tangent vectors at the origin, in an ordinary
    :class:`~torch.nn.Parameter` of width ``dim`` (the intrinsic coordinates
    of :math:`T_o`; :meth:`~hypgraph.manifolds.Manifold.tangent0` adds the
    hyperboloid's time coordinate, 0 at the origin), read as
    :math:`x = \exp_o(u)`. Every :mod:`torch.optim` optimiser applies, sparse
    ones included; in Euclidean space the map is the identity.

    Euclidean parameters mapped by :math:`\exp_o` are how hyperbolic
    networks commonly take their inputs (e.g. HGCN, Chami et al., NeurIPS
    2019, §4.1) and how the relation embeddings here are stored: a distance
    between points is an ordinary differentiable function of the
    :math:`u`, so Adam keeps one second moment per coordinate, as Euclidean
    BPR does.

    **The trade-off.** The update is a Euclidean step on :math:`u`, not a
    Riemannian step on :math:`x`: the gradient is that of the composite
    :math:`u \mapsto \exp_o(u)`, whose differential stretches the
    directions orthogonal to :math:`u` by :math:`\sinh(r)/r` relative to the
    radial one at distance :math:`r` from the origin, so a step of fixed size
    in :math:`u` moves far points further around their sphere than near
    ones, and per-coordinate adaptivity is taken in the coordinates of this
    chart. Bécigneul & Ganea ("Riemannian Adaptive Optimization
    Methods", ICLR 2019) show that coordinate-wise adaptivity has no
    intrinsic meaning on a manifold (it depends on the chart); the Riemannian
    optimisers therefore keep one second moment per point, with a first
    moment transported along the geodesic. The tangent table makes the
    opposite choice: a fixed chart (the tangent space at the origin, where
    the metric is the Euclidean one up to the constant conformal factor of
    the ball), and with it Adam's per-coordinate scaling, its cheap sparse
    updates and every :mod:`torch.optim` feature (weight decay is then on
    :math:`\lVert u\rVert`, i.e. on the distance from the origin).

    **Far rows.** :meth:`~hypgraph.manifolds.Manifold.expmap0` caps tangent
    norms where the manifold's coordinates would overflow (40 on the float32
    hyperboloid of curvature -1, the Poincaré ball's boundary margin): a row
    beyond the cap reads as the point on its ray at the cap and gets no radial
    gradient (finite gradients for every finite row).
    """

    kind = "tangent"
    stores_points = False

    @property
    def width(self) -> int:
        return self.dim

    def new_parameter(self, dtype: Optional[torch.dtype] = None, device=None) -> nn.Parameter:
        return nn.Parameter(torch.empty(self.num_points, self.dim, dtype=dtype, device=device))

    def to_points(self, stored: Tensor) -> Tensor:
        return self.manifold.expmap0_coords(stored)

    def from_points(self, points: Tensor) -> Tensor:
        return self.manifold.logmap0_coords(points)

    def tangents(self, weight: Tensor) -> Tensor:
        # the stored rows are the tangent vectors (exactly; beyond expmap0's cap
        # the points read as the capped vector, the propagation the stored one)
        return weight

    def from_tangent(self, tangent: Tensor) -> Tensor:
        return self.manifold.tangent0_coords(tangent)


#: Parameterisations by name: how a model's ``parameterization=`` argument is
#: resolved (:func:`point_table`).
PARAMETERIZATIONS: Dict[str, Type[PointTable]] = {"manifold": ManifoldTable, "tangent": TangentTable}


def point_table(parameterization: str, manifold: Manifold, num_points: int, dim: int, *,
                sparse: bool = False) -> PointTable:
    r"""The :class:`PointTable` named :obj:`parameterization` (a key of
    :data:`PARAMETERIZATIONS`: ``'manifold'`` or ``'tangent'``)."""
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {tuple(PARAMETERIZATIONS)}, "
                         f"got {parameterization!r}")
    return PARAMETERIZATIONS[parameterization](manifold, num_points, dim, sparse=sparse)
