r"""The readers' fast path: one piece of text parsed by pyarrow.

:func:`parse_rows` and :func:`parse_ragged` either return exactly what the
numpy parser of :mod:`.columns` (the slow path) would return for the piece, or
``None`` when they cannot vouch for that. They never raise for bad data:
anything unusual (a field pyarrow would read differently, a value the slow path
might refuse, a line break pyarrow sees and the readers do not) sends the piece
to the slow path, which either reads it the same way or names the bad line.

What is vouched for, column by column, after pyarrow split the piece into
string columns (quoting off, every value a string, so nothing is converted
behind our back):

* ``int``: 1 to 18 ASCII digits, then cast to int64 (pyarrow alone would
  accept ``-7``, ``0x1f`` or 19 digits);
* ``float``/``time``: at most 64 characters of digits with at most one
  decimal point (``3``, ``4.5``, ``881250949.0``, ``.5``); both pyarrow and
  Python round such text correctly, so the values are the same bits. Exponents,
  signs, ``nan`` or ``inf`` go to the slow path. ``time`` must then be
  integer-valued and at most 2**62, as in the slow path;
* ``token``: 1 to 1024 bytes; the pyarrow string column is kept as it is.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from .columns import MAX_FLOAT_CHARS, MAX_INT_DIGITS, MAX_TOKEN_BYTES

__all__ = ["parse_rows", "parse_ragged", "fields_agree", "ParsedPiece", "MEMORY_POOL"]

#: Where the readers' pyarrow buffers come from: the C allocator, which hands
#: a freed piece's buffers back (pyarrow's default pool keeps them, ~20 MB
#: resident after a 1 MB file with transparent huge pages). Passed to every
#: call, so pyarrow's global default is left alone.
MEMORY_POOL = pa.system_memory_pool()

Column = Union[np.ndarray, pa.Array]

_LIMITS = {"int": MAX_INT_DIGITS, "float": MAX_FLOAT_CHARS, "time": MAX_FLOAT_CHARS, "token": MAX_TOKEN_BYTES}
_PLAIN_DECIMAL = r"^([0-9]+\.?[0-9]*|\.[0-9]+)$"
_POOL = {"memory_pool": MEMORY_POOL}
_BOM = b"\xef\xbb\xbf"
# Bytes below 0x20 other than tab, line feed and carriage return.
_CONTROLS = np.array([b not in (9, 10, 13) for b in range(32)] + [False] * 224)


def _lone_cr(data: bytes) -> bool:
    # pyarrow ends a line at a lone CR; the readers do not.
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")


class ParsedPiece:
    r"""The validated columns of a piece, converted one at a time
    (:meth:`pop`), so that a piece's string columns and all its typed
    columns are never held together.

    Attributes:
        num_rows (int): The rows of the piece.
    """

    def __init__(self, num_rows: int, columns: Dict[int, Tuple[Column, str]]) -> None:
        self.num_rows = num_rows
        self._columns = columns

    def pop(self, k: int) -> Column:
        r"""Column :obj:`k`: int64/float64 numpy values, or pyarrow strings
        for tokens. Its text is released."""
        column, kind = self._columns.pop(k)
        if kind in ("int", "float"):
            column = pc.cast(column, pa.int64() if kind == "int" else pa.float64(), **_POOL).to_numpy()
        return column


def parse_rows(data: bytes, num_columns: int, kinds: Dict[int, str],
               sep: Optional[str]) -> Optional[ParsedPiece]:
    r"""Parse rows of exactly :obj:`num_columns` fields.

    Args:
        data (bytes): Whole lines of validated UTF-8 text.
        num_columns (int): Fields per line.
        kinds (dict): Column index -> ``"int"``, ``"float"``, ``"time"`` or
            ``"token"`` (see :meth:`hypgraph.data.readers.columns.Rows.convert`).
        sep (str, optional): The separator; ``None`` for runs of whitespace.

    Returns:
        ParsedPiece or None: The rows, every requested column validated, or
        ``None``. Blank lines (empty, or a lone CR of CRLF) are skipped, as
        pyarrow does.
    """
    split = _split(data, num_columns, kinds, sep, "token" in kinds.values())
    if split is None:
        return None
    table, names, trim = split
    columns = {k: _column(table, names[k], trim) for k in kinds}
    num_rows = table.num_rows
    del table
    for k, kind in kinds.items():
        checked = _check(columns[k], kind)
        if checked is None:
            return None
        columns[k] = (checked, kind)
    return ParsedPiece(num_rows, columns)


def fields_agree(data: bytes, num_columns: int, sep: Optional[str]) -> bool:
    r"""Whether every line of :obj:`data` surely has :obj:`num_columns`
    fields as the slow path splits them (``False``: it may not)."""
    return _split(data, num_columns, {}, sep, False) is not None


def _split(data: bytes, num_columns: int, kinds: Dict[int, str], sep: Optional[str], tokens: bool):
    if _lone_cr(data) or data.startswith(_BOM):
        return None  # pyarrow would end a line at a lone CR, and drop a BOM the readers keep here
    if sep is None:
        has_tab, has_space = b"\t" in data, b" " in data
        if has_tab and has_space:
            return None  # a mix of separators: pyarrow splits on one
        delimiter, trim = ("\t" if has_tab else " "), ""
        if tokens and _CONTROLS[np.frombuffer(data, dtype=np.uint8)].any():
            return None  # control bytes separate fields here; a token must not keep one
    else:
        delimiter = sep
        trim = "".join(c for c in (" " if sep == "\t" else " \t") if c.encode() in data)
    names = [f"f{k}" for k in range(num_columns)]
    # A whitespace format reads every column: an empty field there is a run
    # of separators, and the slow path would see one field fewer.
    wanted = names if sep is None else [names[k] for k in kinds]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)),
            read_options=pcsv.ReadOptions(column_names=names, block_size=len(data) + 1, use_threads=False),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                            escape_char=False, newlines_in_values=False,
                                            ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in wanted},
                                                include_columns=wanted, null_values=[],
                                                strings_can_be_null=False, check_utf8=False),
            memory_pool=MEMORY_POOL)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # (columns converted below are checked there)
    unchecked = [names[k] for k in range(num_columns) if k not in kinds] if sep is None else []
    if table.num_rows and any(pc.min(pc.binary_length(table.column(n), **_POOL)).as_py() < 1 for n in unchecked):
        return None
    return table, names, trim


def _column(table: pa.Table, name: str, trim: str) -> pa.Array:
    column = table.column(name)
    column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks(memory_pool=MEMORY_POOL)
    return pc.utf8_trim(column, trim, **_POOL) if trim else column


def _check(column: pa.Array, kind: str) -> Optional[Column]:
    # The column if its text will convert as the slow path would (a "time"
    # column is converted here, as that is its check), else None.
    if len(column) == 0:
        return column if kind != "time" else np.zeros(0, dtype=np.int64)
    span = pc.min_max(pc.binary_length(column, **_POOL), **_POOL)
    if span["min"].as_py() < 1 or span["max"].as_py() > _LIMITS[kind]:
        return None
    if kind == "token":
        return column
    digits_only = pc.all(pc.ascii_is_decimal(column, **_POOL), **_POOL).as_py()
    if kind == "int":
        return column if digits_only else None
    if not digits_only and not pc.all(pc.match_substring_regex(column, _PLAIN_DECIMAL, **_POOL), **_POOL).as_py():
        return None
    if kind == "float":
        return column
    values = pc.cast(column, pa.float64(), **_POOL).to_numpy()
    if (values != np.floor(values)).any() or (np.abs(values) > 2.0 ** 62).any():
        return None
    return values.astype(np.int64)


def parse_ragged(data: bytes) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    r"""Parse lines of a variable number of non-negative integers (KGAT's
    ``user item item ...``).

    Args:
        data (bytes): Validated UTF-8 text; may start or end inside a line.

    Returns:
        (numpy.ndarray, numpy.ndarray, numpy.ndarray) or None: All values in
        order; the 0-based index, counted in ``\n`` from the start of
        :obj:`data`, of each line holding values; and how many values each
        such line holds. ``None`` when a value is not plainly an integer.
    """
    text = pa.StringArray.from_buffers(1, pa.py_buffer(np.array([0, len(data)], dtype=np.int32)),
                                       pa.py_buffer(data))
    lines = pc.split_pattern(text, "\n", **_POOL).flatten()
    lines = pc.ascii_trim_whitespace(lines, **_POOL)
    filled = pc.greater(pc.binary_length(lines, **_POOL), 0, **_POOL)
    where = np.flatnonzero(filled.to_numpy(zero_copy_only=False))
    tokens = pc.ascii_split_whitespace(pc.filter(lines, filled, **_POOL), **_POOL)
    del lines
    counts = pc.list_value_length(tokens, **_POOL).to_numpy().astype(np.int64)
    tokens = tokens.flatten()
    if _check(tokens, "int") is None:
        return None
    return pc.cast(tokens, pa.int64(), **_POOL).to_numpy(), where, counts
