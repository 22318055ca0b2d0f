r"""Measuring helpers shared by the benchmark scripts and suites: training
time extrapolated from a fixed number of batches, full-ranking evaluation
time, training-only epoch time inside a :class:`~hypgraph.train.Trainer`,
peak resident memory of a block, and the commit and machine a result came
from. Training is timed through the trainer's public callbacks, so what is
timed is the trainer's own loop, never a copy of it."""
from __future__ import annotations

import gc
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor

from hypgraph.data.history import InteractionCSR, Interactions
from hypgraph.train import Callback, Trainer
from hypgraph.train.callbacks import TRAIN_SECONDS
from hypgraph.train.metrics import full_ranking_metrics

__all__ = ["epoch_seconds", "eval_seconds", "record_epoch_seconds", "profile_batches", "operator_growth",
           "batch_ms", "compare_profiles", "PeakMemory", "git_commit",
           "machine_description", "REPO"]

REPO = Path(__file__).resolve().parents[1]
MIB = 2 ** 20


# --- time ---------------------------------------------------------------------

def epoch_seconds(model, opt, edge_index: Tensor, num_items: int, history: InteractionCSR,
                  batch_size: int, max_batches: int, seed: int, warmup: int = 0, *,
                  trainer_class: type = Trainer, trainer_args: tuple = (), **trainer_kwargs) -> float:
    r"""Seconds of one BPR training epoch of :class:`~hypgraph.train.Trainer`
    over :obj:`edge_index`, extrapolated from :obj:`max_batches` timed
    mini-batches (after :obj:`warmup` untimed ones, which absorb one-off
    allocations and index the positives), so that large graphs stay
    affordable. A mini-batch is timed from the trainer's ``on_batch_start``
    to its ``on_batch_end``: negative sampling, forward, backward and the
    optimiser step. The positives are indexed once per split
    (:class:`~hypgraph.data.history.Interactions`), not per epoch, so no
    per-epoch part is added. :obj:`trainer_kwargs` replace the trainer's
    settings (e.g. ``loss='hinge'``); :obj:`trainer_class` (called as
    ``trainer_class(model, opt, *trainer_args, ...)``) times another loop,
    e.g. :class:`~hypgraph.train.BilevelTrainer` with its beta optimiser."""
    settings = {"loss": "bpr", "num_negatives": 1, **trainer_kwargs}
    trainer = trainer_class(model, opt, *trainer_args, batch_size=batch_size, seed=seed, progress=False,
                            **settings)
    train = Interactions(edge_index, history.num_users, num_items, csr=history)
    g = torch.Generator().manual_seed(seed)
    if warmup:
        trainer.train_epoch(train, g, max_batches=warmup)
    clock = _BatchClock()
    trainer.callbacks.append(clock)
    try:
        trainer.train_epoch(train, g, max_batches=max_batches)
    finally:
        trainer.callbacks.remove(clock)
    per_batch = clock.seconds / clock.batches
    return per_batch * math.ceil(edge_index.size(1) / batch_size)  # extrapolated to a full epoch


