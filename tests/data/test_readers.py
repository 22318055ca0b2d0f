"""Readers on tiny hand-written files: every format, raw ids both ways, and
every kind of bad input giving one DataFormatError line with file and line."""
import gzip
import pickle
import sys

import pytest
import torch

from hypgraph.data import DataFormatError, index_of
from hypgraph.data.readers import (SafeUnpickler, detect_format, read, read_hgcf, read_kgat,
                                   read_kgcn, read_movielens, read_recbole, read_table)

UI = ("user", "interacts", "item")
KG = ("entity", "relates", "entity")
LINKS = ("item", "links", "entity")


def write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, newline="")
    return path


def raises_at(call, path, line):
    """The call raises a one-line DataFormatError naming path:line; returns it."""
    with pytest.raises(DataFormatError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    expected = f"{path}:{line}:" if line is not None else f"{path}:"
    assert message.startswith(expected), message
    assert info.value.line == line
    return info.value


def pairs(data):
    ei = data[UI].edge_index
    users, items = data["user"].raw_id, data["item"].raw_id
    return [(_raw(users, u), _raw(items, i)) for u, i in ei.t().tolist()]


def _raw(raw, k):
    value = raw[k]
    return value.item() if isinstance(value, torch.Tensor) else value


# --- MovieLens -----------------------------------------------------------------

U_DATA = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t377\t5\t878887117\n"


def test_movielens_reads_rows_and_keeps_raw_ids(tmp_path):
    data = read_movielens(write(tmp_path / "u.data", U_DATA))
    assert data["user"].num_nodes == 3 and data["item"].num_nodes == 3
    assert data["user"].raw_id.tolist() == [22, 186, 196]
    assert pairs(data) == [(196, 242), (186, 302), (22, 377), (196, 377)]
    assert data[UI].rating.tolist() == [3.0, 3.0, 1.0, 5.0]
    assert data[UI].time.tolist() == [881250949, 891717742, 878887116, 878887117]
    assert index_of(data, "user", [196, 22]).tolist() == [2, 0]
    assert data["item"].raw_id[index_of(data, "item", [377])].tolist() == [377]
    assert torch.equal(data["item", "rev_interacts", "user"].edge_index, data[UI].edge_index.flip(0))


@pytest.mark.parametrize("layout", ["u.data", "folder", "pyg"])
def test_movielens_finds_the_file(tmp_path, layout):
    target = {"u.data": tmp_path / "u.data", "folder": tmp_path / "u.data",
              "pyg": tmp_path / "ml-100k" / "u.data"}[layout]
    write(target, U_DATA)
    path = target if layout == "u.data" else tmp_path
    assert read_movielens(path)[UI].edge_index.size(1) == 4


def test_crlf_bom_and_blank_lines_are_accepted(tmp_path):
    text = "\ufeff" + U_DATA.replace("\n", "\r\n") + "\r\n\n"
    data = read_movielens(write(tmp_path / "u.data", text.encode("utf-8")))
    assert pairs(data)[0] == (196, 242)
    assert data[UI].time.tolist()[-1] == 878887117


MOVIELENS_ERRORS = [
    ("three columns", U_DATA.replace("302\t3\t", "302\t"), 2, "expected 4 columns"),
    ("five columns", U_DATA.replace("377\t1\t", "377\t1\t9\t"), 3, "expected 4 columns"),
    ("letters in id", U_DATA.replace("186", "1x6"), 2, "column 1 (user_id): expected a non-negative integer, got '1x6'"),
    ("negative id", U_DATA.replace("302", "-302"), 2, "got '-302'"),
    ("float id", U_DATA.replace("302", "302.0"), 2, "got '302.0'"),
    ("nan rating", U_DATA.replace("\t1\t", "\tnan\t"), 3, "expected a finite number, got 'nan'"),
    ("inf rating", U_DATA.replace("\t1\t", "\tinf\t"), 3, "expected a finite number"),
    ("word rating", U_DATA.replace("\t1\t", "\tgood\t"), 3, "expected a number, got 'good'"),
    ("underscore rating", U_DATA.replace("\t1\t", "\t1_0\t"), 3, "expected a number, got '1_0'"),
    ("header", "user\titem\trating\ttimestamp\n" + U_DATA, 1, "this format has no header line"),
    ("huge id", U_DATA.replace("186", "9" * 30), 2, "expected a non-negative integer"),
    ("empty", "", 1, "file is empty"),
    ("blank only", "\n \n\t\n", 1, "file is empty"),
]


@pytest.mark.parametrize("name,text,line,needle", MOVIELENS_ERRORS, ids=[e[0] for e in MOVIELENS_ERRORS])
def test_movielens_errors(tmp_path, name, text, line, needle):
    path = write(tmp_path / "u.data", text)
    error = raises_at(lambda: read_movielens(path), path, line)
    assert needle in error.reason


@pytest.mark.parametrize("garbage,line", [(b"\x00\x01\x02", 3), (b"\xff\xfe\xfa", 3), (b"\x89PNG\r\n\x1a\n", 3)])
def test_binary_garbage_is_one_line_error(tmp_path, garbage, line):
    lines = U_DATA.encode().splitlines(keepends=True)
    path = write(tmp_path / "u.data", b"".join(lines[:2]) + garbage + b"".join(lines[2:]))
    error = raises_at(lambda: read_movielens(path), path, line)
    assert "binary" in error.reason


def test_missing_file_and_folder(tmp_path):
    raises_at(lambda: read_movielens(tmp_path / "nowhere"), tmp_path / "nowhere", None)


# --- KGAT ----------------------------------------------------------------------

def kgat_folder(root, train="0 0 1\n1 1 2\n", test="0 2 2 3 2\n1 \n", kg=None, gz=False):
    write(root / "train.txt", train)
    write(root / "test.txt", test)
    if kg is not None:
        if gz:
            write(root / "kg_final.txt.gz", gzip.compress(kg.encode()))
        else:
            write(root / "kg_final.txt", kg)
    return root


def test_kgat_splits_repeats_and_empty_lines(tmp_path):
    data = read_kgat(kgat_folder(tmp_path))
    assert pairs(data) == [(0, 0), (0, 1), (1, 1), (1, 2), (0, 2), (0, 3)]
    assert data[UI].train_mask.tolist() == [True] * 4 + [False] * 2
    assert torch.equal(data[UI].test_mask, ~data[UI].train_mask)
    assert data["user"].num_nodes == 2 and data["item"].num_nodes == 4
    steps = {r.step: r for r in data.filter_log}
    empty = steps["lines with a user id but no items"]
    assert (empty.kept, empty.removed, empty.source) == (1, 1, str(tmp_path / "test.txt"))
    repeats = steps["repeated item ids within a user's line"]
    assert (repeats.kept, repeats.removed) == (2, 2)
    assert "KG" not in str(data.edge_types) and "entity" not in data.node_types


@pytest.mark.parametrize("gz", [False, True])
def test_kgat_knowledge_graph(tmp_path, gz):
    data = read_kgat(kgat_folder(tmp_path, kg="0 0 4\n4 1 5\n3 1 1\n", gz=gz))
    assert data[KG].edge_index.tolist() == [[0, 4, 3], [4, 5, 1]]
    assert data[KG].edge_type.tolist() == [0, 1, 1]
    assert data[KG].num_relations == 2
    assert data["entity"].num_nodes == 6
    assert data[LINKS].edge_index.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]


