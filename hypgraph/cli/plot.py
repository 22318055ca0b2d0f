r"""``hypgraph plot``: pictures of a trained run's item embedding, the
hierarchy the papers claim (popular items near the origin, niche items near
the boundary; [Chamberlain 2019] §6.1, Fig. 5):

- ``items_disk.png``: the items in the Poincaré disk, coloured by training
  degree. For ``dim > 2`` the view keeps what the geometry defines at the
  origin: each item's **radius** is its exact Poincaré-ball radius
  :math:`\tanh(\sqrt{k}\, d(o, x)/2)` (:math:`d` the hyperbolic distance from
  the origin, scaled so that the disk has radius 1), and its **angle** is
  that of its tangent vector :math:`\log_o x` projected on the two leading
  principal directions (uncentred SVD) of all items' tangent vectors. With
  ``dim = 2`` this is the Poincaré disk itself. Euclidean models get the same
  view in the plane (radius: the norm), ``items_plane.png``.
- ``norm_vs_degree.png``: distance from the origin (Euclidean: norm) against
  training degree, with the median per logarithmic degree bin and
  Spearman's rank correlation.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .errors import CommandError
from .export import embeddings
from .parsing import subcommand
from .run import Run

__all__ = ["add_parser", "run", "disk_view", "MAX_POINTS"]

#: Items drawn at most (a seeded uniform sample beyond; statistics use all).
MAX_POINTS = 50_000


def add_parser(commands) -> None:
    p = subcommand(
        commands, "plot", help="PNG pictures of the item embedding (Poincare disk, norm vs degree)",
        description="Draw the items of RUN_DIR in the Poincare disk, coloured by degree, and their "
                    "distance from the origin against their degree. For dim > 2 the disk view keeps "
                    "each item's exact distance from the origin (as its Poincare radius) and takes the "
                    "angle from the two leading principal directions of the tangent vectors at the origin.",
        examples="examples:\n  hypgraph plot run                 # run/items_disk.png, run/norm_vs_degree.png\n"
                 "  hypgraph plot run --out figures")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: RUN_DIR)")
    p.set_defaults(run=run)


def disk_view(model: nn.Module, points: Tensor) -> Tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    r"""``(x, y, distance, hyperbolic)``: 2-D coordinates of the view
    described in the module docstring, the distance of each point from the
    origin (hyperbolic, or the Euclidean norm) and whether the model is
    hyperbolic (then ``x² + y² < 1``)."""
    manifold = getattr(model, "manifold", None)
    hyperbolic = manifold is not None and not manifold.is_flat
    with torch.no_grad():
        if hyperbolic:
            tangent = manifold.logmap0_coords(points).double()
            distance = manifold.dist0(points).double()
            k = float(manifold.k)
            radius = torch.tanh(math.sqrt(k) * distance / 2)   # the Poincaré radius, times sqrt(k)
        else:
            tangent = points.double()
            distance = radius = tangent.norm(dim=-1)
        if tangent.size(1) == 2:
            plane = tangent
        else:
            # the leading principal directions through the origin
            _, _, vh = torch.linalg.svd(tangent, full_matrices=False)
            plane = tangent @ vh[:2].t()
        angle = torch.atan2(plane[:, 1], plane[:, 0])
    return ((radius * torch.cos(angle)).numpy(), (radius * torch.sin(angle)).numpy(), distance.numpy(),
            hyperbolic)


def _figure():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CommandError("plotting needs matplotlib: pip install matplotlib") from None
    return Figure


def run(args: argparse.Namespace) -> int:
    Figure = _figure()
    folder = Run(args.run_dir)
    data = folder.data
    model = folder.model()
    items = embeddings(model, data)["item"]
    x, y, distance, hyperbolic = disk_view(model, items)
    degree = torch.bincount(data.train[1], minlength=data.num_items).numpy()
    shown = np.arange(data.num_items)
    if data.num_items > MAX_POINTS:
        shown = np.sort(np.random.default_rng(0).choice(data.num_items, MAX_POINTS, replace=False))
    out: Path = args.out or folder.folder
    out.mkdir(parents=True, exist_ok=True)
    m = folder.config["model"]
    what = f"{m['name']} model, {m.get('manifold', 'euclidean')}, dim {m.get('dim', '?')}"
    order = shown[np.argsort(degree[shown], kind="stable")]  # popular items drawn last, on top

    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.add_subplot()
    colour = np.log10(1 + degree[order])
    dots = ax.scatter(x[order], y[order], c=colour, s=6, cmap="viridis", linewidths=0)
    fig.colorbar(dots, ax=ax, label="log10(1 + training degree)")
    if hyperbolic:
        from matplotlib.patches import Circle

        ax.add_patch(Circle((0, 0), 1.0, fill=False, color="grey"))
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        view = "Poincaré disk" if m.get("dim") == 2 else \
            "disk view: radius = distance from the origin,\nangle = PCA of the tangent vectors log_o(x)"
        name = "items_disk.png"
    else:
        view = "plane: radius = norm, angle = PCA"
        name = "items_plane.png"
    ax.set_aspect("equal")
    ax.set_title(f"Items ({what}); {view}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.savefig(out / name, dpi=120, bbox_inches="tight")

    from scipy.stats import spearmanr

    rho = spearmanr(degree, distance).statistic if data.num_items > 2 else float("nan")
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    ax.scatter(1 + degree[shown], distance[shown], s=4, alpha=0.4, linewidths=0, color="tab:blue")
    edges = np.unique(np.geomspace(1, 1 + degree.max(), 16).round())
    bins = np.digitize(1 + degree, edges)
    centres, medians = [], []
    for b in np.unique(bins):
        inside = bins == b
        centres.append(float(np.median(1 + degree[inside])))
        medians.append(float(np.median(distance[inside])))
    ax.plot(centres, medians, color="tab:red", marker="o", ms=3, label="median per degree bin")
    ax.set_xscale("log")
    ax.set_xlabel("1 + training degree")
    ax.set_ylabel("hyperbolic distance from the origin" if hyperbolic else "norm")
    ax.set_title(f"Distance from the origin vs degree ({what})\nSpearman rho = {rho:.3f}", fontsize=9)
    ax.legend(fontsize=8)
    fig.savefig(out / "norm_vs_degree.png", dpi=120, bbox_inches="tight")
    print(f"hypgraph plot: {out / name}, {out / 'norm_vs_degree.png'} (Spearman rho of distance and degree "
          f"{rho:.3f})", file=sys.stderr)
    return 0
