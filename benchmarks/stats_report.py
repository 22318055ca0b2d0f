r"""Time and peak memory of the ``hypgraph-stats`` report (no bootstrap) on a
synthetic bipartite graph of 20 million distinct interactions.

The graph is drawn directly with numpy (the generator of
:mod:`hypgraph.data.synthetic` is exact but not meant for 20M edges): every
interaction picks a user and an item independently with probabilities
proportional to power-law popularity weights, :math:`w_r \propto
r^{-1/(\gamma - 1)}` for rank :math:`r`, which gives expected degrees with a
power-law tail of exponent :math:`\gamma` (a bipartite Chung–Lu graph).
Repeated pairs are dropped and the first 20M distinct pairs kept.

The report runs in a fresh child process that only loads the two index
arrays, so its peak resident memory (``ru_maxrss``) is the report's, not the
generator's. Timed: :func:`analysis.describe_arrays` (graph construction,
basics, both power-law fits, likelihood-ratio comparisons, sampled item
projection), i.e. everything the CLI does after reading a file.

Usage::

    python benchmarks/stats_report.py [--interactions 20000000] [--out FILE]

Writes ``benchmarks/results/stats_20m.json``. Targets: under 60 s and under
4 GB peak on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
TARGET_PEAK_MIB = 4096.0
SEED = 0


def _maxrss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def generate(n_edges: int, n_users: int, n_items: int, gamma_user: float, gamma_item: float,
             seed: int):
    r"""Distinct (user, item) pairs drawn from power-law popularity."""
    rng = np.random.default_rng(seed)

    def weights(n, gamma):
        w = np.arange(1, n + 1, dtype=np.float64) ** (-1.0 / (gamma - 1.0))
        return np.cumsum(w / w.sum())

    cdf_user, cdf_item = weights(n_users, gamma_user), weights(n_items, gamma_item)
    keys = np.empty(0, dtype=np.int64)
    draw = int(n_edges * 1.1)
    while keys.size < n_edges:
        user = np.searchsorted(cdf_user, rng.random(draw)).astype(np.int64)
        item = np.searchsorted(cdf_item, rng.random(draw)).astype(np.int64)
        keys = np.unique(np.concatenate([keys, user * n_items + item]))
        draw = max(int((n_edges - keys.size) * 1.5), 1000)
    keys = rng.permutation(keys)[:n_edges]
    return keys // n_items, keys % n_items


def run_report(folder: Path) -> dict:
    r"""Child process: load the arrays and time the report."""
    from analysis import describe_arrays

    user = np.load(folder / "user.npy")
    item = np.load(folder / "item.npy")
    rss_loaded = _maxrss_mib()
    start = time.perf_counter()
    report = describe_arrays(user, item, name="synthetic-20M", random_state=SEED)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(_maxrss_mib(), 1),
            "rss_after_loading_arrays_mib": round(rss_loaded, 1), "report": report.as_dict()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--gamma-user", type=float, default=3.0)
    parser.add_argument("--gamma-item", type=float, default=2.5)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "stats_20m.json"))
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_report(args.child)))
        return {}

    start = time.perf_counter()
    user, item = generate(args.interactions, args.users, args.items, args.gamma_user,
                          args.gamma_item, SEED)
    generate_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "user.npy", user)
        np.save(Path(tmp) / "item.npy", item)
        del user, item
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        child = subprocess.run([sys.executable, __file__, "--child", tmp], check=True,
                               capture_output=True, text=True, env=env)
    measured = json.loads(child.stdout)
    report = measured.pop("report")
    result = {
        "benchmark": "hypgraph-stats report without bootstrap (analysis.describe_arrays)",
        "graph": {
            "generator": "numpy: independent user and item draws with power-law popularity "
                         "weights r^(-1/(gamma-1)) (bipartite Chung-Lu), repeated pairs dropped; "
                         "not hypgraph.data.synthetic",
            "interactions": args.interactions, "users_drawn_from": args.users,
            "items_drawn_from": args.items, "gamma_user": args.gamma_user,
            "gamma_item": args.gamma_item, "seed": SEED,
            "generate_seconds": round(generate_seconds, 1),
        },
        "seconds": measured["seconds"],
        "peak_rss_mib": measured["peak_rss_mib"],
        "rss_after_loading_arrays_mib": measured["rss_after_loading_arrays_mib"],
        "target_seconds": TARGET_SECONDS,
        "target_peak_mib": TARGET_PEAK_MIB,
        "within_target": measured["seconds"] < TARGET_SECONDS
        and measured["peak_rss_mib"] < TARGET_PEAK_MIB,
        "stage_seconds": report["seconds"],
        "row": report["row"],
        "item_degree_fit": report["item_degree_fit"],
        "user_degree_fit": report["user_degree_fit"],
        "item_degree_comparisons": report["item_degree_comparisons"],
        "item_projection": report["item_projection"],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("seconds", "peak_rss_mib", "within_target",
                                              "stage_seconds")}, indent=2))
    return result


if __name__ == "__main__":
    main()
