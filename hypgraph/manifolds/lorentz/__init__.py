from . import math
from .manifold import Lorentz

__all__ = ["Lorentz", "math"]
