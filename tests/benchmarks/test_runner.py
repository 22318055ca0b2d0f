"""The benchmark runner's plumbing, on tiny suites registered only here: files
and fields written, Welch t-test and its marks, missing datasets skipped,
selection on validation only, equal search budgets, diverged runs recorded."""
import json
import math
import re
import runpy
import sys

import numpy as np
import pytest
import torch
from scipy import stats

from benchmarks import report
from benchmarks.cli import main
from benchmarks.runner import run_suite
from benchmarks.suites import (DatasetSpec, Metric, ModelSpec, Suite, Trial, available,
                               register, require, unregister)
from benchmarks.timing import PeakMemory
from hypgraph.data import RawFilesMissingError

from ..conftest import REPO

# per model, per seed: test metric values; 'a' separates hyp from euc clearly, 'b' does not
TEST_VALUES = {
    "hyp": {"a": [0.90, 0.91, 0.92], "b": [0.50, 0.60, 0.70]},
    "euc": {"a": [0.10, 0.11, 0.12], "b": [0.55, 0.65, 0.45]},
    "pop": {"a": [0.30, 0.30, 0.30], "b": [0.40, 0.40, 0.40]},
}


class Tiny(Suite):
    r"""Deterministic fake models: no training, metrics from :data:`TEST_VALUES`.
    Configuration ``lr=1`` wins on validation, ``lr=2`` would win on test
    (its test metrics are shifted up by 0.05)."""
    name = "tiny-test"
    description = "fake suite of the runner tests"
    models = (ModelSpec("hyp", "hyperbolic", "euc"), ModelSpec("euc", "euclidean"),
              ModelSpec("pop", "baseline", tuned=False))
    grid = {"lr": (1, 2)}
    fixed = {"dim": 4}
    metrics = (Metric("a", "A"), Metric("b", "B"))
    selection_metric = "val"

    def __init__(self, datasets=None, fail=()):
        self.datasets = datasets or (DatasetSpec("toy", lambda root: {"size": 3}),)
        self.fail = set(fail)
        self.evaluated = []

    def describe(self, data):
        return f"{data['size']} things"

    def fit(self, data, dataset, model, config, seed, ctx):
        if (model.name, seed) in self.fail:
            raise FloatingPointError("non-finite loss nan in epoch 2")
        lr = config.get("lr")
        validation = {"val": 0.8 if lr in (1, None) else 0.2}
        shift = 0.05 if lr == 2 else 0.0
        test = {k: v[seed] + shift for k, v in TEST_VALUES[model.name].items()}

        def evaluate():
            self.evaluated.append((dataset.name, model.name, lr, seed))
            return test

        return Trial(validation, evaluate, epochs=2, seconds_per_epoch=0.01, parameters=10,
                     extra={"note": "fake"})


@pytest.fixture
def registered():
    names = []

    def add(suite):
        register(suite)
        names.append(suite.name)
        return suite

    yield add
    for name in names:
        unregister(name)


def run(suite, registered, tmp_path, *extra):
    registered(suite)
    out = tmp_path / "out"
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path), *extra])
    return rc, out


def test_list_prints_every_suite(registered, capsys):
    registered(Tiny())
    assert main(["--list"]) == 0
    printed = capsys.readouterr().out
    for name in ("quick", "scale", "tiny-test"):
        assert re.search(rf"^{name}\s", printed, re.M), printed
    assert "fake suite of the runner tests" in printed


def test_runner_main_is_the_command_line_with_a_deprecation_warning(capsys):
    from benchmarks import runner
    with pytest.warns(DeprecationWarning, match="benchmarks.cli.main"):
        assert runner.main(["--list"]) == 0
    assert re.search(r"^quick\s", capsys.readouterr().out, re.M)


def test_python_dash_m_benchmarks_lists_the_suites():
    import subprocess
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^quick\s", done.stdout, re.M)


