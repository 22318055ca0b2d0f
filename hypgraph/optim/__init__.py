r"""Riemannian optimisers for parameters that live on a manifold.

=====================================  ============================================
class                                  what
=====================================  ============================================
:class:`ManifoldParameter`             an ``nn.Parameter`` that carries its manifold
:class:`RiemannianSGD`                 [Chamberlain 2019] §5.3, Eq. 20-22, with
                                       transported momentum and tangent clipping
:class:`RiemannianAdam`                Bécigneul & Ganea, ICLR 2019: one second
                                       moment per point, transported first moment
:class:`PointTable`                    how a model's table of points is stored:
                                       :class:`ManifoldTable` (the points, for the
                                       Riemannian optimisers) or
                                       :class:`TangentTable` (tangent vectors at
                                       the origin, for any ``torch.optim``
                                       optimiser); :func:`point_table` by name
=====================================  ============================================

Both read ``getattr(param, "manifold", None)``; plain tensors (and
:class:`~hypgraph.manifolds.Euclidean` parameters) get exactly
:class:`torch.optim.SGD` / :class:`torch.optim.Adam`. Sparse gradients update
only the rows they touch.

The steps themselves are functions of tensors in
:mod:`hypgraph.optim.functional` (:func:`~hypgraph.optim.functional.rsgd_step`,
:func:`~hypgraph.optim.functional.adam_step`, differentiable on request): the
optimisers keep the state and call them, and so does anything else that needs
the same step, such as the bilevel proxy of :mod:`hypgraph.train`.
"""
from . import functional
from .parameter import ManifoldParameter
from .radam import RiemannianAdam
from .rsgd import RiemannianSGD
from .table import PARAMETERIZATIONS, ManifoldTable, PointTable, TangentTable, point_table, rows_stand_in

__all__ = ["functional", "ManifoldParameter", "RiemannianSGD", "RiemannianAdam", "PointTable", "ManifoldTable",
           "TangentTable", "PARAMETERIZATIONS", "point_table", "rows_stand_in"]
