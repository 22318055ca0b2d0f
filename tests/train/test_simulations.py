"""Chamberlain 2019 §6.1 / Fig. 5: what the simulations must show."""
import pytest
import torch

from hypgraph.train.simulations import plot_poincare_disk, run_simulation, simulation_edges


@pytest.fixture(scope="module")
def models():
    return {w: run_simulation(w) for w in (1, 2, 3)}


@pytest.mark.parametrize("which,groups", [(1, 2), (2, 3), (3, 3)])
def test_groups_are_tight_and_far_apart(models, which, groups):
    m = models[which]
    users, items = m.user.detach(), m.item.detach()
    d_uu = m.manifold.pairwise_dist(users, users)
    d_ui = m.manifold.pairwise_dist(users, items)
    for g in range(groups):
        mine = [2 * g, 2 * g + 1]
        others = [u for u in range(2 * groups) if u not in mine]
        within = torch.cat([d_uu[mine][:, mine].flatten(), d_ui[mine][:, mine].flatten()])
        across = torch.cat([d_uu[mine][:, others].flatten(), d_ui[mine][:, others].flatten()])
        assert within.max() < 0.3 and across.min() > 2.5, (which, g)


def test_item_bought_by_everyone_sits_nearest_the_origin(models):
    m = models[3]
    radius = m.manifold.dist0(m.item.detach())
    assert int(radius.argmin()) == 6
    assert radius[6] < 0.25 * radius[:6].min()
    # and it is equally close to every user
    d = m.manifold.dist(m.user.detach(), m.item.detach()[6].expand(6, -1))
    assert d.max() - d.min() < 0.3


def test_simulation_graphs():
    edges, users, items = simulation_edges(3)
    assert (users, items) == (6, 7) and edges.size(1) == 12 + 6
    with pytest.raises(ValueError, match="simulation"):
        simulation_edges(4)


def test_poincare_disk_plot_is_a_png(models, tmp_path):
    path = plot_poincare_disk(models[3], tmp_path / "fig5.png", title="simulation 3")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
