r"""The Table 1 rows of :class:`~analysis.describe.DatasetReport` objects as a
text table, JSON, CSV or Markdown."""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Sequence

import numpy as np

from .describe import COLUMNS, DatasetReport

__all__ = ["FORMATS", "format_reports"]

FORMATS = ("table", "json", "csv", "markdown")


def _columns(bootstrap: bool):
    return [c for c in COLUMNS if bootstrap or c[0] != "p_boot"]


def _text(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if key in {"n_user", "n_item", "n_tail", "interactions", "removed"}:
        return f"{int(value):,}"
    if key == "density":
        return f"{value:.4f}" if value >= 1e-3 else f"{value:.2e}"
    if key == "xmin":
        return f"{value:g}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def format_reports(reports: Sequence[DatasetReport], fmt: str = "table", *,
                   bootstrap: bool = False) -> str:
    r"""Render the Table 1 rows of :obj:`reports` (``json`` renders all of
    each report).

    Args:
        reports (sequence of DatasetReport): One per dataset.
        fmt (str): ``"table"``, ``"json"``, ``"csv"`` or ``"markdown"``.
            (default: ``"table"``)
        bootstrap (bool): Include the bootstrap p-value column.

    Returns:
        str: The text, ending with a newline.
    """
    if fmt == "json":
        return json.dumps({"datasets": [r.as_dict() for r in reports]}, indent=2,
                          allow_nan=False) + "\n"
    columns = _columns(bootstrap)
    rows = [r.row() for r in reports]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([key for key, _, _ in columns])
        for row in rows:
            writer.writerow(["" if row[k] is None else row[k] for k, _, _ in columns])
        return buf.getvalue()
    cells = [[_text(k, row[k]) for k, _, _ in columns] for row in rows]
    headers = [header for _, header, _ in columns]
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join(":---" if k == "name" else "---:" for k, _, _ in columns) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h)
                  for i, h in enumerate(headers)]
        def line(values):
            return "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                             for i, (v, w) in enumerate(zip(values, widths))).rstrip()
        return "\n".join([line(headers)] + [line(row) for row in cells]) + "\n"
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
