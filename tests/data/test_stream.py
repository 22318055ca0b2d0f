"""The readers' chunked reading (hypgraph/data/readers/stream.py): pieces cut
at line breaks, the pyarrow fast path against the numpy slow path, and line
numbers, BOMs, CRLFs and errors across piece boundaries.

Small pieces are forced by monkeypatching stream.CHUNK_BYTES (64 bytes, the
smallest the stream takes) so that a few lines span several pieces."""
import gzip
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypgraph.data import DataFormatError
from hypgraph.data.readers import read_kgat, read_kgcn, read_movielens, read_recbole, read_table, stream
from hypgraph.data.readers.ids import factorize
from hypgraph.data.readers.stream import TextStream

CHUNK = 64
LINE = 16  # bytes of every u.data line below, so that CHUNK // LINE lines fill a piece
UI = ("user", "interacts", "item")


def u_data_line(k: int) -> bytes:
    line = b"%d\t%d\t%d\t%d\n" % (k % 90 + 10, k % 70 + 10, k % 5 + 1, 8812500 + k)
    assert len(line) == LINE
    return line


def u_data(lines: int) -> bytes:
    return b"".join(u_data_line(k) for k in range(lines))


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_BYTES", CHUNK)
    monkeypatch.setattr(stream, "SLOW_PATH_BYTES", CHUNK)


@pytest.fixture(params=[True, False], ids=["fast", "slow"])
def path_kind(request, monkeypatch):
    monkeypatch.setattr(stream, "FAST_PATH", request.param)
    return request.param


def graph_state(data):
    """Everything a graph holds, as plain values, for exact comparison."""
    out = {}
    for store in data.stores:
        values = {}
        for key, value in store.items():
            if isinstance(value, torch.Tensor):
                values[key] = (str(value.dtype), value.tolist())
            elif isinstance(value, np.ndarray):
                values[key] = (str(value.dtype), value.tolist())
            else:
                values[key] = repr(value) if not isinstance(value, list) else [repr(v) for v in value]
        out[repr(getattr(store, "_key", None))] = values
    out["filter_log"] = [str(r) for r in getattr(data, "filter_log", None) or []]
    return out


def outcome(read, *args, **kwargs):
    try:
        return "graph", graph_state(read(*args, **kwargs))
    except DataFormatError as error:
        return "error", str(error)


# --- fast path == slow path on the real data ----------------------------------------

def _real_cases(root: Path, tmp: Path):
    ml = root / "ml-100k"
    cases = [(f"ml-100k/{p.name}", read_movielens, p, {})
             for p in sorted(ml.glob("u*.base")) + sorted(ml.glob("u*.test")) + [ml / "u.data"]]
    cases += [(name, read_kgcn, root / name, {}) for name in ("lastfm-kgcn", "book-crossing-kgcn")]
    cases.append(("kgat/amazon-book", read_kgat, root / "kgat" / "amazon-book", {}))
    for name in ("last-fm", "yelp2018"):  # published without train.txt: a stand-in one, as in test_readers_real
        source, folder = root / "kgat" / name, tmp / name
        if source.is_dir():
            folder.mkdir()
            for p in source.iterdir():
                (folder / p.name).symlink_to(p)
            (folder / "train.txt").write_text("0 0\n")
            cases.append((f"kgat/{name}", read_kgat, folder, {}))
    rb = root / "ml-100k-kg-recbole"
    cases.append(("ml-100k-kg-recbole", read_recbole, rb, {}))
    cases.append(("ml-100k.inter as a table", read_table, rb / "ml-100k.inter",
                  dict(user_col="user_id:token", item_col="item_id:token", rating_col="rating:float",
                       time_col="timestamp:float")))
    cases.append(("ml-100k.kg as a table", read_table, rb / "ml-100k.kg",
                  dict(user_col="head_id:token", item_col="tail_id:token")))
    cases.append(("user_artists.dat as a table", read_table, root / "lastfm-kgcn" / "user_artists.dat",
                  dict(user_col="userID", item_col="artistID", rating_col="weight")))
    return [case for case in cases if Path(case[2]).exists()]


