"""Shared fixtures. Real data comes from $HYPGRAPH_DATA (default: ../shared/data
beside the repository); tests that need it skip with the reason when absent."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def real_data_root() -> Path:
    return Path(os.environ.get("HYPGRAPH_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data root; skips the test when it is not present."""
    root = real_data_root()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set HYPGRAPH_DATA)")
    return root


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture
def score_blocks(monkeypatch):
    """The shapes of every score block ``recommend_chunked`` forms, in order
    (a spy on :func:`hypgraph.nn.models.retrieval.block_rank_scores`)."""
    from hypgraph.nn.models import retrieval

    shapes = []
    original = retrieval.block_rank_scores

    def spy(model, points, items):
        out = original(model, points, items)
        shapes.append(tuple(out.shape))
        return out

    monkeypatch.setattr(retrieval, "block_rank_scores", spy)
    return shapes
