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

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataFormatError
from .arrow import MEMORY_POOL

__all__ = ["factorize", "factorize_tokens", "decode_tokens", "check_dense", "check_below"]

# A dense id space may have gaps (nodes without rows), but not 16x more ids
# than rows; one million covers small files with sparse ids.
_DENSE_FACTOR = 16
_DENSE_FLOOR = 1_000_000

Tokens = Union[pa.Array, pa.ChunkedArray]


def factorize(values: Union[np.ndarray, Tokens], *, overwrite: bool = False,
              out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, Union[np.ndarray, list]]:
    r"""Map identifiers to ``0..n-1`` in sorted order.

    Args:
        values (numpy.ndarray or pyarrow.ChunkedArray): Non-negative integer
            ids, or string tokens (pyarrow strings or a numpy bytes array, see
            :func:`factorize_tokens`).
        overwrite (bool): Integer ids may be replaced by their codes in
            place (no second array of the same size). (default: :obj:`False`)
        out (numpy.ndarray, optional): An int64 array of ``len(values)`` to
            write the codes into (e.g. a row of the ``[2, E]`` edge array),
            instead of a new one. (default: :obj:`None`)

    Returns:
        (numpy.ndarray, numpy.ndarray or list): The int64 codes (:obj:`out`
        when given) and the identifier of each code (int64 array, or list of
        str).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        values = pa.array(values, type=pa.binary(), memory_pool=MEMORY_POOL).cast(pa.string(), memory_pool=MEMORY_POOL)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        (codes,), raw = factorize_tokens([values], out=None if out is None else [out])
        return codes, raw
    if len(values) and values.min() >= 0 and values.max() < max(len(values), 1 << 16):
        # Small ids: a lookup table, no sort (the same codes as np.unique).
        present = np.zeros(int(values.max()) + 1, dtype=bool)
        present[values] = True
        uniques = np.flatnonzero(present)
        rank = np.cumsum(present, dtype=np.int64) - 1
        del present
        if out is None:
            if not (overwrite and values.dtype == np.int64 and values.flags.writeable):
                return rank[values], uniques.astype(np.int64)
            out = values  # in place
        _lookup(rank, values, out)
        return out, uniques.astype(np.int64)
    uniques, codes = np.unique(values, return_inverse=True)
    if out is None:
        return codes.astype(np.int64), uniques.astype(np.int64)
    out[:] = codes
    return out, uniques.astype(np.int64)


def _lookup(table: np.ndarray, index: np.ndarray, out: np.ndarray, block: int = 1 << 16) -> None:
    # out[:] = table[index], a block at a time (out may be index itself):
    # no temporary of the full length.
    for start in range(0, len(index), block):
        out[start:start + block] = table[index[start:start + block]]


def factorize_tokens(columns: Sequence[Tokens], *,
                     out: Optional[Sequence[Optional[np.ndarray]]] = None,
                     ) -> Tuple[List[np.ndarray], Union[np.ndarray, list]]:
    r"""Map string tokens of several columns to one set of codes ``0..n-1``.

    Tokens are numbered in sorted (bytewise) order; when every distinct token
    is a canonical non-negative integer (no sign, no leading zero, at most 18
    digits) they are numbered in numeric order and returned as integers.

    Args:
        columns (sequence): pyarrow string arrays.
        out (sequence, optional): Per column, an int64 array of its length
            to write its codes into, or ``None`` for a new one.
            (default: :obj:`None`)

    Returns:
        (list of numpy.ndarray, numpy.ndarray or list): The int64 codes of
        each column, and the token of each code (int64 array, or list of str).
    """
    targets = [target if target is not None else np.empty(len(column), dtype=np.int64)
               for column, target in zip(columns, out if out is not None else [None] * len(columns))]
    small = _small_int_tokens(columns, targets)
    if small is not None:
        return targets, small
    # One hash table for all columns: each token's index in the order of
    # first appearance, then its rank in sorted order.
    chunks = [chunk for column in columns for chunk in _chunks(column)]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, type=pa.string()), memory_pool=MEMORY_POOL)
    del chunks
    dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], type=pa.string())
    order = pc.sort_indices(dictionary, memory_pool=MEMORY_POOL).to_numpy()
    uniques = pc.take(dictionary, order, memory_pool=MEMORY_POOL)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    del dictionary, order
    _fill(targets, (chunk.indices.to_numpy() for chunk in encoded.chunks), rank)
    del encoded, rank
    if _all_canonical_ints(uniques):
        numbers = pc.cast(uniques, pa.int64(), memory_pool=MEMORY_POOL).to_numpy()
        del uniques
        order = np.argsort(numbers, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        for target in targets:
            _lookup(rank, target, target)  # in place
        return targets, numbers[order]
    return targets, uniques.to_pylist()


def _fill(targets: List[np.ndarray], parts, table: np.ndarray) -> None:
    # table[part] for the parts in order, written across the targets in order
    # (the parts are the targets' values one after the other, cut anywhere).
    column, start = 0, 0
    for part in parts:
        done = 0
        while done < len(part):
            while start == len(targets[column]):
                column, start = column + 1, 0
            n = min(len(part) - done, len(targets[column]) - start)
            targets[column][start:start + n] = table[part[done:done + n]]
            done, start = done + n, start + n


def _small_int_tokens(columns: Sequence[Tokens], targets: List[np.ndarray]) -> Optional[np.ndarray]:
    # Tokens that are all canonical integers below max(count, 2**16) (user and
    # item ids as plain numbers, the usual case): their values are written to
    # the targets and replaced there by their codes through a lookup table,
    # as factorize does for integer ids; the sorted distinct values are
    # returned. No hash table of the strings (on a file of a few MB it peaks
    # at more than the file). None for other tokens (the targets may then
    # hold anything).
    total = sum(len(column) for column in columns)
    chunks = [chunk for column in columns for chunk in _chunks(column)]
    if total == 0 or not all(_all_canonical_ints(chunk) for chunk in chunks if len(chunk)):
        return None
    del chunks
    limit = max(total, 1 << 16)
    for column, target in zip(columns, targets):
        start = 0
        for chunk in _chunks(column):
            target[start:start + len(chunk)] = pc.cast(chunk, pa.int64(), memory_pool=MEMORY_POOL).to_numpy()
            start += len(chunk)
    high = max(int(target.max()) for target in targets if len(target))
    if high >= limit:
        return None
    present = np.zeros(high + 1, dtype=bool)
    for target in targets:
        present[target] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    for target in targets:
        _lookup(rank, target, target)
    return np.flatnonzero(present).astype(np.int64)


def decode_tokens(tokens: Tokens) -> Union[np.ndarray, list]:
    r"""The tokens, in order: an int64 array when all are canonical
    non-negative integers, else a list of str."""
    tokens = pa.chunked_array(_chunks(tokens), type=pa.string())
    if _all_canonical_ints(tokens):
        return np.array(pc.cast(tokens, pa.int64(), memory_pool=MEMORY_POOL).to_numpy())  # writable: torch may share it
    return tokens.to_pylist()


def _chunks(column: Tokens) -> list:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _all_canonical_ints(tokens: Tokens) -> bool:
    if len(tokens) == 0:
        return False
    pool = {"memory_pool": MEMORY_POOL}
    short = pc.all(pc.less_equal(pc.binary_length(tokens, **pool), 18, **pool), **pool).as_py()
    digits = pc.all(pc.ascii_is_decimal(tokens, **pool), **pool).as_py()
    leading_zero = pc.any(pc.and_(pc.starts_with(tokens, "0", **pool), pc.not_equal(tokens, "0", **pool), **pool),
                          **pool).as_py()
    return bool(short and digits and not leading_zero)


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
