r"""Pick a reader from what a file or folder looks like."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Optional, Union

from torch_geometric.data import HeteroData

from ..errors import DataFormatError
from .files import find_file, why_absent
from .hgcf import read_hgcf
from .kgat import read_kgat
from .kgcn import read_kgcn
from .movielens import read_movielens
from .recbole import read_recbole
from .tabular import read_table

__all__ = ["read", "detect_format", "READERS"]

READERS: Dict[str, Callable[..., HeteroData]] = {
    "movielens": read_movielens,
    "kgat": read_kgat,
    "kgcn": read_kgcn,
    "recbole": read_recbole,
    "hgcf": read_hgcf,
    "table": read_table,
}

EXPECTED = (
    "one of: u.data or ml-100k/u.data (movielens); train.txt + test.txt (kgat); "
    "ratings_final.txt (kgcn); <name>.inter (recbole); train.pkl + test.pkl (hgcf); "
    "a .csv/.tsv/.parquet file (table)")

_TABLE_SUFFIXES = {".csv", ".tsv", ".parquet"}


def detect_format(path: Union[str, os.PathLike]) -> str:
    r"""Name the reader for :obj:`path` (a key of :data:`READERS`).

    Raises:
        DataFormatError: Naming :obj:`path` and the files that were expected,
            when nothing matches.
    """
    path = Path(path)
    if path.is_file():
        name = path.name
        suffixes = [s for s in path.suffixes if s != ".gz"]
        if name == "u.data" or path.suffix in {".base", ".test"}:
            return "movielens"
        if path.suffix == ".inter":
            return "recbole"
        if suffixes and suffixes[-1] in _TABLE_SUFFIXES:
            return "table"
        folder_format = _detect_folder(path.parent)
        if folder_format is not None and name in {"train.txt", "test.txt", "ratings_final.txt",
                                                  "train.pkl", "test.pkl"}:
            return folder_format
        raise DataFormatError(f"cannot tell the format of this file; expected {EXPECTED}", path)
    if path.is_dir():
        found = _detect_folder(path)
        if found is not None:
            return found
        raise DataFormatError(f"cannot tell the format of this folder; expected {EXPECTED}", path)
    raise DataFormatError(f"{why_absent(path)}; expected a file or folder with {EXPECTED}", path)


def _detect_folder(folder: Path) -> Optional[str]:
    if find_file([folder, folder / "ml-100k", folder / "raw" / "ml-100k"], ["u.data"]):
        return "movielens"
    if (folder / "train.pkl").is_file() or (folder / "test.pkl").is_file():
        return "hgcf"
    if find_file([folder], ["ratings_final.txt"], subfolders=True):
        return "kgcn"
    # test.txt alone still means KGAT, so that the reader names train.txt as missing.
    if (folder / "train.txt").is_file() or (folder / "test.txt").is_file():
        return "kgat"
    if any(folder.glob("*.inter")):
        return "recbole"
    return None


def read(path: Union[str, os.PathLike], reader: str = "auto", **kwargs) -> HeteroData:
    r"""Read any supported dataset into the project's :class:`HeteroData`.

    Args:
        path (str or os.PathLike): A file or dataset folder.
        reader (str): ``"auto"`` to detect, or a key of :data:`READERS`:
            ``"movielens"``, ``"kgat"``, ``"kgcn"``, ``"recbole"``,
            ``"hgcf"``, ``"table"``. (default: ``"auto"``)
        **kwargs: Passed to the reader, e.g. ``user_col=``/``item_col=`` for
            tables or ``name=`` for RecBole.

    Returns:
        HeteroData: See the individual readers.

    Raises:
        DataFormatError: If the format cannot be detected or the data is bad.
        ValueError: For an unknown :obj:`reader` name.
    """
    if reader == "auto":
        reader = detect_format(path)
        path = Path(path)
        if reader in {"kgat", "kgcn", "hgcf"} and path.is_file():
            path = path.parent
    if reader not in READERS:
        raise ValueError(f"unknown reader {reader!r}; expected 'auto' or one of {', '.join(READERS)}")
    if reader == "table" and not {"user_col", "item_col"} <= kwargs.keys():
        raise DataFormatError("a table needs user_col=... and item_col=... naming its columns", path)
    return READERS[reader](path, **kwargs)
