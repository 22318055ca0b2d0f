r"""``hypgraph-stats``: Table 1 of Chamberlain et al. 2019 for any
interaction data.

Exit status: 0 on success, 2 on bad input or bad arguments (either printed
as one line on stderr).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional

from .powerlaw_fit import FEWEST_TAIL, SMALL_TAIL, PowerLawFit
from .describe import COLUMNS, DatasetReport, describe
from .load import dataset_name, load_dataset
from .render import FORMATS, format_reports

__all__ = ["main", "build_parser"]

READER_CHOICES = ("auto", "movielens", "kgat", "kgcn", "recbole", "hgcf", "csv")
# Interactions from which the stage progress bar is shown.
LARGE_INPUT = 1_000_000


class _Parser(argparse.ArgumentParser):
    r"""An argument parser whose usage errors are one line on stderr (exit 2),
    like the data errors; the usage itself is in ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _tail_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < FEWEST_TAIL:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= {FEWEST_TAIL} (a fit needs two distinct tail values), "
            f"got {value}")
    return value


def _epilog() -> str:
    max_candidates = PowerLawFit().max_candidates           # the scan's default, described here
    width = max(len(header) for _, header, _ in COLUMNS)
    lines = ["columns (one row per dataset, as in Chamberlain et al. 2019, Table 1):"]
    lines += [f"  {header.ljust(width)}  {text}" for _, header, text in COLUMNS]
    lines += [
        "",
        "power-law fit (Clauset, Shalizi & Newman 2009), of the item degrees (and in JSON of",
        "the user degrees too):",
        "  gamma  discrete maximum-likelihood exponent of p(k) = k^-gamma / zeta(gamma, xmin),",
        "         the Hurwitz-zeta law on the tail k >= xmin, maximised numerically (not the",
        "         continuous formula nor its discrete approximation); never bounded.",
        "  KS     largest distance between the empirical and the fitted CDF of the tail,",
        "         P(k' <= k | k' >= xmin), over every integer k >= xmin (observed or not);",
        "         p(KS) is the one-sample KS test of the n_tail degrees.",
        "  xmin   candidates: every distinct degree >= 1 except the largest whose tail holds",
        "         at least --min-tail items (n_tail >= N); each is fitted and the one with",
        f"         the smallest KS is chosen (the smallest candidate on a tie). Above "
        f"{max_candidates}",
        f"         candidates the large ones are thinned to about {max_candidates} on a "
        "geometric grid.",
        f"         The default --min-tail {FEWEST_TAIL} adds no minimum, as in Clauset et al.: "
        "two",
        "         distinct tail degrees are what a fit needs. If no degree leaves N items,",
        "         every candidate is scanned and a note (JSON) says so.",
        f"  small  a tail of fewer than {SMALL_TAIL} items: 'yes' in the small column "
        "(small_tail in",
        "         JSON and CSV) and one warning line per dataset on stderr; the",
        "         likelihood-ratio comparisons are then skipped.",
        "",
        "--format json adds, per dataset: the user-degree fit, likelihood-ratio tests of the",
        "item-degree power law against lognormal, exponential and truncated power-law tails",
        "(R > 0 favours the power law), the one-mode item projection (degree, weighted degree,",
        "clustering; sampled with standard errors on large graphs), the filter log and timings.",
        "",
        "exit status: 0 on success, 2 on bad input or bad arguments (one line on stderr).",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    r"""The argument parser of ``hypgraph-stats``."""
    parser = _Parser(
        prog="hypgraph-stats",
        description="Complex-network statistics of user-item interaction data: the bipartite "
                    "basics and the maximum-likelihood power-law fit of the item degrees "
                    "(Chamberlain et al. 2019, Table 1; Clauset, Shalizi & Newman 2009). "
                    "Without PATH, reports on the embedded synthetic dataset.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", metavar="PATH", nargs="*", type=Path,
                        help="dataset files or folders (format detected, see --reader)")
    parser.add_argument("--reader", choices=READER_CHOICES, default="auto",
                        help="input format (default: auto-detect; csv is any CSV/TSV/Parquet "
                             "table with a header)")
    parser.add_argument("--min-rating", type=float, metavar="R",
                        help="keep only interactions rated at least R (e.g. 4 for MovieLens)")
    parser.add_argument("--min-user-interactions", type=_non_negative_int, metavar="N",
                        help="keep only users with at least N interactions")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output format (default: table)")
    parser.add_argument("--plot", type=Path, metavar="DIR",
                        help="write a log-log degree-distribution PNG per dataset into DIR")
    parser.add_argument("--bootstrap", type=_non_negative_int, default=0, metavar="N",
                        help="bootstrap repetitions for the goodness-of-fit p-value "
                             "(default: 0, none; Clauset et al. use 2,500)")
    parser.add_argument("--min-tail", type=_tail_size, default=FEWEST_TAIL, metavar="N",
                        help="choose xmin only among degrees whose tail holds at least N items "
                             f"(default: {FEWEST_TAIL}, no minimum beyond what a fit needs; "
                             f"e.g. {SMALL_TAIL} for a larger tail at a larger KS distance)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the bootstrap and of sampled statistics (default: 0)")
    table = parser.add_argument_group("tables (--reader csv)",
                                      "columns are guessed from the header when not given")
    table.add_argument("--user-col", metavar="NAME", help="user column")
    table.add_argument("--item-col", metavar="NAME", help="item column")
    table.add_argument("--rating-col", metavar="NAME", help="rating column (for --min-rating)")
    table.add_argument("--time-col", metavar="NAME", help="integer Unix-time column")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--no-compare", action="store_true",
                       help="skip the likelihood-ratio comparisons")
    speed.add_argument("--no-projection", action="store_true",
                       help="skip the item projection statistics")
    speed.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    r"""Run ``hypgraph-stats``.

    Args:
        argv (list of str, optional): Arguments (default: ``sys.argv[1:]``).

    Returns:
        int: Exit status: 0 on success, 2 on bad input or arguments.
    """
    from hypgraph.data import DataFormatError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:                  # --help (0) or a usage error (2)
        return int(exit_.code or 0)
    reports: List[DatasetReport] = []
    for path in args.paths or [None]:
        try:
            reports.append(_report(path, args))
        except DataFormatError as err:
            print(str(err), file=sys.stderr)
            return 2
        except OSError as err:
            print(f"{path}: {err.strerror or err}", file=sys.stderr)
            return 2
    if args.plot is not None:
        _plot(reports, args.plot)
    sys.stdout.write(format_reports(reports, args.format, bootstrap=args.bootstrap > 0))
    for report in reports:
        fit = report.item_fit
        if fit is not None and fit.small_tail:
            print(f"{parser.prog}: warning: {report.name}: the item-degree power-law tail holds "
                  f"{fit.n_tail} items (< {SMALL_TAIL}; xmin {fit.xmin:g}): gamma and KS rest on "
                  f"few values", file=sys.stderr)
    return 0


