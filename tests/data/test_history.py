"""InteractionCSR: per-user histories and their sparse adjacency."""
import pytest
import torch

from hypgraph.data.history import InteractionCSR


def test_interaction_csr_adjacency_counts_each_users_items():
    # user 0 bought item 3 twice; user 2 has no history
    ei = torch.tensor([[0, 1, 0, 3, 0, 1], [3, 0, 1, 2, 3, 4]])
    history = InteractionCSR(ei, 4)
    users = torch.tensor([2, 0, 3, 0])
    adj = history.adjacency(users, 6, dtype=torch.float64)
    assert adj.layout == torch.sparse_csr and adj.shape == (4, 6) and adj.dtype == torch.float64
    expected = torch.zeros(4, 6, dtype=torch.float64)
    for b, u in enumerate(users.tolist()):
        for user, item in ei.t().tolist():
            if user == u:
                expected[b, item] += 1
    torch.testing.assert_close(adj.to_dense(), expected)
    # columns sorted and distinct per row, as torch.sparse requires
    torch._validate_sparse_csr_tensor_args(adj.crow_indices(), adj.col_indices(), adj.values(), adj.shape)
    with pytest.raises(ValueError, match="item 4, but num_items=4"):
        history.adjacency(users, 4)
