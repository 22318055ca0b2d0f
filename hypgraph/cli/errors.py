r"""The command line's own error: a bad argument or input found by a
command rather than by :mod:`argparse` or a reader."""
from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(ValueError):
    r"""One line for the user; the command exits with status 2."""
