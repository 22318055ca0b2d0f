r"""Pieces shared by the recommender suites: training a model with
:class:`~hypgraph.train.Trainer` into a :class:`~benchmarks.suites.Trial`,
the popularity baseline, and the test metrics of both protocols."""
from __future__ import annotations

import functools
import itertools
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import torch
from torch_geometric.data import HeteroData

from hypgraph.data.hetero import INTERACTS
from hypgraph.manifolds import Euclidean, Lorentz
from hypgraph.nn.models import HyperbolicRecommender, PopularityRecommender
from hypgraph.optim import RiemannianAdam
from hypgraph.train import Trainer, evaluate_full, evaluate_sampled
from hypgraph.train.callbacks import VALIDATION_SECONDS

from ..timing import record_epoch_seconds
from . import RunContext, Trial

__all__ = ["Split", "split_summary", "count_parameters", "test_metrics", "train_trial", "popularity_trial",
           "hyperbolic_recommender", "recommender_trial", "read_dataset", "MANIFOLDS",
           "euclidean_factor", "optimizer_factory", "OPTIMIZERS", "INIT_WIDTH", "design", "HRCF", "HRCF_CANDIDATES"]

Split = Tuple[HeteroData, HeteroData, HeteroData]

#: ``ModelSpec.options['manifold']`` -> manifold factory
MANIFOLDS: Dict[str, Callable[[], Any]] = {"lorentz": lambda: Lorentz(margin=1e-6), "euclidean": Euclidean}


#: ``ModelSpec.options['optimizer']``: ``'riemannian-adam'`` (the default: manifold tables
#: and ``euclidean_factor``) or ``'adam'`` (:class:`torch.optim.Adam`, for tangent tables
#: and Euclidean tables with per-coordinate moments)
OPTIMIZERS = ("riemannian-adam", "adam")

#: :class:`~hypgraph.nn.models.HyperbolicRecommender`'s ``init_width`` at ``init_scale`` 1
INIT_WIDTH = 0.1

#: The HRCF/HICF rows' options (issue 14): HRCF's root alignment and
#: origin-aware penalty (weight 0.1, as in the README's example), and HICF's
#: hard negative, the nearest the positive of 5 sampled candidates; both
#: geometries get them alike (the other rows draw 1 random negative).
HRCF = {"root_alignment": True, "origin_weight": 0.1, "hard_negatives": True}
HRCF_CANDIDATES = 5
#: HICF's options at its published scale (marlin-codes/HICF, Amazon-CD's
#: ``run_cd.bash``): the nearest the positive of 70 sampled candidates as the
#: negative, and the hinge with adaptive margin 1 × w(u, i).
HICF = {"hard_negatives": True, "adaptive_margin": True}
HICF_CANDIDATES = 70
HICF_MARGIN = 1.0


def design(grid: Mapping[str, Sequence[Any]], base: Sequence[str], score: str = "score",
           kg: str = "kg_weight", *, with_score: bool = True, with_kg: bool = False) -> List[Dict[str, Any]]:
    r"""The configurations every tuned model of a suite gets: every combination
    of the three :obj:`base` factors of :obj:`grid` (two levels each: e.g. lr,
    L2, init scale), with the score (two levels) set by the parity of the
    three (a :math:`2^{4-1}` half fraction, defining relation
    :math:`I = ABCD`) and the KG strength by the parity of the second and
    third (:math:`E = BC`). So each model gets 8 configurations, the models
    without a score or a KG term the same 8 combinations of the base factors,
    and every pair of levels of two factors is tried."""
    a, b, c = base
    if any(len(grid[k]) != 2 for k in (*base, *([score] if with_score else []), *([kg] if with_kg else []))):
        raise ValueError(f"design() needs two levels per factor, got {dict(grid)}")
    out = []
    for i, j, k in itertools.product(range(2), repeat=3):
        config = {a: grid[a][i], b: grid[b][j], c: grid[c][k]}
        if with_score:
            config[score] = grid[score][(i + j + k) % 2]
        if with_kg:
            config[kg] = grid[kg][(j + k) % 2]
        out.append(config)
    return out


