"""EinsteinMidpointAggregation: as ``aggr=`` of a user-written MessagePassing
(unweighted, and weighted through the last channel) and called directly with
``weight=`` and with ``ptr=``, against the loop reference of Chamberlain 2019
Eq. 24-25."""
import pytest
import torch
from torch.autograd import gradcheck
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import OptTensor

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall
from hypgraph.nn import EinsteinMidpointAggregation

from . import reference as R
from .conftest import EDGE_WEIGHT, F64, ITEMS, edge_index, embed, f64, permutation, relabel, req

NUM_DST = 4
# CSR boundaries of the destinations of EDGE_INDEX (sorted by destination;
# destination 2 is empty)
PTR = torch.tensor([0, 3, 5, 5, 9])


class MidpointPassing(MessagePassing):
    """A layer a user would write: messages are the source points, the
    aggregation is the midpoint; with ``weighted=True`` the edge weight rides
    in the last channel of each message."""

    def __init__(self, manifold, weighted: bool = False) -> None:
        super().__init__(aggr=EinsteinMidpointAggregation(manifold, weighted=weighted))
        self.weighted = weighted

    def forward(self, x, edge_index, edge_weight: OptTensor = None, size=None):
        return self.propagate(edge_index, x=x, edge_weight=edge_weight, size=size)

    def message(self, x_j, edge_weight: OptTensor):
        if self.weighted:
            return torch.cat([x_j, edge_weight.unsqueeze(-1)], dim=-1)
        return x_j


@pytest.mark.parametrize("manifold, expected", [
    (Lorentz(), "EinsteinMidpointAggregation(Lorentz(k=1))"),
    (PoincareBall(k=0.7), "EinsteinMidpointAggregation(PoincareBall(k=0.7))"),
    (Klein(k=1.3), "EinsteinMidpointAggregation(Klein(k=1.3))"),
    (Euclidean(), "EinsteinMidpointAggregation(Euclidean())"),
])
def test_repr(manifold, expected):
    assert str(EinsteinMidpointAggregation(manifold)) == expected
    assert str(EinsteinMidpointAggregation(manifold, weighted=True)) == expected[:-1] + ", weighted=True)"


def test_as_aggr_matches_reference(manifold):
    x, ei = embed(manifold, ITEMS), edge_index()
    out = MidpointPassing(manifold)(x, ei, size=(6, NUM_DST))
    assert out.shape == (NUM_DST, x.size(1))
    torch.testing.assert_close(out, R.midpoint_conv(manifold, x, ei, NUM_DST), **F64)


def test_weighted_as_aggr_matches_reference(manifold):
    x, ei, w = embed(manifold, ITEMS), edge_index(), f64(EDGE_WEIGHT)
    out = MidpointPassing(manifold, weighted=True)(x, ei, w, size=(6, NUM_DST))
    assert out.shape == (NUM_DST, x.size(1))
    expected = R.midpoint_conv(manifold, x, ei, NUM_DST, edge_weight=w)
    torch.testing.assert_close(out, expected, **F64)
    # the weights matter: the unweighted midpoint of user 0 is elsewhere
    assert not torch.allclose(out[0], R.midpoint_conv(manifold, x, ei, NUM_DST)[0], atol=1e-3)


def test_direct_calls_with_weight_index_and_ptr_agree(manifold):
    x, ei, w = embed(manifold, ITEMS), edge_index(), f64(EDGE_WEIGHT)
    messages = x[ei[0]]
    aggr = EinsteinMidpointAggregation(manifold)
    expected = R.midpoint_conv(manifold, x, ei, NUM_DST, edge_weight=w)
    by_index = aggr(messages, ei[1], dim_size=NUM_DST, weight=w)
    by_ptr = aggr(messages, ptr=PTR, weight=w)
    torch.testing.assert_close(by_index, expected, **F64)
    torch.testing.assert_close(by_ptr, expected, **F64)
    # the weighted variant reads the same weights from the last channel
    stacked = torch.cat([messages, w.unsqueeze(-1)], dim=-1)
    weighted = EinsteinMidpointAggregation(manifold, weighted=True)
    torch.testing.assert_close(weighted(stacked, ptr=PTR), expected, **F64)
    torch.testing.assert_close(weighted(stacked, ei[1], dim_size=NUM_DST), expected, **F64)
    # and without weights, index and ptr give the unweighted midpoint
    unweighted = R.midpoint_conv(manifold, x, ei, NUM_DST)
    torch.testing.assert_close(aggr(messages, ptr=PTR), unweighted, **F64)
    torch.testing.assert_close(aggr(messages, ei[1], dim_size=NUM_DST), unweighted, **F64)


