r"""Training speed of the knowledge-graph rows of Hyper-Know (issue 15 items
1-2): seconds per epoch of each Table 3 row on MovieLens 100K with its
RecBole Freebase KG (ratings >= 4, the ``hyperknow`` suite's split), dim 64,
batch 2048, one negative, one thread, as ratios measured within one run.

Rows (:meth:`hypgraph.nn.models.HyperKnow.ablation`, points on the manifold
and RiemannianAdam as in the paper): ``BPR+E``, ``BPR+H``, ``BPR+Att+E``,
``BPR+Att+H``, ``BPR+Avg+H`` (fixed beta, :class:`~hypgraph.train.Trainer`)
and ``Hyper-Know`` (adaptive beta, :class:`~hypgraph.train.BilevelTrainer`,
outer loss on training pairs), each with ``--samples`` KG triples per item
per batch (``0``: every triple). Rows are timed in alternating rounds
(:func:`benchmarks.timing.epoch_seconds`, extrapolated from timed batches)
and the median ratio is reported; a cProfile summary of one ``BPR+Att+H``
pass over the timed batches, a torch.profiler breakdown of a Hyper-Know batch
by phase of Algorithm 1 and by operator, and BPR+Att+H against BPR+Att+E by
operator go into the results.

Targets (issue 15): every KG row <= 1.5x its Euclidean twin and <= 3x its own
BPR row; Hyper-Know for 30 epochs <= 22 s.

    python benchmarks/kg_speed.py [--samples 8] [--batches 8] [--rounds 3] [--sparse] [--out FILE]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runner import default_data_root
from benchmarks.suites.hyperknow import _ml100k_kg
from benchmarks.timing import batch_ms, compare_profiles, epoch_seconds, git_commit, profile_batches
from hypgraph.data.hetero import INTERACTS
from hypgraph.data.history import InteractionCSR
from hypgraph.nn.models import HyperKnow
from hypgraph.optim import RiemannianAdam
from hypgraph.train import BilevelTrainer

RESULTS = Path(__file__).resolve().parent / "results" / "kg_speed.json"
ROWS = ("BPR+E", "BPR+H", "BPR+Att+E", "BPR+Att+H", "BPR+Avg+H", "Hyper-Know")
#: row -> (its Euclidean twin, its own row without the KG term)
REFERENCES = {"BPR+H": ("BPR+E", None), "BPR+Att+H": ("BPR+Att+E", "BPR+H"),
              "BPR+Avg+H": ("BPR+Att+E", "BPR+H"), "Hyper-Know": ("BPR+Att+E", "BPR+H"),
              "BPR+Att+E": (None, "BPR+E")}


def build(name: str, train, dim: int, samples, sparse: bool):
    torch.manual_seed(0)
    model = HyperKnow.ablation(name, data=train, dim=dim, num_neighbour_samples=samples, sparse=sparse)
    theta = [p for n, p in model.named_parameters() if n != "beta_logit"]
    opt = RiemannianAdam(theta, lr=0.01)
    if getattr(model, "beta", None) == "adaptive":
        return model, opt, {"trainer_class": BilevelTrainer,
                            "trainer_args": (torch.optim.Adam([model.beta_logit], lr=0.01),),
                            "outer": "train"}
    return model, opt, {}


#: torch.profiler regions of a bilevel batch: BilevelTrainer's two phases and torch.optim's step
PHASES = {"inner gradient (J_inner forward, backward with create_graph)": "BilevelTrainer.inner_gradient",
          "hypergradient (proxy, J_outer forward, backward to beta)": "BilevelTrainer.hypergradient",
          "Theta step (RiemannianAdam)": "Optimizer.step#RiemannianAdam.step"}
STEP = PHASES["Theta step (RiemannianAdam)"]


def profile_phases(model, opt, extra, edge_index, num_items, history, batch_size, batches) -> dict:
    r"""Milliseconds per batch of each phase of a Hyper-Know batch (under
    torch.profiler, whose overhead inflates the absolute figures alike) and
    the operators with the most time of their own."""
    ops = profile_batches(model, opt, edge_index, num_items, history, batch_size, batches, seed=98, **extra)
    own = sorted(ops.items(), key=lambda kv: -kv[1]["own_ms"])
    return {"batch_ms_under_profiler": round(batch_ms(ops), 2),
            "phases_ms": {label: round(ops.get(key, {"total_ms": 0.0})["total_ms"], 2)
                          for label, key in PHASES.items()},
            "top_operators_own_ms": {k: {"ms": round(v["own_ms"], 2), "calls": round(v["calls"], 1)}
                                     for k, v in own[:10]}}


def profile_versus_twin(built, row, twin, edge_index, num_items, history, batch_size, batches) -> dict:
    r"""A KG row against its Euclidean twin under torch.profiler: each one's
    batch, its optimiser step, and the operators whose own time grows most."""
    profiled = {name: profile_batches(*built[name][:2], edge_index, num_items, history, batch_size, batches,
                                      **built[name][2]) for name in (row, twin)}
    return compare_profiles(profiled, row, twin, step=STEP)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--samples", type=int, default=8, help="KG triples per item per batch; 0 = all")
    ap.add_argument("--batches", type=int, default=8, help="timed batches per row and round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sparse", action="store_true",
                    help="sparse row gradients for the point tables (RiemannianAdam then steps only the rows "
                         "a batch reads, with lazy moments)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _, _ = _ml100k_kg(default_data_root(args.data_root))
    edge_index = train[INTERACTS].edge_index
    nu, ni = train["user"].num_nodes, train["item"].num_nodes
    history = InteractionCSR(edge_index, nu)
    samples = args.samples or None
    built = {name: build(name, train, args.dim, samples, args.sparse) for name in ROWS}
    seconds = {name: [] for name in ROWS}
    for r in range(args.rounds):
        for name in ROWS:
            model, opt, extra = built[name]
            seconds[name].append(epoch_seconds(model, opt, edge_index, ni, history, args.batch_size, args.batches,
                                               seed=r, warmup=args.warmup, **extra))
            print(f"round {r} {name}: {seconds[name][-1]:.2f} s/epoch", flush=True)
    rows = {}
    for name in ROWS:
        row = {"epoch_seconds": round(statistics.median(seconds[name]), 3),
               "epoch_seconds_per_round": [round(v, 3) for v in seconds[name]]}
        twin, own = REFERENCES.get(name, (None, None))
        for key, ref, target in (("vs_euclidean_twin", twin, 1.5), ("vs_own_bpr_row", own, 3.0)):
            if ref is None or (key == "vs_own_bpr_row" and name == "BPR+Att+E"):
                continue
            ratio = statistics.median(a / b for a, b in zip(seconds[name], seconds[ref]))
            row[key] = {"reference": ref, "ratio": round(ratio, 2), "target": target,
                        "within_target": ratio <= target}
        rows[name] = row
    hyperknow_30 = 30 * rows["Hyper-Know"]["epoch_seconds"]
    # where one BPR+Att+H pass spends its time
    model, opt, extra = built["BPR+Att+H"]
    profile = cProfile.Profile()
    profile.enable()
    epoch_seconds(model, opt, edge_index, ni, history, args.batch_size, args.batches, seed=99, **extra)
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
    # and a Hyper-Know batch, by phase of Algorithm 1 and by operator
    hyperknow_profile = profile_phases(*built["Hyper-Know"], edge_index, ni, history, args.batch_size,
                                       args.batches)
    att_profile = profile_versus_twin(built, "BPR+Att+H", "BPR+Att+E", edge_index, ni, history, args.batch_size,
                                      args.batches)
    result = {"data": "ml-100k + RecBole Freebase KG, ratings >= 4, hyperknow suite split (training part)",
              "users": nu, "items": ni, "interactions": edge_index.size(1), "dim": args.dim,
              "batch_size": args.batch_size, "kg_samples_per_item": samples or "all", "sparse": args.sparse,
              "timed_batches": args.batches, "rounds": args.rounds, "rows": rows,
              "hyperknow_30_epochs_seconds": round(hyperknow_30, 1),
              "hyperknow_30_epochs_target_seconds": 22.0,
              "profile_bpr_att_h_top_by_own_time": [line for line in text.getvalue().splitlines()
                                                    if line.strip()][:22],
              "profile_hyperknow_batch": hyperknow_profile,
              "profile_bpr_att_h_vs_bpr_att_e": att_profile,
              "commit": git_commit(),
              "machine": f"{platform.machine()}, 1 thread, torch {torch.__version__}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "profile_bpr_att_h_top_by_own_time"}, indent=2))


if __name__ == "__main__":
    main()