def profile_batches(model, opt, edge_index: Tensor, num_items: int, history: InteractionCSR, batch_size: int,
                    batches: int, seed: int = 97, **kwargs) -> Dict[str, Dict[str, float]]:
    r"""Per operator and per ``torch.profiler`` region (``record_function``:
    torch.optim's ``Optimizer.step#...``, the bilevel trainer's phases) of
    :obj:`batches` training batches timed as :func:`epoch_seconds` times
    them: ``{name: {"own_ms", "total_ms", "calls"}}`` per batch. The
    profiler's overhead inflates every figure; compare them with each other."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        epoch_seconds(model, opt, edge_index, num_items, history, batch_size, batches, seed=seed, **kwargs)
    return {e.key: {"own_ms": e.self_cpu_time_total / 1e3 / batches, "total_ms": e.cpu_time_total / 1e3 / batches,
                    "calls": e.count / batches} for e in prof.key_averages()}


def operator_growth(slow: Dict[str, Dict[str, float]], fast: Dict[str, Dict[str, float]], top: int = 10,
                    labels=("slow", "fast")) -> Dict[str, dict]:
    r"""The :obj:`top` entries of two :func:`profile_batches` whose own time
    grows most from :obj:`fast` to :obj:`slow`, with both figures."""
    zero = {"own_ms": 0.0, "calls": 0.0}
    names = sorted(set(slow) | set(fast), key=lambda k: -(slow.get(k, zero)["own_ms"] - fast.get(k, zero)["own_ms"]))
    return {k: {f"{labels[0]}_ms": round(slow.get(k, zero)["own_ms"], 3),
                f"{labels[0]}_calls": round(slow.get(k, zero)["calls"], 1),
                f"{labels[1]}_ms": round(fast.get(k, zero)["own_ms"], 3),
                f"{labels[1]}_calls": round(fast.get(k, zero)["calls"], 1)} for k in names[:top]}


def batch_ms(profiled: Dict[str, Dict[str, float]]) -> float:
    """Milliseconds of one batch under the profiler: the sum of own times."""
    return sum(v["own_ms"] for v in profiled.values())


def compare_profiles(profiled: Dict[str, Dict[str, Dict[str, float]]], slow: str, fast: str,
                     step: str = "Optimizer.step#RiemannianAdam.step") -> dict:
    r"""Two models' :func:`profile_batches` side by side: each one's batch
    split into the optimiser step (the region :obj:`step`) and the rest, and
    the operators whose own time grows most from :obj:`fast` to :obj:`slow`."""
    split = {}
    for name in (slow, fast):
        batch, step_ms = batch_ms(profiled[name]), profiled[name].get(step, {"total_ms": 0.0})["total_ms"]
        split[name] = {"batch_ms": round(batch, 2), "optimizer_step_ms": round(step_ms, 2),
                       "rest_ms": round(batch - step_ms, 2)}
    return {"per_batch_under_profiler": split,
            "operators_with_most_extra_own_ms": operator_growth(profiled[slow], profiled[fast], labels=(slow, fast))}


class _BatchClock(Callback):
    # total seconds and number of the mini-batches it saw
    def __init__(self) -> None:
        self.seconds, self.batches, self._start = 0.0, 0, 0.0

    def on_batch_start(self, trainer, epoch: int, batch: int) -> None:
        self._start = time.perf_counter()

    def on_batch_end(self, trainer, epoch: int, batch: int, loss: float) -> None:
        self.seconds += time.perf_counter() - self._start
        self.batches += 1


def eval_seconds(score_fn: Callable[[Tensor], Tensor], edge_index: Tensor, test: Tensor,
                 num_users: int, num_items: int, users: Optional[Tensor] = None,
                 chunk_size: int = 2048) -> float:
    r"""Seconds to rank every item for the users of :obj:`test` (full ranking,
    training items removed, top-20 metrics) with :obj:`score_fn`."""
    start = time.perf_counter()
    full_ranking_metrics(score_fn, edge_index, test, num_users, num_items, ks=(20,), chunk_size=chunk_size)
    return time.perf_counter() - start


def record_epoch_seconds(trainer: Trainer) -> List[float]:
    r"""Make :obj:`trainer` (a :class:`~hypgraph.train.Trainer` or subclass)
    append the seconds of each training epoch, *without* its validation
    ranking, to the returned list: the ``train_seconds`` of each epoch's
    record, collected by a callback added to ``trainer.callbacks``
    (``record['seconds']`` includes validation, which would blur a
    comparison of training cost)."""
    recorder = _EpochSeconds()
    trainer.callbacks.append(recorder)
    return recorder.seconds


class _EpochSeconds(Callback):
    def __init__(self) -> None:
        self.seconds: List[float] = []

    def on_epoch_end(self, trainer, epoch: int, record: Dict[str, float]) -> None:
        self.seconds.append(record[TRAIN_SECONDS])


# --- memory -------------------------------------------------------------------

def _rss_mib() -> Optional[float]:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        return None


def _reset_high_water_mark() -> bool:
    # Linux >= 4.0: writing 5 resets VmHWM, the kernel's exact RSS peak, to the current RSS
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return _high_water_mark_mib() is not None
    except OSError:
        return False


def _high_water_mark_mib() -> Optional[float]:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError):
        pass
    return None


def _release_free_heap() -> None:
    # glibc keeps freed memory mapped for reuse, so a block running after a larger
    # one would add nothing to the RSS; malloc_trim hands the free pages back first
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _maxrss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports kB, macOS bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MIB


class PeakMemory:
    r"""Peak resident memory (RSS) of this process while a block runs::

        with PeakMemory() as mem:
            work()
        mem.peak_mib, mem.delta_mib, mem.method

    ``delta_mib`` is the peak minus the RSS at entry: the memory the block
    added on top of what was already live. At entry, garbage is collected and
    (glibc) ``malloc_trim(0)`` returns freed heap pages to the system, so that
    memory freed by an earlier block and reused by this one still counts.
    Methods, best first:

    - ``'VmHWM'``: Linux's exact high-water mark, reset at entry through
      ``/proc/self/clear_refs``;
    - ``'sampled'``: ``/proc/self/statm`` read every :obj:`interval` seconds
      by a thread (can miss spikes shorter than the interval);
    - ``'ru_maxrss'``: the process-lifetime peak (no /proc, e.g. macOS), an
      upper bound of the block's peak.

    Blocks must not be nested (there is one high-water mark per process).
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start_mib = self.peak_mib = self.delta_mib = 0.0
        self.method = ""
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._sampled = 0.0

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        _release_free_heap()
        current = _rss_mib()
        if current is None:
            self.method, self.start_mib = "ru_maxrss", _maxrss_mib()
        elif _reset_high_water_mark():
            self.method, self.start_mib = "VmHWM", current
        else:
            self.method, self.start_mib, self._sampled = "sampled", current, current
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._sampled = max(self._sampled, _rss_mib() or 0.0)

    def __exit__(self, *exc) -> None:
        if self.method == "VmHWM":
            self.peak_mib = _high_water_mark_mib() or self.start_mib
        elif self.method == "sampled":
            self._stop.set()
            self._thread.join()
            self.peak_mib = max(self._sampled, _rss_mib() or 0.0)
        else:
            self.peak_mib = _maxrss_mib()
        self.delta_mib = max(0.0, self.peak_mib - self.start_mib)


# --- provenance ---------------------------------------------------------------

def git_commit(short: bool = True) -> str:
    """``git rev-parse --short HEAD`` of the repository, with ``+dirty`` when
    tracked files differ from it; ``'unknown'`` outside a checkout."""
    try:
        args = ["git", "rev-parse", "--short", "HEAD"] if short else ["git", "rev-parse", "HEAD"]
        commit = subprocess.run(args, capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=REPO).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    """CPU, cores, torch threads and versions, in one line."""
    total_mib = None
    try:
        total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MIB
    except (ValueError, OSError, AttributeError):
        pass
    memory = f", {total_mib / 1024:.0f} GiB RAM" if total_mib else ""
    return (f"{_cpu_model()}, {os.cpu_count()} cores{memory}, {torch.get_num_threads()} torch threads, "
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"torch {torch.__version__}")
