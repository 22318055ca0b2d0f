r"""Turning identifiers read from files into 0-based node indices.

Two kinds of identifiers occur:

* **Original ids** (MovieLens user ids, RecBole tokens, CSV columns) are mapped
  by :func:`factorize` to ``0..n-1`` in sorted order. Tokens that are all
  canonical non-negative integers (no leading zeros) are sorted numerically and
  kept as integers; any other token set is kept as strings.
* **Remapped ids** (KGAT, KGCN, HGCF) are already dense 0-based indices: the
  id *is* the index. :func:`check_dense` guards against a corrupt, huge id
  that would otherwise allocate billions of nodes.
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np

from ..errors import DataFormatError

__all__ = ["factorize", "decode_tokens", "check_dense", "check_below"]

# A dense id space may have gaps (nodes without rows), but not 16x more ids
# than rows; one million covers small files with sparse ids.
_DENSE_FACTOR = 16
_DENSE_FLOOR = 1_000_000


def factorize(values: np.ndarray) -> Tuple[np.ndarray, Union[np.ndarray, list]]:
    r"""Map identifiers to ``0..n-1`` in sorted order.

    Args:
        values (numpy.ndarray): Integer ids, or a bytes (``S``) array of tokens.

    Returns:
        (numpy.ndarray, numpy.ndarray or list): The int64 codes and the
        identifier of each code (int64 array, or list of str).
    """
    if values.dtype.kind in "iu":
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), uniques.astype(np.int64)
    uniques, codes = np.unique(values, return_inverse=True)
    names = [u.decode("utf-8") for u in uniques]
    if names and all(_canonical_int(n) for n in names):
        numbers = np.array([int(n) for n in names], dtype=np.int64)
        order = np.argsort(numbers, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return rank[codes].astype(np.int64), numbers[order]
    return codes.astype(np.int64), names


def decode_tokens(tokens: np.ndarray) -> Union[np.ndarray, list]:
    r"""Decode a bytes (``S``) array of identifiers, in order: an int64 array
    when all are canonical non-negative integers, else a list of str."""
    names = [t.decode("utf-8") for t in tokens]
    if names and all(_canonical_int(n) for n in names):
        return np.array([int(n) for n in names], dtype=np.int64)
    return names


def _canonical_int(name: str) -> bool:
    return name.isascii() and name.isdigit() and len(name) <= 18 and (name == "0" or name[0] != "0")


def check_dense(ids: np.ndarray, line: np.ndarray, path: str, what: str) -> int:
    r"""Check remapped ids and return their count (``max + 1``).

    Args:
        ids (numpy.ndarray): Non-negative int64 ids.
        line (numpy.ndarray): 1-based line of each id (for the error).
        path (str): The file.
        what (str): e.g. ``"item id"``.

    Raises:
        DataFormatError: At the first id that is implausibly large for a dense
            0-based id space.
    """
    if len(ids) == 0:
        return 0
    limit = max(_DENSE_FLOOR, _DENSE_FACTOR * len(ids))
    check_below(ids, line, path, limit, what,
                f"< {limit:,} (ids here are dense 0-based indices)")
    return int(ids.max()) + 1


def check_below(ids: np.ndarray, line: np.ndarray, path: str, limit: int, what: str, expected: str) -> None:
    r"""Raise at the first line whose value is ``>= limit``.

    Args:
        ids (numpy.ndarray): The values.
        line (numpy.ndarray): 1-based line of each value.
        path (str): The file.
        limit (int): Exclusive upper bound.
        what (str): What the value is, e.g. ``"item id"``.
        expected (str): What was expected instead, e.g. ``"0 or 1"``.

    Raises:
        DataFormatError: If some id is ``>= limit``.
    """
    bad = ids >= limit
    if bad.any():
        k = int(np.argmax(bad))
        raise DataFormatError(f"{what} {int(ids[k])} out of range: expected {expected}", path, int(line[k]))
