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
    chunks = [chunk for column in columns for chunk in _chunks(column)]
    uniques = pc.unique(pa.chunked_array(chunks, type=pa.string()), memory_pool=MEMORY_POOL)
    del chunks
    uniques = pc.take(uniques, pc.sort_indices(uniques, memory_pool=MEMORY_POOL), memory_pool=MEMORY_POOL)
    targets = list(out) if out is not None else [None] * len(columns)
    codes = [_codes(column, uniques, target) for column, target in zip(columns, targets)]
    if _all_canonical_ints(uniques):
        numbers = pc.cast(uniques, pa.int64(), memory_pool=MEMORY_POOL).to_numpy()
        del uniques
        order = np.argsort(numbers, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        for c in codes:
            _lookup(rank, c, c)  # in place
        return codes, numbers[order]
    return codes, uniques.to_pylist()


def decode_tokens(tokens: Tokens) -> Union[np.ndarray, list]:
    r"""The tokens, in order: an int64 array when all are canonical
    non-negative integers, else a list of str."""
    tokens = pa.chunked_array(_chunks(tokens), type=pa.string())
    if _all_canonical_ints(tokens):
        return np.array(pc.cast(tokens, pa.int64(), memory_pool=MEMORY_POOL).to_numpy())  # writable: torch may share it
    return tokens.to_pylist()


def _chunks(column: Tokens) -> list:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _codes(column: Tokens, uniques: pa.Array, out: Optional[np.ndarray] = None) -> np.ndarray:
    # Each chunk's codes written into one int64 array as they are found.
    chunks = _chunks(column)
    if out is None:
        out = np.empty(sum(len(chunk) for chunk in chunks), dtype=np.int64)
    start = 0
    for chunk in chunks:
        out[start:start + len(chunk)] = pc.index_in(chunk, value_set=uniques, memory_pool=MEMORY_POOL).to_numpy()
        start += len(chunk)
    return out


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
