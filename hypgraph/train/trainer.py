r"""Mini-batch training with vectorised negative sampling, validation,
early stopping, atomic checkpoints and exact resume."""
from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from tqdm.auto import tqdm

from ..data.history import InteractionCSR, Interactions
from ..data.negative import sample_negatives
from ..nn.losses import bpr_loss, hinge_loss, wmrb_loss
from .callbacks import TRAIN_SECONDS, VALIDATION_SECONDS, Callback
from . import distributed
from .device import DeviceSpec, module_device, resolve_device
from .evaluation import check_model_fits
from .metrics import full_ranking_metrics

__all__ = ["Trainer", "FitResult", "METRICS", "parse_metric"]

LOSSES = ("bpr", "wmrb", "hinge")
#: The margin of each loss that has one, when ``Trainer(margin=None)``.
DEFAULT_MARGINS = {"wmrb": 1.0, "hinge": 0.1}
#: Validation metrics :meth:`Trainer.validate` reports, each as ``name@K``.
METRICS = ("recall", "precision", "ndcg", "ndcg_kgat")


def parse_metric(metric: str) -> int:
    r"""The cut-off :math:`K` of a validation metric ``name@K`` (``name`` one
    of :data:`METRICS`, :math:`K \ge 1`).

    Raises:
        ValueError: For any other spelling, before any training is done.
    """
    name, at, k = str(metric).partition("@")
    if name not in METRICS or not at or not k.isdigit() or int(k) < 1:
        raise ValueError(f"metric must be one of {', '.join(m + '@K' for m in METRICS)} with K >= 1 "
                         f"(e.g. 'ndcg@10'), got {metric!r}")
    return int(k)


