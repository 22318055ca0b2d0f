r"""Peak memory and time of the text readers on real and hostile files.

**Reader memory**, the quantity the target bounds, is

.. code-block:: text

    (peak resident set size during the read - resident set size just before it)
        - bytes held by the returned HeteroData

divided by the **input bytes**, the decompressed size of every file the
reader reads. The peak is the kernel's high-water mark (``VmHWM``), reset
through ``/proc/self/clear_refs`` just before the call, so every allocation
counts: numpy, pyarrow, torch and Python objects alike. (tracemalloc was
checked and is not enough: it sees numpy's buffers and Python objects, but
pyarrow allocates from its own memory pools, which no Python hook reaches,
and torch from its own allocator.) Memory the C allocator keeps after a free
still counts, so the figure is an upper bound; for inputs of a few MB that
retention (glibc's dynamic mmap threshold) is a good part of it. The graph's
bytes are the sizes of its distinct tensor storages, numpy arrays and raw-id
strings. A read that fails (the hostile files) returns nothing, so all of its
peak counts. Each read runs in a fresh child process after a read of a tiny
file of the same format, so imports, pyarrow's kernels and allocator start-up
(paid once per process) are not counted.

Files: every real dataset of ``$HYPGRAPH_DATA`` (default ``../shared/data``)
through its reader (KGAT last-fm and yelp2018 ship no ``train.txt``: a
one-line stand-in is linked beside their files, as in
``tests/data/test_readers_real.py``; RecBole files are also read as tables),
and files generated in a temporary folder, deleted at the end:

* ``one-line u.data``: 200 MB, one line ``0 1 2 ... 9 0 1 ...``;
* ``wide header``: a CSV whose header line is 200 MB;
* ``newlines``: 200 MB of ``\n`` under each reader's file name;
* ``u.data 20M``: a valid MovieLens file of 20M lines (1M users, 100k items,
  power-law popularity), also timed through ``hypgraph-stats`` end to end
  (peak RSS of that process, from ``wait4``).

Targets: reader memory at most 3x the input on every file; ``read_movielens``
of the 20M-line file within 5 s; ``hypgraph-stats`` on it within 15 s and
2.5 GB peak RSS, on 2 cores. Times are wall clock; on a shared machine the
CPU time (user + sys) of the child is recorded beside them. ``hypgraph-stats``
is also run once more with its stages timed (imports, read, ``prepare``,
statistics) and the peak RSS of each.

Usage::

    python benchmarks/reader_memory.py [--data ROOT] [--lines 20000000]
        [--repo CHECKOUT] [--label after] [--out FILE]

``--repo`` measures the readers of another checkout, e.g. the commit before
the pyarrow readers (``git archive 2f345cd~1 hypgraph analysis | tar -x -C
DIR``, then ``--repo DIR --commit 4a7b784 --label before``); results are merged into
``benchmarks/results/reader_memory.json`` under the label. Generated files
go to a new folder under ``--tmp`` (default: the system's), removed at the end.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
MIB = 2 ** 20
TARGET_RATIO = 3.0
TARGET_READ_SECONDS = 5.0
TARGET_STATS_SECONDS = 15.0
TARGET_STATS_PEAK_MIB = 2.5 * 1000 ** 3 / MIB
HOSTILE_BYTES = 200 * 1000 ** 2


# --- child: one read in a fresh process ---------------------------------------

def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def _graph_bytes(data) -> int:
    import numpy as np
    import torch

    seen, total = set(), 0
    for store in data.stores:
        for value in store.values():
            if isinstance(value, torch.Tensor):
                storage = value.untyped_storage()
                if storage.data_ptr() not in seen:
                    seen.add(storage.data_ptr())
                    total += storage.nbytes()
            elif isinstance(value, np.ndarray):
                total += value.nbytes + sum(sys.getsizeof(v) for v in value.ravel()) \
                    if value.dtype == object else value.nbytes
            elif isinstance(value, list):
                total += sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
    return total


def _child(spec: dict) -> dict:
    sys.path.insert(0, spec["repo"])
    from hypgraph.data import DataFormatError
    from hypgraph.data import readers

    read = getattr(readers, spec["reader"])
    # A tiny file of the same format first: lazy imports, pyarrow's kernels
    # and allocator start-up are paid once per process, not per read.
    warm = spec["warmup"][spec["reader"]]
    read(warm["path"], **dict(spec.get("kwargs", {}), **warm.get("kwargs", {})))
    gc.collect()
    rss_before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    start, cpu = time.perf_counter(), time.process_time()
    data, error = None, None
    try:
        data = read(spec["path"], **spec.get("kwargs", {}))
    except DataFormatError as exc:
        error = str(exc)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = (_status_kib("VmHWM") - rss_before) * 1024
    graph = _graph_bytes(data) if data is not None else 0
    out = {"seconds": seconds, "cpu_seconds": round(cpu, 3), "peak_bytes": peak, "graph_bytes": graph}
    if error is not None:
        out["error"] = error if len(error) < 200 else error[:200] + "..."
    else:
        out["edges"] = int(data["user", "interacts", "item"].edge_index.size(1))
    return out


# --- files ----------------------------------------------------------------------

def _write_repeated(path: Path, unit: bytes, size: int, tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = unit * max(1, (1 << 22) // len(unit))
    with open(path, "wb") as f:
        written = 0
        while written + len(block) <= size:
            f.write(block)
            written += len(block)
        f.write(unit * ((size - written) // len(unit)))
        f.write(tail)
    return path


def generate_movielens(path: Path, lines: int, users: int = 1_000_000, items: int = 100_000,
                       seed: int = 0) -> Path:
    r"""A valid ``u.data``: users and items drawn with power-law popularity
    (exponents 3 and 2.5), ratings 1-5, 9-digit timestamps, tab-separated."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)

    def draw(n, gamma, size):
        weights = np.arange(1, n + 1, dtype=np.float64) ** (-1.0 / (gamma - 1.0))
        cdf = np.cumsum(weights / weights.sum())
        ids = rng.permutation(n) + 1
        return ids[np.minimum(np.searchsorted(cdf, rng.random(size)), n - 1)]

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for start in range(0, lines, 2_000_000):
            m = min(2_000_000, lines - start)
            columns = [draw(users, 3.0, m), draw(items, 2.5, m), rng.integers(1, 6, m),
                       rng.integers(874_724_710, 893_286_638, m)]
            text = [pc.cast(pa.array(c), pa.string()) for c in columns]
            row = pc.binary_join_element_wise(*text, pa.scalar(""), "\t")  # ends in a tab
            row = pc.binary_join_element_wise(pc.utf8_slice_codeunits(row, 0, -1), pa.scalar(""), "\n")
            offsets = np.frombuffer(row.buffers()[1], dtype=np.int32)[row.offset:row.offset + len(row) + 1]
            f.write(memoryview(row.buffers()[2])[int(offsets[0]):int(offsets[-1])])
    return path


