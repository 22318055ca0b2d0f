r"""The suite interface and registry of ``python -m benchmarks``.

A suite is a subclass of :class:`Suite` in its own module, registered with
:func:`register` (built-in suites are listed in :data:`BUILTIN` and imported
on first use). It declares

- :attr:`Suite.datasets`: :class:`DatasetSpec` s whose ``load(root)`` returns
  whatever :meth:`Suite.fit` takes (e.g. a ``(train, val, test)`` split) or
  raises :class:`~hypgraph.data.RawFilesMissingError` naming the absent files (:func:`require`
  does that) — the runner then reports one line and skips the dataset;
- :attr:`Suite.models`: :class:`ModelSpec` s; every hyperbolic model names its
  Euclidean ``counterpart``, which the report tests it against;
- :attr:`Suite.grid` (searched) and :attr:`Suite.fixed` (not searched): the
  hyper-parameters, recorded in the results. Every tuned model gets the same
  grid, so hyperbolic and Euclidean models have the same search budget
  ([Chamberlain 2019] §6.2); the runner refuses a pair whose budgets differ;
- :attr:`Suite.metrics` (test metrics, with their direction) and
  :attr:`Suite.selection_metric` (a key of :attr:`Trial.validation`,
  maximised);
- :meth:`Suite.fit`: one ``(dataset, model, config, seed)`` job. It trains
  on training data, reports validation metrics, and returns a
  :class:`Trial` whose ``evaluate()`` computes the test metrics. The runner
  calls ``evaluate()`` only for the configuration chosen on validation, so
  test data cannot leak into the selection.

The runner does the rest: selection on the first seed, the chosen
configuration for every seed, timing and memory, ``results.json``,
``results.md`` and plots.
"""
from __future__ import annotations

import functools
import importlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from hypgraph.data import RawFilesMissingError

__all__ = ["Suite", "DatasetSpec", "ModelSpec", "Metric", "Trial", "RunContext",
           "require", "register", "unregister", "get", "available", "BUILTIN", "GEOMETRIES"]

#: Modules of ``benchmarks.suites`` that define the built-in suites.
BUILTIN = ("quick", "scale", "hyperknow", "chamberlain")
GEOMETRIES = ("hyperbolic", "euclidean", "baseline")

_REGISTRY: Dict[str, "Suite"] = {}


def require(root: Path, *relative: str) -> List[Path]:
    r"""The paths ``root / r`` for each of :obj:`relative`; raises
    :class:`~hypgraph.data.RawFilesMissingError` (the error of the dataset
    classes too) naming every absent one."""
    paths = [Path(root) / r for r in relative]
    missing = [r for r, p in zip(relative, paths) if not p.exists()]
    if missing:
        raise RawFilesMissingError(f"missing {', '.join(missing)}", root)
    return paths


@dataclass(frozen=True)
class Metric:
    r"""A reported quantity: ``key`` in the test metrics (or a field of a run
    record, e.g. ``peak_rss_delta_mib``), its table ``label`` and direction."""
    key: str
    label: str
    higher_is_better: bool = True
    fmt: str = ".4f"


@dataclass(frozen=True)
class DatasetSpec:
    r"""``load(data_root)`` returns the suite's data or raises :class:`~hypgraph.data.RawFilesMissingError`.

    ``select_from``: the name of another dataset of the suite whose
    validation chose each tuned model's configuration; this dataset then runs
    that configuration with every seed and searches nothing itself (a dataset
    too large for the search, every model alike). The runner needs the other
    dataset's selection first: in the same run, or merged from ``--out``."""
    name: str
    load: Callable[[Path], Any]
    description: str = ""
    select_from: Optional[str] = None


@dataclass(frozen=True)
class ModelSpec:
    r"""A model of a suite.

    Args:
        name: Row name in the tables.
        geometry: ``'hyperbolic'``, ``'euclidean'`` or ``'baseline'``.
        counterpart: For a hyperbolic model, the name of the Euclidean model
            it is compared with (same code, same grid, Euclidean geometry).
        tuned: ``False`` for models without hyper-parameters (e.g.
            popularity), which get one empty configuration.
        options: Fixed constructor options the suite's :meth:`Suite.fit`
            reads (e.g. ``{'asymmetric': True}``).
    """
    name: str
    geometry: str = "euclidean"
    counterpart: Optional[str] = None
    tuned: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"geometry must be one of {GEOMETRIES}, got {self.geometry!r}")
        if self.geometry == "hyperbolic" and not self.counterpart:
            raise ValueError(f"hyperbolic model {self.name!r} must name its Euclidean counterpart")


