"""InMemoryDataset classes on tiny files: processing, cache reuse, read-only
raw roots, and the error that replaces downloading."""
import gzip
import os
import pickle
import stat
import warnings

import numpy as np
import pytest

from hypgraph.data import DataFormatError, index_of
from hypgraph.data.cache import CACHE_FORMAT, CacheError, load_cache, save_cache
from hypgraph.data.datasets import KGAT, KGCN, AmazonCD, MovieLens100K, RawFilesMissingError, RecBoleDataset
from hypgraph.data.report import FilterReport

UI = ("user", "interacts", "item")


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.fixture
def root(tmp_path):
    base = tmp_path / "data"
    write(base / "ml-100k" / "u.data", "1\t10\t4\t100\n2\t10\t3\t200\n2\t11\t5\t300\n")
    write(base / "kgat" / "toy" / "train.txt", "0 0 1\n1 1\n")
    write(base / "kgat" / "toy" / "test.txt", "0 2\n1 \n")
    write(base / "kgat" / "toy" / "kg_final.txt.gz", gzip.compress(b"0 0 3\n3 1 2\n"))
    write(base / "lastfm-kgcn" / "item_index2entity_id.txt", "7\t0\r\n9\t1\r\n")
    write(base / "lastfm-kgcn" / "processed_mcclk" / "ratings_final.txt", "0\t0\t1\n0\t1\t0\n1\t1\t1\n")
    write(base / "lastfm-kgcn" / "processed_mcclk" / "kg_final.txt", "0\t0\t2\n")
    write(base / "ml-100k-kg-recbole" / "ml-100k.inter", "user_id:token\titem_id:token\nu1\ti1\nu2\ti1\n")
    write(base / "ml-100k-kg-recbole" / "ml-100k.kg", "head_id:token\trelation_id:token\ttail_id:token\n"
                                                      "m.1\tr.a\tm.2\n")
    write(base / "ml-100k-kg-recbole" / "ml-100k.link", "item_id:token\tentity_id:token\ni1\tm.2\n")
    write(base / "amazon-cd-hgcf" / "train.pkl", pickle.dumps({0: [0, 1], 1: [1]}, protocol=3))
    write(base / "amazon-cd-hgcf" / "test.pkl", pickle.dumps({0: [2], 1: [0]}, protocol=3))
    return base


def make(cls, root, tmp_path, **kwargs):
    return cls(root, processed_dir=tmp_path / "processed", log=False, **kwargs)


@pytest.mark.parametrize("cls,kwargs,edges,slug", [
    (MovieLens100K, {}, 3, "ml-100k"),
    (KGAT, {"name": "toy"}, 4, "kgat-toy"),
    (KGCN, {"name": "lastfm"}, 2, "lastfm-kgcn"),
    (RecBoleDataset, {"name": "ml-100k"}, 2, "recbole-ml-100k"),
    (AmazonCD, {}, 5, "amazon-cd-hgcf"),
])
def test_process_writes_under_processed_dir(root, tmp_path, cls, kwargs, edges, slug):
    dataset = make(cls, root, tmp_path, **kwargs)
    assert len(dataset) == 1
    data = dataset[0]
    assert data[UI].edge_index.size(1) == edges
    assert (tmp_path / "processed" / slug / f"{slug}.pt").is_file()
    assert not (root / dataset.folder / "processed").exists()


def test_processed_cache_is_reused(root, tmp_path, monkeypatch):
    first = make(MovieLens100K, root, tmp_path)[0]
    monkeypatch.setattr(MovieLens100K, "read_raw", lambda self: pytest.fail("raw files re-read"))
    again = make(MovieLens100K, root, tmp_path)[0]
    assert again[UI].edge_index.tolist() == first[UI].edge_index.tolist()
    assert again[UI].rating.tolist() == [4.0, 3.0, 5.0]
    with pytest.raises(pytest.fail.Exception, match="raw files re-read"):
        make(MovieLens100K, root, tmp_path, force_reload=True)


def test_string_ids_and_filter_log_survive_the_cache(root, tmp_path):
    for _ in range(2):  # processed, then loaded from disk
        recbole = make(RecBoleDataset, root, tmp_path, name="ml-100k")[0]
        assert list(recbole["entity"].raw_id) == ["m.1", "m.2"]
        assert index_of(recbole, "user", ["u2"]).tolist() == [1]
        assert list(recbole["entity", "relates", "entity"].relation_raw_id) == ["r.a"]
        kgcn = make(KGCN, root, tmp_path, name="lastfm")[0]
        report, = kgcn.filter_log
        assert isinstance(report, FilterReport) and report.removed == 1
        assert kgcn["item"].raw_id.tolist() == [7, 9]


