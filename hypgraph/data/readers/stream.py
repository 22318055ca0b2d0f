r"""Reading a text file once, in pieces, in memory bounded by the piece size.

Every text reader goes through :class:`TextStream`. It decompresses ``.gz``
on the fly, strips a leading UTF-8 byte-order mark and hands out pieces of
about :data:`CHUNK_BYTES` that end at a line break, each checked for binary
data (a file of less than 16 such pieces is cut into pieces of a sixteenth of
its size, at least :data:`SMALL_CHUNK_BYTES`, so that its working set stays
a fraction of it). A piece is parsed by pyarrow (:mod:`.arrow`, the fast path) straight
from its bytes, and its values are appended to typed numpy columns that grow
in place. A piece the fast path cannot vouch for is parsed again by the numpy
parser of :mod:`.columns` (the slow path), in sub-pieces of
:data:`SLOW_PATH_BYTES`, which reads it the same way or names the bad line.
So memory is the typed columns plus a working set bounded by the piece size,
whatever the file holds: a line over the format's limit is measured and
refused without being held, a blank piece costs nothing, and the line of a
row is kept only for pieces with blank lines (else it is the piece's first
line plus the row's index).

Errors come out as if the whole file had been checked first, as the readers
did when they read files whole: after the first error the rest of the file is
still read (not parsed), and a more fundamental problem found there wins:
a corrupt gzip stream, then binary data (the earliest byte), then a file of
nothing but whitespace, then a line over the format's limit, then anything
else.
"""
from __future__ import annotations

import bisect
import codecs
import csv
import errno
import gzip
import io
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa

from ..errors import DataFormatError
from . import arrow
from .columns import MAX_HEADER_BYTES, FieldTable
from .files import why_absent

__all__ = ["TextStream", "ParsedRows", "RaggedRows", "RowLines", "CHUNK_BYTES", "SMALL_CHUNK_BYTES",
           "SLOW_PATH_BYTES",
           "MAX_LINE_BYTES", "FAST_PATH"]

PathLike = Union[str, os.PathLike]

#: Bytes read and parsed at a time (a piece ends at the last line break
#: within it, so it may be one line longer).
CHUNK_BYTES = 1 << 20
#: The smallest piece of a small file, which is read in 16 pieces (its text
#: size over 16) when that is below :data:`CHUNK_BYTES`: the working set of a
#: piece (its text, pyarrow's columns of it, the values) is a few times the
#: piece, so a fixed 1 MiB would be several times a file of 1 MB.
SMALL_CHUNK_BYTES = 1 << 16
_PIECES_PER_SMALL_FILE = 16
#: Size of the sub-pieces the slow path parses, so that its per-field arrays
#: (several times the text) stay small.
SLOW_PATH_BYTES = 1 << 20
#: Longest line of a table (CSV, RecBole): a piece holds whole lines.
MAX_LINE_BYTES = 16 << 20
#: Parse with pyarrow first; ``False`` sends every piece to the slow path
#: (for tests that compare both).
FAST_PATH = True

_BOM = b"\xef\xbb\xbf"
_SMALLEST_PIECE = 64  # longer than any valid field, so a cut inside one is an error anyway
# Problems in order of precedence (see the module docstring).
_GZIP, _BINARY, _EMPTY, _LINE, _OTHER = range(5)
# For counting non-blank lines: drop blanks, keep line breaks, anything else is "x".
_DELETE_BLANKS = b" \t\x0b\x0c"
_LINE_MARKS = bytes(10 if b in (10, 13) else ord("x") for b in range(256))


@dataclass
class Piece:
    r"""A run of text of the file.

    Attributes:
        data (bytes or bytearray): The text.
        line (int): The 1-based line :obj:`data` starts on.
        offset (int): Its byte offset in the decompressed text (BOM removed).
        partial (bool): The last line goes on in the next piece.
        breaks (int): The number of ``\n`` in :obj:`data`.
    """

    data: Union[bytes, bytearray]
    line: int
    offset: int
    partial: bool = False
    breaks: int = -1

    def __post_init__(self) -> None:
        if self.breaks < 0:
            self.breaks = self.data.count(b"\n")