def test_kgat_list_files_fix_counts_names_and_ranges(tmp_path):
    root = kgat_folder(tmp_path, kg="0 0 4\n4 1 5\n")
    write(root / "user_list.txt", "org_id remap_id\nA 0\nB 1\nC 2\n")
    write(root / "entity_list.txt", "org_id remap_id\n" + "".join(f"m.{k} {k}\n" for k in range(7)))
    write(root / "relation_list.txt", "org_id remap_id\nhttp://r/a 0\nhttp://r/b 1\nhttp://r/c 2\n")
    data = read_kgat(root)
    assert data["user"].num_nodes == 3  # user 2 has no line but is listed
    assert data["entity"].num_nodes == 7
    assert data[KG].num_relations == 3
    assert list(data[KG].relation_raw_id) == ["http://r/a", "http://r/b", "http://r/c"]
    write(root / "kg_final.txt", "0 0 4\n4 1 9\n")
    error = raises_at(lambda: read_kgat(root), root / "kg_final.txt", 2)
    assert error.reason == "entity id 9 out of range: expected < 7, the number of rows of entity_list.txt"
    write(root / "kg_final.txt", "0 3 4\n")
    raises_at(lambda: read_kgat(root), root / "kg_final.txt", 1)


def test_kgat_missing_train_names_the_file(tmp_path):
    write(tmp_path / "test.txt", "0 1 2\n")
    write(tmp_path / "kg_final.txt.gz", gzip.compress(b"0 0 1\n"))
    error = raises_at(lambda: read_kgat(tmp_path), tmp_path / "train.txt", None)
    assert error.reason.startswith("missing train.txt:")
    assert "kg_final.txt.gz, test.txt" in error.reason


