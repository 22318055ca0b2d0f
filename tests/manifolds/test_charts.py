"""Manifold.to_poincare / to_lorentz: the same points in the other models of
hyperbolic space, an isometry onto the Poincaré ball and the hyperboloid of
the same curvature (what ``hypgraph export`` writes)."""
import pytest
import torch

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall


@pytest.mark.parametrize("k", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("kind", [Lorentz, PoincareBall, Klein])
def test_charts_are_isometries_onto_the_ball_and_the_hyperboloid(kind, k):
    manifold = kind(k=k)
    g = torch.Generator().manual_seed(0)
    x = manifold.random(64, 5, std=1.0, generator=g, dtype=torch.float64)
    y = manifold.random(64, 5, std=1.0, generator=g, dtype=torch.float64)
    dim = 4 if kind is Lorentz else 5  # the hyperboloid's points carry one more coordinate
    expected = manifold.dist(x, y)
    assert expected.max() > 2.0  # far enough apart for a wrong chart to show

    h = manifold.to_lorentz(x)
    assert h.shape[-1] == dim + 1
    # on the upper sheet of the hyperboloid of curvature -k (relative to x_0^2: no cancellation hidden)
    constraint = (-h[:, 0] ** 2 + (h[:, 1:] ** 2).sum(-1)) * k + 1
    assert (constraint.abs() <= 1e-13 * k * h[:, 0] ** 2).all() and (h[:, 0] > 0).all()
    torch.testing.assert_close(Lorentz(k=k).dist(h, manifold.to_lorentz(y)), expected, rtol=1e-9, atol=1e-10)

    p = manifold.to_poincare(x)
    assert p.shape[-1] == dim and (k * (p ** 2).sum(-1) < 1).all()
    torch.testing.assert_close(PoincareBall(k=k).dist(p, manifold.to_poincare(y)), expected, rtol=1e-9, atol=1e-10)


def test_each_chart_of_its_own_model_is_the_identity():
    g = torch.Generator().manual_seed(1)
    h = Lorentz(k=0.7).random(8, 3, generator=g, dtype=torch.float64)
    p = PoincareBall(k=0.7).random(8, 3, generator=g, dtype=torch.float64)
    assert torch.equal(Lorentz(k=0.7).to_lorentz(h), h) and torch.equal(PoincareBall(k=0.7).to_poincare(p), p)


@pytest.mark.parametrize("chart", ["to_poincare", "to_lorentz"])
def test_flat_space_has_no_hyperbolic_chart(chart):
    with pytest.raises(ValueError, match="Euclidean has no"):
        getattr(Euclidean(), chart)(torch.zeros(2, 3))
