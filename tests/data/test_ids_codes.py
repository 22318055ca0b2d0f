"""factorize / factorize_tokens (hypgraph/data/readers/ids.py) give the same
codes and identifiers whichever way they get them: integer tokens through a
lookup table, other tokens through one dictionary encoding, written into
given arrays (out=) or new ones."""
import numpy as np
import pyarrow as pa
import pytest

from hypgraph.data.readers.ids import factorize, factorize_tokens


def reference(columns):
    # Sorted distinct tokens (numerically when all are canonical integers).
    tokens = [t for column in columns for t in column]
    distinct = sorted(set(tokens))
    if distinct and all(t.isascii() and t.isdigit() and len(t) <= 18 and (t == "0" or not t.startswith("0"))
                        for t in distinct):
        distinct = sorted(distinct, key=int)
        raw = [int(t) for t in distinct]
    else:
        raw = distinct
    index = {t: k for k, t in enumerate(distinct)}
    return [[index[t] for t in column] for column in columns], raw


def chunked(tokens, size):
    chunks = [pa.array(tokens[k:k + size], type=pa.string()) for k in range(0, len(tokens), size)]
    return pa.chunked_array(chunks or [pa.array([], type=pa.string())], type=pa.string())


CASES = {
    "small ints": [["5", "3", "10", "3"], ["10", "7"]],
    "ints with a gap": [[str(k * 3) for k in range(50)][::-1], ["0", "147"]],
    "large ints": [["123456789012", "5", "123456789012"], ["99999999999999"]],
    "leading zero": [["007", "7", "10"], ["7"]],
    "strings": [["m.04ctbw8", "b", "a", "b"], ["a", "z", "m.01"]],
    "mixed": [["1", "x", "2"], ["2"]],
    "18 digits": [["999999999999999999", "1"], []],
    "19 digits": [["1000000000000000000", "1"], []],
    "empty": [[], []],
    "unicode": [["é", "e", "ß"], ["e"]],
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("size", [1, 2, 100])
@pytest.mark.parametrize("given_out", [False, True])
def test_factorize_tokens_matches_the_reference(name, size, given_out):
    columns = CASES[name]
    codes, raw = reference(columns)
    arrays = [chunked(column, size) for column in columns]
    out = [np.full(len(column), -1, dtype=np.int64) for column in columns] if given_out else None
    got_codes, got_raw = factorize_tokens(arrays, out=out)
    assert [c.tolist() for c in got_codes] == codes
    assert all(c.dtype == np.int64 for c in got_codes)
    if given_out:
        assert all(g is o for g, o in zip(got_codes, out))
    if isinstance(raw, list) and raw and isinstance(raw[0], int):
        assert isinstance(got_raw, np.ndarray) and got_raw.dtype == np.int64
        assert got_raw.tolist() == raw
    else:
        assert list(got_raw) == raw


@pytest.mark.parametrize("values", [np.array([7, 3, 7, 100]), np.array([1 << 40, 5, 1 << 40]), np.zeros(0, np.int64)])
def test_factorize_ints_into_out(values):
    uniques, inverse = np.unique(values, return_inverse=True)
    out = np.empty(len(values), dtype=np.int64)
    codes, raw = factorize(values.copy(), out=out)
    assert codes is out
    assert codes.tolist() == inverse.tolist() and raw.tolist() == uniques.tolist()
    # in place
    inplace = values.copy()
    codes, raw = factorize(inplace, overwrite=True)
    assert codes.tolist() == inverse.tolist()


def test_factorize_a_row_of_an_edge_array():
    edge = np.empty((2, 4), dtype=np.int64)
    factorize(chunked(["b", "a", "b", "c"], 3), out=edge[0])
    factorize(np.array([10, 20, 10, 30]), out=edge[1])
    assert edge.tolist() == [[1, 0, 1, 2], [0, 1, 0, 2]]
