r"""Training speed of the hyperbolic graph recommender against LightGCN
(issue 14): seconds per training epoch on the training part of Amazon-CD
(HGCF's split, 22,947 users, 18,395 items), at the same batch size, as
ratios measured within one run.

Every model propagates the whole user–item graph at every batch (3 hops).
Rows, each against LightGCN (Adam, BPR, one negative) at the same batch size:

- ``graph-tangent``: :class:`~hypgraph.nn.models.HyperbolicGraphRecommender`
  on the hyperboloid, HGCF's propagation, tangent tables, Adam, BPR;
- ``graph-manifold``: the same with the points on the manifold and
  RiemannianAdam;
- ``graph-midpoint``: Einstein-midpoint hops (LGCF-style), tangent tables, Adam;
- ``hgcf-recipe``: :meth:`HyperbolicGraphRecommender.hgcf` with HGCF's training
  (RiemannianSGD with momentum, hinge summed), at HGCF's batch of 10,000
  against LightGCN at 10,000.

An epoch is extrapolated from timed batches (after warm-up ones) by
:func:`benchmarks.timing.epoch_seconds`; models are timed in alternating
rounds, so drifting load on a shared machine hits all alike, and the median
ratio is reported with its range. Target: every ratio at most 1.5.

    python benchmarks/graph_speed.py [--batch-size 4096] [--batches 6] [--rounds 5]
"""
from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runner import default_data_root
from benchmarks.suites.common import read_dataset
from benchmarks.timing import epoch_seconds, git_commit
from hypgraph.data import AmazonCD, given_split
from hypgraph.data.hetero import INTERACTS
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Lorentz
from hypgraph.nn.models import HyperbolicGraphRecommender, LightGCNRecommender
from hypgraph.optim import RiemannianAdam, RiemannianSGD

RESULTS = Path(__file__).resolve().parent / "results" / "graph_speed.json"
TARGET = 1.5
GRAPH = {"num_layers": 3, "normalization": "row", "self_loops": True, "combine": "sum", "include_input": False}


def models(nu: int, ni: int, dim: int):
    r"""``name -> (build, trainer settings)``; ``build()`` returns a fresh
    ``(model, optimiser)``."""
    def lightgcn():
        m = LightGCNRecommender(nu, ni, dim=dim, num_layers=3)
        return m, torch.optim.Adam(m.parameters(), lr=1e-3)

    def graph(parameterization="tangent", aggregation="tangent"):
        m = HyperbolicGraphRecommender(nu, ni, dim=dim, manifold=Lorentz(), aggregation=aggregation,
                                       parameterization=parameterization, **GRAPH)
        opt = (torch.optim.Adam if parameterization == "tangent" else RiemannianAdam)(m.parameters(), lr=1e-3)
        return m, opt

    def recipe():
        m = HyperbolicGraphRecommender.hgcf(nu, ni, dim=dim)
        return m, RiemannianSGD(m.parameters(), lr=1e-3, momentum=0.95, weight_decay=5e-3)

    hinge = {"loss": "hinge", "reduction": "sum"}
    return {"lightgcn": (lightgcn, {}, None),
            "graph-tangent": (graph, {}, None),
            "graph-manifold": (functools.partial(graph, "manifold"), {}, None),
            "graph-midpoint": (functools.partial(graph, "tangent", "midpoint"), {}, None),
            "lightgcn@10000": (lightgcn, {}, 10_000),
            "hgcf-recipe": (recipe, hinge, 10_000)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=None, help="default: $HYPGRAPH_DATA, else ../shared/data")
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--batches", type=int, default=6, help="timed batches per model and round")
    ap.add_argument("--warmup", type=int, default=2, help="untimed batches before each timing")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = read_dataset(AmazonCD, default_data_root(args.data_root))
    train, _, _ = given_split(data, val_ratio=0.1, seed=0)
    edge_index = train[INTERACTS].edge_index
    nu, ni = train["user"].num_nodes, train["item"].num_nodes
    history = InteractionCSR(edge_index, nu)
    rows = models(nu, ni, args.dim)
    built = {name: build() for name, (build, _, _) in rows.items()}
    seconds = {name: [] for name in rows}
    start = time.perf_counter()
    for r in range(args.rounds):
        for name, (_, settings, batch) in rows.items():
            model, opt = built[name]
            seconds[name].append(epoch_seconds(model, opt, edge_index, ni, history, batch or args.batch_size,
                                               args.batches, seed=r, warmup=args.warmup, **settings))
            print(f"round {r} {name}: {seconds[name][-1]:.2f} s/epoch", flush=True)
    baseline = {name: ("lightgcn@10000" if batch == 10_000 else "lightgcn") for name, (_, _, batch) in rows.items()}
    result = {"graph": "Amazon-CD (HGCF split) training part, 10% of it held out as validation",
              "users": nu, "items": ni, "interactions": edge_index.size(1), "dim": args.dim,
              "batch_size": args.batch_size, "timed_batches": args.batches, "warmup_batches": args.warmup,
              "rounds": args.rounds, "target_ratio": TARGET, "rows": {}}
    for name, values in seconds.items():
        row = {"batch_size": rows[name][2] or args.batch_size,
               "epoch_seconds": round(statistics.median(values), 2),
               "epoch_seconds_per_round": [round(v, 2) for v in values]}
        if name != baseline[name]:
            ratios = sorted(v / b for v, b in zip(values, seconds[baseline[name]]))
            row.update(baseline=baseline[name], ratio=round(statistics.median(ratios), 3),
                       ratio_range=[round(ratios[0], 3), round(ratios[-1], 3)],
                       within_target=statistics.median(ratios) <= TARGET)
        result["rows"][name] = row
    result.update(seconds=round(time.perf_counter() - start, 1), commit=git_commit(),
                  machine=f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["rows"], indent=2))


if __name__ == "__main__":
    main()
