"""HyperbolicHeteroConv: per destination, the Einstein midpoint of the
per-edge-type results over the edge types with an edge into it, against the
loop reference on every manifold."""
import pytest
import torch
from torch.autograd import gradcheck

from hypgraph.manifolds import Klein, Lorentz
from hypgraph.nn import EinsteinMidpointConv, HyperbolicHeteroConv

from . import reference as R
from .conftest import (F64, ITEMS, USERS, att_vectors, edge_index, embed, f64, parameter_function,
                       permutation, relabel, req)

TAGS = [
    [0.40, 0.05, -0.15],
    [-0.30, -0.40, 0.20],
    [0.10, -0.15, 0.55],
    [-0.20, 0.45, -0.30],
]
USERS5 = USERS + [[0.30, 0.30, -0.30]]
RATES = ("item", "rates", "user")         # users 0, 1, 3
DESCRIBES = ("tag", "describes", "user")  # users 0, 1, 4
TAGS_ITEM = ("tag", "tags", "item")       # the only edge type into items
FOLLOWS = ("user", "follows", "user")
# user 0 and 1: both types; 2: none; 3: items only; 4: tags only
DESCRIBES_INDEX = [[0, 1, 1, 2, 3], [0, 0, 1, 4, 4]]
DESCRIBES_WEIGHT = [2.0, 0.5, 1.0, 1.5, 0.25]
TAGS_ITEM_INDEX = [[0, 2, 3], [1, 1, 4]]
FOLLOWS_INDEX = [[1, 3, 0, 4], [0, 0, 2, 3]]


def hetero(manifold):
    dim = embed(manifold, ITEMS).size(1)
    rates = EinsteinMidpointConv(dim, manifold=manifold, attention=True).double()
    att_src, att_dst = att_vectors(manifold)
    with torch.no_grad():
        rates.att_src.copy_(att_src)
        rates.att_dst.copy_(att_dst)
    convs = {RATES: rates, DESCRIBES: EinsteinMidpointConv(manifold=manifold), TAGS_ITEM: EinsteinMidpointConv(manifold=manifold)}
    return HyperbolicHeteroConv(convs, manifold)


def inputs(manifold):
    x_dict = {"item": embed(manifold, ITEMS), "tag": embed(manifold, TAGS), "user": embed(manifold, USERS5)}
    edge_index_dict = {RATES: edge_index(), DESCRIBES: torch.tensor(DESCRIBES_INDEX),
                       TAGS_ITEM: torch.tensor(TAGS_ITEM_INDEX)}
    return x_dict, edge_index_dict, {DESCRIBES: f64(DESCRIBES_WEIGHT)}


def reference(manifold, x_dict, edge_index_dict, weight_dict):
    att_src, att_dst = att_vectors(manifold)
    by_items = R.midpoint_conv(manifold, x_dict["item"], edge_index_dict[RATES], 5, x_dst=x_dict["user"],
                               att_src=att_src, att_dst=att_dst)
    by_tags = R.midpoint_conv(manifold, x_dict["tag"], edge_index_dict[DESCRIBES], 5,
                              edge_weight=weight_dict[DESCRIBES])
    users = R.hetero_combine(manifold, [by_items, by_tags], [edge_index_dict[RATES], edge_index_dict[DESCRIBES]], 5)
    items = R.midpoint_conv(manifold, x_dict["tag"], edge_index_dict[TAGS_ITEM], len(ITEMS))
    return {"item": items, "user": users}, by_items, by_tags


def test_repr_and_validation():
    conv = HyperbolicHeteroConv({RATES: EinsteinMidpointConv(manifold=Klein(k=1.3)),
                                 DESCRIBES: EinsteinMidpointConv(manifold=Klein(k=1.3))}, Klein(k=1.3))
    assert str(conv) == "HyperbolicHeteroConv(num_relations=2, manifold=Klein(k=1.3))"
    with pytest.raises(ValueError, match="'rates'"):
        HyperbolicHeteroConv({"rates": EinsteinMidpointConv(manifold=Lorentz())}, Lorentz())


def test_matches_reference(manifold):
    x_dict, edge_index_dict, weight_dict = inputs(manifold)
    out = hetero(manifold)(x_dict, edge_index_dict, edge_weight_dict=weight_dict)
    expected, by_items, by_tags = reference(manifold, x_dict, edge_index_dict, weight_dict)
    assert set(out) == {"item", "user"}  # no edge type ends at "tag"
    assert out["user"].shape == (5, x_dict["user"].size(1))
    assert out["item"].shape == (len(ITEMS), x_dict["item"].size(1))
    torch.testing.assert_close(out["user"], expected["user"], **F64)
    torch.testing.assert_close(out["item"], expected["item"], **F64)
    # a node reached by one edge type takes that type's result; by none, the origin
    torch.testing.assert_close(out["user"][3], by_items[3], **F64)
    torch.testing.assert_close(out["user"][4], by_tags[4], **F64)
    assert torch.equal(out["user"][2], manifold.origin(x_dict["user"].size(1), dtype=torch.float64))
    # where both reach, the result lies strictly between the two
    d = manifold.dist(by_items[0], by_tags[0])
    torch.testing.assert_close(manifold.dist(out["user"][0], by_items[0]), d / 2, **F64)


def test_missing_edge_types_are_skipped(manifold):
    x_dict, edge_index_dict, weight_dict = inputs(manifold)
    del edge_index_dict[TAGS_ITEM], edge_index_dict[DESCRIBES]
    out = hetero(manifold)(x_dict, edge_index_dict)
    assert set(out) == {"user"}
    _, by_items, _ = reference(manifold, x_dict, inputs(manifold)[1], weight_dict)
    torch.testing.assert_close(out["user"], by_items, **F64)


def test_empty_edge_index_gives_the_origin(manifold):
    x_dict, edge_index_dict, _ = inputs(manifold)
    empty = {key: torch.empty(2, 0, dtype=torch.long) for key in edge_index_dict}
    out = hetero(manifold)(x_dict, empty)
    for node_type, num in [("user", 5), ("item", len(ITEMS))]:
        dim = x_dict[node_type].size(1)
        assert torch.equal(out[node_type], manifold.origin(num, dim, dtype=torch.float64))


def test_invariant_to_edge_and_node_order(manifold):
    x_dict, edge_index_dict, weight_dict = inputs(manifold)
    conv = hetero(manifold)
    expected = conv(x_dict, edge_index_dict, edge_weight_dict=weight_dict)
    perm = permutation(len(DESCRIBES_WEIGHT), seed=0)
    shuffled = dict(edge_index_dict)
    shuffled[DESCRIBES] = edge_index_dict[DESCRIBES][:, perm]
    shuffled[RATES] = edge_index_dict[RATES].flip(1)
    out = conv(x_dict, shuffled, edge_weight_dict={DESCRIBES: weight_dict[DESCRIBES][perm]})
    for key in expected:
        torch.testing.assert_close(out[key], expected[key], **F64)
    item_perm, tag_perm, user_perm = permutation(6, seed=1), permutation(4, seed=2), permutation(5, seed=3)
    moved_x = {"item": x_dict["item"][item_perm], "tag": x_dict["tag"][tag_perm], "user": x_dict["user"][user_perm]}
    moved_edges = {RATES: relabel(edge_index_dict[RATES], item_perm, user_perm),
                   DESCRIBES: relabel(edge_index_dict[DESCRIBES], tag_perm, user_perm),
                   TAGS_ITEM: relabel(edge_index_dict[TAGS_ITEM], tag_perm, item_perm)}
    out = conv(moved_x, moved_edges, edge_weight_dict=weight_dict)
    torch.testing.assert_close(out["user"], expected["user"][user_perm], **F64)
    torch.testing.assert_close(out["item"], expected["item"][item_perm], **F64)


def test_gradcheck_inputs(manifold):
    x_dict, edge_index_dict, weight_dict = inputs(manifold)
    conv = hetero(manifold)

    def f(items, tags, users):
        # perturbed along the manifold (see test_gradcheck_einstein_midpoint)
        items, tags, users = (manifold.projx(t) for t in (items, tags, users))
        out = conv({"item": items, "tag": tags, "user": users}, edge_index_dict, edge_weight_dict=weight_dict)
        return out["item"], out["user"]

    assert gradcheck(f, (req(x_dict["item"]), req(x_dict["tag"]), req(x_dict["user"])))


def test_gradcheck_parameters(manifold):
    x_dict, edge_index_dict, weight_dict = inputs(manifold)
    conv = hetero(manifold)
    f, params = parameter_function(conv, (x_dict, edge_index_dict), dict(edge_weight_dict=weight_dict))
    assert [name for name, _ in conv.named_parameters()] == ["convs.item__rates__user.att_src",
                                                             "convs.item__rates__user.att_dst"]
    assert gradcheck(f, params)


def test_same_type_edges(manifold):
    # A (user, follows, user) edge type is called as conv(x_user, edge_index)
    # (PyG's HeteroConv convention, documented in HyperbolicHeteroConv); the
    # midpoint of the followed users then joins the items' result.
    x_dict, edge_index_dict, _ = inputs(manifold)
    conv = HyperbolicHeteroConv({RATES: EinsteinMidpointConv(manifold=manifold), FOLLOWS: EinsteinMidpointConv(manifold=manifold)},
                                manifold)
    edges = {RATES: edge_index_dict[RATES], FOLLOWS: torch.tensor(FOLLOWS_INDEX)}
    out = conv(x_dict, edges)
    by_items = R.midpoint_conv(manifold, x_dict["item"], edges[RATES], 5)
    by_follows = R.midpoint_conv(manifold, x_dict["user"], edges[FOLLOWS], 5)
    expected = R.hetero_combine(manifold, [by_items, by_follows], [edges[RATES], edges[FOLLOWS]], 5)
    torch.testing.assert_close(out["user"], expected, **F64)


def test_destination_without_points_is_a_clear_error():
    # Midpoint users have no points of their own, and the layer reads the
    # destination with x_dict.get(dst); the number of destinations must then
    # come from somewhere, and its absence should be named, not a KeyError.
    manifold = Lorentz()
    x_dict, edge_index_dict, _ = inputs(manifold)
    del x_dict["user"]
    conv = HyperbolicHeteroConv({RATES: EinsteinMidpointConv(manifold=manifold)}, manifold)
    with pytest.raises(ValueError, match="'user'"):
        conv(x_dict, {RATES: edge_index_dict[RATES]})
