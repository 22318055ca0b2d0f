r"""Hyperbolic geometry: pure functions per model (``hypgraph.manifolds.lorentz.math``,
``.poincare.math``, ``.klein.math``) and thin modules that own the curvature.
Every model and conversion names its curvature magnitude ``k`` (curvature
``-k``); the ball's and Klein's ``c`` of before 0.2 still works for one
release with a DeprecationWarning.

=================  ==============================  ==============================
class              model                           paper
=================  ==============================  ==============================
:class:`Lorentz`   hyperboloid, curvature -k       Chamberlain 2019 §3.1.3, Eq. 7-12, 19
:class:`PoincareBall` Poincaré ball, curvature -k  Hyper-Know Eq. 1-2
:class:`Klein`     Klein ball, curvature -k        Chamberlain 2019 Eq. 3-5
:class:`Euclidean` flat (the ablation)             --
=================  ==============================  ==============================
"""
from . import conversions, numerics
from .base import Curvature, Manifold
from .conversions import (klein_to_lorentz, klein_to_poincare, lorentz_to_klein,
                          lorentz_to_poincare, poincare_to_klein, poincare_to_lorentz)
from .euclidean import Euclidean
from .frechet import frechet_mean
from .klein import Klein
from .lorentz import Lorentz
from .midpoint import einstein_midpoint, sparse_matmul
from .poincare import PoincareBall

__all__ = [
    "Manifold", "Curvature", "Lorentz", "PoincareBall", "Klein", "Euclidean",
    "einstein_midpoint", "sparse_matmul", "frechet_mean", "conversions", "numerics",
    "lorentz_to_poincare", "poincare_to_lorentz", "lorentz_to_klein", "klein_to_lorentz",
    "poincare_to_klein", "klein_to_poincare",
]
