"""The one error type users see for bad input data."""
from __future__ import annotations

import os
from typing import Optional, Union

__all__ = ["DataFormatError"]


class DataFormatError(ValueError):
    r"""Malformed or inconsistent input data.

    Its message is one line: ``<file>:<line>: <what was expected>``, so that a
    command-line tool can print it as is and exit with status 2.

    Args:
        path (str or os.PathLike, optional): The offending file.
        line (int, optional): 1-based line number in :obj:`path`.
        message (str): What was found and what was expected.
    """

    def __init__(
        self,
        message: str,
        path: Optional[Union[str, os.PathLike]] = None,
        line: Optional[int] = None,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.reason = " ".join(str(message).split())  # always one line
        where = self.path or "<data>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {self.reason}")
