from . import math
from .manifold import Klein

__all__ = ["Klein", "math"]
