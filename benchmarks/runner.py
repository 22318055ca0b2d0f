r"""The benchmark orchestration: run a suite, choose hyper-parameters on
validation, run the chosen configuration for every seed, and write
``results.json``, ``results.md`` and PNG plots (:func:`run_suite`). The
command line that calls it, ``python -m benchmarks``, is
:mod:`benchmarks.cli`.

Protocol, for every dataset of the suite and every model:

1. *Selection* (only where the grid has more than one configuration): every
   configuration is trained with the first seed and scored on validation by
   the suite's ``selection_metric``; the best is chosen. Hyperbolic models
   and their Euclidean counterparts get the same grid (the runner checks).
2. *Test*: the chosen configuration is trained with every seed (the
   selection run is reused for the first) and only then evaluated on test.
   Seeds 2.. run model after model within each seed, so slow drifts of the
   machine's load hit every model alike.

A dataset with ``select_from`` (:class:`~benchmarks.suites.DatasetSpec`)
skips step 1: each tuned model runs the configuration it chose on that other
dataset's validation, which must be in this run (earlier in the suite's
order) or in the merged ``results.json``; the run is refused before any work
otherwise.

A dataset whose files are missing is reported on one line and skipped.
``results.json`` and ``results.md`` are rewritten after every dataset, so an
interrupted run keeps the datasets it finished. With ``--merge`` the
(dataset, model) pairs of this run replace those in the existing
``results.json`` of ``--out`` and every other pair is kept: other datasets
whole, and on a dataset this run redoes the models it leaves out (``--models``),
so a model set can be completed run by run. Each dataset records the command,
commit, machine and seeds that produced it, the search settings (grid, fixed)
it ran with, and the parts merged into it with their models. A dataset kept
from an earlier run keeps its own settings; a dataset redone under settings
that changed since is replaced whole rather than mixed; a suite whose metrics
changed is refused.
"""
from __future__ import annotations

import datetime as _dt
import gc
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tqdm.auto import tqdm

from hypgraph.data import ENV_VAR, RawFilesMissingError, data_root as resolve_data_root

from . import report
from .journal import Journal, code_fingerprint, folder_lock
from .suites import ModelSpec, RunContext, Suite, Trial
from .timing import REPO, PeakMemory, git_commit, machine_description

__all__ = ["run_suite", "default_data_root", "default_out", "UsageError"]


class UsageError(ValueError):
    r"""A bad request (unknown dataset or model name): one line, exit status 2."""


def default_data_root(explicit: Optional[str] = None) -> Path:
    r"""``--data-root``, else ``$HYPGRAPH_DATA``, else ``../shared/data`` beside the repository."""
    return resolve_data_root(explicit or os.environ.get(ENV_VAR) or REPO.parent / "shared" / "data")


def default_out(suite: str) -> Path:
    return REPO / "benchmarks" / "results" / suite


def _check_budgets(suite: Suite, models: Sequence[ModelSpec]) -> None:
    names = {m.name for m in models}
    for m in models:
        if m.counterpart is None or m.counterpart not in names:
            continue
        mine, theirs = suite.configs(m), suite.configs(suite.model(m.counterpart))
        if len(mine) != len(theirs):
            raise ValueError(f"suite {suite.name!r}: {m.name} has {len(mine)} configurations but its "
                             f"counterpart {m.counterpart} has {len(theirs)}; the search budget must match")


def _jobs_per_dataset(suite: Suite, models: Sequence[ModelSpec], n_seeds: int, searched: bool = True) -> int:
    total = 0
    for m in models:
        c = len(suite.configs(m))
        total += c + n_seeds - 1 if c > 1 and searched else n_seeds
    return total


