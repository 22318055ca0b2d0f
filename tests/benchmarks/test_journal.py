"""The run journal: a benchmark killed mid-way resumes with --resume, training
only what it had not finished, and ends with the results of an uninterrupted
run; runs of other code or settings are never reused."""
import json
import subprocess

import pytest

from benchmarks.cli import main
from benchmarks.journal import JOURNAL, Journal, code_fingerprint
from benchmarks.suites import register, unregister

from .test_runner import Tiny, _two_toys, registered  # noqa: F401  (the fixture)


class Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing in the runner catches it."""


class Counting(Tiny):
    r""":class:`Tiny` that records every fit and can be killed at one of them,
    or at the test evaluation of one run."""
    name = "tiny-journal"

    def __init__(self, *args, kill_at=None, kill_evaluate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fits, self.kill_at, self.kill_evaluate = [], kill_at, kill_evaluate

    def fit(self, data, dataset, model, config, seed, ctx):
        job = (dataset.name, model.name, config.get("lr"), seed)
        if job == self.kill_at:
            raise Killed(job)
        self.fits.append(job)
        trial = super().fit(data, dataset, model, config, seed, ctx)
        if job == self.kill_evaluate:
            def evaluate():
                raise Killed(job)
            trial.evaluate = evaluate
        return trial


def _run(suite, tmp_path, *extra):
    out = tmp_path / "out"
    return main(["run", suite.name, "--out", str(out), "--no-progress", "--data-root", str(tmp_path),
                 "--seeds", "3", *extra]), out


def _comparable(results):
    # what an interrupted-and-resumed run must share with an uninterrupted one
    runs = sorted((r["dataset"], r["model"], json.dumps(r["config"]), r["seed"], json.dumps(r["metrics"]),
                   json.dumps(r["validation"])) for r in results["runs"])
    selection = sorted(json.dumps({k: s[k] for k in ("dataset", "model", "chosen", "candidates")}, sort_keys=True)
                       for s in results["selection"])
    return runs, selection


def _swap(suite):
    # the next run of the same suite name: a fresh object (as a new process would have)
    unregister(suite.name)
    register(suite)
    return suite


def test_a_killed_run_resumes_where_it_stopped_and_ends_as_an_uninterrupted_one(registered, tmp_path):  # noqa: F811
    whole = registered(Counting(datasets=_two_toys()))
    rc, out = _run(whole, tmp_path / "whole")
    assert rc == 0 and not (out / JOURNAL).exists()  # a finished run leaves no journal
    reference = json.loads((out / "results.json").read_text())

    # killed in toy-b's selection of euc, after toy-a was written and hyp's toy-b work was journalled
    killed = _swap(Counting(datasets=_two_toys(), kill_at=("toy-b", "euc", 2, 0)))
    with pytest.raises(Killed):
        _run(killed, tmp_path)
    out = tmp_path / "out"
    lines = [json.loads(line) for line in (out / JOURNAL).read_text().splitlines()]
    # toy-a is in results.json and gone from the journal; toy-b's finished work is in it
    assert {line["dataset"] for line in lines} == {"toy-b"}
    assert {(line["kind"], line["model"], line["config"]["lr"], line["seed"]) for line in lines} == {
        ("candidate", "hyp", 1, 0), ("candidate", "hyp", 2, 0), ("run", "hyp", 1, 0), ("candidate", "euc", 1, 0)}

    resumed = _swap(Counting(datasets=_two_toys()))
    rc, _ = _run(resumed, tmp_path, "--resume", "--datasets", "toy-b", "--merge")
    assert rc == 0
    # nothing journalled was trained again, but euc's winner (lr=1: its selection run was
    # journalled without a test evaluation) once more, for its test run
    assert not set(resumed.fits) & {job for job in killed.fits if job[0] == "toy-b"} - {("toy-b", "euc", 1, 0)}
    assert sorted(killed.fits + resumed.fits) == sorted(whole.fits + [("toy-b", "euc", 1, 0)])
    assert not (out / JOURNAL).exists()
    assert _comparable(json.loads((out / "results.json").read_text())) == _comparable(reference)


def test_a_chosen_configuration_journalled_without_its_test_run_is_trained_again(registered, tmp_path):  # noqa: F811
    suite = Counting(datasets=_two_toys(), kill_evaluate=("toy-a", "hyp", 1, 0))
    registered(suite)
    with pytest.raises(Killed):  # killed while evaluating the chosen configuration on test
        _run(suite, tmp_path, "--datasets", "toy-a")
    assert suite.fits == [("toy-a", "hyp", 1, 0), ("toy-a", "hyp", 2, 0)]
    resumed = _swap(Counting(datasets=_two_toys()))
    rc, out = _run(resumed, tmp_path, "--datasets", "toy-a", "--resume")
    assert rc == 0
    # both candidates came from the journal; the winner (lr=1, by validation) was trained once more for its test run
    assert resumed.fits[0] == ("toy-a", "hyp", 1, 0) and ("toy-a", "hyp", 2, 0) not in resumed.fits
    results = json.loads((out / "results.json").read_text())
    (selection,) = [s for s in results["selection"] if s["model"] == "hyp"]
    assert selection["chosen"] == {"lr": 1} and len(selection["candidates"]) == 2
    assert ("toy-a", "hyp", 1, 0) in resumed.evaluated


def test_without_resume_or_with_other_settings_nothing_is_reused(registered, tmp_path):  # noqa: F811
    suite = Counting(datasets=_two_toys(), kill_at=("toy-a", "euc", 1, 0))
    registered(suite)
    with pytest.raises(Killed):
        _run(suite, tmp_path, "--datasets", "toy-a")
    journalled = len((tmp_path / "out" / JOURNAL).read_text().splitlines())
    assert journalled == 3  # hyp's two candidates and its chosen run
    for extra, change in (((), None), (("--resume",), "fixed")):
        again = Counting(datasets=_two_toys(), kill_at=("toy-a", "euc", 1, 0))
        if change:
            again.fixed = {"dim": 8}  # other search settings: another key
        _swap(again)
        with pytest.raises(Killed):
            _run(again, tmp_path, "--datasets", "toy-a", *extra)
        assert again.fits == suite.fits  # everything trained again


def test_journal_skips_lines_cut_by_a_kill_and_lines_of_other_keys(tmp_path):
    first = Journal(tmp_path, {"code": "a"})
    first.add("run", "d", "m", {"lr": 1}, 0, {"metrics": {"a": float("nan")}, "n": 1})
    with open(tmp_path / JOURNAL, "a") as handle:
        handle.write('{"key": "' + first.key + '", "kind": "run", "dataset": "d", "mod')  # cut mid-line
    first.add("run", "d", "m", {"lr": 1}, 1, {"n": 2})
    Journal(tmp_path, {"code": "b"}).add("run", "d", "m", {"lr": 1}, 2, {"n": 3})
    again = Journal(tmp_path, {"code": "a"}, resume=True)
    value = again.get("run", "d", "m", {"lr": 1}, 0)
    assert value["n"] == 1 and value["metrics"]["a"] != value["metrics"]["a"]  # NaN came back as NaN
    assert again.get("run", "d", "m", {"lr": 1}, 1) == {"n": 2}
    assert again.get("run", "d", "m", {"lr": 1}, 2) is None  # another key
    assert again.get("candidate", "d", "m", {"lr": 1}, 0) is None and again.reused == 2
    again.drop("d", ["m"])
    assert not (tmp_path / JOURNAL).exists()


def test_code_fingerprint_follows_the_library_and_benchmarks_not_their_results(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name, text in (("hypgraph/a.py", "x = 1\n"), ("benchmarks/runner.py", "y = 2\n"),
                       ("benchmarks/results/s/results.json", "{}\n"), ("README.md", "hello\n"),
                       ("setup.py", "z = 3\n")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git("add", "-A")
    base = code_fingerprint(tmp_path)
    assert len(base) == 64
    (tmp_path / "benchmarks/results/s/results.json").write_text('{"runs": []}\n')
    (tmp_path / "README.md").write_text("changed\n")
    assert code_fingerprint(tmp_path) == base  # results and docs are not code
    for name in ("hypgraph/a.py", "benchmarks/runner.py", "setup.py"):
        before = (tmp_path / name).read_text()
        (tmp_path / name).write_text(before + "# edit\n")  # uncommitted edits count
        assert code_fingerprint(tmp_path) != base, name
        (tmp_path / name).write_text(before)
    assert code_fingerprint(tmp_path) == base
    (tmp_path / "hypgraph/a.py").rename(tmp_path / "hypgraph/b.py")  # a tracked file gone
    assert code_fingerprint(tmp_path) != base
