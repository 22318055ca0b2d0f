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
(outer BPR on validation pairs). Each hyperbolic row's counterpart is the
same row in Euclidean space (``BPR+Avg+H`` and ``Hyper-Know`` are compared
with ``BPR+Att+E``, the strongest Euclidean row of the same structure).
Every embedding table is trained with RiemannianAdam, the Euclidean
rows with one second moment per point like the hyperbolic tables
(``euclidean_factor='point'``), so each pair differs in geometry only;
``BPR+E-adam`` is BPR+E with plain per-coordinate Adam for reference.
The learning rate is chosen on validation NDCG@20 with the same grid for
every row; the rows with a KG term also choose its strength ``kg_weight``
from the same two values (0.01 and 0.1: on Last.FM 0.5 was the worst
strength for every KG row and 1.0 halved Recall@20) — the fixed β of Eq. 8 for rows 3-5, the initial
σ(β_v) of every item for the adaptive model (Eq. 9) — so each hyperbolic row
and its Euclidean counterpart get the same search budget (BPR+E/H: 2
configurations; KG rows: 4). Test: full-ranking Recall@20 and NDCG@20, standard and KGAT's
variant (labelled), and seconds per epoch (the Table 4 analogue).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from hypgraph.data import KGCN, RecBoleDataset, prepare, random_split
from hypgraph.nn.models import HyperKnow
from hypgraph.nn.models.hyperknow import ABLATIONS
from hypgraph.optim import RiemannianAdam
from hypgraph.train import BilevelTrainer, Trainer

from ..timing import record_epoch_seconds
from . import DatasetSpec, Metric, ModelSpec, Suite, Trial, register, require
from .common import count_parameters, euclidean_factor, read_dataset, split_summary, test_metrics

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


