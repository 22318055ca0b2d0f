"""The header-less reader: ``user item [rating [time]]`` rows."""
import gzip

import pytest
import torch

from hypgraph.data import DataFormatError
from hypgraph.data.readers.pairs import first_row, read_pairs

UI = ("user", "interacts", "item")


def write(tmp_path, name, text):
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,sep", [
    ("1 2\n3 4\n1 4\n", None),
    ("1\t2\n3\t4\n1\t4\n", "\t"),
    ("\n\n1,2\n3,4\n\n1,4\n", ","),
])
def test_two_columns(tmp_path, text, sep):
    path = write(tmp_path, "x.txt", text)
    assert first_row(path)[2] == sep
    data = read_pairs(path)
    assert data["user"].raw_id.tolist() == [1, 3] and data["item"].raw_id.tolist() == [2, 4]
    assert data[UI].edge_index.tolist() == [[0, 1, 0], [0, 1, 1]]
    assert "rating" not in data[UI] and "time" not in data[UI]


def test_four_columns_with_string_ids_gz(tmp_path):
    path = write(tmp_path, "x.tsv.gz", "alice\tbook1\t4.5\t100\nbob\tbook2\t3\t200\n\nalice\tbook2\t1\t300\n")
    data = read_pairs(path)
    assert list(data["user"].raw_id) == ["alice", "bob"]
    assert data[UI].edge_index.tolist() == [[0, 1, 0], [0, 1, 1]]
    assert data[UI].rating.tolist() == [4.5, 3.0, 1.0]
    assert data[UI].time.tolist() == [100, 200, 300]


def test_three_columns_and_explicit_separator(tmp_path):
    path = write(tmp_path, "x.txt", "a;b|c;5\n")
    data = read_pairs(path, sep=";")
    assert list(data["item"].raw_id) == ["b|c"] and data[UI].rating.tolist() == [5.0]


@pytest.mark.parametrize("text,where,message", [
    ("user,item,rating\n1,2,3\n", ":1:", "column 3 (rating): expected a number, got 'rating' (this format has no header line)"),
    ("1 2 3\n1 2\n", ":2:", "expected 3 columns (user item rating), found 2"),
    ("1 2 3 4 5\n", ":1:", "5 fields on the first line; expected rows of 'user item [rating [time]]'"),
    ("7\n", ":1:", "1 field on the first line"),
    ("1 2 3 4.5\n", ":1:", "column 4 (time): expected an integer timestamp"),
    ("\n  \n", ":1:", "file is empty"),
])
def test_errors_name_file_and_line(tmp_path, text, where, message):
    path = write(tmp_path, "x.txt", text)
    with pytest.raises(DataFormatError) as err:
        read_pairs(path)
    assert f"{path}{where}" in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="expected a file of rows"):
        read_pairs(tmp_path / "absent.txt")


def test_same_as_movielens_reader(tmp_path):
    from hypgraph.data.readers import read_movielens

    text = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t302\t5\t1\n"
    a, b = read_pairs(write(tmp_path, "r.txt", text)), read_movielens(write(tmp_path, "u.data", text))
    for key in ("edge_index", "rating", "time"):
        assert torch.equal(a[UI][key], b[UI][key])
    assert torch.equal(a["user"].raw_id, b["user"].raw_id)
