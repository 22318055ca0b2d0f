r"""Reading what ``hypgraph train`` is given: any format the readers detect,
tables whose columns are guessed from the header, and header-less
``user item [rating [time]]`` text; then the preparation (filters,
de-duplication) and the split."""
from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from torch_geometric.data import HeteroData

from ..data import DataFormatError, explicit_split, given_split, leave_last_out, prepare, random_split
from ..data.hetero import INTERACTS
from ..data.readers import (detect_format, guess_columns, guess_rating_column, read, read_header,
                            read_pairs)
from ..data.readers.columns import MAX_HEADER_BYTES
from ..data.readers.pairs import first_row
from .config import NONE

__all__ = ["read_interactions", "load_split", "detect"]

_FOLDER_FORMATS = ("kgat", "kgcn", "hgcf")
_TIME_WORDS = ("timestamp", "time", "unixtime")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _has_header(path: Path) -> bool:
    r"""Whether the first line of a text file names its columns: it holds no
    number and either names a user and an item column (see
    :func:`~hypgraph.data.readers.guess_columns`) or has a word where the
    second line has a number (as :class:`csv.Sniffer` decides)."""
    fields, line, sep = first_row(path)
    if any(_NUMBER.match(f) for f in fields):
        return False
    try:
        guess_columns(read_header(path), path=path)
        return True
    except DataFormatError:
        pass
    second = _second_row(path, line, sep)
    return any(_NUMBER.match(b) and not _NUMBER.match(a) for a, b in zip(fields, second))


def _second_row(path: Path, first_line: int, sep: Optional[str]) -> List[str]:
    # the fields of the next non-blank line after the first (bounded read)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for number in range(1, first_line + 1 + 1000):
                raw = fh.readline(MAX_HEADER_BYTES + 1)
                if not raw or len(raw) > MAX_HEADER_BYTES:
                    return []
                if number > first_line and raw.strip():
                    text = raw.decode("utf-8", errors="replace").strip()
                    return [f.strip().strip('"') for f in (text.split(sep) if sep else text.split())]
    except (OSError, EOFError, zlib.error):
        return []
    return []


def detect(path: Path, *, single_file: bool = False) -> str:
    r"""The format of :obj:`path`: a reader of :mod:`hypgraph.data.readers`
    (``movielens``, ``kgat``, ...), ``table`` (a header naming the columns)
    or ``pairs`` (header-less ``user item [rating [time]]``). With
    :obj:`single_file` a file is read on its own, never as part of the
    dataset folder it sits in (a ``train.txt`` beside a ``test.txt`` is not
    then a KGAT folder)."""
    try:
        name = detect_format(path)
    except DataFormatError:
        if not path.is_file():
            raise
        name = None
    if single_file and name in _FOLDER_FORMATS and path.is_file():
        name = None
    if name not in (None, "table") or (name == "table" and path.suffix == ".parquet"):
        return name
    return "table" if _has_header(path) else "pairs"


def _table_columns(path: Path, data_cfg: Dict[str, object]) -> Dict[str, str]:
    given = {key: data_cfg[key] for key in ("user_col", "item_col", "rating_col", "time_col")
             if data_cfg.get(key, NONE) != NONE}
    if {"user_col", "item_col"} <= given.keys():
        return given
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"not a readable Parquet file ({exc})", path) from None
    else:
        names = read_header(path)
    out = guess_columns(names, given, path=path)
    if "rating_col" not in out:
        rating = guess_rating_column(names)
        if rating is not None:
            out["rating_col"] = rating
    if "time_col" not in out:
        time = next((n for n in names if n.lower() in _TIME_WORDS), None)
        if time is not None:
            out["time_col"] = time
    return out


