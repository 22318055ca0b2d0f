r"""Reading and preparing a dataset file for the report: the reader chosen by
:mod:`hypgraph.data.readers` (imported lazily), the filters of
:func:`hypgraph.data.preprocess.prepare`, and a short dataset name."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Optional

__all__ = ["load_dataset", "dataset_name"]


_GENERIC_STEMS = frozenset({"u", "train", "test", "ratings_final", "ratings", "user_item_list", "data",
                            "interactions", "inter"})


def dataset_name(path: Optional[os.PathLike]) -> str:
    r"""A short name for :obj:`path`: the folder's name, or the file's stem
    unless that is generic (``u.data``, ``train.txt``...), then its folder's."""
    if path is None:
        return "synthetic"
    path = Path(path).resolve()
    if path.is_dir():
        return path.name
    stem = path.name.split(".")[0]
    return path.parent.name if stem in _GENERIC_STEMS and path.parent.name else stem


def load_dataset(path, reader: str = "auto", *, min_rating: Optional[float] = None,
                 min_user_interactions: Optional[int] = None,
                 columns: Optional[Dict[str, str]] = None):
    r"""Read :obj:`path` with :func:`hypgraph.data.readers.read` and prepare it
    with :func:`hypgraph.data.preprocess.prepare` (de-duplicate, filter,
    compact).

    Args:
        path (str or os.PathLike, optional): A dataset file or folder;
            ``None`` for :func:`hypgraph.data.synthetic.default_dataset`.
        reader (str): ``"auto"`` or a reader name; ``"csv"`` is the table
            reader. (default: ``"auto"``)
        min_rating (float, optional): Keep ratings at least this.
        min_user_interactions (int, optional): Keep users with at least this
            many interactions.
        columns (dict, optional): ``user_col``/``item_col``/``rating_col``/
            ``time_col`` for tables; missing user/item columns are guessed
            from the header.

    Returns:
        (HeteroData, int): The prepared data and the number of interactions
        read.

    Raises:
        hypgraph.data.DataFormatError: For unreadable data, or options that do
            not fit it (e.g. :obj:`min_rating` without ratings), or nothing
            left after the filters.
    """
    from hypgraph.data import REV_INTERACTS, DataFormatError
    from hypgraph.data.preprocess import prepare

    if path is None:
        from hypgraph.data.synthetic import default_dataset
        data = default_dataset()
    else:
        from hypgraph.data.readers import detect_format, read
        name = "table" if reader == "csv" else reader
        if name == "auto":
            name = detect_format(path)
        kwargs = {}
        if name == "table":
            kwargs = _table_columns(Path(path), columns or {})
        data = read(path, reader=reader if reader != "csv" else "table", **kwargs)
        # The reverse edges of the data just read are a full copy that prepare()
        # rebuilds from the kept interactions: freed before it runs, they do not
        # add to its peak (320 MB on 20M interactions).
        if REV_INTERACTS in data.edge_types and "edge_index" in data[REV_INTERACTS]:
            del data[REV_INTERACTS].edge_index
    n_read = int(data["user", "interacts", "item"].edge_index.size(1))
    try:
        data = prepare(data, min_rating=min_rating, min_user_interactions=min_user_interactions)
    except ValueError as err:
        raise DataFormatError(str(err), path if path is not None else "synthetic") from None
    if data["user", "interacts", "item"].edge_index.size(1) == 0:
        raise DataFormatError(f"no interactions left after the filters (of {n_read:,} read)",
                              path if path is not None else "synthetic")
    return data, n_read


def _table_columns(path: Path, given: Dict[str, Optional[str]]) -> Dict[str, str]:
    r"""``user_col``/``item_col`` (guessed from the header when not given),
    plus any rating/time columns given."""
    from hypgraph.data import DataFormatError
    from hypgraph.data.readers import guess_columns, read_header

    out = {k: v for k, v in given.items() if v is not None}
    if {"user_col", "item_col"} <= out.keys():
        return out
    if path.suffix == ".parquet":
        raise DataFormatError("name the columns with --user-col and --item-col", path)
    return guess_columns(read_header(path), out, path=path)
