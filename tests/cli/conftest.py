"""Fixtures of the command-line tests: small synthetic interaction files and
a trained run shared by the tests that only read it."""
from pathlib import Path

import pytest

from hypgraph.cli.main import main

#: Small and fast: every in-process training here takes a second or two.
FAST = ["--no-progress", "--dim", "6", "--batch-size", "512"]


def run_cli(capsys, *argv):
    """``main(argv)`` in-process: ``(exit status, stdout, stderr)``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_pairs(path: Path, edge_index, prefix=("u", "i"), time=None) -> Path:
    """Header-less ``user<TAB>item[<TAB>1<TAB>time]`` rows with string ids."""
    rows = []
    for k, (u, i) in enumerate(edge_index.t().tolist()):
        row = [f"{prefix[0]}{u}", f"{prefix[1]}{i}"]
        if time is not None:
            row += ["1", str(int(time[k]))]
        rows.append("\t".join(row))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def synthetic():
    from hypgraph.data import make_synthetic

    return make_synthetic(num_users=150, num_items=90, avg_user_degree=12, seed=3)


@pytest.fixture(scope="session")
def pairs_file(tmp_path_factory, synthetic):
    store = synthetic["user", "interacts", "item"]
    return write_pairs(tmp_path_factory.mktemp("data") / "interactions.tsv", store.edge_index, time=store.time)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, pairs_file):
    """A hyperbolic run (midpoint users) trained for 2 epochs; read only.
    Its settings come from a TOML file and the command line together."""
    folder = tmp_path_factory.mktemp("runs") / "run"
    settings = folder.parent / "settings.toml"
    settings.write_text("[train]\nepochs = 7\n\n[evaluation]\nsampled_negatives = 1  # a user has seen 89 of the 90 items\n",
                        encoding="utf-8")
    code = main(["train", str(pairs_file), "--config", str(settings), "--out", str(folder), "--epochs", "2",
                 "--model", "hyperbolic", "--device", "cpu", *FAST])  # the reference run: on the CPU anywhere
    assert code == 0
    return folder
