r"""``hypgraph train``: read interaction data, split it, train a recommender
with early stopping on validation, evaluate it, and leave everything in a run
folder (:mod:`hypgraph.cli.run`)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from .config import (FORMATS, LOSSES, MANIFOLD_NAMES, MODELS, NONE, PARAMETERIZATIONS, SPLITS, USERS,
                     SCORE_KINDS, ConfigError, read_run_config, read_toml, resolve, to_toml)
from ..data import DataFormatError
from .errors import CommandError
from .parsing import add_device, subcommand
from .run import (CHECKPOINT, CONFIG, DATA, LOG, METRICS, RUN_FILES, Run, RunData, atomic_write_bytes,
                  build_model, build_optimizer)

__all__ = ["add_parser", "run", "EXAMPLES", "HEADER"]

#: The comment at the top of a run's config.toml.
HEADER = ("hypgraph train: the resolved configuration of this run (every setting, defaults included).\n"
          "Repeat it with: hypgraph train DATA --config config.toml --out OTHER_DIR\n"
          f'"{NONE}" marks a setting that is off.')

EXAMPLES = """\
examples:
  hypgraph train ratings.csv --out run                  # defaults below, table columns guessed
  hypgraph train u.data --model hyperbolic --epochs 100 --out run-mf   # midpoint users, no graph
  hypgraph train ua.base --split given --test ua.test --out run-ua
  hypgraph train pairs.tsv --config my.toml --out run   # settings from TOML, options win
  hypgraph train --out run --resume                     # continue an interrupted run
  hypgraph train u.data --device cuda --out run-gpu     # on the GPU (default: auto)
  hypgraph train u.data --nproc 2 --out run             # data-parallel, 2 processes (torchrun)
  torchrun --nproc_per_node 2 -m hypgraph train u.data --out run   # the same, launched by hand

DATA is a file or dataset folder in any format the readers detect (MovieLens
u.data, KGAT, KGCN, RecBole .inter, HGCF, CSV/TSV/Parquet tables with a header
naming a user and an item column) or header-less text, one 'user item [rating
[time]]' row per line (whitespace, tab, comma, ';' or '|' separated).

defaults (hyperbolic model): midpoint users on the hyperboloid, tangent tables
trained with Adam (lr 0.01), squared-distance scores, dim 50, BPR, batches of
1024, up to 50 epochs with early stopping on validation ndcg@10 (patience 5),
per-user random split 80/20 with 10% of train as validation (seed 0). The run
folder's config.toml spells out every setting of a run.

