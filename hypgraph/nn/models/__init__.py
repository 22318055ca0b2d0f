from .lightgcn import LightGCNRecommender
from .popularity import PopularityRecommender
from .recommender import HyperbolicRecommender
from .graph import HyperbolicGraphRecommender
from .hyperknow import ABLATIONS, FIXED_BETA, HyperKnow
from .retrieval import recommend_chunked

__all__ = ["HyperbolicRecommender", "HyperbolicGraphRecommender", "PopularityRecommender", "LightGCNRecommender", "HyperKnow", "ABLATIONS",
           "FIXED_BETA", "recommend_chunked"]
