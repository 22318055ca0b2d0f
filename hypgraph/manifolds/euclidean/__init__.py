from .manifold import Euclidean

__all__ = ["Euclidean"]
