r"""The configuration of a ``hypgraph train`` run: its settings and their
defaults, read from TOML (:mod:`tomllib`), overridden by command-line
options, resolved (every default filled in for the chosen model) and written
back as TOML into the run folder, so that a run can be read, repeated and
resumed.

The format is flat TOML: five sections (``[data]``, ``[split]``,
``[model]``, ``[train]``, ``[evaluation]``) of strings, numbers, booleans and
lists of integers. TOML has no null: a setting that is off is written as the
string ``"none"``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["ConfigError", "Setting", "SETTINGS", "MODELS", "MANIFOLD_NAMES", "PARAMETERIZATIONS", "LOSSES",
           "SPLITS", "FORMATS", "resolve", "read_toml", "to_toml", "NONE", "flag_of"]

#: The value of a setting that is off (TOML has no null).
NONE = "none"

MODELS = ("hyperbolic", "graph", "lightgcn", "popularity")
MANIFOLD_NAMES = ("lorentz", "poincare", "euclidean")
PARAMETERIZATIONS = ("manifold", "tangent")
LOSSES = ("bpr", "wmrb", "hinge")
SPLITS = ("random", "leave-last-out", "given")
#: Input formats: ``auto`` and the readers of :mod:`hypgraph.data.readers`,
#: ``pairs`` being the header-less ``user item [rating [time]]`` text.
FORMATS = ("auto", "movielens", "kgat", "kgcn", "recbole", "hgcf", "table", "pairs")
OPTIMIZERS = ("adam", "riemannian-adam")
USERS = ("midpoint", "embedding")
SCORE_KINDS = ("distance", "sqdist", "inner")

#: Which models a model setting applies to.
_HYPERBOLIC, _GRAPH, _LIGHTGCN, _POPULARITY = MODELS
#: The model of a run that names none: the graph model with HRCF's and HICF's
#: options, the best hyperbolic model of every benchmark here (README, "Which
#: model should I use").
DEFAULT_MODEL = _GRAPH
_POINT_MODELS = (_HYPERBOLIC, _GRAPH)
_TRAINED = (_HYPERBOLIC, _GRAPH, _LIGHTGCN)


class ConfigError(ValueError):
    r"""A setting that is unknown, of the wrong type, out of range or that
    does not apply; its message is one line naming the setting and where it
    came from."""


@dataclass(frozen=True)
class Setting:
    r"""One setting: its section and key, type (``str``, ``int``, ``float``,
    ``bool``, ``path`` or ``ints``), allowed values, whether it may be
    :data:`NONE`, which models it applies to (``None``: all) and its help."""
    section: str
    key: str
    kind: str
    help: str
    choices: Tuple[str, ...] = ()
    optional: bool = False
    models: Optional[Tuple[str, ...]] = None


SETTINGS: Tuple[Setting, ...] = (
    Setting("data", "path", "path", "the interaction file or dataset folder"),
    Setting("data", "format", "str", "input format (auto: detected)", FORMATS),
    Setting("data", "user_col", "str", "user column of a table", optional=True),
    Setting("data", "item_col", "str", "item column of a table", optional=True),
    Setting("data", "rating_col", "str", "rating column of a table", optional=True),
    Setting("data", "time_col", "str", "integer Unix-time column of a table", optional=True),
    Setting("data", "min_rating", "float", "keep interactions rated at least this", optional=True),
    Setting("data", "min_user_interactions", "int", "keep users with at least this many interactions",
            optional=True),
    Setting("split", "method", "str", "how validation and test interactions are held out", SPLITS),
    Setting("split", "test_ratio", "float", "share of each user's interactions for test (random)"),
    Setting("split", "val_ratio", "float", "share of each user's training interactions for validation "
                                          "(random; given without a validation file)"),
    Setting("split", "seed", "int", "seed of the random split"),
    Setting("split", "valid", "path", "validation interactions (given)", optional=True),
    Setting("split", "test", "path", "test interactions (given)", optional=True),
    Setting("model", "name", "str", "the recommender", MODELS),
    Setting("model", "manifold", "str", "geometry of the points", MANIFOLD_NAMES, models=_POINT_MODELS),
    Setting("model", "curvature", "float", "curvature magnitude k (curvature -k)", models=_POINT_MODELS),
    Setting("model", "parameterization", "str", "tables hold points (manifold) or tangent vectors at "
                                                "the origin (tangent)", PARAMETERIZATIONS, models=_POINT_MODELS),
    Setting("model", "dim", "int", "embedding dimension (intrinsic)", models=_TRAINED),
    Setting("model", "users", "str", "midpoint: a user is the Einstein midpoint of its items "
                                     "(asymmetric); embedding: a point per user (symmetric)", USERS,
            models=(_HYPERBOLIC,)),
    Setting("model", "score_kind", "str", "score: -distance, -distance^2 or inner product", SCORE_KINDS,
            models=_POINT_MODELS),
    Setting("model", "init_scale", "float", "initial spread of the points (hyperbolic: Poincare radius "
                                            "of the rarest items; graph: tangent coordinates)",
            models=_POINT_MODELS),
    Setting("model", "num_layers", "int", "propagation hops", models=(_GRAPH, _LIGHTGCN)),
    Setting("model", "aggregation", "str", "graph hops in the tangent space or as Einstein midpoints",
            ("tangent", "midpoint"), models=(_GRAPH,)),
    Setting("model", "normalization", "str", "adjacency normalisation", ("row", "symmetric"), models=(_GRAPH,)),
    Setting("model", "self_loops", "bool", "normalise A + I", models=(_GRAPH,)),
    Setting("model", "combine", "str", "how hops are combined", ("sum", "mean"), models=(_GRAPH,)),
    Setting("model", "include_input", "bool", "combine hop 0 too", models=(_GRAPH,)),
    Setting("model", "root_alignment", "bool", "HRCF: subtract the mean propagated tangent vector",
            models=(_GRAPH,)),
    Setting("model", "origin_weight", "float", "HRCF: weight of the penalty pushing items from the origin "
                                               "(0: off)", models=(_GRAPH,)),
    Setting("model", "hard_negatives", "bool", "HICF: of the train.num_negatives drawn, train on the one "
                                               "nearest the positive", models=(_GRAPH,)),
    Setting("model", "adaptive_margin", "bool", "HICF: scale each pair's hinge margin by w(u, i) "
                                                "(needs train.loss = hinge)", models=(_GRAPH,)),
    Setting("train", "loss", "str", "ranking loss", LOSSES, models=_TRAINED),
    Setting("train", "margin", "float", "margin of wmrb/hinge", optional=True, models=_TRAINED),
    Setting("train", "optimizer", "str", "adam (tangent tables, Euclidean) or riemannian-adam (points on "
                                         "the manifold)", OPTIMIZERS, models=_TRAINED),
    Setting("train", "lr", "float", "learning rate", models=_TRAINED),
    Setting("train", "weight_decay", "float", "weight decay", models=_TRAINED),
    Setting("train", "epochs", "int", "most epochs", models=_TRAINED),
    Setting("train", "patience", "int", "epochs without validation improvement before stopping",
            models=_TRAINED),
    Setting("train", "eval_every", "int", "epochs between validations (the last epoch is always validated)",
            models=_TRAINED),
    Setting("train", "batch_size", "int", "positives per step", models=_TRAINED),
    Setting("train", "num_negatives", "int", "negatives per positive", models=_TRAINED),
    Setting("train", "metric", "str", "validation metric to maximise (recall|precision|ndcg@K)",
            models=_TRAINED),
    Setting("train", "seed", "int", "seed of initialisation, shuffling and negatives"),
    Setting("evaluation", "ks", "ints", "cut-offs of the final metrics"),
    Setting("evaluation", "sampled_negatives", "int", "negatives per test positive (sampled protocol)"),
)
_BY_NAME = {(s.section, s.key): s for s in SETTINGS}
SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS))

#: Command-line spellings of the settings that have one (for messages).
FLAGS = {("data", "format"): "--format", ("data", "user_col"): "--user-col", ("data", "item_col"): "--item-col",
         ("data", "rating_col"): "--rating-col", ("data", "time_col"): "--time-col",
         ("data", "min_rating"): "--min-rating", ("data", "min_user_interactions"): "--min-user-interactions",
         ("split", "method"): "--split", ("split", "valid"): "--valid", ("split", "test"): "--test",
         ("model", "name"): "--model", ("model", "manifold"): "--manifold",
         ("model", "parameterization"): "--param", ("model", "dim"): "--dim", ("model", "users"): "--users",
         ("model", "score_kind"): "--score", ("train", "loss"): "--loss", ("train", "lr"): "--lr",
         ("train", "epochs"): "--epochs", ("train", "patience"): "--patience",
         ("train", "eval_every"): "--eval-every",
         ("train", "batch_size"): "--batch-size", ("train", "seed"): "--seed", ("data", "path"): "DATA"}


def flag_of(section: str, key: str) -> str:
    return FLAGS.get((section, key), f"{section}.{key}")


def _model_defaults(name: str) -> Dict[str, Any]:
    if name == _HYPERBOLIC:
        # the recommended hyperbolic configuration of the README ("Which model
        # should I use"): tangent tables + Adam, midpoint users, sqdist
        return dict(manifold="lorentz", curvature=1.0, parameterization="tangent", dim=50, users="midpoint",
                    score_kind="sqdist", init_scale=0.1)
    if name == _GRAPH:
        # HGCF's propagation with HRCF's and HICF's options (the benchmarks' best
        # hyperbolic rows, README "Which model should I use"), tangent tables + Adam
        return dict(manifold="lorentz", curvature=1.0, parameterization="tangent", dim=50, score_kind="sqdist",
                    init_scale=0.1, num_layers=3, aggregation="tangent", normalization="row", self_loops=True,
                    combine="sum", include_input=False, adaptive_margin=False, **GRAPH_OPTIONS)
    if name == _LIGHTGCN:
        return dict(dim=64, num_layers=3)
    return {}


#: The graph model's HRCF/HICF options in new runs; a run folder written
#: before they were settings has them off (:func:`read_run_config`).
GRAPH_OPTIONS = dict(root_alignment=True, origin_weight=0.1, hard_negatives=True)
#: Negatives drawn per positive when the graph model keeps the hardest (HICF's
#: candidates; the benchmarks' HRCF rows).
HARD_NEGATIVE_CANDIDATES = 5


def _defaults(config: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    model = config.get("model", {}).get("name", DEFAULT_MODEL)
    loss = config.get("train", {}).get("loss", "bpr")
    hard = model == _GRAPH and config.get("model", {}).get("hard_negatives", GRAPH_OPTIONS["hard_negatives"])
    out = {
        "data": dict(path=NONE, format="auto", user_col=NONE, item_col=NONE, rating_col=NONE, time_col=NONE,
                     min_rating=NONE, min_user_interactions=NONE),
        "split": dict(method="random", test_ratio=0.2, val_ratio=0.1, seed=0, valid=NONE, test=NONE),
        "model": dict(name=model, **_model_defaults(model)),
        "train": dict(seed=0),
        "evaluation": dict(ks=[10, 20], sampled_negatives=100),
    }
    if model in _TRAINED:
        margin = {"wmrb": 1.0, "hinge": 0.1}.get(loss, NONE)
        out["train"] = dict(loss="bpr", margin=margin, optimizer=NONE, lr=0.01, weight_decay=0.0, epochs=50,
                            patience=5, eval_every=1, batch_size=1024,
                            num_negatives=10 if loss == "wmrb" else HARD_NEGATIVE_CANDIDATES if hard else 1,
                            metric="ndcg@10", seed=0)
    return out


def resolve(layers: List[Tuple[str, Mapping[str, Mapping[str, Any]]]]) -> Dict[str, Dict[str, Any]]:
    r"""Merge configuration layers (later ones win), fill every default for
    the chosen model and check every value.

    Args:
        layers (list): ``(source, nested dict)`` pairs, e.g.
            ``[("run.toml", {...}), (None, {...})]``; the source (a file, or
            ``None`` for the command line, whose settings are then named by
            their options) says where a bad value came from.

    Returns:
        dict: ``section -> key -> value`` with every setting of the model
        (:data:`NONE` for those that are off).

    Raises:
        ConfigError: One line naming the setting and its source.
    """
    merged: Dict[str, Dict[str, Any]] = {}
    source: Dict[Tuple[str, str], Optional[str]] = {}
    for where, layer in layers:
        for section, values in layer.items():
            if section not in SECTIONS:
                raise ConfigError(f"{_at(where)}unknown section [{section}]; expected one of "
                                  f"{', '.join('[' + s + ']' for s in SECTIONS)}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{_at(where)}[{section}] must be a table of settings")
            for key, value in values.items():
                if (section, key) not in _BY_NAME:
                    known = ", ".join(s.key for s in SETTINGS if s.section == section)
                    raise ConfigError(f"{_at(where)}unknown setting {section}.{key}; [{section}] has {known}")
                merged.setdefault(section, {})[key] = value
                source[section, key] = where
    for (section, key), value in list((k, v) for k, v in _flatten(merged)):
        merged[section][key] = _check(_BY_NAME[section, key], value, source[section, key])
    name = merged.get("model", {}).get("name", DEFAULT_MODEL)
    for (section, key), value in _flatten(merged):
        setting = _BY_NAME[section, key]
        if setting.models is not None and name not in setting.models:
            where = source[section, key]
            raise ConfigError(f"{_at(where)}{_name(section, key, where)} does not apply to model {name!r} "
                              f"(it applies to {', '.join(setting.models)})")
    out = _defaults(merged)
    for section, values in merged.items():
        out[section].update(values)
    _check_together(out, source)
    return out


def _at(where: Optional[str]) -> str:
    return "" if where is None else f"{where}: "


def _name(section: str, key: str, where: Optional[str]) -> str:
    return flag_of(section, key) if where is None else f"{section}.{key}"


def _flatten(config: Mapping[str, Mapping[str, Any]]):
    return [((section, key), value) for section, values in config.items() for key, value in values.items()]


def _check(setting: Setting, value: Any, where: Optional[str]) -> Any:
    what = _name(setting.section, setting.key, where)
    if setting.optional and value == NONE:
        return NONE
    kind = setting.kind
    bad = None
    if kind in ("str", "path"):
        if not isinstance(value, str) or not value:
            bad = "a non-empty string"
        elif setting.choices and value not in setting.choices:
            bad = "one of " + ", ".join(setting.choices)
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            bad = "an integer"
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            bad = "a finite number"
        else:
            value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            bad = "true or false"
    elif kind == "ints":
        if not isinstance(value, list) or not value or any(isinstance(v, bool) or not isinstance(v, int)
                                                           for v in value):
            bad = "a non-empty list of integers"
    if bad is not None:
        hint = f" or {NONE!r}" if setting.optional else ""
        raise ConfigError(f"{_at(where)}{what} must be {bad}{hint}, got {value!r}")
    return value


def _check_together(config: Dict[str, Dict[str, Any]], source: Dict[Tuple[str, str], Optional[str]]) -> None:
    def fail(section: str, key: str, message: str) -> None:
        where = source.get((section, key), "the defaults")
        raise ConfigError(f"{_at(where)}{_name(section, key, where)} {message}")

    positive = [("model", "dim"), ("model", "num_layers"), ("train", "epochs"), ("train", "patience"),
                ("train", "eval_every"), ("train", "batch_size"), ("train", "num_negatives"), ("evaluation", "sampled_negatives")]
    for section, key in positive:
        if key in config[section] and config[section][key] < 1:
            fail(section, key, f"must be >= 1, got {config[section][key]}")
    for key in ("test_ratio", "val_ratio"):
        if not 0 <= config["split"][key] < 1:
            fail("split", key, f"must be in [0, 1), got {config['split'][key]}")
    if any(k < 1 for k in config["evaluation"]["ks"]):
        fail("evaluation", "ks", f"must hold integers >= 1, got {config['evaluation']['ks']}")
    value = config["data"]["min_user_interactions"]
    if value != NONE and value < 1:
        fail("data", "min_user_interactions", f"must be >= 1 or {NONE!r}, got {value}")
    model, train = config["model"], config["train"]
    for key in ("curvature", "init_scale", "lr"):
        section = "train" if key == "lr" else "model"
        if key in config[section] and not config[section][key] > 0:
            fail(section, key, f"must be > 0, got {config[section][key]}")
    if "weight_decay" in train and train["weight_decay"] < 0:
        fail("train", "weight_decay", f"must be >= 0, got {train['weight_decay']}")
    if "loss" in train:
        if train["loss"] == "bpr" and train["margin"] != NONE:
            fail("train", "margin", f"applies to wmrb and hinge, not bpr (got {train['margin']})")
        if train["margin"] != NONE and train["margin"] < 0:
            fail("train", "margin", f"must be >= 0, got {train['margin']}")
        name, at, k = train["metric"].partition("@")
        if name not in ("recall", "precision", "ndcg", "ndcg_kgat") or not at or not k.isdigit() or int(k) < 1:
            fail("train", "metric", f"must be recall@K, precision@K, ndcg@K or ndcg_kgat@K, got {train['metric']!r}")
        if train["optimizer"] == NONE:
            # tangent vectors and flat points take plain Adam; points on a
            # hyperbolic manifold the Riemannian step
            flat = model.get("manifold", "euclidean") == "euclidean"
            tangent = model.get("parameterization", "tangent") == "tangent"
            train["optimizer"] = "adam" if flat or tangent else "riemannian-adam"
    if model.get("adaptive_margin") and train.get("loss") != "hinge":
        fail("model", "adaptive_margin", f"scales the hinge's margin: it needs train.loss = 'hinge' "
                                         f"(got {train.get('loss')!r})")
    if model["name"] in _POINT_MODELS and model["score_kind"] == "inner" and model["manifold"] == "poincare":
        fail("model", "score_kind", "'inner' is not defined on the Poincare ball (use distance or sqdist)")
    split = config["split"]
    if split["method"] != "given":
        for key in ("valid", "test"):
            if split[key] != NONE:
                fail("split", key, f"needs --split given (the split is {split['method']!r})")
    elif split["valid"] != NONE and split["test"] == NONE:
        fail("split", "valid", "needs a test file too (--test FILE)")


# --- TOML ---------------------------------------------------------------------

def read_run_config(path: Path, *later: Tuple[Optional[str], Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    r"""The resolved configuration of a run folder's ``config.toml`` (with
    :obj:`later` layers over it, as :func:`resolve` takes them). A graph run
    written before the HRCF/HICF options were settings trained without them:
    they are read as off there, not given today's defaults.

    Raises:
        ConfigError: As :func:`resolve` and :func:`read_toml`.
    """
    table = read_toml(path)
    model = table.get("model")
    if isinstance(model, dict) and model.get("name") == _GRAPH:
        for key, off in (("root_alignment", False), ("origin_weight", 0.0), ("hard_negatives", False)):
            model.setdefault(key, off)
    return resolve([(str(path), table), *later])


def read_toml(path: Path) -> Dict[str, Any]:
    r"""Read a TOML configuration file.

    Raises:
        ConfigError: If the file cannot be read or is not TOML (one line:
            the file, the line and what is wrong).
    """
    import tomllib

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror or err}; expected a TOML configuration file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; expected a TOML configuration file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = " ".join(str(err).split())
        # the line is in the message before Python 3.14 gave it an attribute
        found = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
        line = getattr(err, "lineno", None) or (int(found.group(1)) if found else None)
        if found:
            message = message[:found.start()]
        where = f"{path}:{line}" if line else f"{path}"
        raise ConfigError(f"{where}: not valid TOML ({message})") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # a JSON string with \uXXXX escapes is a TOML basic string, DEL aside
        return json.dumps(value, ensure_ascii=True).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(config: Mapping[str, Mapping[str, Any]], header: str = "") -> str:
    r"""The configuration as TOML, one commented line per setting."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for section in SECTIONS:
        values = config.get(section)
        if not values:
            continue
        lines += ["", f"[{section}]"]
        for key, value in values.items():
            setting = _BY_NAME.get((section, key))
            text = f"{key} = {_toml_value(value)}"
            if setting is not None:
                text = f"{text:<40} # {setting.help}"
            lines.append(text)
    return "\n".join(lines) + "\n"
