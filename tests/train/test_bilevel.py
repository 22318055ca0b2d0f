"""BilevelTrainer: Algorithm 1 / Eq. 10-12 of Hyper-Know on KG-structured data."""
import copy

import pytest
import torch

from hypgraph.data import build_hetero_data, set_interactions
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall
from hypgraph.nn.losses import bpr_loss
from hypgraph.nn.models import HyperKnow
from hypgraph.optim import RiemannianAdam, RiemannianSGD
from hypgraph.optim import functional as F
from hypgraph.train import BilevelTrainer, Trainer, evaluate_full

INTERACTS = ("user", "interacts", "item")


def clustered(clusters=10, groups=2, items_per_group=5, users_per_group=5, bad_fraction=0.0,
              all_val=False, seed=0):
    r"""Items in ``clusters`` x ``groups`` groups; each user interacts with
    every item of its own group in training, and its held-out items are the
    other groups' items of its cluster. Groups never share a user, so the
    interaction graph gives no path to a held-out item: only the KG does,
    where each item is linked to its cluster's entity (items are entities
    ``0..I-1``, clusters ``I..I+C-1``). A ``bad_fraction`` of the items is
    linked to a random other cluster's entity instead (the KG misleads about
    them). Validation holds one held-out item per user (all of them with
    ``all_val``), test the rest. Returns ``(train, val, test, bad)``."""
    g = torch.Generator().manual_seed(seed)
    num_items = clusters * groups * items_per_group
    num_users = clusters * groups * users_per_group
    item_group = torch.arange(num_items) // items_per_group
    user_group = torch.arange(num_users) // users_per_group
    cluster = item_group // groups
    # every user's items: its own group (train) and its cluster's other groups (held out)
    own = item_group.unsqueeze(0) == user_group.unsqueeze(1)
    held = (cluster.unsqueeze(0) == (user_group // groups).unsqueeze(1)) & ~own
    train = own.nonzero().t()
    held_out = held.nonzero().t()
    # a random order within each user: the first held-out item is validation
    key = held_out[0].double() + torch.rand(held_out.size(1), generator=g, dtype=torch.double)
    held_out = held_out[:, key.argsort()]
    first = torch.ones(held_out.size(1), dtype=torch.bool)
    first[1:] = held_out[0, 1:] != held_out[0, :-1]
    is_val = torch.ones_like(first) if all_val else first
    val_edges, test_edges = held_out[:, is_val], held_out[:, ~first]

    bad = torch.rand(num_items, generator=g) < bad_fraction
    shift = torch.randint(1, clusters, (num_items,), generator=g)
    target = torch.where(bad, (cluster + shift) % clusters, cluster)
    data = build_hetero_data(train[0], train[1], num_users=num_users, num_items=num_items,
                             kg_head=torch.arange(num_items), kg_tail=num_items + target,
                             kg_relation=torch.zeros(num_items, dtype=torch.long), num_entities=num_items + clusters, num_relations=1,
                             link_item=torch.arange(num_items), link_entity=torch.arange(num_items))

    def part(edge_index, label):
        out = copy.copy(data)
        set_interactions(out, edge_index)
        out[INTERACTS].edge_label_index = label
        return out

    test = part(torch.cat([train, val_edges], 1), test_edges)
    return part(train, train), part(train, val_edges), test, bad


def build(name, train, seed=0, **kw):
    torch.manual_seed(seed)
    model = HyperKnow.ablation(name, data=train, dim=kw.pop("dim", 8), **kw)
    model.reset_parameters(generator=torch.Generator().manual_seed(seed))
    return model


def theta_of(model):
    return [p for n, p in model.named_parameters() if n != "beta_logit"]


def bilevel(model, beta_lr=0.1, lr=0.05, **kw):
    return BilevelTrainer(model, RiemannianAdam(theta_of(model), lr=lr),
                          torch.optim.Adam([model.beta_logit], lr=beta_lr), progress=False, **kw)


def final_beta(path):
    return torch.load(path, weights_only=True)["model"]["beta_logit"]


# --- the full model on data where the KG carries the signal -------------------

EPOCHS = 10


@pytest.fixture(scope="module")
def cluster_runs(tmp_path_factory):
    train, val, test, _ = clustered(clusters=8, items_per_group=4, users_per_group=4, seed=0)
    root = tmp_path_factory.mktemp("bilevel")
    runs = {}
    model = build("BPR+E", train)
    Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=EPOCHS, patience=EPOCHS,
            batch_size=64, progress=False).fit(train, val)
    runs["BPR+E"] = (evaluate_full(model, test, ks=(10,)), None)

    model = build("Hyper-Know", train)
    bilevel(model, beta_lr=0.05, max_epochs=EPOCHS, patience=EPOCHS, batch_size=64,
            checkpoint_path=root / "bilevel.pt").fit(train, val)
    runs["bilevel"] = (evaluate_full(model, test, ks=(10,)), final_beta(root / "bilevel.pt"))

    # Eq. 9 minimised directly: beta in the same optimiser as Theta
    model = build("Hyper-Know", train)
    Trainer(model, RiemannianAdam(model.parameters(), lr=0.05), max_epochs=EPOCHS, patience=EPOCHS,
            batch_size=64, progress=False, checkpoint_path=root / "direct.pt").fit(train, val)
    runs["direct"] = (evaluate_full(model, test, ks=(10,)), final_beta(root / "direct.pt"))
    runs["validated"] = torch.zeros(train["item"].num_nodes, dtype=torch.bool)
    runs["validated"][val[INTERACTS].edge_label_index[1]] = True  # items some user holds out for validation
    return runs


def test_full_model_beats_bpr_e_when_the_kg_carries_the_signal(cluster_runs):
    # held-out items are reachable only through the KG: BPR+E ranks them at
    # chance (10 of 59 candidates); seeds 0-4 give recall@10 0.09-0.18 for
    # BPR+E and 0.95-1.0 for Hyper-Know
    baseline, full = cluster_runs["BPR+E"][0], cluster_runs["bilevel"][0]
    assert baseline["recall@10"] < 0.3
    assert full["recall@10"] > baseline["recall@10"] + 0.5
    assert full["ndcg@10"] > baseline["ndcg@10"] + 0.5


def test_beta_collapses_under_direct_minimisation_but_not_bilevel(cluster_runs):
    # final states (the checkpoints), not the restored best epochs
    start = 0.5  # sigma(beta_init = 0)
    direct = torch.sigmoid(cluster_runs["direct"][1])
    learned = torch.sigmoid(cluster_runs["bilevel"][1])
    # d/d beta of sigma(beta) L_K > 0 always, so every beta only falls
    # (seeds 0-4 after 40 steps: max 0.25-0.30, mean 0.18-0.19)
    assert direct.max() < 0.4 and direct.mean() < 0.25
    # the outer loss keeps the KG weight where it helps
    # (seeds 0-4: mean 0.52-0.53, at most 2% of the items below 0.2)
    assert learned.mean() > start + 0.01 and (learned < 0.2).float().mean() < 0.1
    # and beta moves, item by item, in the direction the outer loss gives it.
    # Every item is a training positive, so each beta_v gets a hypergradient.
    # An item some user holds out for validation is an outer positive: pulling
    # it towards its cluster's entity (where those users are) lowers J_outer,
    # so sigma(beta_v) rises. An item nobody validates enters J_outer only as
    # a sampled negative; BPR weights a negative by sigma(s_neg - s_pos), about
    # 0 for the other clusters' users (it is far from them), large for its own
    # cluster's users, for whom it is a held-out test item (not excluded from
    # the outer negatives) and a hard one: pulling it towards them raises
    # J_outer, so sigma(beta_v) falls.
    # Seeds 0-4: every unvalidated item ends below 0.45 (mean 0.29-0.31);
    # 89-100% of the validated ones end above 0.5 (mean 0.62-0.64).
    validated = cluster_runs["validated"]
    assert validated.any() and not validated.all()
    assert (learned[~validated] < start).all()
    assert (learned[validated] > start).float().mean() > 0.8 and learned[validated].mean() > 0.58


def test_sigma_rises_where_the_kg_helps_and_falls_where_it_misleads(tmp_path):
    # a quarter of the items are linked to another cluster's entity: pulling
    # them there moves them away from the users who hold them out
    train, val, _, bad = clustered(clusters=6, groups=2, items_per_group=4, users_per_group=4,
                                   bad_fraction=0.25, all_val=True, seed=0)
    model = build("Hyper-Know", train)
    trainer = bilevel(model, max_epochs=20, patience=20, batch_size=32, outer_batch_size=128,
                      checkpoint_path=tmp_path / "run.pt")
    trainer.fit(train, val)
    sigma = torch.sigmoid(final_beta(tmp_path / "run.pt"))
    good = ~bad
    # seeds 0-4: good 0.72-0.78 (81-92% above 0.5), bad 0.05-0.21 (91-100% below 0.5)
    assert sigma[good].mean() > 0.6 and sigma[bad].mean() < 0.3
    assert (sigma[good] > 0.5).float().mean() > 0.7 and (sigma[bad] < 0.5).float().mean() > 0.8


# --- Algorithm 1, step by step ---------------------------------------------------

def small_split():
    train, val, test, _ = clustered(clusters=3, groups=2, items_per_group=3, users_per_group=3, seed=1)
    return train, val, test


def batch(train, generator):
    pos = train[INTERACTS].edge_index[:, :12]
    neg = torch.randint(train["item"].num_nodes, (12, 2), generator=generator)
    return pos[0], pos[1], neg


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_theta_update_is_exactly_the_trainers_step(sparse):
    # sparse=True: the Trainer's lazy row steps on sparse gradients, not a dense step over the table
    train, _, _ = small_split()
    plain, twin = (build("Hyper-Know", train, l2=1e-3, sparse=sparse) for _ in range(2))
    with torch.no_grad():  # a non-trivial, item-dependent sigma(beta)
        plain.beta_logit.copy_(torch.linspace(-2, 2, plain.num_items))
        twin.beta_logit.copy_(plain.beta_logit)
    trainer = Trainer(plain, RiemannianAdam(theta_of(plain), lr=0.05), progress=False)
    bi = BilevelTrainer(twin, RiemannianAdam(theta_of(twin), lr=0.05),
                        torch.optim.SGD([twin.beta_logit], lr=0.0), outer="train", progress=False)
    history = None
    for step in range(3):
        users, pos, neg = batch(train, torch.Generator().manual_seed(step))
        a = trainer._step(users, pos, neg, history, torch.Generator().manual_seed(10 + step))
        b = bi._step(users, pos, neg, history, torch.Generator().manual_seed(10 + step))
        assert float(a) == pytest.approx(float(b), rel=1e-6)
        assert twin.item.grad.is_sparse == sparse
    for (name, p), (_, q) in zip(plain.named_parameters(), twin.named_parameters()):
        assert torch.allclose(p, q, atol=1e-6), name


@pytest.mark.parametrize("manifold", [PoincareBall(), Euclidean()], ids=["poincare", "euclidean"])
def test_hypergradient_matches_finite_differences_of_the_full_proxy(manifold):
    train, _, _ = small_split()
    torch.manual_seed(0)
    model = HyperKnow.from_data(train, dim=4, manifold=manifold, beta="adaptive", l2=1e-2,
                                init_std=0.3).double()
    with torch.no_grad():
        model.beta_logit.copy_(torch.linspace(-1, 1, model.num_items, dtype=torch.float64))
    alpha = 0.5
    trainer = BilevelTrainer(model, torch.optim.SGD(theta_of(model), lr=0.01),
                             torch.optim.SGD([model.beta_logit], lr=0.0), outer="train", proxy_lr=alpha,
                             progress=False)
    users, pos, neg = batch(train, torch.Generator().manual_seed(0))
    theta = {n: p.detach().clone() for n, p in model.named_parameters() if n != "beta_logit"}
    trainer._step(users, pos, neg, None, torch.Generator().manual_seed(0))
    analytic = model.beta_logit.grad.clone()

    reference = copy.deepcopy(model)
    full = FullLoss(reference)

    def outer_of(beta):
        # Eq. 12 over whole tables, then J_outer, with no create_graph anywhere
        leaves = {n: t.clone().requires_grad_(True) for n, t in theta.items()}
        swapped = {f"model.{n}": t for n, t in leaves.items()}
        swapped["model.beta_logit"] = beta
        inner = torch.func.functional_call(full, swapped, (users, pos, neg, True))
        grads = torch.autograd.grad(inner, list(leaves.values()))
        proxy = {}
        for (name, x), g in zip(leaves.items(), grads):
            x = x.detach()
            if name in ("user", "item", "entity") and not isinstance(manifold, Euclidean):
                step = -alpha * manifold.egrad2rgrad(x, g)  # the Riemannian SGD step
                proxy[f"model.{name}"] = manifold.projx(manifold.expmap(x, step))
            else:
                proxy[f"model.{name}"] = x - alpha * g
        return torch.func.functional_call(full, proxy, (users, pos, neg, False)).item()

    beta0 = model.beta_logit.detach().clone()
    eps = 1e-5
    # four items of the batch, and one that is not a positive (no KG term, gradient 0)
    absent = next(i for i in range(model.num_items) if i not in pos.tolist())
    for v in pos.unique()[:4].tolist() + [absent]:
        up, down = beta0.clone(), beta0.clone()
        up[v] += eps
        down[v] -= eps
        numeric = (outer_of(up) - outer_of(down)) / (2 * eps)
        assert analytic[v].item() == pytest.approx(numeric, rel=1e-4, abs=1e-10), v
    assert analytic[pos.unique()].abs().max() > 1e-6  # not trivially zero


@pytest.mark.parametrize("manifold", [PoincareBall(), Lorentz(), Euclidean()], ids=["poincare", "lorentz",
                                                                               "euclidean"])
def test_proxy_is_the_riemannian_sgd_step(manifold):
    # Eq. 12's proxy and the optimiser's step are one function, so they cannot
    # drift apart: for every Theta table the proxy equals functional.rsgd_step
    # and RiemannianSGD's own step, bit for bit
    train, _, _ = small_split()
    torch.manual_seed(0)
    model = HyperKnow.from_data(train, dim=4, manifold=manifold, beta="adaptive", init_std=0.3).double()
    alpha = 0.7
    trainer = BilevelTrainer(model, torch.optim.SGD(theta_of(model), lr=0.01),
                             torch.optim.SGD([model.beta_logit], lr=0.0), proxy_lr=alpha, progress=False)
    g = torch.Generator().manual_seed(2)
    for name, param in model.named_parameters():
        if name == "beta_logit":
            continue
        grad = torch.randn(param.shape, generator=g, dtype=param.dtype)
        x = param.detach().clone().requires_grad_(True)
        proxy = trainer.proxy_step(param, x, grad)
        assert proxy.requires_grad, name  # differentiable
        expected, _ = F.rsgd_step(param.detach(), grad, lr=alpha, manifold=F.manifold_of(param))
        assert torch.equal(proxy.detach(), expected), name
        twin = copy.deepcopy(param)
        twin.grad = grad
        RiemannianSGD([twin], lr=alpha).step()
        assert torch.equal(proxy.detach(), twin.detach()), name


def test_step_takes_its_proxy_from_the_functional_step(monkeypatch):
    train, _, _ = small_split()
    model = build("Hyper-Know", train)
    trainer = bilevel(model, outer="train")
    calls, real = [], F.rsgd_step

    def spy(x, grad, **kwargs):
        calls.append(kwargs)
        return real(x, grad, **kwargs)

    monkeypatch.setattr(F, "rsgd_step", spy)
    users, pos, neg = batch(train, torch.Generator().manual_seed(0))
    trainer._step(users, pos, neg, None, torch.Generator().manual_seed(0))
    assert calls and all(c["differentiable"] and c["lr"] == trainer.proxy_lr for c in calls)
    # one proxy per Theta table with an inner gradient; the KG tables are read
    assert len(calls) >= 3


class FullLoss(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, users, pos, neg, kg):
        pos_score, neg_score = self.model(users, pos, neg)
        loss = bpr_loss(pos_score, neg_score)
        return loss + self.model.auxiliary_loss(users, pos, neg) if kg else loss


# --- state and errors ---------------------------------------------------------

def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    train, val, _ = small_split()

    def run(epochs, path, resume=False, seed=0):
        model = build("Hyper-Know", train, seed=seed, num_neighbour_samples=2)
        trainer = bilevel(model, max_epochs=epochs, patience=10, batch_size=16, checkpoint_path=path)
        return trainer.fit(train, val, resume=resume), model, trainer

    full, model_full, _ = run(4, tmp_path / "full.pt")
    run(2, tmp_path / "half.pt")
    # a different seed for the fresh model proves the checkpoint, not luck, decides
    resumed, model_resumed, trainer = run(4, tmp_path / "half.pt", resume=True, seed=99)
    assert [r["ndcg@10"] for r in resumed.records] == [r["ndcg@10"] for r in full.records]
    assert [r["loss"] for r in resumed.records] == [r["loss"] for r in full.records]
    assert torch.equal(model_full.item, model_resumed.item)
    assert torch.equal(model_full.beta_logit, model_resumed.beta_logit)
    assert not torch.equal(model_full.beta_logit, torch.zeros_like(model_full.beta_logit))
    payload = torch.load(tmp_path / "half.pt", weights_only=True)
    assert payload["beta_optimizer"]["state"]  # Adam moments of beta are checkpointed


def test_argument_errors():
    train, val, _ = small_split()
    model = build("Hyper-Know", train)
    beta_opt = torch.optim.Adam([model.beta_logit])
    with pytest.raises(ValueError, match="in both optimisers"):
        BilevelTrainer(model, RiemannianAdam(model.parameters()), beta_opt)
    with pytest.raises(ValueError, match="outer must be one of"):
        BilevelTrainer(model, RiemannianAdam(theta_of(model)), beta_opt, outer="test")
    with pytest.raises(ValueError, match="not a parameter of the model"):
        stray = torch.zeros(3, requires_grad=True)
        BilevelTrainer(model, RiemannianAdam(theta_of(model)), torch.optim.Adam([stray]))
    with pytest.raises(ValueError, match="no auxiliary_loss"):
        plain = torch.nn.Linear(2, 2)
        BilevelTrainer(plain, torch.optim.SGD([plain.weight], lr=0.1), torch.optim.SGD([plain.bias], lr=0.1))
    empty_val = copy.copy(val)
    empty_val[INTERACTS].edge_label_index = torch.zeros(2, 0, dtype=torch.long)
    with pytest.raises(ValueError, match="needs validation pairs"):
        BilevelTrainer(model, RiemannianAdam(theta_of(model)), beta_opt, progress=False).fit(train, empty_val)
