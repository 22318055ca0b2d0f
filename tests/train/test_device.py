"""Devices: every tensor of the training loop lives on the trainer's device,
and the host reads the device only at the logging interval.

This machine has no GPU, so the tests make a tensor created without an
explicit device land on a *different* device: inside ``torch.device("meta")``
an implicit factory call makes a meta tensor, and :class:`Audit` raises at
the first operation that touches one (naming it), while the real tensors
stay on the CPU. The same audit counts the operations that make a CUDA host
wait for the device (reading a scalar, data-dependent output shapes)."""
import contextlib
import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from hypgraph.data import make_synthetic, random_split, sample_negatives
from hypgraph.data.history import Interactions
from hypgraph.nn.models import HyperbolicGraphRecommender, HyperbolicRecommender, HyperKnow, LightGCNRecommender
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall, numerics
from hypgraph.optim import ManifoldParameter, RiemannianAdam
from hypgraph.train import BilevelTrainer, Trainer, evaluate_full, evaluate_sampled
from hypgraph.train.device import module_device, resolve_device

aten = torch.ops.aten
# operations after which a CUDA host waits for the device: a scalar read, or
# an output whose size depends on the data
SYNCS = {aten._local_scalar_dense.default, aten.nonzero.default, aten.masked_select.default,
         aten._unique2.default, aten.unique_dim.default, aten.unique_consecutive.default,
         aten.repeat_interleave.Tensor, aten.bincount.default}


