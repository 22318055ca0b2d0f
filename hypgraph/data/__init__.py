r"""Data: readers, :class:`~torch_geometric.data.HeteroData` builders, splits,
negative sampling and the synthetic complex-network generator."""
from .errors import DataFormatError
from .hetero import (INTERACTS, LINKS, RELATES, REV_INTERACTS, build_hetero_data,
                     index_of, set_interactions, check_interactions)
from .history import InteractionCSR, Interactions
from .paths import ENV_VAR, data_root
from .report import FilterReport, record
from .readers import (READERS, SafeUnpickler, detect_format, read, read_hgcf, read_kgat,
                      read_kgcn, read_movielens, read_recbole, read_table)
from .preprocess import compact, dedupe, implicit_feedback, min_user_interactions, prepare
from .split import explicit_split, given_split, leave_last_out, random_split, sample_label_users
from .negative import sample_eval_negatives, sample_negatives
from .kg import KGNeighbourhoods
from .synthetic import RELATIONS as SYNTHETIC_RELATIONS, default_dataset, make_synthetic
from .datasets import KGAT, KGCN, AmazonCD, MovieLens100K, RawFilesMissingError, RecBoleDataset

__all__ = [
    "DataFormatError", "FilterReport", "record", "data_root", "ENV_VAR",
    "INTERACTS", "REV_INTERACTS", "LINKS", "RELATES",
    "build_hetero_data", "set_interactions", "index_of", "check_interactions", "InteractionCSR", "Interactions",
    "read", "detect_format", "READERS", "read_movielens", "read_kgat", "read_kgcn",
    "read_recbole", "read_hgcf", "read_table", "SafeUnpickler",
    "implicit_feedback", "min_user_interactions", "dedupe", "compact", "prepare",
    "leave_last_out", "random_split", "given_split", "explicit_split", "sample_label_users", "sample_negatives",
    "sample_eval_negatives",
    "make_synthetic", "default_dataset", "SYNTHETIC_RELATIONS",
    "MovieLens100K", "KGAT", "KGCN", "RecBoleDataset", "AmazonCD", "RawFilesMissingError",
    "KGNeighbourhoods",
]