def test_unknown_suite_is_one_line_and_status_2(capsys):
    assert main(["run", "no-such-suite"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown suite 'no-such-suite'") and "\n" not in err


def test_run_writes_json_markdown_and_png_with_the_documented_fields(registered, tmp_path):
    rc, out = run(Tiny(), registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert results["suite"] == "tiny-test" and results["seeds"] == [0, 1, 2]
    assert results["grid"] == {"lr": [1, 2]} and results["fixed"] == {"dim": 4}
    assert results["command"].startswith("python -m benchmarks run tiny-test --out")
    assert len(results["runs"]) == 9  # 3 models x 3 seeds
    for r in results["runs"]:
        for field in ("dataset", "model", "config", "seed", "metrics", "seconds_per_epoch", "epochs",
                      "peak_rss_mib", "peak_rss_delta_mib", "memory_method", "parameters", "commit",
                      "machine", "command"):
            assert field in r, field
        assert r["command"] == results["command"] and r["commit"] and r["machine"]
    md = (out / "results.md").read_text()
    assert "## toy — 3 things" in md and "| hyp | euc |" in md and "±" in md
    assert "lr ∈ {1, 2}" in md and results["command"] in md
    png = out / "toy.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "toy.png" in md


def test_welch_equals_scipy_on_known_inputs():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0, 10.0]
    t, p = report.welch(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert t == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)
    # by hand: Welch's t with unequal variances
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 5
    assert t == pytest.approx((np.mean(a) - np.mean(b)) / math.sqrt(va + vb))
    assert all(math.isnan(x) for x in report.welch([1.0], [2.0, 3.0]))


def test_star_marks_exactly_the_hyperbolic_cells_with_p_below_5_percent(registered, tmp_path):
    rc, out = run(Tiny(), registered, tmp_path)
    assert rc == 0
    p_a = stats.ttest_ind(TEST_VALUES["hyp"]["a"], TEST_VALUES["euc"]["a"], equal_var=False).pvalue
    p_b = stats.ttest_ind(TEST_VALUES["hyp"]["b"], TEST_VALUES["euc"]["b"], equal_var=False).pvalue
    assert p_a < 0.05 < p_b
    md = (out / "results.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[3:5]]
            for line in md.splitlines() if re.match(r"\| (hyp|euc|pop) \|", line)}
    assert rows["hyp"][0].endswith("\\*") and not rows["hyp"][1].endswith("\\*")
    assert not any(c.endswith("\\*") for c in rows["euc"] + rows["pop"])
    assert "**Note: hyp does not beat euc** on B" in md
    comparisons = json.loads((out / "results.json").read_text())["comparisons"]
    by_metric = {c["metric"]: c for c in comparisons}
    assert by_metric["a"]["p"] == pytest.approx(p_a) and by_metric["a"]["significant"]
    assert by_metric["b"]["p"] == pytest.approx(p_b) and not by_metric["b"]["significant"]


def test_selection_uses_validation_not_test(registered, tmp_path):
    suite = Tiny()
    rc, out = run(suite, registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    chosen = {s["model"]: s["chosen"] for s in results["selection"]}
    assert chosen == {"hyp": {"lr": 1}, "euc": {"lr": 1}}  # lr=2 would score higher on test
    assert {(r["model"], r["config"].get("lr")) for r in results["runs"]} == {
        ("hyp", 1), ("euc", 1), ("pop", None)}
    # test metrics are computed only for the chosen configuration, once per seed
    assert sorted(suite.evaluated) == sorted(
        [("toy", m, 1, s) for m in ("hyp", "euc") for s in range(3)] + [("toy", "pop", None, s) for s in range(3)])
    candidates = {(s["model"], c["config"]["lr"]): c["validation"]["val"]
                  for s in results["selection"] for c in s["candidates"]}
    assert candidates == {("hyp", 1): 0.8, ("hyp", 2): 0.2, ("euc", 1): 0.8, ("euc", 2): 0.2}


def test_missing_dataset_is_skipped_with_one_line_and_the_run_succeeds(registered, tmp_path, capsys):
    datasets = (DatasetSpec("absent", lambda root: require(root, "nowhere/train.txt")),
                DatasetSpec("toy", lambda root: {"size": 3}))
    rc, out = run(Tiny(datasets=datasets), registered, tmp_path, "--seeds", "2")
    assert rc == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    skips = [line for line in err if line.startswith("skip ")]
    assert len(skips) == 1 and skips[0].startswith(f"skip tiny-test/absent: {tmp_path}")
    assert skips[0].endswith(": missing nowhere/train.txt")
    assert "nowhere/train.txt" in skips[0]
    results = json.loads((out / "results.json").read_text())
    assert [s["dataset"] for s in results["skipped"]] == ["absent"]
    assert {r["dataset"] for r in results["runs"]} == {"toy"}
    assert ": missing nowhere/train.txt" in (out / "results.md").read_text()


def test_a_suite_with_every_dataset_missing_still_succeeds(registered, tmp_path):
    def missing(root):
        raise RawFilesMissingError("missing kgat/amazon-book/train.txt", root)

    rc, out = run(Tiny(datasets=(DatasetSpec("amazon-book", missing),)), registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert results["runs"] == [] and results["skipped"][0]["dataset"] == "amazon-book"


def test_unequal_search_budgets_are_refused(tmp_path):
    suite = Tiny()
    suite.models = (ModelSpec("hyp", "hyperbolic", "euc", tuned=False), ModelSpec("euc", "euclidean"))
    with pytest.raises(ValueError, match="search budget must match"):
        run_suite(suite, data_root=tmp_path, seeds=[0], out_dir=tmp_path / "out", progress=False)


def test_diverged_runs_are_recorded_and_left_out(registered, tmp_path):
    rc, out = run(Tiny(fail={("euc", 2)}), registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    failed = [r for r in results["runs"] if r.get("failed")]
    assert [(r["model"], r["seed"]) for r in failed] == [("euc", 2)]
    assert "FloatingPointError" in failed[0]["failed"]
    assert "Failed runs" in (out / "results.md").read_text()


def _two_toys(**more):
    return (DatasetSpec("toy-a", lambda root: {"size": 3}), DatasetSpec("toy-b", lambda root: {"size": 5}),
            *more.values())


def test_merge_keeps_the_other_datasets_and_records_each_command(registered, tmp_path):
    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path, "--datasets", "toy-b", "--seeds", "2")
    assert rc == 0
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-a", "--merge"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert [d["name"] for d in results["datasets"]] == ["toy-a", "toy-b"]  # the suite's order
    by_name = {d["name"]: d for d in results["datasets"]}
    assert by_name["toy-a"]["seeds"] == [0, 1, 2] and by_name["toy-b"]["seeds"] == [0, 1]
    assert all(by_name[d]["started"] and by_name[d]["commit"] for d in by_name)
    assert "--merge" in by_name["toy-a"]["command"] and "--merge" not in by_name["toy-b"]["command"]
    counts = {ds: sum(r["dataset"] == ds for r in results["runs"]) for ds in ("toy-a", "toy-b")}
    assert counts == {"toy-a": 9, "toy-b": 6}
    assert {c["dataset"] for c in results["comparisons"]} == {"toy-a", "toy-b"}
    md = (out / "results.md").read_text()
    assert "merged from separate runs" in md
    assert by_name["toy-a"]["command"] in md and by_name["toy-b"]["command"] in md
    assert "(n=2)" not in md  # toy-b's cells are complete for the seeds it ran with


def test_merge_replaces_a_rerun_dataset_instead_of_duplicating_it(registered, tmp_path):
    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path)
    assert rc == 0
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-a", "--seeds", "1", "--merge"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert sorted({(r["dataset"], r["seed"]) for r in results["runs"]}) == [
        ("toy-a", 0), ("toy-b", 0), ("toy-b", 1), ("toy-b", 2)]
    assert [s["dataset"] for s in results["selection"]].count("toy-a") == 2  # hyp and euc, once each


def test_merge_completes_the_model_set_of_a_dataset(registered, tmp_path):
    # toy-a with hyp and pop first, then euc alone (other seeds): all three are
    # kept, the dataset lists both parts with their models, toy-b is untouched
    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path, "--models", "hyp,pop", "--seeds", "2")
    assert rc == 0
    for models in ("euc", "euc"):  # rerunning a model replaces it, never duplicates
        rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
                   "--datasets", "toy-a", "--models", models, "--merge"])
        assert rc == 0
    results = json.loads((out / "results.json").read_text())
    pairs = sorted({(r["dataset"], r["model"], r["seed"]) for r in results["runs"]})
    assert pairs == sorted([("toy-a", m, s) for m in ("hyp", "pop") for s in (0, 1)]
                           + [("toy-a", "euc", s) for s in (0, 1, 2)]
                           + [("toy-b", m, s) for m in ("hyp", "pop") for s in (0, 1)])
    assert len(results["runs"]) == len(pairs)
    by_name = {d["name"]: d for d in results["datasets"]}
    assert by_name["toy-a"]["models"] == ["euc"] and by_name["toy-a"]["seeds"] == [0, 1, 2]
    assert [(p["models"], p["seeds"]) for p in by_name["toy-a"]["parts"]] == [(["hyp", "pop"], [0, 1])]
    assert "--merge" not in by_name["toy-a"]["parts"][0]["command"]
    assert "parts" not in by_name["toy-b"]
    # hyp's comparison now has its counterpart on toy-a
    assert any(c["dataset"] == "toy-a" and c["model"] == "hyp" for c in results["comparisons"])
    assert sorted(s["model"] for s in results["selection"] if s["dataset"] == "toy-a") == ["euc", "hyp"]
    md = (out / "results.md").read_text()
    assert "— models euc" in md and "— models hyp, pop" in md


