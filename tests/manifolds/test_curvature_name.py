"""One name for the curvature: ``k`` on every manifold, its pure functions
and the conversions; the ball's and Klein's ``c`` of before 0.2 still works
for one release (constructor keyword, attribute, pure-function keyword),
warns, and gives the same manifold."""
import inspect
import warnings

import pytest
import torch

from hypgraph.manifolds import Klein, PoincareBall, conversions
from hypgraph.manifolds.klein import math as K
from hypgraph.manifolds.lorentz import math as L
from hypgraph.manifolds.poincare import math as P

from ..manifold_cases import CASES, hyperbolic
from .conftest import points, tangent

BALLS = {"poincare": PoincareBall, "klein": Klein}
HYPERBOLIC = hyperbolic(CASES)


@pytest.mark.parametrize("name", HYPERBOLIC)
def test_every_hyperbolic_manifold_names_its_curvature_k(name):
    m = CASES[name]()
    assert "k" in inspect.signature(type(m)).parameters
    assert float(m.k) > 0
    assert str(m).startswith(f"{type(m).__name__}(k=")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name never warns
        type(m)(k=float(m.k)).dist0(points(m, n=2, dim=3))


@pytest.mark.parametrize("module", [P, K, L, conversions], ids=lambda m: m.__name__.rsplit(".", 2)[-2])
def test_every_pure_function_and_conversion_takes_k(module):
    for name in module.__all__:
        params = inspect.signature(getattr(module, name)).parameters
        assert "c" not in params, f"{module.__name__}.{name}"
        if "k" in params:
            assert params["k"].kind is inspect.Parameter.KEYWORD_ONLY, f"{module.__name__}.{name}"


@pytest.mark.parametrize("name", list(BALLS))
@pytest.mark.parametrize("learnable", [False, True])
def test_old_keyword_c_warns_and_gives_the_same_manifold(name, learnable):
    cls = BALLS[name]
    with pytest.warns(DeprecationWarning, match=r"c= is now k="):
        old = cls(c=0.7, learnable=learnable)
    new = cls(k=0.7, learnable=learnable)
    assert str(old) == str(new)
    assert old.state_dict().keys() == new.state_dict().keys()
    for a, b in zip(old.state_dict().values(), new.state_dict().values()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    x = points(new, dim=4)
    u = tangent(new, x)
    torch.testing.assert_close(old.expmap(x, u), new.expmap(x, u), atol=0, rtol=0)
    torch.testing.assert_close(old.pairwise_dist(x, x), new.pairwise_dist(x, x), atol=0, rtol=0)


@pytest.mark.parametrize("name", list(BALLS))
def test_old_attribute_c_warns_and_is_k(name):
    m = BALLS[name](k=1.3)
    with pytest.warns(DeprecationWarning, match=rf"{type(m).__name__}\.c is now {type(m).__name__}\.k"):
        c = m.c
    torch.testing.assert_close(c, m.k, atol=0, rtol=0)


@pytest.mark.parametrize("name", list(BALLS))
def test_both_spellings_at_once_is_an_error(name):
    with pytest.raises(TypeError, match="pass k only"):
        BALLS[name](k=0.5, c=0.7)


def test_the_warning_points_at_the_caller():
    with pytest.warns(DeprecationWarning) as record:
        PoincareBall(c=0.7)
        P.dist0(torch.zeros(2), c=0.7)
    assert [w.filename for w in record] == [__file__, __file__]


@pytest.mark.parametrize("module, fn, args", [
    (P, "dist", 2), (P, "mobius_add", 2), (P, "expmap0", 1), (P, "pairwise_dist", 2),
    (K, "dist", 2), (K, "lorentz_factor", 1), (K, "logmap0", 1),
])
def test_pure_functions_accept_c_with_a_warning(module, fn, args):
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.3 for _ in range(args)]
    f = getattr(module, fn)
    with pytest.warns(DeprecationWarning, match=rf"{fn}: the curvature keyword c= is now k="):
        old = f(*xs, c=0.7)
    torch.testing.assert_close(old, f(*xs, k=0.7), atol=0, rtol=0)
    with pytest.raises(TypeError, match="pass k only"):
        f(*xs, k=0.5, c=0.7)
