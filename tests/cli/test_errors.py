"""Every bad argument or bad file exits 2 with one line on stderr naming what
was expected, never a traceback; --help on every command; Ctrl-C leaves a
resumable run; hypgraph stats is hypgraph-stats."""
import json
import os
import signal
import subprocess
import sys

import pytest

from .conftest import FAST, run_cli

COMMANDS = ("train", "recommend", "evaluate", "export", "plot")


def cli(*argv, **kwargs):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "hypgraph.cli.main", *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "fields.txt").write_text("1 2 3\n1 2\n", encoding="utf-8")
    (folder / "rating.txt").write_text("1 2 5\n1 3 high\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"1 2\n\x00\x01\x02\n")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "latin1.txt").write_bytes(b"caf\xe9\n")
    (folder / "two.txt").write_text("1 2\n1 3\n2 3\n", encoding="utf-8")
    (folder / "header.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "bad.toml").write_text("[model]\ndim = 'x'\n", encoding="utf-8")
    (folder / "broken.toml").write_text("[train\n", encoding="utf-8")
    (folder / "notarun").mkdir()
    (folder / "fake_run").mkdir()
    (folder / "fake_run" / "config.toml").write_text("[model]\nname = 'hyperbolic'\n", encoding="utf-8")
    (folder / "fake_run" / "data.pt").write_bytes(b"not a zip file")
    return folder


def test_subprocess_exit_codes_and_one_line(bad_files, pairs_file):
    # the real entry point (as the console script runs it): a bad file, a bad argument
    result = cli("train", bad_files / "fields.txt", "--out", bad_files / "r")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"hypgraph train: error: {bad_files / 'fields.txt'}:2: expected 3 columns " \
                            f"(user item rating), found 2\n"
    result = cli("recommend", bad_files / "notarun", "--all", "--k", "zero")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "invalid int value: 'zero'" in result.stderr


@pytest.mark.parametrize("argv,expected", [
    (["train", "{d}/fields.txt"], "{d}/fields.txt:2: expected 3 columns (user item rating), found 2"),
    (["train", "{d}/rating.txt"], "{d}/rating.txt:2: column 3 (rating): expected a number, got 'high'"),
    (["train", "{d}/binary.txt"], "{d}/binary.txt:2:"),
    (["train", "{d}/empty.txt"], "{d}/empty.txt"),
    (["train", "{d}/header.csv"], "{d}/header.csv:1: no user column in the header ['a', 'b']; name it with "
                                  "--user-col"),
    (["train", "{d}/absent.csv"], "{d}/absent.csv: does not exist"),
    (["train", "{data}", "--config", "{d}/bad.toml"], "bad.toml: model.dim must be an integer, got 'x'"),
    (["train", "{data}", "--config", "{d}/broken.toml"], "broken.toml:1: not valid TOML"),
    (["train", "{data}", "--config", "{d}/absent.toml"], "absent.toml: No such file or directory"),
    (["train", "{data}", "--dim", "0"], "--dim must be >= 1, got 0"),
    (["train", "{data}", "--eval-every", "0"], "--eval-every must be >= 1, got 0"),
    (["train", "{data}", "--lr", "-1"], "--lr must be > 0, got -1.0"),
    (["train", "{data}", "--model", "popularity", "--loss", "wmrb"], "--loss does not apply to model 'popularity'"),
    (["train", "{data}", "--test", "{data}"], "--test needs --split given"),
    (["train", "{data}", "--split", "given"], "--split given needs a dataset that ships its split"),
    (["train", "{d}/two.txt", "--split", "leave-last-out"], "{d}/two.txt: --split leave-last-out needs timestamps"),
    (["train", "{data}", "--split", "given", "--test", "{d}/fields.txt"], "{d}/fields.txt:2: expected 3 columns"),
    (["train", "{data}", "--format", "table"], "no user column in the header"),
    (["train", "{data}", "--user-col", "who", "--item-col", "what", "--format", "table"], "expected a column 'who'"),
    (["train", "{data}", "--min-rating", "4"], "{data}: no interactions left after the filters (of 1,839 read)"),
    (["train"], "DATA is required"),
    (["train", "--out", "{d}/notarun", "--resume"], "holds no run to resume"),
    (["train", "{data}", "--model", "gnn"], "argument --model: invalid choice: 'gnn'"),
    (["recommend", "{d}/notarun", "--all"], "{d}/notarun: no config.toml; expected a run folder"),
    (["recommend", "{d}/absent", "--all"], "{d}/absent: no such folder"),
    (["recommend", "{d}/fake_run", "--all"], "data.pt: cannot be read safely"),
    (["recommend", "{run}", "--users", "{d}/latin1.txt"], "latin1.txt: not UTF-8 text"),
    (["recommend", "{run}", "--users", "{d}/empty.txt"], "empty.txt: no user id in the file"),
    (["recommend", "{run}", "--all", "--k", "0"], "--k must be >= 1, got 0"),
    (["recommend", "{run}"], "one of the arguments --users --all is required"),
    (["recommend", "{run}", "--all", "--users", "x"], "not allowed with argument"),
    (["evaluate", "{run}", "--k", "0"], "--k must be >= 1, got 0"),
    (["evaluate", "{run}", "--protocol", "auc"], "invalid choice: 'auc'"),
    (["evaluate", "{run}", "--protocol", "sampled", "--negatives", "1000"], "cannot draw 1000 distinct negatives"),
    (["export", "{run}", "--format", "xls"], "invalid choice: 'xls'"),
    (["export", "{d}/notarun"], "no config.toml"),
    (["plot", "{d}/absent"], "no such folder"),
])
def test_one_line_errors(capsys, bad_files, pairs_file, trained_run, argv, expected):
    fill = dict(d=bad_files, data=pairs_file, run=trained_run)
    argv = [a.format(**fill) for a in argv]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(bad_files / "out"), "--no-progress"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"hypgraph {argv[0]}: error: ") and "Traceback" not in err
    assert expected.format(**fill) in err
    assert not (bad_files / "out" / "model.pt").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        from hypgraph.cli.main import build_parser
        build_parser().parse_args([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "example" in out and f"hypgraph {command} " in out
    assert run_cli(capsys, command, "--help")[0] == 0


def test_top_level_help(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "hypgraph train my.csv --out run" in out and "stats" in out
    code, _, err = run_cli(capsys)
    assert code == 2 and err.count("\n") == 1 and "the following arguments are required: COMMAND" in err


def test_stats_is_hypgraph_stats(capsys, pairs_file, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("user,item\n" + "\n".join(f"u{i % 7},i{i % 11}" for i in range(60)) + "\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "stats", csv, "--no-progress", "--no-compare", "--no-projection",
                           "--format", "json")
    assert code == 0 and json.loads(out)["datasets"][0]["row"]["n_user"] == 7
    code, _, err = run_cli(capsys, "stats", tmp_path / "absent.csv")
    assert code == 2 and err.count("\n") == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_leaves_a_resumable_run(tmp_path, capsys, pairs_file):
    folder = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-m", "hypgraph.cli.main", "train", str(pairs_file), "--out",
                              str(folder), "--epochs", "500", "--patience", "500", *FAST],
                             stderr=subprocess.PIPE, text=True,
                             # a worker that ignores SIGINT would pass that on: Python then installs no handler
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in child.stderr:
        lines.append(line)
        if "epoch 2/500" in line:
            child.send_signal(signal.SIGINT)
            break
    rest = child.stderr.read()
    assert child.wait(timeout=120) == 130
    assert "interrupted" in rest and f"hypgraph train --out {folder} --resume" in rest and "Traceback" not in rest
    assert (folder / "checkpoint.pt").exists() and not (folder / "metrics.json").exists()
    done = sorted({json.loads(line)["epoch"] for line in (folder / "log.jsonl").read_text().splitlines()})
    assert done == list(range(1, len(done) + 1))
    code, _, err = run_cli(capsys, "train", "--out", folder, "--resume", "--epochs", len(done) + 1,
                           "--no-progress")
    assert code == 0, err
    assert f"epoch {len(done) + 1}/{len(done) + 1}" in err and "epoch 1/" not in err
    assert (folder / "metrics.json").exists() and (folder / "model.pt").exists()
