r"""Fast, validated parsing of delimited text columns into numpy arrays.

Every reader goes through this module, so that every bad input gives the same
kind of error: one :class:`~hypgraph.data.DataFormatError` line naming the
file, the 1-based line and what was expected, never a numpy traceback.

Parsing is vectorised over the raw bytes. A file is read once, the positions
of all fields are found with numpy (:class:`FieldTable`), and only the
columns a reader asks for are converted (:meth:`Rows.convert`,
:meth:`FieldTable.all_ints`). Conversions check every field and report the
earliest bad line of all requested columns.

Input conventions shared by all readers:

* UTF-8 text; a leading UTF-8 byte-order mark is stripped silently (Excel and
  Windows editors write one and it carries no data). NUL bytes or invalid
  UTF-8 are rejected as binary data.
* ``\n`` and ``\r\n`` line endings are both accepted.
* Blank lines are skipped: they hold no row.
* Files ending in ``.gz`` are decompressed transparently.
"""
from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DataFormatError
from .files import why_absent

__all__ = ["FieldTable", "Rows", "read_text_bytes", "line_of_offset", "sniff_separator", "FIXED_LINE_BYTES",
           "MAX_HEADER_BYTES"]

PathLike = Union[str, os.PathLike]

_BOM = b"\xef\xbb\xbf"
# Ids and timestamps fit in int64 with 18 digits; longer is a corrupt field.
_MAX_INT_DIGITS = 18
_MAX_FLOAT_CHARS = 64
_MAX_TOKEN_BYTES = 1024
#: A header line longer than this is not a list of column names.
MAX_HEADER_BYTES = 1 << 20
#: Longest line of a format with a few short columns (ids, ratings, times).
#: Checked before a file is split into fields, so that one huge line (a file
#: without line breaks) is refused before it costs memory per field.
FIXED_LINE_BYTES = 1 << 16


def line_of_offset(data: bytes, offset: int) -> int:
    r"""Return the 1-based line that holds byte :obj:`offset` of :obj:`data`."""
    return data.count(b"\n", 0, offset) + 1


