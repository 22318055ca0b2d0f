r"""``hypgraph recommend``: the top-k unseen items of users of a trained run,
raw ids in and out, computed a chunk of users and a block of items at a time
(:func:`~hypgraph.nn.models.recommend_chunked`) so memory stays bounded for
any number of users and any catalogue; or, with ``--index``, searched in a
faiss index of the items (:class:`~hypgraph.nn.models.ItemIndex`)."""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from pathlib import Path
from typing import List, Optional, TextIO, Tuple

import torch

from ..data import DataFormatError
from ..data.history import InteractionCSR
from ..nn.models.index import import_faiss
from ..nn.models.retrieval import ITEM_CHUNK, USER_CHUNK, recommend_chunked
from .errors import CommandError
from .parsing import add_device, device_of, subcommand
from .run import Run, RunData

__all__ = ["add_parser", "run", "read_users", "write_recommendations"]

EXAMPLES = """\
examples:
  hypgraph recommend run --all --k 10 --out recs.csv
  hypgraph recommend run --users users.txt --k 20      # CSV on stdout
  hypgraph recommend run --all --index hnsw --out recs.csv   # large catalogues

USERS FILE: one raw user id per line (as in the training data; blank lines
and lines starting with '#' are skipped; of a 'user,...' CSV line the first
field is read). Users the run has not seen are reported on stderr and left
out. The output is CSV with the header user,rank,item,score (rank from 1,
score as the model computes it, higher is better); items the user
interacted with in the training part are never recommended (--exclude all:
nor those of the validation and test parts).

INDEX: exact scores every item (default); flat searches a faiss index of the
items, the same items up to float32 near-ties; hnsw searches a faiss graph,
approximate (most of the exact top-k) and much faster on a catalogue of
millions. Both need faiss: pip install "hypgraph-pyg[serve]"."""


def add_parser(commands) -> None:
    p = subcommand(
        commands, "recommend", help="top-k unseen items for users of a trained run (CSV, raw ids)",
        description="Recommend the K best items each user has not interacted with, with the model of RUN_DIR.",
        examples=EXAMPLES)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--users", type=Path, metavar="FILE", help="the users, one raw id per line")
    who.add_argument("--all", action="store_true", help="every user of the training data")
    p.add_argument("--k", type=int, default=20, help="items per user (default: 20)")
    p.add_argument("--out", type=Path, metavar="FILE", help="CSV file to write (default: stdout)")
    p.add_argument("--exclude", choices=("train", "all"), default="train",
                   help="leave out the items of the user's training interactions, or of all its "
                        "interactions in the run (default: train)")
    p.add_argument("--user-chunk", type=int, default=USER_CHUNK, metavar="N",
                   help=f"users ranked at once (default: {USER_CHUNK})")
    p.add_argument("--item-chunk", type=int, default=ITEM_CHUNK, metavar="N",
                   help=f"items scored at once: memory is about user-chunk x item-chunk scores "
                        f"(default: {ITEM_CHUNK})")
    add_device(p, "rank", "; faiss indexes search on the CPU")
    p.add_argument("--index", choices=("exact", "flat", "hnsw"), default="exact",
                   help="how items are searched: every item scored, or a faiss index (see INDEX below; "
                        "default: exact)")
    p.set_defaults(run=run)


def read_users(path: Path, data: RunData) -> Tuple[torch.Tensor, List[str]]:
    r"""The user indices named in :obj:`path` (in order, each once) and the
    ids that are not users of the run.

    Raises:
        DataFormatError: If the file cannot be read or names no user.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise DataFormatError(f"{err.strerror or err}; expected a file of user ids, one per line", path) from None
    except UnicodeDecodeError as err:
        raise DataFormatError(f"not UTF-8 text (byte {err.start}); expected user ids, one per line", path) from None
    lookup = {raw: index for index, raw in enumerate(data.id_strings("user"))}
    chosen, seen, unknown = [], set(), []
    count = 0
    for line in text.splitlines():
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        count += 1
        index = None
        for candidate in _candidates(token):
            index = lookup.get(candidate, lookup.get(_canonical_int(candidate)))
            if index is not None:
                break
        if index is None:
            unknown.append(token)
        elif index not in seen:
            seen.add(index)
            chosen.append(index)
    if count == 0:
        raise DataFormatError("no user id in the file; expected user ids, one per line", path)
    if not chosen:
        raise DataFormatError(f"none of its {count:,} ids is a user of the run (first: {unknown[0]!r})", path)
    return torch.tensor(chosen, dtype=torch.long), unknown


def _candidates(line: str) -> List[str]:
    # the whole line, else its first field (CSV/TSV), else its first word
    first = line
    for sep in ("\t", ",", ";", "|"):
        first = first.split(sep, 1)[0].strip()
    return [line, first.strip('"'), line.split()[0]]


def _canonical_int(token: str) -> Optional[str]:
    # "007" names user 7 when the run's ids are integers
    try:
        return str(int(token))
    except ValueError:
        return None


def write_recommendations(out: TextIO, data: RunData, chunks) -> int:
    r"""Write ``user,rank,item,score`` rows for the chunks of
    :func:`~hypgraph.nn.models.recommend_chunked`; returns the row count."""
    users, items = data.id_strings("user"), data.id_strings("item")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user", "rank", "item", "score"])
    rows = 0
    for batch, top, scores in chunks:
        for user, row, values in zip(batch.tolist(), top.tolist(), scores.tolist()):
            for rank, (item, score) in enumerate(zip(row, values), start=1):
                if item < 0 or math.isnan(score):
                    break
                writer.writerow([users[user], rank, items[item], f"{score:.6g}"])
                rows += 1
    return rows


def run(args: argparse.Namespace) -> int:
    for name in ("k", "user_chunk", "item_chunk"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.index != "exact":
        try:
            import_faiss()
        except ImportError as err:
            raise CommandError(f"--index {args.index}: {err}") from None
    device = device_of(args)  # before any reading
    folder = Run(args.run_dir)
    data = folder.data
    if args.all:
        users = torch.arange(data.num_users)
    else:
        users, unknown = read_users(args.users, data)
        if unknown:
            print(f"hypgraph recommend: warning: {args.users}: {len(unknown):,} ids are not users of the run "
                  f"and were left out (first: {unknown[0]!r})", file=sys.stderr)
    model = folder.model().to(device)
    history = data.history("train")
    exclude = history
    if args.exclude == "all":
        exclude = InteractionCSR(torch.cat([data.train, data.valid, data.test], dim=1), data.num_users)
    chunks = recommend_chunked(model, users, args.k, history, exclude=exclude, user_chunk=args.user_chunk,
                               item_chunk=args.item_chunk, index=None if args.index == "exact" else args.index)
    if args.out is None:
        rows = write_recommendations(sys.stdout, data, chunks)
    else:
        # written beside and renamed: an interrupted run leaves no half file
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                rows = write_recommendations(fh, data, chunks)
            os.replace(tmp, args.out)
        finally:
            tmp.unlink(missing_ok=True)
        print(f"hypgraph recommend: {rows:,} recommendations for {users.numel():,} users -> {args.out}",
              file=sys.stderr)
    return 0

