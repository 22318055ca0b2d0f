r"""``results.json``, ``results.md`` and plots of a suite run.

Each table shows, per model, every metric as mean ± sample standard
deviation over seeds; a hyperbolic model's cell carries ``*`` when Welch's
t-test (:func:`scipy.stats.ttest_ind` with ``equal_var=False``, two-sided)
against its Euclidean counterpart gives p < 0.05. Under each table a note
names every metric on which a hyperbolic model does *not* beat its
counterpart (worse on average, or better but not significantly).
"""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["welch", "summarise", "compare", "headline", "markdown", "plot_dataset", "write", "value",
           "json_default", "ALPHA"]

ALPHA = 0.05

COLUMN_LABELS = {
    "seconds_per_epoch": ("s/epoch", ".3g"),
    "epochs": ("epochs", ".1f"),
    "peak_rss_delta_mib": ("peak MiB", ".0f"),
    "peak_rss_mib": ("RSS MiB", ".0f"),
    "parameters": ("parameters", ",.0f"),
    "fit_seconds": ("fit s", ".3g"),
}


def welch(a: Sequence[float], b: Sequence[float]) -> Tuple[float, float]:
    r"""Welch's t statistic and two-sided p-value of samples :obj:`a` and
    :obj:`b` (:func:`scipy.stats.ttest_ind`, ``equal_var=False``); ``nan``
    when either has fewer than two values or the test is undefined (both
    constant)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        return math.nan, math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def value(run: dict, key: str) -> Optional[float]:
    """A metric of a run record, else a field of it (e.g. ``seconds_per_epoch``)."""
    v = run["metrics"].get(key, run.get(key))
    return None if v is None else float(v)


def _values(runs: List[dict], dataset: str, model: str, key: str) -> List[float]:
    out = [value(r, key) for r in runs if r["dataset"] == dataset and r["model"] == model]
    return [v for v in out if v is not None and math.isfinite(v)]


def summarise(values: Sequence[float]) -> Tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count."""
    if not values:
        return math.nan, math.nan, 0
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0, int(arr.size)


def compare(results: Dict[str, Any], metrics: Sequence) -> List[dict]:
    r"""One record per (dataset, hyperbolic model, metric): both means, Welch's
    t and p, whether p < :data:`ALPHA`, and whether the hyperbolic model is
    better on average (in the metric's direction)."""
    runs, out = results["runs"], []
    for ds in results["datasets"]:
        for model in results["models"]:
            twin = model["counterpart"]
            if model["geometry"] != "hyperbolic" or twin is None:
                continue
            for metric in metrics:
                hyp = _values(runs, ds["name"], model["name"], metric.key)
                euc = _values(runs, ds["name"], twin, metric.key)
                if not hyp or not euc:
                    continue
                t, p = welch(hyp, euc)
                mh, me = float(np.mean(hyp)), float(np.mean(euc))
                better = mh > me if metric.higher_is_better else mh < me
                out.append({"dataset": ds["name"], "model": model["name"], "counterpart": twin,
                            "metric": metric.key, "hyperbolic_mean": mh, "euclidean_mean": me,
                            "t": t, "p": p, "significant": bool(p < ALPHA), "better": better})
    return out


def _fmt(x: float, spec: str) -> str:
    return "—" if x is None or not math.isfinite(x) else format(x, spec)


def _cell(values: Sequence[float], spec: str, expected: int = 0) -> str:
    mean, std, n = summarise(values)
    if n == 0:
        return "—"
    text = _fmt(mean, spec) if n == 1 else f"{_fmt(mean, spec)} ± {_fmt(std, spec)}"
    return text + (f" (n={n})" if n < expected else "")


def _config(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items()) or "—"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "dataset"


def _dataset(results: Dict[str, Any], dataset: str) -> dict:
    return next((d for d in results["datasets"] if d["name"] == dataset), {})


def _seeds(results: Dict[str, Any], dataset: str, model: Optional[str] = None) -> List[int]:
    r"""The seeds :obj:`dataset` (and :obj:`model`, where the dataset was
    merged from parts with different models) ran with; a merged results file
    may differ per dataset and part."""
    record = _dataset(results, dataset)
    for part in (record, *record.get("parts", [])):
        if model is not None and model in (part.get("models") or ()):
            return list(part.get("seeds") or results["seeds"])
    return list(record.get("seeds") or results["seeds"])


