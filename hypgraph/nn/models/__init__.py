from .lightgcn import LightGCNRecommender
from .popularity import PopularityRecommender
from .recommender import HyperbolicRecommender
from .hyperknow import ABLATIONS, FIXED_BETA, HyperKnow

__all__ = ["HyperbolicRecommender", "PopularityRecommender", "LightGCNRecommender", "HyperKnow", "ABLATIONS",
           "FIXED_BETA"]