def _warmup_files(tmp: Path) -> Dict[str, dict]:
    r"""A tiny valid input per reader, touching the code paths of the real files."""
    import gzip

    def write(path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
        return path

    write(tmp / "ml" / "u.data", "1\t2\t3\t4\n5\t6\t7\t8\n")
    kgcn = tmp / "kgcn"
    write(kgcn / "ratings_final.txt", "0\t1\t1\n1\t0\t0\n")
    write(kgcn / "kg_final.txt", "0\t0\t1\n1\t1\t2\n")
    write(kgcn / "item_index2entity_id.txt", "a7\t0\r\nb8\t1\r\n")
    kgat = tmp / "kgat"
    write(kgat / "train.txt", "0 0 1\n1 1\n")
    write(kgat / "test.txt", "0 1 1\n1 \n")
    write(kgat / "kg_final.txt.gz", "0 0 2\n1 1 3\n")
    for name, rows in (("user", 2), ("item", 2), ("entity", 4)):
        write(kgat / f"{name}_list.txt", "org_id remap_id\n" + "".join(f"x{k} {k}\n" for k in range(rows)))
    write(kgat / "relation_list.txt", "org_id remap_id\nr/a 0\nr/b 1\n")
    rb = tmp / "rb"
    write(rb / "w.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t4\n")
    write(rb / "w.kg", "head_id:token\trelation_id:token\ttail_id:token\nm.1\tr.a\tm.2\n")
    write(rb / "w.link", "item_id:token\tentity_id:token\n2\tm.1\n")
    table = write(tmp / "t.tsv", "u\ti\tr\tt\na\tb\t1.5\t2\nc\td\t3\t4\n")
    return {
        "read_movielens": dict(path=str(tmp / "ml" / "u.data")),
        "read_kgcn": dict(path=str(kgcn)),
        "read_kgat": dict(path=str(kgat)),
        "read_recbole": dict(path=str(rb)),
        "read_table": dict(path=str(table), kwargs=dict(user_col="u", item_col="i", rating_col="r", time_col="t")),
    }


def _real_cases(data: Path, tmp: Path) -> List[dict]:
    cases = []

    def add(name, reader, path, inputs, **kwargs):
        if all(Path(p).is_file() for p in inputs):
            cases.append(dict(name=name, reader=reader, path=str(path), inputs=[str(p) for p in inputs],
                              kwargs=kwargs))

    ml = data / "ml-100k"
    add("ml-100k/u.data", "read_movielens", ml / "u.data", [ml / "u.data"])
    add("ml-100k/ua.base", "read_movielens", ml / "ua.base", [ml / "ua.base"])
    for name in ("lastfm-kgcn", "book-crossing-kgcn"):
        root = data / name
        here = root / "processed_mcclk" if (root / "processed_mcclk").is_dir() else root
        add(name, "read_kgcn", root, [here / "ratings_final.txt", here / "kg_final.txt",
                                      root / "item_index2entity_id.txt"])
    book = data / "kgat" / "amazon-book"
    add("kgat/amazon-book", "read_kgat", book,
        [book / n for n in ("train.txt", "test.txt", "user_list.txt", "item_list.txt")])
    for name in ("last-fm", "yelp2018"):
        source = data / "kgat" / name
        if not (source / "test.txt").is_file():
            continue
        folder = tmp / "kgat" / name
        folder.mkdir(parents=True, exist_ok=True)
        names = [p.name for p in source.iterdir() if p.name != "train.txt"]
        for n in names:
            (folder / n).symlink_to(source / n)
        (folder / "train.txt").write_text("0 0\n")
        inputs = [source / n for n in names if n.endswith(".txt") or n.endswith(".gz")]
        add(f"kgat/{name} (stand-in train.txt)", "read_kgat", folder, inputs)
    rb = data / "ml-100k-kg-recbole"
    add("ml-100k-kg-recbole", "read_recbole", rb, [rb / f"ml-100k.{e}" for e in ("inter", "kg", "link")])
    add("ml-100k.inter as a table", "read_table", rb / "ml-100k.inter", [rb / "ml-100k.inter"],
        user_col="user_id:token", item_col="item_id:token", rating_col="rating:float",
        time_col="timestamp:float")
    add("ml-100k.kg as a table", "read_table", rb / "ml-100k.kg", [rb / "ml-100k.kg"],
        user_col="head_id:token", item_col="tail_id:token")
    artists = data / "lastfm-kgcn" / "user_artists.dat"
    add("lastfm user_artists.dat as a table", "read_table", artists, [artists],
        user_col="userID", item_col="artistID", rating_col="weight")
    return cases


def _hostile_cases(tmp: Path, lines: int) -> List[dict]:
    cases = []
    one_line = _write_repeated(tmp / "one-line" / "u.data", b"0 1 2 3 4 5 6 7 8 9 ", HOSTILE_BYTES, b"\n")
    cases.append(dict(name="one-line u.data (200 MB)", reader="read_movielens", path=str(one_line)))
    wide = tmp / "wide" / "ratings.csv"
    _write_repeated(wide, b"x", HOSTILE_BYTES, b"\n1,2\n")
    with open(wide, "r+b") as f:
        f.write(b"user,")
    cases.append(dict(name="wide header ratings.csv (200 MB)", reader="read_table", path=str(wide),
                      kwargs=dict(user_col="user", item_col="item")))
    newlines = _write_repeated(tmp / "newlines" / "u.data", b"\n", HOSTILE_BYTES)
    for name, reader, path, kwargs in [
            ("u.data", "read_movielens", newlines, {}),
            ("train.txt", "read_kgat", tmp / "nl-kgat", {}),
            ("ratings_final.txt", "read_kgcn", tmp / "nl-kgcn", {}),
            ("nl.inter", "read_recbole", tmp / "nl-recbole", {}),
            ("ratings.csv", "read_table", tmp / "nl-table" / "ratings.csv", dict(user_col="u", item_col="i"))]:
        target = Path(path) if reader in ("read_movielens", "read_table") else Path(path) / name
        if target != newlines:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(newlines)
        if reader == "read_kgat":
            (target.parent / "test.txt").symlink_to(newlines)
        cases.append(dict(name=f"newlines {name} (200 MB)", reader=reader, path=str(path), kwargs=kwargs,
                          inputs=[str(newlines)]))  # the error comes at the first file read
    big = generate_movielens(tmp / "u20m" / "u.data", lines)
    cases.append(dict(name=f"u.data {lines // 10**6}M lines", reader="read_movielens", path=str(big),
                      stats=True))
    for case in cases:
        case.setdefault("inputs", [case["path"]])
    return cases


def _input_bytes(files: List[str]) -> int:
    import gzip

    total = 0
    for name in files:
        if name.endswith(".gz"):
            with gzip.open(name, "rb") as f:
                while chunk := f.read(1 << 24):
                    total += len(chunk)
        else:
            total += os.path.getsize(name)
    return total


def _run_child(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"crashed": proc.stderr.strip().splitlines()[-1:] or ["(no output)"], "rc": proc.returncode}
    return json.loads(proc.stdout)


def _stats_child(path: str) -> dict:
    r"""hypgraph-stats in this process, timing its stages: imports, the read
    (hypgraph.data.readers.read), prepare() (dedupe, filters, compaction) and
    the rest (the statistics). Wraps the two functions where the CLI looks
    them up, so a refactor of the CLI only loses the breakdown."""
    start = time.perf_counter()
    import hypgraph.data.preprocess as preprocess
    import hypgraph.data.readers as readers
    from analysis.cli import main as cli

    stages = {"imports": time.perf_counter() - start}
    peaks = {"imports": _status_kib("VmHWM") / 1024}

    def timed(module, name):
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            try:
                return inner(*args, **kwargs)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - begin
                peaks[name] = _status_kib("VmHWM") / 1024
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
        setattr(module, name, wrapper)

    timed(readers, "read")
    timed(preprocess, "prepare")
    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            code = cli([path, "--format", "json", "--no-progress"])
        finally:
            sys.stdout = stdout
    stages["statistics"] = time.perf_counter() - start - sum(stages.values())
    peaks["statistics"] = _status_kib("VmHWM") / 1024
    return {"exit_status": code, "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
            "stage_peak_rss_mib": {k: round(v, 1) for k, v in peaks.items()}}


def _stats(repo: str, path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=repo)
    breakdown = subprocess.run([sys.executable, __file__, "--stats-child", path], cwd=repo, env=env,
                               capture_output=True, text=True)
    stages = json.loads(breakdown.stdout) if breakdown.returncode == 0 else {}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", path, "--format", "json", "--no-progress"],
                            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.stderr.close()
    peak_mib = usage.ru_maxrss * 1024 / MIB
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(peak_mib, 1),
            "exit_status": os.waitstatus_to_exitcode(status), "stderr_tail": err[-300:],
            "within_target": seconds <= TARGET_STATS_SECONDS and peak_mib <= TARGET_STATS_PEAK_MIB,
            "stage_seconds (a separate run)": stages.get("stage_seconds"),
            "stage_peak_rss_mib (a separate run)": stages.get("stage_peak_rss_mib")}


