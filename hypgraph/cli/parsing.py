r"""What every ``hypgraph`` subcommand's parser shares: its help, its
description, examples after the options, (for the commands that read a
trained run) the ``RUN_DIR`` argument, and ``--device``."""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["subcommand", "add_device", "device_of"]


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


def add_device(parser: argparse.ArgumentParser, what: str, note: str = "") -> None:
    r"""``--device`` (default ``auto``): where :obj:`what` runs."""
    parser.add_argument("--device", default="auto", metavar="DEVICE",
                        help=f"where to {what}: cpu, cuda, cuda:N or auto (a CUDA device when there is one)"
                             f"{note} (default: auto)")


def device_of(args: argparse.Namespace):
    r"""``args.device`` as a :class:`torch.device`; a bad or absent device is
    one line (:class:`~hypgraph.cli.errors.CommandError`, exit 2)."""
    from ..train import resolve_device
    from .errors import CommandError

    try:
        return resolve_device(args.device)
    except ValueError as err:
        raise CommandError(f"--device: {err}") from None
