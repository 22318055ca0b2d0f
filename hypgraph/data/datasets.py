r"""PyG :class:`~torch_geometric.data.InMemoryDataset` classes for the
real datasets, built on :mod:`hypgraph.data.readers`.

Unlike PyG's own datasets, the raw files are read where they lie, in
``<root>/<dataset folder>`` (the layout of ``shared/data``), and nothing is
downloaded: this project runs offline and several sources forbid
redistribution, so :meth:`download` raises :class:`RawFilesMissingError`
naming the files, the folder and the official source. Processed files go to
``<raw folder>/processed`` or, for a read-only raw root, to
``processed_dir/<dataset>``.

The root is the :obj:`root` argument or ``$HYPGRAPH_DATA``
(:func:`~hypgraph.data.paths.data_root`).
"""
from __future__ import annotations

import os
import stat
import sys
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import Callable, List, Optional, Union

from torch_geometric.data import HeteroData, InMemoryDataset

from .cache import CacheError, load_cache, save_cache
from .errors import DataFormatError
from .paths import data_root

__all__ = ["RawFilesMissingError", "MovieLens100K", "KGAT", "KGCN", "RecBoleDataset", "AmazonCD"]

PathLike = Union[str, os.PathLike]


class RawFilesMissingError(DataFormatError):
    r"""Raw files of a dataset are absent and cannot be downloaded here."""


class _ReaderDataset(InMemoryDataset):
    r"""A single-graph dataset whose :meth:`process` calls one reader.

    The processed file is a :mod:`hypgraph.data.cache`: plain tensors, numbers
    and strings read with ``torch.load(weights_only=True)`` only, never PyG's
    loader (which falls back to ``weights_only=False``), so a file planted in
    the processed folder cannot run code. A cache that is unreadable, of
    another format, or built from other raw files or another
    :obj:`pre_transform` is rebuilt from the raw files, with a one-line
    warning when it was not merely stale.

    Args:
        root (str or os.PathLike, optional): The data root holding the
            dataset folder (default: ``$HYPGRAPH_DATA``).
        processed_dir (str or os.PathLike, optional): Where processed files
            go, in a subfolder named after the dataset; needed when the raw
            root is read-only. (default: ``<raw folder>/processed``)
        transform, pre_transform (callable, optional): As in PyG.
        force_reload (bool): Re-process even if processed files exist.
        log (bool): Print progress while processing, as in PyG.

    Raises:
        RawFilesMissingError: If a raw file is missing.
        PermissionError: If the processed folder cannot be written.
        DataFormatError: If a raw file is malformed.
    """

    url: str = ""
    #: Folder under the data root.
    folder: str = ""

    def __init__(
        self,
        root: Optional[PathLike] = None,
        *,
        processed_dir: Optional[PathLike] = None,
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        force_reload: bool = False,
        log: bool = True,
    ) -> None:
        base = data_root(root)
        self._raw = base / self.folder
        self._processed = (Path(processed_dir) / self.slug if processed_dir is not None
                           else self._raw / "processed")
        # PyG would first try to create the raw folder, which fails on a
        # read-only root before our download() could explain what is missing.
        if not all(Path(p).is_file() for p in self.raw_paths):
            self.download()
        _check_writable(self._processed)
        super().__init__(os.fspath(base), transform, pre_transform, None, log, force_reload)
        self._load_or_process()

    @property
    def has_process(self) -> bool:
        # PyG's _process reads processed/pre_transform.pt with
        # weights_only=False; ours (_load_or_process) reads nothing unsafe.
        return False

    @property
    def slug(self) -> str:
        r"""A file-system name for this dataset."""
        return self.folder.replace("/", "-")

    @property
    def raw_dir(self) -> str:
        return os.fspath(self._raw)

    @property
    def processed_dir(self) -> str:
        return os.fspath(self._processed)

    @property
    def processed_file_names(self) -> List[str]:
        return [f"{self.slug}.pt"]

    def download(self) -> None:
        missing = [name for name, path in zip(self.raw_file_names, self.raw_paths)
                   if not Path(path).is_file()]
        raise RawFilesMissingError(
            f"missing raw file(s) {', '.join(missing)}: place {', '.join(self.raw_file_names)} in "
            f"{self.raw_dir} (source: {self.url}); nothing is downloaded automatically",
            self._raw / missing[0])

    def read_raw(self) -> HeteroData:
        raise NotImplementedError

    def cache_key(self) -> dict:
        r"""What the processed file depends on: the size and modification
        time of every raw file and the :obj:`pre_transform`."""
        files = {}
        for name, path in zip(self.raw_file_names, self.raw_paths):
            info = os.stat(path)
            files[name] = [info.st_size, info.st_mtime_ns]
        return {"dataset": type(self).__name__, "raw": files, "pre_transform": repr(self.pre_transform)}

    def process(self) -> None:
        data = self.read_raw()
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        save_cache(data, self.processed_paths[0], self.cache_key())

    def load(self, path: str, data_cls: type = HeteroData) -> None:
        r"""Load a processed file written by :meth:`process` (safely: see the
        class docstring).

        Raises:
            CacheError: If :obj:`path` is not such a file.
        """
        if data_cls is not HeteroData:
            raise TypeError(f"{type(self).__name__} holds HeteroData, not {data_cls.__name__}")
        self.data, self.slices = load_cache(path, self.cache_key()), None

    def _load_or_process(self) -> None:
        path = self.processed_paths[0]
        if not self.force_reload and os.path.exists(path):
            try:
                self.load(path)
                return
            except CacheError as exc:
                if not str(exc).startswith("stale"):
                    warnings.warn(f"{path}: {exc}; rebuilding it from the raw files", stacklevel=3)
        if self.log and "PYTEST_CURRENT_TEST" not in os.environ:
            print(f"Processing {self.raw_dir}...", file=sys.stderr)
        os.makedirs(self.processed_dir, exist_ok=True)
        self.process()
        self.load(path)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.folder})"


