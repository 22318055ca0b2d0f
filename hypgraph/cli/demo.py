r"""``make demo``: the main job on the embedded synthetic default.

Runs end to end on a fresh machine without any downloaded data, printing what
each step shows.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

import torch

from ..manifolds import Lorentz, PoincareBall, einstein_midpoint, frechet_mean


def geometry_demo(out=sys.stdout) -> None:
    """Einstein midpoint vs Fréchet mean on the scan of Chamberlain 2019, Fig. 4."""
    m = Lorentz()
    alphas = torch.linspace(-2, 2, 21, dtype=torch.float64)
    pts = torch.stack([torch.cosh(alphas), torch.sinh(alphas)], -1)
    i, j = torch.triu_indices(21, 21, offset=1)
    pairs = torch.stack([pts[i], pts[j]], -2)
    ein = einstein_midpoint(pairs, manifold=m)
    fre = frechet_mean(pairs, manifold=m, max_iter=10)
    rel = m.dist(ein, fre) / (m.dist(pts[i], pts[j]) / 2)
    print(f"[geometry] Einstein midpoint vs Fréchet mean over {len(i)} pairs "
          f"(Chamberlain 2019, Fig. 4): max relative gap {float(rel.max()):.2e}", file=out)
    ball = PoincareBall()
    x = torch.tensor([[0.999999, 0.0], [-0.999999, 0.0]])
    print(f"[geometry] float32 distance across the Poincaré disk at |x| = 1 - 1e-6: "
          f"{float(ball.dist(x[0], x[1])):.3f} (exact {float(ball.dist(x[0].double(), x[1].double())):.3f})",
          file=out)


def recommender_demo(epochs: int = 8, out=sys.stdout) -> None:
    """Hyperbolic vs Euclidean midpoint-user recommenders and popularity on the
    embedded synthetic graph (per-user 80/20 split, full ranking)."""
    from ..data import default_dataset, random_split
    from ..data.hetero import INTERACTS
    from ..manifolds import Euclidean
    from ..nn.models import HyperbolicRecommender
    from ..optim import RiemannianAdam
    from ..train import Trainer, full_ranking_metrics

    data = default_dataset()
    train, val, test = random_split(data, seed=0)
    num_users, num_items = data["user"].num_nodes, data["item"].num_nodes
    edges = train[INTERACTS].edge_index
    print(f"[data] synthetic hyperbolic network: {num_users} users, {num_items} items, "
          f"{data[INTERACTS].edge_index.size(1)} interactions, "
          f"{data['entity', 'relates', 'entity'].edge_index.size(1)} KG triples", file=out)
    test_edges = test[INTERACTS].edge_label_index
    val_edges = val[INTERACTS].edge_label_index
    popularity = torch.bincount(edges[1], minlength=num_items).double()
    pop = full_ranking_metrics(lambda u: popularity.expand(u.numel(), -1), edges, test_edges,
                               num_users, num_items, ks=(20,), exclude_edge_index=val_edges)
    rows = [("popularity", pop)]
    for name, manifold in [("hyperbolic (Lorentz)", Lorentz(margin=1e-6)), ("Euclidean", Euclidean())]:
        torch.manual_seed(0)
        model = HyperbolicRecommender(num_items=num_items, dim=16, manifold=manifold)
        model.reset_parameters(popularity, torch.Generator().manual_seed(0))
        trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=epochs,
                          batch_size=512, metric="recall@20")
        trainer.fit(train, val)
        rows.append((name, trainer.evaluate_split(edges, test_edges, num_users, num_items,
                                                  exclude_edge_index=val_edges)))
    print("[recommend] test Recall@20 / NDCG@20 (full ranking, midpoint users):", file=out)
    for name, metrics in rows:
        print(f"    {name:<22} {metrics['recall@20']:.4f} / {metrics['ndcg@20']:.4f}", file=out)


def simulation_demo(out_dir: str, out=sys.stdout) -> None:
    """Chamberlain 2019 §6.1 / Fig. 5: the three simulations drawn on the Poincaré disk."""
    import os

    from ..train.simulations import plot_poincare_disk, run_simulation

    os.makedirs(out_dir, exist_ok=True)
    for which in (1, 2, 3):
        model = run_simulation(which)
        path = plot_poincare_disk(model, os.path.join(out_dir, f"simulation{which}.png"),
                                  title=f"Chamberlain 2019 Fig. 5, simulation {which}")
        radius = model.manifold.dist0(model.points("item").detach())
        print(f"[simulation {which}] {path}; item distances from the origin: "
              + " ".join(f"{i + 1}:{float(r):.2f}" for i, r in enumerate(radius)), file=out)


def write_interactions(path: str, out=sys.stdout) -> str:
    """The embedded synthetic interactions as a header-less ``user item
    rating time`` file: what ``make demo`` then hands to ``hypgraph train``,
    as a user would their own data."""
    from ..data import default_dataset
    from ..data.hetero import INTERACTS

    store = default_dataset()[INTERACTS]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for (user, item), time in zip(store.edge_index.t().tolist(), store.time.tolist()):
            fh.write(f"user{user}\titem{item}\t1\t{time}\n")
    print(f"[data] {store.edge_index.size(1)} synthetic interactions written to {path} "
          f"(header-less 'user item rating time'; try: hypgraph train {path} --out RUN_DIR)", file=out)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hypgraph.cli.demo", description=__doc__)
    parser.add_argument("--epochs", type=int, default=8, help="training epochs per model (default: 8)")
    parser.add_argument("--out", default="demo_output", help="folder for the figures (default: demo_output)")
    args = parser.parse_args(argv)
    geometry_demo()
    simulation_demo(args.out)
    recommender_demo(args.epochs)
    write_interactions(os.path.join(args.out, "synthetic_interactions.tsv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
