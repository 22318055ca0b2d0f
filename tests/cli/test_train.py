"""hypgraph train, in-process: the run folder, repeatability, resume, inputs
and splits, every model."""
import json
import tomllib

import pytest
import torch

from hypgraph.cli.run import Run, RunData

from .conftest import FAST, run_cli, write_pairs


def test_run_folder(trained_run):
    names = {p.name for p in trained_run.iterdir()}
    assert {"config.toml", "data.pt", "checkpoint.pt", "log.jsonl", "model.pt", "metrics.json"} <= names
    config = tomllib.loads((trained_run / "config.toml").read_text(encoding="utf-8"))
    assert config["data"]["format"] == "pairs" and config["model"]["dim"] == 6 and config["train"]["epochs"] == 2
    assert config["train"]["optimizer"] == "adam" and config["split"]["valid"] == "none"
    log = [json.loads(line) for line in (trained_run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and "ndcg@10" in log[0]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert {"recall@20", "ndcg@10", "users"} <= metrics["validation"]["full"].keys()
    assert {"recall@20", "ndcg@20"} <= metrics["test"]["full"].keys()
    assert {"hr@10", "ndcg@10"} <= metrics["test"]["sampled"].keys()
    assert metrics["epochs"] == 2 and metrics["best_epoch"] in (1, 2)
    # plain data only: every .pt reads with weights_only=True
    for name in ("data.pt", "model.pt", "checkpoint.pt"):
        torch.load(trained_run / name, weights_only=True)
    data = RunData.load(trained_run / "data.pt")
    assert data.id_strings("user")[0].startswith("u") and data.id_strings("item")[0].startswith("i")
    parts = torch.cat([data.train, data.valid, data.test], 1)
    assert torch.unique(parts[0] * data.num_items + parts[1]).numel() == parts.size(1)  # disjoint parts


def test_the_written_config_repeats_the_run(tmp_path, capsys, trained_run):
    code, _, err = run_cli(capsys, "train", "--config", trained_run / "config.toml", "--out", tmp_path / "again",
                           "--device", "cpu", "--no-progress")
    assert code == 0, err
    a, b = RunData.load(trained_run / "data.pt"), RunData.load(tmp_path / "again" / "data.pt")
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    first = torch.load(trained_run / "model.pt", weights_only=True)["state_dict"]
    second = torch.load(tmp_path / "again" / "model.pt", weights_only=True)["state_dict"]
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_resume_continues_exactly(tmp_path, capsys, pairs_file, trained_run):
    folder = tmp_path / "resumed"
    assert run_cli(capsys, "train", pairs_file, "--out", folder, "--epochs", "1", "--model", "hyperbolic",
                   "--device", "cpu", *FAST)[0] == 0
    code, _, err = run_cli(capsys, "train", "--out", folder, "--resume", "--epochs", "2", "--device", "cpu",
                           "--no-progress")
    assert code == 0, err
    assert "epoch 2/2" in err and "epoch 1/" not in err
    straight = torch.load(trained_run / "model.pt", weights_only=True)["state_dict"]
    resumed = torch.load(folder / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert len((folder / "log.jsonl").read_text().splitlines()) == 2
    assert tomllib.loads((folder / "config.toml").read_text())["train"]["epochs"] == 2
    code, _, err = run_cli(capsys, "train", "--out", folder, "--resume")
    assert code == 2 and "is finished" in err


def test_an_existing_run_is_not_replaced_by_accident(capsys, pairs_file, trained_run):
    code, _, err = run_cli(capsys, "train", pairs_file, "--out", trained_run, *FAST)
    assert code == 2 and "already holds a run" in err and "--overwrite" in err
    code, _, err = run_cli(capsys, "train", "--out", trained_run, "--resume", "--dim", "3")
    assert code == 2 and "only --epochs and --patience may change (got --dim)" in err


def test_given_split_from_files_matches_ids_and_reports_unknown_ones(tmp_path, capsys, synthetic):
    edges = synthetic["user", "interacts", "item"].edge_index
    perm = torch.randperm(edges.size(1), generator=torch.Generator().manual_seed(0))
    n = edges.size(1)
    train = write_pairs(tmp_path / "train.txt", edges[:, perm[: int(0.8 * n)]])
    valid = write_pairs(tmp_path / "valid.txt", edges[:, perm[int(0.8 * n): int(0.9 * n)]])
    test_edges = torch.cat([edges[:, perm[int(0.9 * n):]], torch.tensor([[0], [10_000]])], 1)  # an unknown item
    test = write_pairs(tmp_path / "test.txt", test_edges)
    code, _, err = run_cli(capsys, "train", train, "--split", "given", "--valid", valid, "--test", test,
                           "--out", tmp_path / "run", "--epochs", "1", *FAST)
    assert code == 0, err
    assert "warning: explicit_split: test pairs kept" in err and "(0 unknown users, 1 unknown items)" in err
    data = RunData.load(tmp_path / "run" / "data.pt")
    users, items = data.id_strings("user"), data.id_strings("item")
    got = {(users[u], items[i]) for u, i in data.valid.t().tolist()}
    expected = {(f"u{u}", f"i{i}") for u, i in edges[:, perm[int(0.8 * n): int(0.9 * n)]].t().tolist()}
    known = {(u, i) for u, i in expected if u in set(users) and i in set(items)}
    assert got == known
    config = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    assert config["split"]["method"] == "given" and config["split"]["test"] == str(test.resolve())


def test_a_table_with_a_header(tmp_path, capsys, synthetic):
    store = synthetic["user", "interacts", "item"]
    lines = ["userId,movieId,rating,timestamp"] + [
        f"{u},m{i},{1 + (u + i) % 5},{t}" for (u, i), t in zip(store.edge_index.t().tolist(), store.time.tolist())]
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", path, "--min-rating", "2", "--split", "leave-last-out",
                           "--out", tmp_path / "run", "--epochs", "1", *FAST)
    assert code == 0, err
    config = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    assert config["data"]["format"] == "table"
    assert (config["data"]["user_col"], config["data"]["item_col"], config["data"]["rating_col"],
            config["data"]["time_col"]) == ("userId", "movieId", "rating", "timestamp")
    data = RunData.load(tmp_path / "run" / "data.pt")
    assert isinstance(data.user_ids, torch.Tensor)  # integer ids stay integers
    assert data.test.size(1) <= data.num_users  # one per user


@pytest.mark.parametrize("model", ["graph", "lightgcn", "popularity", "hyperbolic-manifold-poincare"])
def test_every_model_trains_and_reloads(tmp_path, capsys, pairs_file, model):
    extra = {"graph": ["--model", "graph", "--loss", "hinge"],
             "lightgcn": ["--model", "lightgcn", "--dim", "6", "--batch-size", "512"],
             "popularity": ["--model", "popularity"],
             "hyperbolic-manifold-poincare": ["--model", "hyperbolic", "--manifold", "poincare", "--param", "manifold", "--users",
                                              "embedding", "--score", "distance"]}[model]
    fast = FAST if model not in ("lightgcn", "popularity") else ["--no-progress"]
    epochs = [] if model == "popularity" else ["--epochs", "1"]
    code, _, err = run_cli(capsys, "train", pairs_file, "--out", tmp_path / "run", *epochs, *fast, *extra)
    assert code == 0, err
    run = Run(tmp_path / "run")
    net = run.model()
    assert not net.training
    if model == "hyperbolic-manifold-poincare":
        assert run.config["train"]["optimizer"] == "riemannian-adam"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test"]["full"]["recall@20"] <= 1


def test_the_demo_file_is_what_train_reads(tmp_path, capsys):
    from hypgraph.cli.demo import write_interactions
    from hypgraph.cli.data import detect
    from hypgraph.data import default_dataset
    from hypgraph.data.readers import read_pairs

    path = write_interactions(str(tmp_path / "demo" / "synthetic.tsv"))
    assert "synthetic interactions written to" in capsys.readouterr().out
    assert detect(tmp_path / "demo" / "synthetic.tsv") == "pairs"
    data, expected = read_pairs(path), default_dataset()
    edges = data["user", "interacts", "item"].edge_index
    assert edges.size(1) == expected["user", "interacts", "item"].edge_index.size(1)
    assert torch.equal(data["user", "interacts", "item"].time, expected["user", "interacts", "item"].time)


def test_device_option(tmp_path, capsys, pairs_file, trained_run):
    folder = tmp_path / "gpu"
    if not torch.cuda.is_available():
        code, _, err = run_cli(capsys, "train", pairs_file, "--out", folder, "--device", "cuda", *FAST)
        assert code == 2 and "--device" in err and "no CUDA device" in err and len(err.strip().splitlines()) == 1
        assert not folder.exists()  # refused before anything is written
    code, _, err = run_cli(capsys, "train", pairs_file, "--out", folder, "--device", "tpu", *FAST)
    assert code == 2 and "'cpu', 'cuda', 'cuda:N' or 'auto'" in err
    # the device is not part of the run: the same run on the CPU, named explicitly, is the same run
    code, _, err = run_cli(capsys, "train", "--config", trained_run / "config.toml", "--out", folder,
                           "--device", "cpu", "--no-progress")
    assert code == 0 and "training on cpu" in err, err
    same = torch.load(trained_run / "model.pt", weights_only=True)["state_dict"]
    here = torch.load(folder / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(same[k], here[k]) for k in same)
    assert "device" not in (folder / "config.toml").read_text()
    if torch.cuda.is_available():  # where a GPU is lent: the same run on it, read back on the CPU
        gpu = tmp_path / "on-cuda"
        code, _, err = run_cli(capsys, "train", "--config", trained_run / "config.toml", "--out", gpu,
                               "--device", "cuda", "--no-progress")
        assert code == 0 and "training on cuda" in err, err
        # model.pt holds CPU tensors: it opens without map_location on a machine without a GPU
        state = torch.load(gpu / "model.pt", weights_only=True)["state_dict"]
        assert all(v.device.type == "cpu" for v in state.values())
        assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in same.items()}
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
        code, out, err = run_cli(capsys, "recommend", gpu, "--all", "--k", "5", "--device", "cpu")
        assert code == 0, err
        _, expected, _ = run_cli(capsys, "recommend", folder, "--all", "--k", "5", "--device", "cpu")
        assert len(out.splitlines()) == len(expected.splitlines()) > 1


def test_two_processes(tmp_path, capsys, pairs_file, trained_run):
    # torchrun, gloo, two processes; the folder is prepared first, in this process
    folder = tmp_path / "two"
    code, _, err = run_cli(capsys, "train", "--config", trained_run / "config.toml", "--out", folder,
                           "--nproc", "2", "--device", "cpu", "--no-progress")
    assert code == 0, err
    assert "2 processes: torch.distributed.run" in err
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    one = [json.loads(line) for line in (trained_run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]  # rank 0 alone writes it
    for a, b in zip(log, one):  # the one-process run with the same global batch
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
    two = torch.load(folder / "model.pt", weights_only=True)["state_dict"]
    single = torch.load(trained_run / "model.pt", weights_only=True)["state_dict"]
    for key in single:
        torch.testing.assert_close(two[key], single[key], rtol=1e-3, atol=1e-4)
    assert json.loads((folder / "metrics.json").read_text())["epochs"] == 2


def test_nproc_errors(tmp_path, capsys, pairs_file):
    code, _, err = run_cli(capsys, "train", pairs_file, "--out", tmp_path / "a", "--nproc", "0", *FAST)
    assert code == 2 and "--nproc must be >= 1" in err
    # bad input is reported here, before any process is launched
    bad = tmp_path / "bad.tsv"
    bad.write_text("u1\ti1\nu2\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", bad, "--out", tmp_path / "b", "--nproc", "2", *FAST)
    assert code == 2 and "bad.tsv" in err and "torch.distributed.run" not in err
    assert len(err.strip().splitlines()) == 1


def test_eval_every_validates_every_nth_epoch_and_the_last(tmp_path, capsys, pairs_file):
    folder = tmp_path / "sparse"
    code, _, err = run_cli(capsys, "train", pairs_file, "--out", folder, "--epochs", "3", "--eval-every", "2", *FAST)
    assert code == 0, err
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3] and ["ndcg@10" in r for r in log] == [False, True, True]
    lines = [line for line in err.splitlines() if line.startswith("hypgraph train: epoch")]
    assert "validation" not in lines[0] and "validation ndcg@10" in lines[1] and "validation ndcg@10" in lines[2]
    assert tomllib.loads((folder / "config.toml").read_text())["train"]["eval_every"] == 2
    assert json.loads((folder / "metrics.json").read_text())["best_epoch"] in (2, 3)


def test_graph_run_with_hicfs_adaptive_margin(tmp_path, capsys, pairs_file):
    settings = tmp_path / "hicf.toml"
    settings.write_text("[model]\nadaptive_margin = true\n\n[train]\nloss = \"hinge\"\nepochs = 2\n", encoding="utf-8")
    folder = tmp_path / "hicf"
    code, _, err = run_cli(capsys, "train", pairs_file, "--config", settings, "--out", folder, *FAST)
    assert code == 0, err
    written = tomllib.loads((folder / "config.toml").read_text())
    assert written["model"]["adaptive_margin"] is True and written["train"]["loss"] == "hinge"
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all(r["loss"] > 0 for r in log)
    code, _, err = run_cli(capsys, "train", pairs_file, "--config", settings, "--loss", "bpr", "--out",
                           tmp_path / "bad", *FAST)
    assert code == 2 and "adaptive_margin" in err and "hinge" in err and len(err.strip().splitlines()) == 1
