"""Data-parallel training on torch.distributed (gloo, two processes on this
machine): the replicas stay bit-identical, the run follows a one-process run
with the same global batch, and a killed two-process run resumes exactly."""
import json
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hypgraph.data import make_synthetic, random_split
from hypgraph.manifolds import Lorentz
from hypgraph.nn.models import HyperbolicRecommender
from hypgraph.optim import RiemannianAdam
from hypgraph.train import Trainer
from hypgraph.train.distributed import shard_bounds

WORLD = 2
EPOCHS = 3
# (name, parameterization, sparse tables, optimiser)
CONFIGS = [("manifold", "manifold", False, "radam"), ("tangent-sparse", "tangent", True, "sparse_adam")]


def split():
    data = make_synthetic(num_users=80, num_items=50, avg_user_degree=8, gamma=3.0, temperature=0.3, seed=4)
    return random_split(data, seed=0)


def batch_size_with_a_lone_last_positive(num_pairs):
    # the last batch holds one positive: one rank gets none of it
    return next(b for b in range(40, 120) if num_pairs % b == 1)


class StopAt:
    """Kill the run as a signal would, before epoch :obj:`epoch` starts."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_start(self, trainer, epoch):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def train(config, seed, epochs=EPOCHS, checkpoint=None, resume=False, stop_at=None):
    name, parameterization, sparse, optimizer = config
    train_part, val_part, _ = split()
    torch.manual_seed(seed)  # each rank its own init: the trainer makes the replicas identical
    model = HyperbolicRecommender(train_part["user"].num_nodes, train_part["item"].num_nodes, dim=4,
                                  manifold=Lorentz(), asymmetric=False, parameterization=parameterization,
                                  sparse=sparse)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    opt = (RiemannianAdam(model.parameters(), lr=0.02) if optimizer == "radam"
           else torch.optim.SparseAdam(model.parameters(), lr=0.02))
    pairs = train_part["user", "interacts", "item"].edge_index.size(1)
    trainer = Trainer(model, opt, batch_size=batch_size_with_a_lone_last_positive(pairs), max_epochs=epochs,
                      patience=epochs, seed=0, progress=False, checkpoint_path=checkpoint,
                      callbacks=[] if stop_at is None else [StopAt(stop_at)])
    try:
        result = trainer.fit(train_part, val_part, resume=resume)
    except KeyboardInterrupt:
        return None
    return {"params": {n: p.detach().clone() for n, p in model.named_parameters()},
            "records": [{k: v for k, v in r.items() if k not in ("seconds", "train_seconds", "validation_seconds")}
                        for r in result.records]}


def worker(rank, store, out, job):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        results = {}
        if job == "full":
            for config in CONFIGS:
                results[config[0]] = train(config, seed=100 + rank)
            # the same run killed before its second epoch: its checkpoint holds epoch 1
            assert train(CONFIGS[0], seed=100 + rank, checkpoint=os.path.join(out, "ckpt.pt"), stop_at=2) is None
        else:  # resume the killed run in two new processes
            results["resumed"] = train(CONFIGS[0], seed=200 + rank, checkpoint=os.path.join(out, "ckpt.pt"),
                                       resume=True)
        torch.save(results, os.path.join(out, f"{job}-rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def spawn(tmp, job):
    store = tmp / f"store-{job}"
    mp.spawn(worker, args=(str(store), str(tmp), job), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"{job}-rank{r}.pt", weights_only=True) for r in range(WORLD)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distributed")
    full = spawn(tmp, "full")
    resumed = spawn(tmp, "resume")
    return full, resumed


@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_both_ranks_end_with_bit_identical_parameters(runs, config):
    full, _ = runs
    first, second = (r[config[0]] for r in full)
    assert first["params"].keys() == second["params"].keys()
    for name in first["params"]:
        assert torch.equal(first["params"][name], second["params"][name]), name
    assert first["records"] == second["records"]  # rank 0's validation, received by rank 1


@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_two_processes_follow_one_process_with_the_same_global_batch(runs, config):
    full, _ = runs
    two = full[0][config[0]]
    # rank 0 initialised with seed 100 and broadcast it: the one-process run starts there too
    one = train(config, seed=100)
    for a, b in zip(one["records"], two["records"]):
        # the same order, negatives and batches: only the order of float sums differs
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["ndcg@10"] == pytest.approx(b["ndcg@10"], abs=1e-3)
    for name in one["params"]:
        torch.testing.assert_close(two["params"][name], one["params"][name], rtol=1e-4, atol=1e-5)
    # and training did something
    assert two["records"][-1]["loss"] < two["records"][0]["loss"]


def test_a_killed_two_process_run_resumes_exactly(runs):
    full, resumed = runs
    straight = full[0][CONFIGS[0][0]]
    for rank in range(WORLD):
        again = resumed[rank]["resumed"]
        # different inits (seed 200 + rank) are overwritten by the checkpoint
        for name in straight["params"]:
            assert torch.equal(again["params"][name], straight["params"][name]), name
        assert again["records"] == straight["records"]


def test_shard_bounds_cut_like_tensor_split():
    for size in (0, 1, 5, 64, 65):
        for parts in (1, 2, 3):
            chunks = torch.arange(size).tensor_split(parts)
            for index in range(parts):
                bounds = shard_bounds(size, parts, index)
                assert torch.equal(torch.arange(size)[bounds.start:bounds.stop], chunks[index])
