"""Speed of the asymmetric hyperbolic recommender against its Euclidean twin
(issue #6): seconds per training epoch and full-ranking evaluation time,
measured as ratios within one run on the same synthetic graph.

Targets: hyperbolic / Euclidean epoch time <= 1.3; hyperbolic full-ranking
evaluation <= 1.5x a plain dot-product matmul + top-k. Both models train
with RiemannianAdam (plain Adam arithmetic for the Euclidean one), batch
size 1024 as in Chamberlain 2019 §6.3; the epoch is timed in alternating
rounds and the median ratio reported with its range, and a torch.profiler
comparison of the two (optimiser step vs the rest of a batch, and the
operators whose time grows most) says where the difference goes.

    python benchmarks/recommender_speed.py [--users 100000 --items 20000 --degree 20]
    python benchmarks/recommender_speed.py --kgat amazon-book [--batch-size 4096]

With ``--kgat NAME`` the graph is KGAT's given training split of that
dataset (``kgat/NAME/train.txt`` under ``--data-root``, default
``$HYPGRAPH_DATA`` or ``../shared/data``) instead of a synthetic one, and the
results go to ``results/recommender_speed_NAME[_bBATCH].json``: issue #8's
amazon-book target is an asymmetric hyperbolic epoch of at most 15 s on
these 2 cores.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: python benchmarks/recommender_speed.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import compare_profiles, epoch_seconds, eval_seconds, git_commit, profile_batches
from hypgraph.data import make_synthetic
from hypgraph.data.hetero import INTERACTS
from hypgraph.data.history import InteractionCSR
from hypgraph.manifolds import Euclidean, Lorentz
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam

RESULTS = Path(__file__).resolve().parent / "results" / "recommender_speed.json"


def profile_difference(models, opts, edge_index, num_items, history, batch_size, batches) -> dict:
    r"""Where the hyperbolic epoch's extra time goes: milliseconds per batch
    of each model under torch.profiler (whose overhead inflates both alike),
    split into the optimiser step and the rest (sampling, forward,
    backward), and the operators whose own time grows most from the
    Euclidean model to the hyperbolic one."""
    profiled = {name: profile_batches(models[name], opts[name], edge_index, num_items, history, batch_size,
                                      batches) for name in ("hyperbolic", "euclidean")}
    return {"batches": batches, **compare_profiles(profiled, "hyperbolic", "euclidean")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--degree", type=float, default=20.0)
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--max-batches", type=int, default=300, help="batches timed per model (extrapolated)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating timing rounds; the median ratio is reported")
    ap.add_argument("--eval-users", type=int, default=20_000)
    ap.add_argument("--kgat", default=None, metavar="NAME",
                    help="time on KGAT's training split of NAME (e.g. amazon-book) instead of synthetic data")
    ap.add_argument("--data-root", default=None, help="data root for --kgat (default: $HYPGRAPH_DATA, ../shared/data)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.perf_counter()
    if args.kgat:
        from benchmarks.runner import default_data_root
        from benchmarks.suites.common import read_dataset
        from hypgraph.data import KGAT

        data = read_dataset(KGAT, default_data_root(args.data_root), name=args.kgat)
        store = data[INTERACTS]
        edge_index = store.edge_index[:, store.train_mask]  # the given training file, as an epoch sees it
        nu, ni = data["user"].num_nodes, data["item"].num_nodes
        source = {"graph": f"KGAT {args.kgat} train.txt"}
        suffix = f"_{args.kgat}" + ("" if args.batch_size == 1024 else f"_b{args.batch_size}")
    else:
        data = make_synthetic(num_users=args.users, num_items=args.items, avg_user_degree=args.degree, seed=0)
        edge_index = data[INTERACTS].edge_index
        nu, ni = args.users, args.items
        source, suffix = {"graph": "synthetic"}, ""
    out = args.out or RESULTS.with_name(f"recommender_speed{suffix}.json")
    gen_s = time.perf_counter() - t0
    history = InteractionCSR(edge_index, nu)
    result = {**source, "users": nu, "items": ni, "interactions": edge_index.size(1), "dim": args.dim,
              "generation_seconds": round(gen_s, 2), "batch_size": args.batch_size,
              "timed_batches": args.max_batches}
    models, opts, rounds = {}, {}, {"hyperbolic": [], "euclidean": []}
    for name, manifold in [("hyperbolic", Lorentz(margin=1e-6)), ("euclidean", Euclidean())]:
        models[name] = HyperbolicRecommender(num_items=ni, dim=args.dim, manifold=manifold)
        opts[name] = RiemannianAdam(models[name].parameters(), lr=0.01)
    # alternate the two models in rounds, so drifting machine load hits both alike
    per_round = max(1, args.max_batches // args.rounds)
    for r in range(args.rounds):
        for name in rounds:
            rounds[name].append(epoch_seconds(models[name], opts[name], edge_index, ni, history,
                                              args.batch_size, per_round, seed=r))
    ratios = sorted(h / e for h, e in zip(rounds["hyperbolic"], rounds["euclidean"]))
    for name, values in rounds.items():
        result[f"{name}_epoch_seconds"] = round(statistics.median(values), 2)
        result[f"{name}_epoch_seconds_per_round"] = [round(v, 2) for v in values]
    result["epoch_ratio"] = round(statistics.median(ratios), 3)
    result["epoch_ratio_range"] = [round(ratios[0], 3), round(ratios[-1], 3)]
    result["profile"] = profile_difference(models, opts, edge_index, ni, history, args.batch_size, per_round)
    # evaluation: a subset of users, their last edge as the test item
    users = torch.randperm(nu, generator=torch.Generator().manual_seed(1))[:args.eval_users]
    mask = torch.isin(edge_index[0], users)
    test = edge_index[:, mask][:, ::5]
    item_table = torch.randn(ni, args.dim)
    user_table = torch.randn(nu, args.dim)
    baseline = eval_seconds(lambda u: user_table[u] @ item_table.t(), edge_index, test, nu, ni, users)
    hyp = models["hyperbolic"]
    with torch.no_grad():
        hyper = eval_seconds(lambda u: hyp.rank_scores(hyp.user_points(u, history)), edge_index, test, nu, ni, users)
    result.update(eval_users=int(torch.unique(test[0]).numel()), dot_product_eval_seconds=round(baseline, 2),
                  hyperbolic_eval_seconds=round(hyper, 2), eval_ratio=round(hyper / baseline, 3),
                  targets={"epoch_ratio": 1.3, "eval_ratio": 1.5},
                  commit=git_commit(),
                  machine=f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    if args.kgat:
        result["target_hyperbolic_epoch_seconds"] = 15.0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
