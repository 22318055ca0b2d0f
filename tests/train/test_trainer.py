"""Trainer: learning, early stopping, logs, atomic checkpoints and exact resume."""
import json
import math

import pytest
import torch

from hypgraph.data import make_synthetic, random_split
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam, RiemannianSGD
from hypgraph.train import Trainer


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(num_users=200, num_items=120, avg_user_degree=12, gamma=3.0, temperature=0.2, seed=1)
    return random_split(data, seed=0)


def make(num_users, num_items, seed=0, **kw):
    torch.manual_seed(seed)
    model = HyperbolicRecommender(num_users, num_items, dim=8, **kw)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def test_fit_improves_validation_and_logs(split, tmp_path):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes)
    before = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), progress=False).evaluate_split(
        train["user", "interacts", "item"].edge_index, val["user", "interacts", "item"].edge_label_index,
        train["user"].num_nodes, train["item"].num_nodes)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=6, batch_size=256,
                      progress=False, log_path=tmp_path / "log.jsonl", metric="ndcg@10")
    result = trainer.fit(train, val)
    assert result.best_metrics["ndcg@10"] > before["ndcg@10"] + 0.05
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == list(range(1, 7))
    assert {"loss", "ndcg@10", "recall@20", "seconds"} <= set(lines[0])
    assert lines[-1]["loss"] < lines[0]["loss"]


def test_early_stopping_restores_the_best_state(split):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes)
    # a learning rate this large makes validation worse after the first epochs
    trainer = Trainer(model, RiemannianSGD(model.parameters(), lr=50.0), max_epochs=30, patience=2,
                      batch_size=64, progress=False)
    result = trainer.fit(train, val)
    assert len(result.records) < 30
    best = max(r["ndcg@10"] for r in result.records)
    assert result.best_metrics["ndcg@10"] == best
    again = trainer.evaluate_split(train["user", "interacts", "item"].edge_index,
                                   val["user", "interacts", "item"].edge_label_index,
                                   train["user"].num_nodes, train["item"].num_nodes)
    assert again["ndcg@10"] == pytest.approx(best)


@pytest.mark.parametrize("loss", ["bpr", "wmrb"])
def test_resume_gives_the_same_result_as_an_uninterrupted_run(split, tmp_path, loss):
    train, val, _ = split
    nu, ni = train["user"].num_nodes, train["item"].num_nodes

    def run(epochs, path, resume=False, seed=0):
        model = make(nu, ni, seed=seed)
        opt = RiemannianAdam(model.parameters(), lr=0.05)
        trainer = Trainer(model, opt, loss=loss, max_epochs=epochs, patience=10, batch_size=128,
                          progress=False, checkpoint_path=path)
        return trainer.fit(train, val, resume=resume), model

    full, model_full = run(4, tmp_path / "full.pt")
    run(2, tmp_path / "half.pt")
    # a different seed for the fresh model proves the checkpoint, not luck, decides
    resumed, model_resumed = run(4, tmp_path / "half.pt", resume=True, seed=99)
    assert [r["ndcg@10"] for r in resumed.records] == [r["ndcg@10"] for r in full.records]
    assert torch.equal(model_full.item, model_resumed.item)
    assert not (tmp_path / "half.pt.tmp").exists()
    torch.load(tmp_path / "half.pt", weights_only=True)  # loadable without pickle


def test_trainer_argument_errors(split):
    model = make(5, 10)
    opt = RiemannianAdam(model.parameters())
    with pytest.raises(ValueError, match="loss"):
        Trainer(model, opt, loss="softmax")
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(model, opt, batch_size=0)


@pytest.mark.parametrize("metric", ["nonsense", "ndcg@0", "ndcg@", "ndcg", "hr@10", "recall@-3", "recall@2.5", 10])
def test_bad_metric_is_refused_at_construction(metric):
    model = make(5, 10)
    with pytest.raises(ValueError, match=r"metric must be one of recall@K, precision@K, ndcg@K, ndcg_kgat@K"):
        Trainer(model, RiemannianAdam(model.parameters()), metric=metric)


@pytest.mark.parametrize("metric,k", [("ndcg@10", 10), ("recall@1", 1), ("ndcg_kgat@50", 50), ("precision@7", 7)])
def test_metric_cut_off(metric, k):
    model = make(5, 10)
    assert Trainer(model, RiemannianAdam(model.parameters()), metric=metric).k == k


