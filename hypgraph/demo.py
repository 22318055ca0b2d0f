r"""``make demo``: the main job on the embedded synthetic default.

Runs end to end on a fresh machine without any downloaded data, printing what
each step shows.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import torch

from .manifolds import Lorentz, PoincareBall, einstein_midpoint, frechet_mean


def geometry_demo(out=sys.stdout) -> None:
    """Einstein midpoint vs Fréchet mean on the scan of Chamberlain 2019, Fig. 4."""
    m = Lorentz()
    alphas = torch.linspace(-2, 2, 21, dtype=torch.float64)
    pts = torch.stack([torch.cosh(alphas), torch.sinh(alphas)], -1)
    i, j = torch.triu_indices(21, 21, offset=1)
    pairs = torch.stack([pts[i], pts[j]], -2)
    ein = einstein_midpoint(pairs, manifold=m)
    fre = frechet_mean(pairs, manifold=m, max_iter=10)
    rel = m.dist(ein, fre) / (m.dist(pts[i], pts[j]) / 2)
    print(f"[geometry] Einstein midpoint vs Fréchet mean over {len(i)} pairs "
          f"(Chamberlain 2019, Fig. 4): max relative gap {float(rel.max()):.2e}", file=out)
    ball = PoincareBall()
    x = torch.tensor([[0.999999, 0.0], [-0.999999, 0.0]])
    print(f"[geometry] float32 distance across the Poincaré disk at |x| = 1 - 1e-6: "
          f"{float(ball.dist(x[0], x[1])):.3f} (exact {float(ball.dist(x[0].double(), x[1].double())):.3f})",
          file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hypgraph.demo", description=__doc__)
    parser.parse_args(argv)
    geometry_demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
