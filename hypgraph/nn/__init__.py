r"""Drop-in PyG layers for points on a manifold."""
from .aggr import EinsteinMidpointAggregation
from .conv import EinsteinMidpointConv, HyperbolicHeteroConv, HyperbolicKGAttention
from .losses import adaptive_margin_weight, bpr_loss, hinge_loss, l2_penalty, wmrb_loss
from .models import HyperbolicGraphRecommender, HyperbolicRecommender, HyperKnow

__all__ = [
    "EinsteinMidpointAggregation", "EinsteinMidpointConv", "HyperbolicKGAttention",
    "HyperbolicHeteroConv", "bpr_loss", "wmrb_loss", "hinge_loss", "adaptive_margin_weight", "l2_penalty",
    "HyperbolicRecommender",
    "HyperbolicGraphRecommender", "HyperKnow",
]