def test_metric_beyond_the_catalogue_is_refused_before_training(split, monkeypatch):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters()), metric="ndcg@1000", progress=False)
    monkeypatch.setattr(trainer, "train_epoch", lambda *a: pytest.fail("trained before refusing"))
    with pytest.raises(ValueError, match="ranks 1000 items, but there are 120"):
        trainer.fit(train, val)


def test_fit_names_unsplit_or_empty_data(split):
    from torch_geometric.data import HeteroData

    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters()), progress=False)
    with pytest.raises(ValueError, match=r"train_data has no \('user', 'interacts', 'item'\) edges"):
        trainer.fit(HeteroData(), val)
    unlabelled = val.clone()
    del unlabelled["user", "interacts", "item"].edge_label_index
    with pytest.raises(ValueError, match=r"val_data has no held-out pairs \(edge_label_index\)"):
        trainer.fit(train, unlabelled)


def test_diverged_fit_rolls_back_to_the_parameters_it_started_with(split):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # a huge step leaves the points far out; the next losses are inf or nan
    trainer = Trainer(model, RiemannianSGD(model.parameters(), lr=1e30), progress=False, batch_size=64)
    with pytest.raises(FloatingPointError, match="hold the parameters they started this fit with again"):
        trainer.fit(train, val)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_diverged_fit_rolls_back_to_its_best_epoch(split, monkeypatch):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.01), progress=False, max_epochs=5)
    real_epoch, snapshot = trainer.train_epoch, {}

    def epoch(*args):
        if args[-1] == 3:  # third epoch: poison the parameters, then fail as a diverged step would
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
            raise FloatingPointError("non-finite loss nan in epoch 3")
        return real_epoch(*args)

    monkeypatch.setattr(trainer, "train_epoch", epoch)
    with pytest.raises(FloatingPointError, match=r"parameters of its best epoch \([12]\) again"):
        trainer.fit(train, val)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_killed_save_leaves_no_temporary_file(split, tmp_path, monkeypatch):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    path = tmp_path / "run.ckpt"
    # a save killed between write and rename, from an earlier run
    (tmp_path / "run.ckpt.tmp").write_bytes(b"half a checkpoint")
    trainer = Trainer(model, RiemannianAdam(model.parameters()), progress=False, max_epochs=1,
                      checkpoint_path=path)
    def interrupted(src, dst):
        raise KeyboardInterrupt

    import hypgraph.train.trainer as trainer_module
    monkeypatch.setattr(trainer_module.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(train, val)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the stale one and its own are gone
    monkeypatch.undo()
    trainer.fit(train, val)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]


def _hyperknow_bilevel(lr, **kwargs):
    from hypgraph.nn.models import HyperKnow
    from hypgraph.train import BilevelTrainer

    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=8, seed=3)
    train, val, _ = random_split(data, seed=0)
    torch.manual_seed(0)
    model = HyperKnow.ablation("Hyper-Know", data=train, dim=8)
    theta = [p for n, p in model.named_parameters() if n != "beta_logit"]
    trainer = BilevelTrainer(model, RiemannianAdam(theta, lr=lr), torch.optim.Adam([model.beta_logit], lr=lr),
                             progress=False, batch_size=32, **kwargs)
    return model, trainer, train, val


def test_hyperknow_with_riemannian_adam_at_a_huge_learning_rate_stays_finite():
    # RiemannianAdam at lr >= 10 used to make Hyper-Know's loss NaN: the Poincaré
    # transport of the first moment of points at the boundary was float32 noise
    model, trainer, train, val = _hyperknow_bilevel(1e4, max_epochs=5, patience=100)
    result = trainer.fit(train, val)
    assert len(result.records) == 5 and all(math.isfinite(r["loss"]) for r in result.records)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


@pytest.mark.parametrize("after_calls", [3, 60])
def test_diverged_hyperknow_bilevel_fit_leaves_no_nan(after_calls):
    # a non-finite loss (here the KG and L2 term turning NaN after some calls:
    # in the first epoch, or later) rolls the model back to where the fit started or
    # to its best epoch, with no NaN left in it
    model, trainer, train, val = _hyperknow_bilevel(0.01, max_epochs=20)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    auxiliary, calls = model.auxiliary_loss, []

    def poisoned(*args, **kwargs):
        calls.append(1)
        out = auxiliary(*args, **kwargs)
        return out * float("nan") if len(calls) > after_calls else out

    model.auxiliary_loss = poisoned
    with pytest.raises(FloatingPointError, match="again") as info:
        trainer.fit(train, val)
    state = model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    first_epoch = "started this fit with" in str(info.value)
    assert first_epoch == (after_calls == 3)
    if first_epoch:
        assert all(torch.equal(before[k], state[k]) for k in before)
    else:
        assert "best epoch" in str(info.value)


