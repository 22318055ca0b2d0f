r"""One dataset's complex-network report: a row of Chamberlain et al. 2019,
Table 1, and more (degree fits, comparisons, the item projection).

The statistics run on plain index arrays (:func:`describe_arrays`);
:func:`describe` is the thin adapter from the project's
:class:`~torch_geometric.data.HeteroData` (:mod:`hypgraph.data` is imported
lazily, so the statistics need neither torch nor PyG). Reading files is
:mod:`analysis.load`'s job, rendering :mod:`analysis.render`'s.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .bipartite import BipartiteGraph, BipartiteStats, bipartite_stats
from .compare import Comparison, compare_alternatives
from .powerlaw_fit import SMALL_TAIL, PowerLawFit
from .projection import ProjectionStats, projection_stats
from .sampling import check_random_state

__all__ = ["FitSummary", "DatasetReport", "COLUMNS", "describe_arrays", "describe_graph", "describe"]


@dataclass(frozen=True)
class FitSummary:
    r"""The fitted attributes of a :class:`~analysis.PowerLawFit`."""

    alpha: float
    alpha_se: float
    xmin: float
    n_tail: int
    n: int
    ks: float
    p_ks: float
    p_bootstrap: float
    n_bootstrap: int
    small_tail: bool

    @classmethod
    def from_estimator(cls, fit: PowerLawFit) -> "FitSummary":
        return cls(fit.alpha_, fit.alpha_se_, fit.xmin_, fit.n_tail_, fit.n_, fit.ks_,
                   fit.p_value_, fit.p_value_bootstrap_, fit.n_bootstrap_, fit.small_tail_)


# (key, header, help) of the Table 1 row, in order. ``p_boot`` only with a bootstrap.
COLUMNS: Tuple[Tuple[str, str, str], ...] = (
    ("name", "name", "dataset: folder name, or file name without a generic stem"),
    ("n_user", "N_user", "users with at least one interaction (after the filters)"),
    ("n_item", "N_item", "items with at least one interaction (after the filters)"),
    ("density", "density", "interactions / (N_user x N_item)"),
    ("k_item", "k_item", "mean item degree: interactions / N_item"),
    ("gamma", "gamma", "maximum-likelihood power-law exponent of the item degrees, "
                       "unbounded (Clauset et al. 2009)"),
    ("xmin", "xmin", "smallest item degree of the power-law tail: the candidate with minimal "
                     "KS distance (see 'power-law fit' below)"),
    ("n_tail", "n_tail", "items with degree >= xmin"),
    ("small_tail", "small", f"'yes' when n_tail < {SMALL_TAIL}: gamma and KS rest on few items"),
    ("ks", "KS", "Kolmogorov-Smirnov distance between the tail and the fitted power law"),
    ("p_ks", "p(KS)", "KS-test p-value, scipy.stats.kstwo(n_tail).sf(KS), as in Chamberlain "
                      "2019 Table 1; ignores that gamma and xmin were fitted, so it is too large"),
    ("p_boot", "p(boot)", "semi-parametric bootstrap goodness-of-fit p-value (Clauset et al. "
                          "2009, 4.1), with --bootstrap N; p <= 0.1 rules the power law out"),
    ("interactions", "interactions", "distinct user-item interactions kept"),
    ("removed", "removed", "interactions removed by --min-rating, de-duplication and "
                           "--min-user-interactions"),
)


@dataclass
class DatasetReport:
    r"""Everything :func:`describe_graph` measured on one dataset.

    Args:
        name (str): Dataset name.
        source (str): Where it came from (a path, or ``"synthetic"``).
        basics (BipartiteStats): Chamberlain 2019, Table 1 counts.
        n_read (int): Interactions before the filters.
        filters (list of dict): The preparation log (``FilterReport`` fields
            plus its text).
        item_fit, user_fit (FitSummary, optional): Power-law fits of the item
            and user degrees (``None`` when the degrees admit no fit).
        comparisons (list of Comparison): The item-degree power law against
            the alternatives (empty when the tail is small, below
            :data:`~analysis.powerlaw_fit.SMALL_TAIL` values).
        projection (ProjectionStats, optional): Item projection statistics.
        notes (list of str): Warnings raised while measuring.
        seconds (dict): Wall time of each stage.
    """

    name: str
    source: str
    basics: BipartiteStats
    n_read: int
    filters: List[dict]
    item_fit: Optional[FitSummary]
    user_fit: Optional[FitSummary]
    comparisons: List[Comparison]
    projection: Optional[ProjectionStats]
    notes: List[str]
    seconds: Dict[str, float]
    item_degree: np.ndarray = field(repr=False, compare=False, default=None)
    user_degree: np.ndarray = field(repr=False, compare=False, default=None)
    item_estimator: Optional[PowerLawFit] = field(repr=False, compare=False, default=None)
    user_estimator: Optional[PowerLawFit] = field(repr=False, compare=False, default=None)

    @property
    def n_removed(self) -> int:
        return self.n_read - self.basics.n_interactions

    def row(self) -> dict:
        r"""The Table 1 row, keyed as :data:`COLUMNS` (``None`` for what was
        not computed)."""
        fit = self.item_fit
        b = self.basics
        return {
            "name": self.name, "n_user": b.n_users, "n_item": b.n_items, "density": b.density,
            "k_item": b.mean_item_degree,
            "gamma": fit and fit.alpha, "xmin": fit and fit.xmin, "n_tail": fit and fit.n_tail,
            "small_tail": fit and fit.small_tail,
            "ks": fit and fit.ks, "p_ks": fit and fit.p_ks,
            "p_boot": fit and (None if math.isnan(fit.p_bootstrap) else fit.p_bootstrap),
            "interactions": b.n_interactions, "removed": self.n_removed,
        }

    def as_dict(self) -> dict:
        r"""Everything, JSON-ready (NaN becomes ``None``)."""
        return _json_ready({
            "name": self.name, "source": self.source, "row": self.row(),
            "bipartite": self.basics.as_dict(), "interactions_read": self.n_read,
            "interactions_removed": self.n_removed, "filters": self.filters,
            "item_degree_fit": self.item_fit and asdict(self.item_fit),
            "user_degree_fit": self.user_fit and asdict(self.user_fit),
            "item_degree_comparisons": [c.as_dict() for c in self.comparisons],
            "item_projection": self.projection and self.projection.as_dict(),
            "notes": self.notes, "seconds": self.seconds,
        })


def _json_ready(x):
    if isinstance(x, dict):
        return {str(k): _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x



def describe_graph(
    graph: BipartiteGraph,
    *,
    name: str,
    source: str = "",
    n_read: Optional[int] = None,
    filters: Sequence[dict] = (),
    n_bootstrap: int = 0,
    random_state=None,
    compare: bool = True,
    projection: bool = True,
    fit_options: Optional[dict] = None,
    projection_options: Optional[dict] = None,
    progress: bool = False,
) -> DatasetReport:
    r"""Measure one bipartite graph.

    Args:
        graph (BipartiteGraph): The interactions.
        name (str): Dataset name for the report.
        source (str): Where the data came from. (default: ``""``)
        n_read (int, optional): Interactions before filtering (default: the
            graph's, i.e. nothing removed).
        filters (sequence of dict): The preparation log to carry along.
        n_bootstrap (int): Bootstrap repetitions for the item-degree fit
            (the Table 1 column). (default: ``0``)
        random_state: Seed of the bootstrap and of the projection sampling;
            independent streams are spawned from it. (default: :obj:`None`)
        compare (bool): Likelihood-ratio comparisons. (default: :obj:`True`)
        projection (bool): Item projection statistics. (default: :obj:`True`)
        fit_options (dict, optional): Extra :class:`PowerLawFit` parameters
            (e.g. ``max_candidates``).
        projection_options (dict, optional): Extra :func:`projection_stats`
            arguments.
        progress (bool): Progress bars on stderr (stages and bootstrap).

    Returns:
        DatasetReport
    """
    from tqdm.auto import tqdm

    streams = check_random_state(random_state).spawn(2)
    seconds: Dict[str, float] = {}
    notes: List[str] = []
    stages = ["basics", "item fit", "user fit"] + (["comparisons"] if compare else []) + \
        (["projection"] if projection else [])
    bar = tqdm(total=len(stages), desc=name, unit="stage", file=sys.stderr, disable=not progress,
               leave=False)

    def stage(label):
        bar.set_postfix_str(label)
        seconds[label] = time.perf_counter()

    def done(label):
        seconds[label] = round(time.perf_counter() - seconds[label], 4)
        bar.update()

    stage("basics")
    basics = bipartite_stats(graph)
    item_degree, user_degree = graph.item_degree, graph.user_degree
    done("basics")

    options = dict(fit_options or {})
    stage("item fit")
    item_est = _fit(item_degree, "item", notes, n_bootstrap=n_bootstrap, random_state=streams[0],
                    progress=progress, **options)
    done("item fit")
    stage("user fit")
    user_est = _fit(user_degree, "user", notes, **options)
    done("user fit")
    comparisons: List[Comparison] = []
    if compare:
        stage("comparisons")
        if item_est is not None and not item_est.small_tail_:
            comparisons = compare_alternatives(item_est, item_degree)
        elif item_est is not None:
            # Vuong's test is asymptotic; the fits run off on a handful of values.
            notes.append(f"item degrees: comparisons skipped, tail of {item_est.n_tail_} < "
                         f"{SMALL_TAIL} values")
        done("comparisons")
    proj = None
    if projection:
        stage("projection")
        proj = projection_stats(graph, random_state=streams[1], **(projection_options or {}))
        done("projection")
    bar.close()
    return DatasetReport(
        name=name, source=source, basics=basics,
        n_read=graph.n_interactions if n_read is None else int(n_read),
        filters=list(filters), notes=notes, seconds=seconds,
        item_fit=None if item_est is None else FitSummary.from_estimator(item_est),
        user_fit=None if user_est is None else FitSummary.from_estimator(user_est),
        comparisons=comparisons, projection=proj,
        item_degree=item_degree, user_degree=user_degree,
        item_estimator=item_est, user_estimator=user_est)


def _fit(degree: np.ndarray, side: str, notes: List[str], **params) -> Optional[PowerLawFit]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = PowerLawFit(discrete=True, **params).fit(degree)
        except ValueError as err:
            notes.append(f"{side} degrees: no power-law fit ({err})")
            est = None
    notes.extend(f"{side} degrees: {w.message}" for w in caught)
    return est


def describe_arrays(user, item, *, name: str = "data", **kwargs) -> DatasetReport:
    r"""Measure interactions given as index arrays (repeated pairs count
    once; users and items without interactions do not exist).

    Args:
        user (array_like): User index of each interaction.
        item (array_like): Item index of each interaction.
        name (str): Dataset name. (default: ``"data"``)
        **kwargs: See :func:`describe_graph`; ``n_read`` defaults to the
            number of rows given.

    Returns:
        DatasetReport
    """
    graph = BipartiteGraph.from_arrays(user, item)
    kwargs.setdefault("n_read", len(user))
    return describe_graph(graph, name=name, **kwargs)


def describe(data, *, name: str = "data", n_read: Optional[int] = None, **kwargs) -> DatasetReport:
    r"""Measure the interactions of a :class:`~torch_geometric.data.HeteroData`
    of the project's shape (``data['user', 'interacts', 'item'].edge_index``,
    row 0 users, row 1 items), carrying its ``filter_log`` along.

    Args:
        data (HeteroData): The dataset (prepared or not).
        name (str): Dataset name. (default: ``"data"``)
        n_read (int, optional): Interactions before the filters (default: the
            edges present).
        **kwargs: See :func:`describe_graph`.

    Returns:
        DatasetReport

    Raises:
        ValueError: If :obj:`data` has no interactions of that shape.
    """
    from hypgraph.data import check_interactions

    edge_index = check_interactions(data).edge_index
    user, item = edge_index[0].numpy(), edge_index[1].numpy()
    filters = [dict(asdict(r), text=str(r)) for r in (getattr(data, "filter_log", None) or [])]
    kwargs.setdefault("filters", filters)
    return describe_arrays(user, item, name=name,
                           n_read=user.size if n_read is None else n_read, **kwargs)