def _transferred_choice(suite: Suite, dataset, model: ModelSpec, selections: Sequence[dict]) -> dict:
    r"""The selection record of :obj:`model` on :obj:`dataset` taken from
    its ``select_from`` dataset's selection among :obj:`selections` (the
    latest); :class:`UsageError` when there is none or it is not in the
    grid."""
    source = [s for s in selections if s["dataset"] == dataset.select_from and s["model"] == model.name
              and "from" not in s]
    if not source:
        raise UsageError(f"{dataset.name} runs each tuned model with the configuration chosen on "
                         f"{dataset.select_from}'s validation, and {model.name} has no selection there: run "
                         f"{dataset.select_from} for it first (in this run, or merged from --out)")
    chosen = dict(source[-1]["chosen"])
    if chosen not in suite.configs(model):
        raise UsageError(f"{model.name}'s configuration chosen on {dataset.select_from}, {chosen}, is not in "
                         f"the suite's grid now: run {dataset.select_from} for it again first")
    return {"dataset": dataset.name, "model": model.name, "seed": source[-1].get("seed"),
            "metric": source[-1].get("metric"), "chosen": chosen, "from": dataset.select_from,
            "candidates": []}


@dataclass
class _Fitted:
    trial: Optional[Trial]
    memory: PeakMemory
    seconds: float
    error: Optional[str] = None  # a diverged run (non-finite loss): recorded, not fatal


def _fit(suite, data, dataset, model, config, seed, ctx) -> _Fitted:
    error, trial = None, None
    with PeakMemory() as memory:
        start = time.perf_counter()
        try:
            trial = suite.fit(data, dataset, model, dict(config), seed, ctx)
        except FloatingPointError as err:
            error = f"{type(err).__name__}: {err}"
        seconds = time.perf_counter() - start
    if error is None and not isinstance(trial, Trial):
        raise TypeError(f"{type(suite).__name__}.fit must return a Trial, got {type(trial).__name__}")
    return _Fitted(trial, memory, seconds, error)


def _finish(fitted: _Fitted, *, dataset, model: ModelSpec, config, seed, provenance) -> dict:
    record = {"dataset": dataset.name, "model": model.name, "geometry": model.geometry,
              "counterpart": model.counterpart, "config": dict(config), "seed": seed}
    if fitted.error is not None:
        return {**record, "failed": fitted.error, "metrics": {}, "validation": {},
                "fit_seconds": round(fitted.seconds, 4), **provenance}
    trial, fit_memory = fitted.trial, fitted.memory
    with PeakMemory() as memory:
        start = time.perf_counter()
        metrics = trial.evaluate()
        eval_seconds = time.perf_counter() - start
    return {
        **record,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "validation": {k: float(v) for k, v in trial.validation.items()},
        "seconds_per_epoch": trial.seconds_per_epoch, "epochs": trial.epochs,
        "parameters": trial.parameters,
        "fit_seconds": round(fitted.seconds, 4), "eval_seconds": round(eval_seconds, 4),
        "peak_rss_mib": round(max(fit_memory.peak_mib, memory.peak_mib), 1),
        "peak_rss_delta_mib": round(max(fit_memory.delta_mib, memory.delta_mib), 1),
        "fit_peak_rss_delta_mib": round(fit_memory.delta_mib, 1),
        "eval_peak_rss_delta_mib": round(memory.delta_mib, 1),
        "memory_method": fit_memory.method,
        "extra": trial.extra,
        **provenance,
    }


def _selection_value(suite: Suite, trial: Trial, model: ModelSpec, config) -> float:
    try:
        return float(trial.validation[suite.selection_metric])
    except KeyError:
        raise KeyError(f"suite {suite.name!r}: {model.name} {config} reported no validation "
                       f"{suite.selection_metric!r} (got {sorted(trial.validation)})") from None