def read_interactions(path: Path, data_cfg: Dict[str, object], *,
                      single_file: bool = False) -> Tuple[HeteroData, str, Dict[str, str]]:
    r"""Read :obj:`path` in the format ``data_cfg['format']`` (``auto``:
    :func:`detect`, with :obj:`single_file`).

    Returns:
        (HeteroData, str, dict): The data as read, its format and, for a
        table, the columns read (``user_col``, ``item_col`` and any of
        ``rating_col``/``time_col``).

    Raises:
        DataFormatError: For anything wrong with the file (one line).
    """
    path = Path(path)
    fmt = str(data_cfg.get("format", "auto"))
    detected = fmt == "auto"
    if detected:
        fmt = detect(path, single_file=single_file)
    columns: Dict[str, str] = {}
    if fmt == "pairs":
        return read_pairs(path), fmt, columns
    if fmt == "table":
        try:
            columns = _table_columns(path, data_cfg)
        except DataFormatError as err:
            if not detected or path.suffix == ".parquet":
                raise
            raise DataFormatError(f"{err.reason} (or --format pairs if its first line is data, not a header)",
                                  err.path, err.line) from None
        return read(path, reader="table", **columns), fmt, columns
    if fmt in ("kgat", "kgcn", "hgcf") and path.is_file():
        path = path.parent
    return read(path, reader=fmt), fmt, columns


def _prepared(data: HeteroData, path: Path, *, min_rating: Optional[float],
              min_user_interactions: Optional[int]) -> HeteroData:
    n_read = data[INTERACTS].edge_index.size(1)
    try:
        data = prepare(data, min_rating=min_rating, min_user_interactions=min_user_interactions)
    except ValueError as err:
        raise DataFormatError(str(err), path) from None
    if data[INTERACTS].edge_index.size(1) == 0:
        raise DataFormatError(f"no interactions left after the filters (of {n_read:,} read)", path)
    return data


def _opt(value):
    return None if value == NONE else value


def load_split(config: Dict[str, Dict[str, object]], *, use_shipped_split: bool = False):
    r"""Read, prepare and split the data of a resolved configuration; fills in
    ``config['data']``'s detected format and columns, and (with
    :obj:`use_shipped_split`) ``config['split']['method'] = 'given'`` when
    the data ships its own split (KGAT, HGCF).

    Returns:
        (HeteroData, HeteroData, HeteroData): ``train, val, test``.

    Raises:
        DataFormatError: For bad data, or a split that does not fit it.
    """
    data_cfg, split = config["data"], config["split"]
    path = Path(str(data_cfg["path"]))
    # with files for the other parts, DATA is the training file alone
    single = split["method"] == "given" and split["test"] != NONE
    data, fmt, columns = read_interactions(path, data_cfg, single_file=single)
    data_cfg["format"] = fmt
    for key in ("user_col", "item_col", "rating_col", "time_col"):
        data_cfg[key] = columns.get(key, data_cfg[key]) if fmt == "table" else NONE
    min_rating, min_users = _opt(data_cfg["min_rating"]), _opt(data_cfg["min_user_interactions"])
    data = _prepared(data, path, min_rating=min_rating, min_user_interactions=min_users)
    if use_shipped_split and "train_mask" in data[INTERACTS]:
        split["method"] = "given"
    method = split["method"]
    try:
        if method == "random":
            return random_split(data, test_ratio=split["test_ratio"], val_ratio=split["val_ratio"],
                                seed=split["seed"])
        if method == "leave-last-out":
            if "time" not in data[INTERACTS]:
                raise DataFormatError("--split leave-last-out needs timestamps, and these interactions have "
                                      "none (a time column, or a 4th field per row); use --split random", path)
            return leave_last_out(data)
        if split["test"] == NONE:
            if "train_mask" not in data[INTERACTS]:
                raise DataFormatError("--split given needs a dataset that ships its split (KGAT, HGCF) or "
                                      "--test FILE (and optionally --valid FILE)", path)
            return given_split(data, val_ratio=split["val_ratio"], seed=split["seed"])
        held = []
        for key in ("test", "valid"):
            if split[key] == NONE:
                held.append(None)
                continue
            part_path = Path(str(split[key]))
            part, _, _ = read_interactions(part_path, {**data_cfg, "format": "auto"}, single_file=True)
            held.append(_prepared(part, part_path, min_rating=min_rating if "rating" in part[INTERACTS] else None,
                                  min_user_interactions=None))
        test, valid = held
        return explicit_split(data, test, valid, val_ratio=0.0 if valid is not None else split["val_ratio"],
                              seed=split["seed"])
    except DataFormatError:
        raise
    except ValueError as err:
        raise DataFormatError(str(err), path) from None