class Audit(TorchDispatchMode):
    """Raise at the first operation with a meta tensor among its inputs or
    outputs; count the synchronising ones, except reads of the tensors
    :obj:`host` names (by ``id``: state that stays on the CPU by design)."""

    def __init__(self, host=()):
        super().__init__()
        self.syncs, self.host = [], set(host)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        tensors = [t for t in torch.utils._pytree.tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
        if any(t.device.type == "meta" for t in tensors):
            raise AssertionError(f"{func} made or read a tensor on the default device instead of the "
                                 f"trainer's: {[str(t.device) for t in tensors]}")
        if func in SYNCS and not (args and id(args[0]) in self.host):
            self.syncs.append(str(func))
        return out


def with_torch_optim_state(*optimizers):
    """Make torch.optim's state before an audit. torch before 2.12 (seen with
    2.11 on a lent GPU) makes Adam's step counter without ``device=``: host
    state by design unless capturable, which inside the audit lands on the
    meta device and stops Adam. One step with zero gradients (an Adam update
    of 0, and no weight decay here) makes it where it is made outside the
    audit; our own optimisers are audited from their first step."""
    for optimizer in optimizers:
        if type(optimizer).__module__.startswith("hypgraph."):
            continue
        params = [p for group in optimizer.param_groups for p in group["params"]]
        before = [p.detach().clone() for p in params]
        for p in params:
            p.grad = torch.zeros_like(p)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert all(torch.equal(p, b) for p, b in zip(params, before))


def audited(fn, host=()):
    audit = Audit(host)
    with torch.device("meta"), audit:
        result = fn()
    return result, audit.syncs


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(num_users=60, num_items=40, avg_user_degree=8, gamma=3.0, temperature=0.3,
                          num_categories=4, kg_depth=2, seed=2)
    return random_split(data, seed=0)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(" AUTO ").type == expected
    with pytest.raises(ValueError, match="'cpu', 'cuda', 'cuda:N' or 'auto'"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="'cpu', 'cuda', 'cuda:N' or 'auto'"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
    else:
        with pytest.raises(ValueError, match="CUDA devices"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_trainer_moves_the_model_and_defaults_to_its_device(split):
    train, _, _ = split
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
    assert Trainer(model, RiemannianAdam(model.parameters()), progress=False).device == torch.device("cpu")
    assert module_device(torch.nn.Module()) == torch.device("cpu")
    with pytest.raises(ValueError, match="log_every"):
        Trainer(model, RiemannianAdam(model.parameters()), log_every=0)
    with pytest.raises(ValueError, match="negative_sampling"):
        Trainer(model, RiemannianAdam(model.parameters()), negative_sampling="fast")


def models(train):
    nu, ni = train["user"].num_nodes, train["item"].num_nodes
    yield "asym-manifold", HyperbolicRecommender(nu, ni, dim=4), RiemannianAdam
    yield "sym-tangent", HyperbolicRecommender(nu, ni, dim=4, asymmetric=False, parameterization="tangent",
                                               manifold=PoincareBall()), torch.optim.Adam
    yield "euclidean", HyperbolicRecommender(nu, ni, dim=4, manifold=Euclidean()), RiemannianAdam
    yield "graph", HyperbolicGraphRecommender(nu, ni, dim=4, num_layers=2, parameterization="tangent"), \
        torch.optim.Adam
    yield "lightgcn", LightGCNRecommender(nu, ni, dim=4, num_layers=2), torch.optim.Adam


@pytest.mark.parametrize("name", ["asym-manifold", "sym-tangent", "euclidean", "graph", "lightgcn"])
def test_every_tensor_of_the_loop_is_on_the_trainers_device(split, name, tmp_path):
    train, val, test = split
    _, model, optimizer = next(m for m in models(train) if m[0] == name)
    trainer = Trainer(model, optimizer(model.parameters(), lr=0.01), device="cpu", batch_size=64, max_epochs=2,
                      progress=False, checkpoint_path=tmp_path / "ckpt.pt", log_path=tmp_path / "log.jsonl")
    with_torch_optim_state(trainer.optimizer)
    result, _ = audited(lambda: trainer.fit(train, val))
    assert len(result.records) == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in result.records)
    audited(lambda: evaluate_full(model, test, ks=(5,)))
    audited(lambda: evaluate_sampled(model, test, generator=torch.Generator().manual_seed(0), num_negatives=10))


def test_the_audit_catches_an_implicit_device():
    # the check the tests above rest on: a factory call without device= fails
    with pytest.raises(AssertionError, match="default device"):
        audited(lambda: torch.ones(2, device="cpu") + torch.arange(2))


def test_hyperknow_bilevel_loop_stays_on_the_device(split):
    train, val, _ = split
    model = HyperKnow.ablation("Hyper-Know", data=train, dim=4)
    theta = [p for n, p in model.named_parameters() if n != "beta_logit"]
    beta_optimizer = torch.optim.Adam([model.beta_logit], lr=0.01)
    trainer = BilevelTrainer(model, RiemannianAdam(theta, lr=0.01), beta_optimizer,
                             device="cpu", batch_size=64, max_epochs=1, progress=False)
    with_torch_optim_state(beta_optimizer)
    result, _ = audited(lambda: trainer.fit(train, val))
    assert len(result.records) == 1


@pytest.mark.parametrize("parameterization,optimizer", [("manifold", RiemannianAdam),
                                                         ("tangent", torch.optim.Adam)])
def test_the_host_reads_the_device_only_every_log_every_batches(split, parameterization, optimizer):
    train, _, _ = split
    # users of their own table (midpoint users group the batch's distinct
    # users, a data-dependent shape)
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4, manifold=Lorentz(),
                                  asymmetric=False, parameterization=parameterization)
    trainer = Trainer(model, optimizer(model.parameters(), lr=0.01), batch_size=16, log_every=4,
                      negative_sampling="exact", progress=False)
    pairs = Interactions.of(train)
    assert -(-pairs.num_pairs // 16) >= 13
    generator = torch.Generator().manual_seed(0)
    # indexed once per fit and the optimiser's state made: not part of an epoch
    trainer.train_epoch(pairs, generator, max_batches=1)
    # the optimisers' step counts stay on the CPU, as in torch.optim: reading them is no wait
    host = {id(state["step"]) for state in trainer.optimizer.state.values()}
    # the kernels' branch-free paths, as on an accelerator (on the CPU they
    # read values to skip guards no row needs)
    with numerics.branch_free():
        loss, syncs = audited(lambda: trainer.train_epoch(pairs, generator, max_batches=12), host)
    # reads at batches 4, 8, 12 (the last): one scalar each, and nothing else waits
    assert syncs == [str(aten._local_scalar_dense.default)] * 3
    assert loss > 0
    # every batch on the CPU by default, where a read costs nothing
    default = Trainer(model, trainer.optimizer, batch_size=16, negative_sampling="exact", progress=False)
    with numerics.branch_free():
        _, syncs = audited(lambda: default.train_epoch(pairs, generator, max_batches=12), host)
    assert syncs == [str(aten._local_scalar_dense.default)] * (2 * 12)  # the finiteness check and the read


@pytest.mark.parametrize("parameterization,optimizer", [("manifold", RiemannianAdam),
                                                         ("tangent", torch.optim.Adam)])
@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall()], ids=["lorentz", "poincare"])
def test_branch_free_kernels_train_to_the_same_parameters(split, parameterization, optimizer, manifold):
    train, _, _ = split
    runs = []
    for branch_free in (False, True):
        model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4, manifold=manifold,
                                      asymmetric=False, parameterization=parameterization).double()
        model.reset_parameters(generator=torch.Generator().manual_seed(0))
        trainer = Trainer(model, optimizer(model.parameters(), lr=0.05), batch_size=16, progress=False)
        with numerics.branch_free() if branch_free else contextlib.nullcontext():
            trainer.train_epoch(Interactions.of(train), torch.Generator().manual_seed(1), max_batches=20)
        runs.append([p.detach().clone() for p in model.parameters()])
    for fast, general in zip(*runs):
        torch.testing.assert_close(general, fast, rtol=1e-12, atol=1e-12)


