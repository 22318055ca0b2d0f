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