#: Keys of an epoch record that time it rather than measure the model.
TIMING = ("seconds", TRAIN_SECONDS, VALIDATION_SECONDS)


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns.

    Attributes:
        best_epoch (int): The epoch whose state the model holds (0 if none
            was validated).
        best_metrics (Dict[str, float]): That epoch's record without its
            timings: ``epoch``, ``loss`` and the validation metrics.
        records (List[Dict[str, float]]): One record per epoch, as logged:
            ``epoch``, ``loss``, the validation metrics, ``seconds``,
            ``train_seconds`` and ``validation_seconds``.
    """
    best_epoch: int
    best_metrics: Dict[str, float]
    records: List[Dict[str, float]] = field(default_factory=list)

    @property
    def history(self) -> List[Dict[str, float]]:
        """Deprecated name of :attr:`records` (``history`` is a user's
        interactions everywhere else); removed in the next release."""
        warnings.warn("FitResult.history is deprecated, use FitResult.records (the epoch log); "
                      "it will be removed in the next release", DeprecationWarning, stacklevel=2)
        return self.records


class Trainer:
    r"""Trains a recommender (e.g. :class:`~hypgraph.nn.models.HyperbolicRecommender`)
    on a split from :mod:`hypgraph.data.split`.

    Every epoch (:meth:`train_epoch`) shuffles the training interactions,
    draws ``num_negatives`` unseen items per positive
    (:func:`~hypgraph.data.sample_negatives`), takes one optimiser step per
    mini-batch (:meth:`_step`) on BPR ([Chamberlain 2019]
    Eq. 13), WMRB (Eq. 15-16) or the margin hinge of HGCF
    (:func:`~hypgraph.nn.hinge_loss`; each pair's margin scaled by the model's
    ``margin_weights(users, pos)`` where that returns one, HICF's adaptive
    margin), plus the model's ``auxiliary_loss(users, pos,
    neg, generator=...)`` where it has one (e.g. the KG regulariser of
    :class:`~hypgraph.nn.models.HyperKnow`, Hyper-Know Eq. 8), then ranks all
    items for the validation users (full ranking, chunked) and keeps the best
    state by ``metric``; training
    stops after ``patience`` epochs without improvement and the best state is
    loaded back. With ``eval_every`` N > 1 the ranking runs after every N-th
    epoch and after the last one only (on a large catalogue it can cost more
    than the epoch): the epochs between keep their loss and timings, and
    patience still counts epochs since the best validated one, checked at
    each validation.

    Each part of the split is indexed once
    (:meth:`Interactions.of <hypgraph.data.history.Interactions.of>`: the
    users' histories, the positives negative sampling excludes), and the same
    index serves every epoch, every validation and a later
    :func:`~hypgraph.train.evaluate_full` of that part. :obj:`callbacks` see
    the loop (:class:`~hypgraph.train.Callback`); each epoch's record times
    training and validation separately.

    All randomness flows from one :class:`torch.Generator` seeded with
    ``seed``, whose state is checkpointed with the model and optimiser, so a
    run resumed from a checkpoint ends exactly where an uninterrupted run does.
    Checkpoints are written atomically (temporary file, then rename) and read
    with ``torch.load(weights_only=True)``.

    **Devices.** The model is moved to :obj:`device` once, and every tensor
    of the loop lives there: the shuffled order, the batches, the negatives
    (drawn by :func:`~hypgraph.data.sample_negatives`'s exact method off the
    CPU, which has no data-dependent shapes), the users' histories, the
    validation ranking and the generator. Inside an epoch the host reads the
    device only every :obj:`log_every` batches (the running loss for the
    progress bar and the finiteness check) and for a callback that
    overrides ``on_batch_end`` (it is handed each batch's loss as a float).

    **Several processes.** Inside a :mod:`torch.distributed` process group
    (``torchrun``; :mod:`hypgraph.train.distributed`) the trainer trains
    data-parallel: every rank draws the same order and negatives, takes its
    contiguous share of each batch, and the gradients are summed over the
    ranks (each weighted by its share) before the step, so the replicas stay
    identical and the step is the one-process step on the whole batch. Rank 0
    writes the log and the checkpoints; every rank resumes from the same
    checkpoint.
    Randomness inside the model (e.g. KG neighbour samples) comes from a
    generator per rank, seeded from :obj:`seed`, the epoch and the rank.
    Validation is shared too: each rank ranks its share of the users, and the
    metrics are summed over the ranks (the same numbers on every rank).

    Args:
        model (torch.nn.Module): Has ``forward(users, pos, neg, history)`` returning
            ``(pos_score [B], neg_score [B, k])``, ``user_points`` and ``rank_scores``.
        optimizer (torch.optim.Optimizer): E.g. :class:`~hypgraph.optim.RiemannianSGD`.
        loss (str): ``'bpr'``, ``'wmrb'`` or ``'hinge'`` (default: ``'bpr'``).
        num_negatives (int, optional): Per positive (default: 10 for WMRB, else 1).
        batch_size (int): Positives per step (default: ``1024``).
        max_epochs (int): (default: ``50``)
        patience (int): Epochs since the best validated one before stopping,
            checked at each validation (default: ``5``).
        eval_every (int): Validate after every this many epochs and after
            ``max_epochs`` (default: ``1``, every epoch).
        metric (str): Validation metric to maximise (default: ``'ndcg@10'``).
        seed (int): (default: ``0``)
        log_path (str or Path, optional): JSON-lines log, one line per epoch.
        checkpoint_path (str or Path, optional): Written after every epoch.
        progress (bool): tqdm progress bar on stderr (default: ``True``).
        margin (float, optional): Margin of WMRB or of the hinge (default:
            :data:`DEFAULT_MARGINS`: 1.0 for WMRB as in the paper, 0.1 for the
            hinge as in HGCF).
        reduction (str): How the ranking loss is reduced over a batch's
            positives: ``'mean'`` or ``'sum'`` (HGCF's; the step then grows
            with the batch size) (default: ``'mean'``).
        wmrb_margin (float, optional): Deprecated name of :obj:`margin`.
        callbacks (Sequence[Callback]): Hooks called during :meth:`fit` and
            :meth:`train_epoch`, in order; kept in :attr:`callbacks`, a list
            (default: none).
        device (str or torch.device, optional): Where to train: ``'cpu'``,
            ``'cuda'``, ``'cuda:N'`` or ``'auto'`` (CUDA when available); the
            model (and so the optimiser's parameters) is moved there. (default:
            ``None``, the device the model's parameters are on)
        log_every (int, optional): Batches between the host's reads of the
            running loss: the progress bar's figure and the check that the
            loss is finite (a non-finite loss raises
            :class:`FloatingPointError` at the next read, and :meth:`fit` puts
            back the best parameters). (default: ``None``: every batch on the
            CPU, where a read costs nothing and no step is taken on a
            non-finite loss; every 50 batches on an accelerator)
        negative_sampling (str, optional): ``'rejection'`` or ``'exact'``,
            the ``method`` of :func:`~hypgraph.data.sample_negatives` (both
            uniform over the unseen items). (default: ``None``: rejection on
            the CPU, exact elsewhere)
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, loss: str = "bpr",
                 num_negatives: Optional[int] = None, batch_size: int = 1024, max_epochs: int = 50,
                 patience: int = 5, metric: str = "ndcg@10", seed: int = 0,
                 log_path: Optional[Union[str, os.PathLike]] = None,
                 checkpoint_path: Optional[Union[str, os.PathLike]] = None,
                 progress: bool = True, margin: Optional[float] = None, reduction: str = "mean",
                 callbacks: Sequence[Callback] = (), wmrb_margin: Optional[float] = None,
                 device: DeviceSpec = None, log_every: Optional[int] = None,
                 negative_sampling: Optional[str] = None, eval_every: int = 1) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if wmrb_margin is not None:
            warnings.warn("Trainer(wmrb_margin=...) is deprecated; use margin=...", DeprecationWarning, stacklevel=2)
            margin = wmrb_margin if margin is None else margin
        if margin is not None and (loss not in DEFAULT_MARGINS or not margin >= 0):
            raise ValueError(f"margin applies to the losses {tuple(DEFAULT_MARGINS)} and must be >= 0, "
                             f"got margin={margin} with loss={loss!r}")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        if batch_size < 1 or max_epochs < 1 or patience < 1:
            raise ValueError(f"batch_size, max_epochs and patience must be >= 1, "
                             f"got {batch_size}, {max_epochs}, {patience}")
        if not (isinstance(eval_every, int) and eval_every >= 1):
            raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
        if log_every is not None and not (isinstance(log_every, int) and log_every >= 1):
            raise ValueError(f"log_every must be a positive integer or None, got {log_every!r}")
        self.device = module_device(model) if device is None else resolve_device(device)
        model.to(self.device)
        self.log_every = log_every or (1 if self.device.type == "cpu" else 50)
        if negative_sampling not in (None, "rejection", "exact"):
            raise ValueError(f"negative_sampling must be 'rejection', 'exact' or None, got {negative_sampling!r}")
        self.negative_sampling = negative_sampling
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        self._all_reduce: Optional[distributed.GradientAllReduce] = None
        if self.world_size > 1:
            distributed.broadcast_state(model)  # the replicas start identical
            self._all_reduce = distributed.GradientAllReduce(
                [p for group in optimizer.param_groups for p in group["params"]])
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.num_negatives = num_negatives or (1 if loss == "bpr" else 10)
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.metric, self.seed, self.progress = metric, seed, progress
        self.eval_every = eval_every
        self.margin = DEFAULT_MARGINS.get(loss) if margin is None else float(margin)
        if getattr(model, "adaptive_margin", False) and loss != "hinge":
            raise ValueError(f"the model's adaptive margin (HICF) scales the hinge's margin; use loss='hinge', "
                             f"not {loss!r}")
        self.reduction = reduction
        self.k = parse_metric(metric)
        self.log_path = None if log_path is None else Path(log_path)
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.callbacks: List[Callback] = list(callbacks)
        self._epoch_number = 0
        self._read_loss = True  # whether _step checks this batch's loss (a read of the device)
        self._share = 1.0  # this rank's weight in the sum of gradients over the ranks

    # --- training -------------------------------------------------------
    def fit(self, train_data: HeteroData, val_data: HeteroData, *, resume: bool = False) -> FitResult:
        r"""Train until ``max_epochs`` or early stopping.

        Args:
            train_data (HeteroData): Its interactions are the training positives.
            val_data (HeteroData): ``edge_label_index`` holds validation positives.
            resume (bool): Continue from ``checkpoint_path`` if it exists.
        """
        train = Interactions.of(train_data, what="train_data").to(self.device)
        if train.num_pairs == 0:
            raise ValueError("no training interactions")
        check_model_fits(self.model, train_data, "train_data")
        val_edges = Interactions.of(val_data, labels=True, what="val_data").to(self.device).labels
        if self.k > train.num_items:
            raise ValueError(f"metric {self.metric!r} ranks {self.k} items, but there are {train.num_items}")
        state = self._fresh_state()
        if self.checkpoint_path is not None and self.rank == 0:
            # a save killed between write and rename leaves its temporary file
            self._temporary(self.checkpoint_path).unlink(missing_ok=True)
        if resume and self.checkpoint_path is not None and self.checkpoint_path.exists():
            state = self._load(self.checkpoint_path)
            # the log says what the checkpoint holds: a run killed between
            # its save and its log line neither repeats nor loses an epoch
            self._rewrite_log(state["records"])
        generator = torch.Generator(device=self.device).manual_seed(self.seed)
        if state["generator"] is not None:
            saved = state.get("generator_device", "cpu")
            if saved != self.device.type:
                raise ValueError(f"the checkpoint {self.checkpoint_path} was written by a run on {saved}; its "
                                 f"random stream cannot continue on {self.device.type} (resume it on {saved})")
            generator.set_state(state["generator"])
        # what a non-finite loss rolls back to when no epoch has been validated yet
        start_state = copy.deepcopy(self._state_dicts()) if state["best_state"] is None else None

        for epoch in range(state["epoch"] + 1, self.max_epochs + 1):
            self._notify("on_epoch_start", epoch)
            start = time.perf_counter()
            try:
                loss = self.train_epoch(train, generator, epoch)
            except FloatingPointError as exc:
                raise FloatingPointError(f"{exc}; {self._roll_back(state, start_state)}") from None
            trained = time.perf_counter()
            validated = epoch % self.eval_every == 0 or epoch == self.max_epochs
            metrics = {}
            if validated:
                metrics = self.validate(train, val_edges) if self.world_size == 1 else \
                    self._validate_in_shares(train, val_edges)
            end = time.perf_counter()
            record = {"epoch": epoch, "loss": loss, **metrics, "seconds": end - start,
                      TRAIN_SECONDS: trained - start, VALIDATION_SECONDS: end - trained}
            state["records"].append(record)
            if validated and metrics[self.metric] > state["best_value"]:
                state.update(best_value=metrics[self.metric], best_epoch=epoch, bad_epochs=0,
                             best_state=copy.deepcopy(self.model.state_dict()))
            elif validated:
                # epochs since the best validated one (one a validation when eval_every is 1)
                state["bad_epochs"] = epoch - state["best_epoch"]
            state["epoch"], state["generator"] = epoch, generator.get_state()
            state["generator_device"] = self.device.type
            if self.checkpoint_path is not None and self.rank == 0:
                self._save(state, self.checkpoint_path)
            self._log(record)
            self._notify("on_epoch_end", epoch, record)
            if validated and state["bad_epochs"] >= self.patience:
                break
        if state["best_state"] is not None:
            self.model.load_state_dict(state["best_state"])
        best = next((r for r in state["records"] if r["epoch"] == state["best_epoch"]), {})
        return FitResult(state["best_epoch"], {k: v for k, v in best.items() if k not in TIMING}, state["records"])

    def train_epoch(self, train: Interactions, generator: torch.Generator, epoch: int = 1, *,
                    max_batches: Optional[int] = None) -> float:
        r"""One training pass over :obj:`train`: shuffle its pairs with
        :obj:`generator`, then per mini-batch draw negatives (excluding
        ``train.positives``) and take one optimiser step (:meth:`_step`),
        calling the callbacks' ``on_batch_start``/``on_batch_end``.
        :meth:`fit` calls it once per epoch.

        Args:
            train (Interactions): The training pairs.
            generator (torch.Generator): All randomness of the pass.
            epoch (int): Its number, for the progress bar, errors and the
                callbacks (default: ``1``).
            max_batches (int, optional): Stop after this many mini-batches,
                e.g. to time a few (default: ``None``, the whole epoch).

        Returns:
            float: The mean loss per positive over the batches taken.
        """
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"max_batches must be >= 1 or None, got {max_batches}")
        self.model.train()
        self._epoch_number = epoch
        train = train.to(self.device)
        step_generator = generator
        if self.world_size > 1:
            # the shared generator draws the order and the whole batch's
            # negatives alike on every rank; the model's own draws are the rank's
            step_generator = torch.Generator(device=self.device).manual_seed(
                hash((self.seed, epoch, self.rank)) & (2 ** 63 - 1))
        edge_index, known, history = train.edge_index, train.positives, train.csr
        order = torch.randperm(edge_index.size(1), generator=generator, device=self.device)
        batches = order.split(self.batch_size)[:max_batches]
        # the loss summed over positives, on the device: read every log_every batches
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        per_batch = any(_overrides(callback, "on_batch_end") for callback in self.callbacks)
        # every batch: each loss checked before its step, so none is taken on a non-finite one
        self._read_loss = self.log_every == 1
        mean = math.nan
        bar = tqdm(batches, desc=f"epoch {epoch}", disable=not self.progress, leave=False)
        for number, batch in enumerate(bar):
            self._notify("on_batch_start", epoch, number)
            read = per_batch or (number + 1) % self.log_every == 0 or number + 1 == len(batches)
            pos = edge_index[:, batch]
            neg = sample_negatives(pos, train.num_items, self.num_negatives, generator=generator, exclude=known,
                                   method=self.negative_sampling)
            if self.world_size > 1:
                mine = distributed.shard_bounds(batch.numel(), self.world_size, self.rank)
                self._share = len(mine) / batch.numel() if self.reduction == "mean" else 1.0
                pos, neg = pos[:, mine.start:mine.stop], neg[mine.start:mine.stop]
            loss = self._step(pos[0], pos[1], neg, history, step_generator)
            total += loss.double() * batch.numel()
            count += batch.numel()
            if read:
                mean = float(total) / count
                if not math.isfinite(mean):  # a batch since the last read (its step is taken)
                    raise FloatingPointError(f"non-finite loss {mean} in epoch {epoch} (batches up to {number})")
                bar.set_postfix(loss=f"{mean:.4f}")
                if per_batch:
                    self._notify("on_batch_end", epoch, number, float(loss))
        self._read_loss = True
        return mean

    def _notify(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)

    def _step(self, users: Tensor, pos: Tensor, neg: Tensor, history: InteractionCSR,
              generator: torch.Generator) -> Tensor:
        """One optimiser step on a batch of ``[B]`` users, ``[B]`` positives and
        ``[B, k]`` negatives; returns the batch loss, detached, on the device
        (a 0-dim tensor: reading it waits for the device). Subclasses override
        it (:class:`~hypgraph.train.BilevelTrainer`)."""
        if self._all_reduce is None:
            loss = self._loss(users, pos, neg, history, generator)
            self._check_finite(loss)
            self.optimizer.zero_grad()
            loss.backward()
        else:
            self.optimizer.zero_grad()
            if users.numel():
                loss = self._loss(users, pos, neg, history, generator)
                loss.backward()
            else:  # a batch smaller than the number of ranks: this one adds nothing
                loss = torch.zeros((), device=self.device)
            # the whole batch's gradient and loss, the same on every rank: a
            # non-finite loss anywhere stops every rank before its step
            loss = self._all_reduce(loss, self._share)
            self._check_finite(loss)
        self.optimizer.step()
        return loss.detach()

    def _loss(self, users: Tensor, pos: Tensor, neg: Tensor, history: InteractionCSR,
              generator: Optional[torch.Generator], auxiliary: bool = True) -> Tensor:
        """The ranking loss of the batch plus, when the model defines
        ``auxiliary_loss(users, pos, neg, generator=...)`` (e.g. a KG regulariser)
        and :obj:`auxiliary` is set, that term."""
        pos_score, neg_score = self.model(users, pos, neg, history)
        if self.loss == "bpr":
            loss = bpr_loss(pos_score, neg_score, reduction=self.reduction)
        elif self.loss == "wmrb":
            loss = wmrb_loss(pos_score, neg_score, margin=self.margin, reduction=self.reduction)
        else:
            # a model may scale each pair's margin (HICF's adaptive margin)
            weights = getattr(self.model, "margin_weights", None)
            scale = weights(users, pos) if callable(weights) else None
            margin = self.margin if scale is None else self.margin * scale
            loss = hinge_loss(pos_score, neg_score, margin=margin, reduction=self.reduction)
        extra = getattr(self.model, "auxiliary_loss", None)
        if auxiliary and callable(extra):
            loss = loss + extra(users, pos, neg, generator=generator)
        return loss

    def _check_finite(self, loss: Tensor) -> None:
        # before the step, on the batches whose loss the loop reads anyway
        # (every batch on the CPU): no step is taken on a non-finite loss there
        if self._read_loss and not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {float(loss.detach())} in epoch {self._epoch_number}")

    @torch.no_grad()
    def validate(self, train: Interactions, eval_edges: Tensor,
                 exclude_edge_index: Optional[Tensor] = None) -> Dict[str, float]:
        """Full-ranking metrics of :obj:`eval_edges` (``[2, L]`` pairs), the
        training pairs (and :obj:`exclude_edge_index`) left out of the ranking,
        the users' histories read from :obj:`train`."""
        self.model.eval()
        history = train.csr
        ks = self._validation_ks(train)

        def score(users: Tensor) -> Tensor:
            return self.model.rank_scores(self.model.user_points(users, history))

        seen = train.csr if exclude_edge_index is None else train.edge_index
        return full_ranking_metrics(score, seen, eval_edges, train.num_users, train.num_items, ks=ks,
                                    exclude_edge_index=exclude_edge_index)

    def _validation_ks(self, train: Interactions) -> List[int]:
        return sorted({self.k, 20} & set(range(1, train.num_items + 1))) or [train.num_items]

    def _validate_in_shares(self, train: Interactions, eval_edges: Tensor) -> Dict[str, float]:
        # in a process group: each rank ranks its contiguous share of the
        # validation users, and the per-user sums are added up over the ranks,
        # the same numbers on every rank (so every rank stops at the same epoch)
        users = torch.unique(eval_edges[0])
        mine = distributed.shard_bounds(users.numel(), self.world_size, self.rank)
        names = [f"{name}@{k}" for k in self._validation_ks(train) for name in METRICS]
        part = {name: 0.0 for name in names}
        part["users"] = 0
        if len(mine):
            share = torch.isin(eval_edges[0], users[mine.start:mine.stop])
            part = self.validate(train, eval_edges[:, share])
        sums = torch.tensor([part[name] * part["users"] for name in names] + [part["users"]],
                            dtype=torch.float64, device=self.device)
        distributed.all_reduce(sums)
        total = sums[-1].item()
        out = {name: value / total for name, value in zip(names, sums[:-1].tolist())}
        out["users"] = int(total)
        return out

    def evaluate_split(self, train_edge_index: Tensor, eval_edges: Tensor, num_users: int, num_items: int,
                       history: Optional[InteractionCSR] = None,
                       exclude_edge_index: Optional[Tensor] = None) -> Dict[str, float]:
        """:meth:`validate` from the training pairs as an ``edge_index``
        (:obj:`history`: their :class:`InteractionCSR`, when already built)."""
        train = Interactions(train_edge_index, num_users, num_items, csr=history)
        return self.validate(train, eval_edges, exclude_edge_index)

    # --- state ----------------------------------------------------------
    @staticmethod
    def _fresh_state() -> dict:
        return dict(epoch=0, best_value=-float("inf"), best_epoch=0, bad_epochs=0,
                    best_state=None, records=[], generator=None)

    def _roll_back(self, state: dict, start_state: Optional[dict]) -> str:
        """Put back the best validated parameters (or, before any, those the
        fit started from) so that a diverged run leaves no NaN behind; say which."""
        if state["best_state"] is not None:
            self.model.load_state_dict(state["best_state"])
            return f"the model holds the parameters of its best epoch ({state['best_epoch']}) again"
        self._load_state_dicts(start_state)
        return "the model and optimiser hold the parameters they started this fit with again"

    @staticmethod
    def _temporary(path: Path) -> Path:
        return path.with_name(path.name + ".tmp")

    def _save(self, state: dict, path: Path) -> None:
        payload = {"state": state, **self._state_dicts()}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temporary(path)
        try:
            torch.save(payload, tmp)
            os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint intact
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> dict:
        payload = torch.load(path, weights_only=True)
        self._load_state_dicts(payload)
        state = payload["state"]
        if "history" in state:  # a checkpoint from before the epoch log was renamed
            state["records"] = state.pop("history")
        return state

    def _state_dicts(self) -> dict:
        """What a checkpoint holds besides the loop state (subclasses add to it)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def _load_state_dicts(self, payload: dict) -> None:
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])

    def _rewrite_log(self, records: List[Dict[str, float]]) -> None:
        # the JSON-lines log of a resumed run: exactly the checkpoint's records
        if self.log_path is None or self.rank != 0:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temporary(self.log_path)
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(record) + "\n" for record in records)
        os.replace(tmp, self.log_path)

    def _log(self, record: Dict[str, float]) -> None:
        if self.log_path is None or self.rank != 0:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def _overrides(callback: object, hook: str) -> bool:
    # a hook the callback defines itself, not the no-op of the base class
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)
