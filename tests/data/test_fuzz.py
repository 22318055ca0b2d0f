"""Corrupted copies of real files: every corruption gives one DataFormatError
line that names the file and the corrupted line.

Each case copies the first lines of a real file (or, when shared/data is
absent, a synthetic file of the same format, so that a fresh clone still tests
the same paths) into tmp_path, corrupts one line and reads it back.
"""
import csv
import functools
import io
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypgraph.data import DataFormatError
from hypgraph.data.readers import read_kgat, read_kgcn, read_movielens, read_recbole, read_table

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HYPGRAPH_DATA") or REPO.parent / "shared" / "data")
NUM_LINES = 200
TARGET = 57  # 0-based index of the corrupted line


def _head(relative: str) -> Optional[List[bytes]]:
    path = SHARED / relative
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return [f.readline() for _ in range(NUM_LINES)]


def _synthetic(fmt: str) -> List[bytes]:
    rng = random.Random(fmt)
    rows = []
    for _ in range(NUM_LINES):
        u, i, r, t = rng.randrange(50), rng.randrange(80), rng.randint(1, 5), rng.randrange(8 * 10**8, 9 * 10**8)
        rows.append({
            "movielens": f"{u}\t{i}\t{r}\t{t}\n",
            "kgcn_ratings": f"{u}\t{i}\t{rng.randint(0, 1)}\n",
            "kg_final": f"{i}\t{rng.randrange(5)}\t{rng.randrange(300)}\n",
            "kgat_train": " ".join(map(str, [u] + rng.sample(range(80), 5))) + "\n",
            "recbole_inter": f"{u}\t{i}\t{r}\t{t}\n",
            "recbole_kg": f"m.0{i}\tfilm.rel{rng.randrange(5)}\tm.1{rng.randrange(300)}\n",
        }[fmt].encode())
    header = {"recbole_inter": b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n",
              "recbole_kg": b"head_id:token\trelation_id:token\ttail_id:token\n"}.get(fmt)
    return ([header] if header else []) + rows[:NUM_LINES - bool(header)]


def _as_csv(lines: List[bytes]) -> List[bytes]:
    return [b"user,item,rating,time\n"] + [b",".join(line.split()) + b"\n" for line in lines[:NUM_LINES - 1]]


@dataclass
class Format:
    file: str
    source: str
    header: bool
    fixed: bool  # a fixed number of columns per line
    tab_separated: bool  # fields may hold spaces and control bytes
    read: Callable[[Path], object]
    extra_edges: int = 0  # edges the reader gets from the companion files written by read

    def sample(self) -> List[bytes]:
        if self.source == "csv":
            return _as_csv(FORMATS["movielens"].sample())
        real = _head(self.source)
        return real if real is not None else _synthetic(self.name)


def _kgcn_kg(path: Path):
    (path.parent / "ratings_final.txt").write_bytes(b"0\t1\t1\n1\t0\t1\n")
    return read_kgcn(path.parent)


def _kgat(path: Path):
    (path.parent / "test.txt").write_bytes(b"0 1\n")
    return read_kgat(path.parent)


FORMATS = {
    "movielens": Format("u.data", "ml-100k/u.data", False, True, False, read_movielens),
    "kgcn_ratings": Format("ratings_final.txt", "book-crossing-kgcn/ratings_final.txt", False, True, False,
                           lambda p: read_kgcn(p.parent)),
    "kg_final": Format("kg_final.txt", "book-crossing-kgcn/kg_final.txt", False, True, False, _kgcn_kg),
    "kgat_train": Format("train.txt", "kgat/amazon-book/train.txt", False, False, False, _kgat, extra_edges=1),
    "recbole_inter": Format("ml-100k.inter", "ml-100k-kg-recbole/ml-100k.inter", True, True, True,
                            lambda p: read_recbole(p.parent)),
    "recbole_kg": Format("ml-100k.kg", "ml-100k-kg-recbole/ml-100k.kg", True, True, True,
                         lambda p: (p.parent / "ml-100k.inter").write_bytes(
                             b"user_id:token\titem_id:token\n1\t2\n") and read_recbole(p.parent)),
    "csv": Format("ratings.csv", "csv", True, True, True,
                  lambda p: read_table(p, user_col="user", item_col="item", rating_col="rating", time_col="time")),
}
for _name, _fmt in FORMATS.items():
    _fmt.name = _name

Lines = List[bytes]
Mutation = Callable[[Lines, int], Tuple[Lines, int]]


def _split(line: bytes) -> Tuple[List[bytes], bytes]:
    sep = b"\t" if b"\t" in line else (b"," if b"," in line else b" ")
    return line.rstrip(b"\r\n").split(sep), sep