@pytest.mark.parametrize("train,line,needle", [
    ("0 1 2\n1 x 3\n", 2, "got 'x'"),
    ("0 1 2\n1 3 99999999999\n", 2, "item id 99999999999 out of range: expected < 1,000,000"),
    ("0 1 2\n-1 3\n", 2, "got '-1'"),
])
def test_kgat_errors(tmp_path, train, line, needle):
    root = kgat_folder(tmp_path, train=train)
    error = raises_at(lambda: read_kgat(root), root / "train.txt", line)
    assert needle in error.reason


def test_kgat_bad_gzip(tmp_path):
    root = kgat_folder(tmp_path)
    write(root / "kg_final.txt.gz", b"not gzip at all")
    error = raises_at(lambda: read_kgat(root), root / "kg_final.txt.gz", None)
    assert "gzip" in error.reason


# --- KGCN ----------------------------------------------------------------------

def kgcn_folder(root, ratings="0\t1\t1\n0\t2\t0\n1\t0\t1\n2\t1\t0\n", index="2\t0\r\n3\t1\r\n4\t2\r\n",
                kg="0\t0\t3\n3\t1\t2\n"):
    write(root / "ratings_final.txt", ratings)
    if index is not None:
        write(root / "item_index2entity_id.txt", index)
    if kg is not None:
        write(root / "kg_final.txt", kg)
    return root


def test_kgcn_excludes_sampled_negatives_and_records_them(tmp_path):
    data = read_kgcn(kgcn_folder(tmp_path))
    assert data[UI].edge_index.tolist() == [[0, 1], [1, 0]]
    assert data["user"].num_nodes == 3  # user 2 has only a negative
    assert data["item"].num_nodes == 3
    report, = data.filter_log
    assert (report.kept, report.removed, report.unit) == (2, 2, "rows")
    assert "negatives" in report.step
    # Item raw ids come from the CRLF index file: artist ids 2, 3, 4.
    assert data["item"].raw_id.tolist() == [2, 3, 4]
    assert index_of(data, "item", [3]).tolist() == [1]
    assert data[LINKS].edge_index.tolist() == [[0, 1, 2], [0, 1, 2]]
    assert data[KG].num_relations == 2 and data["entity"].num_nodes == 4


def test_kgcn_string_item_ids_and_subfolder(tmp_path):
    kgcn_folder(tmp_path / "processed", index=None)
    write(tmp_path / "item_index2entity_id.txt", "0002005018\t0\n0060973129\t1\n0771074670\t2\n")
    data = read_kgcn(tmp_path)
    assert list(data["item"].raw_id) == ["0002005018", "0060973129", "0771074670"]
    assert index_of(data, "item", ["0771074670"]).tolist() == [2]


@pytest.mark.parametrize("ratings,line,needle", [
    ("0\t1\t1\n0\t2\t2\n", 2, "label 2 out of range: expected 0 or 1"),
    ("0\t1\t1\n0\t7\t1\n", 2, "item id 7 out of range: expected < 3, the number of rows of item_index2entity_id.txt"),
    ("0\t1\n", 1, "expected 3 columns (user item label), found 2"),
])
def test_kgcn_errors(tmp_path, ratings, line, needle):
    root = kgcn_folder(tmp_path, ratings=ratings)
    error = raises_at(lambda: read_kgcn(root), root / "ratings_final.txt", line)
    assert needle in error.reason


def test_kgcn_without_ratings(tmp_path):
    write(tmp_path / "kg_final.txt", "0 0 1\n")
    error = raises_at(lambda: read_kgcn(tmp_path), tmp_path / "ratings_final.txt", None)
    assert "missing ratings_final.txt" in error.reason


# --- RecBole -------------------------------------------------------------------

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         "u2\ti1\t4.5\t100\nu1\ti2\t3\t200.0\n")
KG_FILE = ("head_id:token\trelation_id:token\ttail_id:token\n"
           "m.01\tfilm.genre\tm.02\nm.02\tfilm.film.actor\tm.03\n")
LINK = "item_id:token\tentity_id:token\ni1\tm.01\ni3\tm.03\n"


def recbole_folder(root, inter=INTER, kg=KG_FILE, link=LINK, name="toy"):
    write(root / f"{name}.inter", inter)
    if kg is not None:
        write(root / f"{name}.kg", kg)
    if link is not None:
        write(root / f"{name}.link", link)
    return root