# --- callbacks and the epoch log ------------------------------------------------

class Recorder:
    """Every hook call, in order (a plain object: callbacks need not subclass)."""

    def __init__(self):
        self.calls = []

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(("epoch_start", epoch))

    def on_batch_start(self, trainer, epoch, batch):
        self.calls.append(("batch_start", epoch, batch))

    def on_batch_end(self, trainer, epoch, batch, loss):
        assert isinstance(loss, float)
        self.calls.append(("batch_end", epoch, batch))

    def on_epoch_end(self, trainer, epoch, record):
        self.calls.append(("epoch_end", epoch, record))


def test_callbacks_see_every_epoch_and_batch_in_order(split):
    import math

    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    recorder = Recorder()
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=3, patience=10,
                      batch_size=256, progress=False, callbacks=[recorder])
    result = trainer.fit(train, val)
    per_epoch = math.ceil(train["user", "interacts", "item"].edge_index.size(1) / 256)
    expected = []
    for epoch in (1, 2, 3):
        expected.append(("epoch_start", epoch))
        for batch in range(per_epoch):
            expected += [("batch_start", epoch, batch), ("batch_end", epoch, batch)]
        expected.append(("epoch_end", epoch))
    assert [c[:3] if c[0] != "epoch_end" else c[:2] for c in recorder.calls] == expected
    records = [c[2] for c in recorder.calls if c[0] == "epoch_end"]
    assert records == result.records  # the record a callback gets is the logged one


def test_records_time_training_and_validation_separately(split, monkeypatch):
    from types import SimpleNamespace

    import hypgraph.train.trainer as trainer_module

    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=2, patience=10,
                      batch_size=256, progress=False)
    # a scripted clock: 2 s per training pass, 0.5 s per validation
    now = [0.0]
    train_epoch, validate = trainer.train_epoch, trainer.validate

    def timed(function, seconds):
        def run(*args, **kwargs):
            out = function(*args, **kwargs)
            now[0] += seconds
            return out
        return run

    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(trainer, "train_epoch", timed(train_epoch, 2.0))
    monkeypatch.setattr(trainer, "validate", timed(validate, 0.5))
    result = trainer.fit(train, val)
    for record in result.records:
        assert (record["train_seconds"], record["validation_seconds"], record["seconds"]) == (2.0, 0.5, 2.5)
    assert not {"seconds", "train_seconds", "validation_seconds"} & set(result.best_metrics)
    assert {"epoch", "loss", "ndcg@10"} <= set(result.best_metrics)


def test_callbacks_do_not_change_the_run(split):
    train, val, _ = split
    runs = []
    for callbacks in ([], [Recorder(), Recorder()]):
        model = make(train["user"].num_nodes, train["item"].num_nodes)
        trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=2, batch_size=128,
                          progress=False, callbacks=callbacks)
        result = trainer.fit(train, val)
        runs.append(([{k: v for k, v in r.items() if "seconds" not in k} for r in result.records], model.item))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_train_epoch_can_stop_after_some_batches(split):
    from hypgraph.data.history import Interactions

    train, _, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    recorder = Recorder()
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), batch_size=32, progress=False,
                      callbacks=[recorder])
    loss = trainer.train_epoch(Interactions.of(train), torch.Generator().manual_seed(0), max_batches=3)
    assert loss > 0
    assert [c for c in recorder.calls if c[0] == "batch_end"] == [("batch_end", 1, b) for b in range(3)]
    with pytest.raises(ValueError, match="max_batches must be >= 1"):
        trainer.train_epoch(Interactions.of(train), torch.Generator(), max_batches=0)


def test_history_is_a_deprecated_name_of_records(split):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, asymmetric=False)
    result = Trainer(model, RiemannianAdam(model.parameters()), max_epochs=1, progress=False).fit(train, val)
    with pytest.warns(DeprecationWarning, match="FitResult.records"):
        assert result.history is result.records