def test_fast_and_slow_paths_give_identical_graphs_on_every_real_dataset(shared_data, tmp_path, monkeypatch):
    cases = _real_cases(shared_data, tmp_path)
    assert len(cases) >= 20, [c[0] for c in cases]
    for name, read, path, kwargs in cases:
        monkeypatch.setattr(stream, "FAST_PATH", True)
        fast = outcome(read, path, **kwargs)
        monkeypatch.setattr(stream, "FAST_PATH", False)
        slow = outcome(read, path, **kwargs)
        assert fast[0] == "graph", (name, fast[1])
        assert fast == slow, name


def test_real_data_reads_the_same_in_small_pieces(shared_data, tmp_path, monkeypatch):
    # 64 KiB pieces: dozens of boundaries per file, lines cut across them.
    cases = _real_cases(shared_data, tmp_path)
    whole = {name: outcome(read, path, **kwargs) for name, read, path, kwargs in cases}
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 16)
    for name, read, path, kwargs in cases:
        assert outcome(read, path, **kwargs) == whole[name], name


def test_the_fast_path_reads_real_files_without_the_slow_path(shared_data, tmp_path, monkeypatch):
    # The speed comes from pyarrow: no real file should need the numpy parser
    # (which still splits header lines).
    from hypgraph.data.readers import columns

    def refuse(*args, **kwargs):
        raise AssertionError("slow path used")

    monkeypatch.setattr(columns.Rows, "convert", refuse)
    monkeypatch.setattr(columns.FieldTable, "all_ints", refuse)
    for name, read, path, kwargs in _real_cases(shared_data, tmp_path):
        read(path, **kwargs)


# --- piece boundaries -----------------------------------------------------------------

def test_pieces_are_whole_lines_of_the_chunk_size(tmp_path, small_pieces):
    path = tmp_path / "u.data"
    path.write_bytes(u_data(12))
    with TextStream(path, what="x", max_line=1 << 16) as text:
        pieces = list(text.pieces())
    assert [(p.line, len(p.data)) for p in pieces] == [(1, CHUNK), (5, CHUNK), (9, CHUNK)]


@pytest.mark.parametrize("bad_line", [5, 9, 12])
def test_an_error_on_the_first_line_of_a_later_piece_names_its_own_line(tmp_path, small_pieces, path_kind,
                                                                        bad_line):
    lines = [u_data_line(k) for k in range(12)]
    lines[bad_line - 1] = b"1x\t" + lines[bad_line - 1][3:]
    path = tmp_path / "u.data"
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataFormatError) as info:
        read_movielens(path)
    assert info.value.line == bad_line
    assert str(info.value) == f"{path}:{bad_line}: column 1 (user_id): expected a non-negative integer, got '1x'"


def test_an_error_on_the_first_line_of_a_later_piece_of_a_kgat_list(tmp_path, small_pieces, path_kind):
    # 8-byte lines, 8 to a piece; line 17 opens the third piece.
    lines = [b"%d 1 2 3\n" % (k % 10) for k in range(24)]
    lines[16] = b"4 1 z 3\n"
    (tmp_path / "train.txt").write_bytes(b"".join(lines))
    (tmp_path / "test.txt").write_bytes(b"0 1\n")
    with pytest.raises(DataFormatError) as info:
        read_kgat(tmp_path)
    assert (info.value.path, info.value.line) == (str(tmp_path / "train.txt"), 17)
    assert "got 'z'" in info.value.reason


def test_an_error_on_the_first_line_of_a_later_piece_of_a_table(tmp_path, small_pieces, path_kind):
    # 16-byte lines, the header included: line 9 opens the third piece.
    rows = [b"u%03d,i%03d,3,100\n" % (k, k) for k in range(11)]
    rows[7] = b"u007,,3,1000000\n"  # an empty id
    path = tmp_path / "r.csv"
    path.write_bytes(b"user,item,rt,ts\n" + b"".join(rows))
    assert all(len(row) == LINE for row in rows)
    with TextStream(path, what="x", sep=",") as text:
        assert [p.line for p in text.pieces()] == [1, 5, 9]
    with pytest.raises(DataFormatError) as info:
        read_table(path, user_col="user", item_col="item", time_col="ts")
    assert info.value.line == 9
    assert "column 2 (item): expected a non-empty id" in info.value.reason


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_a_file_of_exactly_whole_pieces(tmp_path, monkeypatch, small_pieces, path_kind, trailing_newline):
    data = u_data(8)  # 128 bytes: two full pieces, then an empty read
    if not trailing_newline:
        data = data[:-1] + b"9"  # still 128 bytes; the last line ends at the end of the file
    path = tmp_path / "u.data"
    path.write_bytes(data)
    assert len(data) == 2 * CHUNK
    small = read_movielens(path)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 20)
    assert graph_state(small) == graph_state(read_movielens(path))
    assert small[UI].edge_index.size(1) == 8
    assert small[UI].time.tolist()[-1] == (8812507 if trailing_newline else 88125079)