def test_recbole_tokens_kg_and_links(tmp_path):
    data = read_recbole(recbole_folder(tmp_path))
    assert pairs(data) == [("u2", "i1"), ("u1", "i2")]
    assert data[UI].rating.tolist() == [4.5, 3.0]
    assert data[UI].time.tolist() == [100, 200]
    assert list(data["item"].raw_id) == ["i1", "i2", "i3"]  # i3 only linked
    assert index_of(data, "entity", ["m.03", "m.01"]).tolist() == [2, 0]
    assert list(data[KG].relation_raw_id) == ["film.film.actor", "film.genre"]
    assert data[KG].edge_type.tolist() == [1, 0]
    assert data[KG].edge_index.tolist() == [[0, 1], [1, 2]]
    assert data[LINKS].edge_index.tolist() == [[0, 2], [0, 2]]


def test_recbole_numeric_tokens_and_inter_file_path(tmp_path):
    inter = "user_id:token\titem_id:token\n10\t7\n9\t7\n"
    path = recbole_folder(tmp_path, inter=inter, kg=None, link=None, name="ml") / "ml.inter"
    data = read(path)
    assert data["user"].raw_id.tolist() == [9, 10]  # numeric order, not '10' < '9'
    assert index_of(data, "user", ["10"]).tolist() == [1]
    assert "rating" not in data[UI] and "entity" not in data.node_types


@pytest.mark.parametrize("inter,line,needle", [
    ("user_id\titem_id:token\nu\ti\n", 1, "expected a typed RecBole header"),
    ("user_id:token\trating:float\nu\t1\n", 1, "expected columns user_id, item_id; the header lacks item_id (it has user_id, rating)"),
    (INTER.replace("4.5", "nan"), 2, "expected a finite number, got 'nan'"),
    (INTER.replace("200.0", "200.5"), 3, "expected an integer timestamp"),
    (INTER.replace("u1\ti2", "u1\t"), 3, "column 2 (item_id): expected a non-empty id"),
    (INTER.replace("\t200.0", ""), 3, "expected 4 columns"),
])
def test_recbole_errors(tmp_path, inter, line, needle):
    root = recbole_folder(tmp_path, inter=inter)
    error = raises_at(lambda: read_recbole(root), root / "toy.inter", line)
    assert needle in error.reason


def test_recbole_needs_a_name_when_ambiguous(tmp_path):
    recbole_folder(tmp_path, name="a")
    recbole_folder(tmp_path, name="b")
    with pytest.raises(DataFormatError, match="pass name="):
        read_recbole(tmp_path)
    assert read_recbole(tmp_path, name="b")[UI].edge_index.size(1) == 2


# --- HGCF ----------------------------------------------------------------------

def hgcf_folder(root, train=None, test=None):
    train = {0: [0, 1], 1: [2]} if train is None else train
    test = {0: [2], 1: [0, 0]} if test is None else test
    for name, obj in (("train.pkl", train), ("test.pkl", test)):
        write(root / name, obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=3))
    return root


def test_hgcf_splits_and_duplicates(tmp_path):
    data = read_hgcf(hgcf_folder(tmp_path))
    assert data[UI].edge_index.tolist() == [[0, 0, 1, 0, 1], [0, 1, 2, 2, 0]]
    assert data[UI].train_mask.tolist() == [True, True, True, False, False]
    report, = data.filter_log
    assert report.removed == 1 and report.source == str(tmp_path / "test.pkl")


class Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_hgcf_refuses_code_in_pickles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = hgcf_folder(tmp_path, train={0: [Evil()]})
    error = raises_at(lambda: read_hgcf(root), root / "train.pkl", None)
    assert "refusing to load builtins.exec" in error.reason
    assert not (tmp_path / "PWNED").exists()
    assert issubclass(SafeUnpickler, pickle.Unpickler)


@pytest.mark.parametrize("train,needle", [
    ([[0, 1]], "got list"),
    ({0: (1, 2)}, "user 0 maps to tuple"),
    ({"0": [1]}, "key '0' is not an int in [0, 2^63)"),
    ({2 ** 63: [1]}, "key 9223372036854775808 is not an int in [0, 2^63)"),
    ({0: [1, 2 ** 64]}, "user 0 has item 18446744073709551616"),
    ({0: [1, [[[[[[1]]]]]]]}, "user 0 has item [[[...]]]"),
    ({0: [1, True]}, "user 0 has item True"),
    ({0: [1, -3]}, "user 0 has item -3"),
    (pickle.dumps({0: [1, 2]})[:-5], "corrupt pickle"),
    (b"this is not a pickle", "pickle"),
    ({}, "empty dict"),
], ids=["list", "tuple", "str-key", "huge-key", "huge-item", "nested-item", "bool-item", "negative",
        "truncated", "text", "empty"])
