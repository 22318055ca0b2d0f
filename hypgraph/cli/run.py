r"""A run folder: what ``hypgraph train`` writes and the other commands read.

=================  ==============================================================
file               what
=================  ==============================================================
``config.toml``    the resolved configuration (every default spelled out)
``data.pt``        the split as plain tensors (train/validation/test pairs) and
                   the raw user and item ids, strings as lists of ``str``
``checkpoint.pt``  the trainer's checkpoint, rewritten after every epoch
                   (``--resume`` continues from it)
``log.jsonl``      one JSON line per epoch (loss, validation metrics, seconds)
``model.pt``       the best model's state dict (CPU tensors)
``metrics.json``   final validation and test metrics
=================  ==============================================================

Every ``.pt`` file holds tensors, numbers, strings, lists and dicts only, and
is read with ``torch.load(weights_only=True)``: a run folder from elsewhere
cannot run code when it is read (as :mod:`hypgraph.data.cache` does for
dataset caches).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from ..data import DataFormatError
from ..data.hetero import INTERACTS, set_interactions
from ..data.history import InteractionCSR
from .config import ConfigError, NONE, read_run_config

__all__ = ["RunData", "Run", "build_model", "build_optimizer", "RUN_FILES", "atomic_write_bytes"]

CONFIG, DATA, MODEL, CHECKPOINT, LOG, METRICS = (
    "config.toml", "data.pt", "model.pt", "checkpoint.pt", "log.jsonl", "metrics.json")
RUN_FILES = (CONFIG, DATA, MODEL, CHECKPOINT, LOG, METRICS)
DATA_FORMAT = "hypgraph.run-data/1"
MODEL_FORMAT = "hypgraph.run-model/1"

RawIds = Union[Tensor, List[str]]


def atomic_write_bytes(path: Path, payload: Any) -> None:
    r"""``torch.save`` :obj:`payload` (or write bytes/str) to :obj:`path`
    through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a plain open, not mkstemp: the file gets the umask's permissions (a run
    # folder is read by others), not mkstemp's owner-only 0600
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            if isinstance(payload, str):
                fh.write(payload.encode("utf-8"))
            elif isinstance(payload, bytes):
                fh.write(payload)
            else:
                torch.save(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _portable_ids(raw) -> RawIds:
    if isinstance(raw, Tensor):
        return raw.long()
    return [str(r) for r in raw]


@dataclass
class RunData:
    r"""The split of a run: node counts, ``[2, n]`` (user, item) pairs of each
    part, the raw ids of users and items (an int64 tensor when they are
    integers, else a list of str) and the filter log as text."""
    num_users: int
    num_items: int
    train: Tensor
    valid: Tensor
    test: Tensor
    user_ids: RawIds
    item_ids: RawIds
    filter_log: List[str] = field(default_factory=list)

    @classmethod
    def from_split(cls, split: Sequence[HeteroData]) -> "RunData":
        train, val, test = split
        return cls(int(train["user"].num_nodes), int(train["item"].num_nodes),
                   train[INTERACTS].edge_label_index.long(), val[INTERACTS].edge_label_index.long(),
                   test[INTERACTS].edge_label_index.long(), _portable_ids(train["user"].raw_id),
                   _portable_ids(train["item"].raw_id),
                   [str(report) for report in getattr(test, "filter_log", None) or []])

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, {"format": DATA_FORMAT, "num_users": self.num_users, "num_items": self.num_items,
                                  "train": self.train, "valid": self.valid, "test": self.test,
                                  "user_ids": self.user_ids, "item_ids": self.item_ids,
                                  "filter_log": list(self.filter_log)})

    @classmethod
    def load(cls, path: Path) -> "RunData":
        payload = _load(path, DATA_FORMAT)
        try:
            out = cls(int(payload["num_users"]), int(payload["num_items"]), payload["train"], payload["valid"],
                      payload["test"], payload["user_ids"], payload["item_ids"], list(payload["filter_log"]))
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(f"not a run's data file ({type(err).__name__}: {err})", path) from None
        for name in ("train", "valid", "test"):
            pairs = getattr(out, name)
            if not (isinstance(pairs, Tensor) and pairs.dim() == 2 and pairs.size(0) == 2):
                raise DataFormatError(f"{name} pairs are not a [2, n] tensor", path)
            if pairs.numel() and (int(pairs.min()) < 0 or int(pairs[0].max()) >= out.num_users
                                  or int(pairs[1].max()) >= out.num_items):
                raise DataFormatError(f"{name} pairs name users or items outside the run's", path)
        if len(out.user_ids) != out.num_users or len(out.item_ids) != out.num_items:
            raise DataFormatError("raw ids do not match the numbers of users and items", path)
        return out

    # --- views ------------------------------------------------------------------
    def history(self, part: str = "train") -> InteractionCSR:
        r"""The :class:`InteractionCSR` of the training pairs (``'train'``),
        or of training and validation pairs (``'test'``: what a test user
        has seen)."""
        pairs = self.train if part == "train" else torch.cat([self.train, self.valid], dim=1)
        return InteractionCSR(pairs, self.num_users)

    def part(self, name: str) -> HeteroData:
        r"""The ``'train'``, ``'validation'`` or ``'test'`` part in the layout
        of :mod:`hypgraph.data.split` (messages: train, or train + validation
        for test; labels: the part's pairs)."""
        message = torch.cat([self.train, self.valid], dim=1) if name == "test" else self.train
        labels = {"train": self.train, "validation": self.valid, "test": self.test}[name]
        data = HeteroData()
        data["user"].num_nodes, data["item"].num_nodes = self.num_users, self.num_items
        set_interactions(data, message)
        data[INTERACTS].edge_label_index = labels
        data[INTERACTS].edge_label = torch.ones(labels.size(1))
        return data

    def raw_user(self, index: int) -> str:
        return str(self.user_ids[index].item() if isinstance(self.user_ids, Tensor) else self.user_ids[index])

    def id_strings(self, kind: str) -> List[str]:
        ids = self.user_ids if kind == "user" else self.item_ids
        return [str(v) for v in (ids.tolist() if isinstance(ids, Tensor) else ids)]