def test_a_bad_last_line_of_a_file_of_whole_pieces(tmp_path, small_pieces, path_kind):
    lines = [u_data_line(k) for k in range(8)]
    lines[7] = lines[7][:-2] + b"x\n"
    path = tmp_path / "u.data"
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataFormatError) as info:
        read_movielens(path)
    assert info.value.line == 8


def test_crlf_split_across_a_piece_boundary(tmp_path, monkeypatch, small_pieces, path_kind):
    # 16-byte CRLF lines after one extra byte: the first read ends between
    # the CR and the LF of line 4.
    lines = [b"%d\t%d\t3\t%d\r\n" % (10 + k, 20 + k, 881250 + k) for k in range(9)]
    assert all(len(line) == LINE for line in lines)
    data = b"1" + b"".join(lines)
    assert data[CHUNK - 1:CHUNK + 1] == b"\r\n"
    path = tmp_path / "u.data"
    path.write_bytes(data)
    small = read_movielens(path)
    assert small[UI].time.tolist() == [881250 + k for k in range(9)]
    assert small["user"].raw_id.tolist() == [11 + k for k in range(8)] + [110]
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 20)
    assert graph_state(small) == graph_state(read_movielens(path))


def test_a_bom_is_stripped_at_the_start_of_the_file_only(tmp_path, small_pieces, path_kind):
    bom = "\ufeff".encode()
    path = tmp_path / "u.data"
    path.write_bytes(bom + u_data(12))
    assert read_movielens(path)[UI].edge_index.size(1) == 12
    # The same bytes opening a later piece (line 5) are data, and not an id:
    # pyarrow would skip a BOM at the start of any buffer it is given.
    lines = [u_data_line(k) for k in range(12)]
    lines[4] = bom + b"1\t2\t3\t881250\n"  # 16 bytes: a piece starts with it
    assert len(lines[4]) == LINE
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataFormatError) as info:
        read_movielens(path)
    assert info.value.line == 5
    assert "expected a non-negative integer, got '\\ufeff" in info.value.reason


def test_a_kgat_line_longer_than_a_piece_is_cut_between_values(tmp_path, monkeypatch, small_pieces, path_kind):
    long_line = b"7 " + b" ".join(b"%d" % k for k in range(200)) + b"\n"
    (tmp_path / "train.txt").write_bytes(b"1 5\n" + long_line + b"\n2 3 4\n")
    (tmp_path / "test.txt").write_bytes(b"0 1\n")
    small = read_kgat(tmp_path)
    assert small[UI].edge_index.size(1) == 1 + 200 + 2 + 1
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 20)
    assert graph_state(small) == graph_state(read_kgat(tmp_path))
    bad = long_line.replace(b" 150 ", b" 1x0 ")
    (tmp_path / "train.txt").write_bytes(b"1 5\n" + bad)
    monkeypatch.setattr(stream, "CHUNK_BYTES", CHUNK)
    with pytest.raises(DataFormatError) as info:
        read_kgat(tmp_path)
    assert info.value.line == 2 and "got '1x0'" in info.value.reason


def test_a_quoted_field_across_a_piece_boundary(tmp_path, monkeypatch, small_pieces, path_kind):
    rows = [b'u%d,i%d,"a title, with\nline breaks"\n' % (k, k) for k in range(6)]
    path = tmp_path / "r.csv"
    path.write_bytes(b"user,item,title\n" + b"".join(rows) + b"u9,,x\n")
    with pytest.raises(DataFormatError) as info:
        read_table(path, user_col="user", item_col="item")
    assert info.value.line == 14  # two physical lines per quoted row
    path.write_bytes(b"user,item,title\n" + b"".join(rows))
    small = read_table(path, user_col="user", item_col="item")
    assert [small["user"].raw_id[k] for k in small[UI].edge_index[0].tolist()] == [f"u{k}" for k in range(6)]
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 20)
    assert graph_state(small) == graph_state(read_table(path, user_col="user", item_col="item"))