def split_summary(split: Split, protocol: str) -> str:
    train, val, test = split
    n_train = train[INTERACTS].edge_index.size(1)
    n_val = val[INTERACTS].edge_label_index.size(1)
    n_test = test[INTERACTS].edge_label_index.size(1)
    return (f"{train['user'].num_nodes:,} users, {train['item'].num_nodes:,} items, "
            f"{n_train + n_val + n_test:,} interactions ({n_train:,} train / {n_val:,} validation / "
            f"{n_test:,} test, {protocol})")


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_metrics(model: torch.nn.Module, test: HeteroData, seed: int, *, sampled: bool = True,
                 full_ks: Sequence[int] = (20,), num_negatives: int = 100, k: int = 10) -> Dict[str, float]:
    r"""Sampled HR@k/NDCG@k against :obj:`num_negatives` unseen items
    ([Chamberlain 2019] §8.1; keys ``sampled_hr@k``, ``sampled_ndcg@k``; the
    negatives depend on :obj:`seed` only, so every model of a seed sees the
    same ones) and full-ranking Recall/Precision/NDCG@K ([Hyper-Know]; keys
    ``recall@K`` ..., KGAT's NDCG labelled ``ndcg_kgat@K``)."""
    out: Dict[str, float] = {}
    if sampled:
        s = evaluate_sampled(model, test, generator=torch.Generator().manual_seed(10_000 + seed),
                             num_negatives=num_negatives, k=k)
        out.update({f"sampled_{name}": v for name, v in s.items()})
    if full_ks:
        full = evaluate_full(model, test, ks=tuple(full_ks))
        out.update({name: v for name, v in full.items() if name != "users"})
    return out


def hyperbolic_recommender(options: Mapping[str, Any], train: HeteroData, dim: int, seed: int,
                           **kwargs) -> HyperbolicRecommender:
    r""":class:`~hypgraph.nn.models.HyperbolicRecommender` from a model's
    options (``manifold``: a key of :data:`MANIFOLDS`, ``asymmetric``,
    ``score``, ``parameterization``; :obj:`kwargs` override them), seeded,
    with the §5.3 initialisation (radius ∝ 1/log of the item's training
    frequency)."""
    num_users, num_items = train["user"].num_nodes, train["item"].num_nodes
    torch.manual_seed(seed)
    kwargs = {"score_kind": options.get("score", "distance"),
              "parameterization": options.get("parameterization", "manifold"), **kwargs}
    model = HyperbolicRecommender(num_users, num_items, dim=dim, manifold=MANIFOLDS[options["manifold"]](),
                                  asymmetric=options.get("asymmetric", True), **kwargs)
    frequency = torch.bincount(train[INTERACTS].edge_index[1], minlength=num_items)
    model.reset_parameters(frequency, generator=torch.Generator().manual_seed(seed))
    return model


def train_trial(model: torch.nn.Module, split: Split, *, lr: float, seed: int, ctx: RunContext,
                max_epochs: int, evaluate: Callable[[torch.nn.Module], Dict[str, float]],
                optimizer: Callable = RiemannianAdam, **trainer_kwargs) -> Trial:
    r"""Train :obj:`model` on ``split[0]`` with early stopping on ``split[1]``
    (best state restored) and return the :class:`Trial`; ``evaluate(model)``
    gives the test metrics when the runner asks. ``ctx.epochs`` overrides
    :obj:`max_epochs`."""
    train, val, _ = split
    trainer = Trainer(model, optimizer(model.parameters(), lr=lr), max_epochs=ctx.epochs or max_epochs,
                      seed=seed, progress=ctx.progress, **trainer_kwargs)
    seconds = record_epoch_seconds(trainer)
    result = trainer.fit(train, val)
    validation = {k: v for k, v in result.best_metrics.items() if k not in ("epoch", "seconds", "loss")}
    # seconds of one validation ranking (with eval_every > 1 not every epoch has one)
    ranked = [r[VALIDATION_SECONDS] for r in result.records if trainer.metric in r]
    return Trial(validation=validation, evaluate=lambda: evaluate(model), epochs=len(result.records),
                 seconds_per_epoch=sum(seconds) / len(seconds), parameters=count_parameters(model),
                 extra={"best_epoch": result.best_epoch, "eval_every": trainer.eval_every,
                        "validation_seconds": sum(ranked) / max(len(ranked), 1)})