def _load(path: Path, fmt: str) -> Dict[str, Any]:
    if not path.is_file():
        raise DataFormatError("missing; expected a run folder written by hypgraph train", path)
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any unreadable file is one line for the user
        message = " ".join(str(err).split())[:200]
        raise DataFormatError(f"cannot be read safely ({type(err).__name__}: {message})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise DataFormatError(f"not a {fmt} file", path)
    return payload


# --- models -------------------------------------------------------------------

def _manifold(model_cfg: Dict[str, Any]):
    from ..manifolds import Euclidean, Lorentz, PoincareBall

    name, k = model_cfg["manifold"], float(model_cfg["curvature"])
    if name == "euclidean":
        return Euclidean()
    if name == "poincare":
        return PoincareBall(k=k)
    # the margin of Chamberlain 2019 Eq. 19 for the point model, as its default
    return Lorentz(k=k, margin=1e-6 if model_cfg["name"] == "hyperbolic" else 0.0)


def build_model(config: Dict[str, Dict[str, Any]], num_users: int, num_items: int) -> nn.Module:
    r"""The model a resolved configuration describes, freshly initialised.

    Raises:
        ConfigError: For settings the model refuses (one line).
    """
    from ..nn.models import (HyperbolicGraphRecommender, HyperbolicRecommender, LightGCNRecommender,
                             PopularityRecommender)

    m = config["model"]
    try:
        if m["name"] == "popularity":
            return PopularityRecommender(num_items)
        if m["name"] == "lightgcn":
            return LightGCNRecommender(num_users, num_items, dim=m["dim"], num_layers=m["num_layers"])
        if m["name"] == "graph":
            return HyperbolicGraphRecommender(
                num_users, num_items, dim=m["dim"], num_layers=m["num_layers"], manifold=_manifold(m),
                aggregation=m["aggregation"], combine=m["combine"], include_input=m["include_input"],
                normalization=m["normalization"], self_loops=m["self_loops"], score_kind=m["score_kind"],
                init_scale=m["init_scale"], parameterization=m["parameterization"],
                root_alignment=m["root_alignment"], origin_weight=m["origin_weight"],
                hard_negatives=m["hard_negatives"], adaptive_margin=m.get("adaptive_margin", False))
        return HyperbolicRecommender(num_users, num_items, dim=m["dim"], manifold=_manifold(m),
                                     asymmetric=m["users"] == "midpoint", score_kind=m["score_kind"],
                                     init_width=m["init_scale"], parameterization=m["parameterization"])
    except ValueError as err:
        raise ConfigError(f"[model]: {err}") from None


def build_optimizer(config: Dict[str, Dict[str, Any]], model: nn.Module) -> torch.optim.Optimizer:
    r"""``torch.optim.Adam`` or :class:`~hypgraph.optim.RiemannianAdam`, as
    ``train.optimizer`` says."""
    from ..optim import RiemannianAdam

    t = config["train"]
    kind = torch.optim.Adam if t["optimizer"] == "adam" else RiemannianAdam
    return kind(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])


class Run:
    r"""A run folder, read: its configuration and its data; :meth:`model`
    rebuilds the trained model.

    Raises:
        DataFormatError: If the folder is not a finished run (one line
            naming the missing or bad file).
    """

    def __init__(self, folder: Union[str, os.PathLike], *, need_model: bool = True) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            what = "not a folder" if self.folder.exists() else "no such folder"
            raise DataFormatError(f"{what}; expected a run folder written by hypgraph train", self.folder)
        config_path = self.folder / CONFIG
        if not config_path.is_file():
            raise DataFormatError(f"no {CONFIG}; expected a run folder written by hypgraph train", self.folder)
        try:
            self.config = read_run_config(config_path)
        except ConfigError as err:
            raise DataFormatError(str(err).replace(f"{config_path}: ", ""), config_path) from None
        self.data = RunData.load(self.folder / DATA)
        if need_model and not (self.folder / MODEL).is_file():
            raise DataFormatError(f"no {MODEL}: the run has not finished training (continue it with "
                                  f"hypgraph train --out {self.folder} --resume)", self.folder)

    def model(self) -> nn.Module:
        r"""The trained model in ``eval`` mode; graph models propagate over
        the training pairs."""
        payload = _load(self.folder / MODEL, MODEL_FORMAT)
        model = build_model(self.config, self.data.num_users, self.data.num_items)
        try:
            model.load_state_dict(payload["state_dict"])
        except (KeyError, RuntimeError) as err:
            message = " ".join(str(err).split())[:200]
            raise DataFormatError(f"does not fit the model of {CONFIG} ({message})", self.folder / MODEL) from None
        if callable(getattr(model, "set_graph", None)):
            model.set_graph(self.data.train)
        return model.eval()

    @staticmethod
    def save_model(folder: Path, model: nn.Module) -> None:
        # on the CPU whatever trained it: model.pt opens on a machine without the GPU, no map_location needed
        state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
        atomic_write_bytes(folder / MODEL, {"format": MODEL_FORMAT, "state_dict": state})


def opt(value: Any) -> Optional[Any]:
    r"""``None`` for :data:`NONE`, else :obj:`value`."""
    return None if value == NONE else value
