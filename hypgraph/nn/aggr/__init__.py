from .einstein import EinsteinMidpointAggregation

__all__ = ["EinsteinMidpointAggregation"]
