"""Chamberlain 2019 §6.1 / Fig. 5: what the simulations must show."""
import math

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


def test_poincare_disk_plot_shows_item_7_at_the_centre(models, tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hypgraph.manifolds import lorentz_to_poincare

    drawn, close = [], plt.close
    monkeypatch.setattr(plt, "close", drawn.append)  # keep the figure to read it back
    m = models[3]
    path = plot_poincare_disk(m, tmp_path / "fig5.png", title="simulation 3")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    (fig,) = drawn
    close(fig)
    (ax,) = fig.axes
    at = {a.get_text(): a.xy for a in ax.texts}  # label -> the point it marks
    assert sorted(at) == sorted("1234567ABCDEF")
    k = m.manifold.k
    # each label sits on its own point of the Poincaré disk (Eq. 4-5 of the hyperboloid point)
    assert [at[str(i + 1)] for i in range(7)] == [tuple(p) for p in lorentz_to_poincare(m.item.detach(), k=k).tolist()]
    assert [at[u] for u in "ABCDEF"] == [tuple(p) for p in lorentz_to_poincare(m.user.detach(), k=k).tolist()]
    # and a marker on each of those points
    assert [tuple(c.get_offsets()[0]) for c in ax.collections] == [at[label] for label in "1234567ABCDEF"]
    (disk,) = ax.patches
    radius = {label: math.hypot(*xy) for label, xy in at.items()}
    assert all(r < disk.radius for r in radius.values())
    # Fig. 5 (right): item 7, bought by every user, at the centre; every other
    # point is out at the rim of the disk, near the other points of its group
    others = sorted(r for label, r in radius.items() if label != "7")
    assert radius["7"] < 0.1 * others[0] and others[0] > 0.5
    for labels in ["12AB", "34CD", "56EF"]:
        for label in labels:
            nearest = min((l for l in at if l not in (label, "7")),
                          key=lambda l: math.dist(at[label], at[l]))
            assert nearest in labels, (label, nearest)
