r"""The numpy parser of delimited text columns: the readers' slow path.

:class:`~hypgraph.data.readers.stream.TextStream` cuts a file into pieces and
parses each with pyarrow (:mod:`.arrow`); a piece pyarrow cannot vouch for is
parsed here, so that every bad input gives the same kind of error: one
:class:`~hypgraph.data.DataFormatError` line naming the file, the 1-based line
and what was expected, never a numpy traceback.

Parsing is vectorised over the raw bytes. The positions of all fields of a
piece are found with numpy (:class:`FieldTable`), and only the columns a
reader asks for are converted (:meth:`Rows.convert`,
:meth:`FieldTable.all_ints`). Conversions check every field and report the
earliest bad line of all requested columns. These arrays cost several times
the text they describe, which is why they only ever see one piece.

Input conventions shared by all readers (checked by the stream):

* UTF-8 text; a leading UTF-8 byte-order mark is stripped silently (Excel and
  Windows editors write one and it carries no data). NUL bytes or invalid
  UTF-8 are rejected as binary data.
* ``\n`` and ``\r\n`` line endings are both accepted.
* Blank lines are skipped: they hold no row.
* Files ending in ``.gz`` are decompressed transparently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DataFormatError

__all__ = ["FieldTable", "Rows", "sniff_separator", "FIXED_LINE_BYTES", "MAX_HEADER_BYTES",
           "MAX_TOKEN_BYTES", "MAX_INT_DIGITS", "MAX_FLOAT_CHARS"]

#: Ids and timestamps fit in int64 with 18 digits; longer is a corrupt field.
MAX_INT_DIGITS = 18
#: Longest number accepted in a float column.
MAX_FLOAT_CHARS = 64
#: Longest string id (token) accepted.
MAX_TOKEN_BYTES = 1024
#: A header line longer than this is not a list of column names.
MAX_HEADER_BYTES = 1 << 20
#: Longest line of a format with a few short columns (ids, ratings, times).
#: Checked before a file is split into fields, so that one huge line (a file
#: without line breaks) is refused before it costs memory per field.
FIXED_LINE_BYTES = 1 << 16


def _show(raw: bytes, limit: int = 40) -> str:
    text = raw.decode("utf-8", errors="replace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)


def sniff_separator(header: bytes) -> Optional[str]:
    r"""Guess the separator of a delimited file from its header line.

    Returns:
        str or None: The most frequent of tab, comma, semicolon and ``|``, or
        ``None`` (split on whitespace) when the header has none of them.
    """
    counts = {sep: header.count(sep.encode()) for sep in ("\t", ",", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


@dataclass
class FieldTable:
    r"""Positions of all fields of one piece of text, not yet converted.

    Attributes:
        path (str): The file, for error messages.
        data (bytes): The piece.
        start, end (numpy.ndarray): Byte range of each field, in order.
        line (numpy.ndarray): 1-based line number of each field in the file.
    """

    path: str
    data: bytes
    start: np.ndarray
    end: np.ndarray
    line: np.ndarray

    @classmethod
    def from_bytes(cls, data: bytes, path: str, sep: Optional[str] = None, *,
                   first_line: int = 1) -> "FieldTable":
        r"""Split validated, unquoted text (quotes are the stream's job).

        Args:
            data (bytes): Whole lines of the file.
            path (str): The file, for error messages.
            sep (str, optional): A one-character separator. ``None`` splits
                on runs of whitespace (every byte up to ``0x20``). With a
                separator, empty fields are kept and surrounding spaces (and
                tabs, unless the separator is a tab) and CRs are trimmed.
            first_line (int): The line of the file :obj:`data` starts on.
                (default: :obj:`1`)
        """
        buf = np.frombuffer(data, dtype=np.uint8)
        if sep is None:
            start, end = _split_whitespace(buf)
        elif len(sep) != 1 or sep in "\r\n":
            raise ValueError(f"separator must be one character other than a line break, got {sep!r}")
        else:
            start, end = _split_separator(buf, ord(sep))
        newlines = np.flatnonzero(buf == 10)
        # "left": an empty last field starts on its own line's newline byte.
        line = np.searchsorted(newlines, start, side="left") + first_line
        return cls(path, data, start, end, line)

    def rows(self, columns: Sequence[str]) -> "Rows":
        r"""View the table as rows of exactly ``len(columns)`` fields.

        Args:
            columns (sequence of str): Column names, for error messages.

        Raises:
            DataFormatError: At the first line with another number of fields.
        """
        ncols = len(columns)
        lines, first, counts = np.unique(self.line, return_index=True, return_counts=True)
        wrong = np.flatnonzero(counts != ncols)
        if len(wrong):
            k = wrong[0]
            raise DataFormatError(
                f"expected {ncols} columns ({' '.join(columns)}), found {counts[k]}",
                self.path, int(lines[k]))
        index = first[:, None] + np.arange(ncols)[None, :]
        return Rows(self, index, lines, list(columns))

    def all_ints(self) -> np.ndarray:
        r"""Every field as a non-negative int64, in file order.

        Raises:
            DataFormatError: At the first line with a field that is not one.
        """
        values, bad = _to_int(self, np.arange(len(self.start)))
        if bad is not None:
            pos, message = bad
            raise DataFormatError(message, self.path, int(self.line[pos]))
        return values

    def ragged_rows(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Group fields by line for formats with a variable number per line.

        Returns:
            (numpy.ndarray, numpy.ndarray, numpy.ndarray): For each non-blank
            line its number, the index of its first field and its field count.
        """
        return np.unique(self.line, return_index=True, return_counts=True)


class Rows:
    r"""Rows of a :class:`FieldTable` with a fixed number of columns.

    Conversions check all requested columns before raising, so that the
    error names the earliest bad line.

    Args:
        table (FieldTable): The fields.
        index (numpy.ndarray): ``[num_rows, num_columns]`` field indices.
        line (numpy.ndarray): 1-based line number of each row.
        columns (list of str): Column names.
    """

    def __init__(self, table: FieldTable, index: np.ndarray, line: np.ndarray, columns: List[str]) -> None:
        self.table = table
        self.index = index
        self.line = line
        self.columns = columns

    def __len__(self) -> int:
        return len(self.line)

    def _col(self, col: Union[int, str]) -> int:
        return self.columns.index(col) if isinstance(col, str) else int(col)

    def convert(self, *, no_header: bool = False, **kinds: str) -> dict:
        r"""Convert several columns at once.

        Args:
            no_header (bool): The format has no header line; a bad first row
                says so, since a stray header is the usual cause.
                (default: :obj:`False`)
            **kinds: ``column_name=kind`` with kind ``"int"`` (non-negative
                integer), ``"float"`` (finite number), ``"time"`` (finite,
                integer-valued number, e.g. ``881250949`` or ``881250949.0``,
                returned as int64) or ``"token"`` (any non-empty string,
                returned as a numpy bytes array).

        Returns:
            dict: Column name -> numpy array.

        Raises:
            DataFormatError: At the earliest line where any column is bad.
        """
        out, errors = {}, []
        for name, kind in kinds.items():
            field = self.index[:, self._col(name)]
            values, bad = _CONVERTERS[kind](self.table, field)
            out[name] = values
            if bad is not None:
                pos, message = bad
                if no_header and pos == 0:
                    message += " (this format has no header line)"
                errors.append((int(self.line[pos]), f"column {self._col(name) + 1} ({name}): {message}"))
        if errors:
            line, message = min(errors)
            raise DataFormatError(message, self.table.path, line)
        return out


# --- splitting ---------------------------------------------------------------

def _split_whitespace(buf: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    # Bytes <= 0x20 are space, tab, CR, LF and other controls: all separate.
    is_field = buf > 32
    edges = np.diff(is_field.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _split_separator(buf: np.ndarray, sep: int) -> Tuple[np.ndarray, np.ndarray]:
    delim = np.flatnonzero((buf == sep) | (buf == 10))
    start = np.concatenate([[0], delim + 1])
    end = np.concatenate([delim, [len(buf)]])
    # Trim spaces and the CR of CRLF; a few vector passes, one per blank byte.
    blank = [32, 13] + ([9] if sep != 9 else [])
    while True:
        move = (start < end) & np.isin(buf[np.minimum(start, len(buf) - 1)], blank)
        if not move.any():
            break
        start[move] += 1
    while True:
        move = (end > start) & np.isin(buf[np.maximum(end - 1, 0)], blank)
        if not move.any():
            break
        end[move] -= 1
    # A line holding only one empty field is blank: drop it.
    is_nl = np.concatenate([[True], buf[delim] == 10, [True]])
    lone = is_nl[:-1] & is_nl[1:] & (start == end)
    return start[~lone], end[~lone]


# --- conversion --------------------------------------------------------------

Bad = Optional[Tuple[int, str]]


def _field_bytes(table: FieldTable, k: int) -> bytes:
    return table.data[table.start[k]:table.end[k]]


def _first_bad(table: FieldTable, field: np.ndarray, bad: np.ndarray, expected: str) -> Bad:
    pos = int(np.argmax(bad))
    raw = _field_bytes(table, field[pos])
    got = "an empty field" if not raw else _show(raw)
    return pos, f"expected {expected}, got {got}"


def _gather(table: FieldTable, field: np.ndarray, width: int, right: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Bytes of each field as a ``[n, width]`` matrix padded with NUL (left- or
    right-aligned) plus the validity mask; built column by column to stay O(n)
    in memory beyond the result."""
    buf = np.frombuffer(table.data, dtype=np.uint8)
    s, e = table.start[field], table.end[field]
    lens = e - s
    mat = np.zeros((len(field), width), dtype=np.uint8)
    valid = np.zeros((len(field), width), dtype=bool)
    for j in range(width):
        if right:
            ok = (width - j) <= lens
            pos = e - (width - j)
        else:
            ok = j < lens
            pos = s + j
        mat[ok, j] = buf[pos[ok]]
        valid[:, j] = ok
    return mat, valid


def _to_int(table: FieldTable, field: np.ndarray) -> Tuple[np.ndarray, Bad]:
    n = len(field)
    if n == 0:
        return np.zeros(0, dtype=np.int64), None
    lens = table.end[field] - table.start[field]
    bad = (lens == 0) | (lens > MAX_INT_DIGITS)
    width = int(min(lens.max(), MAX_INT_DIGITS))
    mat, valid = _gather(table, field, width, right=True)
    digits = mat.astype(np.int16) - 48
    bad |= (valid & ((digits < 0) | (digits > 9))).any(axis=1)
    digits[~valid] = 0
    values = np.zeros(n, dtype=np.int64)
    for j in range(width):  # Horner's rule, one vector op per digit position
        values *= 10
        values += digits[:, j]
    if bad.any():
        return values, _first_bad(table, field, bad, "a non-negative integer")
    return values, None


def _to_float(table: FieldTable, field: np.ndarray) -> Tuple[np.ndarray, Bad]:
    n = len(field)
    if n == 0:
        return np.zeros(0, dtype=np.float64), None
    lens = table.end[field] - table.start[field]
    too_long = (lens == 0) | (lens > MAX_FLOAT_CHARS)
    width = int(min(max(lens.max(), 1), MAX_FLOAT_CHARS))
    mat, _ = _gather(table, field, width, right=False)
    # Python's float() also takes "1_000"; no data format means that.
    too_long |= (mat == ord("_")).any(axis=1)
    mat[too_long] = ord("x")  # forces a parse failure located below
    text = mat.view(f"S{width}").ravel()
    try:
        values = text.astype(np.float64)
    except ValueError:
        values = np.full(n, np.nan)
        for k, raw in enumerate(text):
            try:
                values[k] = float(raw)
            except ValueError:
                return values, _first_bad(table, field, np.arange(n) == k, "a number")
    bad = ~np.isfinite(values)
    if bad.any():
        return values, _first_bad(table, field, bad, "a finite number")
    return values, None


def _to_token(table: FieldTable, field: np.ndarray) -> Tuple[np.ndarray, Bad]:
    n = len(field)
    if n == 0:
        return np.zeros(0, dtype="S1"), None
    lens = table.end[field] - table.start[field]
    bad = (lens == 0) | (lens > MAX_TOKEN_BYTES)
    width = int(min(max(lens.max(), 1), MAX_TOKEN_BYTES))
    mat, _ = _gather(table, field, width, right=False)
    values = mat.view(f"S{width}").ravel()
    if bad.any():
        return values, _first_bad(table, field, bad, f"a non-empty id of at most {MAX_TOKEN_BYTES} bytes")
    return values, None


def _to_time(table: FieldTable, field: np.ndarray) -> Tuple[np.ndarray, Bad]:
    values, bad = _to_float(table, field)
    if bad is not None:
        return values, bad
    fractional = (values != np.floor(values)) | (np.abs(values) > 2.0 ** 62)
    if fractional.any():
        return values, _first_bad(table, field, fractional, "an integer timestamp")
    return values.astype(np.int64), None


_CONVERTERS = {"int": _to_int, "float": _to_float, "time": _to_time, "token": _to_token}
