r"""Log-log degree distributions with the fitted power law over its tail, in
the style of Chamberlain et al. 2019, Fig. 6.

matplotlib is imported inside the function and drawn through the Agg canvas
of a :class:`matplotlib.figure.Figure`, never through ``pyplot``: no global
backend or figure state is touched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .powerlaw_fit import PowerLawFit, unique_counts

__all__ = ["empirical_ccdf", "plot_degree_distributions"]


def empirical_ccdf(x) -> Tuple[np.ndarray, np.ndarray]:
    r"""Unique values :math:`v` of :obj:`x` and :math:`P(X \ge v)`."""
    values, counts = unique_counts(x)
    at_least = np.cumsum(counts[::-1])[::-1] / counts.sum()
    return values, at_least


def plot_degree_distributions(
    path: Union[str, os.PathLike],
    degrees: Sequence[np.ndarray],
    fits: Sequence[Optional[PowerLawFit]],
    labels: Sequence[str] = ("items", "users"),
    title: Optional[str] = None,
) -> Path:
    r"""Write a PNG with one log-log CCDF panel per degree sequence.

    Each panel shows the empirical :math:`P(K \ge k)` (markers) and, when a
    fit is given, the fitted power law on :math:`k \ge x_{min}` scaled by the
    tail fraction :math:`n_{tail}/n` so that it lies on the data (line), with
    :math:`\hat\gamma` and :math:`x_{min}` in the legend.

    Args:
        path (str or os.PathLike): Output file (``.png``); parent folders are
            created.
        degrees (sequence of numpy.ndarray): Degree sequences, e.g. of items
            and users.
        fits (sequence of PowerLawFit or None): The fitted laws, one per
            sequence (``None``: data only).
        labels (sequence of str): Panel titles. (default: ``("items", "users")``)
        title (str, optional): Figure title, e.g. the dataset name.

    Returns:
        pathlib.Path: :obj:`path`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(5.0 * len(degrees), 4.0), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(degrees), squeeze=False)[0]
    for ax, degree, fit, label in zip(axes, degrees, fits, labels):
        values, ccdf = empirical_ccdf(degree)
        keep = values > 0
        ax.loglog(values[keep], ccdf[keep], "o", markersize=3, alpha=0.6, label="data")
        if fit is not None:
            grid = np.unique(np.geomspace(fit.xmin_, values.max(), 200))
            if fit.discrete:
                grid = np.unique(np.floor(grid))
            ax.loglog(grid, fit.ccdf(grid) * fit.n_tail_ / fit.n_, "-", color="C3",
                      label=rf"power law $\hat\gamma$={fit.alpha_:.3f}, $x_{{min}}$={fit.xmin_:g}")
            ax.axvline(fit.xmin_, color="0.6", linestyle=":", linewidth=1)
        ax.set_xlabel("degree $k$")
        ax.set_ylabel(r"$P(K \geq k)$")
        ax.set_title(label)
        ax.legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