def _select(suite, data, dataset, model, configs, seed, ctx, log, bar,
            journal: Journal) -> Tuple[dict, Optional[_Fitted], dict]:
    r"""Train every configuration with :obj:`seed`; the best on validation wins
    (the first among equals; a diverged one never). Test data is not touched.
    A configuration the :obj:`journal` holds is not trained again; when it
    wins, the returned fit is ``None`` (its run is in the journal, or is
    trained again by the caller)."""
    best, candidates = None, []
    for config in configs:
        bar.set_postfix_str(f"{dataset.name} {model.name} {config} (selection)")
        candidate = journal.get("candidate", dataset.name, model.name, config, seed)
        fitted = None
        if candidate is None:
            fitted = _fit(suite, data, dataset, model, config, seed, ctx)
            if fitted.error is None:
                _selection_value(suite, fitted.trial, model, config)  # the metric is there, or a clear error
                candidate = {"config": dict(config), "validation": fitted.trial.validation,
                             "seconds_per_epoch": fitted.trial.seconds_per_epoch, "epochs": fitted.trial.epochs}
            else:
                candidate = {"config": dict(config), "failed": fitted.error}
                tqdm.write(f"{dataset.name} {model.name} {config} seed {seed}: {fitted.error}", file=log)
            journal.add("candidate", dataset.name, model.name, config, seed, candidate)
        candidates.append(candidate)
        value = -math.inf if "failed" in candidate else float(candidate["validation"][suite.selection_metric])
        if best is None or value > best[0]:
            best = (value, config, fitted)
        bar.update(1)
    _, config, fitted = best
    record = {"dataset": dataset.name, "model": model.name, "seed": seed, "metric": suite.selection_metric,
              "chosen": dict(config), "candidates": candidates}
    return config, fitted, record


def _run_dataset(suite, data, dataset, models, seeds, ctx, results, provenance, log, bar,
                 journal: Journal, prior_selection: Sequence[dict] = ()) -> List[dict]:
    runs: List[dict] = []
    chosen: Dict[str, dict] = {}
    searched = dataset.select_from is None

    def run(model: ModelSpec, config: dict, seed: int, fitted: Optional[_Fitted] = None) -> dict:
        # a finished run: from the journal, else trained (unless given) and evaluated, then journalled
        record = journal.get("run", dataset.name, model.name, config, seed)
        if record is None:
            if fitted is None:
                bar.set_postfix_str(f"{dataset.name} {model.name} seed {seed}")
                fitted = _fit(suite, data, dataset, model, config, seed, ctx)
            if fitted.error is not None:
                tqdm.write(f"{dataset.name} {model.name} {config} seed {seed}: {fitted.error}", file=log)
            record = _finish(fitted, dataset=dataset, model=model, config=config, seed=seed,
                             provenance=provenance)
            journal.add("run", dataset.name, model.name, config, seed, record)
        return record

    for model in models:
        configs = suite.configs(model)
        if len(configs) == 1:
            chosen[model.name] = configs[0]
            continue
        if not searched:  # this run's selections first (the source ran before), else the merged ones
            record = _transferred_choice(suite, dataset, model, [*prior_selection, *results["selection"]])
            results["selection"].append(record)
            chosen[model.name] = record["chosen"]
            continue
        config, fitted, record = _select(suite, data, dataset, model, configs, seeds[0], ctx, log, bar, journal)
        results["selection"].append(record)
        chosen[model.name] = config
        # the selection run of the chosen configuration is its first seed's run (trained
        # again if it came from the journal without its test evaluation)
        runs.append(run(model, config, seeds[0], fitted))
    for seed in seeds:  # model after model within a seed: load drifts hit all alike
        for model in models:
            if seed == seeds[0] and len(suite.configs(model)) > 1 and searched:
                continue
            runs.append(run(model, chosen[model.name], seed))
            bar.update(1)
    return runs


