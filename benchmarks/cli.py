r"""``python -m benchmarks``: the command line of the benchmark suites. It
parses arguments, reports usage errors on one line (exit status 2) and
calls :func:`benchmarks.runner.run_suite`, which does the work.

::

    python -m benchmarks --list
    python -m benchmarks report SUITE [--out DIR]    # re-render results.md and plots
    python -m benchmarks run SUITE [--data-root DIR] [--seeds N] [--epochs E] [--out DIR]
                                   [--datasets A,B] [--models A,B] [--threads T] [--no-progress]
                                   [--merge] [--replace] [--resume]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

import torch

from hypgraph.data import ENV_VAR

from . import report
from .runner import UsageError, default_data_root, default_out, run_suite
from .suites import available, get

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Hyperbolic vs Euclidean benchmark suites of hypgraph.",
        epilog="Results go to benchmarks/results/SUITE/ unless --out is given.")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one suite")
    run.add_argument("suite", help="suite name (see --list)")
    run.add_argument("--data-root", default=None,
                     help=f"folder holding the real datasets (default: ${ENV_VAR}, else ../shared/data)")
    run.add_argument("--seeds", type=int, default=None,
                     help="number of seeds 0..N-1 (default: the suite's, usually 3)")
    run.add_argument("--epochs", type=int, default=None,
                     help="maximum training epochs per run (default: the suite's)")
    run.add_argument("--out", default=None, help="output folder (default: benchmarks/results/SUITE/)")
    run.add_argument("--datasets", default=None, help="comma-separated subset of the suite's datasets")
    run.add_argument("--models", default=None, help="comma-separated subset of the suite's models")
    run.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    run.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    rerender = sub.add_parser("report", help="re-write results.md and the plots from an existing results.json")
    rerender.add_argument("suite", help="suite name (see --list)")
    rerender.add_argument("--out", default=None, help="folder holding results.json (default: benchmarks/results/SUITE/)")
    run.add_argument("--merge", action="store_true",
                     help="keep the other datasets, and the other models of the datasets this run redoes, "
                          "of an existing results.json in --out (same suite settings)")
    run.add_argument("--replace", action="store_true",
                     help="with --merge: rerun a dataset that ran in --out under other search settings "
                          "(grid or fixed), dropping its runs (without it the run is refused)")
    run.add_argument("--resume", action="store_true",
                     help="reuse the runs an interrupted run of the same suite, settings, data and code "
                          "left in --out's journal.jsonl (every finished run is written there at once)")
    return parser


def _list(out) -> None:
    for name, suite in available().items():
        datasets = ", ".join(d.name for d in suite.datasets)
        models = ", ".join(m.name for m in suite.models)
        print(f"{name:<12} {suite.description}", file=out)
        print(f"{'':<12} datasets: {datasets}; models: {models}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        _list(sys.stdout)
        return 0
    if args.command not in ("run", "report"):
        parser.print_help(sys.stderr)
        return 2
    try:
        suite = get(args.suite)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    if args.command == "report":
        out = Path(args.out) if args.out else default_out(suite.name)
        path = out / "results.json"
        if not path.exists():
            print(f"error: {path} does not exist; run the suite first", file=sys.stderr)
            return 2
        results = json.loads(path.read_text(encoding="utf-8"))
        if results.get("suite") != suite.name:
            print(f"error: {path} holds suite {results.get('suite')!r}, not {suite.name!r}", file=sys.stderr)
            return 2
        report.write(results, suite, out)
        print((out / "results.md").read_text(encoding="utf-8"))
        return 0
    if args.seeds is not None and args.seeds < 1:
        print(f"error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    if args.epochs is not None and args.epochs < 1:
        print(f"error: --epochs must be >= 1, got {args.epochs}", file=sys.stderr)
        return 2
    if args.replace and not args.merge:
        print("error: --replace only applies with --merge (without it --out's results.json is rewritten whole)",
              file=sys.stderr)
        return 2
    if args.epochs is not None and not suite.uses_epochs:
        print(f"note: suite {suite.name!r} does not train by epochs; --epochs is ignored", file=sys.stderr)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else default_out(suite.name)
    split = (lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None)
    try:
        results = run_suite(suite, data_root=default_data_root(args.data_root),
                            seeds=range(args.seeds or suite.default_seeds), out_dir=out,
                            epochs=args.epochs, progress=not args.no_progress,
                            datasets=split(args.datasets), models=split(args.models),
                            command=shlex.join(["python", "-m", "benchmarks", *argv]), merge=args.merge,
                            resume=args.resume, replace=args.replace)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text(encoding="utf-8"))
    print(f"{len(results['runs'])} runs in {results['seconds']} s; results in {out}", file=sys.stderr)
    return 0
