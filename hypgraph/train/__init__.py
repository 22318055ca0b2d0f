r"""Training and evaluation."""
from .metrics import full_ranking_metrics, ranks_against_negatives, sampled_metrics
from .evaluation import evaluate_full, evaluate_sampled
from .callbacks import Callback
from .device import resolve_device
from .trainer import FitResult, Trainer
from .bilevel import BilevelTrainer

__all__ = ["sampled_metrics", "full_ranking_metrics", "ranks_against_negatives", "Trainer", "FitResult", "Callback",
           "evaluate_sampled", "evaluate_full", "BilevelTrainer", "resolve_device"]