def popularity_trial(split: Split, seed: int, *, validation_ks: Sequence[int],
                     evaluate: Callable[[torch.nn.Module], Dict[str, float]]) -> Trial:
    r"""The popularity baseline: item counts of the training part for
    validation, of ``edge_index`` of the test part (train + validation, the
    history every model sees at test time) for the test."""
    train, val, test = split
    num_items = train["item"].num_nodes
    model = PopularityRecommender(num_items).fit(train[INTERACTS].edge_index)
    validation = evaluate_full(model, val, ks=tuple(validation_ks))

    def test_eval() -> Dict[str, float]:
        return evaluate(PopularityRecommender(num_items).fit(test[INTERACTS].edge_index))

    return Trial(validation=validation, evaluate=test_eval, epochs=0, parameters=0)


def read_dataset(dataset_class, root: Path, **kwargs) -> HeteroData:
    r"""Read a :mod:`hypgraph.data` dataset from the (read-only) data root; the
    processed cache lives in a temporary folder for as long as the read takes."""
    with tempfile.TemporaryDirectory(prefix="hypgraph-bench-") as processed:
        return dataset_class(root=root, processed_dir=processed, log=False, **kwargs)[0]


def recommender_trial(suite, split: Split, model, config: Mapping[str, Any], seed: int, ctx: RunContext, *,
                      loss: str, net: torch.nn.Module = None, optimizer: Callable = None,
                      **trainer_kwargs) -> Trial:
    r"""The :class:`Trial` of a popularity model (``model.name == 'popularity'``)
    or of :obj:`net` (default: :func:`hyperbolic_recommender` from the model's
    options) trained with ``suite.fixed``'s dim, epochs, batch size and
    patience, early-stopped on ``suite.selection_metric``; test metrics of
    both protocols. :obj:`optimizer` (``factory(params, lr=...)``) replaces
    :func:`optimizer_factory`'s, and :obj:`trainer_kwargs` (e.g. a published
    recipe's ``batch_size`` or ``reduction``) replace the suite's settings."""
    test = split[2]

    def evaluate(fitted):
        return test_metrics(fitted, test, seed)

    if model.name == "popularity":
        return popularity_trial(split, seed, validation_ks=(10, 20), evaluate=evaluate)
    f = suite.fixed
    if net is None:
        searched = {"score_kind": config["score"]} if "score" in config else {}
        if "init_scale" in config:
            searched["init_width"] = INIT_WIDTH * float(config["init_scale"])
        net = hyperbolic_recommender(model.options, split[0], dim=f["dim"], seed=seed, **searched)
    settings = dict(lr=config.get("lr"), max_epochs=f["max_epochs"], batch_size=f["batch_size"],
                    patience=f["patience"], metric=suite.selection_metric)
    settings.update(trainer_kwargs)
    return train_trial(net, split, seed=seed, ctx=ctx, evaluate=evaluate, loss=loss,
                       optimizer=optimizer or optimizer_factory(suite, model, config), **settings)


def optimizer_factory(suite, model, config: Mapping[str, Any]) -> Callable:
    r"""``factory(params, lr=...)`` of a model's optimiser: :class:`torch.optim.Adam`
    when ``model.options['optimizer'] == 'adam'`` (tangent tables, Euclidean
    tables with per-coordinate moments), else
    :class:`~hypgraph.optim.RiemannianAdam` with the model's
    :func:`euclidean_factor`; both with the configuration's ``weight_decay``
    (default 0: Adam's L2 on the stored rows, RiemannianAdam's geodesic pull
    toward the origin on a manifold table)."""
    kind = model.options.get("optimizer", "riemannian-adam")
    if kind not in OPTIMIZERS:
        raise ValueError(f"model {model.name!r}: optimizer must be one of {OPTIMIZERS}, got {kind!r}")
    weight_decay = float(config.get("weight_decay", 0.0))
    if kind == "adam":
        return functools.partial(torch.optim.Adam, weight_decay=weight_decay)
    return functools.partial(RiemannianAdam, weight_decay=weight_decay,
                             euclidean_factor=euclidean_factor(suite, model))


def euclidean_factor(suite, model) -> str:
    r"""How :class:`~hypgraph.optim.RiemannianAdam` treats a model's Euclidean
    tables: the model's option ``euclidean_factor``, else the suite's fixed
    setting, else ``'coordinate'`` (plain Adam). ``'point'`` gives Euclidean
    twins the optimiser of the hyperbolic tables (one second moment per point)."""
    return model.options.get("euclidean_factor", suite.fixed.get("euclidean_factor", "coordinate"))
