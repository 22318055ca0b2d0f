r"""Complex-network statistics of user–item interaction data: Table 1 and
Figs. 2 and 6 of Chamberlain et al., "Scalable Hyperbolic Recommender
Systems" (2019), with the power-law methodology of Clauset, Shalizi &
Newman, "Power-law distributions in empirical data" (SIAM Review, 2009),
and the ``hypgraph-stats`` command line.

Depends on :mod:`hypgraph.data` only for reading files (imported lazily);
the statistics work on plain arrays.
"""
from .bipartite import BipartiteGraph, BipartiteStats, bipartite_stats
from .compare import (ALTERNATIVES, AlternativeFit, Comparison, compare_alternatives,
                      fit_exponential, fit_lognormal, fit_truncated_power_law,
                      likelihood_ratio_test)
from .plots import empirical_ccdf, plot_degree_distributions
from .powerlaw_fit import PowerLawFit, unique_counts
from .describe import COLUMNS, DatasetReport, FitSummary, describe, describe_arrays, describe_graph
from .load import dataset_name, load_dataset
from .projection import (ProjectionStats, clustering_exact, item_projection, projection_stats,
                         weighted_degree)
from .render import FORMATS, format_reports
from .sampling import DiscretePowerLawSampler, check_random_state, sample_power_law
from .special import log_hurwitz_zeta

__all__ = [
    "PowerLawFit", "unique_counts",
    "Comparison", "AlternativeFit", "ALTERNATIVES", "compare_alternatives",
    "likelihood_ratio_test", "fit_exponential", "fit_lognormal", "fit_truncated_power_law",
    "BipartiteGraph", "BipartiteStats", "bipartite_stats",
    "ProjectionStats", "item_projection", "weighted_degree", "projection_stats",
    "clustering_exact",
    "empirical_ccdf", "plot_degree_distributions",
    "FitSummary", "DatasetReport", "COLUMNS", "describe", "describe_arrays", "describe_graph",
    "FORMATS", "format_reports", "load_dataset", "dataset_name",
    "sample_power_law", "DiscretePowerLawSampler", "check_random_state",
    "log_hurwitz_zeta",
]
