r"""What every ``hypgraph`` subcommand's parser shares: its help, its
description, examples after the options, and (for the commands that read a
trained run) the ``RUN_DIR`` argument."""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["subcommand"]


def subcommand(commands, name: str, *, help: str, description: str, examples: str,
               run_dir: bool = True) -> argparse.ArgumentParser:
    r"""The parser of subcommand :obj:`name` under :obj:`commands` (the
    ``add_subparsers`` object), with :obj:`examples` shown verbatim after the
    options and, when :obj:`run_dir`, its first argument ``RUN_DIR``."""
    parser = commands.add_parser(name, help=help, description=description, epilog=examples,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if run_dir:
        parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by hypgraph train")
    return parser
