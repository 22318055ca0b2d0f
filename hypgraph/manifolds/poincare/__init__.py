from . import math
from .manifold import PoincareBall

__all__ = ["PoincareBall", "math"]