def test_branch_free_far_out_float32_stays_finite_and_equal():
    from hypgraph.manifolds.lorentz import math as L
    from hypgraph.manifolds.lorentz import steps as S
    space = torch.tensor([[1e-3, 2e-3, 0.0], [30.0, -5.0, 1.0], [1e18, 3e17, -2e17], [3e38, 1e38, 0.0]])
    x = torch.cat([torch.ones(4, 1), space], dim=-1)
    v = torch.tensor([[0.1, 0.2, 0.3], [5.0, 1.0, -2.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    v = torch.cat([torch.zeros(4, 1), v], dim=-1)
    fast = L.projx(x)
    with numerics.branch_free():
        general = L.projx(x)
    assert torch.isfinite(general).all()
    torch.testing.assert_close(general, fast, rtol=1e-6, atol=0)
    outs = []
    for branch_free in (False, True):
        y, w = fast.clone(), L.proju(fast, v)
        with numerics.branch_free() if branch_free else contextlib.nullcontext():
            S.geodesic_step_(y, w, -0.5)
        outs.append((y, w))
    # points finite; a transported moment that overflowed is restarted by the optimiser, in both
    assert torch.isfinite(outs[1][0]).all()
    assert torch.equal(torch.isfinite(outs[1][1]), torch.isfinite(outs[0][1]))
    torch.testing.assert_close(outs[1][0], outs[0][0], rtol=1e-5, atol=1e-6)


def test_deferred_reads_still_catch_a_non_finite_loss(split):
    train, val, _ = split
    model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
    trainer = Trainer(model, RiemannianAdam(model.parameters(), lr=0.01), batch_size=16, log_every=5,
                      max_epochs=1, progress=False)
    original = trainer._loss
    calls = []

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = original(*args, **kwargs)
        # batch 2's value is nan, its gradient finite: only the deferred read can see it
        return loss + torch.tensor(float("nan")) if len(calls) == 2 else loss

    trainer._loss = poisoned
    with pytest.raises(FloatingPointError, match=r"non-finite loss nan in epoch 1 \(batches up to 4\)"):
        trainer.fit(train, val)
    assert len(calls) == 5  # found at the next read, batch 5
    # fit put the parameters it started from back: nothing non-finite is left
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_exact_negatives_are_uniform_over_unseen_items():
    edge_index = torch.tensor([[0, 0, 0, 1], [1, 3, 4, 0]])
    pairs = torch.stack([torch.cat([torch.zeros(30000, dtype=torch.long), torch.ones(30000, dtype=torch.long)]),
                         torch.zeros(60000, dtype=torch.long)])
    out = sample_negatives(pairs, 6, 1, exclude=edge_index, generator=torch.Generator().manual_seed(0),
                           method="exact")[:, 0]
    user0, user1 = out[:30000], out[30000:]
    assert set(user0.tolist()) == {0, 2, 5} and set(user1.tolist()) == {1, 2, 3, 4, 5}
    # each unseen item 1/3 (user 0) or 1/5 (user 1) of the draws, within 4 standard errors
    for values, unseen in ((user0, (0, 2, 5)), (user1, (1, 2, 3, 4, 5))):
        p = 1 / len(unseen)
        se = (p * (1 - p) / values.numel()) ** 0.5
        for item in unseen:
            assert abs((values == item).double().mean().item() - p) < 4 * se
    with pytest.raises(ValueError, match="method"):
        sample_negatives(pairs, 6, 1, method="fast")


def test_a_checkpoint_resumes_only_on_its_generators_device(split, tmp_path):
    train, val, _ = split
    path = tmp_path / "ckpt.pt"

    def trainer(epochs):
        model = HyperbolicRecommender(train["user"].num_nodes, train["item"].num_nodes, dim=4)
        return Trainer(model, RiemannianAdam(model.parameters(), lr=0.01), batch_size=64, max_epochs=epochs,
                       progress=False, checkpoint_path=path)

    trainer(1).fit(train, val)
    payload = torch.load(path, weights_only=True)
    assert payload["state"]["generator_device"] == "cpu"
    payload["state"]["generator_device"] = "cuda"  # as a run on a GPU writes it
    torch.save(payload, path)
    with pytest.raises(ValueError, match="written by a run on cuda; its random stream cannot continue on cpu"):
        trainer(2).fit(train, val, resume=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run where one is lent)")
@pytest.mark.parametrize("name", ["asym-manifold", "sym-tangent", "euclidean", "graph", "lightgcn"])
def test_trains_on_cuda(split, name):
    train, val, test = split
    _, model, optimizer = next(m for m in models(train) if m[0] == name)
    trainer = Trainer(model, optimizer(model.parameters(), lr=0.01), device="cuda", batch_size=64, max_epochs=2,
                      progress=False)
    result = trainer.fit(train, val)
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert len(result.records) == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in result.records)
    assert 0 <= evaluate_full(model, test, ks=(5,))["recall@5"] <= 1


def test_kg_graph_model_trains_on_the_device(split):
    from hypgraph.nn.models import HyperbolicKGNN

    train, val, _ = split
    model = HyperbolicKGNN.from_data(train, dim=4, parameterization="tangent")
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=0.01), device="cpu", batch_size=64,
                      max_epochs=1, progress=False)
    with_torch_optim_state(trainer.optimizer)
    result, _ = audited(lambda: trainer.fit(train, val))
    assert len(result.records) == 1