def _check_writable(folder: Path) -> None:
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    # Mode bits too: root may write anywhere, but a folder marked read-only for
    # everyone (like a shared data root) is meant to stay untouched.
    marked_read_only = not probe.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    if marked_read_only or not os.access(probe, os.W_OK):
        raise PermissionError(
            f"cannot write processed files to {folder} ({probe} is not writable); "
            f"pass processed_dir=... naming a folder you own")


class MovieLens100K(_ReaderDataset):
    r"""MovieLens 100K ratings (``<root>/ml-100k/u.data``), read by
    :func:`~hypgraph.data.readers.read_movielens`. See
    :class:`_ReaderDataset` for the arguments."""

    url = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    folder = "ml-100k"

    @property
    def raw_file_names(self) -> List[str]:
        return ["u.data"]

    #: Seconds to wait for the GroupLens server before giving up.
    timeout: float = 20.0

    def download(self) -> None:
        r"""Fetch ``ml-100k.zip`` from GroupLens and extract ``u.data``; offline
        or unreachable, raise one :class:`RawFilesMissingError` line naming
        the file to place and where."""
        import io
        import urllib.request
        import zipfile

        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                payload = response.read()
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                data = archive.read("ml-100k/u.data")
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise RawFilesMissingError(
                f"could not download {self.url} ({reason}): place u.data in {self.raw_dir}",
                self._raw / "u.data") from None
        self._raw.mkdir(parents=True, exist_ok=True)
        tmp = self._raw / "u.data.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self._raw / "u.data")

    def read_raw(self) -> HeteroData:
        from .readers import read_movielens
        return read_movielens(Path(self.raw_dir) / "u.data")


