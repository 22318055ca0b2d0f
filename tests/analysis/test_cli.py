"""hypgraph-stats end to end: every format, plots, exit codes."""
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.report import COLUMNS

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--no-progress"]


def run(capsys, *argv):
    code = main(list(argv) + FAST)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def synthetic_edges():
    from hypgraph.data.synthetic import default_dataset
    return default_dataset()["user", "interacts", "item"].edge_index.numpy()


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory, synthetic_edges):
    """The synthetic interactions as a CSV with string ids and ratings 1..5."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("csv") / "ratings.csv"
    rating = rng.integers(1, 6, synthetic_edges.shape[1])
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["userId", "movieId", "rating"])
        for u, i, r in zip(synthetic_edges[0], synthetic_edges[1], rating):
            writer.writerow([f"u{u}", f"m{i}", r])
    return path, rating


def test_default_dataset_json(capsys, synthetic_edges):
    code, out, err = run(capsys, "--format", "json")
    assert code == 0
    (dataset,) = json.loads(out)["datasets"]
    users, items = synthetic_edges
    e = len({(u, i) for u, i in zip(users, items)})
    row = dataset["row"]
    assert row["name"] == "synthetic"
    assert (row["n_user"], row["n_item"], row["interactions"]) == (len(set(users)), len(set(items)), e)
    assert row["density"] == pytest.approx(e / (row["n_user"] * row["n_item"]))
    assert row["k_item"] == pytest.approx(e / row["n_item"])
    assert row["gamma"] > 1 and 0 <= row["p_ks"] <= 1 and row["p_boot"] is None
    fit = dataset["item_degree_fit"]
    assert (fit["alpha"], fit["xmin"], fit["ks"]) == (row["gamma"], row["xmin"], row["ks"])
    assert {c["alternative"] for c in dataset["item_degree_comparisons"]} == {
        "lognormal", "exponential", "truncated_power_law"}
    assert dataset["item_projection"]["exact"] is True
    assert dataset["user_degree_fit"]["alpha"] > 1


def test_csv_table_and_markdown_agree_with_json(capsys, ratings_csv):
    data = str(ratings_csv[0])
    _, out_json, _ = run(capsys, data, "--format", "json")
    row = json.loads(out_json)["datasets"][0]["row"]
    name = row["name"]
    _, out_csv, _ = run(capsys, data, "--format", "csv")
    (parsed,) = list(csv.DictReader(io.StringIO(out_csv)))
    assert list(parsed) == [k for k, _, _ in COLUMNS if k != "p_boot"]
    assert parsed["name"] == name
    for key in ("n_user", "n_item", "interactions", "removed"):
        assert int(parsed[key]) == row[key]
    for key in ("density", "k_item", "gamma", "xmin", "ks", "p_ks"):
        assert float(parsed[key]) == pytest.approx(row[key], rel=1e-12)

    _, out_md, _ = run(capsys, data, "--format", "markdown")
    lines = out_md.strip().splitlines()
    assert len(lines) == 3 and all(l.startswith("|") and l.endswith("|") for l in lines)
    assert lines[0].count("|") == lines[2].count("|") == len(COLUMNS)      # no p(boot) column
    assert f"{row['gamma']:.4f}" in lines[2] and f"{row['n_user']:,}" in lines[2]

    _, out_table, _ = run(capsys, data)
    header, line = out_table.strip().splitlines()
    assert header.split()[:3] == ["name", "N_user", "N_item"]
    assert line.split()[0] == name and f"{row['ks']:.4f}" in line.split()


def test_bootstrap_column(capsys, ratings_csv):
    data = str(ratings_csv[0])
    code, out, _ = run(capsys, data, "--format", "csv", "--bootstrap", "10", "--seed", "1")
    assert code == 0
    (parsed,) = list(csv.DictReader(io.StringIO(out)))
    p = float(parsed["p_boot"])
    assert 0.0 <= p <= 1.0 and round(p * 10) == pytest.approx(p * 10)
    # Same seed, same p-value.
    _, again, _ = run(capsys, data, "--format", "csv", "--bootstrap", "10", "--seed", "1")
    assert again == out


def test_plot_is_a_png(capsys, tmp_path):
    import matplotlib.image

    code, _, _ = run(capsys, "--plot", str(tmp_path / "plots"))
    assert code == 0
    (png,) = (tmp_path / "plots").iterdir()
    assert png.name == "synthetic_degrees.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] >= 300 and image.shape[1] >= 800


def test_csv_reader_with_guessed_columns_and_min_rating(capsys, ratings_csv):
    path, rating = ratings_csv
    code, out, err = run(capsys, str(path), "--reader", "csv", "--min-rating", "3",
                         "--format", "json", "--no-projection")
    assert code == 0, err
    dataset = json.loads(out)["datasets"][0]
    assert dataset["name"] == path.parent.name          # "ratings" is a generic stem
    assert dataset["interactions_read"] == rating.size
    assert dataset["row"]["removed"] == int((rating < 3).sum())
    assert dataset["filters"][0]["step"] == "rating >= 3"
    assert dataset["item_projection"] is None


def test_movielens_100k(capsys, shared_data):
    path = shared_data / "ml-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    code, out, _ = run(capsys, str(path), "--min-rating", "4", "--format", "json", "--no-compare",
                       "--no-projection")
    assert code == 0
    row = json.loads(out)["datasets"][0]["row"]
    # Chamberlain 2019, Table 1 counts (data README: 100,000 ratings).
    assert (row["name"], row["n_user"], row["n_item"]) == ("ml-100k", 942, 1447)
    assert round(row["density"], 4) == 0.0406 and round(row["k_item"], 4) == 38.2688
    assert row["removed"] == 100_000 - row["interactions"]


def test_malformed_file_exits_2_with_one_line(capsys, tmp_path):
    bad = tmp_path / "u.data"
    bad.write_text("1\t2\t5\t881250949\n1\t3\tfive\t881250949\n")
    code, out, err = run(capsys, str(bad))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{bad}:2:") and "rating" in err


def test_malformed_file_from_the_console(tmp_path):
    bad = tmp_path / "u.data"
    bad.write_text("1\t2\t5\t881250949\n1\t3\n")
    proc = subprocess.run([sys.executable, "-m", "analysis.cli", str(bad)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(f"{bad}:2:")


@pytest.mark.parametrize("argv", [["/nonexistent/data"], ["--min-rating", "4"]])
def test_bad_input_exits_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["--format", "xml"], ["--bootstrap", "-1"], ["--reader", "zip"]])
def test_bad_arguments_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage:" in err


def test_help_explains_every_column(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for _, header, _ in COLUMNS:
        assert f"\n  {header} " in out
    for option in ("--reader", "--min-rating", "--min-user-interactions", "--format", "--plot",
                   "--bootstrap", "--seed"):
        assert option in out