class RowLines:
    r"""The 1-based line of each row, stored per piece: the first line of a run
    of consecutive lines, or each row's line for a piece with blank lines.
    Indexing gives one row's line (all an error message needs)."""

    def __init__(self) -> None:
        self._starts: List[int] = []
        self._parts: List[Union[int, np.ndarray]] = []
        self._rows = 0

    def append(self, rows: int, lines: Union[int, np.ndarray]) -> None:
        r"""Add :obj:`rows` rows on lines ``lines, lines + 1, ...`` (an int) or
        on the given lines (an array)."""
        if rows:
            self._starts.append(self._rows)
            self._parts.append(lines)
            self._rows += rows

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, k: int) -> int:
        k = int(k)
        if not 0 <= k < self._rows:
            raise IndexError(f"row {k} of {self._rows}")
        j = bisect.bisect_right(self._starts, k) - 1
        part = self._parts[j]
        i = k - self._starts[j]
        return part + i if isinstance(part, int) else int(part[i])


class RepeatedLines:
    r"""The line of each entry of rows holding ``counts`` entries each
    (KGAT's items: entry ``k`` is on the line of the row it belongs to)."""

    def __init__(self, rows: RowLines, counts: np.ndarray) -> None:
        self.rows = rows
        self.ends = np.cumsum(counts)

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def __getitem__(self, k: int) -> int:
        return self.rows[int(np.searchsorted(self.ends, int(k), side="right"))]


@dataclass
class ParsedRows:
    r"""Rows read by :meth:`TextStream.rows`.

    Attributes:
        columns (dict): Column name -> int64/float64 numpy array, or a
            pyarrow ``ChunkedArray`` of strings for tokens.
        line (RowLines or None): The line of each row, when asked for.
        num_rows (int): The number of rows.
    """

    columns: Dict[str, Union[np.ndarray, pa.ChunkedArray]]
    line: Optional[RowLines]
    num_rows: int

    def __len__(self) -> int:
        return self.num_rows


@dataclass
class RaggedRows:
    r"""Lines of integers read by :meth:`TextStream.ragged_ints`.

    Attributes:
        heads (numpy.ndarray): The first value of each non-blank line.
        counts (numpy.ndarray): How many more values each such line holds.
        rest (numpy.ndarray): Those values, line after line.
        line (RowLines): The line of each non-blank line.
    """

    heads: np.ndarray
    counts: np.ndarray
    rest: np.ndarray
    line: RowLines