def test_gzip_in_small_pieces(tmp_path, monkeypatch, small_pieces, path_kind):
    kg = b"".join(b"%d %d %d\n" % (k, k % 3, k + 1) for k in range(40))
    (tmp_path / "train.txt").write_bytes(b"0 1 2\n")
    (tmp_path / "test.txt").write_bytes(b"0 3\n")
    (tmp_path / "kg_final.txt.gz").write_bytes(gzip.compress(kg))
    data = read_kgat(tmp_path)
    assert data["entity", "relates", "entity"].edge_index[1].tolist() == list(range(1, 41))
    (tmp_path / "kg_final.txt.gz").write_bytes(gzip.compress(kg.replace(b"30 0 31", b"30 0 -31")))
    with pytest.raises(DataFormatError) as info:
        read_kgat(tmp_path)
    assert info.value.line == 31


# --- errors come out as if the whole file were checked first ---------------------------

def error_of_edited_file(tmp_path, **edits):
    """The DataFormatError of reading twelve u.data lines, line ``i``
    replaced by ``edits['line<i>'](line)``."""
    lines = [u_data_line(k) for k in range(12)]
    for key, line in edits.items():
        lines[int(key[4:])] = line(lines[int(key[4:])])
    path = tmp_path / "u.data"
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataFormatError) as info:
        read_movielens(path)
    return info.value


def bad_user(line):
    return b"1x\t" + line[3:]


def test_binary_data_in_a_later_piece_wins_over_a_bad_value(tmp_path, small_pieces, path_kind):
    error = error_of_edited_file(tmp_path, line1=bad_user, line10=lambda line: line[:5] + b"\x00" + line[6:])
    assert error.line == 11 and "NUL byte at offset 165" in error.reason


def test_a_wrong_field_count_in_a_later_piece_wins_over_a_bad_value(tmp_path, small_pieces, path_kind):
    error = error_of_edited_file(tmp_path, line1=bad_user, line10=lambda line: line.replace(b"\t", b"\t\t9\t", 1))
    assert error.line == 11 and "expected 4 columns" in error.reason


def test_not_a_number_later_wins_over_an_earlier_non_finite_value(tmp_path, small_pieces, path_kind):
    error = error_of_edited_file(tmp_path, line1=lambda line: line[:6] + b"nan" + line[7:],
                                 line10=lambda line: line[:6] + b"\xc2\xbd" + line[7:])  # ½
    assert error.line == 11 and "column 3 (rating): expected a number, got '½'" in error.reason


def test_a_long_line_in_a_later_piece_is_measured_and_wins(tmp_path, small_pieces, path_kind):
    error = error_of_edited_file(tmp_path, line1=bad_user, line9=lambda line: b"1 " * 40_000 + b"\n")
    assert error.line == 10 and error.reason.startswith("a line of 80,000 bytes;")


def test_a_file_of_blank_pieces_is_empty(tmp_path, small_pieces, path_kind):
    path = tmp_path / "u.data"
    path.write_bytes(b"\n" * 1000 + b" \r\n" * 100)
    with pytest.raises(DataFormatError) as info:
        read_movielens(path)
    assert info.value.line == 1 and info.value.reason.startswith("file is empty")


def test_a_header_longer_than_a_table_line(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"\n\nuser," + b"x" * (stream.MAX_LINE_BYTES + 10) + b"\n1,2\n")
    with pytest.raises(DataFormatError) as info:
        read_table(path, user_col="user", item_col="item")
    assert info.value.line == 3 and "the header line is longer than 1,048,576 bytes" in info.value.reason


# --- the fast path never accepts what the slow path refuses ----------------------------

TOKENS = ["0", "7", "42", "196", "881250949", "007", "+7", "-3", "1e3", "0x1f", "7.5", "9" * 18, "9" * 19,
          "", '"7"', "\ufeff1", "nan", "inf", "4.5", ".5", "5.", "1_0", "12:30", "\u0663", "x y", "a,b", "m.1"]