def _provenance(results: Dict[str, Any]) -> List[Tuple[str, str]]:
    r"""The distinct (command, commit) pairs behind the datasets of :obj:`results`."""
    pairs = [(part.get("command", results["command"]), part.get("commit", results["commit"]))
             for d in results["datasets"] for part in (d, *d.get("parts", []))]
    pairs = pairs or [(results["command"], results["commit"])]
    return list(dict.fromkeys(pairs))


def _table(results: Dict[str, Any], suite, dataset: str, comparisons: List[dict]) -> List[str]:
    runs = results["runs"]
    metric_cols = [(m.key, m.label, m.fmt) for m in suite.metrics]
    cost_cols = [(c, *COLUMN_LABELS.get(c, (c, ".3g"))) for c in suite.cost_columns]
    head = ["model", "vs"] + [label for _, label, _ in metric_cols] + [label for _, label, _ in cost_cols] + ["config"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join([":---", ":---"] + ["---:"] * (len(metric_cols) + len(cost_cols)) + [":---"]) + "|"]
    marks = {(c["model"], c["metric"]) for c in comparisons if c["dataset"] == dataset and c["significant"]}
    for model in results["models"]:
        mine = [r for r in runs if r["dataset"] == dataset and r["model"] == model["name"]]
        if not mine:
            continue
        cells = [model["name"], model["counterpart"] or ""]
        for key, _, spec in metric_cols:
            cell = _cell(_values(runs, dataset, model["name"], key), spec, expected=len(_seeds(results, dataset, model["name"])))
            cells.append(cell + ("\\*" if (model["name"], key) in marks else ""))
        for key, _, spec in cost_cols:
            values = _values(runs, dataset, model["name"], key)
            if key == "parameters":  # the same for every seed
                values = sorted(set(values))[-1:]
            cells.append(_cell(values, spec))
        configs = {json.dumps(r["config"], sort_keys=True) for r in mine}
        cells.append("; ".join(_config(json.loads(c)) for c in sorted(configs)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _notes(suite, dataset: str, comparisons: List[dict]) -> List[str]:
    labels = {m.key: (m.label, m.fmt) for m in suite.metrics}
    mine = [c for c in comparisons if c["dataset"] == dataset]
    if not mine:
        return []
    lines = []
    pairs = sorted({(c["model"], c["counterpart"]) for c in mine}, key=lambda p: [c["model"] for c in mine].index(p[0]))
    for model, twin in pairs:
        rows = [c for c in mine if c["model"] == model]
        pvals = ", ".join(f"{labels[c['metric']][0]} p = {_fmt(c['p'], '.3g')}" for c in rows)
        lines.append(f"- {model} vs {twin}: {pvals}")
    failures = []
    for model, twin in pairs:
        bad = [c for c in mine if c["model"] == model and not (c["better"] and c["significant"])]
        if not bad:
            continue
        parts = []
        for c in bad:
            label, spec = labels[c["metric"]]
            if c["better"]:
                how = "better on average but not significantly"
            elif c["hyperbolic_mean"] == c["euclidean_mean"]:
                how = "equal on average"
            else:
                how = "worse on average"
            parts.append(f"{label} ({_fmt(c['hyperbolic_mean'], spec)} vs {_fmt(c['euclidean_mean'], spec)}, "
                         f"{how}, p = {_fmt(c['p'], '.3g')})")
        failures.append(f"**Note: {model} does not beat {twin}** on " + "; ".join(parts) + ".")
    return ["Welch t-tests (two-sided) of each hyperbolic model against its Euclidean counterpart "
            f"(`vs`) over seeds; `*` marks p < {ALPHA}:", "", *lines, "", *failures]


def _unfinished_note(results: Dict[str, Any], dataset: str) -> List[str]:
    r"""Say so under a dataset's table when runs stopped at their last epoch
    (best validation epoch = last epoch, validation still improving), with the
    epoch cap they ran under: their cells are lower bounds, not converged
    results."""
    runs = [r for r in results["runs"] if r["dataset"] == dataset and not r.get("failed") and r.get("epochs")]
    stopped = [r for r in runs if (r.get("extra") or {}).get("best_epoch") == r["epochs"]]
    if not stopped:
        return []
    ds = _dataset(results, dataset)
    caps = sorted({r["epochs"] for r in stopped})
    cap = ds.get("epochs") or results.get("epochs") or (ds.get("fixed") or results.get("fixed") or {}).get("max_epochs")
    models = sorted({r["model"] for r in stopped})
    return [f"**Unfinished:** {len(stopped)} of {len(runs)} runs on {dataset} stopped at their last epoch "
            f"({', '.join(map(str, caps))}) with validation still improving, under an epoch cap of {cap} "
            f"set when these results were run (before the suites trained to convergence); their cells "
            f"understate what the models reach and they have not been rerun. Models: {', '.join(models)}."]


def _baseline_notes(results: Dict[str, Any], suite, dataset: str) -> List[str]:
    r"""Metrics on which a baseline (e.g. popularity) beats every hyperbolic
    model on average: [Chamberlain 2019] §5.1's first bar to clear."""
    runs, out = results["runs"], []
    hyperbolic = [m["name"] for m in results["models"] if m["geometry"] == "hyperbolic"]
    for base in (m["name"] for m in results["models"] if m["geometry"] == "baseline"):
        beaten = []
        for metric in suite.metrics:
            mine = _values(runs, dataset, base, metric.key)
            theirs = [_values(runs, dataset, h, metric.key) for h in hyperbolic]
            if not mine or not theirs or not all(theirs):
                continue
            sign = 1 if metric.higher_is_better else -1
            if all(sign * np.mean(mine) > sign * np.mean(t) for t in theirs):
                beaten.append(metric.label)
        if beaten:
            out.append(f"**Note: the baseline {base} beats every hyperbolic model** on average on "
                       + ", ".join(beaten) + ".")
    return out


def headline(results: Dict[str, Any], suite, dataset: str) -> Optional[dict]:
    r"""The best model on :obj:`dataset` by the suite's headline metric (mean
    over seeds on test), and the best hyperbolic model against the best
    Euclidean one (Welch's t-test); ``None`` without runs."""
    key = suite.headline_metric(dataset)
    metric = next(m for m in suite.metrics if m.key == key)
    sign = 1 if metric.higher_is_better else -1
    values = {m["name"]: _values(results["runs"], dataset, m["name"], key) for m in results["models"]}
    values = {name: v for name, v in values.items() if v}
    if not values:
        return None
    geometry = {m["name"]: m["geometry"] for m in results["models"]}
    best = lambda names: max(names, key=lambda n: sign * float(np.mean(values[n])))  # noqa: E731
    out = {"dataset": dataset, "metric": key, "label": metric.label, "fmt": metric.fmt, "best": best(values),
           "mean": {n: float(np.mean(v)) for n, v in values.items()},
           "std": {n: summarise(v)[1] for n, v in values.items()}}
    hyperbolic = [n for n in values if geometry[n] == "hyperbolic"]
    euclidean = [n for n in values if geometry[n] == "euclidean"]
    reference = [n for n in getattr(suite, "reference_models", ()) if n in values]

    def versus(h: str, e: str) -> dict:
        t, p = welch(values[h], values[e])
        return dict(t=t, p=p, better=sign * out["mean"][h] > sign * out["mean"][e], significant=bool(p < ALPHA))

    if hyperbolic and euclidean:
        h, e = best(hyperbolic), best(euclidean)
        out.update(hyperbolic=h, euclidean=e, **versus(h, e))
        if reference:
            r = best(reference)
            out["reference"] = {"models": reference, "best": r, **versus(h, r)}
    return out


def _verdict(better: bool, significant: bool) -> str:
    if significant:
        return "significantly better than" if better else "significantly worse than"
    return "better on average than, but not significantly," if better else "worse on average than, but not significantly,"


def _headline_line(h: dict) -> str:
    f = lambda n: f"{_fmt(h['mean'][n], h['fmt'])} ± {_fmt(h['std'][n], h['fmt'])}"  # noqa: E731
    text = f"**{h['dataset']}** ({h['label']}): best model **{h['best']}** ({f(h['best'])})"
    if "hyperbolic" not in h:
        return text + "."
    change = lambda e: h["mean"][h["hyperbolic"]] / h["mean"][e] - 1 if h["mean"][e] else math.nan  # noqa: E731
    text += (f"; the best hyperbolic model, {h['hyperbolic']} ({f(h['hyperbolic'])}), is "
             f"{_verdict(h['better'], h['significant'])} the best Euclidean model, {h['euclidean']} "
             f"({f(h['euclidean'])}): {change(h['euclidean']):+.1%}, Welch p = {_fmt(h['p'], '.3g')}.")
    ref = h.get("reference")
    if ref:
        text += (f" Against the reference baselines ({', '.join(ref['models'])}) it is "
                 f"{_verdict(ref['better'], ref['significant'])} the best of them, {ref['best']} "
                 f"({f(ref['best'])}): {change(ref['best']):+.1%}, Welch p = {_fmt(ref['p'], '.3g')}.")
    return text


def _settings(source: Dict[str, Any]) -> Tuple[str, str, str]:
    r"""(grid note, grid, fixed) of a results file or of one of its datasets, as text."""
    grid = ", ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in (source.get("grid") or {}).items()) or "none"
    fixed = ", ".join(f"{k}={v}" for k, v in (source.get("fixed") or {}).items()) or "—"
    return source.get("grid_note") or "the same for every tuned model", grid, fixed


def markdown(results: Dict[str, Any], suite, plots: Dict[str, str]) -> str:
    r"""The ``results.md`` text."""
    comparisons = compare(results, suite.metrics)
    note, grid, fixed = _settings(results)
    # datasets kept from earlier runs may have run with other settings
    per_dataset = {d["name"]: _settings({**results, **{k: d[k] for k in ("grid", "grid_note", "fixed") if k in d}})
                   for d in results["datasets"]}
    mixed = len(set(per_dataset.values())) > 1
    methods = sorted({r["memory_method"] for r in results["runs"] if "memory_method" in r})
    merged = len(_provenance(results)) > 1
    if merged:
        runs_by = ["- merged from separate runs, one or more datasets each (command, commit, machine and seeds "
                   "under each dataset's heading)"]
        seeds = sorted({s for d in results["datasets"] for s in d.get("seeds") or results["seeds"]})
    else:
        runs_by = [f"- command: `{results['command']}`",
                   f"- commit: `{results['commit']}`; started {results['started']}; "
                   f"wall time {results['seconds']} s",
                   f"- machine: {results['machine']}"]
        seeds = results["seeds"]
    out = [f"# Benchmark suite `{results['suite']}`", "", results["description"], "", *runs_by,
           f"- seeds: {', '.join(map(str, seeds))} (cells are mean ± sample std over seeds)",
           ("- searched grid and fixed settings: per dataset, under each heading (a dataset kept from an "
            "earlier run keeps the settings it ran with)" if mixed else f"- searched grid ({note}): {grid}")
           + f"; chosen on validation `{results['selection_metric'] or '—'}` with seed {results['seeds'][0]}, "
           "then run for every seed and evaluated on test",
           *([] if mixed else [f"- fixed: {fixed}"]),
           f"- peak MiB: resident memory at the run's peak minus at its start ({', '.join(methods) or '—'}; "
           "see `benchmarks/timing.py`)", ""]
    headlines = [h for h in (headline(results, suite, d["name"]) for d in results["datasets"]) if h]
    if headlines:
        out += ["## Summary", "",
                "Per dataset, the best model by mean test value over seeds, and the best hyperbolic model "
                "against the best Euclidean one (popularity is neither; both picked by their test means, so read "
                "the two-sided Welch p-value as descriptive):", "",
                *[f"- {_headline_line(h)}" + (" _(Ran with earlier settings of the suite; see its heading.)_"
                                              if mixed and per_dataset[h["dataset"]] != _settings(results) else "")
                  for h in headlines], ""]
    if results["skipped"]:
        out += ["Skipped (files missing):", ""]
        out += [f"- {s['dataset']}: {s['reason']}" for s in results["skipped"]]
        out.append("")
    for ds in results["datasets"]:
        title = ds["name"] + (f" — {ds['summary']}" if ds.get("summary") else "")
        out += [f"## {title}", ""]
        if ds.get("description"):
            out += [ds["description"], ""]
        if ds.get("select_from"):  # the configuration column shows which
            out += [f"No search on this dataset: each tuned model ran the configuration it chose on "
                    f"{ds['select_from']}'s validation.", ""]
        if mixed:
            note, grid, fixed = per_dataset[ds["name"]]
            if per_dataset[ds["name"]] != _settings(results):
                out += ["**These results predate the suite's current settings** (grid, fixed settings and "
                        "models below are those of their run):", ""]
            out += [f"- searched grid ({note}): {grid}", f"- fixed: {fixed}", ""]
        ran = {r["model"] for r in results["runs"] if r["dataset"] == ds["name"]}
        missing = [m.name for m in suite.models if m.name not in ran]
        if missing and ran:
            out += [f"Models of the suite not run on {ds['name']}: {', '.join(missing)}.", ""]
        if merged:
            for part in (ds, *ds.get("parts", [])):
                models = f" — models {', '.join(part['models'])}" if ds.get("parts") and part.get("models") else ""
                out += [f"- command: `{part.get('command')}`{models}",
                        f"  - commit: `{part.get('commit')}`; started {part.get('started')}; wall time "
                        f"{part.get('wall_seconds', '—')} s; seeds {', '.join(map(str, part.get('seeds') or results['seeds']))}",
                        f"  - machine: {part.get('machine')}"]
            out.append("")
        out += _table(results, suite, ds["name"], comparisons)
        out.append("")
        failed = [r for r in results["runs"] if r["dataset"] == ds["name"] and r.get("failed")]
        if failed:
            out += ["Failed runs (left out of the cells above): "
                    + "; ".join(f"{r['model']} {_config(r['config'])} seed {r['seed']}: {r['failed']}" for r in failed),
                    ""]
        notes = _notes(suite, ds["name"], comparisons)
        if suite.baseline_notes:
            notes += _baseline_notes(results, suite, ds["name"])
        notes += _unfinished_note(results, ds["name"])
        if notes:
            out += notes + [""]
        if ds["name"] in plots:
            out += [f"![{ds['name']}]({plots[ds['name']]})", ""]
    extra = suite.report(results)
    if extra:
        out += [extra.rstrip(), ""]
    for name in plots.get("_extra", []):
        out += [f"![{name}]({name})", ""]
    return "\n".join(out)


COLOURS = {"hyperbolic": "tab:red", "euclidean": "tab:blue", "baseline": "tab:gray"}


def plot_dataset(results: Dict[str, Any], suite, dataset: str, path: Path) -> Optional[Path]:
    r"""Bar chart of each metric per model, error bars one standard deviation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    models = [m for m in results["models"]
              if any(r["dataset"] == dataset and r["model"] == m["name"] for r in runs)]
    metrics = [m for m in suite.metrics if any(_values(runs, dataset, x["name"], m.key) for x in models)]
    if not models or not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        stats = [summarise(_values(runs, dataset, m["name"], metric.key)) for m in models]
        ax.bar(range(len(models)), [s[0] for s in stats], yerr=[s[1] for s in stats], capsize=3,
               color=[COLOURS[m["geometry"]] for m in models])
        ax.set_xticks(range(len(models)), [m["name"] for m in models], rotation=45, ha="right", fontsize=8)
        ax.set_title(metric.label + ("" if metric.higher_is_better else " (lower is better)"), fontsize=9)
    fig.suptitle(f"{results['suite']}: {dataset} (mean ± std over {len(_seeds(results, dataset))} seeds)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(results: Dict[str, Any], suite, out_dir: Path) -> Dict[str, Path]:
    r"""Write ``results.json``, the plots and ``results.md`` into :obj:`out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # the suite's order, whichever run (of whichever version) wrote last
    order = {d.name: i for i, d in enumerate(getattr(suite, "datasets", ()))}
    results["datasets"].sort(key=lambda d: order.get(d["name"], len(order)))
    results["comparisons"] = compare(results, suite.metrics)
    results["headlines"] = [h for h in (headline(results, suite, d["name"]) for d in results["datasets"]) if h]
    plots: Dict[str, Any] = {}
    if suite.bar_plots:
        for ds in results["datasets"]:
            path = plot_dataset(results, suite, ds["name"], out_dir / f"{_slug(ds['name'])}.png")
            if path is not None:
                plots[ds["name"]] = path.name
    extra = [Path(p) for p in suite.plots(results, out_dir)]
    plots["_extra"] = [p.name for p in extra]
    results["plots"] = sorted([v for k, v in plots.items() if k != "_extra"] + plots["_extra"])
    paths = {"json": out_dir / "results.json", "md": out_dir / "results.md"}
    _atomic_write(paths["json"], json.dumps(_finite(results), indent=1, default=json_default, allow_nan=False)
                  + "\n")
    _atomic_write(paths["md"], markdown(results, suite, plots))
    return paths


def _atomic_write(path: Path, text: str) -> None:
    # temp file + rename: a reader (another run merging into the same folder)
    # never sees half a file
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _finite(obj):
    # strict JSON has no NaN: an undefined p-value is written as null
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_finite(v) for v in obj]
    return obj


def json_default(obj):
    r"""``default=`` of :func:`json.dumps` for what results hold besides JSON
    types: numpy and torch scalars, sets and tuples, paths."""
    if isinstance(obj, (np.generic,)) or (hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