class KGAT(_ReaderDataset):
    r"""A KGAT dataset (``<root>/kgat/<name>``), read by
    :func:`~hypgraph.data.readers.read_kgat`.

    Args:
        root (str or os.PathLike, optional): The data root.
        name (str): ``"amazon-book"``, ``"last-fm"`` or ``"yelp2018"``.
        **kwargs: See :class:`_ReaderDataset`.
    """

    url = "https://github.com/xiangwang1223/knowledge_graph_attention_network/tree/master/Data"

    def __init__(self, root: Optional[PathLike] = None, name: str = "amazon-book", **kwargs) -> None:
        self.name = name
        self.folder = f"kgat/{name}"
        super().__init__(root, **kwargs)

    @property
    def raw_file_names(self) -> List[str]:
        return ["train.txt", "test.txt"]

    def read_raw(self) -> HeteroData:
        from .readers import read_kgat
        return read_kgat(self.raw_dir)


class KGCN(_ReaderDataset):
    r"""A KGCN/RippleNet processed dataset, read by
    :func:`~hypgraph.data.readers.read_kgcn`.

    Args:
        root (str or os.PathLike, optional): The data root.
        name (str): ``"lastfm"`` (folder ``lastfm-kgcn``), ``"book-crossing"``
            (folder ``book-crossing-kgcn``) or the name of another folder in
            the same format.
        **kwargs: See :class:`_ReaderDataset`.
    """

    url = "https://github.com/hwwang55/KGCN (data/ plus its preprocess.py)"
    layouts = MappingProxyType({
        "lastfm": ("lastfm-kgcn", ["processed_mcclk/ratings_final.txt", "processed_mcclk/kg_final.txt",
                                   "item_index2entity_id.txt"]),
        "book-crossing": ("book-crossing-kgcn", ["ratings_final.txt", "kg_final.txt",
                                                 "item_index2entity_id.txt"]),
    })

    def __init__(self, root: Optional[PathLike] = None, name: str = "lastfm", **kwargs) -> None:
        self.name = name
        self.folder, files = self.layouts.get(name, (name, ["ratings_final.txt", "kg_final.txt"]))
        self._files = list(files)
        super().__init__(root, **kwargs)

    @property
    def raw_file_names(self) -> List[str]:
        return list(self._files)

    def read_raw(self) -> HeteroData:
        from .readers import read_kgcn
        return read_kgcn(self.raw_dir)


class RecBoleDataset(_ReaderDataset):
    r"""RecBole atomic files ``<name>.inter`` (+ ``.kg``, ``.link``), read by
    :func:`~hypgraph.data.readers.read_recbole`. The folder is the first of
    ``<root>/<name>``, ``<root>/<name>-kg-recbole`` and
    ``<root>/recbole/<name>`` that holds ``<name>.inter``.

    Args:
        root (str or os.PathLike, optional): The data root.
        name (str): The dataset name, e.g. ``"ml-100k"``.
        **kwargs: See :class:`_ReaderDataset`.
    """

    url = "https://github.com/RUCAIBox/RecSysDatasets"

    def __init__(self, root: Optional[PathLike] = None, name: str = "ml-100k", **kwargs) -> None:
        self.name = name
        base = data_root(root)
        candidates = [name, f"{name}-kg-recbole", f"recbole/{name}"]
        self.folder = next((c for c in candidates if (base / c / f"{name}.inter").is_file()), name)
        super().__init__(root, **kwargs)

    @property
    def slug(self) -> str:
        return f"recbole-{self.name}"

    @property
    def raw_file_names(self) -> List[str]:
        return [f"{self.name}.inter"]

    def read_raw(self) -> HeteroData:
        from .readers import read_recbole
        return read_recbole(self.raw_dir, self.name)


class AmazonCD(_ReaderDataset):
    r"""Amazon CDs & Vinyl as preprocessed by HGCF (``<root>/amazon-cd-hgcf``),
    read by :func:`~hypgraph.data.readers.read_hgcf`. See
    :class:`_ReaderDataset` for the arguments."""

    url = "https://github.com/layer6ai-labs/HGCF/tree/main/data/Amazon-CD"
    folder = "amazon-cd-hgcf"

    @property
    def raw_file_names(self) -> List[str]:
        return ["train.pkl", "test.pkl"]

    def read_raw(self) -> HeteroData:
        from .readers import read_hgcf
        return read_hgcf(self.raw_dir)