def test_a_merging_run_writes_only_while_it_holds_the_folders_lock(registered, tmp_path):
    # runs merging into one folder at once (one model each, in parallel
    # processes): each read-merge-write is whole, so none loses another's rows
    import threading

    from benchmarks.journal import folder_lock

    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path, "--models", "hyp,pop", "--seeds", "2")
    assert rc == 0
    before = (out / "results.json").read_text()
    codes = []
    worker = threading.Thread(target=lambda: codes.append(main(
        ["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path), "--datasets",
         "toy-a", "--models", "euc", "--seeds", "2", "--merge"])))
    with folder_lock(out):
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive() and (out / "results.json").read_text() == before  # waiting for the lock
    worker.join(timeout=30)
    assert codes == [0]
    results = json.loads((out / "results.json").read_text())
    assert {(r["dataset"], r["model"]) for r in results["runs"]} == {
        ("toy-a", "hyp"), ("toy-a", "pop"), ("toy-a", "euc"), ("toy-b", "hyp"), ("toy-b", "pop")}


def test_merge_refuses_results_of_other_metrics(registered, tmp_path, capsys):
    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path, "--datasets", "toy-a")
    assert rc == 0
    suite.metrics = (Metric("a", "A"),)
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-b", "--merge"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: cannot merge into") and "metrics differs" in err