class TextStream:
    r"""A text file as checked pieces of whole lines (see the module docstring).

    Use it as a context manager around everything read from the file, so that
    an error raised inside gets the file's precedence (see the module
    docstring) and the file is closed::

        with TextStream(path, what="'user item label' rows", max_line=FIXED_LINE_BYTES) as stream:
            rows = stream.rows(["user", "item", "label"], user="int", item="int", label="int")

    Args:
        path (str or os.PathLike): The file; ``.gz`` files are decompressed.
        what (str): What the file should hold, for error messages.
        sep (str, optional): The format's one-character separator; ``None``
            splits on runs of whitespace (every byte up to ``0x20``). A file
            with a separator and a ``"`` anywhere is unquoted by the
            :mod:`csv` module on the way; its fields may then hold separators
            and line breaks (replaced by spaces). (default: :obj:`None`)
        max_line (int, optional): The longest line accepted. ``None``
            accepts lines of any length and cuts those longer than
            :data:`CHUNK_BYTES` between fields (for lists of ids).
            (default: :obj:`None`)

    Raises:
        DataFormatError: On entering, if the file cannot be opened.
    """

    def __init__(self, path: PathLike, *, what: str, sep: Optional[str] = None,
                 max_line: Optional[int] = None) -> None:
        if sep is not None and (len(sep) != 1 or sep in "\r\n"):
            raise ValueError(f"separator must be one character other than a line break, got {sep!r}")
        self.path = Path(path)
        self.what = what
        self.sep = sep
        self.max_line = max_line
        self._file: Optional[BinaryIO] = None
        self._pending = b""
        self._line, self._offset = 1, 0
        self._started = self._eof = False
        self._utf8_tail = b""
        self._nonspace = False
        self._first_filled = 0  # the first line holding a non-whitespace byte
        self._scanning = False
        self._ranks: Dict[int, int] = {}
        self._found: List[Tuple[int, DataFormatError]] = []
        self._pushed: List[Piece] = []
        self._source: Optional[Iterator[Piece]] = None
        self._quoted = False
        self._chunk = _chunk_bytes()

    # --- opening and closing ---------------------------------------------------

    def __enter__(self) -> "TextStream":
        self._chunk = _chunk_bytes(_text_size(self.path))
        if self.sep is not None and self.sep != '"':
            self._quoted = self._has_quote()
        self._file = self._open()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            if isinstance(error, DataFormatError) and self._file is not None:
                first = self._most_fundamental(error)
                if first is not error:
                    raise first from None
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None
        return False

    def _open(self) -> BinaryIO:
        path = self.path
        try:
            return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
        except IsADirectoryError:
            raise DataFormatError(f"is a folder; expected a file with {self.what}", path) from None
        except FileNotFoundError:
            reason = why_absent(path)
            reason = "file not found" if reason == "does not exist" else reason
            raise DataFormatError(f"{reason}; expected {self.what}", path) from None
        except OSError as exc:
            reason = why_absent(path) if exc.errno == errno.ELOOP else exc.strerror
            raise DataFormatError(f"cannot be read ({reason}); expected {self.what}", path) from None

    def _has_quote(self) -> bool:
        # Quotes change how the whole file splits, so look before splitting
        # (through one reused buffer).
        block = bytearray(self._chunk)
        try:
            with self._open() as f, memoryview(block) as view:
                while n := f.readinto(view):
                    if block.find(b'"', 0, n) >= 0:
                        return True
        except (DataFormatError, OSError, EOFError, zlib.error):
            pass  # the reading pass reports it
        return False

    def _read_after(self, pending: bytes) -> Optional[bytearray]:
        # pending followed by the next block, read in place; None at the end.
        size = self._chunk
        data = bytearray(len(pending) + size)
        data[:len(pending)] = pending
        with memoryview(data) as view:
            try:
                n = self._file.readinto(view[len(pending):])
            except (OSError, EOFError, zlib.error) as exc:
                self._unreadable(exc)
        if not n:
            return None
        del data[len(pending) + n:]
        if not self._started:
            self._started = True
            if data.startswith(_BOM):
                del data[:len(_BOM)]
                if not data:
                    return self._read_after(b"")
        return data

    def _unreadable(self, exc: Exception) -> None:
        if self.path.suffix == ".gz":
            error = DataFormatError(f"not a valid gzip file ({exc})", self.path)
        else:
            error = DataFormatError(f"cannot be read ({exc}); expected {self.what}", self.path)
        self._ranks[id(error)] = _GZIP
        raise error from None

    def _read(self) -> bytes:
        try:
            block = self._file.read(self._chunk)
        except (OSError, EOFError, zlib.error) as exc:
            self._unreadable(exc)
        if not self._started:
            self._started = True
            if block.startswith(_BOM):
                block = block[len(_BOM):] or self._read()
        return block

    # --- precedence ------------------------------------------------------------

    def _problem(self, rank: int, error: DataFormatError) -> None:
        if self._scanning:
            self._found.append((rank, error))
            return
        self._ranks[id(error)] = rank
        raise error

    def _most_fundamental(self, error: DataFormatError) -> DataFormatError:
        found = [(self._ranks.get(id(error), _OTHER), error)]
        self._scanning, self._pushed = True, []
        try:
            while min(rank for rank, _ in found + self._found) > _BINARY or \
                    (self.path.suffix == ".gz" and not self._eof):
                if self._next_piece() is None:
                    if not self._nonspace:
                        found.append((_EMPTY, self._empty_error()))
                    break
        except DataFormatError as exc:
            found.append((self._ranks.get(id(exc), _GZIP), exc))
        return min(found + self._found, key=lambda item: item[0])[1]

    def _empty_error(self) -> DataFormatError:
        return DataFormatError(f"file is empty; expected {self.what}", self.path, 1)

    # --- pieces ------------------------------------------------------------------

    def _next_piece(self) -> Optional[Piece]:
        while True:
            if self._eof:
                if not self._pending:
                    if self._utf8_tail:  # the text ends inside a character
                        self._truncated_character()
                    return None
                data, self._pending = self._pending, b""
                return self._emit(data, partial=False)
            data = self._read_after(self._pending)
            if data is None:
                self._eof = True
                continue
            cut = data.rfind(b"\n") + 1
            if cut:
                self._pending = bytes(data[cut:])  # the start of the next line
                del data[cut:]  # in place: a piece is never copied
                return self._emit(data, partial=False)
            self._pending = data
            if self.max_line is not None:
                if len(data) > self.max_line:
                    self._skip_long_line()
            elif len(data) >= self._chunk:
                cut = _cut_between_fields(data)
                self._pending = bytes(data[cut:])
                del data[cut:]
                return self._emit(data, partial=True)

    def _advance(self, data: bytes) -> Piece:
        piece = Piece(data, self._line, self._offset)
        self._line += piece.breaks
        self._offset += len(data)
        if not self._nonspace and not data.isspace():
            self._nonspace = True
            self._first_filled = piece.line + data.count(b"\n", 0, len(data) - len(data.lstrip()))
        if not (self._scanning and any(rank <= _BINARY for rank, _ in self._found)):
            self._check_text(piece)
        return piece

    def _emit(self, data: bytes, partial: bool) -> Piece:
        piece = self._advance(data)
        piece.partial = partial
        if self._eof and not self._pending and self._utf8_tail:
            self._truncated_character()
        if self.max_line is not None:
            self._check_line_lengths(piece)
        return piece

    def _skip_long_line(self) -> None:
        # The pending line (no line break yet) is over the limit: measure it
        # without holding it, and carry on after it.
        line, size, data = self._line, 0, self._pending
        self._pending = b""
        while True:
            nl = data.find(b"\n")
            if nl >= 0:
                size += nl
                self._pending = data[nl + 1:]
                self._advance(data[:nl + 1])
                break
            size += len(data)
            self._advance(data)
            data = self._read()
            if not data:
                self._eof = True
                break
        self._problem(_LINE, DataFormatError(
            f"a line of {size:,} bytes; expected {self.what}, at most {self.max_line:,} bytes a line",
            self.path, line))

    def _check_line_lengths(self, piece: Piece) -> None:
        data, limit = piece.data, self.max_line
        start, n = 0, len(data)
        while n - start > limit:
            nl = data.rfind(b"\n", start, start + limit + 1)
            if nl < 0:
                end = data.find(b"\n", start + limit + 1)
                size = (n if end < 0 else end) - start
                self._problem(_LINE, DataFormatError(
                    f"a line of {size:,} bytes; expected {self.what}, at most {limit:,} bytes a line",
                    self.path, piece.line + data.count(b"\n", 0, start)))
                return
            start = nl + 1

    def _check_text(self, piece: Piece) -> None:
        data = piece.data
        bad = []
        nul = data.find(b"\x00")
        if nul >= 0:
            bad.append((nul, 0, f"binary data (NUL byte at offset {piece.offset + nul})"))
        if self._utf8_tail or not data.isascii():
            head = self._utf8_tail + data
            try:
                _, used = codecs.utf_8_decode(head, "strict", False)
                self._utf8_tail = head[used:]
            except UnicodeDecodeError as exc:
                at = exc.start - len(self._utf8_tail)
                bad.append((at, 1, f"binary or non-UTF-8 data (byte 0x{head[exc.start]:02x} at offset "
                                   f"{piece.offset + at})"))
        if bad:
            at, _, found = min(bad)
            self._problem(_BINARY, DataFormatError(f"{found}; expected UTF-8 text with {self.what}", self.path,
                                                   piece.line + data.count(b"\n", 0, max(at, 0))))

    def _truncated_character(self) -> None:
        tail, self._utf8_tail = self._utf8_tail, b""
        self._problem(_BINARY, DataFormatError(
            f"binary or non-UTF-8 data (byte 0x{tail[0]:02x} at offset {self._offset - len(tail)}); "
            f"expected UTF-8 text with {self.what}", self.path, self._line))

    def _raw_pieces(self) -> Iterator[Piece]:
        while (piece := self._next_piece()) is not None:
            yield piece
        if not self._nonspace:
            self._problem(_EMPTY, self._empty_error())

    def pieces(self) -> Iterator[Piece]:
        if self._source is None:
            self._source = self._unquoted(self._raw_pieces()) if self._quoted else self._raw_pieces()
        while True:
            if self._pushed:
                yield self._pushed.pop()
                continue
            piece = next(self._source, None)
            if piece is None:
                return
            yield piece

    def _unquoted(self, raw: Iterator[Piece]) -> Iterator[Piece]:
        # The csv module unquotes; each record becomes one line of fields
        # joined by 0x1F, followed by a line break for every further physical
        # line it took, so that line numbers still hold.
        def lines():
            for piece in raw:
                yield from io.StringIO(piece.data.decode("utf-8"), newline="")

        reader = csv.reader(lines(), delimiter=self.sep)
        out: List[str] = []
        size, done, first = 0, 0, 1
        try:
            for record in reader:
                fields = (f.replace("\n", " ").replace("\r", " ").replace("\x1f", " ") for f in record)
                text = "\x1f".join(fields) + "\n" * (reader.line_num - done)
                done = reader.line_num
                out.append(text)
                size += len(text)
                if size >= self._chunk:
                    yield Piece("".join(out).encode("utf-8"), first, 0)
                    out, size, first = [], 0, done + 1
        except csv.Error as exc:
            raise DataFormatError(f"malformed quoted field ({exc})", self.path, done + 1) from None
        if out:
            yield Piece("".join(out).encode("utf-8"), first, 0)

    @property
    def _field_sep(self) -> Optional[str]:
        return "\x1f" if self._quoted else self.sep

    def _blank(self, data: bytes) -> bool:
        # A piece without a single field: whitespace only, and for separated
        # formats nothing but what is trimmed around fields.
        if not data.isspace():
            return False
        return self._field_sep is None or not data.translate(None, _trimmed(self._field_sep) + b"\n")

    # --- what readers call ---------------------------------------------------------

    def header(self) -> Tuple[List[str], int]:
        r"""Read the first line holding a field, as a header.

        Returns:
            (list of str, int): Its fields and its line number.

        Raises:
            DataFormatError: If the file holds no field, or the header is
                longer than :data:`~hypgraph.data.readers.columns.MAX_HEADER_BYTES`.
        """
        sep = self._field_sep
        blank = bytes(range(33)) if sep is None else _trimmed(sep) + b"\n"
        pieces = self.pieces()
        while True:
            try:
                piece = next(pieces, None)
            except DataFormatError as error:
                if self._ranks.get(id(error)) == _LINE and error.line == self._first_filled:
                    self._header_too_long(error.line)  # the header is the long line
                raise
            if piece is None:
                break
            data = piece.data
            text = data.lstrip(blank)
            if not text:
                continue
            skipped = len(data) - len(text)
            line = piece.line + data.count(b"\n", 0, skipped)
            end = text.find(b"\n")
            rest = text[end + 1:] if end >= 0 else b""
            text = text[:end] if end >= 0 else text
            if len(text) > 2 * MAX_HEADER_BYTES or piece.partial:
                self._header_too_long(line)
            table = FieldTable.from_bytes(text, os.fspath(self.path), sep, first_line=line)
            if table.end[-1] - table.start[0] > MAX_HEADER_BYTES:
                self._header_too_long(line)
            if rest:
                self._pushed.append(Piece(rest, line + 1, piece.offset + len(data) - len(rest), piece.partial))
            return [text[s:e].decode("utf-8") for s, e in zip(table.start, table.end)], line
        raise DataFormatError("file is empty; expected a header line", self.path, 1)

    def _header_too_long(self, line: int) -> None:
        error = DataFormatError(f"the header line is longer than {MAX_HEADER_BYTES:,} bytes; "
                                f"expected a line of column names", self.path, line)
        self._ranks[id(error)] = _LINE  # in place of the line-length error it is
        raise error from None

    def rows(self, columns: Sequence[str], *, no_header: bool = False, lines: bool = False,
             dtypes: Optional[Dict[str, np.dtype]] = None, **kinds: str) -> ParsedRows:
        r"""Read the remaining lines as rows of exactly ``len(columns)`` fields
        and convert some of them.

        Args:
            columns (sequence of str): Column names, for error messages.
            no_header (bool): The format has no header line; a bad first row
                says so. (default: :obj:`False`)
            lines (bool): Keep each row's line (:attr:`ParsedRows.line`) for
                later checks. (default: :obj:`False`)
            dtypes (dict, optional): A numpy dtype to store a numeric column
                in, instead of int64/float64 (e.g. float32 for ratings the
                graph stores as float32: the same values, without the wider
                copy). (default: :obj:`None`)
            **kinds: ``column_name=kind``, see
                :meth:`hypgraph.data.readers.columns.Rows.convert`.

        Raises:
            DataFormatError: At the first line with another number of fields
                or a bad value, in the first piece holding one.
        """
        names = list(columns)
        position = {name: names.index(name) for name in kinds}
        dtypes = dtypes or {}
        parts = {name: [] if kind == "token" else _Growing(dtypes.get(name, _DTYPES[kind]))
                 for name, kind in kinds.items()}
        line_map = RowLines() if lines else None
        count, bad_values = 0, None
        for piece in self.pieces():
            if self._blank(piece.data):
                continue
            if bad_values is not None:
                self._check_rest(_sub_pieces(piece, _slow_bytes()), names, bad_values)
                continue
            try:
                for n, values, where in self._parse_rows(piece, names, position, kinds, no_header and count == 0):
                    for name in kinds:
                        parts[name].append(values.pop(name))
                    if line_map is not None:
                        line_map.append(n, where)
                    count += n
            except _HeldBack as held:
                bad_values = held.errors
        if bad_values is not None:
            raise bad_values.first()
        columns = {name: pa.chunked_array(part, type=pa.string()) if isinstance(part, list) else part.finish()
                   for name, part in parts.items()}
        return ParsedRows(columns, line_map, count)

    def _parse_rows(self, piece: Piece, names: List[str], position: Dict[str, int], kinds: Dict[str, str],
                    first_rows: bool):
        if FAST_PATH:
            parsed = arrow.parse_rows(piece.data, len(names), {position[n]: k for n, k in kinds.items()},
                                      self._field_sep)
            if parsed is not None:
                where = _row_lines(piece, parsed.num_rows)
                if where is not None:
                    yield parsed.num_rows, _Popping(parsed, position), where
                    return
        sub_pieces = _sub_pieces(piece, _slow_bytes())
        for data, line in sub_pieces:
            table = FieldTable.from_bytes(data, os.fspath(self.path), self._field_sep, first_line=line)
            if len(table.line) == 0:
                continue
            rows = table.rows(names)
            try:
                values = rows.convert(no_header=first_rows, **kinds)
            except DataFormatError:
                errors = _ValueErrors(kinds)
                errors.add(rows, first_rows)
                self._check_rest(sub_pieces, names, errors)
                raise _HeldBack(errors) from None
            first_rows = False
            for name, kind in kinds.items():
                if kind == "token":
                    values[name] = pa.array(values[name], type=pa.binary(), memory_pool=arrow.MEMORY_POOL).cast(
                        pa.string(), memory_pool=arrow.MEMORY_POOL)
            yield len(rows), values, rows.line

    def _check_rest(self, sub_pieces: Iterator[Tuple[bytes, int]], names: List[str],
                    errors: "_ValueErrors") -> None:
        # After a bad value: the whole-file reader split every line before
        # converting any value, so a wrong number of fields further on is
        # raised instead, and a column's error may still change (see
        # _ValueErrors). Field counts pyarrow vouches for are not split again.
        for data, line in sub_pieces:
            if not errors.open() and FAST_PATH and arrow.fields_agree(data, len(names), self._field_sep):
                continue
            table = FieldTable.from_bytes(data, os.fspath(self.path), self._field_sep, first_line=line)
            if len(table.line):
                errors.add(table.rows(names), False)

    def ragged_ints(self) -> RaggedRows:
        r"""Read lines of a variable number of non-negative integers.

        Raises:
            DataFormatError: At the first value that is not one.
        """
        heads, counts, rest = _Growing(np.int64), _Growing(np.int64), _Growing(np.int64)
        line_map = RowLines()
        last = 0  # the line of the last line recorded
        for piece in self.pieces():
            if piece.data.isspace():
                continue
            parsed = arrow.parse_ragged(piece.data) if FAST_PATH else None
            parts = [(piece.line, *parsed)] if parsed is not None else self._slow_ragged(piece)
            for first_line, values, where, sizes in parts:
                if len(where) and first_line + where[0] == last:
                    # A line cut between pieces: its values so far are recorded.
                    k = int(sizes[0])
                    rest.append(values[:k])
                    counts.array[-1] += k
                    values, where, sizes = values[k:], where[1:], sizes[1:]
                if not len(where):
                    continue
                starts = np.cumsum(sizes) - sizes
                heads.append(values[starts])
                keep = np.ones(len(values), dtype=bool)
                keep[starts] = False
                rest.append(values[keep])
                counts.append(sizes - 1)
                consecutive = int(where[-1] - where[0]) == len(where) - 1
                line_map.append(len(where), first_line + int(where[0]) if consecutive else first_line + where)
                last = first_line + int(where[-1])
        return RaggedRows(heads.finish(), counts.finish(), rest.finish(), line_map)

    def _slow_ragged(self, piece: Piece):
        for data, line in _sub_pieces(piece, _slow_bytes(), between_fields=True):
            table = FieldTable.from_bytes(data, os.fspath(self.path), None, first_line=line)
            values = table.all_ints()
            numbers, _, sizes = table.ragged_rows()
            yield line, values, numbers - line, sizes.astype(np.int64)

    def count_nonblank_lines(self) -> int:
        r"""The number of lines holding something other than whitespace (a
        line ends at ``\n``, ``\r\n`` or a lone ``\r``, as
        :meth:`bytes.splitlines` has it)."""
        count, open_line = 0, False
        for piece in self.pieces():
            marks = piece.data.translate(_LINE_MARKS, _DELETE_BLANKS)
            count += marks.count(b"\nx") + (marks.startswith(b"x") and not open_line)
            last_break = marks.rfind(b"\n")
            open_line = marks.rfind(b"x") > last_break if last_break >= 0 else (open_line or b"x" in marks)
        return count


