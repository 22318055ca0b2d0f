r"""Suite ``hyperknow``: the ablation of [Hyper-Know] Table 3 on its KG datasets.

Datasets (read from the data root, skipped when absent): Last.FM and
Book-Crossing in the KGCN/RippleNet format (``ratings_final.txt``, whose
label-0 rows are sampled negatives and are dropped by the reader, plus
``kg_final.txt``), and MovieLens 100K with its Freebase KG in RecBole atomic
files (ratings of 4 and 5 are the positives). Each is split per user 80/20
with 10% of the training part as validation (Hyper-Know, "Datasets").

Models: every row of Table 3 through one class,
:meth:`~hypgraph.nn.models.HyperKnow.ablation` — ``BPR+E`` / ``BPR+H``,
``BPR+Att+E`` / ``BPR+Att+H`` (fixed β), ``BPR+Avg+H`` and the full model
with per-item σ(β_v) learned by :class:`~hypgraph.train.BilevelTrainer`
(outer BPR on validation pairs), each hyperbolic row in two
parameterisations, each against its Euclidean row on the same optimiser
(``BPR+Avg+H`` and ``Hyper-Know`` against ``BPR+Att+E``, the Euclidean row
of the same structure):

- the row's name (``BPR+H``, ``Hyper-Know``, ...): points in the Poincaré
  ball, RiemannianAdam (one second moment per point), against the Euclidean
  row with the same optimiser (``euclidean_factor='point'``), so each pair
  differs in geometry only;
- ``<row>-tangent``: tangent vectors at the origin mapped by ``expmap0``,
  :class:`torch.optim.Adam` (one second moment per coordinate), against
  ``<Euclidean row>-adam`` with the same Adam;

plus LightGCN (Adam, the same λ on its batch rows), the hyperbolic graph
recommender of issue 14 (``graph+H-tangent``: HGCF's propagation — 3 hops
over the row-normalised :math:`A + I`, summed without hop 0 — on the
hyperboloid with tangent tables and Adam, the same λ on its batch rows,
against ``graph+E-adam``, the same model in flat space; ``graph+H-hrcf`` /
``graph+E-hrcf-adam`` add HRCF's root alignment and origin-aware penalty and
HICF's hard negatives; ``graph+H-hicf`` / ``graph+E-hicf-adam`` add HICF's
hard negatives at its published scale, the nearest of 70 candidates, and its
adaptive-margin hinge instead), the KG in the
forward pass (``KGNN+H-tangent``, :class:`~hypgraph.nn.models.HyperbolicKGNN`:
2 layers in which items take the midpoint of their users' and of Hyper-Know's
attention over their KG neighbours, in the Poincaré ball with tangent tables
and Adam, against ``KGNN+E-adam`` in flat space) and popularity.

Tuning (issue 13): every tuned model gets the same 8 configurations
(:func:`~benchmarks.suites.common.design`): every combination of the learning
rate, λ of Eq. 13 (the squared norm of the batch's rows) and the
initialisation scale (a multiple of the std of the tangent vectors at the
origin; of PyG's Xavier table for LightGCN), with the score (distance or
squared distance, for the Euclidean rows too) set by the parity of the three,
and for the rows with a KG term its strength ``kg_weight`` — the fixed β of
Eq. 8 for rows 3-5, the initial σ(β_v) of every item for the adaptive model
(Eq. 9) — by the parity of λ and the initialisation scale (0.01 or 0.1: on
Last.FM 0.5 was the worst strength for every KG row and 1.0 halved
Recall@20). Chosen on validation NDCG@20, with early stopping on it
(patience 20: validation climbs slowly and noisily for hundreds of epochs,
and a patience of 5 stopped runs far from their best). Test: full-ranking
Recall@20 and NDCG@20, standard and KGAT's variant (labelled), and seconds
per epoch (the Table 4 analogue).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from hypgraph.data import KGCN, RecBoleDataset, prepare, random_split
from hypgraph.nn.losses import l2_penalty
from hypgraph.manifolds import Euclidean, Lorentz, PoincareBall
from hypgraph.nn.models import HyperbolicGraphRecommender, HyperbolicKGNN, HyperKnow, LightGCNRecommender
from hypgraph.nn.models.hyperknow import ABLATIONS
from hypgraph.optim import RiemannianAdam
from hypgraph.train import BilevelTrainer, Trainer

from ..report import ALPHA, welch
from ..timing import record_epoch_seconds
from . import DatasetSpec, Metric, ModelSpec, Suite, Trial, register, require
from .common import (HICF, HICF_CANDIDATES, HICF_MARGIN, HRCF, HRCF_CANDIDATES, count_parameters, design, euclidean_factor, popularity_trial,
                     read_dataset, split_summary, test_metrics)

__all__ = ["HyperKnowSuite"]

METRICS = (
    Metric("recall@20", "Recall@20"),
    Metric("ndcg@20", "NDCG@20"),
    Metric("ndcg_kgat@20", "NDCG@20 (KGAT variant)"),
)


def _kgcn(name: str, folder: str, files):
    def load(root: Path):
        require(root, *(f"{folder}/{f}" for f in files))
        data = read_dataset(KGCN, root, name=name)
        return random_split(data, seed=0)
    return load


def _ml100k_kg(root: Path):
    require(root, "ml-100k-kg-recbole/ml-100k.inter", "ml-100k-kg-recbole/ml-100k.kg",
            "ml-100k-kg-recbole/ml-100k.link")
    data = read_dataset(RecBoleDataset, root, name="ml-100k")
    return random_split(prepare(data, min_rating=4), seed=0)


#: The rows without a KG term, each the beta = 0 reference of the KG rows of its geometry and optimiser
_NO_KG_ROWS = ("BPR+E", "BPR+H", "BPR+H-tangent", "BPR+E-adam")


def _no_kg_row(model: str) -> str:
    if model.endswith("-tangent"):
        return "BPR+H-tangent"
    if model.endswith("-adam"):
        return "BPR+E-adam"
    return "BPR+E" if model.endswith("+E") else "BPR+H"


def _metric(results, dataset: str, model: str, key: str) -> List[float]:
    return [r["metrics"][key] for r in results.get("runs", [])
            if r["dataset"] == dataset and r["model"] == model and key in r.get("metrics", {})]


#: HyperKnow's ``init_std`` at ``init_scale`` 1
INIT_STD = 0.01

_TANGENT = {"parameterization": "tangent", "optimizer": "adam"}
# the Euclidean twins of the RiemannianAdam rows: one second moment per point, as on the ball
_PER_POINT = {"euclidean_factor": "point"}

_ADAM = {"optimizer": "adam"}
#: the graph rows: tangent tables and Adam; their propagation is HGCF's
_GRAPH_PROPAGATION = {"num_layers": 3, "normalization": "row", "self_loops": True, "combine": "sum",
                      "include_input": False}
_KGNN = {**_ADAM, "parameterization": "tangent",
         "propagation": "2 layers: users <- midpoint of items, items <- midpoint of (midpoint of users, attention "
                        "midpoint of 8 sampled KG triples); symmetric normalisation, mean of hops 0..2; the same λ "
                        "on the batch rows; init uniform with std init_scale x 0.01"}
_GRAPH = {**_ADAM, "parameterization": "tangent",
          "propagation": "3 hops over the row-normalised A + I, summed without hop 0 (HGCF); the same λ on the "
                         "batch rows as LightGCN; init uniform with std init_scale x 0.01"}
#: the graph rows with HRCF's and HICF's options, in both geometries alike
#: (the suite's other rows draw 1 random negative); the same as chamberlain's
_HRCF = {**_GRAPH, "hrcf": "HRCF root alignment and origin-aware penalty 0.1; HICF hard negative: the nearest "
                           f"the positive of {HRCF_CANDIDATES} sampled candidates"}
#: HGCF's network with HICF's hard negatives at its published scale and its
#: adaptive margin (HICF, Yang et al. 2022), in both geometries alike; in
#: flat space the margin's weight is its k -> 0 limit, 1/2 (a fixed margin)
_HICF = {**_GRAPH, "hicf": f"HICF hard negative: the nearest the positive of {HICF_CANDIDATES} sampled candidates; "
                           f"hinge with adaptive margin {HICF_MARGIN:g} x w(u, i), mean over the batch"}


class _L2LightGCN(LightGCNRecommender):
    r"""LightGCN with :math:`\lambda\lVert\Theta_{batch}\rVert^2` on the base
    embeddings of the batch's users and items (He et al. 2020, Eq. 15): the
    regulariser of the Hyper-Know rows, so one λ grid means the same for both."""

    def __init__(self, *args, l2: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.l2 = l2

    def auxiliary_loss(self, users, pos_items, neg_items, *, generator=None):
        weight = self.lightgcn.embedding.weight
        if not self.l2:
            return weight.new_zeros(())
        return l2_penalty(weight[users], weight[self.num_users + pos_items], weight[self.num_users + neg_items],
                          weight=self.l2, batch_size=users.numel())


class HyperKnowSuite(Suite):
    name = "hyperknow"
    # issue 13's bar: BPR with plain Adam and LightGCN
    reference_models = ("BPR+E-adam", "lightgcn")
    description = ("Hyper-Know Table 3 on Last.FM, Book-Crossing (KGCN format) and MovieLens 100K with its "
                   "Freebase KG: BPR+E/H, BPR+Att+E/H, BPR+Avg+H and the adaptive bilevel model, one code "
                   "path; per-user 80/20 split, 10% validation; full-ranking Recall/NDCG@20 (standard and "
                   "KGAT's NDCG, labelled) and seconds per epoch.")
    datasets = (
        DatasetSpec("lastfm-kgcn", _kgcn("lastfm", "lastfm-kgcn",
                                         ["processed_mcclk/ratings_final.txt", "processed_mcclk/kg_final.txt",
                                          "item_index2entity_id.txt"]),
                    "Last.FM artists with the KGCN Freebase KG (label-1 rows of ratings_final)."),
        DatasetSpec("book-crossing-kgcn", _kgcn("book-crossing", "book-crossing-kgcn",
                                                ["ratings_final.txt", "kg_final.txt",
                                                 "item_index2entity_id.txt"]),
                    "Book-Crossing with the KGCN Satori KG (label-1 rows of ratings_final)."),
        DatasetSpec("ml-100k-kg", _ml100k_kg,
                    "MovieLens 100K, ratings >= 4, with the RecBole Freebase KG (.kg, .link)."),
    )
    models = (
        # points on the ball + RiemannianAdam, Euclidean twins with one second moment per point
        ModelSpec("BPR+H", "hyperbolic", "BPR+E", options={"ablation": "BPR+H"}),
        ModelSpec("BPR+E", "euclidean", options={"ablation": "BPR+E", **_PER_POINT}),
        # tangent tables + torch.optim.Adam, Euclidean twins with Adam (per coordinate)
        ModelSpec("BPR+H-tangent", "hyperbolic", "BPR+E-adam", options={"ablation": "BPR+H", **_TANGENT}),
        ModelSpec("BPR+E-adam", "euclidean", options={"ablation": "BPR+E", **_ADAM}),
        ModelSpec("BPR+Att+H", "hyperbolic", "BPR+Att+E", options={"ablation": "BPR+Att+H"}),
        ModelSpec("BPR+Att+E", "euclidean", options={"ablation": "BPR+Att+E", **_PER_POINT}),
        ModelSpec("BPR+Att+H-tangent", "hyperbolic", "BPR+Att+E-adam",
                  options={"ablation": "BPR+Att+H", **_TANGENT}),
        ModelSpec("BPR+Att+E-adam", "euclidean", options={"ablation": "BPR+Att+E", **_ADAM}),
        ModelSpec("BPR+Avg+H", "hyperbolic", "BPR+Att+E", options={"ablation": "BPR+Avg+H"}),
        ModelSpec("BPR+Avg+H-tangent", "hyperbolic", "BPR+Att+E-adam",
                  options={"ablation": "BPR+Avg+H", **_TANGENT}),
        ModelSpec("Hyper-Know", "hyperbolic", "BPR+Att+E", options={"ablation": "Hyper-Know"}),
        ModelSpec("Hyper-Know-tangent", "hyperbolic", "BPR+Att+E-adam",
                  options={"ablation": "Hyper-Know", **_TANGENT}),
        ModelSpec("lightgcn", "euclidean", options={"num_layers": 3, **_ADAM}),
        ModelSpec("graph+H-tangent", "hyperbolic", "graph+E-adam", options={"graph": "lorentz", **_GRAPH}),
        ModelSpec("graph+E-adam", "euclidean", options={"graph": "euclidean", **_GRAPH}),
        ModelSpec("graph+H-hrcf", "hyperbolic", "graph+E-hrcf-adam", options={"graph": "lorentz", **_HRCF}),
        ModelSpec("graph+E-hrcf-adam", "euclidean", options={"graph": "euclidean", **_HRCF}),
        ModelSpec("graph+H-hicf", "hyperbolic", "graph+E-hicf-adam", options={"graph": "lorentz", **_HICF}),
        ModelSpec("graph+E-hicf-adam", "euclidean", options={"graph": "euclidean", **_HICF}),
        ModelSpec("KGNN+H-tangent", "hyperbolic", "KGNN+E-adam", options={"kgnn": "poincare", **_KGNN}),
        ModelSpec("KGNN+E-adam", "euclidean", options={"kgnn": "euclidean", **_KGNN}),
        ModelSpec("popularity", "baseline", tuned=False),
    )
    grid = {"lr": (0.01, 0.03), "l2": (0.0, 1e-4), "init_scale": (1, 5), "score": ("distance", "sqdist"),
            "kg_weight": (0.01, 0.1)}
    grid_note = ("8 configurations per tuned model: every lr × l2 × init_scale, with score = distance where an "
                 "even number of the three is at its second level, else sqdist (a half fraction; LightGCN has "
                 "no score), and for the rows with a KG term kg_weight = 0.01 where l2 and init_scale are both "
                 "at their first or both at their second level, else 0.1")
    fixed = {"kg_weight": "KG rows only: fixed beta (Eq. 8), or initial sigma(beta_v) of the adaptive model",
             "l2": "lambda of Eq. 13 on the rows a batch reads (LightGCN: its base embeddings)",
             "init": "tangent vectors at the origin with std init_scale × 0.01; LightGCN: init_scale × Xavier",
             "dim": 32, "batch_size": 4096, "max_epochs": 1000, "patience": 20, "neighbour_samples": 8,
             "optimizer": "RiemannianAdam (rows; Euclidean rows: euclidean_factor=point), torch.optim.Adam "
                          "(*-tangent, *-adam, lightgcn); beta: Adam, same lr",
             "early_stopping": "validation full-ranking ndcg@20", "outer": "validation pairs"}
    metrics = METRICS
    selection_metric = "ndcg@20"

    def configs(self, model: ModelSpec):
        r"""The suite's 8 configurations (:func:`~benchmarks.suites.common.design`),
        with ``kg_weight`` for the rows with a KG term and without ``score``
        for LightGCN."""
        if not model.tuned:
            return [{}]
        if model.name == "lightgcn":
            return design(self.grid, ("lr", "l2", "init_scale"), with_score=False)
        if "graph" in model.options or "kgnn" in model.options:
            return design(self.grid, ("lr", "l2", "init_scale"))
        kg = ABLATIONS[model.options["ablation"]]["kg"] is not None
        return design(self.grid, ("lr", "l2", "init_scale"), with_kg=kg)

    def describe(self, split) -> str:
        return split_summary(split, "per-user 80/20, 10% of train for validation")

    def fit(self, split, dataset, model, config, seed, ctx):
        train, val, test = split

        def evaluate(fitted):
            return test_metrics(fitted, test, seed, sampled=False, full_ks=(20,))

        if model.name == "popularity":
            return popularity_trial(split, seed, validation_ks=(20,), evaluate=evaluate)
        f = self.fixed
        torch.manual_seed(seed)
        l2, scale = float(config.get("l2", 0.0)), float(config.get("init_scale", 1.0))
        if "kgnn" in model.options:
            net = HyperbolicKGNN.from_data(
                train, dim=f["dim"], manifold=PoincareBall() if model.options["kgnn"] == "poincare" else Euclidean(),
                num_neighbour_samples=f["neighbour_samples"], score_kind=config["score"], l2=l2,
                init_scale=math.sqrt(3) * INIT_STD * scale, parameterization="tangent")
        elif "graph" in model.options:
            # uniform(-s, s) has std s / sqrt(3): the rows' std is init_scale x INIT_STD, as every row's
            net = HyperbolicGraphRecommender(
                train["user"].num_nodes, train["item"].num_nodes, dim=f["dim"],
                manifold=Lorentz() if model.options["graph"] == "lorentz" else Euclidean(),
                score_kind=config["score"], l2=l2, init_scale=math.sqrt(3) * INIT_STD * scale,
                parameterization="tangent", **_GRAPH_PROPAGATION, **(HRCF if "hrcf" in model.options else {}),
                **(HICF if "hicf" in model.options else {}))
        elif model.name == "lightgcn":
            net = _L2LightGCN(train["user"].num_nodes, train["item"].num_nodes, dim=f["dim"],
                              num_layers=model.options["num_layers"], l2=l2)
            with torch.no_grad():  # PyG's Xavier-uniform table, scaled
                net.lightgcn.embedding.weight.mul_(scale)
        else:
            strength = {}
            if "kg_weight" in config:  # Eq. 8's beta, or Eq. 9's sigma(beta_v) at the start
                w = float(config["kg_weight"])
                adaptive = ABLATIONS[model.options["ablation"]].get("beta") == "adaptive"
                strength = {"beta_init": math.log(w / (1 - w))} if adaptive else {"beta": w}
            net = HyperKnow.ablation(model.options["ablation"], data=train, dim=f["dim"],
                                     num_neighbour_samples=f["neighbour_samples"], l2=l2,
                                     init_std=INIT_STD * scale, score_kind=config.get("score", "distance"),
                                     parameterization=model.options.get("parameterization", "manifold"),
                                     **strength)
        theta = [p for n, p in net.named_parameters() if n != "beta_logit"]
        common = dict(max_epochs=ctx.epochs or f["max_epochs"], patience=f["patience"], seed=seed,
                      batch_size=f["batch_size"], metric=self.selection_metric, progress=ctx.progress,
                      **({"num_negatives": HRCF_CANDIDATES} if "hrcf" in model.options else {}),
                      **({"num_negatives": HICF_CANDIDATES, "loss": "hinge", "margin": HICF_MARGIN}
                         if "hicf" in model.options else {}))
        if model.options.get("optimizer") == "adam":
            opt = torch.optim.Adam(theta, lr=config["lr"])
        else:
            opt = RiemannianAdam(theta, lr=config["lr"], euclidean_factor=euclidean_factor(self, model))
        if getattr(net, "beta", None) == "adaptive":
            trainer = BilevelTrainer(net, opt, torch.optim.Adam([net.beta_logit], lr=config["lr"]), **common)
        else:
            trainer = Trainer(net, opt, **common)
        seconds = record_epoch_seconds(trainer)
        result = trainer.fit(train, val)
        validation = {k: v for k, v in result.best_metrics.items() if k not in ("epoch", "seconds", "loss")}
        return Trial(validation=validation, evaluate=lambda: evaluate(net),
                     epochs=len(result.records), seconds_per_epoch=sum(seconds) / len(seconds),
                     parameters=count_parameters(net), extra={"best_epoch": result.best_epoch})

    # --- Fig. 2 analogue: the KG strength on validation -------------------
    def _sweep(self, results) -> Dict[str, Dict[str, Dict[float, float]]]:
        r"""dataset -> KG row -> kg_weight -> validation NDCG@20 of the
        selection seed, the best configuration with that weight."""
        out: Dict[str, Dict[str, Dict[float, float]]] = {}
        for record in results["selection"]:
            for cand in record["candidates"]:
                weight = cand["config"].get("kg_weight")
                value = cand.get("validation", {}).get(self.selection_metric)
                if weight is None or value is None:
                    continue
                row = out.setdefault(record["dataset"], {}).setdefault(record["model"], {})
                row[float(weight)] = max(value, row.get(float(weight), float("-inf")))
        return out

    def _no_kg(self, results) -> Dict[Tuple[str, str], float]:
        # the rows without a KG term at their chosen configuration: the beta = 0 reference
        out = {}
        for record in results["selection"]:
            if record["model"] in _NO_KG_ROWS:
                out[(record["dataset"], record["model"])] = max(
                    c.get("validation", {}).get(self.selection_metric, float("-inf")) for c in record["candidates"])
        return out

    def _versus_adam(self, results) -> List[str]:
        r"""Hyper-Know (either parameterisation) against BPR+E with plain Adam, per dataset."""
        lines = []
        for ds in results.get("datasets", []):
            for model in ("Hyper-Know", "Hyper-Know-tangent"):
                cells = []
                for key, label in (("recall@20", "Recall@20"), ("ndcg@20", "NDCG@20")):
                    mine, theirs = (_metric(results, ds["name"], m, key) for m in (model, "BPR+E-adam"))
                    if not mine or not theirs:
                        continue
                    _, p = welch(mine, theirs)
                    a, b = sum(mine) / len(mine), sum(theirs) / len(theirs)
                    cells.append(f"{label} {a:.4f} vs {b:.4f} ({'better' if a > b else 'worse'}"
                                 f"{', significantly' if p < ALPHA else ', not significantly'}, p = {p:.3g})")
                if cells:
                    lines.append(f"- {ds['name']}: {model} vs BPR+E-adam: " + "; ".join(cells))
        if not lines:
            return []
        return ["## Hyper-Know against BPR+E with plain Adam", "",
                "Welch t-tests (two-sided) over seeds of the full model against the Euclidean BPR model with "
                "per-coordinate Adam:", "", *lines, ""]

    def report(self, results) -> str:
        versus = self._versus_adam(results)
        sweep, no_kg = self._sweep(results), self._no_kg(results)
        if not sweep:
            return "\n".join(versus)
        weights = sorted({w for rows in sweep.values() for row in rows.values() for w in row})
        lines = ["## The strength of the KG term (Hyper-Know Fig. 2 analogue)", "",
                 f"Validation NDCG@20 (seed {results['seeds'][0]}, the best configuration with that weight) for "
                 "each `kg_weight`: the fixed β of rows 3-5, the initial σ(β_v) of the adaptive model. "
                 "`β = 0` is the row without a KG term in the same geometry and optimiser (BPR+E, BPR+H, "
                 "BPR+H-tangent or BPR+E-adam), at its best configuration.", ""]
        for dataset, rows in sweep.items():
            lines += [f"**{dataset}**", "",
                      "| model | β = 0 | " + " | ".join(f"{w:g}" for w in weights) + " |",
                      "|:---|---:|" + "---:|" * len(weights)]
            for model, row in rows.items():
                base = no_kg.get((dataset, _no_kg_row(model)))
                cells = [f"{row[w]:.4f}" if w in row else "—" for w in weights]
                lines.append(f"| {model} | {'—' if base is None else f'{base:.4f}'} | " + " | ".join(cells) + " |")
            lines.append("")
        return "\n".join(versus + lines)

    def plots(self, results, out_dir: Path) -> List[Path]:
        sweep, no_kg = self._sweep(results), self._no_kg(results)
        if not sweep:
            return []
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(sweep), figsize=(3.8 * len(sweep), 3.4), squeeze=False)
        for ax, (dataset, rows) in zip(axes[0], sweep.items()):
            for model, row in rows.items():
                ws = sorted(row)
                line, = ax.plot(ws, [row[w] for w in ws], marker="o", label=model)
                base = no_kg.get((dataset, _no_kg_row(model)))
                if base is not None and model.startswith("BPR+Att+"):
                    ax.axhline(base, color=line.get_color(), linestyle=":", linewidth=1)
            ax.set_xscale("log")
            ax.set_xlabel("kg_weight (β, or initial σ(β_v))")
            ax.set_ylabel(f"validation {self.selection_metric}")
            ax.set_title(dataset, fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.suptitle("KG strength on validation\n(dotted: the same geometry without the KG term)", fontsize=9)
        fig.tight_layout()
        path = out_dir / "kg_weight_sweep.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]


register(HyperKnowSuite())