@dataclass
class Trial:
    r"""What one :meth:`Suite.fit` returns.

    Args:
        validation: Validation metrics (the selection reads
            :attr:`Suite.selection_metric` here); empty for untuned suites.
        evaluate: Computes the test metrics; called once, and only for the
            configuration chosen on validation.
        epochs: Epochs trained (0 when not meaningful).
        seconds_per_epoch: Training seconds per epoch, validation excluded.
        parameters: Trainable parameters.
        extra: Anything else worth recording (best epoch, fit seconds, ...).
    """
    validation: Dict[str, float]
    evaluate: Callable[[], Dict[str, float]]
    epochs: int = 0
    seconds_per_epoch: Optional[float] = None
    parameters: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    r"""Run-wide options handed to :meth:`Suite.fit`: ``epochs`` is the
    ``--epochs`` override (``None``: the suite's default)."""
    data_root: Path
    epochs: Optional[int] = None
    progress: bool = True


class Suite:
    r"""Base class of a benchmark suite (see the module docstring)."""
    name: str = ""
    description: str = ""
    datasets: Sequence[DatasetSpec] = ()
    models: Sequence[ModelSpec] = ()
    grid: Mapping[str, Sequence[Any]] = {}
    #: How :attr:`grid` applies when :meth:`configs` does not give every model all of it.
    grid_note: str = ""
    fixed: Mapping[str, Any] = {}
    metrics: Sequence[Metric] = ()
    selection_metric: str = ""
    default_seeds: int = 3
    #: Whether ``--epochs`` means anything to this suite.
    uses_epochs: bool = True
    #: Run fields shown after the metrics in each table.
    cost_columns: Sequence[str] = ("seconds_per_epoch", "epochs", "peak_rss_delta_mib", "parameters")
    #: Draw the default per-dataset bar chart of the metrics.
    bar_plots: bool = True
    #: Note metrics on which a baseline beats every hyperbolic model.
    baseline_notes: bool = True
    #: Euclidean models of :attr:`models` that the best hyperbolic model is
    #: also held against in the summary, the best of them by mean (issue 13:
    #: BPR with plain per-coordinate Adam and LightGCN), besides the best
    #: Euclidean model of all; empty: no such line.
    reference_models: Sequence[str] = ()

    def configs(self, model: ModelSpec) -> List[Dict[str, Any]]:
        """The grid's configurations for :obj:`model` (one empty one if untuned)."""
        if not model.tuned or not self.grid:
            return [{}]
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    def describe(self, data: Any) -> str:
        """One line about a loaded dataset for the report (sizes, split)."""
        return ""

    def headline_metric(self, dataset: str) -> str:
        """The key of the metric the report's summary ranks models by on
        :obj:`dataset` (default: the first of :attr:`metrics`)."""
        return self.metrics[0].key

    def fit(self, data: Any, dataset: DatasetSpec, model: ModelSpec, config: Dict[str, Any], seed: int,
            ctx: RunContext) -> Trial:
        """Run one job; see :class:`Trial`."""
        raise NotImplementedError

    def report(self, results: Dict[str, Any]) -> str:
        """Extra Markdown appended to ``results.md`` (e.g. a ratio table);
        :obj:`results` is what ``results.json`` holds."""
        return ""

    def plots(self, results: Dict[str, Any], out_dir: Path) -> List[Path]:
        """Extra PNGs written into :obj:`out_dir`; returns their paths."""
        return []

    def model(self, name: str) -> ModelSpec:
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(f"suite {self.name!r} has no model {name!r}")


def register(suite: Suite) -> Suite:
    r"""Add :obj:`suite` (an instance) to the registry under ``suite.name``."""
    if not suite.name:
        raise ValueError("a suite needs a name")
    for model in suite.models:
        if model.counterpart is not None:
            suite.model(model.counterpart)  # raises if absent
    _REGISTRY[suite.name] = suite
    return suite


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


@functools.lru_cache(maxsize=None)
def _load_builtin() -> None:
    for module in BUILTIN:  # each module registers its suite on import
        importlib.import_module(f"{__name__}.{module}")


def available() -> Dict[str, Suite]:
    """All registered suites by name, built-in ones included."""
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Suite:
    suites = available()
    if name not in suites:
        raise KeyError(f"unknown suite {name!r}; available: {', '.join(suites)}")
    return suites[name]