def test_weight_given_twice_is_an_error():
    aggr = EinsteinMidpointAggregation(PoincareBall(), weighted=True)
    x = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="last channel"):
        aggr(x, torch.tensor([0, 0, 1]), weight=torch.ones(3))


def test_empty_and_isolated_groups_get_the_origin(manifold):
    x = embed(manifold, ITEMS)
    origin = manifold.origin(NUM_DST, x.size(1), dtype=x.dtype)
    empty = torch.empty(2, 0, dtype=torch.long)
    out = MidpointPassing(manifold)(x, empty, size=(6, NUM_DST))
    assert torch.equal(out, origin)
    out = MidpointPassing(manifold, weighted=True)(x, empty, x.new_empty(0), size=(6, NUM_DST))
    assert torch.equal(out, origin)
    # destination 2 has no edge; trailing groups beyond index.max() too
    ei = edge_index()
    out = EinsteinMidpointAggregation(manifold)(x[ei[0]], ei[1], dim_size=NUM_DST + 2)
    assert out.shape == (NUM_DST + 2, x.size(1))
    assert torch.equal(out[[2, 4, 5]], origin[:3])
    assert not torch.equal(out[0], origin[0])


def test_zero_total_weight_gives_the_origin_and_finite_gradients(manifold):
    # e.g. every rating of a user masked out; items 2 and 3 of user 1 also
    # reach users 0 and 3, so a NaN here would poison their whole gradient
    x, ei = req(embed(manifold, ITEMS)), edge_index()
    w = f64(EDGE_WEIGHT)
    w[ei[1] == 1] = 0.0
    w.requires_grad_(True)
    out = EinsteinMidpointAggregation(manifold)(x[ei[0]], ei[1], dim_size=NUM_DST, weight=w)
    assert torch.equal(out[1], manifold.origin(x.size(1), dtype=x.dtype))
    assert torch.isfinite(out).all()
    manifold.dist0(out).sum().backward()
    assert torch.isfinite(x.grad).all(), x.grad
    assert torch.isfinite(w.grad).all(), w.grad
    assert x.grad[[2, 3]].abs().sum() > 0


def test_invariant_to_edge_and_node_order(manifold):
    x, ei, w = embed(manifold, ITEMS), edge_index(), f64(EDGE_WEIGHT)
    layer = MidpointPassing(manifold, weighted=True)
    expected = layer(x, ei, w, size=(6, NUM_DST))
    perm = permutation(ei.size(1), seed=0)
    torch.testing.assert_close(layer(x, ei[:, perm], w[perm], size=(6, NUM_DST)), expected, **F64)
    src_perm, dst_perm = permutation(6, seed=1), permutation(NUM_DST, seed=2)
    out = layer(x[src_perm], relabel(ei, src_perm, dst_perm), w, size=(6, NUM_DST))
    torch.testing.assert_close(out, expected[dst_perm], **F64)


def test_gradcheck(manifold):
    x, ei, w = req(embed(manifold, ITEMS)), edge_index(), req(f64(EDGE_WEIGHT))
    layer = MidpointPassing(manifold, weighted=True)
    assert gradcheck(lambda a, b: layer(a, ei, b, size=(6, NUM_DST)), (x, w))
    aggr = EinsteinMidpointAggregation(manifold)
    assert gradcheck(lambda a, b: aggr(a[ei[0]], ptr=PTR, weight=b), (x, w))
