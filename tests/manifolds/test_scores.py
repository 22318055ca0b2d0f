"""Recommender scores decided by the manifold: score, pairwise_score and the
one-matmul rank_scores agree with the distance on every model."""
import re

import pytest
import torch

from .conftest import MANIFOLDS, points


CASES = [(name, kind) for name in MANIFOLDS for kind in MANIFOLDS[name]().score_kinds]


def test_inner_exactly_where_a_bilinear_form_exists():
    assert {name for name, kind in CASES if kind == "inner"} == {"lorentz", "lorentz-k0.5", "euclidean"}
    for name in ("poincare", "klein"):
        m = MANIFOLDS[name]()
        with pytest.raises(ValueError, match=re.escape(f"score 'inner' is not defined on {m}")):
            m.rank_scores(points(m, 2), points(m, 3, seed=1), "inner")
        with pytest.raises(ValueError, match="is not defined"):
            m.score(points(m, 2), points(m, 2, seed=1), "inner")


@pytest.mark.parametrize("name,kind", CASES)
def test_scores_agree_with_the_distance_and_rank_alike(name, kind):
    m = MANIFOLDS[name]()
    x, y = points(m, 7, seed=0), points(m, 40, seed=1)
    pairwise = m.pairwise_score(x, y, kind)
    elementwise = m.score(x.unsqueeze(1), y.unsqueeze(0), kind)
    torch.testing.assert_close(pairwise, elementwise, rtol=1e-9, atol=1e-9)
    d = m.pairwise_dist(x, y)
    if kind == "distance":
        torch.testing.assert_close(pairwise, -d, rtol=1e-12, atol=1e-12)
    elif kind == "sqdist":
        torch.testing.assert_close(pairwise, -d.pow(2), rtol=1e-12, atol=1e-12)
    # float64 and random points: no ties, so the orderings must be identical
    rank = m.rank_scores(x, y, kind)
    assert torch.equal(rank.argsort(dim=1), pairwise.argsort(dim=1))


@pytest.mark.parametrize("name", ["lorentz", "euclidean"])
def test_inner_is_the_models_bilinear_form(name):
    m = MANIFOLDS[name]()
    x, y = points(m, 5, seed=0), points(m, 5, seed=1)
    expected = (x * y).sum(-1)
    if name == "lorentz":
        expected = expected - 2 * x[..., 0] * y[..., 0]  # Chamberlain 2019, Eq. 7
    torch.testing.assert_close(m.score(x, y, "inner"), expected, rtol=1e-12, atol=1e-12)


def test_unknown_score_kind_is_refused():
    m = MANIFOLDS["poincare"]()
    with pytest.raises(ValueError, match=r"expected one of \('distance', 'sqdist'\)"):
        m.score(points(m, 2), points(m, 2), "cosine")
