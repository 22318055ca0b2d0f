"""benchmarks.report: what results.md says under a dataset's table."""
from benchmarks.report import _unfinished_note


def run(model, epochs, best, failed=None):
    return {"dataset": "d", "model": model, "epochs": epochs, "extra": {"best_epoch": best}, "failed": failed}


def test_runs_stopped_at_their_last_epoch_are_counted_with_their_cap():
    results = {"datasets": [{"name": "d", "fixed": {"max_epochs": 10}}], "epochs": None,
               "runs": [run("a", 10, 10), run("a", 10, 10), run("b", 10, 4), run("c", 10, 10, failed="nan"),
                        {"dataset": "d", "model": "popularity", "epochs": 0, "extra": {}},
                        {"dataset": "other", "model": "a", "epochs": 5, "extra": {"best_epoch": 5}}]}
    (note,) = _unfinished_note(results, "d")
    assert note.startswith("**Unfinished:** 2 of 3 runs on d stopped at their last epoch (10)")
    assert "epoch cap of 10" in note and note.endswith("Models: a.")
    # an explicit --epochs of the dataset's run is the cap it ran under
    results["datasets"][0]["epochs"] = 7
    assert "epoch cap of 7" in _unfinished_note(results, "d")[0]


def test_no_note_when_every_run_stopped_early():
    results = {"datasets": [{"name": "d"}], "runs": [run("a", 30, 10), run("b", 25, 5)]}
    assert _unfinished_note(results, "d") == []