def set_field(col: int, value: bytes) -> Mutation:
    def mutate(lines, k):
        fields, sep = _split(lines[k])
        fields[col if col >= 0 else len(fields) + col] = value
        lines[k] = sep.join(fields) + b"\n"
        return lines, k + 1
    return mutate


def replace_line(make: Callable[[bytes], bytes]) -> Mutation:
    def mutate(lines, k):
        lines[k] = make(lines[k])
        return lines, k + 1
    return mutate


def drop_last_field(lines, k):
    fields, sep = _split(lines[k])
    lines[k] = sep.join(fields[:-1]) + b"\n"
    return lines, k + 1


def extra_field(lines, k):
    fields, sep = _split(lines[k])
    lines[k] = sep.join(fields + [b"7"]) + b"\n"
    return lines, k + 1


def first_field_only(lines, k):
    lines[k] = _split(lines[k])[0][0] + b"\n"
    return lines, k + 1


def header_inserted(lines, k):
    return [b"user item rating timestamp\n"] + lines, 1


def empty_file(lines, k):
    return [], 1


def blank_file(lines, k):
    return [b"\n", b"   \n", b"\t\r\n"], 1


def crlf_then(inner: Mutation) -> Mutation:
    def mutate(lines, k):
        lines, line = inner(lines, k)
        return [line_.rstrip(b"\r\n") + b"\r\n" for line_ in lines], line
    return mutate


def bom_then(inner: Mutation) -> Mutation:
    def mutate(lines, k):
        lines, line = inner(lines, k)
        return [b"\xef\xbb\xbf" + lines[0]] + lines[1:], line
    return mutate


def blank_lines_then(inner: Mutation) -> Mutation:
    def mutate(lines, k):
        lines, line = inner(lines, k)
        return lines[:k] + [b"\n", b"  \n", b"\n"] + lines[k:], line + 3
    return mutate


def untype_header(lines, k):
    lines[0] = lines[0].replace(b":token", b"", 1)
    return lines, 1


def drop_header_column(lines, k):
    fields, sep = _split(lines[0])
    lines[0] = sep.join(fields[1:]) + b"\n"
    return lines, 1


def binary_line(lines, k):
    rng = random.Random(k)
    # No line breaks: the garbage stays on line k + 1.
    lines[k] = bytes(rng.choice([b for b in range(256) if b not in (10, 13)]) for _ in range(40)) + b"\x00\n"
    return lines, k + 1


def double_separator(lines, k):
    fields, sep = _split(lines[k])
    lines[k] = sep.join(fields[:1] + [b""] + fields[1:]) + b"\n"
    return lines, k + 1


ALL = tuple(FORMATS)
HEADERLESS = tuple(n for n, f in FORMATS.items() if not f.header)
FIXED = tuple(n for n, f in FORMATS.items() if f.fixed)
WHITESPACE_FIXED = tuple(n for n, f in FORMATS.items() if f.fixed and not f.tab_separated)
INTEGER_IDS = ("movielens", "kgcn_ratings", "kg_final", "kgat_train")
DENSE_IDS = ("kgcn_ratings", "kg_final", "kgat_train")
SEPARATED = ("recbole_inter", "recbole_kg", "csv")