def _report(path: Optional[Path], args: argparse.Namespace) -> DatasetReport:
    columns = {"user_col": args.user_col, "item_col": args.item_col,
               "rating_col": args.rating_col, "time_col": args.time_col}
    if args.min_rating is not None and args.rating_col is None and args.reader in {"csv", "auto"}:
        columns["rating_col"] = None if path is None else _guess_rating(path)
    data, n_read = load_dataset(path, args.reader, min_rating=args.min_rating,
                                min_user_interactions=args.min_user_interactions, columns=columns)
    progress = not args.no_progress and (args.bootstrap > 0 or n_read >= LARGE_INPUT)
    return describe(data, name=dataset_name(path), n_read=n_read,
                    source="synthetic" if path is None else str(path),
                    n_bootstrap=args.bootstrap, random_state=args.seed,
                    compare=not args.no_compare, projection=not args.no_projection,
                    fit_options={"min_tail": args.min_tail}, progress=progress)


def _guess_rating(path: Path) -> Optional[str]:
    r"""The rating column of a table (for ``--min-rating``), when there is one
    named like it; other formats carry their ratings themselves."""
    from hypgraph.data.readers import guess_rating_column, read_header

    suffixes = [s for s in path.suffixes if s != ".gz"]
    if not (path.is_file() and suffixes and suffixes[-1] in {".csv", ".tsv", ".txt"}):
        return None
    return guess_rating_column(read_header(path))


def _plot(reports: List[DatasetReport], folder: Path) -> None:
    from .plots import plot_degree_distributions

    used = set()
    for report in reports:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", report.name) or "dataset"
        candidate, k = stem, 2
        while candidate in used:
            candidate, k = f"{stem}_{k}", k + 1
        used.add(candidate)
        plot_degree_distributions(folder / f"{candidate}_degrees.png",
                                  [report.item_degree, report.user_degree],
                                  [report.item_estimator, report.user_estimator],
                                  labels=("item degree", "user degree"), title=report.name)


if __name__ == "__main__":                       # pragma: no cover
    sys.exit(main())
