r"""Readers: every supported dataset format into the project's
:class:`~torch_geometric.data.HeteroData` (see :mod:`hypgraph.data.hetero`).

Every bad input raises one :class:`~hypgraph.data.DataFormatError` line naming
the file, the line and what was expected; rows that are read but not turned
into interactions are counted in ``data.filter_log``.
"""
from .auto import READERS, detect_format, read
from .header import guess_columns, guess_rating_column, read_header
from .hgcf import SafeUnpickler, read_hgcf
from .kgat import read_kgat
from .kgcn import read_kgcn
from .movielens import read_movielens
from .pairs import read_pairs
from .recbole import read_recbole
from .tabular import read_table

__all__ = [
    "read", "detect_format", "READERS",
    "read_movielens", "read_kgat", "read_kgcn", "read_recbole", "read_hgcf", "read_table",
    "SafeUnpickler", "read_header", "guess_columns", "guess_rating_column", "read_pairs",
]
