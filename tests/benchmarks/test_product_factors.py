"""The product-of-planes model of benchmarks/product_factors.py (issue 13,
item 3): one factor is the suite's model, scores and rankings agree, and
RiemannianAdam keeps a second moment per factor."""
import torch

from benchmarks.product_factors import ProductRecommender
from hypgraph.manifolds import Lorentz
from hypgraph.optim import RiemannianAdam


def tables(seed=0, users=7, items=11, dim=6):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(users, dim, generator=g, dtype=torch.float64),
            torch.randn(items, dim, generator=g, dtype=torch.float64))


def test_one_factor_is_the_hyperboloid_model_and_factors_add_squared_distances():
    user, item = tables()
    m = Lorentz()
    users, pos, neg = torch.tensor([0, 3, 6]), torch.tensor([1, 10, 4]), torch.tensor([[2, 5], [0, 9], [7, 7]])
    one = ProductRecommender(user, item, factors=1, score_kind="distance")
    x, y = m.expmap0_coords(user), m.expmap0_coords(item)
    s_pos, s_neg = one(users, pos, neg)
    torch.testing.assert_close(s_pos, -m.dist(x[users], y[pos]))
    torch.testing.assert_close(s_neg, -m.dist(x[users].unsqueeze(1), y[neg]))
    # three planes: the squared distance is the sum of the planes' squared distances
    three = ProductRecommender(user, item, factors=3, score_kind="sqdist")
    planes = [(m.expmap0_coords(user[:, 2 * f:2 * f + 2]), m.expmap0_coords(item[:, 2 * f:2 * f + 2]))
              for f in range(3)]
    expected = -sum(m.dist(a[users], b[pos]).square() for a, b in planes)
    torch.testing.assert_close(three(users, pos, neg)[0], expected)
    # the distance from the origin is the tangent vector's norm, as in the suite's model
    origin = m.origin(1, 3, dtype=torch.float64)
    torch.testing.assert_close(m.dist(three.user, origin).square().sum(-1).sqrt(), user.norm(dim=-1))


def test_rank_scores_agree_with_score():
    user, item = tables(1)
    for kind in ("distance", "sqdist"):
        model = ProductRecommender(user, item, factors=3, score_kind=kind)
        points = model.user_points(torch.arange(7))
        every = torch.arange(11).expand(7, 11)
        with torch.no_grad():
            torch.testing.assert_close(model.rank_scores(points, chunk=4), model.score(points, every))


def test_riemannian_adam_keeps_a_second_moment_per_factor():
    user, item = tables(2)
    model = ProductRecommender(user, item, factors=3, score_kind="distance")
    opt = RiemannianAdam(model.parameters(), lr=0.01)
    pos_score, neg_score = model(torch.arange(7), torch.arange(7), torch.arange(4, 11))
    (neg_score - pos_score).sum().backward()
    opt.step()
    assert opt.state[model.user]["exp_avg_sq"].shape == (7, 3, 1)
    assert Lorentz().check_point(model.user.detach()) and Lorentz().check_point(model.item.detach())
