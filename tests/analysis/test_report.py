"""DatasetReport: the HeteroData adapter, degenerate data, renderings."""
import csv
import io
import json

import numpy as np
import pytest

from analysis import (dataset_name, describe, describe_arrays, empirical_ccdf, format_reports,
                      sample_power_law)


def test_hetero_adapter_equals_the_array_path():
    from hypgraph.data.synthetic import default_dataset

    data = default_dataset()
    edge_index = data["user", "interacts", "item"].edge_index.numpy()
    a = describe(data, name="x", random_state=0)
    b = describe_arrays(edge_index[0], edge_index[1], name="x", random_state=0)
    assert a.as_dict()["row"] == b.as_dict()["row"]
    assert a.projection == b.projection and a.comparisons == b.comparisons


def test_degenerate_degrees_render_as_missing():
    # Every item has exactly two users: no power law can be fitted to the items.
    user = np.arange(20)
    item = np.arange(20) // 2
    report = describe_arrays(user, item, name="flat", compare=True, projection=False)
    assert report.item_fit is None and report.comparisons == []
    assert any("item degrees: no power-law fit" in note for note in report.notes)
    row = report.row()
    assert row["gamma"] is None and row["n_item"] == 10 and row["density"] == pytest.approx(0.1)
    table = format_reports([report], "table")
    assert table.splitlines()[1].split()[5:10] == ["-"] * 5
    parsed = json.loads(format_reports([report], "json"))["datasets"][0]
    assert parsed["row"]["gamma"] is None and parsed["item_degree_fit"] is None
    (line,) = csv.DictReader(io.StringIO(format_reports([report], "csv")))
    assert line["gamma"] == "" and line["n_item"] == "10"


def test_several_datasets_one_row_each():
    reports = []
    for alpha in (2.2, 3.0):
        k_item = sample_power_law(alpha, 1, 300, discrete=True, random_state=1).astype(int)
        item = np.repeat(np.arange(k_item.size), k_item)
        user = np.random.default_rng(0).integers(0, 5000, item.size)
        reports.append(describe_arrays(user, item, name=f"a{alpha}", projection=False))
    table = format_reports(reports, "markdown")
    assert [l.split("|")[1].strip() for l in table.splitlines()[2:]] == ["a2.2", "a3.0"]
    assert reports[0].item_fit.alpha < reports[1].item_fit.alpha


def test_tiny_tails_skip_the_comparisons():
    report = describe_arrays([0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2], projection=False)
    assert report.item_fit is not None and report.comparisons == []
    assert any("comparisons skipped" in note for note in report.notes)
    assert any("tail of 2 < 50 values" in note for note in report.notes)
    assert report.item_fit.small_tail and report.row()["small_tail"] is True


def test_unknown_format():
    report = describe_arrays([0, 1, 1], [0, 0, 1], projection=False)
    with pytest.raises(ValueError, match="unknown format"):
        format_reports([report], "xml")


def test_empirical_ccdf():
    values, ccdf = empirical_ccdf([1, 1, 2, 5])
    assert values.tolist() == [1, 2, 5] and ccdf.tolist() == [1.0, 0.5, 0.25]


@pytest.mark.parametrize("relative,name", [("ml-100k/u.data", "ml-100k"), ("amazon/train.txt", "amazon"),
                                           ("x/books.csv", "books"), ("x/ratings.csv.gz", "x")])
def test_dataset_name(tmp_path, relative, name):
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert dataset_name(path) == name
    assert dataset_name(path.parent) == path.parent.name
    assert dataset_name(None) == "synthetic"