# --- helpers ---------------------------------------------------------------------

class _ValueErrors:
    r"""The value errors of each column, gathered as the whole-file reader
    ranked them: a column's error is its earliest bad value of the most basic
    kind (not a number, before not finite, before not an integer timestamp),
    and the error raised is the earliest of the columns' errors."""

    def __init__(self, kinds: Dict[str, str]) -> None:
        self.kinds = kinds
        self.found: Dict[str, Tuple[int, DataFormatError]] = {}

    def add(self, rows, first_rows: bool) -> None:
        for name in self.open():
            try:
                rows.convert(no_header=first_rows, **{name: self.kinds[name]})
            except DataFormatError as error:
                stage = max((k for phrase, k in _STAGES.items() if phrase in error.reason), default=0)
                if name not in self.found or stage < self.found[name][0]:
                    self.found[name] = (stage, error)

    def open(self) -> List[str]:
        r"""Columns whose error may still change the one raised: later lines
        can only replace a column's error by a more basic one further on."""
        final = [error.line for stage, error in self.found.values() if stage == 0]
        first_final = min(final, default=None)
        return [name for name in self.kinds
                if (name not in self.found and first_final is None)
                or (name in self.found and self.found[name][0] > 0
                    and (first_final is None or self.found[name][1].line < first_final))]

    def first(self) -> DataFormatError:
        return min((error for _, error in self.found.values()), key=lambda error: (error.line, error.reason))