SEPARATORS = ["\t", "\t", "\t", " ", "  ", "\t ", "\x0b", "\r", ","]
ENDINGS = ["\n", "\n", "\n", "\r\n", "\n\n", "\r\n\r\n", " \n", "\r"]


@st.composite
def text_files(draw):
    lines = draw(st.lists(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5), min_size=1, max_size=12))
    text = ""
    for fields in lines:
        text += draw(st.sampled_from(SEPARATORS)).join(fields) + draw(st.sampled_from(ENDINGS))
    return ("\ufeff" if draw(st.booleans()) else "") + text


READERS = {
    "u.data": lambda p: read_movielens(p),
    "ratings_final.txt": lambda p: read_kgcn(p.parent),
    "train.txt": lambda p: (p.parent / "test.txt").write_bytes(b"0 1\n") and read_kgat(p.parent),
    "x.inter": lambda p: read_recbole(p),
    "r.csv": lambda p: read_table(p, user_col="user_id:token", item_col="item_id:token",
                                  rating_col="rating:float", time_col="timestamp:float"),
}
HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


@settings(max_examples=int(os.environ.get("HYPGRAPH_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_files(), name=st.sampled_from(sorted(READERS)), chunk=st.sampled_from([64, 100, 1 << 20]))
def test_fast_and_slow_paths_agree_on_any_text(tmp_path_factory, monkeypatch, text, name, chunk):
    folder = tmp_path_factory.mktemp("f")
    path = folder / name
    header = HEADER if name in ("x.inter", "r.csv") else ""
    path.write_bytes((header.replace("\t", ",") if name == "r.csv" else header).encode() + text.encode())
    results = []
    for fast in (True, False):
        monkeypatch.setattr(stream, "FAST_PATH", fast)
        monkeypatch.setattr(stream, "CHUNK_BYTES", chunk)
        results.append(outcome(READERS[name], path))
    assert results[0] == results[1]


# --- counting lines and numbering ids ------------------------------------------------------

@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(st.sampled_from([b"a", b"b c", b" ", b"\t", b"\x0b", b"\n", b"\r", b"\r\n", b"12"]),
                    min_size=1, max_size=200).map(b"".join))
def test_count_nonblank_lines_matches_splitlines(tmp_path_factory, monkeypatch, raw):
    monkeypatch.setattr(stream, "CHUNK_BYTES", CHUNK)
    path = tmp_path_factory.mktemp("c") / "list.txt"
    path.write_bytes(raw)
    expected = sum(1 for line in raw.splitlines() if line.strip())
    try:
        with TextStream(path, what="ids") as text:
            assert text.count_nonblank_lines() == expected
    except DataFormatError as error:
        assert expected == 0 and "file is empty" in error.reason


def test_factorize_small_ids_like_unique():
    rng = np.random.default_rng(0)
    for size, high in [(1000, 50), (1000, 5000), (10, 1 << 20), (0, 1)]:
        ids = rng.integers(0, high, size)
        codes, raw = factorize(ids)
        uniques, inverse = np.unique(ids, return_inverse=True)
        assert raw.tolist() == uniques.tolist() and codes.tolist() == inverse.tolist()
        assert codes.dtype == np.int64 and raw.dtype == np.int64


def test_a_piece_boundary_never_changes_a_graph(tmp_path, monkeypatch):
    # Random valid u.data files read in pieces of every size from 64 to 200 bytes.
    rng = random.Random(0)
    lines = [b"%d%s%d%s%d%s%d%s" % (rng.randrange(1000), rng.choice([b"\t", b" "]), rng.randrange(1000),
                                     rng.choice([b"\t", b" "]), rng.randrange(1, 6), rng.choice([b"\t", b" "]),
                                     rng.randrange(10 ** 9), rng.choice([b"\n", b"\r\n", b"\n\n"]))
             for _ in range(60)]
    path = tmp_path / "u.data"
    path.write_bytes(b"".join(lines))
    whole = graph_state(read_movielens(path))
    for chunk in range(64, 201, 7):
        monkeypatch.setattr(stream, "CHUNK_BYTES", chunk)
        assert graph_state(read_movielens(path)) == whole, chunk
