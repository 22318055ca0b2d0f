r"""HGCF pickles (Sun et al., WWW 2021; also HRCF, HICF): ``train.pkl`` and
``test.pkl``, each a ``dict[int user -> list[int item]]`` of remapped 0-based
ids.

Pickles can run arbitrary code when loaded, and even without code the C
unpickler sizes its memo by the indices a file names: five bytes
(``LONG_BINPUT`` of 2^31) make it allocate gigabytes. So these files are not
unpickled at all: :func:`load_pickle` walks the opcode stream
(:func:`pickletools.genops`, which decodes without building anything) and
builds only dicts, lists, tuples, ints, floats, strings, bytes, booleans and
``None``, with the memo in a dict; any class or function lookup is refused.
HGCF's files need nothing else. Every opcode builds at most one object, so
memory grows with the file.

A pickle can still be small and *mean* much more: its memo lets one list be
the value of every user, each reference a few bytes. The entries a file lists
(counted before any of them is converted) are therefore capped at one per
byte of the file; a real HGCF file spends at least two bytes on each.
"""
from __future__ import annotations

import os
import pickle
import pickletools
import reprlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from ..report import FilterReport, record
from .files import missing_error, require_dir
from .ids import check_dense

__all__ = ["read_hgcf", "SafeUnpickler", "load_pickle", "load_plain_pickle"]

EXPECTED = "an HGCF folder with train.pkl and test.pkl (dict user -> list of items)"
_SHAPE = "dict[int user -> list[int item]]"


class UnsafePickleError(pickle.UnpicklingError):
    r"""A pickle asked for a class or function."""


class SafeUnpickler(pickle.Unpickler):
    r"""An unpickler that builds only plain data (see the module docstring):
    :meth:`load` reads the whole file and interprets it with
    :func:`load_plain_pickle`, never with the C unpickler.

    Raises:
        UnsafePickleError: On any ``GLOBAL``/``STACK_GLOBAL``/``INST``/
            ``OBJ``/``REDUCE``/... opcode, i.e. any attempt to import a class
            or call a function.
        pickle.UnpicklingError: On a corrupt or truncated stream.
    """

    def __init__(self, file, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self._source = file

    def find_class(self, module: str, name: str):
        raise UnsafePickleError(f"refusing to load {module}.{name}: only built-in containers are allowed")

    def load(self):
        return load_plain_pickle(self._source.read())


# Opcodes that push a value decoded by genops as its argument.
_VALUE_OPS = frozenset({
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "BYTEARRAY8"})
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_DICT": dict, "EMPTY_LIST": list,
              "EMPTY_TUPLE": tuple, "EMPTY_SET": set}
_IGNORED = frozenset({"PROTO", "FRAME"})
_CALLS = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX",
                    "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID", "NEXT_BUFFER", "READONLY_BUFFER"})


