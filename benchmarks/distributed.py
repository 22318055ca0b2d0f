r"""One process against two (issue 19, 5b): ``hypgraph train`` on MovieLens
100K, run to convergence three ways on the same cores, with the same
configuration, global batch and seed:

- ``1 process x 1 thread`` (``OMP_NUM_THREADS=1``);
- ``1 process x 2 threads`` (``OMP_NUM_THREADS=2``: the cores used another way);
- ``2 processes x 1 thread`` (``hypgraph train --nproc 2``: torchrun, gloo,
  each rank a half of every batch, gradients summed before the step).

Reported per row, from the run folder: median seconds of the training pass
per epoch (``train_seconds`` of ``log.jsonl``) and of the validation ranking
(rank 0 alone validates), epochs run, best epoch (below the maximum: the run
converged), and the test metrics of ``metrics.json``; in two settings
(:data:`SETTINGS`): little and much work per step. Two processes take the
one-process steps (same batches, same negatives), so the metrics should agree
up to the order of floating-point sums; the speed is what differs.

    python benchmarks/distributed.py [--epochs 300] [--patience 10]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runner import default_data_root
from benchmarks.timing import git_commit

RESULTS = Path(__file__).resolve().parent / "results" / "distributed.json"
ROWS = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}
#: hypgraph train options of each setting: the command's defaults (BPR, dim
#: 50, batches of 1024: little work per step), and WMRB with 10 negatives at
#: dim 128 and batches of 4096 (much more work per step, the same number of
#: all-reduces per epoch divided by 4)
SETTINGS = {"bpr-dim50-batch1024": ["--loss", "bpr", "--dim", "50", "--batch-size", "1024"],
            "wmrb10-dim128-batch4096": ["--loss", "wmrb", "--dim", "128", "--batch-size", "4096"]}


def train(data: Path, folder: Path, processes: int, threads: int, options, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "hypgraph", "train", str(data), "--out", str(folder), "--overwrite",
               "--epochs", str(args.epochs), "--patience", str(args.patience), *options,
               "--seed", str(args.seed), "--device", "cpu", "--no-progress"]
    if processes > 1:
        command += ["--nproc", str(processes)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    wall = time.perf_counter() - start
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    metrics = json.loads((folder / "metrics.json").read_text())
    return {"processes": processes, "threads_per_process": threads,
            "train_seconds_per_epoch": round(statistics.median(r["train_seconds"] for r in log), 3),
            "validation_seconds_per_epoch": round(statistics.median(r["validation_seconds"] for r in log), 3),
            "epochs": len(log), "best_epoch": metrics["best_epoch"], "wall_seconds": round(wall, 1),
            "converged": metrics["best_epoch"] < args.epochs,
            "test": {k: round(v, 4) for k, v in metrics["test"]["full"].items() if "@" in k},
            "test_sampled": {k: round(v, 4) for k, v in metrics["test"].get("sampled", {}).items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=None, help="default: $HYPGRAPH_DATA, else ../shared/data")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    data = default_data_root(args.data_root) / "ml-100k" / "u.data"
    settings = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for setting, options in SETTINGS.items():
            rows = settings[setting] = {"options": " ".join(options)}
            for name, (processes, threads) in ROWS.items():
                folder = Path(tmp) / f"{setting}-{name.replace(' ', '-')}"
                rows[name] = train(data, folder, processes, threads, options, args)
                print(f"{setting}, {name}: {rows[name]}", flush=True)
            base = rows["1 process x 1 thread"]["train_seconds_per_epoch"]
            for name in ROWS:
                rows[name]["train_speedup_vs_1x1"] = round(base / rows[name]["train_seconds_per_epoch"], 2)
    result = {"data": "MovieLens 100K u.data (all ratings as interactions), hypgraph train's defaults: "
                      "per-user random 80/20 split with 10% of train as validation, hyperbolic model with "
                      "midpoint users, tangent tables, Adam, BPR",
              "epochs_max": args.epochs, "patience": args.patience, "seed": args.seed, "settings": settings,
              "load_average_at_start": round(load, 2),
              "load_average_at_end": round(os.getloadavg()[0], 2), "commit": git_commit(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