CASES = [
    ("letters in id", INTEGER_IDS, set_field(0, b"abc")),
    ("negative id", INTEGER_IDS, set_field(0, b"-7")),
    ("decimal id", INTEGER_IDS, set_field(0, b"7.5")),
    ("exponent id", INTEGER_IDS, set_field(0, b"1e3")),
    ("hex id", INTEGER_IDS, set_field(0, b"0x1f")),
    ("plus sign", INTEGER_IDS, set_field(0, b"+7")),
    ("25 digits", INTEGER_IDS, set_field(0, b"9" * 25)),
    ("arabic-indic digit", INTEGER_IDS, set_field(0, "\u0663".encode())),
    ("full-width digits", INTEGER_IDS, set_field(0, "\uff11\uff12".encode())),
    ("quoted id", INTEGER_IDS, set_field(0, b'"7"')),
    ("nan id", INTEGER_IDS, set_field(0, b"nan")),
    ("None id", INTEGER_IDS, set_field(0, b"None")),
    ("trailing garbage", INTEGER_IDS, set_field(0, b"12abc")),
    ("BOM inside a line", INTEGER_IDS, set_field(0, "\ufeff12".encode())),
    ("comma inside a field", INTEGER_IDS, set_field(0, b"1,2")),
    ("id beyond a dense range", DENSE_IDS, set_field(1, b"1000000000000")),
    ("last field dropped", FIXED, drop_last_field),
    ("extra field", FIXED, extra_field),
    ("only the first field", FIXED, first_field_only),
    ("control byte splits a field", WHITESPACE_FIXED, set_field(0, b"12\x0134")),
    ("lone CR splits a field", WHITESPACE_FIXED, set_field(0, b"12\r34")),
    ("empty field", SEPARATED, double_separator),
    ("NUL byte", ALL, replace_line(lambda line: line[:3] + b"\x00" + line[3:])),
    ("invalid UTF-8", ALL, replace_line(lambda line: line[:3] + b"\xff\xfe" + line[3:])),
    ("binary garbage line", ALL, binary_line),
    ("header where none is expected", HEADERLESS, header_inserted),
    ("empty file", ALL, empty_file),
    ("whitespace-only file", ALL, blank_file),
    ("inf rating", ("movielens", "recbole_inter", "csv"), set_field(2, b"inf")),
    ("nan rating", ("movielens", "recbole_inter", "csv"), set_field(2, b"NaN")),
    ("clock-time timestamp", ("movielens", "recbole_inter", "csv"), set_field(3, b"12:30")),
    ("fractional timestamp", ("recbole_inter", "csv"), set_field(3, b"881250949.5")),
    ("label 2", ("kgcn_ratings",), set_field(2, b"2")),
    ("letters in a KG relation", ("kg_final",), set_field(1, b"rel")),
    ("untyped header", ("recbole_inter", "recbole_kg"), untype_header),
    ("header lacks a column", ("recbole_inter", "recbole_kg", "csv"), drop_header_column),
    ("CRLF file with a bad id", INTEGER_IDS, crlf_then(set_field(0, b"abc"))),
    ("BOM file with a bad id", INTEGER_IDS, bom_then(set_field(0, b"abc"))),
    ("blank lines before a bad id", INTEGER_IDS, blank_lines_then(set_field(0, b"abc"))),
    ("CRLF file with a dropped field", FIXED, crlf_then(drop_last_field)),
]
PARAMS = [pytest.param(fmt, mutate, id=f"{name}-{fmt}") for name, formats, mutate in CASES for fmt in formats]


