r"""``hypgraph``: train a recommender on your own interaction data and use it.

::

    hypgraph train my.csv --out run          # read, split, train, evaluate
    hypgraph recommend run --all --k 10      # top-10 unseen items per user (CSV)
    hypgraph evaluate run --protocol sampled # metrics again, either protocol
    hypgraph export run --format parquet     # embeddings with raw ids
    hypgraph plot run                        # the items in the Poincare disk
    hypgraph stats my.csv                    # = hypgraph-stats (Table 1 statistics)

Exit status: 0 on success, 2 on bad arguments or bad input (one line on
stderr naming the file, the line and what was expected), 130 when training
is interrupted (the run folder can be resumed).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ..data import DataFormatError
from .config import ConfigError
from .errors import CommandError

__all__ = ["main", "build_parser", "CommandError"]

PROG = "hypgraph"


class Parser(argparse.ArgumentParser):
    r"""An argument parser whose usage errors are one line on stderr (exit
    2); the usage itself is in ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import evaluate, export, plot, recommend, train

    parser = Parser(prog=PROG, description="Train a hyperbolic (or Euclidean) recommender on your own "
                                           "interaction data and use it.",
                    epilog=("examples:\n" + __doc__.split("::")[1].split("Exit status")[0].rstrip()
                            + "\n\nrun 'hypgraph COMMAND --help' for a command's options and an example"),
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for module in (train, recommend, evaluate, export, plot):
        module.add_parser(commands)
    commands.add_parser("stats", help="complex-network statistics of a dataset (= hypgraph-stats; "
                                      "see hypgraph stats --help)", add_help=False)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    r"""Run ``hypgraph``.

    Args:
        argv (list of str, optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "stats":
        from analysis.cli import main as stats_main

        return stats_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:                    # --help (0) or a usage error (2)
        return int(exit_.code or 0)
    prog = f"{PROG} {args.command}"
    try:
        return int(args.run(args) or 0)
    except (CommandError, ConfigError, DataFormatError) as err:
        print(f"{prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"{prog}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":                         # pragma: no cover
    sys.exit(main())
