from .recommender import HyperbolicRecommender

__all__ = ["HyperbolicRecommender"]