# The kinds of bad value of a float or time column, by their message (.columns).
_STAGES = {"): expected a finite number, got ": 1, "): expected an integer timestamp, got ": 2}


class _HeldBack(Exception):
    """Value errors held back until the rest of the file is checked."""

    def __init__(self, errors: _ValueErrors) -> None:
        super().__init__("value errors")
        self.errors = errors


def _chunk_bytes(text_size: Optional[int] = None) -> int:
    # The piece size for a file of about text_size bytes of text (None:
    # unknown, e.g. not a regular file): CHUNK_BYTES, or for a small file a
    # sixteenth of it, at least SMALL_CHUNK_BYTES.
    chunk = max(CHUNK_BYTES, _SMALLEST_PIECE)
    if text_size is None:
        return chunk
    return min(chunk, max(SMALL_CHUNK_BYTES, text_size // _PIECES_PER_SMALL_FILE, _SMALLEST_PIECE))


def _text_size(path: Path) -> Optional[int]:
    # The size of a regular file's text: its size, for .gz the larger of
    # that and the size its trailer records (ISIZE, the text's size modulo
    # 2**32), so that a small archive of a large text still gets large
    # pieces. Only the piece size depends on it. None when unknown.
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size
        if path.suffix == ".gz" and size >= 18:  # a gzip member's header and trailer
            with path.open("rb") as f:
                f.seek(-4, os.SEEK_END)
                size = max(size, int.from_bytes(f.read(4), "little"))
        return size
    except OSError:
        return None


def _slow_bytes() -> int:
    return max(SLOW_PATH_BYTES, _SMALLEST_PIECE)


def _trimmed(sep: str) -> bytes:
    # What the slow path trims around a field of a separated format.
    return b" \r" if sep == "\t" else b" \r\t"


def _cut_between_fields(data: bytes) -> int:
    # After the last whitespace byte, so that no field is split; else (one
    # field longer than a piece, an error anyway) at a character boundary.
    cut = max(data.rfind(b" "), data.rfind(b"\t"), data.rfind(b"\r")) + 1
    if cut:
        return cut
    cut = len(data)
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80 or byte >= 0xC0:  # not a continuation byte: a character starts here
            return len(data) - back if byte >= 0xC0 else len(data)
    return cut


def _sub_pieces(piece: Piece, size: int, between_fields: bool = False) -> Iterator[Tuple[bytes, int]]:
    # Whole lines of about size bytes; or, for lists of values, a cut between
    # two values of a longer line.
    data, line, start = piece.data, piece.line, 0
    while start < len(data):
        end = start + size
        if end < len(data):
            cut = data.rfind(b"\n", start, end) + 1
            if not cut and between_fields:
                cut = max(data.rfind(b" ", start, end), data.rfind(b"\t", start, end)) + 1
            if not cut:
                cut = data.find(b"\n", end) + 1 or len(data)
            end = cut
        part = data[start:end]
        yield part, line
        line += part.count(b"\n")
        start = end


def _row_lines(piece: Piece, rows: int) -> Union[int, np.ndarray, None]:
    # The line of each row pyarrow read: consecutive lines unless the piece
    # has blank lines ("" or a lone CR of CRLF), which pyarrow skips.
    data = piece.data
    total = piece.breaks + (not data.endswith(b"\n"))
    if rows == total:
        return piece.line
    lines = _filled_lines(data, piece.line)
    return lines if len(lines) == rows else None


def _filled_lines(data: bytes, first_line: int, window: int = 1 << 20) -> np.ndarray:
    buf = np.frombuffer(data, dtype=np.uint8)
    out, previous, seen = [], -1, 0
    for begin in range(0, len(buf), window):
        ends = np.flatnonzero(buf[begin:begin + window] == 10) + begin
        if not len(ends):
            continue
        starts = np.concatenate(([previous + 1], ends[:-1] + 1))
        size = ends - starts
        blank = (size == 0) | ((size == 1) & (buf[starts] == 13))
        out.append(np.flatnonzero(~blank) + (first_line + seen))
        seen += len(ends)
        previous = int(ends[-1])
    if data[previous + 1:] not in (b"", b"\r"):
        out.append(np.array([first_line + seen]))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


_DTYPES = {"int": np.int64, "time": np.int64, "float": np.float64}


class _Popping:
    """A piece's columns by name, each converted when popped."""

    def __init__(self, parsed: "arrow.ParsedPiece", position: Dict[str, int]) -> None:
        self.parsed, self.position = parsed, position

    def pop(self, name: str):
        return self.parsed.pop(self.position[name])


class _Growing:
    """A numpy column that grows in place as pieces arrive: realloc moves
    the pages of a large array without copying, so the column is never held
    twice (as pieces and concatenated)."""

    def __init__(self, dtype) -> None:
        self.array = np.empty(0, dtype=dtype)

    def append(self, values: np.ndarray) -> None:
        size = len(self.array)
        self.array.resize(size + len(values), refcheck=False)
        self.array[size:] = values

    def finish(self) -> np.ndarray:
        return self.array


