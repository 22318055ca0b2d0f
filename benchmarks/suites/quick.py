r"""Suite ``quick``: synthetic data only, a few minutes on two cores.

The embedded synthetic hyperbolic complex network
(:func:`hypgraph.data.default_dataset`) and a more clustered draw of the same
generator (temperature 0.2, item exponent 3), each split leave-last-out by
time ([Chamberlain 2019] §6.3). Models: the asymmetric (Einstein-midpoint users,
§5.4) and symmetric :class:`~hypgraph.nn.models.HyperbolicRecommender` on the
hyperboloid, the same class with ``Euclidean()`` as their counterparts, and
popularity. As in the ``chamberlain`` suite, every table is trained with
RiemannianAdam and the Euclidean twins with one second moment per point
(``euclidean_factor='point'``, the optimiser of the hyperbolic tables), so
that a pair differs in geometry only; ``euclidean-asym-adam`` is the
asymmetric Euclidean model with plain per-coordinate Adam. Test metrics: sampled HR@10/NDCG@10 against 100 unseen items
(§8.1) and full-ranking Recall@20/NDCG@20. The learning rate is chosen on
validation full-ranking NDCG@10 (the early-stopping metric), the same two
values for every model. Patience is 10 epochs: models initialised by
popularity (§5.3) often dip on validation for the first epochs before they
improve, and a short patience would stop them there.
"""
from __future__ import annotations

from pathlib import Path

from hypgraph.data import default_dataset, leave_last_out, make_synthetic

from . import DatasetSpec, Metric, ModelSpec, Suite, register
from .common import recommender_trial, split_summary

__all__ = ["Quick"]

METRICS = (
    Metric("sampled_hr@10", "HR@10 (100 neg.)"),
    Metric("sampled_ndcg@10", "NDCG@10 (100 neg.)"),
    Metric("recall@20", "Recall@20"),
    Metric("ndcg@20", "NDCG@20"),
)


def _load_default(root: Path):
    return leave_last_out(default_dataset())


def _load_clustered(root: Path):
    return leave_last_out(make_synthetic(num_users=600, num_items=400, avg_user_degree=20.0, gamma=3.0,
                                         temperature=0.2, seed=0))


class Quick(Suite):
    name = "quick"
    description = ("Synthetic hyperbolic complex networks (hypgraph's embedded default and a clustered draw), "
                   "leave-last-out: "
                   "asymmetric (Einstein-midpoint users) and symmetric hyperbolic recommenders vs the same "
                   "models in Euclidean space, and popularity; sampled HR/NDCG@10 (100 negatives) and "
                   "full-ranking Recall/NDCG@20. No files needed; a few minutes on 2 cores.")
    datasets = (
        DatasetSpec("synthetic", _load_default,
                    "`default_dataset()`: users and items drawn in the hyperbolic disk (γ = 2.5, T = 0.5, "
                    "seed 0), timestamps drifting along the user's taste; heavy-tailed popularity."),
        DatasetSpec("synthetic-clustered", _load_clustered,
                    "`make_synthetic(600, 400, gamma=3.0, temperature=0.2, seed=0)`: the same generator "
                    "with lower temperature (stronger clustering, geometry matters more than popularity)."),
    )
    models = (
        ModelSpec("hyperbolic-asym", "hyperbolic", "euclidean-asym",
                  options={"manifold": "lorentz", "asymmetric": True}),
        ModelSpec("euclidean-asym", "euclidean", options={"manifold": "euclidean", "asymmetric": True}),
        ModelSpec("hyperbolic-sym", "hyperbolic", "euclidean-sym",
                  options={"manifold": "lorentz", "asymmetric": False}),
        ModelSpec("euclidean-sym", "euclidean", options={"manifold": "euclidean", "asymmetric": False}),
        ModelSpec("euclidean-asym-adam", "baseline",
                  options={"manifold": "euclidean", "asymmetric": True, "euclidean_factor": "coordinate"}),
        ModelSpec("popularity", "baseline", tuned=False),
    )
    grid = {"lr": (0.01, 0.05)}
    fixed = {"dim": 16, "batch_size": 512, "max_epochs": 500, "patience": 10, "loss": "bpr",
             "optimizer": "RiemannianAdam", "euclidean_factor": "point", "score": "distance", "init": "radius ∝ 1/log(item frequency) (§5.3)",
             "early_stopping": "validation full-ranking ndcg@10"}
    metrics = METRICS
    selection_metric = "ndcg@10"

    def describe(self, split) -> str:
        return split_summary(split, "leave-last-out")

    def fit(self, split, dataset, model, config, seed, ctx):
        return recommender_trial(self, split, model, config, seed, ctx, loss=self.fixed["loss"])


register(Quick())