def test_hgcf_structure_errors(tmp_path, train, needle):
    root = hgcf_folder(tmp_path, train=train)
    error = raises_at(lambda: read_hgcf(root), root / "train.pkl", None)
    assert needle in error.reason


def test_hgcf_refuses_shared_lists_before_expanding_them(tmp_path):
    # every user's value is one memo reference to the same list: a small file
    # that would mean 10,000 x 20,000 entries
    shared = list(range(20_000))
    root = hgcf_folder(tmp_path, train={user: shared for user in range(10_000)})
    size = (root / "train.pkl").stat().st_size
    assert size < 200_000
    error = raises_at(lambda: read_hgcf(root), root / "train.pkl", None)
    assert f"lists 200,000,000 items in {size:,} bytes" in error.reason


def test_hgcf_accepts_a_list_per_user_at_two_bytes_an_entry(tmp_path):
    # the densest honest encoding (BININT1, one byte an id) stays under the cap
    train = {user: list(range(200)) for user in range(50)}
    root = hgcf_folder(tmp_path, train=train, test={0: [0]})
    data = read_hgcf(root)
    assert data["user", "interacts", "item"].train_mask.sum().item() == 50 * 200


# --- tables --------------------------------------------------------------------

@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_table_sniffs_separator(tmp_path, sep):
    text = sep.join(["uid", "iid", "stars", "ts"]) + "\n"
    text += "".join(sep.join(row) + "\n" for row in [("alice", "B001", "4", "10"), ("bob", "B002", "2.5", "20"),
                                                        ("alice", "B002", "5", "30")])
    data = read_table(write(tmp_path / "r.txt", text), user_col="uid", item_col="iid",
                      rating_col="stars", time_col="ts")
    assert pairs(data) == [("alice", "B001"), ("bob", "B002"), ("alice", "B002")]
    assert data[UI].rating.tolist() == [4.0, 2.5, 5.0]
    assert data[UI].time.tolist() == [10, 20, 30]
    assert index_of(data, "user", ["bob"]).tolist() == [1]


def test_table_quoted_csv_keeps_line_numbers(tmp_path):
    text = 'user,item,title\n1,2,"a, b"\n3,4,"two\nlines"\n5,x y,"ok"\n6,,"empty"\n'
    path = write(tmp_path / "q.csv", text)
    error = raises_at(lambda: read_table(path, user_col="user", item_col="item"), path, 6)
    assert "column 2 (item): expected a non-empty id" in error.reason
    write(path, text.replace("6,,", "6,7,"))
    data = read_table(path, user_col="user", item_col="item")
    assert pairs(data) == [(1, "2"), (3, "4"), (5, "x y"), (6, "7")]


@pytest.mark.parametrize("text,line,needle", [
    ("u,i\n1,2\n", 1, "expected a column 'r'; the header has 'u', 'i'"),
    ("u,i,r\n", 2, "no rows after the header"),
    ("u,i,r\n1,2,3\n1,2\n", 3, "expected 3 columns"),
    ("u,i,r\n1,2,3\n1,2,inf\n", 3, "column 3 (r): expected a finite number"),
    ("u,i,r\n1,2,3\n1,2,,\n", 3, "expected 3 columns"),
])
def test_table_errors(tmp_path, text, line, needle):
    path = write(tmp_path / "t.csv", text)
    error = raises_at(lambda: read_table(path, user_col="u", item_col="i", rating_col="r"), path, line)
    assert needle in error.reason


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"hypgraph-pyg\[parquet\]"):
        read_table(tmp_path / "r.parquet", user_col="u", item_col="i")


# --- auto ----------------------------------------------------------------------

