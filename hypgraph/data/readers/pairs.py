r"""Header-less interaction text: one ``user item [rating [time]]`` row per
line, as most exports and research dumps write it (``u.data`` without its
name, ``user<TAB>item`` lists)."""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from .columns import FIXED_LINE_BYTES, MAX_HEADER_BYTES, FieldTable, sniff_separator
from .files import why_absent
from .stream import TextStream
from .tabular import interactions_from_columns

__all__ = ["read_pairs", "first_row", "PAIR_COLUMNS"]

#: The columns of a row, in order; a file has the first 2, 3 or all 4.
PAIR_COLUMNS = ("user", "item", "rating", "time")
_KINDS = {"user": "token", "item": "token", "rating": "float", "time": "time"}
EXPECTED = "rows of 'user item [rating [time]]' without a header"


def first_row(path: Union[str, os.PathLike], sep: Optional[str] = None) -> Tuple[List[str], int, Optional[str]]:
    r"""The fields of the first non-blank line of a text file (``.gz``
    decompressed), its line number and its separator: :obj:`sep` when given,
    else the most frequent of tab, comma, semicolon and ``|`` on that line,
    else ``None`` (runs of whitespace). Only the first
    :data:`MAX_HEADER_BYTES` of the line are read.

    Raises:
        DataFormatError: If the file cannot be read, holds no field, or its
            first line is longer than :data:`MAX_HEADER_BYTES`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{why_absent(path)}; expected a file of {EXPECTED}", path)
    data, line = b"", 1
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")) as fh:
            while True:
                raw = fh.readline(MAX_HEADER_BYTES + 1)
                if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw:
                    raise DataFormatError(f"file is empty; expected {EXPECTED}", path, 1)
                if len(raw) > MAX_HEADER_BYTES:
                    raise DataFormatError(f"line longer than {MAX_HEADER_BYTES:,} bytes; expected {EXPECTED}",
                                          path, line)
                if raw.strip():
                    data = raw.rstrip(b"\r\n")
                    break
                line += 1
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DataFormatError(f"cannot read the file ({reason}); expected {EXPECTED}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"byte 0x{data[exc.start]:02x} is not UTF-8; expected {EXPECTED}",
                              path, line) from None
    sep = sniff_separator(data) if sep is None else sep
    table = FieldTable.from_bytes(data, os.fspath(path), sep, first_line=line)
    fields = [data[s:e].decode("utf-8") for s, e in zip(table.start, table.end)]
    if not fields:  # pragma: no cover - a non-blank line has a field
        raise DataFormatError(f"no field in {text!r}; expected {EXPECTED}", path, line)
    return fields, line, sep


def read_pairs(path: Union[str, os.PathLike], *, sep: Optional[str] = None) -> HeteroData:
    r"""Read interactions from a text file without a header: ``user item``,
    ``user item rating`` or ``user item rating time`` on every line.

    The first non-blank line fixes how many columns every line has and, when
    :obj:`sep` is not given, the separator (tab, comma, semicolon or ``|``,
    whichever that line holds most of; else runs of whitespace). Users and
    items may be any strings; they are numbered ``0..n-1`` in sorted order
    (numerically when all are plain integers) and kept in ``raw_id``, as the
    table reader does. Every row is an interaction; repeated pairs are kept as
    separate edges (:func:`~hypgraph.data.preprocess.prepare` removes them).

    Args:
        path (str or os.PathLike): The file (``.gz`` allowed).
        sep (str, optional): One-character separator. (default: sniffed)

    Returns:
        HeteroData: Users, items and ``('user', 'interacts', 'item')`` with
        ``rating`` (3 or 4 columns) and ``time`` (4 columns, integer Unix
        time).

    Raises:
        DataFormatError: For a file that cannot be read, a first line with
            fewer than 2 or more than 4 fields, a line with another number of
            fields than the first, a rating that is not a number, a time that
            is not an integer, or a line longer than
            :data:`~hypgraph.data.readers.columns.FIXED_LINE_BYTES`.
    """
    path = Path(path)
    fields, line, sep = first_row(path, sep)
    if not 2 <= len(fields) <= len(PAIR_COLUMNS):
        raise DataFormatError(f"{len(fields)} field{'s' if len(fields) != 1 else ''} on the first line; "
                              f"expected {EXPECTED}", path, line)
    names = list(PAIR_COLUMNS[:len(fields)])
    what = f"rows of '{' '.join(names)}' without a header"
    with TextStream(path, what=what, sep=sep, max_line=FIXED_LINE_BYTES) as stream:
        cols = stream.rows(names, no_header=True, dtypes={"rating": np.float32},
                           **{name: _KINDS[name] for name in names}).columns
    return interactions_from_columns(cols)