@pytest.mark.parametrize("name", ["asym-manifold", "graph", "lightgcn"])
def test_chunked_recommendation_stays_on_the_models_device(split, name):
    from hypgraph.nn.models import recommend_chunked

    train, _, _ = split
    torch.manual_seed(0)
    _, model, _ = next(m for m in models(train) if m[0] == name)
    history = Interactions.of(train).csr
    # float64: blocks of another shape sum in another order, and untrained points lie so near the origin that
    # float32 distances of 1e-3 differ in their fourth digit between the full and the chunked ranking (a near
    # tie then swaps two items); float64 leaves no such ties, so any other difference is a real one
    model.double().eval()
    users = torch.arange(train["user"].num_nodes)
    expected = model.recommend(users, 5, history)[0]
    chunks, _ = audited(lambda: list(recommend_chunked(model, users, 5, history, user_chunk=16, item_chunk=16)))
    assert torch.equal(torch.cat([items for _, items, _ in chunks]), expected)


def test_index_search_stays_on_the_models_device(split):
    pytest.importorskip("faiss")
    from hypgraph.nn.models import ItemIndex, recommend_chunked

    train, _, _ = split
    _, model, _ = next(m for m in models(train) if m[0] == "sym-tangent")
    history = Interactions.of(train).csr
    model.eval()
    users = torch.arange(train["user"].num_nodes)
    index = ItemIndex.build(model, "flat")
    exact = torch.cat([items for _, items, _ in recommend_chunked(model, users, 5, history)])
    chunks, _ = audited(lambda: list(recommend_chunked(model, users, 5, history, index=index)))
    found = torch.cat([items for _, items, _ in chunks])
    assert (found == exact).all(dim=1).float().mean() > 0.9  # float32 near-ties may swap neighbours


