r"""``hypgraph evaluate``: the metrics of a trained run, under either
protocol, on its test (or validation) part; and the final metrics that
``hypgraph train`` writes into ``metrics.json``."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Sequence

import torch
from torch import nn

from .errors import CommandError
from .parsing import add_device, device_of, subcommand
from .run import Run, RunData

__all__ = ["add_parser", "run", "final_metrics", "part_metrics", "PROTOCOLS"]

PROTOCOLS = {
    "full": "every item the user has not seen is ranked (Hyper-Know): recall, precision, NDCG "
            "(standard; ndcg_kgat is KGAT's variant, labelled)",
    "sampled": "each held-out item is ranked against N uniformly sampled unseen items (Chamberlain 2019 "
               "§8.1): hit rate and NDCG",
}

EXAMPLES = """\
examples:
  hypgraph evaluate run                            # full ranking, test part, k from the run
  hypgraph evaluate run --protocol sampled --k 10  # HR@10 / NDCG@10 with 100 sampled negatives
  hypgraph evaluate run --part validation --json

The test part's users are ranked with their training and validation items
left out (the validation items are also their history); the validation part's
with their training items left out."""


def add_parser(commands) -> None:
    p = subcommand(
        commands, "evaluate", help="metrics of a trained run (full ranking or sampled negatives)",
        description="Evaluate the model of RUN_DIR on its test (or validation) interactions.",
        examples=EXAMPLES)
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="full",
                   help="full: rank all unseen items; sampled: rank against sampled negatives (default: full)")
    p.add_argument("--k", type=int, nargs="+", metavar="K", help="cut-offs (default: the run's evaluation.ks)")
    p.add_argument("--part", choices=("test", "validation"), default="test", help="which part (default: test)")
    p.add_argument("--negatives", type=int, metavar="N",
                   help="sampled protocol: negatives per positive (default: the run's, 100)")
    p.add_argument("--seed", type=int, default=0, help="sampled protocol: seed of the negatives (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_device(p, "rank", "; sampled negatives are drawn on the CPU, so every device ranks the same ones")
    p.set_defaults(run=run)


def _ks(ks: Sequence[int], num_items: int) -> List[int]:
    return sorted({k for k in ks if k <= num_items}) or [num_items]


@torch.no_grad()
def part_metrics(model: nn.Module, data: RunData, part: str, protocol: str, ks: Sequence[int], *,
                 negatives: int = 100, seed: int = 0) -> Dict[str, float]:
    r"""Metrics of :obj:`model` on a part of a run: ``full`` ranking at every
    cut-off of :obj:`ks` (those above the number of items are left out), or
    ``sampled`` with :obj:`negatives` negatives per positive."""
    from ..train import evaluate_full, evaluate_sampled

    held = data.part(part)
    ks = _ks(ks, data.num_items)
    if protocol == "full":
        return evaluate_full(model, held, ks=ks)
    out: Dict[str, float] = {}
    for k in ks:
        out.update(evaluate_sampled(model, held, generator=torch.Generator().manual_seed(seed),
                                    num_negatives=negatives, k=k))
    return out


def final_metrics(model: nn.Module, data: RunData, config: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    r"""What ``metrics.json`` holds: full-ranking metrics of the validation
    and test parts, and sampled metrics of the test part (when the catalogue
    has enough unseen items), at the run's cut-offs."""
    ks, negatives = config["evaluation"]["ks"], config["evaluation"]["sampled_negatives"]
    out: Dict[str, Any] = {"protocols": dict(PROTOCOLS), "ks": _ks(ks, data.num_items),
                           "sampled_negatives": negatives}
    out["validation"] = {"full": part_metrics(model, data, "validation", "full", ks)}
    out["test"] = {"full": part_metrics(model, data, "test", "full", ks)}
    try:
        out["test"]["sampled"] = part_metrics(model, data, "test", "sampled", ks, negatives=negatives)
    except ValueError as err:  # too few unseen items to sample from
        out["test"]["sampled"] = {"skipped": " ".join(str(err).split())}
    return out


def run(args: argparse.Namespace) -> int:
    if args.k is not None and any(k < 1 for k in args.k):
        raise CommandError(f"--k must be >= 1, got {' '.join(map(str, args.k))}")
    if args.negatives is not None and args.negatives < 1:
        raise CommandError(f"--negatives must be >= 1, got {args.negatives}")
    device = device_of(args)
    folder = Run(args.run_dir)
    data = folder.data
    held = data.valid if args.part == "validation" else data.test
    if held.size(1) == 0:
        raise CommandError(f"the run's {args.part} part is empty")
    ks = args.k or folder.config["evaluation"]["ks"]
    negatives = args.negatives or folder.config["evaluation"]["sampled_negatives"]
    try:
        metrics = part_metrics(folder.model().to(device), data, args.part, args.protocol, ks, negatives=negatives,
                               seed=args.seed)
    except ValueError as err:
        raise CommandError(" ".join(str(err).split())) from None
    if args.json:
        print(json.dumps({"part": args.part, "protocol": args.protocol, **metrics}, indent=2))
        return 0
    users = metrics.pop("users", None)
    print(f"{args.part} part, {args.protocol} protocol: {PROTOCOLS[args.protocol]}")
    if users is not None:
        print(f"users with held-out items: {int(users):,}")
    width = max(len(name) for name in metrics)
    for name, value in metrics.items():
        print(f"  {name:<{width}}  {value:.4f}")
    sys.stdout.flush()
    return 0