def load_plain_pickle(raw: bytes):
    r"""The object a pickle of plain data (dicts, lists, tuples, sets, ints,
    floats, strings, bytes, booleans, ``None``) describes, built opcode by
    opcode without the C unpickler.

    Raises:
        UnsafePickleError: If the stream names a class or function.
        pickle.UnpicklingError: If it is corrupt, truncated or uses an
            opcode outside that subset.
    """
    stack: list = []
    marks: List[int] = []
    memo: Dict[int, object] = {}

    def since_mark() -> list:
        if not marks:
            raise pickle.UnpicklingError("no MARK before a collection opcode")
        start = marks.pop()
        items, stack[start:] = stack[start:], []
        return items

    try:
        for op, arg, _ in pickletools.genops(raw):
            name = op.name
            if name in _IGNORED:
                continue
            if name in _VALUE_OPS:
                stack.append(arg)
            elif name in _CONSTANTS:
                value = _CONSTANTS[name]
                stack.append(value() if callable(value) else value)
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name == "APPEND":
                value = stack.pop()
                stack[-1].append(value)
            elif name == "APPENDS":
                items = since_mark()
                stack[-1].extend(items)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                stack[-1][key] = value
            elif name == "SETITEMS":
                items = since_mark()
                target = stack[-1]
                for k in range(0, len(items) - 1, 2):
                    target[items[k]] = items[k + 1]
            elif name == "ADDITEMS":
                items = since_mark()
                stack[-1].update(items)
            elif name in ("LIST", "TUPLE", "DICT", "FROZENSET"):
                items = since_mark()
                stack.append(list(items) if name == "LIST" else tuple(items) if name == "TUPLE" else
                             frozenset(items) if name == "FROZENSET" else
                             {items[k]: items[k + 1] for k in range(0, len(items) - 1, 2)})
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items, stack[len(stack) - n:] = stack[len(stack) - n:], []
                if len(items) != n:
                    raise pickle.UnpicklingError(f"{name} with {len(items)} values on the stack")
                stack.append(tuple(items))
            elif name in ("POP", "POP_MARK", "DUP"):
                if name == "POP":
                    stack.pop()
                elif name == "POP_MARK":
                    since_mark()
                else:
                    stack.append(stack[-1])
            elif name == "STOP":
                if len(stack) != 1 or marks:
                    raise pickle.UnpicklingError("STOP with a malformed stack")
                return stack[0]
            elif name in _CALLS:
                what = arg.replace(" ", ".") if isinstance(arg, str) else " ".join(
                    str(v) for v in stack[-2:] if isinstance(v, str)).replace(" ", ".") or name
                raise UnsafePickleError(f"refusing to load {what}: only built-in containers are allowed")
            else:
                raise pickle.UnpicklingError(f"opcode {name} is not plain data")
    except (IndexError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise pickle.UnpicklingError(f"{type(exc).__name__}: {exc}") from None
    raise pickle.UnpicklingError("pickle data was truncated (no STOP)")


def load_pickle(path: Union[str, os.PathLike]):
    r"""Load a pickle of plain data with :func:`load_plain_pickle`.

    Raises:
        DataFormatError: If the file is missing, truncated, not a pickle, or
            refers to any class or function.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataFormatError(f"file not found; expected a pickle of {_SHAPE}", path) from None
    try:
        return load_plain_pickle(raw)
    except UnsafePickleError as exc:
        raise DataFormatError(f"unsafe pickle: {exc}; expected {_SHAPE}", path) from None
    except pickle.UnpicklingError as exc:
        raise DataFormatError(f"corrupt pickle ({exc}); expected {_SHAPE}", path) from None


_INT64_MAX = 2 ** 63 - 1


def _is_id(x) -> bool:
    return type(x) is int and 0 <= x <= _INT64_MAX  # bool is an int subclass: excluded


# A value of a corrupt file may be a deep or shared structure whose full repr
# would recurse or grow exponentially; reprlib bounds depth and width.
def _short(value) -> str:
    bounded = reprlib.Repr()  # keyword arguments only from Python 3.12
    bounded.maxlevel, bounded.maxlist, bounded.maxdict, bounded.maxtuple = 2, 4, 4, 4
    bounded.maxstring = bounded.maxlong = bounded.maxother = 30
    return bounded.repr(value)


def _lists(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user per entry, item per entry, the dict's keys) of one pickle."""
    obj = load_pickle(path)
    if not isinstance(obj, dict):
        raise DataFormatError(f"expected {_SHAPE}, got {type(obj).__name__}", path)
    total = 0
    for user, values in obj.items():
        if not _is_id(user):
            raise DataFormatError(f"expected {_SHAPE}: key {_short(user)} is not an int in [0, 2^63)", path)
        if not isinstance(values, list):
            raise DataFormatError(f"expected {_SHAPE}: user {user} maps to {type(values).__name__}", path)
        total += len(values)
    size = os.path.getsize(path)
    if total > size:
        raise DataFormatError(f"the pickle lists {total:,} items in {size:,} bytes (shared references); "
                              f"expected {_SHAPE} with one list per user", path)
    users, items = [], []
    for user, values in obj.items():
        if not all(map(_is_id, values)):
            bad = next(v for v in values if not _is_id(v))
            raise DataFormatError(f"expected {_SHAPE}: user {user} has item {_short(bad)}", path)
        users.append(np.full(len(values), user, dtype=np.int64))
        items.append(np.asarray(values, dtype=np.int64))
    if not users:
        raise DataFormatError(f"empty dict; expected {_SHAPE}", path)
    user_ids = np.fromiter(obj.keys(), dtype=np.int64, count=len(obj))
    return np.concatenate(users), np.concatenate(items), user_ids


def _dense(ids: np.ndarray, path: Path, what: str) -> int:
    # Pickles have no lines; report the path alone.
    try:
        return check_dense(ids, np.zeros(len(ids), dtype=np.int64), os.fspath(path), what)
    except DataFormatError as exc:
        raise DataFormatError(exc.reason, path) from None


def _dedupe(user: np.ndarray, item: np.ndarray, num_items: int, path: Path) -> Tuple[np.ndarray, Optional[FilterReport]]:
    _, keep = np.unique(user * num_items + item, return_index=True)
    keep.sort()
    removed = len(user) - len(keep)
    if not removed:
        return keep, None
    return keep, FilterReport(step="repeated items in a user's list", kept=len(keep), removed=removed,
                              source=os.fspath(path))


def read_hgcf(root: Union[str, os.PathLike]) -> HeteroData:
    r"""Read an HGCF dataset folder (e.g. Amazon-CD, Amazon-Book, Yelp).

    ``user_item_list.pkl``, when present, is not needed: it is the union of
    the two splits.

    Args:
        root (str or os.PathLike): The folder.

    Returns:
        HeteroData: Users and items (ids are the remapped ids of the files),
        ``('user', 'interacts', 'item')`` with ``train_mask``/``test_mask``,
        train first. Repeated items within one user's list are removed and
        recorded in ``data.filter_log``.

    Raises:
        DataFormatError: If a file is missing, unsafe, corrupt or not a
            ``dict[int -> list[int]]``.
    """
    root = require_dir(root, EXPECTED)
    missing = [name for name in ("train.pkl", "test.pkl") if not (root / name).is_file()]
    if missing:
        raise missing_error(root, missing, EXPECTED)
    parts, keys = [], []
    for name in ("train.pkl", "test.pkl"):
        user, item, user_ids = _lists(root / name)
        parts.append((root / name, user, item))
        keys.append(user_ids)
    num_users = max(_dense(np.concatenate([k, u]), p, "user id") for (p, u, _), k in zip(parts, keys))
    num_items = max(_dense(i, p, "item id") for p, _, i in parts)
    users, items, masks, reports = [], [], [], []
    for split, (path, user, item) in enumerate(parts):
        keep, report = _dedupe(user, item, max(num_items, 1), path)
        users.append(user[keep])
        items.append(item[keep])
        masks.append(np.full(len(keep), split == 0))
        reports.append(report)
    train_mask = np.concatenate(masks)
    # The rows of one [2, E] array, which the graph keeps as it is.
    edge = np.empty((2, len(train_mask)), dtype=np.int64)
    np.concatenate(users, out=edge[0])
    np.concatenate(items, out=edge[1])
    del users, items
    data = build_hetero_data(edge[0], edge[1],
                             num_users=num_users, num_items=num_items,
                             train_mask=train_mask, test_mask=~train_mask)
    for report in reports:
        if report is not None:
            record(data, report)
    return data
