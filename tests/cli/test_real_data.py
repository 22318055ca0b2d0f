"""hypgraph train + recommend on MovieLens 100K from the shared data folder
(skipped without it): raw ids out, no training item recommended."""
import csv
import io

import pytest

from hypgraph.cli.run import Run, RunData

from .conftest import run_cli


@pytest.fixture(scope="module")
def ml100k(shared_data):
    folder = shared_data / "ml-100k"
    if not (folder / "ua.base").is_file():
        pytest.skip(f"MovieLens 100K not found in {folder}")
    return folder


def pairs_of(path):
    return {tuple(line.split()[:2]) for line in path.read_text().splitlines() if line.strip()}


def test_given_files_train_and_recommend(tmp_path, capsys, ml100k):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", ml100k / "ua.base", "--split", "given", "--test", ml100k / "ua.test",
                           "--out", run, "--epochs", "1", "--dim", "8", "--batch-size", "8192", "--no-progress")
    assert code == 0, err
    assert "943 users, 1,680 items" in err
    # two ua.test items never occur in ua.base: counted and reported, not dropped silently
    assert "(0 unknown users, 2 unknown items)" in err
    users = tmp_path / "users.txt"
    users.write_text("1\n13\n405\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "recommend", run, "--users", users, "--k", "10")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["user"] for r in rows[::10]] == ["1", "13", "405"] and len(rows) == 30
    # never an item of the run's training part (ua.base less the 10 % held out for validation)
    data = RunData.load(run / "data.pt")
    users_, items_ = data.id_strings("user"), data.id_strings("item")
    trained = {(users_[u], items_[i]) for u, i in data.train.t().tolist()}
    recommended = {(r["user"], r["item"]) for r in rows}
    assert trained and not recommended & trained
    base = pairs_of(ml100k / "ua.base")
    assert trained < base and {r["item"] for r in rows} <= {i for _, i in base}
    # --exclude all: nor anything of ua.base or ua.test
    code, out, err = run_cli(capsys, "recommend", run, "--users", users, "--k", "10", "--exclude", "all")
    assert code == 0, err
    known = base | pairs_of(ml100k / "ua.test")
    assert len(out.splitlines()) == 31 and not {(r["user"], r["item"]) for r in csv.DictReader(io.StringIO(out))} & known


def test_u_data_is_detected(tmp_path, capsys, ml100k):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", ml100k / "u.data", "--model", "popularity", "--split", "leave-last-out",
                           "--out", run, "--no-progress")
    assert code == 0, err
    loaded = Run(run)
    assert loaded.config["data"]["format"] == "movielens"
    assert loaded.data.test.size(1) == 943  # each user's last interaction
