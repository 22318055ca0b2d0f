"""hypgraph recommend: raw ids in and out, seen items never recommended, the
same items as the library's own model.recommend, in bounded blocks."""
import csv
import io
import math

import pytest
import torch

from hypgraph.cli.run import Run

from .conftest import FAST, run_cli


def read_csv(text):
    rows = list(csv.DictReader(io.StringIO(text)))
    out = {}
    for row in rows:
        out.setdefault(row["user"], []).append((int(row["rank"]), row["item"], float(row["score"])))
    return out


def expected(folder, k):
    run = Run(folder)
    model, data = run.model(), run.data
    items, scores = model.recommend(torch.arange(data.num_users), k, data.history("train"))
    users, names = data.id_strings("user"), data.id_strings("item")
    return {users[u]: [(r + 1, names[i], float(s))
                       for r, (i, s) in enumerate(zip(items[u].tolist(), scores[u].tolist()))]
            for u in range(data.num_users)}


@pytest.fixture(scope="module")
def graph_run(tmp_path_factory, pairs_file):
    from hypgraph.cli.main import main

    folder = tmp_path_factory.mktemp("graph") / "run"
    assert main(["train", str(pairs_file), "--model", "graph", "--out", str(folder), "--epochs", "1", "--device", "cpu",
                 *FAST]) == 0
    return folder


