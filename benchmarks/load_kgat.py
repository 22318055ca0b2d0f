r"""Time and memory to load KGAT amazon-book (846,434 interactions) into
:class:`~torch_geometric.data.HeteroData` with :func:`hypgraph.data.readers.read_kgat`.

Usage::

    python benchmarks/load_kgat.py [--data ROOT] [--repeats 3] [--out FILE]

``ROOT`` defaults to ``$HYPGRAPH_DATA``, else ``../shared/data`` beside the
repository. Writes ``benchmarks/results/load_kgat.json``. Target: under 10 s
on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0


def _maxrss_mib() -> float:
    # Linux reports kilobytes, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HYPGRAPH_DATA") or str(REPO.parent / "shared" / "data"),
                        help="data root holding kgat/amazon-book (default: $HYPGRAPH_DATA or ../shared/data)")
    parser.add_argument("--repeats", type=int, default=3, help="timed loads; the best is reported")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "load_kgat.json"))
    args = parser.parse_args(argv)

    import torch
    from hypgraph.data.readers import read_kgat

    folder = Path(args.data) / "kgat" / "amazon-book"
    rss_before = _maxrss_mib()
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        data = read_kgat(folder)
        seconds.append(time.perf_counter() - start)
    rss_after = _maxrss_mib()
    # A separate traced load: tracemalloc slows allocation, so it is not timed.
    tracemalloc.start()
    read_kgat(folder)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    ui = data["user", "interacts", "item"]
    result = {
        "dataset": "KGAT amazon-book (train.txt + test.txt)",
        "interactions": int(ui.edge_index.size(1)),
        "train": int(ui.train_mask.sum()),
        "test": int(ui.test_mask.sum()),
        "users": int(data["user"].num_nodes),
        "items": int(data["item"].num_nodes),
        "seconds_best": round(min(seconds), 4),
        "seconds_all": [round(s, 4) for s in seconds],
        "target_seconds": TARGET_SECONDS,
        "within_target": min(seconds) < TARGET_SECONDS,
        "peak_traced_mib": round(traced_peak / 2**20, 1),
        "maxrss_delta_mib": round(rss_after - rss_before, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
