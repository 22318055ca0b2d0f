from .lightgcn import LightGCNRecommender
from .popularity import PopularityRecommender
from .recommender import HyperbolicRecommender
from .graph import HyperbolicGraphRecommender
from .kg_graph import HyperbolicKGNN
from .hyperknow import ABLATIONS, FIXED_BETA, HyperKnow
from .index import ItemIndex
from .retrieval import recommend_chunked

__all__ = ["HyperbolicRecommender", "HyperbolicGraphRecommender", "HyperbolicKGNN", "PopularityRecommender",
           "LightGCNRecommender", "HyperKnow", "ABLATIONS", "FIXED_BETA", "recommend_chunked",
           "ItemIndex"]
