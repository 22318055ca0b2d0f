r"""What RiemannianSGD and RiemannianAdam share: validation of every param
group and the step loop over parameters with gradients."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["RiemannianOptimizer"]


class RiemannianOptimizer(Optimizer):
    """Base class: subclasses define :meth:`_check` (validate a group's
    settings) and :meth:`_update` (step one parameter)."""

    @staticmethod
    def _check(group: dict) -> None:
        raise NotImplementedError

    def _update(self, param: Tensor, group: dict) -> None:
        raise NotImplementedError

    def add_param_group(self, param_group: dict) -> None:
        self._check({**self.defaults, **param_group})
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None):
        r"""Perform one optimisation step.

        Args:
            closure (callable, optional): Re-evaluates the model and returns
                the loss (default: ``None``).
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss
