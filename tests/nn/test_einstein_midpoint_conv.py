"""EinsteinMidpointConv (Chamberlain 2019 §5.4, Eq. 24-25): midpoint users,
edge weights and GAT-style attention against the loop reference, on every
manifold; shapes, repr, empty and isolated destinations, permutations,
gradcheck and the gradient path back into the items."""
import pytest
import torch
from torch.autograd import gradcheck
from torch_geometric.testing import assert_module

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall
from hypgraph.nn import EinsteinMidpointConv

from . import reference as R
from .conftest import (EDGE_WEIGHT, F64, ITEMS, LEARNABLE, USERS, att_vectors, edge_index, embed, f64,
                       parameter_function, permutation, relabel, req)

NUM_ITEMS, NUM_USERS = len(ITEMS), len(USERS)
SIZE = (NUM_ITEMS, NUM_USERS)


def attention_conv(manifold, dim):
    conv = EinsteinMidpointConv(dim, manifold=manifold, attention=True).double()
    att_src, att_dst = att_vectors(manifold)
    with torch.no_grad():
        conv.att_src.copy_(att_src)
        conv.att_dst.copy_(att_dst)
    return conv


@pytest.mark.parametrize("make, expected", [
    (lambda: EinsteinMidpointConv(manifold=Lorentz(k=0.5)), "EinsteinMidpointConv(manifold=Lorentz(k=0.5))"),
    (lambda: EinsteinMidpointConv(manifold=Euclidean()), "EinsteinMidpointConv(manifold=Euclidean())"),
    (lambda: EinsteinMidpointConv(3, manifold=PoincareBall(k=0.7), attention=True),
     "EinsteinMidpointConv(3, manifold=PoincareBall(k=0.7), attention=True)"),
    (lambda: EinsteinMidpointConv(3, manifold=Klein(k=1.3)), "EinsteinMidpointConv(3, manifold=Klein(k=1.3))"),
    (lambda: EinsteinMidpointConv(), "EinsteinMidpointConv(manifold=Lorentz(k=1))"),
])
def test_repr(make, expected):
    assert str(make()) == expected


def test_the_order_before_0_2_still_works_with_a_warning():
    for old, channels in ((lambda: EinsteinMidpointConv(Klein(k=1.3)), None),
                          (lambda: EinsteinMidpointConv(PoincareBall(k=0.7), 3, attention=True), 3)):
        with pytest.warns(DeprecationWarning, match=r"use EinsteinMidpointConv\(channels, manifold=manifold\)"):
            conv = old()
        assert conv.channels == channels and isinstance(conv.manifold, (Klein, PoincareBall))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="channels"):
        EinsteinMidpointConv(manifold=Lorentz(), attention=True)
    x = embed(Lorentz(), ITEMS)
    with pytest.raises(ValueError, match="size"):
        EinsteinMidpointConv(manifold=Lorentz())((x, None), edge_index())


def test_midpoint_users_match_reference(manifold):
    x, ei = embed(manifold, ITEMS), edge_index()
    conv = EinsteinMidpointConv(manifold=manifold)
    out = conv(x, ei, size=SIZE)
    assert out.shape == (NUM_USERS, x.size(1))
    torch.testing.assert_close(out, R.midpoint_conv(manifold, x, ei, NUM_USERS), **F64)
    # the pair form with no destination points is the same call
    torch.testing.assert_close(conv((x, None), ei, size=SIZE), out, **F64)


def test_edge_weights_match_reference(manifold):
    x, ei, w = embed(manifold, ITEMS), edge_index(), f64(EDGE_WEIGHT)
    out = EinsteinMidpointConv(manifold=manifold)(x, ei, edge_weight=w, size=SIZE)
    torch.testing.assert_close(out, R.midpoint_conv(manifold, x, ei, NUM_USERS, edge_weight=w), **F64)


def test_euclidean_is_the_weighted_mean():
    x, ei, w = embed(Euclidean(), ITEMS), edge_index(), f64(EDGE_WEIGHT)
    out = EinsteinMidpointConv(manifold=Euclidean())(x, ei, edge_weight=w, size=SIZE)
    num = torch.zeros(NUM_USERS, 3, dtype=x.dtype).index_add_(0, ei[1], w.unsqueeze(-1) * x[ei[0]])
    den = torch.zeros(NUM_USERS, dtype=x.dtype).index_add_(0, ei[1], w)
    expected = num / den.clamp_min(1e-300).unsqueeze(-1)  # the empty user 2 is 0 = the origin
    torch.testing.assert_close(out, expected, **F64)


def test_attention_with_destination_points_matches_reference(manifold):
    x_src, x_dst, ei, w = embed(manifold, ITEMS), embed(manifold, USERS), edge_index(), f64(EDGE_WEIGHT)
    conv = attention_conv(manifold, x_src.size(1))
    att_src, att_dst = att_vectors(manifold)
    out = conv((x_src, x_dst), ei)
    assert out.shape == (NUM_USERS, x_src.size(1))
    expected = R.midpoint_conv(manifold, x_src, ei, NUM_USERS, x_dst=x_dst, att_src=att_src, att_dst=att_dst)
    torch.testing.assert_close(out, expected, **F64)
    # attention changes the result: it is not the plain midpoint
    assert not torch.allclose(out, R.midpoint_conv(manifold, x_src, ei, NUM_USERS), atol=1e-3)
    out = conv((x_src, x_dst), ei, edge_weight=w, size=SIZE)
    expected = R.midpoint_conv(manifold, x_src, ei, NUM_USERS, edge_weight=w, x_dst=x_dst,
                               att_src=att_src, att_dst=att_dst)
    torch.testing.assert_close(out, expected, **F64)


def test_attention_of_midpoint_users_matches_reference(manifold):
    # no destination points: the destination term drops out
    x, ei = embed(manifold, ITEMS), edge_index()
    conv = attention_conv(manifold, x.size(1))
    att_src, att_dst = att_vectors(manifold)
    out = conv((x, None), ei, size=SIZE)
    torch.testing.assert_close(out, R.midpoint_conv(manifold, x, ei, NUM_USERS, att_src=att_src), **F64)


def test_returned_attention_weights_are_a_softmax_per_destination(manifold):
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    conv = attention_conv(manifold, x_src.size(1))
    att_src, att_dst = att_vectors(manifold)
    out, (returned_index, alpha) = conv((x_src, x_dst), ei, return_attention_weights=True)
    assert torch.equal(returned_index, ei)
    assert alpha.shape == (ei.size(1),)
    sums = torch.zeros(NUM_USERS, dtype=alpha.dtype).index_add_(0, ei[1], alpha)
    torch.testing.assert_close(sums, f64([1.0, 1.0, 0.0, 1.0]), **F64)
    for i in range(NUM_USERS):
        edges = (ei[1] == i).nonzero().flatten().tolist()
        if not edges:
            continue
        scores = torch.stack([R.leaky_relu(R.dot(att_src, R.logmap0(manifold, x_src[ei[0, e]]))
                                           + R.dot(att_dst, R.logmap0(manifold, x_dst[i])), 0.2)
                              for e in edges])
        torch.testing.assert_close(alpha[edges], torch.softmax(scores, 0), **F64)


def test_bipartite_with_size_and_destination_points(manifold):
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    conv = EinsteinMidpointConv(manifold=manifold)
    # without attention the destination points only fix the number of outputs
    expected = R.midpoint_conv(manifold, x_src, ei, NUM_USERS)
    torch.testing.assert_close(conv((x_src, x_dst), ei), expected, **F64)
    torch.testing.assert_close(conv((x_src, x_dst), ei, size=SIZE), expected, **F64)
    # more destinations than the edges reach: the rest are the origin
    out = conv(x_src, ei, size=(NUM_ITEMS, 7))
    assert out.shape == (7, x_src.size(1))
    assert torch.equal(out[4:], manifold.origin(3, x_src.size(1), dtype=x_src.dtype))


def test_empty_edge_index_gives_the_origin(manifold):
    x_src, x_dst = embed(manifold, ITEMS), embed(manifold, USERS)
    empty = torch.empty(2, 0, dtype=torch.long)
    origin = manifold.origin(NUM_USERS, x_src.size(1), dtype=x_src.dtype)
    assert torch.equal(EinsteinMidpointConv(manifold=manifold)(x_src, empty, size=SIZE), origin)
    conv = attention_conv(manifold, x_src.size(1))
    assert torch.equal(conv((x_src, x_dst), empty), origin)
    assert torch.equal(conv((x_src, None), empty, size=SIZE), origin)


def test_isolated_destination_gets_the_origin(manifold):
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    origin = manifold.origin(x_src.size(1), dtype=x_src.dtype)
    assert torch.equal(EinsteinMidpointConv(manifold=manifold)(x_src, ei, size=SIZE)[2], origin)
    assert torch.equal(attention_conv(manifold, x_src.size(1))((x_src, x_dst), ei)[2], origin)


def test_invariant_to_edge_order(manifold):
    x_src, x_dst, ei, w = embed(manifold, ITEMS), embed(manifold, USERS), edge_index(), f64(EDGE_WEIGHT)
    torch.manual_seed(0)  # assert_module draws the edge permutation
    assert_module(EinsteinMidpointConv(manifold=manifold), x_src, ei, expected_size=(NUM_USERS, x_src.size(1)),
                  test_sparse_layouts=[], edge_weight=w, size=SIZE, atol=1e-10, rtol=1e-10)
    assert_module(attention_conv(manifold, x_src.size(1)), (x_src, x_dst), ei,
                  expected_size=(NUM_USERS, x_src.size(1)), test_sparse_layouts=[], edge_weight=w,
                  atol=1e-10, rtol=1e-10)


def test_invariant_to_node_order(manifold):
    x_src, x_dst, ei, w = embed(manifold, ITEMS), embed(manifold, USERS), edge_index(), f64(EDGE_WEIGHT)
    src_perm, dst_perm = permutation(NUM_ITEMS, seed=1), permutation(NUM_USERS, seed=2)
    moved = relabel(ei, src_perm, dst_perm)
    conv = EinsteinMidpointConv(manifold=manifold)
    expected = conv(x_src, ei, edge_weight=w, size=SIZE)
    torch.testing.assert_close(conv(x_src[src_perm], moved, edge_weight=w, size=SIZE), expected[dst_perm], **F64)
    conv = attention_conv(manifold, x_src.size(1))
    expected = conv((x_src, x_dst), ei, edge_weight=w)
    out = conv((x_src[src_perm], x_dst[dst_perm]), moved, edge_weight=w)
    torch.testing.assert_close(out, expected[dst_perm], **F64)


def test_gradcheck_inputs(manifold):
    x_src, x_dst, ei = req(embed(manifold, ITEMS)), req(embed(manifold, USERS)), edge_index()
    w = req(f64(EDGE_WEIGHT))
    conv = EinsteinMidpointConv(manifold=manifold)
    assert gradcheck(lambda a, b: conv(a, ei, edge_weight=b, size=SIZE), (x_src, w))
    conv = attention_conv(manifold, x_src.size(1))
    assert gradcheck(lambda a, b, c: conv((a, b), ei, edge_weight=c), (x_src, x_dst, w))


def test_gradcheck_attention_parameters(manifold):
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    conv = attention_conv(manifold, x_src.size(1))
    assert [name for name, _ in conv.named_parameters()] == ["att_src", "att_dst"]
    f, params = parameter_function(conv, ((x_src, x_dst), ei))
    assert gradcheck(f, params)
    f, params = parameter_function(conv, ((x_src, None), ei), dict(size=SIZE))
    assert gradcheck(f, params)


@pytest.mark.parametrize("name", list(LEARNABLE))
def test_gradcheck_learnable_curvature(name):
    # the curvature is then a parameter of the layer, reached through the
    # midpoint of every destination, the isolated user 2 included (its origin
    # depends on the curvature on the hyperboloid, on nothing in the balls)
    manifold = LEARNABLE[name]()
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    conv = attention_conv(manifold, x_src.size(1))
    f, params = parameter_function(conv, ((x_src, x_dst), ei))
    assert len(params) == 3
    assert gradcheck(f, params)


@pytest.mark.parametrize("attention", [False, True])
def test_gradient_reaches_exactly_the_items_with_an_edge(manifold, attention):
    # midpoint users have no parameters: the loss on users trains the items
    items, ei = req(embed(manifold, ITEMS)), edge_index()
    conv = attention_conv(manifold, items.size(1)) if attention else EinsteinMidpointConv(manifold=manifold)
    users = conv((items, None), ei, size=SIZE)
    manifold.dist(users, embed(manifold, USERS)).sum().backward()
    has_edge = torch.zeros(NUM_ITEMS, dtype=torch.bool)
    has_edge[ei[0]] = True
    assert has_edge.tolist() == [True] * 5 + [False]
    grad_norm = items.grad.norm(dim=-1)
    assert (grad_norm[has_edge] > 1e-6).all(), grad_norm
    assert torch.equal(items.grad[~has_edge], torch.zeros_like(items.grad[~has_edge]))


def _adj_t(ei, weight=None):
    # (user, item) sparse CSR, the transposed adjacency PyG layers accept
    w = torch.ones(ei.size(1), dtype=torch.float64) if weight is None else weight
    adj = torch.sparse_coo_tensor(ei.flip(0), w, (NUM_USERS, NUM_ITEMS), check_invariants=True)
    return adj.coalesce().to_sparse_csr()


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_adjacency_equals_edge_index(manifold, weighted):
    # without attention the sparse form is one sparse-dense product
    x, ei = embed(manifold, ITEMS), edge_index()
    w = f64(EDGE_WEIGHT) if weighted else None
    conv = EinsteinMidpointConv(manifold=manifold)
    expected = conv((x, None), ei, edge_weight=w, size=SIZE)
    out = conv((x, None), _adj_t(ei, w))
    torch.testing.assert_close(out, expected, **F64)
    out, adj = conv((x, None), _adj_t(ei, w), return_attention_weights=True)
    assert adj.layout == torch.sparse_csr


def test_sparse_adjacency_with_attention_equals_edge_index(manifold):
    x_src, x_dst, ei = embed(manifold, ITEMS), embed(manifold, USERS), edge_index()
    conv = attention_conv(manifold, x_src.size(1))
    expected = conv((x_src, x_dst), ei)
    torch.testing.assert_close(conv((x_src, x_dst), _adj_t(ei)), expected, **F64)


def test_sparse_adjacency_gradcheck(one_per_model):
    x, adj = req(embed(one_per_model, ITEMS)), _adj_t(edge_index(), f64(EDGE_WEIGHT))
    conv = EinsteinMidpointConv(manifold=one_per_model)
    assert gradcheck(lambda y: conv((y, None), adj), (x,))


def test_sparse_adjacency_rejects_edge_weight():
    x, ei = embed(Lorentz(), ITEMS), edge_index()
    with pytest.raises(ValueError, match="edge weights are its values"):
        EinsteinMidpointConv(manifold=Lorentz())((x, None), _adj_t(ei), edge_weight=f64(EDGE_WEIGHT))
