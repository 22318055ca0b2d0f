r"""MovieLens 100K ``u.data`` (GroupLens): ``user item rating timestamp``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from torch_geometric.data import HeteroData

import numpy as np

from ..errors import DataFormatError
from ..hetero import build_hetero_data
from .columns import FIXED_LINE_BYTES
from .ids import factorize
from .stream import TextStream

__all__ = ["read_movielens", "locate_movielens"]

COLUMNS = ["user_id", "item_id", "rating", "timestamp"]
EXPECTED = "u.data, or a folder holding u.data or ml-100k/u.data (PyG raw layout)"


def locate_movielens(path: Union[str, os.PathLike]) -> Path:
    r"""Find the ratings file for :obj:`path`.

    Args:
        path (str or os.PathLike): A ratings file in ``u.data`` format (also
            ``u1.base``, ``ua.test``, ...), a folder holding ``u.data``, or a
            folder holding ``ml-100k/u.data`` (PyG's raw layout).

    Raises:
        DataFormatError: If no such file exists.
    """
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / "u.data", path / "ml-100k" / "u.data", path / "raw" / "ml-100k" / "u.data"):
        if candidate.is_file():
            return candidate
    raise DataFormatError(f"no MovieLens ratings found; expected {EXPECTED}", path)


def read_movielens(path: Union[str, os.PathLike]) -> HeteroData:
    r"""Read MovieLens ``u.data``: whitespace-separated ``user item rating
    timestamp`` rows without a header.

    Users and items become nodes ``0..n-1`` in order of their original id;
    ``raw_id`` keeps the original ids. Every row is an interaction (the file
    has no duplicates; a repeated pair would be kept as a second edge).

    Args:
        path (str or os.PathLike): See :func:`locate_movielens`.

    Returns:
        HeteroData: Users, items and ``('user', 'interacts', 'item')`` with
        ``rating`` (float) and ``time`` (Unix seconds).

    Raises:
        DataFormatError: For a missing file or any malformed row.
    """
    file = locate_movielens(path)
    what = "MovieLens ratings (" + " ".join(COLUMNS) + ")"
    with TextStream(file, what=what, max_line=FIXED_LINE_BYTES) as stream:
        # float32: what the graph stores, without a float64 copy beside it
        cols = stream.rows(COLUMNS, no_header=True, dtypes={"rating": np.float32}, user_id="int", item_id="int",
                           rating="float", timestamp="int").columns
    # The codes go straight into the rows of the [2, E] edge array the graph
    # keeps, each id column freed once coded: no stacked copy beside them.
    edge = np.empty((2, len(cols["user_id"])), dtype=np.int64)
    _, user_raw = factorize(cols.pop("user_id"), out=edge[0])
    _, item_raw = factorize(cols.pop("item_id"), out=edge[1])
    return build_hetero_data(
        edge[0], edge[1], num_users=len(user_raw), num_items=len(item_raw),
        rating=cols["rating"], time=cols["timestamp"],
        user_raw_id=user_raw, item_raw_id=item_raw)