@pytest.mark.parametrize("fmt,mutate", PARAMS)
def test_corruption_is_one_line_error_at_the_right_line(tmp_path, fmt, mutate):
    spec = FORMATS[fmt]
    lines, line = mutate(list(spec.sample()), TARGET)
    path = tmp_path / spec.file
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataFormatError) as info:
        spec.read(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert "expected" in message
    assert info.value.line == line


# --- row accounting ------------------------------------------------------------
# What each format's reader must account for, counted here without the
# library: every record of the file is an interaction (or KG triple) in the
# graph or is counted in data.filter_log.

_WHITESPACE = re.compile(rb"[\x00-\x20]+")  # the readers split on every byte <= 0x20


def _records(spec: "Format", raw: bytes) -> int:
    raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if spec.name == "csv":
        rows = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
        return sum(1 for row in rows if any(field.strip(" \r\t") for field in row)) - 1
    lines = raw.split(b"\n")
    if spec.tab_separated:
        return sum(1 for line in lines if line.strip(b" \r")) - spec.header
    fields = [[f for f in _WHITESPACE.split(line) if f] for line in lines]
    if spec.fixed:
        return sum(1 for f in fields if f)
    # KGAT: 'user item item ...'; a user line without items is reported by the
    # reader as one filtered line (the user stays a node): one record here too
    return sum(max(len(f) - 1, 1) for f in fields if f)


def _accounted(spec: "Format", data, path: Path) -> int:
    edge_type = ("entity", "relates", "entity") if spec.name in ("kg_final", "recbole_kg") else \
        ("user", "interacts", "item")
    edges = data[edge_type].edge_index.size(1) - spec.extra_edges
    removed = sum(r.removed for r in getattr(data, "filter_log", []) if r.source == os.fspath(path))
    return edges + removed


@pytest.mark.parametrize("fmt", ALL)
def test_every_record_of_a_sample_is_accounted_for(tmp_path, fmt):
    spec = FORMATS[fmt]
    raw = b"".join(spec.sample())
    path = tmp_path / spec.file
    path.write_bytes(raw)
    expected = _records(spec, raw)
    assert expected >= NUM_LINES - 1
    assert _accounted(spec, spec.read(path), path) == expected


#: Examples of the random-edit property in the default run; set
#: HYPGRAPH_FUZZ_EXAMPLES for a longer one (see README, "Fuzzing the readers").
FUZZ_EXAMPLES = int(os.environ.get("HYPGRAPH_FUZZ_EXAMPLES", "150"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_edits_parse_with_every_record_accounted_for_or_fail_in_one_line(tmp_path, data):
    fmt = data.draw(st.sampled_from(ALL))
    spec = FORMATS[fmt]
    raw = bytearray(b"".join(spec.sample()[:40]))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos:pos + 1] = data.draw(st.binary(min_size=0, max_size=3))
    path = tmp_path / spec.file
    path.write_bytes(bytes(raw))
    try:
        graph = spec.read(path)
    except DataFormatError as error:
        assert "\n" not in str(error)
        assert error.path is not None
    else:
        assert _accounted(spec, graph, path) == _records(spec, bytes(raw))


# --- hostile files through the command line ----------------------------------
# Each was a traceback, a silent misreading or gigabytes of memory before.

def _hgcf(folder: Path, train) -> Path:
    import pickle

    folder.mkdir()
    (folder / "train.pkl").write_bytes(pickle.dumps(train, protocol=4))
    (folder / "test.pkl").write_bytes(pickle.dumps({0: [0]}, protocol=4))
    return folder


def _symlink_loop(tmp: Path) -> Path:
    path = tmp / "loop"
    path.symlink_to(path)
    return path


def _write(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path
    return make


def _truncated_gzip(tmp: Path) -> Path:
    import gzip

    whole = gzip.compress(b"user,item,rating\n" + b"1,2,3\n" * 100)
    return _write("cut.csv.gz", whole[:15])(tmp)


HOSTILE = [
    ("hgcf id >= 2^63", lambda tmp: _hgcf(tmp / "hgcf", {0: [2 ** 63 + 5], 1: [0]}),
     "user 0 has item 9223372036854775813"),
    ("hgcf key >= 2^63", lambda tmp: _hgcf(tmp / "hgcf", {2 ** 64: [1]}), "is not an int in [0, 2^63)"),
    ("hgcf shared list", lambda tmp: _hgcf(tmp / "hgcf", dict.fromkeys(range(2000), list(range(2000)))),
     "shared references"),
    ("truncated gzip header", _truncated_gzip, "cannot read the header"),
    ("header of 2 MB", _write("wide.csv", b"user," + b"x" * (2 << 20) + b"\n1,2\n"),
     "the first line is longer than 1,048,576 bytes"),
    ("u.data on one line", _write("u.data", b" ".join(b"%d" % (i % 10) for i in range(100_000)) + b"\n"),
     "a line of 199,999 bytes; expected MovieLens ratings"),
    ("symlink loop", _symlink_loop, "is a symbolic link loop"),
    ("recbole item_id twice", _write("rb/rb.inter", b"user_id:token\titem_id:token\titem_id:token\nu\ti\tj\n"),
     "column 'item_id' appears twice in the header"),
    ("recbole header only", _write("rb/rb.inter", b"user_id:token\titem_id:token\n"),
     "no rows after the header"),
]


@pytest.mark.parametrize("make,needle", [pytest.param(m, n, id=name) for name, m, n in HOSTILE])
def test_hostile_file_exits_2_with_one_line(tmp_path, capsys, make, needle):
    from analysis.cli import main

    path = make(tmp_path)
    code = main([str(path), "--format", "json", "--no-progress", "--no-projection", "--no-compare"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(str(path)), err
    assert needle in err, err


def test_hostile_file_exits_2_from_the_installed_command(tmp_path):
    # one case end to end through the process, exit status included
    import subprocess
    import sys

    path = _truncated_gzip(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "analysis.cli", str(path), "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cannot read the header" in proc.stderr


@functools.lru_cache(maxsize=1)
def _hgcf_sample() -> bytes:
    import pickle

    real = SHARED / "amazon-cd-hgcf" / "train.pkl"
    if real.is_file():
        from hypgraph.data.readers.hgcf import load_pickle
        full = load_pickle(real)
        users = dict(list(full.items())[:30])
    else:
        rng = random.Random("hgcf")
        users = {u: rng.sample(range(300), rng.randrange(1, 12)) for u in range(30)}
    return pickle.dumps(users, protocol=4)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_edits_of_hgcf_pickles_parse_or_fail_in_one_line(tmp_path, data):
    from hypgraph.data.readers import read_hgcf

    raw = bytearray(_hgcf_sample())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos:pos + 1] = data.draw(st.binary(min_size=0, max_size=3))
    (tmp_path / "train.pkl").write_bytes(bytes(raw))
    (tmp_path / "test.pkl").write_bytes(_hgcf_sample())
    try:
        read_hgcf(tmp_path)
    except DataFormatError as error:
        assert "\n" not in str(error)
        assert error.path is not None