# --- on a CUDA device (skipped without one; run where a GPU is lent) -----------------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run where one is lent)")


def geometry_inputs(manifold):
    # points from the origin out to distance 20 (x outwards where y comes
    # inwards) and tangent vectors at x of optimiser-step length 1e-3..3
    g = torch.Generator().manual_seed(0)
    scale = torch.logspace(-4, 1.3, 400, dtype=torch.float64).unsqueeze(-1)
    u = torch.randn(400, 6, generator=g, dtype=torch.float64) * scale / 6 ** 0.5
    v = torch.randn(400, 6, generator=g, dtype=torch.float64) * scale.flip(0) / 6 ** 0.5
    x, y = manifold.expmap0(manifold.tangent0(u)), manifold.expmap0(manifold.tangent0(v))
    t = manifold.proju(x, manifold.tangent0(torch.randn(400, 6, generator=g, dtype=torch.float64)))
    t = t / manifold.norm(x, t, keepdim=True) * torch.logspace(-3, 0.5, 400, dtype=torch.float64).unsqueeze(-1)
    return u, x, y, t


def geometry_ops(manifold, u, x, y, t):
    step, moved = manifold.geodesic_step(x, t, 0.1)
    inplace, carried = x.clone(), t.clone()
    manifold.geodesic_step_(inplace, carried, 0.1)  # both arguments updated
    return {"expmap0": manifold.expmap0(manifold.tangent0(u)), "dist": manifold.dist(x, y),
            "logmap": manifold.logmap(x, y), "expmap": manifold.expmap(x, t), "transp": manifold.transp(x, y, t),
            "rgrad": manifold.egrad2rgrad(x, t + 0.5), "step": step, "moved": moved, "step_": inplace,
            "moved_": carried, "projx": manifold.projx(1.5 * x), "pairwise": manifold.pairwise_dist(x[:50], y[:50]),
            "logmap0": manifold.logmap0(y)}


def assert_equal_up_to_conditioning(manifold, got, expected, x, y):
    # Ambient formulas grow a rounding of their inputs by x0 y0 on the
    # hyperboloid and by the conformal factors' product in the ball (the
    # identical inputs of two kernels round differently inside them: another
    # order of a sum, a fused multiply-add, another libm): both agree to 1e-13
    # of that, per row and relative to the row's largest coordinate.
    if manifold.name == "lorentz":
        cond = x[:, :1] * y[:, :1]
    elif manifold.name == "poincare":
        cond = 1 / ((1 - x.square().sum(-1, keepdim=True)) * (1 - y.square().sum(-1, keepdim=True)))
    else:
        cond = torch.ones_like(x[:, :1])
    for name, value in expected.items():
        if name == "pairwise":
            allowed = 1e-13 * (cond[:50] * cond[:50].T) * value.abs().clamp_min(1)
        elif value.dim() == 1:
            allowed = 1e-13 * cond.squeeze(-1) * value.abs().clamp_min(1)
        else:
            allowed = 1e-13 * cond * value.abs().amax(-1, keepdim=True).clamp_min(1)
        error = (got[name].cpu() - value).abs()
        assert bool((error <= allowed).all()), (name, float((error / allowed).max()))


@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall(), Euclidean()], ids=["lorentz", "poincare", "euclidean"])
def test_branch_free_geometry_equals_the_guarded_one(manifold):
    # what an accelerator runs (numerics.branch_free on the CPU) against the
    # CPU's guarded kernels: the same numbers from the origin out to the
    # Poincaré cap and far out on the hyperboloid
    u, x, y, t = geometry_inputs(manifold)
    expected = geometry_ops(manifold, u, x, y, t)
    with numerics.branch_free():
        got = geometry_ops(manifold, u, x, y, t)
    assert_equal_up_to_conditioning(manifold, got, expected, x, y)


