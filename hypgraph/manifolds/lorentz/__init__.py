from . import math, steps
from .manifold import Lorentz

__all__ = ["Lorentz", "math", "steps"]
