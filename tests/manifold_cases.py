"""The manifolds the suites run over: one registry of named cases, from
which each suite picks its list (the contract and optimiser suites take one
unit and one non-unit curvature of every model; the layer suites other
non-unit curvatures, so that no constant 1 hides in a layer)."""
from typing import Callable, Dict, Iterable, Tuple

import pytest

from hypgraph.manifolds import Euclidean, Klein, Lorentz, Manifold, PoincareBall

CASES: Dict[str, Callable[[], Manifold]] = {
    "lorentz": lambda: Lorentz(),
    "lorentz-k0.5": lambda: Lorentz(k=0.5),
    "poincare": lambda: PoincareBall(),
    "poincare-k0.7": lambda: PoincareBall(k=0.7),
    "poincare-k2": lambda: PoincareBall(k=2.0),
    "klein": lambda: Klein(),
    "klein-k0.7": lambda: Klein(k=0.7),
    "klein-k1.3": lambda: Klein(k=1.3),
    "euclidean": lambda: Euclidean(),
}

#: every model with curvature 1 and another (geoopt once left one out of its contract suite)
EVERY_MODEL = ("lorentz", "lorentz-k0.5", "poincare", "poincare-k2", "klein", "klein-k0.7", "euclidean")
#: what the layer tests run over
LAYERS = ("lorentz", "lorentz-k0.5", "poincare-k0.7", "klein-k1.3", "euclidean")


def select(names: Iterable[str]) -> Dict[str, Callable[[], Manifold]]:
    """The cases :obj:`names`, in that order."""
    return {name: CASES[name] for name in names}


def hyperbolic(cases: Dict[str, Callable[[], Manifold]]):
    """The names of :obj:`cases` other than Euclidean space."""
    return [name for name in cases if name != "euclidean"]


def fixtures(cases: Dict[str, Callable[[], Manifold]]) -> Tuple[Callable, Callable]:
    """The ``manifold`` and ``hyperbolic`` fixtures of a suite: one test per
    case of :obj:`cases` (every case; the non-Euclidean ones), each a fresh
    manifold. A conftest binds them: ``manifold, hyperbolic = fixtures(...)``."""
    every, curved = list(cases), hyperbolic(cases)

    @pytest.fixture(params=every, ids=every, name="manifold")
    def manifold_fixture(request):
        return cases[request.param]()

    @pytest.fixture(params=curved, ids=curved, name="hyperbolic")
    def hyperbolic_fixture(request):
        return cases[request.param]()

    return manifold_fixture, hyperbolic_fixture
