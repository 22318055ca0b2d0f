from .lightgcn import LightGCNRecommender
from .popularity import PopularityRecommender
from .recommender import HyperbolicRecommender

__all__ = ["HyperbolicRecommender", "PopularityRecommender", "LightGCNRecommender"]