def test_merge_keeps_each_datasets_settings_and_never_mixes_them(registered, tmp_path, capsys):
    suite = Tiny(datasets=_two_toys())
    rc, out = run(suite, registered, tmp_path, "--datasets", "toy-a")
    assert rc == 0
    old = json.loads((out / "results.json").read_text())
    del old["datasets"][0]["grid"]  # a file of an older runner: its settings only at the top
    (out / "results.json").write_text(json.dumps(old))
    suite.grid, suite.fixed = {"lr": (1, 3)}, {"dim": 8}
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-b", "--merge"])
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    by_name = {d["name"]: d for d in results["datasets"]}
    assert by_name["toy-a"]["grid"] == {"lr": [1, 2]} and by_name["toy-a"]["fixed"] == {"dim": 4}
    assert by_name["toy-b"]["grid"] == {"lr": [1, 3]} and by_name["toy-b"]["fixed"] == {"dim": 8}
    assert {r["config"].get("lr") for r in results["runs"] if r["dataset"] == "toy-a"} == {1, None}
    md = (out / "results.md").read_text()
    assert "searched grid and fixed settings: per dataset" in md
    head, toy_a, toy_b = re.split(r"\n## toy-[ab]", md)
    assert "lr ∈ {1, 2}" in toy_a and "dim=4" in toy_a and "lr ∈ {1, 3}" in toy_b and "dim=8" in toy_b
    assert "lr ∈" not in head
    assert "predate the suite's current settings" in toy_a and "predate" not in toy_b
    summary = head.split("## Summary")[1]
    assert re.search(r"\*\*toy-a\*\*.*Ran with earlier settings", summary)
    assert not re.search(r"\*\*toy-b\*\*.*Ran with earlier settings", summary)
    # toy-a redone under the new settings with one model: refused, naming the
    # changes and what would go, and nothing written ...
    capsys.readouterr()
    before = (out / "results.json").read_text()
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-a", "--models", "euc", "--merge"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot merge into")
    assert ("toy-a ran with other settings (grid.lr: [1, 2] -> [1, 3]; fixed.dim: 4 -> 8), so its 9 runs of "
            "3 models would be dropped; pass --replace" in err[0])
    assert (out / "results.json").read_text() == before
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-a", "--models", "euc", "--replace"])
    assert rc == 2 and "--replace only applies with --merge" in capsys.readouterr().err
    # ... and with --replace its old runs go, never mixed with new ones
    rc = main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
               "--datasets", "toy-a", "--models", "euc", "--merge", "--replace"])
    assert rc == 0
    assert "toy-a" in capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert {r["model"] for r in results["runs"] if r["dataset"] == "toy-a"} == {"euc"}
    assert {r["model"] for r in results["runs"] if r["dataset"] == "toy-b"} == {"hyp", "euc", "pop"}
    assert all("parts" not in d for d in results["datasets"])
    md = (out / "results.md").read_text()
    assert "searched grid and fixed settings" not in md and "predate" not in md
    assert "Models of the suite not run on toy-a: hyp, pop." in md and "not run on toy-b" not in md


class Borrowing(Tiny):
    r""":class:`Tiny` whose toy-b, searched, would choose ``lr=2``; toy-b
    borrows toy-a's choice (``lr=1``) instead. Records every fit."""
    def __init__(self, select_from="toy-a", **kwargs):
        super().__init__(datasets=(DatasetSpec("toy-a", lambda root: {"size": 3}),
                                   DatasetSpec("toy-b", lambda root: {"size": 5}, select_from=select_from)),
                         **kwargs)
        self.fits = []

    def fit(self, data, dataset, model, config, seed, ctx):
        self.fits.append((dataset.name, model.name, config.get("lr"), seed))
        trial = super().fit(data, dataset, model, config, seed, ctx)
        if dataset.name == "toy-b":
            trial.validation = {"val": 0.9 if config.get("lr") == 2 else 0.1}
        return trial