def test_resume_from_a_checkpoint_whose_log_is_still_called_history(split, tmp_path):
    train, val, _ = split
    nu, ni = train["user"].num_nodes, train["item"].num_nodes

    def run(epochs, path, resume=False):
        model = make(nu, ni, asymmetric=False)
        trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=epochs, patience=10,
                          batch_size=128, progress=False, checkpoint_path=path)
        return trainer.fit(train, val, resume=resume)

    full = run(3, tmp_path / "full.pt")
    run(2, tmp_path / "half.pt")
    payload = torch.load(tmp_path / "half.pt", weights_only=True)
    payload["state"]["history"] = payload["state"].pop("records")  # written before the rename
    torch.save(payload, tmp_path / "half.pt")
    resumed = run(3, tmp_path / "half.pt", resume=True)
    assert [r["loss"] for r in resumed.records] == [r["loss"] for r in full.records]


def test_a_model_built_with_users_and_items_swapped_is_named_before_training(split):
    # before 0.2 HyperbolicRecommender took (num_items, num_users): such a call
    # now builds a model of the wrong size, caught where it meets the data
    from hypgraph.train import evaluate_full

    train, val, test = split
    swapped = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
    trainer = Trainer(swapped, RiemannianAdam(swapped.parameters()), progress=False)
    with pytest.raises(ValueError, match=r"built for 120 users but train_data has 200; recommenders take "
                                         r"\(num_users, num_items, \.\.\.\)"):
        trainer.fit(train, val)
    with pytest.raises(ValueError, match="built for 120 users but test_data has 200"):
        evaluate_full(swapped, test)
    with pytest.raises(TypeError, match=r"needs num_items: its arguments are \(num_users, num_items, \.\.\.\)"):
        HyperbolicRecommender(120)


def test_loss_margin_and_reduction_reach_the_loss():
    # the batch loss the trainer optimises is the library loss with the margin and reduction asked for
    from hypgraph.nn.losses import hinge_loss, wmrb_loss
    model = make(5, 10, asymmetric=False)
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([[3, 4], [5, 6], [7, 8]])
    pos_score, neg_score = model(users, pos, neg)
    opt = RiemannianSGD(model.parameters(), lr=0.1)
    for loss, margin, reduction, reference in [
            ("hinge", None, "sum", hinge_loss(pos_score, neg_score, 0.1, reduction="sum")),
            ("hinge", 0.7, "mean", hinge_loss(pos_score, neg_score, 0.7)),
            ("wmrb", None, "mean", wmrb_loss(pos_score, neg_score, 1.0)),
            ("wmrb", 0.3, "sum", wmrb_loss(pos_score, neg_score, 0.3, reduction="sum"))]:
        trainer = Trainer(model, opt, loss=loss, margin=margin, reduction=reduction, progress=False)
        torch.testing.assert_close(trainer._loss(users, pos, neg, None, None), reference)
    with pytest.warns(DeprecationWarning, match="wmrb_margin"):
        old = Trainer(model, opt, loss="wmrb", wmrb_margin=0.3, progress=False)
    assert old.margin == 0.3
    with pytest.raises(ValueError, match="margin"):
        Trainer(model, opt, loss="bpr", margin=0.5)
    with pytest.raises(ValueError, match="margin"):
        Trainer(model, opt, loss="hinge", margin=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        Trainer(model, opt, reduction="none")


def test_a_resumed_run_logs_each_epoch_once_even_if_killed_between_save_and_log(split, tmp_path, monkeypatch):
    # the kill after the checkpoint of epoch 2 but before its log line: the resumed log has epochs 1..3 once
    train, val, _ = split
    nu, ni = train["user"].num_nodes, train["item"].num_nodes
    ckpt, log = tmp_path / "run.pt", tmp_path / "log.jsonl"

    def trainer(epochs):
        model = make(nu, ni)
        return Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=epochs, patience=10,
                       batch_size=128, progress=False, checkpoint_path=ckpt, log_path=log)

    first = trainer(2)
    calls = {"n": 0}
    original = Trainer._log

    def killed_on_second(self, record):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(self, record)

    monkeypatch.setattr(Trainer, "_log", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, val)
    monkeypatch.setattr(Trainer, "_log", original)
    assert [json.loads(line)["epoch"] for line in log.read_text().splitlines()] == [1]
    trainer(3).fit(train, val, resume=True)
    assert [json.loads(line)["epoch"] for line in log.read_text().splitlines()] == [1, 2, 3]


