"""Trainer: learning, early stopping, logs, atomic checkpoints and exact resume."""
import json

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


def make(num_items, num_users, seed=0, **kw):
    torch.manual_seed(seed)
    model = HyperbolicRecommender(num_items, num_users, dim=8, **kw)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def test_fit_improves_validation_and_logs(split, tmp_path):
    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes)
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
    model = make(train["item"].num_nodes, train["user"].num_nodes)
    # a learning rate this large makes validation worse after the first epochs
    trainer = Trainer(model, RiemannianSGD(model.parameters(), lr=50.0), max_epochs=30, patience=2,
                      batch_size=64, progress=False)
    result = trainer.fit(train, val)
    assert len(result.history) < 30
    best = max(r["ndcg@10"] for r in result.history)
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
        model = make(ni, nu, seed=seed)
        opt = RiemannianAdam(model.parameters(), lr=0.05)
        trainer = Trainer(model, opt, loss=loss, max_epochs=epochs, patience=10, batch_size=128,
                          progress=False, checkpoint_path=path)
        return trainer.fit(train, val, resume=resume), model

    full, model_full = run(4, tmp_path / "full.pt")
    run(2, tmp_path / "half.pt")
    # a different seed for the fresh model proves the checkpoint, not luck, decides
    resumed, model_resumed = run(4, tmp_path / "half.pt", resume=True, seed=99)
    assert [r["ndcg@10"] for r in resumed.history] == [r["ndcg@10"] for r in full.history]
    assert torch.equal(model_full.item, model_resumed.item)
    assert not (tmp_path / "half.pt.tmp").exists()
    torch.load(tmp_path / "half.pt", weights_only=True)  # loadable without pickle


def test_trainer_argument_errors(split):
    model = make(10, 5)
    opt = RiemannianAdam(model.parameters())
    with pytest.raises(ValueError, match="loss"):
        Trainer(model, opt, loss="hinge")
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(model, opt, batch_size=0)


@pytest.mark.parametrize("metric", ["nonsense", "ndcg@0", "ndcg@", "ndcg", "hr@10", "recall@-3", "recall@2.5", 10])
def test_bad_metric_is_refused_at_construction(metric):
    model = make(10, 5)
    with pytest.raises(ValueError, match=r"metric must be one of recall@K, precision@K, ndcg@K, ndcg_kgat@K"):
        Trainer(model, RiemannianAdam(model.parameters()), metric=metric)


@pytest.mark.parametrize("metric,k", [("ndcg@10", 10), ("recall@1", 1), ("ndcg_kgat@50", 50), ("precision@7", 7)])
def test_metric_cut_off(metric, k):
    model = make(10, 5)
    assert Trainer(model, RiemannianAdam(model.parameters()), metric=metric).k == k


def test_metric_beyond_the_catalogue_is_refused_before_training(split, monkeypatch):
    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters()), metric="ndcg@1000", progress=False)
    monkeypatch.setattr(trainer, "_epoch", lambda *a: pytest.fail("trained before refusing"))
    with pytest.raises(ValueError, match="ranks 1000 items, but there are 120"):
        trainer.fit(train, val)


def test_fit_names_unsplit_or_empty_data(split):
    from torch_geometric.data import HeteroData

    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters()), progress=False)
    with pytest.raises(ValueError, match=r"train_data has no \('user', 'interacts', 'item'\) edges"):
        trainer.fit(HeteroData(), val)
    unlabelled = val.clone()
    del unlabelled["user", "interacts", "item"].edge_label_index
    with pytest.raises(ValueError, match=r"val_data has no held-out pairs \(edge_label_index\)"):
        trainer.fit(train, unlabelled)


def test_diverged_fit_rolls_back_to_the_parameters_it_started_with(split):
    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # a huge step leaves the points far out; the next losses are inf or nan
    trainer = Trainer(model, RiemannianSGD(model.parameters(), lr=1e30), progress=False, batch_size=64)
    with pytest.raises(FloatingPointError, match="hold the parameters they started this fit with again"):
        trainer.fit(train, val)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_diverged_fit_rolls_back_to_its_best_epoch(split, monkeypatch):
    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.01), progress=False, max_epochs=5)
    real_epoch, snapshot = trainer._epoch, {}

    def epoch(*args):
        if args[-1] == 3:  # third epoch: poison the parameters, then fail as a diverged step would
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
            raise FloatingPointError("non-finite loss nan in epoch 3")
        return real_epoch(*args)

    monkeypatch.setattr(trainer, "_epoch", epoch)
    with pytest.raises(FloatingPointError, match=r"parameters of its best epoch \([12]\) again"):
        trainer.fit(train, val)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_killed_save_leaves_no_temporary_file(split, tmp_path, monkeypatch):
    train, val, _ = split
    model = make(train["item"].num_nodes, train["user"].num_nodes, asymmetric=False)
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


def test_diverged_hyperknow_bilevel_fit_leaves_no_nan():
    # issue: RiemannianAdam at lr >= 10 made Hyper-Know's loss non-finite and
    # left NaN in the model
    from hypgraph.nn.models import HyperKnow
    from hypgraph.train import BilevelTrainer

    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=8, seed=3)
    train, val, _ = random_split(data, seed=0)
    torch.manual_seed(0)
    model = HyperKnow.ablation("Hyper-Know", data=train, dim=8)
    theta = [p for n, p in model.named_parameters() if n != "beta_logit"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = BilevelTrainer(model, RiemannianAdam(theta, lr=1e4), torch.optim.Adam([model.beta_logit], lr=1e4),
                             progress=False, max_epochs=20, batch_size=32)
    with pytest.raises(FloatingPointError, match="again") as info:
        trainer.fit(train, val)
    state = model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    if "started this fit with" in str(info.value):
        assert all(torch.equal(before[k], state[k]) for k in before)
