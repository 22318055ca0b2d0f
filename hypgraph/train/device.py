r"""Where training runs: one :class:`torch.device` named by the user
(``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"``) and the model's own."""
from __future__ import annotations

from typing import Union

import torch
from ..nn.device import module_device

__all__ = ["resolve_device", "module_device", "DeviceSpec"]

DeviceSpec = Union[str, torch.device, None]


def resolve_device(spec: DeviceSpec) -> torch.device:
    r"""The :class:`torch.device` of :obj:`spec`: ``"auto"`` is the current
    CUDA device when one is available, else the CPU; anything else is parsed
    by :class:`torch.device`.

    Raises:
        ValueError: For a spelling :class:`torch.device` rejects, or a CUDA
            device this machine does not have (named, with how many it has).
    """
    if isinstance(spec, torch.device):
        device = spec
    else:
        text = str(spec).strip().lower()
        if text == "auto":
            return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() \
                else torch.device("cpu")
        try:
            device = torch.device(text)
        except RuntimeError:
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {spec!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {str(device)!r} asked for, but this torch has no CUDA device "
                             f"(torch {torch.__version__}; use 'cpu' or 'auto')")
        index = torch.cuda.current_device() if device.index is None else device.index
        if index >= count:
            raise ValueError(f"device {str(device)!r} asked for, but there are {count} CUDA devices")
        device = torch.device("cuda", index)
    elif device.type != "cpu":
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {spec!r}")
    return device
