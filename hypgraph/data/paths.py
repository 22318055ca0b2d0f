"""Where real datasets live: an explicit argument, else ``$HYPGRAPH_DATA``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

__all__ = ["ENV_VAR", "data_root"]

ENV_VAR = "HYPGRAPH_DATA"


def data_root(root: Optional[Union[str, os.PathLike]] = None) -> Path:
    r"""Resolve the data root.

    Args:
        root (str or os.PathLike, optional): Explicit root; wins when given.

    Raises:
        ValueError: If neither :obj:`root` nor ``$HYPGRAPH_DATA`` is set.
    """
    if root is None:
        root = os.environ.get(ENV_VAR)
    if not root:
        raise ValueError(
            f"no data root: pass root=... or set the {ENV_VAR} environment variable "
            f"to the folder that holds the datasets")
    return Path(root).expanduser()
