r"""Suite ``scale``: training and ranking cost as the graph grows.

Synthetic hyperbolic complex networks (:func:`hypgraph.data.make_synthetic`)
of 1x, 2x, 4x and 8x a base of 12,500 users, 2,500 items and 20
interactions per user (about 250k interactions; 8x is 100k users, 20k items,
2M interactions, the size of ``benchmarks/recommender_speed.py``). Per size
and seed:

- seconds per training epoch of the asymmetric hyperbolic recommender and of
  its Euclidean counterpart (RiemannianAdam, BPR, batch 1024, dimension 50),
  extrapolated from a fixed number of timed batches after a few warm-up
  ones (:func:`benchmarks.timing.epoch_seconds`), and the peak memory the run
  adds;
- full-ranking evaluation time (all items scored for 20% of the users, top-20
  metrics, training items removed) of both models and of a plain
  dot-product baseline (random user and item tables, one matmul per chunk).

No accuracy is measured and nothing is tuned (one configuration). Within each
seed the three models run one after the other, so a drifting machine load
hits them alike.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Dict, List

import torch

from hypgraph.data import make_synthetic
from hypgraph.data.hetero import INTERACTS
from hypgraph.data.history import InteractionCSR
from hypgraph.optim import RiemannianAdam

from ..report import summarise, value
from ..timing import epoch_seconds, eval_seconds
from . import DatasetSpec, Metric, ModelSpec, Suite, Trial, register
from .common import MANIFOLDS, count_parameters

__all__ = ["Scale", "SIZES", "BASE"]

SIZES = (1, 2, 4, 8)
#: users, items and mean interactions per user of the 1x graph (~250k interactions)
BASE = {"users": 12_500, "items": 2_500, "degree": 20.0}


def _loader(factor: int):
    def load(root: Path) -> Dict[str, Any]:
        users, items = BASE["users"] * factor, BASE["items"] * factor
        data = make_synthetic(num_users=users, num_items=items, avg_user_degree=BASE["degree"], seed=0)
        edge_index = data[INTERACTS].edge_index
        # ranking: 20% of the users, every 5th of their interactions held out
        g = torch.Generator().manual_seed(1)
        chosen = torch.zeros(users, dtype=torch.bool)
        chosen[torch.randperm(users, generator=g)[: users // 5]] = True
        position = torch.arange(edge_index.size(1))
        held = chosen[edge_index[0]] & (position % 5 == 0)
        return {"factor": factor, "users": users, "items": items, "edge_index": edge_index,
                "history": InteractionCSR(edge_index, users),
                "eval_train": edge_index[:, ~held], "eval_test": edge_index[:, held],
                "eval_history": InteractionCSR(edge_index[:, ~held], users)}
    return load


def _short(n: int) -> str:
    return f"{n / 1e6:.3g}M" if n >= 1e6 else f"{n / 1e3:.3g}k"


class Scale(Suite):
    name = "scale"
    description = ("Cost against size on synthetic graphs of 1x, 2x, 4x, 8x ~250k interactions: seconds per "
                   "training epoch (extrapolated from timed batches) and peak memory of the asymmetric "
                   "hyperbolic and Euclidean recommenders, their ratio, and full-ranking evaluation time "
                   "against a dot-product baseline. No files needed; --epochs is not used.")
    datasets = tuple(DatasetSpec(f"{f}x", _loader(f), f"{BASE['users'] * f:,} users, {BASE['items'] * f:,} items, "
                                 f"{BASE['degree']:.0f} interactions per user on average")
                     for f in SIZES)
    models = (
        ModelSpec("hyperbolic-asym", "hyperbolic", "euclidean-asym",
                  options={"manifold": "lorentz", "asymmetric": True}),
        ModelSpec("euclidean-asym", "euclidean", options={"manifold": "euclidean", "asymmetric": True}),
        ModelSpec("dot-product", "baseline", tuned=False),
    )
    grid: Dict[str, Any] = {}
    fixed = {"dim": 50, "batch_size": 1024, "lr": 0.01, "optimizer": "RiemannianAdam", "loss": "bpr",
             "timed_batches": 100, "warmup_batches": 5, "eval_users": "20% of users",
             "eval_chunk_size": 2048, "threads": "torch default"}
    metrics = (
        Metric("seconds_per_epoch", "s/epoch (extrapolated)", higher_is_better=False, fmt=".3g"),
        Metric("fit_peak_rss_delta_mib", "fit peak MiB", higher_is_better=False, fmt=".0f"),
        Metric("ranking_seconds", "full-ranking s", higher_is_better=False, fmt=".3g"),
        Metric("eval_peak_rss_delta_mib", "ranking peak MiB", higher_is_better=False, fmt=".0f"),
    )
    uses_epochs = False
    cost_columns = ("parameters",)
    bar_plots = False
    baseline_notes = False  # the dot product is a cost floor, not a competitor

    def describe(self, data) -> str:
        return (f"{data['users']:,} users, {data['items']:,} items, {data['edge_index'].size(1):,} interactions; "
                f"ranking {int(data['eval_test'][0].unique().numel()):,} users")

    def fit(self, data, dataset, model, config, seed, ctx) -> Trial:
        f, users, items = self.fixed, data["users"], data["items"]
        extra = {"interactions": int(data["edge_index"].size(1))}
        if model.geometry == "baseline":
            g = torch.Generator().manual_seed(seed)
            user_table, item_table = torch.randn(users, f["dim"], generator=g), torch.randn(items, f["dim"], generator=g)

            def dot(u):
                return user_table[u] @ item_table.t()

            return Trial({}, lambda: self._ranking(data, dot), parameters=0, extra=extra)
        from hypgraph.nn.models import HyperbolicRecommender

        torch.manual_seed(seed)
        recommender = HyperbolicRecommender(num_items=items, dim=f["dim"], manifold=MANIFOLDS[model.options["manifold"]](),
                                            asymmetric=True)
        opt = RiemannianAdam(recommender.parameters(), lr=f["lr"])
        seconds = epoch_seconds(recommender, opt, data["edge_index"], items, data["history"], f["batch_size"],
                                f["timed_batches"], seed=seed, warmup=f["warmup_batches"])
        history = data["eval_history"]

        def score(u):
            return recommender.rank_scores(recommender.user_points(u, history))

        def evaluate():
            with torch.no_grad():
                return self._ranking(data, score)

        return Trial({}, evaluate, seconds_per_epoch=seconds, parameters=count_parameters(recommender),
                     extra=extra)

    def _ranking(self, data, score) -> Dict[str, float]:
        return {"ranking_seconds": eval_seconds(score, data["eval_train"], data["eval_test"], data["users"],
                                                data["items"], chunk_size=self.fixed["eval_chunk_size"])}

    # --- report -----------------------------------------------------------------
    @staticmethod
    def _by_seed(runs: List[dict], dataset: str, model: str, key: str) -> Dict[int, float]:
        return {r["seed"]: value(r, key) for r in runs if r["dataset"] == dataset and r["model"] == model
                and value(r, key) is not None}

    def _ratio(self, runs, dataset, key, num, den) -> str:
        a, b = self._by_seed(runs, dataset, num, key), self._by_seed(runs, dataset, den, key)
        ratios = sorted(a[s] / b[s] for s in a if s in b and b[s])
        if not ratios:
            return "—"
        spread = f" ({ratios[0]:.2f}–{ratios[-1]:.2f})" if len(ratios) > 1 else ""
        return f"{statistics.median(ratios):.2f}{spread}"

    def report(self, results) -> str:
        runs = results["runs"]
        lines = ["## Cost against size", "",
                 "Ratios are medians over seeds of the per-seed ratio (range in brackets); within a seed the "
                 "models ran back to back.", "",
                 "| size | interactions | hyperbolic s/epoch | Euclidean s/epoch | hyperbolic / Euclidean "
                 "| hyperbolic fit MiB | Euclidean fit MiB | hyperbolic ranking s | dot-product ranking s "
                 "| hyperbolic / dot product |",
                 "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for ds in results["datasets"]:
            name = ds["name"]
            inter = next((r["extra"].get("interactions") for r in runs if r["dataset"] == name), None)

            def mean(model, key, spec):
                m, _, n = summarise(list(self._by_seed(runs, name, model, key).values()))
                return format(m, spec) if n else "—"

            lines.append(" | ".join([
                f"| {name}", f"{inter:,}" if inter else "—",
                mean("hyperbolic-asym", "seconds_per_epoch", ".3g"), mean("euclidean-asym", "seconds_per_epoch", ".3g"),
                self._ratio(runs, name, "seconds_per_epoch", "hyperbolic-asym", "euclidean-asym"),
                mean("hyperbolic-asym", "fit_peak_rss_delta_mib", ".0f"),
                mean("euclidean-asym", "fit_peak_rss_delta_mib", ".0f"),
                mean("hyperbolic-asym", "ranking_seconds", ".3g"), mean("dot-product", "ranking_seconds", ".3g"),
                self._ratio(runs, name, "ranking_seconds", "hyperbolic-asym", "dot-product")]) + " |")
        return "\n".join(lines)

    def plots(self, results, out_dir: Path) -> List[Path]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter

        from ..report import COLOURS

        runs = results["runs"]
        names = [d["name"] for d in results["datasets"]]
        if not names:
            return []
        size = {n: next(r["extra"]["interactions"] for r in runs if r["dataset"] == n) for n in names}
        panels = [m for m in self.metrics]
        fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
        for ax, metric in zip(axes[0], panels):
            for model in results["models"]:
                points = [(size[n], summarise(list(self._by_seed(runs, n, model["name"], metric.key).values())))
                          for n in names]
                points = [(x, s) for x, s in points if s[2]]
                if not points or (metric.key == "seconds_per_epoch" and model["geometry"] == "baseline"):
                    continue
                ax.errorbar([x for x, _ in points], [s[0] for _, s in points], yerr=[s[1] for _, s in points],
                            marker="o", capsize=3, label=model["name"], color=COLOURS[model["geometry"]],
                            linestyle="--" if model["geometry"] == "baseline" else "-")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xticks([size[n] for n in names], [_short(size[n]) for n in names])
            ax.set_xlabel("interactions")
            ax.set_title(metric.label, fontsize=9)
        handles = {}
        for ax in axes[0]:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, handle)
        axes[0][-1].legend(handles.values(), handles.keys(), fontsize=8)
        fig.suptitle(f"scale: cost against size (mean ± std over {len(results['seeds'])} seeds)", fontsize=10)
        fig.tight_layout()
        path = out_dir / "cost_vs_size.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]


register(Scale())