def _run_datasets(suite, datasets, models, seeds, ctx, results, provenance, log, checkpoint,
                  journal: Journal, prior_selection: Sequence[dict] = ()) -> None:
    r"""Run every dataset, appending to :obj:`results`; ``checkpoint()`` after each.
    :obj:`prior_selection`: the merged ``results.json``'s selections, for
    datasets that take theirs from another."""
    jobs = {d.name: _jobs_per_dataset(suite, models, len(seeds), searched=d.select_from is None) for d in datasets}
    bar = tqdm(total=sum(jobs.values()), desc=suite.name, unit="job", disable=not ctx.progress,
               file=sys.stderr)
    for dataset in datasets:
        bar.set_postfix_str(f"{dataset.name}: loading")
        start = time.perf_counter()
        source_skipped = [s["reason"] for s in results["skipped"] if s["dataset"] == dataset.select_from]
        if source_skipped and not any(s["dataset"] == dataset.select_from for s in prior_selection):
            reason = f"its configurations are chosen on {dataset.select_from}, skipped ({source_skipped[0]})"
            tqdm.write(f"skip {suite.name}/{dataset.name}: {reason}", file=log)
            results["skipped"].append({"dataset": dataset.name, "reason": reason})
            bar.update(jobs[dataset.name])
            continue
        try:
            data = dataset.load(ctx.data_root)
        except RawFilesMissingError as err:
            tqdm.write(f"skip {suite.name}/{dataset.name}: {err}", file=log)
            results["skipped"].append({"dataset": dataset.name, "reason": str(err)})
            bar.update(jobs[dataset.name])
            continue
        record = {"name": dataset.name, "description": dataset.description, "summary": suite.describe(data),
                  "load_seconds": round(time.perf_counter() - start, 2), **provenance,
                  **{k: results[k] for k in _SETTINGS},
                  **({"select_from": dataset.select_from} if dataset.select_from else {}),
                  "started": results["started"], "seeds": list(seeds), "epochs": ctx.epochs,
                  "models": [m.name for m in models]}
        results["runs"] += _run_dataset(suite, data, dataset, models, seeds, ctx, results, provenance, log, bar,
                                        journal, prior_selection)
        record["wall_seconds"] = round(time.perf_counter() - start, 1)
        results["datasets"].append(record)
        del data
        checkpoint()
        journal.drop(dataset.name, [m.name for m in models])  # in results.json now
    bar.close()


#: what must agree between a results.json and a run merged into it
_MERGE_KEYS = ("selection_metric", "metrics")
#: the search settings, recorded per dataset: a dataset keeps those it ran with
_SETTINGS = ("grid", "grid_note", "fixed")


_PART_KEYS = ("command", "commit", "machine", "started", "seeds", "epochs", "wall_seconds")


def _same(a: Any, b: Any) -> bool:
    # through JSON (tuples become lists); a field an older runner did not write counts as empty
    return json.loads(json.dumps(a or None, default=list)) == json.loads(json.dumps(b or None, default=list))