def test_auto_detects_every_format(tmp_path):
    write(tmp_path / "ml" / "ml-100k" / "u.data", U_DATA)
    kgat_folder(tmp_path / "kgat")
    kgcn_folder(tmp_path / "kgcn")
    recbole_folder(tmp_path / "recbole")
    hgcf_folder(tmp_path / "hgcf")
    write(tmp_path / "t.tsv", "u\ti\n1\t2\n")
    expected = {"ml": "movielens", "kgat": "kgat", "kgcn": "kgcn", "recbole": "recbole", "hgcf": "hgcf",
                "t.tsv": "table", "kgat/test.txt": "kgat", "ml/ml-100k/u.data": "movielens"}
    for path, fmt in expected.items():
        assert detect_format(tmp_path / path) == fmt, path
    assert read(tmp_path / "kgat" / "train.txt")[UI].edge_index.size(1) == 6
    assert read(tmp_path / "hgcf", reader="hgcf")[UI].edge_index.size(1) == 5
    assert read(tmp_path / "t.tsv", user_col="u", item_col="i")[UI].edge_index.size(1) == 1


def test_auto_errors_name_what_was_expected(tmp_path):
    write(tmp_path / "notes.md", "hello")
    error = raises_at(lambda: read(tmp_path), tmp_path, None)
    assert "train.txt + test.txt (kgat)" in error.reason and "u.data" in error.reason
    raises_at(lambda: read(tmp_path / "notes.md"), tmp_path / "notes.md", None)
    write(tmp_path / "t.csv", "u,i\n1,2\n")
    with pytest.raises(DataFormatError, match="user_col"):
        read(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="unknown reader 'foo'"):
        read(tmp_path, reader="foo")


def test_auto_last_fm_layout_reports_missing_train(tmp_path):
    write(tmp_path / "test.txt", "0 1\n")
    error = raises_at(lambda: read(tmp_path), tmp_path / "train.txt", None)
    assert "missing train.txt" in error.reason


def _write_parquet(path, columns):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    pq.write_table(pa.table(columns), path)


def test_parquet_matches_csv(tmp_path):
    cols = {"u": ["a", "b", "a", "c"], "i": [10, 20, 20, 30], "r": [4.0, 5.0, 3.5, 1.0], "t": [5, 6, 7, 8]}
    _write_parquet(tmp_path / "r.parquet", cols)
    (tmp_path / "r.csv").write_text("u,i,r,t\n" + "".join(
        f"{u},{i},{r},{t}\n" for u, i, r, t in zip(*cols.values())))
    kw = dict(user_col="u", item_col="i", rating_col="r", time_col="t")
    pq_data, csv_data = read_table(tmp_path / "r.parquet", **kw), read_table(tmp_path / "r.csv", **kw)
    for attr in ("edge_index", "rating", "time"):
        assert torch.equal(pq_data["user", "interacts", "item"][attr], csv_data["user", "interacts", "item"][attr])
    assert list(pq_data["user"].raw_id) == ["a", "b", "c"]


def test_parquet_bad_values_name_the_row(tmp_path):
    _write_parquet(tmp_path / "r.parquet", {"u": [1, 2, 3], "i": [1, 1, 2], "r": [4.0, float("nan"), 1.0]})
    with pytest.raises(DataFormatError, match=r"r\.parquet.*'r'.*row 2"):
        read_table(tmp_path / "r.parquet", user_col="u", item_col="i", rating_col="r")
    with pytest.raises(DataFormatError, match=r"expected a column 'time'"):
        read_table(tmp_path / "r.parquet", user_col="u", item_col="i", time_col="time")


def test_hgcf_memo_index_does_not_size_memory(tmp_path):
    # LONG_BINPUT 2^31 - 1: five bytes that made the C unpickler allocate a
    # memo of 2^31 slots (16 GiB); our reader keeps the memo in a dict
    import tracemalloc

    body = b"\x80\x03}r\xff\xff\xff\x7fK\x00]q\x01K\x01asK\x01]q\x02K\x00as."
    root = hgcf_folder(tmp_path, train=body)
    tracemalloc.start()
    data = read_hgcf(root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20
    train = data[UI].edge_index[:, data[UI].train_mask]
    assert train.tolist() == [[0, 1], [1, 0]]


def test_hgcf_reader_builds_what_pickle_builds_without_unpickling():
    from hypgraph.data.readers.hgcf import load_plain_pickle

    for proto in range(6):
        shared = [1, 2]
        obj = [{1: [1, 2]}, [1, (2, 3), {"a": None, "b": True}, 1.5, "s", 2 ** 70, -5, (), (1,), (1, 2, 3, 4)],
               {0: shared, 1: shared}]
        obj += [b"x"] if proto >= 3 else []
        obj += [frozenset({1}), {2}] if proto >= 4 else []
        raw = pickle.dumps(obj, protocol=proto)
        out = load_plain_pickle(raw)
        assert out == pickle.loads(raw)
        assert out[2][0] is out[2][1]  # the memo shares, as pickle's does
