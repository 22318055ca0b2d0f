r"""The three simulations of [Chamberlain 2019] §6.1 (Fig. 5) and a Poincaré-disk plot.

A symmetric hyperboloid recommender with explicit users is trained with BPR on
tiny bipartite graphs: two disjoint groups (users A, B with items 1, 2; C, D
with 3, 4), then a third group (E, F with 5, 6), then item 7 bought by all six
users. Hyperparameters of §8.2: 2-D hyperboloid, learning rate 1, decay 0.02
(read as learning-rate decay :math:`\eta_t = \eta / (1 + 0.02 t)`),
initialisation width 0.01.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from ..data.history import InteractionCSR
from ..data.negative import sample_negatives
from ..manifolds import Lorentz, lorentz_to_poincare
from ..nn.losses import bpr_loss
from ..nn.models import HyperbolicRecommender
from ..optim import RiemannianSGD

__all__ = ["SIMULATIONS", "simulation_edges", "run_simulation", "plot_poincare_disk"]

SIMULATIONS = (1, 2, 3)
USER_NAMES = "ABCDEF"


def simulation_edges(which: int) -> Tuple[Tensor, int, int]:
    """``(edge_index [2, E], num_users, num_items)`` of simulation 1, 2 or 3."""
    if which not in SIMULATIONS:
        raise ValueError(f"simulation must be one of {SIMULATIONS}, got {which}")
    groups = 2 if which == 1 else 3
    pairs = [(2 * g + u, 2 * g + i) for g in range(groups) for u in range(2) for i in range(2)]
    num_items = 2 * groups
    if which == 3:  # item 7 (index 6) bought by everyone
        pairs += [(u, 6) for u in range(6)]
        num_items = 7
    return torch.tensor(pairs).t().contiguous(), 2 * groups, num_items


def run_simulation(which: int, epochs: int = 300, seed: int = 0, lr: float = 1.0,
                   decay: float = 0.02, init_width: float = 0.01) -> HyperbolicRecommender:
    """Train the symmetric 2-D hyperboloid model of §6.1 on simulation :obj:`which`."""
    edge_index, num_users, num_items = simulation_edges(which)
    torch.manual_seed(seed)
    model = HyperbolicRecommender(num_users, num_items, dim=2, manifold=Lorentz(), asymmetric=False,
                                  init_width=init_width)
    generator = torch.Generator().manual_seed(seed)
    model.reset_parameters(generator=generator)
    optimizer = RiemannianSGD(model.parameters(), lr=lr, max_grad_norm=1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + decay * t))
    history = InteractionCSR(edge_index, num_users)
    for _ in range(epochs):
        neg = sample_negatives(edge_index, num_items, 1, generator=generator)
        pos_score, neg_score = model(edge_index[0], edge_index[1], neg, history)
        loss = bpr_loss(pos_score, neg_score)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


def plot_poincare_disk(model: HyperbolicRecommender, path: Union[str, os.PathLike],
                       title: Optional[str] = None) -> str:
    """Draw users (letters) and items (numbers) of a 2-D hyperboloid model on
    the Poincaré disk and save a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = model.manifold.k
    with torch.no_grad():
        items = lorentz_to_poincare(model.points("item"), k=k)
        users = lorentz_to_poincare(model.points("user"), k=k) if model.user is not None else items[:0]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.add_patch(plt.Circle((0, 0), float(1 / k ** 0.5), fill=False, color="grey"))
    for i, (x, y) in enumerate(items.tolist()):
        ax.scatter(x, y, color="tab:orange")
        ax.annotate(str(i + 1), (x, y), textcoords="offset points", xytext=(4, 4))
    for u, (x, y) in enumerate(users.tolist()):
        ax.scatter(x, y, color="tab:blue", marker="s")
        ax.annotate(USER_NAMES[u] if u < len(USER_NAMES) else str(u), (x, y),
                    textcoords="offset points", xytext=(4, -10))
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.set_title(title or "Poincaré disk")
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return os.fspath(path)