def _settings_changes(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    # "fixed.validation: absent -> 'after every…'" for each differing setting, values shortened
    def show(value: Any) -> str:
        text = "absent" if value is None else json.dumps(value, default=list, ensure_ascii=False)
        return text if len(text) <= 40 else text[:39] + "…"

    changes = []
    for key in _SETTINGS:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += [f"{key}.{k}: {show(a.get(k))} -> {show(b.get(k))}" for k in sorted(set(a) | set(b))
                        if not _same(a.get(k), b.get(k))]
        elif not _same(a, b):
            changes.append(f"{key}: {show(a)} -> {show(b)}")
    return changes


def _merge_prior(results: Dict[str, Any], out_dir: Path, datasets: Sequence[str],
                 models: Sequence[str], replace: bool = True,
                 select_from: Optional[Dict[str, Optional[str]]] = None) -> List[str]:
    r"""Keep what ``out_dir/results.json`` holds that this run does not redo:
    its other datasets whole, with the search settings (grid, fixed) they ran
    with, and on a dataset this run redoes under the same settings, the runs
    and selections of the models this run leaves out (a model set can be
    completed run by run). Kept models of a redone dataset are listed under
    the dataset's ``parts``, each with the command, commit and seeds that
    produced it. A dataset redone under other settings is replaced whole,
    never mixed, and only with :obj:`replace` (otherwise a
    :class:`UsageError` names the changed settings); returns the names of
    those. :obj:`select_from` maps this run's datasets to the dataset their
    configurations come from (``None``: searched there), a setting too."""
    select_from = select_from or {}
    path = Path(out_dir) / "results.json"
    if not path.exists():
        return []
    prior = json.loads(path.read_text(encoding="utf-8"))
    if prior.get("suite") != results["suite"]:
        raise UsageError(f"cannot merge into {path}: it holds suite {prior.get('suite')!r}, "
                         f"not {results['suite']!r}")
    for key in _MERGE_KEYS:
        if not _same(prior.get(key), results[key]):
            raise UsageError(f"cannot merge into {path}: its {key} differs from the suite's now "
                             "(rerun every dataset instead of mixing settings)")
    # a file of an older runner has its settings once, for every dataset
    settings = {k: prior.get(k) for k in _SETTINGS}
    prior_datasets = [{**settings, **ds} for ds in prior["datasets"]]
    redo, mine = set(datasets), set(models)
    replaced = {ds["name"] for ds in prior_datasets
                if ds["name"] in redo and (not all(_same(ds.get(k), results[k]) for k in _SETTINGS)
                                           or ds.get("select_from") != select_from.get(ds["name"]))}
    if replaced and not replace:
        for ds in prior_datasets:
            if ds["name"] in replaced:
                runs = [r for r in prior.get("runs", []) if r["dataset"] == ds["name"]]
                changes = _settings_changes(ds, results)
                if ds.get("select_from") != select_from.get(ds["name"]):
                    changes.append(f"select_from: {ds.get('select_from') or 'absent'} -> "
                                   f"{select_from.get(ds['name']) or 'absent'}")
                raise UsageError(
                    f"cannot merge into {path}: {ds['name']} ran with other settings "
                    f"({'; '.join(changes)}), so its {len(runs)} runs of "
                    f"{len({r['model'] for r in runs})} models would be dropped; pass --replace to "
                    f"rerun it under the suite's settings")
    keep = lambda rec: rec["dataset"] not in redo or (  # noqa: E731
        rec["model"] not in mine and rec["dataset"] not in replaced)
    top = {k: prior.get(k) for k in _PART_KEYS}
    results["skipped"] += [r for r in prior.get("skipped", []) if r["dataset"] not in redo]
    for field in ("selection", "runs"):
        results[field] += [r for r in prior.get(field, []) if keep(r)]
    done = {d["name"]: d for d in results["datasets"]}
    for ds in prior_datasets:
        ds = {**top, **ds}
        if ds["name"] in replaced:
            continue
        if ds["name"] not in redo:
            results["datasets"].append(ds)
            continue
        kept = sorted({r["model"] for r in prior.get("runs", []) if r["dataset"] == ds["name"]} - mine)
        if not kept:
            continue
        if ds["name"] not in done:  # this run has not finished the dataset yet: show the prior one
            results["datasets"].append({**ds, "models": kept})
            continue
        parts = [{**{k: ds.get(k) for k in _PART_KEYS}, "models": ds.get("models") or kept},
                 *ds.get("parts", [])]
        done[ds["name"]]["parts"] = [{**part, "models": [m for m in part["models"] if m in kept]}
                                     for part in parts if set(part["models"]) & set(kept)]
    names = {m["name"] for m in results["models"]}
    results["models"] += [m for m in prior["models"] if m["name"] not in names]
    return sorted(replaced)


def run_suite(suite: Suite, *, data_root: Path, seeds: Sequence[int], out_dir: Path,
              epochs: Optional[int] = None, progress: bool = True,
              datasets: Optional[Sequence[str]] = None, models: Optional[Sequence[str]] = None,
              command: str = "", log=None, merge: bool = False, resume: bool = False,
              replace: bool = False) -> Dict[str, Any]:
    r"""Run :obj:`suite` and write its results into :obj:`out_dir`; returns
    what ``results.json`` holds. :obj:`datasets` / :obj:`models` restrict the
    run to those names; :obj:`merge` keeps the other (dataset, model) pairs
    of an existing ``results.json`` there (a dataset that ran there under
    other search settings is refused unless :obj:`replace`, which drops its
    runs). Every finished run is also written
    to the folder's journal (:mod:`benchmarks.journal`) at once; :obj:`resume`
    reuses the journalled runs of the same suite, settings, data root and
    code instead of training them again. Messages (skips) go to :obj:`log` (default: stderr)."""
    log = log or sys.stderr
    seeds = list(seeds)
    if not seeds:
        raise ValueError("need at least one seed")
    chosen_datasets = [d for d in suite.datasets if datasets is None or d.name in datasets]
    chosen_models = [m for m in suite.models if models is None or m.name in models]
    for kind, wanted, have in (("dataset", datasets, suite.datasets), ("model", models, suite.models)):
        unknown = sorted(set(wanted or ()) - {x.name for x in have})
        if unknown:
            raise UsageError(f"suite {suite.name!r} has no {kind} {', '.join(unknown)}; "
                             f"known: {', '.join(x.name for x in have)}")
    _check_budgets(suite, chosen_models)
    ctx = RunContext(data_root=Path(data_root), epochs=epochs, progress=progress)
    provenance = {"commit": git_commit(), "machine": machine_description(), "command": command}
    started = time.perf_counter()
    results: Dict[str, Any] = {
        "suite": suite.name, "description": suite.description, **provenance,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data_root": str(data_root), "seeds": seeds, "epochs": epochs,
        "grid": {k: list(v) for k, v in suite.grid.items()}, "grid_note": suite.grid_note,
        "fixed": dict(suite.fixed),
        "selection_metric": suite.selection_metric,
        "metrics": [{"key": m.key, "label": m.label, "higher_is_better": m.higher_is_better}
                    for m in suite.metrics],
        "models": [{"name": m.name, "geometry": m.geometry, "counterpart": m.counterpart,
                    "tuned": m.tuned, "options": dict(m.options)} for m in chosen_models],
        "datasets": [], "skipped": [], "selection": [], "runs": [],
    }
    journal = Journal(Path(out_dir), {k: results[k] for k in ("suite", "data_root", "epochs", *_SETTINGS,
                                                              *_MERGE_KEYS)} | {"code": code_fingerprint()},
                      resume=resume)
    mine = [d.name for d in chosen_datasets]
    transfers = {d.name: d.select_from for d in chosen_datasets}
    view = json.loads(json.dumps(results))
    # refuse an incompatible results file, or a borrowed selection that is not there, before any work
    replaced = _merge_prior(view, Path(out_dir), mine, [m.name for m in chosen_models], replace=replace,
                            select_from=transfers) if merge else []
    prior_selection = view["selection"]
    for i, dataset in enumerate(chosen_datasets):
        if dataset.select_from and dataset.select_from not in [d.name for d in chosen_datasets[:i]]:
            for model in chosen_models:
                if len(suite.configs(model)) > 1:
                    _transferred_choice(suite, dataset, model, prior_selection)
    for name in replaced:
        print(f"note: {name} in {out_dir} ran with other settings (grid, fixed or select_from); "
              "this run replaces all of its models", file=log)
    model_order = {m.name: i for i, m in enumerate(suite.models)}
    dataset_order = {d.name: i for i, d in enumerate(suite.datasets)}

    def checkpoint() -> Dict[str, Any]:
        # with merge, the folder's results are re-read now: other runs merging
        # other datasets or models into the same folder at the same time are
        # kept (the lock makes each read-merge-write whole)
        with folder_lock(Path(out_dir)):
            out = json.loads(json.dumps(results, default=list))
            if merge:
                _merge_prior(out, Path(out_dir), mine, [m.name for m in chosen_models], select_from=transfers)
            out["datasets"].sort(key=lambda d: dataset_order.get(d["name"], len(dataset_order)))
            out["models"].sort(key=lambda m: model_order.get(m["name"], len(model_order)))
            out["runs"].sort(key=lambda r: (dataset_order.get(r["dataset"], len(dataset_order)),
                                            model_order.get(r["model"], len(model_order)), r["seed"]))
            out["seconds"] = round(time.perf_counter() - started, 1)
            report.write(out, suite, Path(out_dir))
        return out

    # PeakMemory collects garbage before every measurement; with the long-lived
    # objects of torch & co. frozen out of the collector that takes milliseconds
    gc.collect()
    gc.freeze()
    try:
        _run_datasets(suite, chosen_datasets, chosen_models, seeds, ctx, results, provenance, log, checkpoint,
                      journal, prior_selection)
    finally:
        gc.unfreeze()
    if journal.reused:
        print(f"resumed: {journal.reused} runs or candidates taken from {journal.path}", file=log)
    return checkpoint()


def main(argv: Optional[Sequence[str]] = None) -> int:
    r"""Deprecated home of the command line: use :func:`benchmarks.cli.main`
    (``python -m benchmarks`` is unchanged). Kept for one release."""
    import warnings

    from .cli import main as cli_main

    warnings.warn("benchmarks.runner.main moved to benchmarks.cli.main", DeprecationWarning, stacklevel=2)
    return cli_main(argv)
