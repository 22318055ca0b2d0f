from .einstein_midpoint_conv import EinsteinMidpointConv
from .hyperbolic_hetero_conv import HyperbolicHeteroConv
from .hyperbolic_kg_attention import HyperbolicKGAttention

__all__ = ["EinsteinMidpointConv", "HyperbolicKGAttention", "HyperbolicHeteroConv"]
