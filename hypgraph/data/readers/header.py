r"""The header of a table, read without reading the table, and the columns
guessed from it: one home for what ``hypgraph-stats`` and the command line
need before they pick a reader's arguments."""
from __future__ import annotations

import csv
import gzip
import os
import zlib
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

from ..errors import DataFormatError
from .columns import MAX_HEADER_BYTES

__all__ = ["read_header", "guess_columns", "guess_rating_column", "MAX_HEADER_BYTES"]

PathLike = Union[str, os.PathLike]


USER_WORDS = ("user", "uid", "customer", "member", "reader")
ITEM_WORDS = ("item", "iid", "movie", "artist", "book", "isbn", "product", "asin", "track",
              "song", "business", "article")
RATING_WORDS = ("rating", "score", "stars")


def read_header(path: PathLike) -> List[str]:
    r"""The column names on the first line of a delimited text file
    (``.gz`` decompressed), split on the most frequent of tab, comma,
    semicolon and ``|`` (else whitespace), quotes removed.

    Only the first line is read, and at most :data:`MAX_HEADER_BYTES` of it.

    Raises:
        DataFormatError: If the file cannot be opened, is a truncated or
            corrupt gzip, is not UTF-8 text, or its first line is empty or
            longer than :data:`MAX_HEADER_BYTES`.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.readline(MAX_HEADER_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DataFormatError(f"cannot read the header ({reason}); expected a line of column names",
                              path, 1) from None
    if len(raw) > MAX_HEADER_BYTES:
        raise DataFormatError(f"the first line is longer than {MAX_HEADER_BYTES:,} bytes; "
                              f"expected a line of column names", path, 1)
    try:
        line = raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"byte 0x{raw[exc.start]:02x} is not UTF-8; expected a line of column names",
                              path, 1) from None
    names = [name.strip().strip('"').strip("'") for name in _split(line)]
    if not any(names):
        raise DataFormatError("the first line is empty; expected a line of column names", path, 1)
    return names


def _split(line: str) -> List[str]:
    counts = {sep: line.count(sep) for sep in ("\t", ",", ";", "|")}
    sep = max(counts, key=counts.get)
    if not counts[sep]:
        return line.split()
    # the line is bounded above, so the csv module's field limit cannot bite
    # unless one name is longer than it: report that as a bad header
    try:
        return next(csv.reader([line], delimiter=sep))
    except (csv.Error, StopIteration):
        return line.split(sep)


def guess_columns(names: List[str], given: Optional[Mapping[str, Optional[str]]] = None, *,
                  path: Optional[PathLike] = None) -> Dict[str, str]:
    r"""``user_col`` and ``item_col`` (and any of ``rating_col``/``time_col``
    given) for a table with header :obj:`names`.

    A column not given is the first whose name contains a typical word
    (``user``, ``uid``, ``customer``... for users; ``item``, ``movie``,
    ``book``, ``asin``... for items), so ``User-ID;ISBN;Book-Rating`` gives
    ``User-ID`` and ``ISBN``.

    Args:
        names (list of str): The header (see :func:`read_header`).
        given (mapping, optional): Columns already chosen (``None`` values
            are ignored).
        path (str or os.PathLike, optional): The file, for error messages.

    Raises:
        DataFormatError: If a column cannot be found.
    """
    out = {k: v for k, v in (given or {}).items() if v is not None}
    for key, words in (("user_col", USER_WORDS), ("item_col", ITEM_WORDS)):
        if key in out:
            continue
        found = [n for n in names if any(w in n.lower() for w in words)]
        option = "--" + key.replace("_", "-")
        if not found:
            raise DataFormatError(f"no {key.split('_')[0]} column in the header {names!r}; "
                                  f"name it with {option}", path, 1)
        out[key] = found[0]
    return out


def guess_rating_column(names: List[str]) -> Optional[str]:
    r"""The first column named like a rating (``rating``, ``score``,
    ``stars``), or ``None``."""
    return next((n for n in names if any(w in n.lower() for w in RATING_WORDS)), None)

