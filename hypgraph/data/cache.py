r"""A processed-dataset cache that cannot run code when it is read.

PyG's :class:`~torch_geometric.data.InMemoryDataset` stores its processed
file as a pickle of ``(data.to_dict(), slices, data.__class__)`` and reads it
with ``fs.torch_load``, which retries with ``weights_only=False`` when the
restricted load fails, and its ``_process`` reads ``pre_transform.pt`` with
``weights_only=False`` outright: a file planted in a dataset folder then runs
arbitrary code. Caches written here hold only tensors, numbers, strings, lists,
tuples and dicts, and are read with ``torch.load(weights_only=True)`` alone,
after a check that the file is an uncompressed zip no larger inside than on
disk (so a small file cannot expand into a large allocation). Whatever does
not pass is reported as :class:`CacheError`, for the caller to rebuild the
cache from the raw files.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from .report import FilterReport

__all__ = ["CacheError", "save_cache", "load_cache", "CACHE_FORMAT"]

PathLike = Union[str, os.PathLike]

#: Written into every cache; a file without it is not one of ours.
CACHE_FORMAT = "hypgraph.dataset-cache/1"

# Node and edge attributes holding string ids; stored as lists of str because
# weights_only loading refuses numpy object arrays.
_STRING_ARRAYS = ("raw_id", "relation_raw_id")
_SCALARS = (bool, int, float, str, type(None))


class CacheError(ValueError):
    r"""A cache file that is unreadable, unsafe, of another format or stale.
    Its message is one line saying why."""


def save_cache(data: HeteroData, path: PathLike, key: Mapping[str, Any]) -> None:
    r"""Write :obj:`data` to :obj:`path` atomically (temporary file in the same
    folder, then rename; nothing is left behind on failure).

    Args:
        data (HeteroData): The graph; its attributes must be tensors, numbers,
            strings, numpy arrays of ids, or the ``filter_log`` list of
            :class:`~hypgraph.data.report.FilterReport`.
        path (str or os.PathLike): The cache file.
        key (mapping): What the cache was built from (e.g. raw file sizes and
            modification times, the pre-transform); :func:`load_cache`
            refuses the file when its key differs.
    """
    stores = []
    for name, store in data.to_dict().items():
        stores.append((name, {attr: _portable(attr, value) for attr, value in store.items()}))
    payload = {"format": CACHE_FORMAT, "key": dict(key), "stores": stores}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_cache(path: PathLike, key: Mapping[str, Any]) -> HeteroData:
    r"""Read a cache written by :func:`save_cache`.

    Raises:
        CacheError: If the file cannot be read with ``weights_only=True``,
            is not an uncompressed zip within its size, is not a cache of
            this format, holds anything but plain data, or was built from
            other inputs than :obj:`key` says.
    """
    path = Path(path)
    _check_container(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to read a cache means: rebuild it
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise CacheError(f"not a loadable cache ({type(exc).__name__}: {reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
        raise CacheError(f"not a {CACHE_FORMAT} file")
    if payload.get("key") != dict(key):
        raise CacheError("stale: built from other raw files or another pre_transform")
    stores = payload.get("stores")
    if not isinstance(stores, list):
        raise CacheError("malformed: no list of stores")
    mapping: Dict[Any, Dict[str, Any]] = {}
    for entry in stores:
        name, attrs = _check_store(entry)
        mapping[name] = {attr: _restore(attr, value) for attr, value in attrs.items()}
    return HeteroData.from_dict(mapping)


def _check_container(path: Path) -> None:
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CacheError(f"not a zip archive ({type(exc).__name__})") from None
    if any(info.compress_type != zipfile.ZIP_STORED for info in infos):
        raise CacheError("compressed entries (torch.save writes none)")
    if sum(info.file_size for info in infos) > size:
        raise CacheError("entries larger than the file itself")


def _check_store(entry) -> tuple:
    if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict)):
        raise CacheError("malformed: a store is not a (name, attributes) pair")
    name, attrs = entry
    edge_type = isinstance(name, tuple) and len(name) == 3 and all(isinstance(n, str) for n in name)
    if not (isinstance(name, str) or edge_type):
        raise CacheError(f"malformed: store name {name!r}")
    for attr, value in attrs.items():
        if not isinstance(attr, str) or not _plain(value):
            raise CacheError(f"malformed: attribute {attr!r} of {name!r} is not plain data")
    return name, attrs


def _plain(value, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if isinstance(value, (Tensor, *_SCALARS)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _portable(attr: str, value):
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [str(v) for v in value]
        return torch.from_numpy(np.ascontiguousarray(value))
    if attr == "filter_log":
        return [vars(report).copy() for report in value]
    if not _plain(value):
        raise TypeError(f"cannot cache attribute {attr!r} of type {type(value).__name__}")
    return value


def _restore(attr: str, value):
    if attr in _STRING_ARRAYS and isinstance(value, list):
        return np.asarray(value, dtype=object)
    if attr == "filter_log":
        if not all(isinstance(report, dict) for report in value):
            raise CacheError("malformed: filter_log entries are not dicts")
        try:
            return [FilterReport(**report) for report in value]
        except TypeError as exc:
            raise CacheError(f"malformed: filter_log ({exc})") from None
    return value
