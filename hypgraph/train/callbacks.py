r"""Hooks into :meth:`Trainer.fit <hypgraph.train.Trainer.fit>`: what a
benchmark, a logger or a profiler needs to see of the loop without copying it."""
from __future__ import annotations

from typing import Dict

__all__ = ["Callback", "TRAIN_SECONDS", "VALIDATION_SECONDS"]

#: Key of an epoch record: seconds of the training pass alone.
TRAIN_SECONDS = "train_seconds"
#: Key of an epoch record: seconds of the validation ranking alone.
VALIDATION_SECONDS = "validation_seconds"


class Callback:
    r"""Base class of the objects in ``Trainer(callbacks=[...])``. Every hook
    is optional and does nothing here; any object with some of these methods
    works, subclass or not. Hooks run in the order of the list.

    - :meth:`on_epoch_start` and :meth:`on_epoch_end` bracket each epoch of
      :meth:`~hypgraph.train.Trainer.fit` (training pass, validation,
      checkpoint);
    - :meth:`on_batch_start` and :meth:`on_batch_end` bracket each
      mini-batch of :meth:`~hypgraph.train.Trainer.train_epoch` (negative
      sampling, forward, backward, optimiser step), inside :meth:`fit` or not.

    A hook reads the trainer; changing its model, optimiser or generator
    changes the run.
    """

    def on_epoch_start(self, trainer, epoch: int) -> None:
        """Before epoch :obj:`epoch` (from 1) trains."""

    def on_batch_start(self, trainer, epoch: int, batch: int) -> None:
        """Before mini-batch :obj:`batch` (from 0) of the epoch draws its negatives."""

    def on_batch_end(self, trainer, epoch: int, batch: int, loss: float) -> None:
        """After the optimiser step of mini-batch :obj:`batch`, with its loss."""

    def on_epoch_end(self, trainer, epoch: int, record: Dict[str, float]) -> None:
        r"""After epoch :obj:`epoch` was validated, logged and checkpointed.
        :obj:`record` is the epoch's entry of ``FitResult.records``:
        ``epoch``, ``loss``, the validation metrics, ``seconds`` (the whole
        epoch), ``train_seconds`` (:data:`TRAIN_SECONDS`, the training pass
        alone) and ``validation_seconds`` (:data:`VALIDATION_SECONDS`)."""
