"""rank_queries / rank_keys: the one matrix product behind rank_scores, and
what a maximum-inner-product index searches. Checked on every manifold and
score kind in float64 against the distance itself."""
import re

import pytest
import torch

from hypgraph.manifolds import Klein, Lorentz, PoincareBall
from hypgraph.manifolds.lorentz import math as L

from .conftest import MANIFOLDS, points

WITH_VECTORS = [name for name in MANIFOLDS if MANIFOLDS[name]().has_rank_vectors]
CASES = [(name, kind) for name in WITH_VECTORS for kind in MANIFOLDS[name]().score_kinds]


def test_every_model_but_klein_is_one_matrix_product():
    assert set(WITH_VECTORS) == set(MANIFOLDS) - {"klein", "klein-k0.7"}


@pytest.mark.parametrize("name,kind", CASES)
def test_the_product_of_queries_and_keys_is_rank_scores(name, kind):
    m = MANIFOLDS[name]()
    x, y = points(m, 7, seed=0), points(m, 50, seed=1)
    queries, keys = m.rank_queries(x, kind), m.rank_keys(y, kind)
    assert queries.dtype == keys.dtype == torch.float64
    assert queries.shape[0] == 7 and keys.shape[0] == 50 and queries.shape[1] == keys.shape[1]
    torch.testing.assert_close(queries @ keys.t(), m.rank_scores(x, y, kind), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,kind", CASES)
def test_the_product_orders_as_the_score(name, kind):
    # float64 random points: no ties, so the orderings are identical
    m = MANIFOLDS[name]()
    x, y = points(m, 9, seed=2, std=1.5), points(m, 60, seed=3, std=1.5)
    product = m.rank_queries(x, kind) @ m.rank_keys(y, kind).t()
    by_score = m.pairwise_score(x, y, kind).argsort(dim=1, descending=True)
    assert torch.equal(product.argsort(dim=1, descending=True), by_score)
    if kind != "inner":
        assert torch.equal(by_score, m.pairwise_dist(x, y).argsort(dim=1))


def test_lorentz_query_flips_the_time_coordinate_and_keys_hold_the_height():
    # Chamberlain 2019, Eq. 7: <x, y>_L = -x0 y0 + sum_i xi yi; the key's time
    # coordinate is y0 - 1/sqrt(k), so the product is <x, y>_L + x0/sqrt(k)
    m = Lorentz(k=0.5)
    x, y = points(m, 4, seed=0), points(m, 5, seed=1)
    q, keys = m.rank_queries(x, "distance"), m.rank_keys(y, "distance")
    assert torch.equal(q[:, 0], -x[:, 0]) and torch.equal(q[:, 1:], x[:, 1:])
    assert torch.equal(keys[:, 1:], y[:, 1:])
    torch.testing.assert_close(keys[:, 0], y[:, 0] - 0.5 ** -0.5, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(q @ keys.t(), L.inner(x.unsqueeze(1), y.unsqueeze(0)) + x[:, :1] * 0.5 ** -0.5,
                               rtol=1e-12, atol=1e-12)


def test_poincare_goes_through_the_hyperboloid():
    m = PoincareBall(k=2.0)
    y = points(m, 6, seed=4)
    lifted = m.rank_queries(y) * torch.tensor([-1.0] + [1.0] * 5, dtype=torch.float64)
    # the queries lie on the hyperboloid of the same curvature, at the same distances
    assert Lorentz(k=2.0).check_point(lifted)
    off_diagonal = ~torch.eye(6, dtype=torch.bool)  # arcosh near 1 amplifies rounding
    torch.testing.assert_close(Lorentz(k=2.0).pairwise_dist(lifted, lifted)[off_diagonal],
                               m.pairwise_dist(y, y)[off_diagonal], rtol=1e-9, atol=1e-9)
    # and the keys are the hyperboloid's keys of the same points
    torch.testing.assert_close(m.rank_keys(y), Lorentz(k=2.0).rank_keys(lifted), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["lorentz", "poincare"])
@pytest.mark.parametrize("radius", [1e-3, 1e-2, 1.0, 6.0])
def test_float32_ranks_as_float64_distances_near_the_origin_and_far_out(name, radius):
    # near the origin <x, y>_L = -x0 y0 + ... is -1/k plus differences of
    # order radius^2, which float32 loses (with y0 itself as the key 69% of
    # the top 10 were wrong at 1e-3, 1% at 1e-2); the height y0 - 1/sqrt(k)
    # keeps them
    m = {"lorentz": Lorentz(), "poincare": PoincareBall()}[name]
    g = torch.Generator().manual_seed(5)
    u, v = (torch.randn(n, 16, generator=g, dtype=torch.float64) * radius / 4 for n in (100, 2000))
    x, y = m.expmap0(m.tangent0(u)), m.expmap0(m.tangent0(v))
    expected = m.pairwise_dist(x, y).topk(10, largest=False).indices
    got = m.rank_scores(x.float(), y.float()).topk(10).indices
    overlap = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(expected, got)) / expected.numel()
    assert overlap >= 0.995


def test_kinds_the_model_does_not_define_are_refused():
    m = PoincareBall()
    with pytest.raises(ValueError, match="score 'inner' is not defined"):
        m.rank_queries(points(m, 2), "inner")
    with pytest.raises(ValueError, match="score 'cosine' is not defined"):
        MANIFOLDS["euclidean"]().rank_keys(points(m, 2), "cosine")


def test_a_model_without_the_form_says_so_and_still_ranks():
    m = Klein(k=0.7)
    x, y = points(m, 3, seed=0), points(m, 8, seed=1)
    assert not m.has_rank_vectors
    message = re.escape(f"{m} has no matrix-product form")
    with pytest.raises(NotImplementedError, match=message):
        m.rank_queries(x)
    with pytest.raises(NotImplementedError, match=message):
        m.rank_keys(y)
    torch.testing.assert_close(m.rank_scores(x, y), m.pairwise_score(x, y), rtol=0, atol=0)