RUN_DIR receives config.toml, data.pt (the split, raw ids), checkpoint.pt
(every epoch), log.jsonl, model.pt and metrics.json. Ctrl-C stops after
writing nothing half-done: continue with --resume."""


def add_parser(commands) -> None:
    p = subcommand(
        commands, "train", help="train a recommender on an interaction file into a run folder",
        description="Read DATA, split it, train a recommender with early stopping on the validation "
                    "part, evaluate it on the test part and write everything into RUN_DIR.",
        examples=EXAMPLES, run_dir=False)
    p.add_argument("data", nargs="?", metavar="DATA", help="interaction file or dataset folder")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="settings in TOML (sections [data] [split] [model] [train] [evaluation], as in a "
                        "run's config.toml); options given here override it")
    p.add_argument("--out", type=Path, default=Path("run"), metavar="RUN_DIR",
                   help="the run folder (default: run)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in RUN_DIR from its last checkpoint (only --epochs and --patience "
                        "may change)")
    p.add_argument("--overwrite", action="store_true", help="replace a finished or partial run in RUN_DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device(p, "train", "; not part of the run's config, so a run may resume elsewhere")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train data-parallel in N processes on this machine (torchrun; gloo on the CPU, one "
                        "CUDA device each with nccl); the run folder is prepared first, here (default: 1)")
    model = p.add_argument_group("model")
    model.add_argument("--model", choices=MODELS, help="the recommender (default: hyperbolic)")
    model.add_argument("--manifold", choices=MANIFOLD_NAMES, help="geometry (default: lorentz)")
    model.add_argument("--param", choices=PARAMETERIZATIONS,
                       help="tables hold tangent vectors at the origin, trained with Adam, or points on the "
                            "manifold, trained with RiemannianAdam (default: tangent)")
    model.add_argument("--users", choices=USERS,
                       help="hyperbolic model: a user is the Einstein midpoint of its items, or a point of "
                            "its own (default: midpoint)")
    model.add_argument("--score", choices=SCORE_KINDS, help="score: -distance, -distance^2 or inner product "
                                                            "(default: sqdist)")
    model.add_argument("--dim", type=int, help="embedding dimension (default: 50; lightgcn 64)")
    train = p.add_argument_group("training")
    train.add_argument("--loss", choices=LOSSES, help="ranking loss (default: bpr)")
    train.add_argument("--epochs", type=int, help="most epochs (default: 50)")
    train.add_argument("--patience", type=int, help="epochs without improvement before stopping (default: 5)")
    train.add_argument("--eval-every", type=int, metavar="N",
                       help="rank the validation part after every N-th epoch and the last (on a large "
                            "catalogue the ranking can cost more than an epoch) (default: 1)")
    train.add_argument("--lr", type=float, help="learning rate (default: 0.01)")
    train.add_argument("--batch-size", type=int, help="positives per step (default: 1024)")
    train.add_argument("--seed", type=int, help="seed of the split and of training (default: 0)")
    split = p.add_argument_group("split")
    split.add_argument("--split", choices=SPLITS,
                       help="per-user random 80/20 (+10%% of train as validation), each user's last two "
                            "interactions by time, or the given files/masks (default: random, or given "
                            "for datasets that ship their split)")
    split.add_argument("--valid", type=Path, metavar="FILE", help="validation interactions (--split given)")
    split.add_argument("--test", type=Path, metavar="FILE", help="test interactions (--split given)")
    data = p.add_argument_group("data")
    data.add_argument("--format", choices=FORMATS, help="input format (default: auto-detect)")
    data.add_argument("--min-rating", type=float, metavar="R", help="keep interactions rated at least R")
    data.add_argument("--min-user-interactions", type=int, metavar="N",
                      help="keep users with at least N interactions")
    for name in ("user", "item", "rating", "time"):
        data.add_argument(f"--{name}-col", metavar="NAME", help=f"{name} column of a table (default: guessed)")
    p.set_defaults(run=run)


#: option -> (section, key); --seed sets both seeds.
_OPTIONS = {"model": ("model", "name"), "manifold": ("model", "manifold"), "param": ("model", "parameterization"),
            "users": ("model", "users"), "score": ("model", "score_kind"), "dim": ("model", "dim"),
            "loss": ("train", "loss"), "epochs": ("train", "epochs"), "patience": ("train", "patience"),
            "eval_every": ("train", "eval_every"), "lr": ("train", "lr"), "batch_size": ("train", "batch_size"), "split": ("split", "method"),
            "valid": ("split", "valid"), "test": ("split", "test"), "format": ("data", "format"),
            "min_rating": ("data", "min_rating"), "min_user_interactions": ("data", "min_user_interactions"),
            "user_col": ("data", "user_col"), "item_col": ("data", "item_col"),
            "rating_col": ("data", "rating_col"), "time_col": ("data", "time_col")}
_RESUMABLE = {"epochs", "patience", "no_progress"}


def _command_line(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for option, (section, key) in _OPTIONS.items():
        value = getattr(args, option)
        if value is not None:
            out.setdefault(section, {})[key] = str(value.resolve()) if isinstance(value, Path) else value
    if args.seed is not None:
        out.setdefault("split", {})["seed"] = args.seed
        out.setdefault("train", {})["seed"] = args.seed
    if args.data is not None:
        out.setdefault("data", {})["path"] = str(Path(args.data).resolve())
    return out


def run(args: argparse.Namespace) -> int:
    from ..train import distributed, resolve_device

    folder: Path = args.out
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if args.nproc is not None and (args.nproc < 1 or world > 1):
        raise CommandError(f"--nproc must be >= 1 and is for launching, not inside torchrun "
                           f"(got {args.nproc}{', WORLD_SIZE=' + str(world) if world > 1 else ''})")
    spec = args.device
    try:  # before anything is written
        args.device = (distributed.init_from_environment(spec) if world > 1 else resolve_device(spec))
    except ValueError as err:
        raise CommandError(f"--device: {err}") from None
    if args.nproc is not None and args.nproc > 1:
        # the folder is prepared here (bad input is one line, exit 2), then N
        # processes continue the prepared run
        _resume(args, folder) if args.resume else _start(args, folder)
        return _launch(args.nproc, folder, spec, args.no_progress)
    try:
        return _train_here(args, folder, world)
    finally:
        if world > 1:
            distributed.destroy()


def _launch(nproc: int, folder: Path, device: str, no_progress: bool) -> int:
    # torchrun's standalone mode: a free port on this machine, one process per rank
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "hypgraph", "train", "--out", str(folder), "--resume", "--device", str(device),
               *(["--no-progress"] if no_progress else [])]
    print(f"hypgraph train: {nproc} processes: {' '.join(command[2:])}", file=sys.stderr)
    code = subprocess.run(command, check=False).returncode
    if code != 0:
        print(f"hypgraph train: error: the {nproc} training processes failed (exit {code}, see above); "
              f"continue with: hypgraph train --out {folder} --resume --nproc {nproc}", file=sys.stderr)
    return code


def _prepare(args: argparse.Namespace, folder: Path, world: int):
    r"""``(config, data)`` of the run: rank 0 starts or resumes it (writing the
    folder); the other ranks then read what it wrote. ``None`` on a rank
    other than 0 when rank 0 could not (it reports why)."""
    from ..train import distributed

    rank, error = distributed.rank(), None
    if rank == 0:
        try:
            prepared = _resume(args, folder) if args.resume else _start(args, folder)
        except (CommandError, ConfigError, DataFormatError) as err:
            if world == 1:
                raise
            error = err
    if world > 1:
        failed = distributed.broadcast_object(error is not None)
        if error is not None:
            raise error
        if failed:
            return None
    if rank != 0:
        prepared = read_run_config(folder / CONFIG), RunData.load(folder / DATA)
    return prepared


def _train_here(args: argparse.Namespace, folder: Path, world: int) -> int:
    from ..train import distributed

    prepared = _prepare(args, folder, world)
    if prepared is None:
        return 2
    config, data = prepared
    rank = distributed.rank()
    prog = "hypgraph train"
    info = lambda text: print(f"{prog}: {text}", file=sys.stderr) if rank == 0 else None  # noqa: E731
    if world > 1:
        info(f"{world} processes ({'nccl' if args.device.type == 'cuda' else 'gloo'}), each a share of "
             f"every batch")
    info(f"{data.num_users:,} users, {data.num_items:,} items; train/validation/test pairs "
         f"{data.train.size(1):,}/{data.valid.size(1):,}/{data.test.size(1):,}; training on {args.device}")
    for line in data.filter_log:
        if "explicit_split" in line and "removed 0 " not in line:
            info(f"warning: {line}")
    try:
        model, best_epoch, records = _fit(config, data, folder, args)
    except KeyboardInterrupt:
        info(f"\ninterrupted; {folder / CHECKPOINT} holds the last finished epoch. Continue "
             f"with: hypgraph train --out {folder} --resume" + (f" --nproc {world}" if world > 1 else ""))
        return 130
    if rank != 0:
        return 0
    Run.save_model(folder, model)
    from .evaluate import final_metrics

    metrics = final_metrics(model, data, config)
    metrics.update(best_epoch=best_epoch, epochs=len(records))
    atomic_write_bytes(folder / METRICS, json.dumps(metrics, indent=2) + "\n")
    test = metrics["test"]["full"]
    k = max(config["evaluation"]["ks"])
    shown = ", ".join(f"{name} {test[name]:.4f}" for name in (f"recall@{k}", f"ndcg@{k}") if name in test)
    info(f"test (full ranking): {shown}; wrote {folder}/ ({', '.join(f for f in RUN_FILES if (folder / f).exists())})")
    return 0


# --- starting and resuming ------------------------------------------------------------------

def _start(args: argparse.Namespace, folder: Path) -> Tuple[Dict[str, Dict[str, Any]], RunData]:
    from .data import load_split

    layers: List[Tuple[Optional[str], Dict[str, Any]]] = []
    if args.config is not None:
        layers.append((str(args.config), _paths_from(read_toml(args.config), args.config.parent)))
    cli = _command_line(args)
    layers.append((None, cli))
    config = resolve(layers)
    if config["data"]["path"] == NONE:
        raise CommandError("DATA is required: an interaction file or dataset folder (or data.path in --config)")
    split_given = any("method" in layer.get("split", {}) for _, layer in layers)
    present = [name for name in RUN_FILES if (folder / name).exists()]
    if present and not args.overwrite:
        raise CommandError(f"{folder} already holds a run ({', '.join(present)}); continue it with --resume, "
                           f"replace it with --overwrite, or choose another --out")
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{folder} is not a folder; expected a run folder for --out")
    split = load_split(config, use_shipped_split=not split_given)
    data = RunData.from_split(split)
    if data.valid.size(1) == 0:
        raise CommandError(f"the {config['split']['method']} split left no validation pairs "
                           f"(raise val_ratio, or give --valid FILE)")
    if data.test.size(1) == 0:
        raise CommandError(f"the {config['split']['method']} split left no test pairs")
    folder.mkdir(parents=True, exist_ok=True)
    for name in present:
        (folder / name).unlink()
    atomic_write_bytes(folder / CONFIG, to_toml(config, HEADER))
    data.save(folder / DATA)
    return config, data


def _paths_from(layer: Dict[str, Any], base: Path) -> Dict[str, Any]:
    # paths in a configuration file are relative to the file
    out = {section: dict(values) if isinstance(values, dict) else values for section, values in layer.items()}
    for section, key in (("data", "path"), ("split", "valid"), ("split", "test")):
        value = out.get(section, {}).get(key) if isinstance(out.get(section), dict) else None
        if isinstance(value, str) and value not in ("", NONE):
            out[section][key] = str((base / value).resolve())
    return out


def _resume(args: argparse.Namespace, folder: Path) -> Tuple[Dict[str, Dict[str, Any]], RunData]:

    given = [name for name, value in vars(args).items()
             if name in _OPTIONS and value is not None and name not in _RESUMABLE]
    if args.seed is not None:
        given.append("seed")
    if args.config is not None or args.data is not None or given or args.overwrite:
        extra = (["--config"] if args.config is not None else []) + (["DATA"] if args.data is not None else []) \
            + ["--" + name.replace("_", "-") for name in given] + (["--overwrite"] if args.overwrite else [])
        raise CommandError(f"--resume continues the run in {folder} with its own config.toml; only --epochs "
                           f"and --patience may change (got {', '.join(extra)})")
    if not (folder / CONFIG).is_file() or not (folder / DATA).is_file():
        raise CommandError(f"{folder} holds no run to resume (no {CONFIG} and {DATA}); start one without --resume")
    overrides = {"train": {key: getattr(args, key) for key in ("epochs", "patience") if getattr(args, key) is not None}}
    config = read_run_config(folder / CONFIG, (None, overrides if overrides["train"] else {}))
    if overrides["train"]:
        atomic_write_bytes(folder / CONFIG, to_toml(config, HEADER))
    elif (folder / METRICS).is_file():
        raise CommandError(f"the run in {folder} is finished ({METRICS}); train longer with --resume --epochs N")
    (folder / METRICS).unlink(missing_ok=True)  # written again when this part finishes
    return config, RunData.load(folder / DATA)


# --- training -------------------------------------------------------------------------------

class _EpochLines:
    r"""One line per epoch on stderr: loss, the validation metric, whether it is the best."""

    def __init__(self, metric: str, epochs: int, log: Path) -> None:
        self.metric, self.epochs, self.best = metric, epochs, -float("inf")
        if log.is_file():  # a resumed run: the best of its epochs so far
            for line in log.read_text(encoding="utf-8").splitlines():
                try:
                    self.best = max(self.best, float(json.loads(line)[metric]))
                except (ValueError, KeyError, TypeError):
                    continue

    def on_epoch_end(self, trainer, epoch: int, record: Dict[str, float]) -> None:
        line = f"hypgraph train: epoch {epoch}/{self.epochs}: loss {record['loss']:.4f}"
        if self.metric in record:  # a validated epoch (every eval_every-th)
            value = record[self.metric]
            mark = " (best)" if value > self.best else ""
            self.best = max(self.best, value)
            line += f", validation {self.metric} {value:.4f}{mark}"
        print(f"{line} ({record['seconds']:.1f} s)", file=sys.stderr)


def _fit(config: Dict[str, Dict[str, Any]], data: RunData, folder: Path, args: argparse.Namespace):
    from ..train import Trainer, distributed

    torch.manual_seed(config["train"]["seed"])
    model = build_model(config, data.num_users, data.num_items)
    name = config["model"]["name"]
    if name == "popularity":
        return model.fit(data.train), 0, []
    generator = torch.Generator().manual_seed(config["train"]["seed"])
    if name == "hyperbolic":
        # Chamberlain 2019 §5.3: popular items start near the origin
        model.reset_parameters(torch.bincount(data.train[1], minlength=data.num_items), generator)
    elif name == "graph":
        model.reset_parameters(generator)
    t = config["train"]
    try:
        trainer = Trainer(model, build_optimizer(config, model), loss=t["loss"], num_negatives=t["num_negatives"],
                          batch_size=t["batch_size"], max_epochs=t["epochs"], patience=t["patience"],
                          eval_every=t["eval_every"],
                          metric=t["metric"], seed=t["seed"], log_path=folder / LOG,
                          checkpoint_path=folder / CHECKPOINT,
                          progress=not args.no_progress and distributed.rank() == 0,
                          margin=None if t["margin"] == NONE else t["margin"],
                          callbacks=[_EpochLines(t["metric"], t["epochs"], folder / LOG)]
                          if distributed.rank() == 0 else [], device=args.device)
    except ValueError as err:
        raise ConfigError(f"[train]: {err}") from None
    train_part, val_part = data.part("train"), data.part("validation")
    try:
        result = trainer.fit(train_part, val_part, resume=args.resume)
    except FloatingPointError as err:
        raise CommandError(f"training diverged: {err}; try a smaller --lr") from None
    except ValueError as err:
        raise CommandError(str(err)) from None
    return model, result.best_epoch, result.records