@pytest.mark.parametrize("which", ["trained_run", "graph_run"])
def test_equals_model_recommend(tmp_path, capsys, request, which):
    # the default chunks hold these 150 users and 90 items at once: the same
    # arithmetic as model.recommend, so the same items bit for bit
    folder = request.getfixturevalue(which)
    code, out, err = run_cli(capsys, "recommend", folder, "--all", "--k", "5")
    assert code == 0, err
    got, want = read_csv(out), expected(folder, 5)
    assert got.keys() == want.keys()
    for user in want:
        assert [(r, i) for r, i, _ in got[user]] == [(r, i) for r, i, _ in want[user]], user
        assert [s for *_, s in got[user]] == pytest.approx([s for *_, s in want[user]], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("which", ["trained_run", "graph_run"])
def test_a_catalogue_larger_than_one_block(request, tmp_path, capsys, score_blocks, which):
    folder = request.getfixturevalue(which)
    shapes = score_blocks
    out = tmp_path / "recs.csv"
    code, _, err = run_cli(capsys, "recommend", folder, "--all", "--k", "5", "--out", out,
                           "--user-chunk", "16", "--item-chunk", "7")
    assert code == 0, err
    assert "750 recommendations for 150 users" in err
    # bounded: no block wider than 7 items or taller than 16 users, the catalogue in several
    assert max(w for _, w in shapes) == 7 and max(b for b, _ in shapes) == 16
    assert Run(folder).data.num_items > 7
    # (a block's matrix product may round the last bit otherwise than the whole one)
    assert_top_k_up_to_near_ties(folder, read_csv(out.read_text(encoding="utf-8")), 5)


def assert_top_k_up_to_near_ties(folder, got, k):
    # the top k of model.rank_scores: the same items, but for float32 near-ties
    run = Run(folder)
    model, data = run.model(), run.data
    history = data.history("train")
    values = model.rank_scores(model.user_points(torch.arange(data.num_users), history)).double()
    row, col = history.rows(torch.arange(data.num_users))
    values[row, col] = -math.inf
    users, items = data.id_strings("user"), data.id_strings("item")
    for u in range(data.num_users):
        chosen = torch.tensor([items.index(i) for _, i, _ in got[users[u]]])
        last = values[u].topk(k).values[-1]
        tol = 1e-6 * (1 + last.abs())
        assert chosen.unique().numel() == k and bool((values[u, chosen] >= last - tol).all())
        assert bool((values[u, chosen].diff() <= tol).all())


def test_seen_items_are_never_recommended(tmp_path, capsys, trained_run):
    data = Run(trained_run).data
    users, items = data.id_strings("user"), data.id_strings("item")

    def pairs(edges):
        return {(users[u], items[i]) for u, i in edges.t().tolist()}

    for exclude, left_out in (("train", pairs(data.train)),
                              ("all", pairs(torch.cat([data.train, data.valid, data.test], 1)))):
        code, out, err = run_cli(capsys, "recommend", trained_run, "--all", "--k", "10", "--exclude", exclude)
        assert code == 0, err
        got = read_csv(out)  # stdout by default
        unseen = {u: data.num_items - sum(1 for v, _ in left_out if v == u) for u in users}
        assert all(len(got.get(u, [])) == min(10, unseen[u]) for u in users)
        assert not {(u, i) for u, rows in got.items() for _, i, _ in rows} & left_out


def test_users_file_raw_ids_in_order_and_unknown_ones_reported(tmp_path, capsys, trained_run):
    path = tmp_path / "users.txt"
    path.write_text("# who\nu5\n\nu1,extra,columns\nnobody\nu5\nu3\tx\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "recommend", trained_run, "--users", path, "--k", "2")
    assert code == 0
    assert list(read_csv(out)) == ["u5", "u1", "u3"]
    assert err.count("\n") == 1 and "1 ids are not users of the run" in err and "'nobody'" in err
    path.write_text("nobody\nnone\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "recommend", trained_run, "--users", path)
    assert code == 2 and out == "" and "none of its 2 ids is a user of the run (first: 'nobody')" in err


def test_fewer_unseen_items_than_k(capsys, trained_run):
    data = Run(trained_run).data
    code, out, _ = run_cli(capsys, "recommend", trained_run, "--all", "--k", "1000")
    assert code == 0
    got = read_csv(out)
    degree = torch.bincount(data.train[0], minlength=data.num_users)
    users = data.id_strings("user")
    assert all(len(got[users[u]]) == data.num_items - int(degree[u]) for u in range(data.num_users))


@pytest.mark.parametrize("which", ["trained_run", "graph_run"])
def test_a_flat_index_gives_the_exact_items(capsys, request, which):
    pytest.importorskip("faiss")
    folder = request.getfixturevalue(which)
    code, exact, err = run_cli(capsys, "recommend", folder, "--all", "--k", "5")
    assert code == 0, err
    code, flat, err = run_cli(capsys, "recommend", folder, "--all", "--k", "5", "--index", "flat",
                              "--user-chunk", "16")
    assert code == 0, err
    got, want = read_csv(flat), read_csv(exact)
    assert got.keys() == want.keys()
    # faiss sums the float32 products in another order: a near-tie may swap
    # (the points of a briefly trained run sit close together), nothing else
    same = [user for user in want if [i for _, i, _ in got[user]] == [i for _, i, _ in want[user]]]
    assert len(same) >= 0.9 * len(want)
    assert_top_k_up_to_near_ties(folder, got, 5)


def test_an_hnsw_index_recommends_unseen_items(tmp_path, capsys, trained_run):
    pytest.importorskip("faiss")
    out = tmp_path / "recs.csv"
    code, _, err = run_cli(capsys, "recommend", trained_run, "--all", "--k", "5", "--index", "hnsw",
                           "--out", out)
    assert code == 0, err
    data = Run(trained_run).data
    users, items = data.id_strings("user"), data.id_strings("item")
    seen = {(users[u], items[i]) for u, i in data.train.t().tolist()}
    got = read_csv(out.read_text(encoding="utf-8"))
    assert "750 recommendations for 150 users" in err
    assert not {(u, i) for u, rows in got.items() for _, i, _ in rows} & seen
    assert all([r for r, _, _ in rows] == [1, 2, 3, 4, 5] for rows in got.values())


def test_an_index_without_faiss_is_a_usage_error(capsys, monkeypatch, trained_run):
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)
    code, out, err = run_cli(capsys, "recommend", trained_run, "--all", "--index", "hnsw")
    assert code == 2 and out == ""
    assert err.strip() == ('hypgraph recommend: error: --index hnsw: retrieval through an index needs faiss: '
                           'pip install "hypgraph-pyg[serve]"')


@pytest.mark.parametrize("command", [["recommend", "--all", "--k", "5"], ["evaluate", "--json"],
                                     ["evaluate", "--json", "--protocol", "sampled", "--k", "5", "--negatives", "1"]])
def test_device_option_of_the_ranking_commands(capsys, trained_run, graph_run, command):
    import json

    name, *options = command
    for run in (trained_run, graph_run):
        code, default, err = run_cli(capsys, name, run, *options)
        assert code == 0, err
        code, on_cpu, err = run_cli(capsys, name, run, *options, "--device", "cpu")
        assert code == 0, err
        if not torch.cuda.is_available():
            assert on_cpu == default  # auto is the CPU here
        else:  # auto is the GPU: the same output up to the rounding of its kernels
            on_cuda = default
            if name == "evaluate":  # sampled negatives are drawn on the CPU: the same ones
                cpu_metrics, cuda_metrics = json.loads(on_cpu), json.loads(on_cuda)
                for part in ("full", "sampled"):
                    for key, value in cpu_metrics.get(part, {}).items():
                        assert cuda_metrics[part][key] == pytest.approx(value, abs=1e-5)
            else:  # per user and rank the same score (two items tied within rounding may swap)
                cpu_rows = [line.split(",") for line in on_cpu.splitlines()[1:]]
                cuda_rows = [line.split(",") for line in on_cuda.splitlines()[1:]]
                assert [r[:2] for r in cuda_rows] == [r[:2] for r in cpu_rows] and len(cpu_rows) > 1
                for a, b in zip(cpu_rows, cuda_rows):
                    assert float(b[-1]) == pytest.approx(float(a[-1]), abs=1e-6)
        code, out, err = run_cli(capsys, name, run, *options, "--device", "tpu")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "--device" in err and "'cpu', 'cuda', 'cuda:N' or 'auto'" in err
        if not torch.cuda.is_available():
            code, _, err = run_cli(capsys, name, run, *options, "--device", "cuda")
            assert code == 2 and "--device" in err and "no CUDA device" in err
