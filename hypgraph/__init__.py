r"""hypgraph: hyperbolic recommender systems for PyTorch Geometric.

Subpackages: :mod:`hypgraph.manifolds` (geometry), :mod:`hypgraph.optim`
(Riemannian optimisers), :mod:`hypgraph.data` (readers, splits, synthetic
data -> :class:`~torch_geometric.data.HeteroData`).
"""
__version__ = "0.2.0"