def test_default_processed_dir_is_beside_the_raw_files(root):
    dataset = MovieLens100K(root, log=False)
    assert (root / "ml-100k" / "processed" / "ml-100k.pt").is_file()
    assert dataset[0][UI].edge_index.size(1) == 3


def test_read_only_raw_root(root, tmp_path):
    folder = root / "ml-100k"
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        with pytest.raises(PermissionError, match="pass processed_dir="):
            MovieLens100K(root, log=False)
        assert make(MovieLens100K, root, tmp_path)[0][UI].edge_index.size(1) == 3
        assert sorted(os.listdir(folder)) == ["u.data"]
    finally:
        folder.chmod(0o755)


def test_root_from_environment(root, tmp_path, monkeypatch):
    monkeypatch.setenv("HYPGRAPH_DATA", str(root))
    dataset = MovieLens100K(processed_dir=tmp_path / "p", log=False)
    assert dataset.raw_dir == str(root / "ml-100k")


@pytest.mark.parametrize("cls,kwargs,folder,missing", [
    (KGAT, {"name": "last-fm"}, "kgat/last-fm", "train.txt"),
    (AmazonCD, {}, "amazon-cd-hgcf", "test.pkl"),
    (KGCN, {"name": "book-crossing"}, "book-crossing-kgcn", "ratings_final.txt"),
    (RecBoleDataset, {"name": "ml-1m"}, "ml-1m", "ml-1m.inter"),
])
def test_missing_raw_files_name_files_folder_and_source(root, tmp_path, cls, kwargs, folder, missing):
    write(root / "kgat" / "last-fm" / "test.txt", "0 1\n")
    (root / "amazon-cd-hgcf" / "test.pkl").unlink()
    with pytest.raises(RawFilesMissingError) as info:
        make(cls, root, tmp_path, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, DataFormatError) and "\n" not in message
    assert f"missing raw file(s) {missing}" in message
    assert f"in {root / folder} (source: {cls.url})" in message
    assert not (tmp_path / "processed").exists()


def test_malformed_raw_file_surfaces_as_data_format_error(root, tmp_path):
    write(root / "ml-100k" / "u.data", "1\t10\t4\t100\n2\tten\t3\t200\n")
    with pytest.raises(DataFormatError, match=r"u\.data:2: column 2 \(item_id\)"):
        make(MovieLens100K, root, tmp_path)


def test_pre_transform_runs_once_before_saving(root, tmp_path):
    calls = []

    def keep_first_edge(data):
        calls.append(1)
        data[UI].edge_index = data[UI].edge_index[:, :1]
        return data

    for _ in range(2):
        dataset = make(AmazonCD, root, tmp_path, pre_transform=keep_first_edge)
        assert dataset[0][UI].edge_index.size(1) == 1
    assert calls == [1]
    assert np.asarray(dataset[0]["user"].raw_id).tolist() == [0, 1]