def _show(raw: bytes, limit: int = 40) -> str:
    text = raw.decode("utf-8", errors="replace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)


def read_text_bytes(path: PathLike, *, what: str = "data") -> bytes:
    r"""Read :obj:`path` as validated UTF-8 text bytes.

    Args:
        path (str or os.PathLike): The file; ``.gz`` files are decompressed.
        what (str): What the file should hold, for the empty-file message.

    Returns:
        bytes: The content without a leading byte-order mark.

    Raises:
        DataFormatError: If the file is missing, not valid gzip, binary
            (NUL bytes or invalid UTF-8) or holds nothing but whitespace.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DataFormatError(f"is a folder; expected a file with {what}", path) from None
    except FileNotFoundError:
        reason = why_absent(path)
        reason = "file not found" if reason == "does not exist" else reason
        raise DataFormatError(f"{reason}; expected {what}", path) from None
    except OSError as exc:
        raise DataFormatError(f"cannot be read ({why_absent(path) if exc.errno == errno.ELOOP else exc.strerror}); "
                              f"expected {what}", path) from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"not a valid gzip file ({exc})", path) from None
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    # Report the earliest offending byte, whichever kind it is.
    bad = [(offset, f"binary data (NUL byte at offset {offset})")
           for offset in [raw.find(b"\x00")] if offset >= 0]
    try:
        if not raw.isascii():  # decoding ASCII would only copy it
            raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad.append((exc.start, f"binary or non-UTF-8 data (byte 0x{raw[exc.start]:02x} at offset {exc.start})"))
    if bad:
        offset, found = min(bad)
        raise DataFormatError(f"{found}; expected UTF-8 text with {what}", path, line_of_offset(raw, offset))
    if not raw or raw.isspace():  # no stripped copy of a large file
        raise DataFormatError(f"file is empty; expected {what}", path, 1)
    return raw


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
    r"""Positions of all fields of one text file, not yet converted.

    Attributes:
        path (str): The file, for error messages.
        data (bytes): Its content.
        start, end (numpy.ndarray): Byte range of each field, in file order.
        line (numpy.ndarray): 1-based line number of each field.
    """

    path: str
    data: bytes
    start: np.ndarray
    end: np.ndarray
    line: np.ndarray

    @classmethod
    def from_file(cls, path: PathLike, sep: Optional[str] = None, *, what: str = "data",
                  max_line_bytes: Optional[int] = None) -> "FieldTable":
        r"""Read and split :obj:`path`.

        Args:
            path (str or os.PathLike): The file.
            sep (str, optional): A one-character separator. ``None`` splits
                on runs of whitespace (spaces, tabs). With a separator, empty
                fields are kept and surrounding spaces are trimmed.
            what (str): What the file should hold, for error messages.
            max_line_bytes (int, optional): Refuse a longer line before
                splitting (e.g. :data:`FIXED_LINE_BYTES` for formats with a
                few short columns). (default: no limit)

        Raises:
            DataFormatError: See :func:`read_text_bytes`; or at the first line
                longer than :obj:`max_line_bytes`.
        """
        data = read_text_bytes(path, what=what)
        return cls.from_bytes(data, os.fspath(path), sep, max_line_bytes=max_line_bytes, what=what)

    @classmethod
    def from_bytes(cls, data: bytes, path: str, sep: Optional[str] = None, *,
                   max_line_bytes: Optional[int] = None, what: str = "data") -> "FieldTable":
        r"""Split already-validated :obj:`data` (see :meth:`from_file`)."""
        buf = np.frombuffer(data, dtype=np.uint8)
        if max_line_bytes is not None:
            _check_line_lengths(buf, path, max_line_bytes, what)
        if sep is None:
            start, end = _split_whitespace(buf)
        elif len(sep) != 1 or sep in "\r\n":
            raise ValueError(f"separator must be one character other than a line break, got {sep!r}")
        elif sep == '"' or b'"' not in data:
            start, end = _split_separator(buf, ord(sep))
        else:
            # Quoted fields may hide separators and line breaks: let the csv
            # module unquote, then re-split its output vectorised.
            data = _unquote(data, sep, path)
            buf = np.frombuffer(data, dtype=np.uint8)
            start, end = _split_separator(buf, 0x1F)
        newlines = np.flatnonzero(buf == 10)
        # "left": an empty last field starts on its own line's newline byte.
        line = np.searchsorted(newlines, start, side="left") + 1
        return cls(path, data, start, end, line)

    def first_line_fields(self) -> Tuple[List[str], "FieldTable"]:
        r"""Split off the first non-blank line (a header).

        Returns:
            (list of str, FieldTable): The header fields and the rest.
        """
        if len(self.line) == 0:
            raise DataFormatError("file is empty; expected a header line", self.path, 1)
        first = self.line[0]
        n = int(np.searchsorted(self.line, first, side="right"))
        if self.end[n - 1] - self.start[0] > MAX_HEADER_BYTES:
            raise DataFormatError(f"the header line is longer than {MAX_HEADER_BYTES:,} bytes; "
                                  f"expected a line of column names", self.path, int(first))
        names = [self.data[s:e].decode("utf-8") for s, e in zip(self.start[:n], self.end[:n])]
        rest = FieldTable(self.path, self.data, self.start[n:], self.end[n:], self.line[n:])
        return names, rest

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

def _check_line_lengths(buf: np.ndarray, path: str, limit: int, what: str) -> None:
    ends = np.flatnonzero(buf == 10)
    # line k spans (previous newline, this newline); the last may lack one
    lengths = np.diff(ends, prepend=-1) - 1
    tail = len(buf) - (int(ends[-1]) + 1 if len(ends) else 0)
    long = np.flatnonzero(lengths > limit)
    if len(long):
        k = int(long[0])
        size = int(lengths[k])
    elif tail > limit:
        k, size = len(ends), tail
    else:
        return
    raise DataFormatError(f"a line of {size:,} bytes; expected {what}, at most {limit:,} bytes a line",
                          path, k + 1)


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


def _unquote(data: bytes, sep: str, path: str) -> bytes:
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out: List[str] = []
    done = 0  # physical lines consumed so far
    try:
        for record in reader:
            fields = (f.replace("\n", " ").replace("\r", " ").replace("\x1f", " ") for f in record)
            # One output line per input line, so that line numbers still hold.
            out.append("\x1f".join(fields) + "\n" * (reader.line_num - done))
            done = reader.line_num
    except csv.Error as exc:
        raise DataFormatError(f"malformed quoted field ({exc})", path, done + 1) from None
    return "".join(out).encode("utf-8")


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
    bad = (lens == 0) | (lens > _MAX_INT_DIGITS)
    width = int(min(lens.max(), _MAX_INT_DIGITS))
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
    too_long = (lens == 0) | (lens > _MAX_FLOAT_CHARS)
    width = int(min(max(lens.max(), 1), _MAX_FLOAT_CHARS))
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
    bad = (lens == 0) | (lens > _MAX_TOKEN_BYTES)
    width = int(min(max(lens.max(), 1), _MAX_TOKEN_BYTES))
    mat, _ = _gather(table, field, width, right=False)
    values = mat.view(f"S{width}").ravel()
    if bad.any():
        return values, _first_bad(table, field, bad, f"a non-empty id of at most {_MAX_TOKEN_BYTES} bytes")
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
