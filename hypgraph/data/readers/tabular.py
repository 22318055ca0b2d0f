r"""Generic interaction tables: CSV/TSV with a header line, or Parquet."""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from .columns import MAX_HEADER_BYTES, sniff_separator
from .ids import factorize
from .stream import MAX_LINE_BYTES, TextStream

__all__ = ["read_table"]

PARQUET_HINT = "reading Parquet needs pyarrow: pip install 'hypgraph-pyg[parquet]'"


def read_table(
    path: Union[str, os.PathLike],
    *,
    user_col: str,
    item_col: str,
    rating_col: Optional[str] = None,
    time_col: Optional[str] = None,
    sep: Optional[str] = None,
) -> HeteroData:
    r"""Read interactions from a table whose header names its columns.

    Text files may be quoted CSV. User and item values may be any strings;
    they are numbered ``0..n-1`` in sorted order (numerically when all are
    plain integers) and kept in ``raw_id``. Every row is an interaction;
    repeated pairs are kept as separate edges.

    Args:
        path (str or os.PathLike): A ``.csv``/``.tsv``/``.txt`` file (``.gz``
            allowed) or a ``.parquet`` file.
        user_col (str): The user column.
        item_col (str): The item column.
        rating_col (str, optional): A numeric rating column.
        time_col (str, optional): A numeric Unix-time column (integer values).
        sep (str, optional): One-character separator. ``None`` sniffs it from
            the header among tab, comma, semicolon and ``|``, falling back to
            whitespace. (default: :obj:`None`)

    Returns:
        HeteroData: Users, items and ``('user', 'interacts', 'item')`` with
        ``rating``/``time`` when their columns are given.

    Raises:
        DataFormatError: For a missing column, a header-only file, any
            malformed row, or a line longer than
            :data:`~hypgraph.data.readers.stream.MAX_LINE_BYTES` (16 MiB: a
            piece holds whole lines, so this bounds the memory of a read).
        ImportError: For Parquet when :mod:`pyarrow` is not installed.
    """
    wanted = {"user": user_col, "item": item_col, "rating": rating_col, "time": time_col}
    wanted = {role: col for role, col in wanted.items() if col is not None}
    path = Path(path)
    if path.suffix == ".parquet":
        cols = _read_parquet(path, wanted)
    else:
        cols = _read_text(path, wanted, sep)
    return interactions_from_columns(cols)


def interactions_from_columns(cols: Dict[str, np.ndarray]) -> HeteroData:
    r"""The graph of parsed ``user``/``item`` id columns (any ids: coded
    0..n-1 in order of first appearance, the raw ids kept) with the optional
    ``rating`` and ``time`` columns. The codes go straight into the rows of
    the ``[2, E]`` edge array the graph keeps; each id column is popped from
    :obj:`cols`, so it is freed once coded."""
    edge = np.empty((2, len(cols["user"])), dtype=np.int64)
    _, user_raw = factorize(cols.pop("user"), out=edge[0])
    _, item_raw = factorize(cols.pop("item"), out=edge[1])
    return build_hetero_data(edge[0], edge[1], num_users=len(user_raw), num_items=len(item_raw),
                             rating=cols.get("rating"), time=cols.get("time"),
                             user_raw_id=user_raw, item_raw_id=item_raw)


def _read_text(path: Path, wanted: Dict[str, str], sep: Optional[str]) -> Dict[str, np.ndarray]:
    what = "a header line naming " + ", ".join(wanted.values())
    if sep is None:
        sep = _sniff(path)
    with TextStream(path, what=what, sep=sep, max_line=MAX_LINE_BYTES) as stream:
        header, header_line = stream.header()
        header = [name.strip('"') for name in header]
        absent = [col for col in wanted.values() if col not in header]
        if absent:
            raise DataFormatError(
                f"expected a column {', '.join(map(repr, absent))}; the header has {', '.join(map(repr, header))}",
                path, header_line)
        # Columns may be named twice; the first one wins, like csv.DictReader's reverse.
        names = [name if name not in header[:k] else f"{name}#{k}" for k, name in enumerate(header)]
        kinds = {"user": "token", "item": "token", "rating": "float", "time": "time"}
        # ratings as the graph stores them (float32), without a float64 copy
        dtypes = {wanted["rating"]: np.float32} if "rating" in wanted else {}
        rows = stream.rows(names, dtypes=dtypes, **{wanted[role]: kinds[role] for role in wanted})
        if len(rows) == 0:
            raise DataFormatError("no rows after the header", path, header_line + 1)
    return {role: rows.columns[col] for role, col in wanted.items()}


def _sniff(path: Path) -> Optional[str]:
    # The separator from the first non-blank line; a file that cannot be
    # read is reported by the stream that reads it next.
    data = b""
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")) as f:
            # a step at a time: a header is usually far shorter than the limit
            while len(data) < 2 * MAX_HEADER_BYTES + 3 and b"\n" not in data.lstrip():
                block = f.read(1 << 16)
                if not block:
                    break
                data += block
    except (OSError, EOFError, zlib.error):
        return None
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    head = data[:MAX_HEADER_BYTES]
    begin = len(head) - len(head.lstrip())
    return sniff_separator(data[begin:begin + MAX_HEADER_BYTES].split(b"\n", 1)[0])


def _read_parquet(path: Path, wanted: Dict[str, str]) -> Dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(PARQUET_HINT) from None
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"not a readable Parquet file ({exc})", path) from None
    absent = [col for col in wanted.values() if col not in schema.names]
    if absent:
        raise DataFormatError(f"expected a column {', '.join(map(repr, absent))}; the file has "
                              f"{', '.join(map(repr, schema.names))}", path)
    table = pq.read_table(path, columns=list(dict.fromkeys(wanted.values())))
    out = {}
    for role, col in wanted.items():
        column = table.column(col)
        if column.null_count:
            row = next(k for k, v in enumerate(column.to_pylist()) if v is None)
            raise DataFormatError(f"column {col!r} is null in row {row + 1}", path)
        values = column.to_numpy(zero_copy_only=False)
        if role in ("user", "item"):
            out[role] = values if values.dtype.kind in "iu" else np.array([str(v).encode() for v in values])
        else:
            out[role] = _numeric(values, col, role, path)
    return out


def _numeric(values: np.ndarray, col: str, role: str, path: Path) -> np.ndarray:
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise DataFormatError(f"column {col!r} is not numeric", path) from None
    bad = ~np.isfinite(values)
    if role == "time":
        bad |= values != np.floor(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataFormatError(f"column {col!r}: row {row + 1} holds {values[row]!r}, "
                              f"expected a finite {'integer' if role == 'time' else 'number'}", path)
    return values.astype(np.int64) if role == "time" else values