class _FakeResponse:
    def __init__(self, payload):
        self.payload = payload

    def read(self):
        return self.payload

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_movielens_downloads_the_official_zip(tmp_path, monkeypatch):
    import io
    import urllib.request
    import zipfile

    from hypgraph.data import MovieLens100K
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/u.data", "1\t10\t4\t100\n2\t10\t5\t101\n2\t20\t3\t102\n")
    seen = []

    def fake_urlopen(url, timeout):
        seen.append(url)
        return _FakeResponse(buffer.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    dataset = MovieLens100K(tmp_path, log=False)
    assert seen == [MovieLens100K.url] and (tmp_path / "ml-100k" / "u.data").is_file()
    assert dataset[0]["user", "interacts", "item"].edge_index.size(1) == 3


def test_movielens_offline_names_file_and_folder(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    from hypgraph.data import MovieLens100K, RawFilesMissingError

    def offline(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RawFilesMissingError) as info:
        MovieLens100K(tmp_path, log=False)
    message = str(info.value)
    assert "\n" not in message and "u.data" in message and str(tmp_path / "ml-100k") in message
    assert "name resolution" in message


# --- processed caches cannot run code -------------------------------------

class _Payload:
    """Unpickling calls exec(), which would create the marker file."""

    def __init__(self, marker):
        self.marker = os.fspath(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


ALL_DATASETS = [
    (MovieLens100K, {}, "ml-100k"),
    (KGAT, {"name": "toy"}, "kgat-toy"),
    (KGCN, {"name": "lastfm"}, "lastfm-kgcn"),
    (RecBoleDataset, {"name": "ml-100k"}, "recbole-ml-100k"),
    (AmazonCD, {}, "amazon-cd-hgcf"),
]


@pytest.mark.parametrize("planted", ["cache", "pre_transform.pt", "pre_filter.pt"])
@pytest.mark.parametrize("cls,kwargs,slug", ALL_DATASETS)
def test_planted_payload_never_runs(root, tmp_path, cls, kwargs, slug, planted):
    import torch

    expected = make(cls, root, tmp_path / "clean", **kwargs)[0]
    folder = tmp_path / "processed" / slug
    folder.mkdir(parents=True)
    marker = tmp_path / "marker"
    target = folder / (f"{slug}.pt" if planted == "cache" else planted)
    # PyG's own layout: (data dict, slices, class), with the payload inside
    torch.save(({"x": _Payload(marker)}, None, _Payload(marker)), target)
    if planted == "cache":
        with pytest.warns(UserWarning, match=r"not a loadable cache .*rebuilding it from the raw files"):
            data = make(cls, root, tmp_path, **kwargs)[0]
    else:
        data = make(cls, root, tmp_path, **kwargs)[0]
    assert not marker.exists()
    assert data[UI].edge_index.tolist() == expected[UI].edge_index.tolist()
    # the rebuilt cache is ours and loads without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = make(cls, root, tmp_path, **kwargs)[0]
    assert again[UI].edge_index.tolist() == expected[UI].edge_index.tolist()
    assert not marker.exists()


def test_dataset_load_refuses_pyg_pickles(root, tmp_path):
    import torch

    dataset = make(MovieLens100K, root, tmp_path)
    planted = tmp_path / "planted.pt"
    marker = tmp_path / "marker"
    torch.save(({"x": _Payload(marker)}, None, _Payload(marker)), planted)
    with pytest.raises(CacheError, match="not a loadable cache"):
        dataset.load(os.fspath(planted))
    assert not marker.exists()


def test_compressed_cache_is_refused_before_loading(root, tmp_path):
    import zipfile

    dataset = make(MovieLens100K, root, tmp_path)
    path = dataset.processed_paths[0]
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with pytest.raises(CacheError, match="compressed entries"):
        load_cache(bomb, dataset.cache_key())
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr("archive/data.pkl", b"\x00" * 10_000_000)
    with pytest.raises(CacheError, match="compressed entries"):
        load_cache(bomb, dataset.cache_key())


def test_stale_cache_is_rebuilt_quietly(root, tmp_path):
    first = make(MovieLens100K, root, tmp_path)[0]
    assert first[UI].edge_index.size(1) == 3
    write(root / "ml-100k" / "u.data", "1\t10\t4\t100\n2\t10\t3\t200\n2\t11\t5\t300\n3\t11\t5\t400\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = make(MovieLens100K, root, tmp_path)[0]
    assert second[UI].edge_index.size(1) == 4


def test_other_pre_transform_rebuilds_the_cache(root, tmp_path):
    make(MovieLens100K, root, tmp_path)

    def first_edge_only(data):
        data[UI].edge_index = data[UI].edge_index[:, :1]
        return data

    data = make(MovieLens100K, root, tmp_path, pre_transform=first_edge_only)[0]
    assert data[UI].edge_index.size(1) == 1


def test_cache_refuses_non_plain_attributes(tmp_path):
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    data["user"].num_nodes = 2
    data["user"].thing = object()
    with pytest.raises(TypeError, match="cannot cache attribute 'thing'"):
        save_cache(data, tmp_path / "c.pt", {})
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    torch.save({"format": CACHE_FORMAT, "key": {}, "stores": [("user", {"x": {"a": [1, {2: 3}]}})]},
               tmp_path / "odd.pt")
    with pytest.raises(CacheError, match="not plain data"):
        load_cache(tmp_path / "odd.pt", {})
