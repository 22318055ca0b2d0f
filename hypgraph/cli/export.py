r"""``hypgraph export``: the trained embeddings of a run with their raw ids,
in the Poincaré ball and on the hyperboloid (any curvature ``-k``), as
NumPy arrays or Parquet tables."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn

from ..nn.models.retrieval import USER_CHUNK
from .errors import CommandError
from .parsing import subcommand
from .run import Run, RunData

__all__ = ["add_parser", "run", "embeddings", "coordinates"]

EXAMPLES = """\
examples:
  hypgraph export run                         # run/export/*.npy
  hypgraph export run --format parquet --out emb

Written per node type (users, items):
  npy:      {users,items}_id.npy (raw ids: int64, or unicode strings),
            {users,items}_degree.npy (training interactions),
            {users,items}_poincare.npy [n, dim] and _hyperboloid.npy [n, dim + 1]
            (hyperbolic models), or _euclidean.npy [n, dim] (Euclidean ones)
  parquet:  users.parquet, items.parquet with the columns id, degree,
            poincare_0..poincare_{dim-1}, hyperboloid_0..hyperboloid_{dim}
            (or euclidean_0..)
Users are the model's user points: the Einstein midpoint of their training
items for midpoint users, the propagated points of graph models. On the
hyperboloid x_0 is the time-like coordinate, -x_0^2 + |x|^2 = -1/k."""


def add_parser(commands) -> None:
    p = subcommand(
        commands, "export", help="embeddings of a trained run with raw ids (Poincare ball and hyperboloid)",
        description="Write the user and item embeddings of RUN_DIR, in the Poincare ball and on the "
                    "hyperboloid, with their raw ids.",
        examples=EXAMPLES)
    p.add_argument("--format", choices=("npy", "parquet"), default="npy", help="file format (default: npy)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: RUN_DIR/export)")
    p.set_defaults(run=run)


@torch.no_grad()
def embeddings(model: nn.Module, data: RunData) -> Dict[str, Tensor]:
    r"""``{'user': [U, D'], 'item': [I, D']}``: the points the model scores
    with (on its manifold), users computed :data:`USER_CHUNK` at a time.

    Raises:
        CommandError: For a model without embeddings (popularity).
    """
    from ..nn.models import PopularityRecommender

    if isinstance(model, PopularityRecommender):
        raise CommandError("the popularity model has no embeddings (it counts interactions)")
    history = data.history("train")
    users = [model.user_points(chunk, history) for chunk in torch.arange(data.num_users).split(USER_CHUNK)]
    return {"user": torch.cat(users).detach().double(), "item": model.item_points().detach().double()}


def coordinates(model: nn.Module, points: Tensor) -> Dict[str, Tensor]:
    r"""``{'poincare': ..., 'hyperboloid': ...}`` of points on a hyperbolic
    manifold (its :meth:`~hypgraph.manifolds.Manifold.to_poincare` and
    :meth:`~hypgraph.manifolds.Manifold.to_lorentz`), ``{'euclidean': ...}``
    of flat ones."""
    manifold = getattr(model, "manifold", None)
    if manifold is None or manifold.is_flat:
        return {"euclidean": points}
    return {"poincare": manifold.to_poincare(points), "hyperboloid": manifold.to_lorentz(points)}


def _ids(data: RunData, kind: str) -> np.ndarray:
    ids = data.user_ids if kind == "user" else data.item_ids
    return ids.numpy() if isinstance(ids, Tensor) else np.asarray(ids, dtype=str)


def run(args: argparse.Namespace) -> int:
    folder = Run(args.run_dir)
    data = folder.data
    model = folder.model()
    points = embeddings(model, data)
    out: Path = args.out or folder.folder / "export"
    out.mkdir(parents=True, exist_ok=True)
    written: List[str] = []
    for kind, plural in (("user", "users"), ("item", "items")):
        coords = {name: value.numpy() for name, value in coordinates(model, points[kind]).items()}
        degree = torch.bincount(data.train[0 if kind == "user" else 1],
                                minlength=data.num_users if kind == "user" else data.num_items).numpy()
        ids = _ids(data, kind)
        if args.format == "npy":
            files = {"id": ids, "degree": degree, **coords}
            for name, array in files.items():
                path = out / f"{plural}_{name}.npy"
                np.save(path, array, allow_pickle=False)
                written.append(path.name)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = {"id": pa.array(ids.tolist()), "degree": pa.array(degree)}
            for name, array in coords.items():
                for j in range(array.shape[1]):
                    columns[f"{name}_{j}"] = pa.array(array[:, j])
            path = out / f"{plural}.parquet"
            pq.write_table(pa.table(columns), path)
            written.append(path.name)
    print(f"hypgraph export: {data.num_users:,} users and {data.num_items:,} items -> {out}/ "
          f"({', '.join(written)})", file=sys.stderr)
    return 0
