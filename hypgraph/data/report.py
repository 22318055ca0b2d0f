"""Counts of what a reader or a filter removed: nothing is dropped silently."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List

from torch_geometric.data import HeteroData

__all__ = ["FilterReport", "record"]

logger = logging.getLogger("hypgraph.data")


@dataclass(frozen=True)
class FilterReport:
    r"""What one step removed.

    Args:
        step (str): The step, e.g. ``"rating >= 4"`` or ``"dedupe"``.
        kept (int): Interactions (or rows) kept.
        removed (int): Interactions (or rows) removed.
        unit (str): What was counted (default: ``"interactions"``).
        detail (str): Further counts, e.g. users/items left without interactions.
        source (str, optional): The file the rows came from, if any.
    """

    step: str
    kept: int
    removed: int
    unit: str = "interactions"
    detail: str = ""
    source: str | None = None

    def __str__(self) -> str:
        total = self.kept + self.removed
        where = f"{self.source}: " if self.source else ""
        extra = f"; {self.detail}" if self.detail else ""
        return (f"{where}{self.step}: removed {self.removed:,} of {total:,} "
                f"{self.unit}, kept {self.kept:,}{extra}")


def record(data: HeteroData, report: FilterReport) -> FilterReport:
    """Append :obj:`report` to ``data.filter_log`` and log it at INFO level."""
    log: List[FilterReport] = list(getattr(data, "filter_log", None) or [])
    log.append(report)
    data.filter_log = log
    logger.info("%s", report)
    return report
