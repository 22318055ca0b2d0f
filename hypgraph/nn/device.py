r"""The device a module lives on, for code that makes tensors beside it
(ranking, retrieval, training)."""
from __future__ import annotations

import itertools
from typing import Optional

import torch
from torch import nn

__all__ = ["module_device"]


def module_device(module: nn.Module, default: Optional[torch.device] = None) -> torch.device:
    r"""The device of :obj:`module`'s first parameter (or buffer); :obj:`default`
    (the CPU when ``None``) for a module that holds neither."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return default or torch.device("cpu")