class HyperKnowSuite(Suite):
    name = "hyperknow"
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
        ModelSpec("BPR+H", "hyperbolic", "BPR+E", options={"ablation": "BPR+H"}),
        ModelSpec("BPR+E", "euclidean", options={"ablation": "BPR+E"}),
        ModelSpec("BPR+Att+H", "hyperbolic", "BPR+Att+E", options={"ablation": "BPR+Att+H"}),
        ModelSpec("BPR+Att+E", "euclidean", options={"ablation": "BPR+Att+E"}),
        ModelSpec("BPR+Avg+H", "hyperbolic", "BPR+Att+E", options={"ablation": "BPR+Avg+H"}),
        ModelSpec("Hyper-Know", "hyperbolic", "BPR+Att+E", options={"ablation": "Hyper-Know"}),
        # BPR+E with plain per-coordinate Adam, next to the geometry-only comparison
        ModelSpec("BPR+E-adam", "baseline", options={"ablation": "BPR+E", "euclidean_factor": "coordinate"}),
    )
    grid = {"lr": (0.005, 0.02), "kg_weight": (0.01, 0.1)}
    grid_note = ("lr for every row, kg_weight for the rows with a KG term only; each hyperbolic row gets "
                 "the configurations of its Euclidean counterpart")
    fixed = {"kg_weight": "KG rows only: fixed beta (Eq. 8), or initial sigma(beta_v) of the adaptive model",
             "dim": 32, "batch_size": 1024, "max_epochs": 25, "patience": 5, "neighbour_samples": 8,
             "optimizer": "RiemannianAdam (beta: Adam, same lr)", "euclidean_factor": "point",
             "early_stopping": "validation full-ranking ndcg@20", "outer": "validation pairs"}
    metrics = METRICS
    selection_metric = "ndcg@20"

    def configs(self, model: ModelSpec):
        r"""``lr`` for the rows without a KG term, ``lr`` × ``kg_weight`` for the others."""
        configs = super().configs(model)
        if ABLATIONS[model.options["ablation"]]["kg"] is None:
            return list({c["lr"]: {"lr": c["lr"]} for c in configs}.values())
        return configs

    def describe(self, split) -> str:
        return split_summary(split, "per-user 80/20, 10% of train for validation")

    def fit(self, split, dataset, model, config, seed, ctx):
        train, val, test = split
        f = self.fixed
        torch.manual_seed(seed)
        strength = {}
        if "kg_weight" in config:  # Eq. 8's beta, or Eq. 9's sigma(beta_v) at the start
            w = float(config["kg_weight"])
            adaptive = ABLATIONS[model.options["ablation"]].get("beta") == "adaptive"
            strength = {"beta_init": math.log(w / (1 - w))} if adaptive else {"beta": w}
        net = HyperKnow.ablation(model.options["ablation"], data=train, dim=f["dim"],
                                 num_neighbour_samples=f["neighbour_samples"], **strength)
        theta = [p for n, p in net.named_parameters() if n != "beta_logit"]
        common = dict(max_epochs=ctx.epochs or f["max_epochs"], patience=f["patience"], seed=seed,
                      batch_size=f["batch_size"], metric=self.selection_metric, progress=ctx.progress)
        opt = RiemannianAdam(theta, lr=config["lr"], euclidean_factor=euclidean_factor(self, model))
        if net.beta == "adaptive":
            trainer = BilevelTrainer(net, opt, torch.optim.Adam([net.beta_logit], lr=config["lr"]), **common)
        else:
            trainer = Trainer(net, opt, **common)
        seconds = record_epoch_seconds(trainer)
        result = trainer.fit(train, val)
        validation = {k: v for k, v in result.best_metrics.items() if k not in ("epoch", "seconds", "loss")}
        return Trial(validation=validation,
                     evaluate=lambda: test_metrics(net, test, seed, sampled=False, full_ks=(20,)),
                     epochs=len(result.history), seconds_per_epoch=sum(seconds) / len(seconds),
                     parameters=count_parameters(net), extra={"best_epoch": result.best_epoch})


    # --- Fig. 2 analogue: the KG strength on validation -------------------
    def _sweep(self, results) -> Dict[str, Dict[str, Dict[float, float]]]:
        r"""dataset -> KG row -> kg_weight -> validation NDCG@20 of the
        selection seed, the better of the two learning rates."""
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
        # the rows without a KG term at their chosen lr: the beta = 0 reference
        out = {}
        for record in results["selection"]:
            if record["model"] in ("BPR+E", "BPR+H"):
                out[(record["dataset"], record["model"])] = max(
                    c.get("validation", {}).get(self.selection_metric, float("-inf")) for c in record["candidates"])
        return out

    def report(self, results) -> str:
        sweep, no_kg = self._sweep(results), self._no_kg(results)
        if not sweep:
            return ""
        weights = sorted({w for rows in sweep.values() for row in rows.values() for w in row})
        lines = ["## The strength of the KG term (Hyper-Know Fig. 2 analogue)", "",
                 f"Validation NDCG@20 (seed {results['seeds'][0]}, the better learning rate) for each "
                 "`kg_weight`: the fixed β of rows 3-5, the initial σ(β_v) of the adaptive model. "
                 "`β = 0` is the row without a KG term in the same geometry (BPR+E or BPR+H).", ""]
        for dataset, rows in sweep.items():
            lines += [f"**{dataset}**", "",
                      "| model | β = 0 | " + " | ".join(f"{w:g}" for w in weights) + " |",
                      "|:---|---:|" + "---:|" * len(weights)]
            for model, row in rows.items():
                base = no_kg.get((dataset, "BPR+E" if model.endswith("+E") else "BPR+H"))
                cells = [f"{row[w]:.4f}" if w in row else "—" for w in weights]
                lines.append(f"| {model} | {'—' if base is None else f'{base:.4f}'} | " + " | ".join(cells) + " |")
            lines.append("")
        return "\n".join(lines)

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
                base = no_kg.get((dataset, "BPR+E" if model.endswith("+E") else "BPR+H"))
                if base is not None and model in ("BPR+Att+E", "BPR+Att+H"):
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
