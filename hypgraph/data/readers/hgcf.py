r"""HGCF pickles (Sun et al., WWW 2021; also HRCF, HICF): ``train.pkl`` and
``test.pkl``, each a ``dict[int user -> list[int item]]`` of remapped 0-based
ids.

Pickles can run arbitrary code when loaded, so they are read with
:class:`SafeUnpickler`, which refuses every class lookup: only built-in
containers, ints and strings can be built. HGCF's files need nothing else.

Unpickling alone builds at most one object per opcode, so its memory grows
with the file. A pickle can still be small and *mean* much more: its memo
lets one list be the value of every user, each reference a few bytes. The
entries a file lists (counted before any of them is converted) are therefore
capped at one per byte of the file; a real HGCF file spends at least two
bytes on each.
"""
from __future__ import annotations

import io
import os
import pickle
import reprlib
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from ..report import FilterReport, record
from .files import missing_error, require_dir
from .ids import check_dense

__all__ = ["read_hgcf", "SafeUnpickler", "load_pickle"]

EXPECTED = "an HGCF folder with train.pkl and test.pkl (dict user -> list of items)"
_SHAPE = "dict[int user -> list[int item]]"


class UnsafePickleError(pickle.UnpicklingError):
    r"""A pickle asked for a class or function."""


class SafeUnpickler(pickle.Unpickler):
    r"""An unpickler that builds only built-in containers and scalars.

    Raises:
        UnsafePickleError: On any ``GLOBAL``/``STACK_GLOBAL`` lookup,
            i.e. any attempt to import a class or call a function.
    """

    def find_class(self, module: str, name: str):
        raise UnsafePickleError(f"refusing to load {module}.{name}: only built-in containers are allowed")


def load_pickle(path: Union[str, os.PathLike]):
    r"""Load a pickle with :class:`SafeUnpickler`.

    Raises:
        DataFormatError: If the file is missing, truncated, not a pickle, or
            refers to any class or function.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataFormatError(f"file not found; expected a pickle of {_SHAPE}", path) from None
    try:
        return SafeUnpickler(io.BytesIO(raw)).load()
    except UnsafePickleError as exc:
        raise DataFormatError(f"unsafe pickle: {exc}; expected {_SHAPE}", path) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError,
            OverflowError, UnicodeDecodeError) as exc:
        # Corrupt opcode streams surface as any of these from the C unpickler.
        raise DataFormatError(f"corrupt pickle ({type(exc).__name__}: {exc}); expected {_SHAPE}", path) from None


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
    data = build_hetero_data(np.concatenate(users), np.concatenate(items),
                             num_users=num_users, num_items=num_items,
                             train_mask=train_mask, test_mask=~train_mask)
    for report in reports:
        if report is not None:
            record(data, report)
    return data