@needs_cuda
@pytest.mark.parametrize("manifold", [Lorentz(), PoincareBall(), Euclidean()], ids=["lorentz", "poincare", "euclidean"])
def test_geometry_on_cuda_equals_the_cpus(manifold):
    # an accelerator takes the branch-free kernels, the CPU the guarded ones
    # (numerics.host_checks): on the same float64 inputs both give the same
    # numbers up to their conditioning
    inputs = geometry_inputs(manifold)
    expected = geometry_ops(manifold, *inputs)
    got = geometry_ops(manifold, *(a.cuda() for a in inputs))
    assert all(value.device.type == "cuda" for value in got.values())
    assert_equal_up_to_conditioning(manifold, got, expected, inputs[1], inputs[2])


@needs_cuda
@pytest.mark.parametrize("name", ["asym-manifold", "sym-tangent", "euclidean", "graph", "lightgcn"])
def test_training_steps_on_cuda_equal_the_cpus(split, name):
    from hypgraph.nn.losses import bpr_loss

    train, _, _ = split
    torch.manual_seed(0)
    _, model, optimizer = next(m for m in models(train) if m[0] == name)
    model.double()
    with torch.no_grad():  # float32 points cast to float64 lie ~1e-8 off the float64 manifold, where
        for p in model.parameters():  # formulas that assume the constraint differ by as much: project
            if isinstance(p, ManifoldParameter):
                p.copy_(p.manifold.projx(p))
    twin = copy.deepcopy(model).cuda()
    history = Interactions.of(train).csr
    g = torch.Generator().manual_seed(1)
    users = torch.randint(train["user"].num_nodes, (64,), generator=g)
    pos, neg = torch.randint(train["item"].num_nodes, (64,), generator=g), \
        torch.randint(train["item"].num_nodes, (64, 2), generator=g)
    for m, device in ((model, "cpu"), (twin, "cuda")):
        opt = optimizer(m.parameters(), lr=0.05)
        for _ in range(3):
            p, n = m(users.to(device), pos.to(device), neg.to(device), history.to(device))
            loss = bpr_loss(p, n)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert all(p.device.type == "cuda" for p in twin.parameters())
    for (key, value), other in zip(model.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(other.cpu(), value, rtol=1e-9, atol=1e-11, msg=key)


@needs_cuda
@pytest.mark.parametrize("name", ["asym-manifold", "sym-tangent", "graph", "lightgcn"])
def test_ranking_on_cuda_equals_the_cpus(split, name):
    train, _, test = split
    torch.manual_seed(0)
    _, model, _ = next(m for m in models(train) if m[0] == name)
    model.double().eval()  # float64: no near-ties that blocks summed in another order could swap
    history = Interactions.of(train).csr
    users = torch.arange(train["user"].num_nodes)
    metrics, top = evaluate_full(model, test, ks=(5, 10)), model.recommend(users, 5, history)[0]
    model.cuda()
    on_cuda = evaluate_full(model, test, ks=(5, 10))
    assert on_cuda == pytest.approx(metrics, abs=1e-12)
    assert torch.equal(model.recommend(users.cuda(), 5, history.to("cuda"))[0].cpu(), top)


@needs_cuda
def test_kg_models_train_on_cuda(split):
    from hypgraph.nn.models import HyperbolicKGNN

    train, val, _ = split
    hyperknow = HyperKnow.ablation("Hyper-Know", data=train, dim=4)
    theta = [p for n, p in hyperknow.named_parameters() if n != "beta_logit"]
    kgnn = HyperbolicKGNN.from_data(train, dim=4, parameterization="tangent")
    trainers = [BilevelTrainer(hyperknow, RiemannianAdam(theta, lr=0.01), torch.optim.Adam([hyperknow.beta_logit], lr=0.01),
                               device="cuda", batch_size=64, max_epochs=2, progress=False),
                Trainer(kgnn, torch.optim.Adam(kgnn.parameters(), lr=0.01), device="cuda", batch_size=64,
                        max_epochs=2, progress=False)]
    for trainer in trainers:
        result = trainer.fit(train, val)
        assert all(p.device.type == "cuda" for p in trainer.model.parameters())
        assert len(result.records) == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in result.records)