def test_a_dataset_runs_the_configurations_chosen_on_another(registered, tmp_path):
    suite = Borrowing()
    rc, out = run(suite, registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    # toy-b: no candidates, only the seeds of toy-a's choice (lr=2 would win on toy-b's validation)
    assert sorted(f for f in suite.fits if f[0] == "toy-b") == sorted(
        [("toy-b", m, 1, s) for m in ("hyp", "euc") for s in range(3)] + [("toy-b", "pop", None, s) for s in range(3)])
    assert {(r["model"], r["config"].get("lr")) for r in results["runs"] if r["dataset"] == "toy-b"} == {
        ("hyp", 1), ("euc", 1), ("pop", None)}
    borrowed = [s for s in results["selection"] if s["dataset"] == "toy-b"]
    assert [(s["model"], s["chosen"], s["from"], s["candidates"]) for s in borrowed] == [
        ("hyp", {"lr": 1}, "toy-a", []), ("euc", {"lr": 1}, "toy-a", [])]
    assert {d["name"]: d.get("select_from") for d in results["datasets"]} == {"toy-a": None, "toy-b": "toy-a"}
    md = (out / "results.md").read_text()
    assert md.split("## toy-b")[1].count("No search on this dataset: each tuned model ran the configuration it "
                                         "chose on toy-a's validation.") == 1
    assert "No search" not in md.split("## toy-b")[0]


def test_a_borrowed_selection_comes_from_the_merged_results_or_is_refused_before_any_work(registered, tmp_path,
                                                                                          capsys):
    suite = Borrowing()
    registered(suite)
    out = tmp_path / "out"
    args = ["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path)]
    assert main([*args, "--datasets", "toy-b"]) == 2  # nothing to borrow from
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "toy-b runs each tuned model with the configuration chosen on toy-a's validation, " \
        "and hyp has no selection there" in err[0]
    assert suite.fits == [] and not (out / "results.json").exists()
    assert main([*args, "--datasets", "toy-a", "--models", "hyp,pop"]) == 0
    assert main([*args, "--datasets", "toy-b", "--merge"]) == 2  # euc was not run on toy-a
    assert "euc has no selection there" in capsys.readouterr().err
    fits = len(suite.fits)
    assert main([*args, "--datasets", "toy-b", "--models", "hyp,pop", "--merge"]) == 0
    assert sorted(suite.fits[fits:]) == sorted([("toy-b", "hyp", 1, s) for s in range(3)]
                                               + [("toy-b", "pop", None, s) for s in range(3)])
    # toy-b searched before, borrowing now: other settings, refused without --replace
    searched = Borrowing(select_from=None)
    searched.name = "tiny-searched"
    registered(searched)
    out2 = tmp_path / "out2"
    args2 = ["run", "tiny-searched", "--out", str(out2), "--no-progress", "--data-root", str(tmp_path)]
    assert main(args2) == 0
    capsys.readouterr()
    results = json.loads((out2 / "results.json").read_text())
    results["suite"] = suite.name
    (out2 / "results.json").write_text(json.dumps(results))
    args2[1] = suite.name
    assert main([*args2, "--datasets", "toy-b", "--merge"]) == 2
    err = capsys.readouterr().err
    assert "toy-b ran with other settings (select_from: absent -> toy-a)" in err and "--replace" in err


def test_a_dataset_whose_source_is_skipped_is_skipped_too(registered, tmp_path, capsys):
    suite = Tiny(datasets=(DatasetSpec("toy-a", lambda root: require(root, "nowhere/train.txt")),
                           DatasetSpec("toy-b", lambda root: {"size": 5}, select_from="toy-a")))
    rc, out = run(suite, registered, tmp_path)
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert [s["dataset"] for s in results["skipped"]] == ["toy-a", "toy-b"]
    assert results["skipped"][1]["reason"].startswith("its configurations are chosen on toy-a, skipped (")
    assert results["runs"] == []


def test_report_rerenders_markdown_from_results_json(registered, tmp_path, capsys):
    suite = Tiny()
    rc, out = run(suite, registered, tmp_path)
    assert rc == 0
    (out / "results.md").unlink()
    suite.description = "re-rendered description"
    assert main(["report", suite.name, "--out", str(out)]) == 0
    md = (out / "results.md").read_text()
    assert "fake suite of the runner tests" in md  # what the run recorded, not the suite's new text
    assert "| hyp | euc |" in md
    assert main(["report", suite.name, "--out", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_finished_datasets_are_written_before_a_later_one_fails(registered, tmp_path):
    def broken(root):
        raise RuntimeError("disk on fire")

    suite = Tiny(datasets=_two_toys(broken=DatasetSpec("broken", broken)))
    registered(suite)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_suite(suite, data_root=tmp_path, seeds=[0, 1], out_dir=out, progress=False)
    results = json.loads((out / "results.json").read_text())
    assert [d["name"] for d in results["datasets"]] == ["toy-a", "toy-b"]
    assert len(results["runs"]) == 12


def test_peak_memory_sees_an_allocation():
    with PeakMemory() as memory:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del block
    assert memory.delta_mib > 50 and memory.peak_mib >= memory.start_mib + memory.delta_mib - 1e-6
    assert memory.method in ("VmHWM", "sampled", "ru_maxrss")


def test_builtin_suites_declare_counterparts_and_equal_budgets():
    for suite in available().values():
        names = {m.name for m in suite.models}
        for m in suite.models:
            if m.geometry == "hyperbolic":
                assert m.counterpart in names
                assert len(suite.configs(m)) == len(suite.configs(suite.model(m.counterpart)))


def test_hyperknow_sweep_reports_the_better_lr_per_kg_weight_and_the_no_kg_reference(tmp_path):
    from benchmarks.suites.hyperknow import HyperKnowSuite

    def cand(lr, value, weight=None):
        config = {"lr": lr} if weight is None else {"lr": lr, "kg_weight": weight}
        return {"config": config, "validation": {"ndcg@20": value}}

    selection = [
        {"dataset": "d", "model": "BPR+H", "candidates": [cand(0.1, 0.20), cand(0.2, 0.25)]},
        {"dataset": "d", "model": "BPR+Att+H",
         "candidates": [cand(0.1, 0.30, 0.01), cand(0.2, 0.10, 0.01), cand(0.1, 0.05, 0.5), cand(0.2, 0.07, 0.5)]},
    ]
    results = {"selection": selection, "seeds": [0]}
    suite = HyperKnowSuite()
    assert suite._sweep(results) == {"d": {"BPR+Att+H": {0.01: 0.30, 0.5: 0.07}}}
    text = suite.report(results)
    assert "| BPR+Att+H | 0.2500 | 0.3000 | 0.0700 |" in text
    assert suite.plots(results, tmp_path)[0].read_bytes()[:4] == b"\x89PNG"
    # every tuned row gets the same 8 configurations (the KG rows with kg_weight, LightGCN without score)
    names = {m.name: len(suite.configs(m)) for m in suite.models}
    assert names == {**{m.name: 8 for m in suite.models if m.tuned}, "popularity": 1}
    base = lambda c: (c["lr"], c["l2"], c["init_scale"])  # noqa: E731
    assert [base(c) for c in suite.configs(suite.model("Hyper-Know-tangent"))] == \
        [base(c) for c in suite.configs(suite.model("lightgcn"))] == \
        [base(c) for c in suite.configs(suite.model("BPR+E-adam"))]
    assert "kg_weight" in suite.configs(suite.model("BPR+Att+E"))[0]
    assert "kg_weight" not in suite.configs(suite.model("BPR+H-tangent"))[0]
    assert "score" not in suite.configs(suite.model("lightgcn"))[0]
    # the no-KG reference of a row is the row of its geometry and optimiser
    selection.append({"dataset": "d", "model": "BPR+E-adam", "candidates": [cand(0.1, 0.40)]})
    selection.append({"dataset": "d", "model": "BPR+Att+E-adam", "candidates": [cand(0.1, 0.45, 0.01)]})
    assert "| BPR+Att+E-adam | 0.4000 | 0.4500 | — |" in suite.report(results)
    # Hyper-Know against BPR+E with plain Adam
    run_of = lambda m, v: {"dataset": "d", "model": m, "metrics": {"recall@20": v, "ndcg@20": v / 2}}  # noqa: E731
    results.update(datasets=[{"name": "d"}], runs=[run_of("Hyper-Know-tangent", v) for v in (0.30, 0.31, 0.32)]
                   + [run_of("BPR+E-adam", v) for v in (0.20, 0.22, 0.21)])
    p = stats.ttest_ind([0.30, 0.31, 0.32], [0.20, 0.22, 0.21], equal_var=False).pvalue
    assert (f"- d: Hyper-Know-tangent vs BPR+E-adam: Recall@20 0.3100 vs 0.2100 (better, significantly, "
            f"p = {p:.3g})") in suite.report(results)


def test_design_tries_every_pair_of_levels_with_equal_budgets():
    from benchmarks.suites.common import design

    grid = {"lr": (1, 2), "wd": (0, 3), "init": (4, 5), "score": ("d", "s"), "kg_weight": (6, 7)}
    full = design(grid, ("lr", "wd", "init"), with_kg=True)
    assert len(full) == 8 and len({json.dumps(c, sort_keys=True) for c in full}) == 8
    for a, b in [("lr", "wd"), ("lr", "init"), ("wd", "init"), ("lr", "score"), ("wd", "score"),
                 ("init", "score"), ("lr", "kg_weight"), ("score", "kg_weight")]:
        assert sorted({(c[a], c[b]) for c in full}) == sorted((x, y) for x in grid[a] for y in grid[b]), (a, b)
    # score from the parity of the three (I = ABCD), kg_weight from wd and init (E = BC)
    assert {"lr": 1, "wd": 0, "init": 4, "score": "d", "kg_weight": 6} in full
    assert {"lr": 2, "wd": 0, "init": 4, "score": "s", "kg_weight": 6} in full
    assert {"lr": 1, "wd": 3, "init": 4, "score": "s", "kg_weight": 7} in full
    plain = design(grid, ("lr", "wd", "init"), with_score=False)
    assert plain == [{k: c[k] for k in ("lr", "wd", "init")} for c in full]
    with pytest.raises(ValueError, match="two levels"):
        design({**grid, "lr": (1, 2, 3)}, ("lr", "wd", "init"))


def test_summary_names_the_best_model_and_tests_best_hyperbolic_against_best_euclidean(registered, tmp_path):
    suite = Tiny()
    suite.models = (*suite.models, ModelSpec("euc2", "euclidean"), ModelSpec("ref", "euclidean"))
    # the reference baselines: the best of them ("ref", not "euc"), whatever the best Euclidean model of all
    suite.reference_models = ("euc", "ref", "not-run")
    TEST_VALUES["euc2"] = {"a": [0.95, 0.96, 0.97], "b": [0.1, 0.1, 0.1]}
    TEST_VALUES["ref"] = {"a": [0.88, 0.90, 0.89], "b": [0.1, 0.1, 0.1]}
    try:
        rc, out = run(suite, registered, tmp_path)
    finally:
        del TEST_VALUES["euc2"], TEST_VALUES["ref"]
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    (h,) = results["headlines"]
    assert (h["metric"], h["best"], h["hyperbolic"], h["euclidean"]) == ("a", "euc2", "hyp", "euc2")
    p = stats.ttest_ind([0.90, 0.91, 0.92], [0.95, 0.96, 0.97], equal_var=False).pvalue
    assert h["p"] == pytest.approx(p) and h["significant"] and not h["better"]
    md = (out / "results.md").read_text()
    assert "## Summary" in md
    assert ("best model **euc2** (0.9600 ± 0.0100); the best hyperbolic model, hyp (0.9100 ± 0.0100), is "
            "significantly worse than the best Euclidean model, euc2 (0.9600 ± 0.0100): -5.2%, Welch p = "
            f"{p:.3g}.") in md
    p_ref = stats.ttest_ind([0.90, 0.91, 0.92], [0.88, 0.90, 0.89], equal_var=False).pvalue
    assert p_ref > 0.05
    assert h["reference"] == {"models": ["euc", "ref"], "best": "ref", "t": pytest.approx(h["reference"]["t"]),
                              "p": pytest.approx(p_ref), "better": True, "significant": False}
    assert h["reference"]["t"] > 0
    assert (" Against the reference baselines (euc, ref) it is better on average than, but not significantly, "
            f"the best of them, ref (0.8900 ± 0.0100): +2.2%, Welch p = {p_ref:.3g}.") in md


def test_suite_fit_trains_tangent_and_euclidean_adam_models_with_torch_adam(tmp_path):
    from benchmarks.suites import RunContext
    from benchmarks.suites.chamberlain import Chamberlain
    from benchmarks.suites.common import euclidean_factor, optimizer_factory
    from benchmarks.suites.hyperknow import HyperKnowSuite
    from hypgraph.data import leave_last_out, make_synthetic, random_split
    from hypgraph.optim import RiemannianAdam

    chamberlain, hyperknow = Chamberlain(), HyperKnowSuite()
    config = {"lr": 0.01, "weight_decay": 1e-6, "init_scale": 5, "score": "sqdist"}
    for name, kind in (("hyperbolic-sym-bpr-tangent", torch.optim.Adam), ("euclidean-sym-bpr-adam", torch.optim.Adam),
                       ("hyperbolic-sym-bpr", RiemannianAdam), ("euclidean-sym-bpr", RiemannianAdam)):
        factory = optimizer_factory(chamberlain, chamberlain.model(name), config)
        assert factory.func is kind and factory.keywords["weight_decay"] == 1e-6
    assert optimizer_factory(chamberlain, chamberlain.model("euclidean-sym-bpr"), config).keywords[
        "euclidean_factor"] == "point"
    # the Euclidean rows of Hyper-Know's RiemannianAdam pairs get its per-point moments too, Adam's rows not
    factors = {m.name: euclidean_factor(hyperknow, m) for m in hyperknow.models if m.tuned}
    assert factors["BPR+E"] == factors["BPR+Att+E"] == "point"
    assert all(factors[m.name] == "coordinate" for m in hyperknow.models if m.options.get("optimizer") == "adam")
    ctx = RunContext(data_root=tmp_path, epochs=2, progress=False)
    data = make_synthetic(num_users=60, num_items=150, avg_user_degree=8, gamma=3.0, seed=0)
    split = leave_last_out(data)  # 100 sampled negatives need more than 100 unseen items
    for name in ("hyperbolic-sym-bpr-tangent", "lightgcn"):
        model = chamberlain.model(name)
        trial = chamberlain.fit(split, chamberlain.datasets[0], model, chamberlain.configs(model)[1], 0, ctx)
        assert trial.epochs == 2 and 0 <= trial.evaluate()["sampled_hr@10"] <= 1
    kg = random_split(make_synthetic(num_users=60, num_items=50, avg_user_degree=8, gamma=3.0, seed=0), seed=0)
    for name in ("Hyper-Know-tangent", "BPR+Att+E-adam", "lightgcn", "popularity"):
        model = hyperknow.model(name)
        trial = hyperknow.fit(kg, hyperknow.datasets[0], model, hyperknow.configs(model)[-1], 0, ctx)
        assert 0 <= trial.evaluate()["recall@20"] <= 1


def test_quick_suite_runs_end_to_end_on_a_small_budget(tmp_path):
    from benchmarks.suites.quick import Quick

    results = run_suite(Quick(), data_root=tmp_path, seeds=[0, 1], out_dir=tmp_path, epochs=1, progress=False,
                        datasets=["synthetic"], models=["hyperbolic-sym", "euclidean-sym", "popularity"])
    metrics = {"sampled_hr@10", "sampled_ndcg@10", "recall@20", "ndcg@20"}
    assert len(results["runs"]) == 6
    for r in results["runs"]:
        assert metrics <= set(r["metrics"]) and all(0 <= r["metrics"][k] <= 1 for k in metrics)
    assert {s["model"] for s in results["selection"]} == {"hyperbolic-sym", "euclidean-sym"}


def test_scale_suite_runs_on_a_tiny_graph(tmp_path, monkeypatch):
    import time
    from types import SimpleNamespace

    import hypgraph.train.trainer as trainer_module
    from benchmarks import timing
    from benchmarks.suites import scale
    from hypgraph.data import history

    monkeypatch.setitem(scale.BASE, "users", 300)
    monkeypatch.setitem(scale.BASE, "items", 60)
    monkeypatch.setitem(scale.BASE, "degree", 5.0)
    suite = scale.Scale()
    suite.fixed = {**suite.fixed, "timed_batches": 2, "warmup_batches": 1, "batch_size": 64, "dim": 8}

    # a clock for benchmarks.timing that moves only where the work is: 0.5 s
    # for sorting the positives (once per split, so no part of an epoch), 1 s
    # per warm-up batch, 0.25 s per timed batch (the trainer draws negatives
    # once per batch), 0.125 s per full ranking (binary fractions: every sum
    # is exact)
    now, batches = [0.0], []

    def advance(seconds):
        now[0] += seconds

    def epoch_seconds(*args, **kwargs):
        batches.append(0)  # a new epoch_seconds call
        return measure(*args, **kwargs)

    def positive_set(*args, **kwargs):
        advance(0.5)
        return PositiveSet(*args, **kwargs)

    def sample_negatives(*args, **kwargs):
        batches[-1] += 1
        advance(1.0 if batches[-1] <= suite.fixed["warmup_batches"] else 0.25)
        return draw(*args, **kwargs)

    def full_ranking_metrics(*args, **kwargs):
        advance(0.125)
        return rank(*args, **kwargs)

    measure, PositiveSet = scale.epoch_seconds, history.PositiveSet
    draw, rank = trainer_module.sample_negatives, timing.full_ranking_metrics
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(scale, "epoch_seconds", epoch_seconds)
    monkeypatch.setattr(history, "PositiveSet", positive_set)
    monkeypatch.setattr(trainer_module, "sample_negatives", sample_negatives)
    monkeypatch.setattr(timing, "full_ranking_metrics", full_ranking_metrics)

    start = time.perf_counter()
    results = run_suite(suite, data_root=tmp_path, seeds=[0, 1], out_dir=tmp_path, progress=False, datasets=["1x"])
    wall = time.perf_counter() - start
    runs = results["runs"]
    by_model = {(r["model"], r["seed"]): r for r in runs}
    assert sorted(by_model) == [(m, s) for m in ("dot-product", "euclidean-asym", "hyperbolic-asym") for s in (0, 1)]
    # each trained model ran warm-up + timed batches once per seed, and nothing else
    assert batches == [1 + 2] * 4
    interactions = runs[0]["extra"]["interactions"]
    per_epoch = math.ceil(interactions / 64)  # batches in a full epoch
    expected = 0.25 * per_epoch  # the timed batches' mean extrapolated; warm-up and sorting excluded
    for r in runs:
        assert r["extra"]["interactions"] == interactions
        assert r["seconds_per_epoch"] == (None if r["model"] == "dot-product" else expected)
        assert r["metrics"]["ranking_seconds"] == 0.125
    # the runner's own (real) clock, rounded to 0.1 ms: training and ranking
    # took time (the dot product's fit, drawing two small tables, may round
    # to 0), and all of it together no more than the whole suite did
    assert all(r["eval_seconds"] > 0 and (r["fit_seconds"] > 0 or r["model"] == "dot-product") for r in runs)
    assert sum(r["fit_seconds"] + r["eval_seconds"] for r in runs) <= wall
    md = (tmp_path / "results.md").read_text()
    assert "## Cost against size" in md and (tmp_path / "cost_vs_size.png").exists()
    assert (f"| 1x | {interactions:,} | {expected:.3g} | {expected:.3g} | 1.00 (1.00–1.00) | " in md)
    assert md.count(" | 0.125 | 0.125 | 1.00 (1.00–1.00) |") == 1  # hyperbolic and dot-product ranking


def test_recommender_speed_still_runs_as_a_script(monkeypatch, capsys):
    # as `python benchmarks/recommender_speed.py --help` does, without a new interpreter
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", ["recommender_speed.py", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(REPO / "benchmarks" / "recommender_speed.py"), run_name="__main__")
    assert exited.value.code == 0
    assert "--max-batches" in capsys.readouterr().out


def test_the_hicf_recipe_rows_train_as_published(tmp_path, monkeypatch):
    # marlin-codes/HICF examples/Amazon-CD/run_cd.bash: 5 layers, lr 5e-4, weight decay 0.05, momentum 0.95,
    # margin 1 (adaptive), 70 candidates, batches of 10,000, the hinge summed
    import benchmarks.suites.chamberlain as module
    from benchmarks.suites import RunContext
    from hypgraph.data import leave_last_out, make_synthetic
    from hypgraph.optim import RiemannianSGD

    suite = module.Chamberlain()
    seen = {}
    real = module.recommender_trial

    def spy(*args, **kwargs):
        seen[args[2].name] = (kwargs["net"], kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "recommender_trial", spy)
    ctx = RunContext(data_root=tmp_path, epochs=2, progress=False)
    split = leave_last_out(make_synthetic(num_users=60, num_items=150, avg_user_degree=8, gamma=3.0, seed=0))
    for name, flat in (("hicf-recipe", False), ("euclidean-hicf-recipe", True)):
        model = suite.model(name)
        assert not model.tuned and suite.configs(model) == [{}]
        trial = suite.fit(split, suite.datasets[0], model, {}, 0, ctx)
        assert trial.epochs == 2 and 0 <= trial.evaluate()["sampled_hr@10"] <= 1
        net, kwargs = seen[name]
        assert net.manifold.is_flat == flat
        assert (net.num_layers, net.hard_negatives, net.adaptive_margin, net.score_kind) == (5, True, True, "sqdist")
        assert (net.aggregation, net.combine, net.include_input, net.adjacency.normalization) == \
            ("tangent", "sum", False, "row")
        assert kwargs["optimizer"].func is RiemannianSGD
        assert kwargs["optimizer"].keywords == {"momentum": 0.95, "weight_decay": 0.05}
        assert {k: kwargs[k] for k in ("loss", "lr", "margin", "reduction", "batch_size", "num_negatives")} == \
            {"loss": "hinge", "lr": 5e-4, "margin": 1.0, "reduction": "sum", "batch_size": 10_000,
             "num_negatives": 70}
