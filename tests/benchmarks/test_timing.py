"""benchmarks.timing measures the Trainer's own loop through its callbacks."""
import math
from types import SimpleNamespace

import torch

from benchmarks import timing
from hypgraph.data import make_synthetic, random_split
from hypgraph.data.history import InteractionCSR
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam
from hypgraph.train import Trainer

INTERACTS = ("user", "interacts", "item")


def small():
    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=6, seed=0)
    train, val, _ = random_split(data, seed=0)
    torch.manual_seed(0)
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
    return model, train, val


def test_record_epoch_seconds_is_the_training_part_of_each_record():
    model, train, val = small()
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=3, patience=10,
                      batch_size=64, progress=False)
    seconds = timing.record_epoch_seconds(trainer)
    result = trainer.fit(train, val)
    assert seconds == [r["train_seconds"] for r in result.records] and len(seconds) == 3
    assert all(0 < s < r["seconds"] for s, r in zip(seconds, result.records))


def test_epoch_seconds_times_the_trainers_batches(monkeypatch):
    # a clock that moves 0.25 s per optimiser step of the trainer: the timed
    # batches' mean, extrapolated to the epoch, without the warm-up
    import hypgraph.train.trainer as trainer_module

    model, train, _ = small()
    edge_index = train[INTERACTS].edge_index
    now, steps = [0.0], []
    step = trainer_module.Trainer._step

    def timed_step(self, *args):
        steps.append(len(steps))
        now[0] += 0.25
        return step(self, *args)

    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(trainer_module.Trainer, "_step", timed_step)
    seconds = timing.epoch_seconds(model, RiemannianAdam(model.parameters(), lr=0.05), edge_index,
                                   train["item"].num_nodes, InteractionCSR(edge_index, train["user"].num_nodes),
                                   batch_size=32, max_batches=3, seed=0, warmup=2)
    assert len(steps) == 2 + 3  # warm-up and timed batches, nothing else
    assert seconds == 0.25 * math.ceil(edge_index.size(1) / 32)


def test_timing_uses_no_private_trainer_name():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(timing))
    private = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
               and node.attr.startswith("_") and not node.attr.startswith("__")}
    assert not private & {"_epoch", "_step", "_fit", "_validate", "_loss"}
