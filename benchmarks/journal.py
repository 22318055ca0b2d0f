r"""The run journal of a results folder: every finished run of a suite, one
JSON line each, written as it finishes, so a long benchmark that is killed
(or spans several sessions) loses at most the run it was in.

``results.json`` is written once a dataset's models are all done; before
that, their finished runs live only in ``journal.jsonl`` beside it. A later
``python -m benchmarks run ... --resume`` into the same folder reuses every
journalled run whose *key* matches its own: the suite, its search settings
(grid, fixed settings, selection metric, metrics, ``--epochs``), the data
root, and the code, as a fingerprint of the contents of every tracked file of
``hypgraph/`` and ``benchmarks/`` outside ``benchmarks/results/`` and of
``setup.py`` (read from the working tree, so an uncommitted edit counts and
committing results does not). A run of other code or settings is never reused.

Two kinds of lines: ``candidate`` (a configuration trained with the first
seed during selection: its validation metrics only, test untouched) and
``run`` (a finished record of the chosen configuration with a seed, test
metrics included). A dataset's lines for the models of a run are dropped once
that run has written the dataset into ``results.json``.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple

from .report import json_default
from .timing import REPO

__all__ = ["Journal", "code_fingerprint", "folder_lock", "JOURNAL"]

#: The journal's file name inside a results folder.
JOURNAL = "journal.jsonl"
#: What the code fingerprint covers (tracked files, working-tree contents).
CODE_PATHS = ("hypgraph", "benchmarks", "setup.py")
RESULTS_DIR = "benchmarks/results/"


def _tracked(root: Path) -> Iterable[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *CODE_PATHS], cwd=root, capture_output=True,
                             check=True).stdout.decode("utf-8", "surrogateescape")
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
    if not names:  # not a checkout (e.g. an unpacked release): every Python file
        names = [str(p.relative_to(root)) for top in CODE_PATHS for p in
                 ([root / top] if (root / top).is_file() else sorted((root / top).rglob("*.py")))]
    return sorted(n for n in names if not n.startswith(RESULTS_DIR))


def code_fingerprint(root: Path = REPO) -> str:
    r"""SHA-256 over the path and contents of every tracked file of the
    library and the benchmarks (not their results), as the working tree
    holds them: equal fingerprints, equal code."""
    digest = hashlib.sha256()
    for name in _tracked(root):
        path = root / name
        try:
            data = path.read_bytes()
        except OSError:  # deleted in the working tree
            data = b"\0deleted"
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    # NaN round-trips (json writes and reads it), so a record comes back as it went in
    return json.dumps(value, sort_keys=True, default=json_default, separators=(",", ":"))


class Journal:
    r"""The journal of one results folder for one run of a suite.

    Args:
        folder (Path): The results folder (``--out``).
        key (dict): What must match for a journalled run to be reused
            (suite, settings, data root, code fingerprint).
        resume (bool): Read the runs already journalled under :obj:`key`
            (default: ``False``: write only).
    """

    def __init__(self, folder: Path, key: Dict[str, Any], resume: bool = False) -> None:
        self.path = Path(folder) / JOURNAL
        self.key = hashlib.sha256(_canonical(key).encode()).hexdigest()
        self._entries: Dict[Tuple[str, str, str, str, int], dict] = {}
        self.reused = 0
        if resume and self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    entry = json.loads(line)
                    if entry["key"] != self.key:
                        continue
                    self._entries[self._id(entry["kind"], entry["dataset"], entry["model"], entry["config"],
                                           entry["seed"])] = entry["value"]
                except (ValueError, KeyError, TypeError):
                    # a line cut by a kill mid-write: the runs after it are still good
                    continue

    @staticmethod
    def _id(kind: str, dataset: str, model: str, config: dict, seed: int):
        return kind, dataset, model, _canonical(config), int(seed)

    def get(self, kind: str, dataset: str, model: str, config: dict, seed: int) -> Optional[dict]:
        r"""The journalled ``candidate`` or ``run`` value, or ``None``."""
        value = self._entries.get(self._id(kind, dataset, model, config, seed))
        if value is not None:
            self.reused += 1
        return value

    def add(self, kind: str, dataset: str, model: str, config: dict, seed: int, value: dict) -> None:
        r"""Append one finished candidate or run (flushed and fsynced: a kill
        right after loses nothing)."""
        entry = {"key": self.key, "kind": kind, "dataset": dataset, "model": model, "config": dict(config),
                 "seed": int(seed), "value": value}
        with self._locked("a+") as handle:
            end = handle.seek(0, io.SEEK_END)
            if end:
                handle.seek(end - 1)
                if handle.read(1) != "\n":  # a line cut by a kill: end it, so this one stays whole
                    handle.write("\n")
            handle.write(_canonical(entry) + "\n")
            handle.flush()
            _fsync(handle)

    def drop(self, dataset: str, models: Iterable[str]) -> None:
        r"""Remove the lines of :obj:`dataset` for :obj:`models` (under any
        key): their runs are in ``results.json`` now. The file goes when empty."""
        models = set(models)
        with self._locked("r+") as handle:
            kept = []
            for line in handle.read().splitlines():
                try:
                    entry = json.loads(line)
                    if entry["dataset"] == dataset and entry["model"] in models:
                        continue
                except (ValueError, KeyError, TypeError):
                    continue  # a cut line
                kept.append(line)
            if kept:
                handle.seek(0)
                handle.truncate()
                handle.write("".join(line + "\n" for line in kept))
            else:
                self.path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self, mode: str):
        # every reader and writer of the journal holds the folder's lock first,
        # so a prune that removes the file cannot race an append
        with folder_lock(self.path.parent):
            if mode == "r+" and not self.path.exists():
                yield io.StringIO()
                return
            with open(self.path, mode, encoding="utf-8") as handle:
                yield handle


@contextlib.contextmanager
def folder_lock(folder: Path):
    r"""An exclusive ``flock`` on ``folder/.lock`` (POSIX; elsewhere no lock):
    runs writing into one results folder (its ``results.json``, its journal)
    write one after the other."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder / ".lock", "a", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(handle) -> None:
    import os

    with contextlib.suppress(OSError):
        os.fsync(handle.fileno())