def _run_every(split, eval_every, *, epochs, patience, path=None, resume=False, seed=0, lr=0.05):
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes, seed=seed)
    trainer = Trainer(model, RiemannianSGD(model.parameters(), lr=lr), max_epochs=epochs, patience=patience,
                      batch_size=128, progress=False, eval_every=eval_every, checkpoint_path=path)
    return trainer.fit(train, val, resume=resume), model


def test_eval_every_validates_every_nth_epoch_and_the_last_without_changing_training(split):
    every, _ = _run_every(split, 1, epochs=7, patience=100)
    third, _ = _run_every(split, 3, epochs=7, patience=100)
    assert [r["epoch"] for r in third.records] == list(range(1, 8))
    assert [r["epoch"] for r in third.records if "ndcg@10" in r] == [3, 6, 7]
    # validation draws no randomness: the same losses, and the same metrics where both validated
    assert [r["loss"] for r in third.records] == [r["loss"] for r in every.records]
    for r in third.records:
        if "ndcg@10" in r:
            assert r["ndcg@10"] == every.records[r["epoch"] - 1]["ndcg@10"]
        else:
            assert r["validation_seconds"] < 1e-3 and r["seconds"] == pytest.approx(r["train_seconds"], abs=1e-3)
    assert third.best_epoch in (3, 6, 7)
    assert third.best_metrics["ndcg@10"] == max(r["ndcg@10"] for r in third.records if "ndcg@10" in r)


@pytest.mark.parametrize("eval_every,patience", [(2, 3), (3, 2), (2, 4)])
def test_patience_counts_epochs_since_the_best_validated_one(split, eval_every, patience):
    # a learning rate this large makes validation worse after the first epochs
    reference, _ = _run_every(split, 1, epochs=16, patience=100, lr=50.0)
    best_value, best_epoch, stop = -float("inf"), 0, 16
    for epoch in range(eval_every, 17, eval_every):  # what the loop must do, from the every-epoch metrics
        value = reference.records[epoch - 1]["ndcg@10"]
        if value > best_value:
            best_value, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            stop = epoch
            break
    result, _ = _run_every(split, eval_every, epochs=16, patience=patience, lr=50.0)
    assert stop < 16  # the case under test: it stops early
    assert len(result.records) == stop and result.best_epoch == best_epoch
    assert result.best_metrics["ndcg@10"] == best_value


def test_eval_every_resumes_exactly_from_an_epoch_without_validation(split, tmp_path):
    from hypgraph.train import Callback

    class Kill(Callback):  # as Ctrl-C after epoch 3's checkpoint, an epoch that is not validated
        def on_epoch_end(self, trainer, epoch, record):
            if epoch == 3:
                raise KeyboardInterrupt

    full, model_full = _run_every(split, 2, epochs=5, patience=10, path=tmp_path / "full.pt")
    train, val, _ = split
    model = make(train["user"].num_nodes, train["item"].num_nodes)
    killed = Trainer(model, RiemannianSGD(model.parameters(), lr=0.05), max_epochs=5, patience=10, batch_size=128,
                     progress=False, eval_every=2, checkpoint_path=tmp_path / "part.pt", callbacks=[Kill()])
    with pytest.raises(KeyboardInterrupt):
        killed.fit(train, val)
    resumed, model_resumed = _run_every(split, 2, epochs=5, patience=10, path=tmp_path / "part.pt", resume=True,
                                        seed=99)
    strip = [{k: v for k, v in r.items() if "seconds" not in k} for r in full.records]
    assert [{k: v for k, v in r.items() if "seconds" not in k} for r in resumed.records] == strip
    assert [r["epoch"] for r in resumed.records if "ndcg@10" in r] == [2, 4, 5]
    assert resumed.best_epoch == full.best_epoch and torch.equal(model_full.item, model_resumed.item)


@pytest.mark.parametrize("value", [0, -1, 2.0, None])
def test_eval_every_must_be_a_positive_integer(value):
    model = make(5, 10)
    with pytest.raises(ValueError, match="eval_every must be a positive integer"):
        Trainer(model, RiemannianAdam(model.parameters()), eval_every=value)