def main(argv: Optional[List[str]] = None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stats-child", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=os.environ.get("HYPGRAPH_DATA") or str(REPO.parent / "shared" / "data"))
    parser.add_argument("--lines", type=int, default=20_000_000, help="lines of the generated u.data")
    parser.add_argument("--repo", default=str(REPO), help="checkout whose readers are measured")
    parser.add_argument("--label", default="after", help="key of this run in the results file")
    parser.add_argument("--commit", default=None, help="the commit --repo holds, when it is not a git checkout")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--no-hostile", action="store_true", help="real files only")
    parser.add_argument("--tmp", default=None, help="folder for generated files (default: a new temp dir)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "reader_memory.json"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return {}
    if args.stats_child:
        print(json.dumps(_stats_child(args.stats_child)))
        return {}

    tmp = Path(tempfile.mkdtemp(prefix="reader_memory_", dir=args.tmp))
    try:
        warm = _warmup_files(tmp / "warm")
        cases = _real_cases(Path(args.data), tmp)
        if not args.no_hostile:
            cases += _hostile_cases(tmp, args.lines)
        rows = []
        for case in cases:
            if args.only not in case["name"]:
                continue
            spec = dict(case, repo=str(Path(args.repo).resolve()), warmup=warm)
            result = _run_child(spec)
            size = _input_bytes(case["inputs"])
            row = {"file": case["name"], "reader": case["reader"], "input_bytes": size, **result}
            if "peak_bytes" in result:
                extra = max(0, result["peak_bytes"] - result["graph_bytes"])
                row["reader_bytes"] = extra
                row["ratio"] = round(extra / size, 2)
                row["within_target"] = row["ratio"] <= TARGET_RATIO
                row["seconds"] = round(result["seconds"], 3)
            if case.get("stats"):
                row["read_within_target"] = result.get("seconds", 1e9) <= TARGET_READ_SECONDS
                row["hypgraph_stats"] = _stats(str(Path(args.repo).resolve()), case["path"])
            rows.append(row)
            print(_format(row), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import numpy
    import pyarrow
    import torch

    result = {
        "label": args.label,
        "commit": args.commit or _commit(args.repo),
        "definition": "reader memory = (peak RSS during the read - RSS before it) - bytes of the returned "
                      "HeteroData; ratio = reader memory / decompressed input bytes",
        "target_ratio": TARGET_RATIO,
        "target_read_seconds_20m": TARGET_READ_SECONDS,
        "target_stats_seconds_20m": TARGET_STATS_SECONDS,
        "target_stats_peak_mib_20m": round(TARGET_STATS_PEAK_MIB, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "note": "seconds are wall time on a machine shared with other jobs; cpu_seconds (user + sys) "
                "are what the read itself cost",
        "rows": rows,
        "python": platform.python_version(), "numpy": numpy.__version__, "pyarrow": pyarrow.__version__,
        "torch": torch.__version__, "cpus": os.cpu_count(), "machine": platform.machine(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(out.read_text()) if out.is_file() else {}
    merged[args.label] = result
    out.write_text(json.dumps(merged, indent=2) + "\n")
    return result


def _commit(repo: str) -> str:
    proc = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip()


def _format(row: dict) -> str:
    if "ratio" not in row:
        return f"{row['file']:<42} {row['input_bytes'] / MIB:9.1f} MiB  crashed: {row.get('crashed')}"
    text = (f"{row['file']:<42} {row['input_bytes'] / MIB:9.1f} MiB  peak {row['peak_bytes'] / MIB:8.1f} MiB  "
            f"graph {row['graph_bytes'] / MIB:8.1f} MiB  ratio {row['ratio']:5.2f}  {row['seconds']:7.2f} s "
            f"(cpu {row.get('cpu_seconds', float('nan')):.2f} s)")
    if "error" in row:
        text += f"  error: {row['error'][:70]}"
    if "hypgraph_stats" in row:
        s = row["hypgraph_stats"]
        text += (f"\n{'':<42} hypgraph-stats {s['seconds']} s, peak RSS {s['peak_rss_mib']} MiB, "
                 f"exit {s['exit_status']}; stages {s['stage_seconds (a separate run)']}, "
                 f"stage peaks (MiB) {s['stage_peak_rss_mib (a separate run)']}")
    return text


if __name__ == "__main__":
    main()
