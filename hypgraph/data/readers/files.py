r"""Locating the files of a dataset folder, with errors that list what was
expected and what was found."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from ..errors import DataFormatError

__all__ = ["find_file", "require_dir", "missing_error", "why_absent"]

PathLike = Union[str, os.PathLike]


def find_file(folders: Iterable[Path], names: Sequence[str], *, subfolders: bool = False) -> Optional[Path]:
    r"""Return the first existing ``folder / name``.

    Args:
        folders (iterable of pathlib.Path): Folders, searched in order.
        names (sequence of str): Accepted file names, in order of preference.
        subfolders (bool): Also search the immediate subfolders of each folder,
            in sorted order. (default: :obj:`False`)

    Returns:
        pathlib.Path or None: The file, or ``None`` when there is none.
    """
    for folder in folders:
        candidates = [folder]
        if subfolders and folder.is_dir():
            candidates += sorted(p for p in folder.iterdir() if p.is_dir())
        for candidate in candidates:
            for name in names:
                path = candidate / name
                if path.is_file():
                    return path
    return None


def _listing(folder: Path) -> str:
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError:
        return "nothing (not readable)"
    if not names:
        return "nothing"
    shown = ", ".join(names[:12])
    return shown + (f", ... ({len(names)} entries)" if len(names) > 12 else "")


def missing_error(folder: Path, missing: Sequence[str], expected: str) -> DataFormatError:
    r"""Build the error for files absent from :obj:`folder`.

    Args:
        folder (pathlib.Path): Where they were expected.
        missing (sequence of str): The absent file names.
        expected (str): The layout the reader needs, e.g.
            ``"train.txt and test.txt (kg_final.txt optional)"``.
    """
    names = " and ".join(missing)
    return DataFormatError(
        f"missing {names}: expected {expected}; the folder holds {_listing(folder)}",
        folder / missing[0])


def require_dir(path: PathLike, expected: str) -> Path:
    r"""Return :obj:`path` as a folder, or raise naming what it should hold.

    Raises:
        DataFormatError: If :obj:`path` is not an existing folder.
    """
    path = Path(path)
    if not path.is_dir():
        what = "is a file" if path.exists() else why_absent(path)
        raise DataFormatError(f"{what}; expected a folder with {expected}", path)
    return path


def why_absent(path: PathLike) -> str:
    r"""Say why :obj:`path` cannot be opened: ``"does not exist"``, ``"is a
    symbolic link loop"``, ``"is a broken symbolic link to ..."`` or the
    operating system's reason (e.g. permission denied)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"is a broken symbolic link to {os.readlink(path)}"
        return "does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        return f"cannot be opened ({exc.strerror or exc})"
    return "exists but is neither a regular file nor a folder"


