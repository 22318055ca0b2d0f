r"""Data: readers, :class:`~torch_geometric.data.HeteroData` builders, splits,
negative sampling and the synthetic complex-network generator."""
from .errors import DataFormatError
from .hetero import (INTERACTS, LINKS, RELATES, REV_INTERACTS, build_hetero_data,
                     index_of, set_interactions)
from .paths import ENV_VAR, data_root
from .report import FilterReport, record

__all__ = [
    "DataFormatError", "FilterReport", "record", "data_root", "ENV_VAR",
    "INTERACTS", "REV_INTERACTS", "LINKS", "RELATES",
    "build_hetero_data", "set_interactions", "index_of",
]
