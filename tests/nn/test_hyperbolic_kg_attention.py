"""HyperbolicKGAttention (Hyper-Know Eq. 4-6) against the loop reference, which
computes alpha(v, t) = exp(-d_B(v (+)_c r, t)) with Eq. 1-2 in the Poincaré
ball, weights alpha*gamma / sum(alpha*gamma) (Eq. 5) and the conversions of
Eq. 6, then maps the result into the layer's model; in Euclidean space, TransE
attention exp(-|v + r - t|) and the weighted mean."""
import pytest
import torch
from torch.autograd import gradcheck

from hypgraph.manifolds import Euclidean, Klein, Lorentz, PoincareBall
from hypgraph.nn import HyperbolicKGAttention

from . import reference as R
from .conftest import (ENTITIES, F64, LEARNABLE, RELATIONS, USERS, embed, kg_graph, parameter_function,
                       permutation, relabel, req, tangent0)

ITEMS = USERS  # four hand-written points serve as the items here
NUM_ITEMS, NUM_ENTITIES, NUM_RELATIONS = len(ITEMS), len(ENTITIES), len(RELATIONS)


def kg_layer(manifold, dim, attention=True):
    layer = HyperbolicKGAttention(dim, NUM_RELATIONS, manifold=manifold, attention=attention).double()
    if attention:
        with torch.no_grad():
            layer.relation.copy_(tangent0(manifold, RELATIONS))
    return layer


def example(manifold):
    x_item, x_entity = embed(manifold, ITEMS), embed(manifold, ENTITIES)
    ei, et = kg_graph()
    return x_item, x_entity, ei, et


@pytest.mark.parametrize("make, expected", [
    (lambda: HyperbolicKGAttention(3, 2), "HyperbolicKGAttention(3, num_relations=2, manifold=PoincareBall(k=1))"),
    (lambda: HyperbolicKGAttention(4, 5, manifold=Lorentz(k=0.5)),
     "HyperbolicKGAttention(4, num_relations=5, manifold=Lorentz(k=0.5))"),
    (lambda: HyperbolicKGAttention(3, 1, manifold=Klein(k=1.3), attention=False),
     "HyperbolicKGAttention(3, num_relations=1, manifold=Klein(k=1.3), attention=False)"),
    (lambda: HyperbolicKGAttention(8, 2, manifold=Euclidean()),
     "HyperbolicKGAttention(8, num_relations=2, manifold=Euclidean())"),
])
def test_repr(make, expected):
    assert str(make()) == expected


def test_parameters_and_validation():
    layer = HyperbolicKGAttention(4, 3, manifold=Lorentz())
    assert isinstance(layer.relation, torch.nn.Parameter)
    assert layer.relation.shape == (3, 4)
    assert [name for name, _ in layer.named_parameters()] == ["relation"]
    assert HyperbolicKGAttention(4, 3, attention=False).relation is None
    assert isinstance(HyperbolicKGAttention(4, 3).manifold, PoincareBall)
    with pytest.raises(ValueError, match="channels"):
        HyperbolicKGAttention(0, 3)
    with pytest.raises(ValueError, match="num_relations"):
        HyperbolicKGAttention(3, 0)


def test_matches_reference(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    out = layer(x_item, x_entity, ei, et)
    assert out.shape == (NUM_ITEMS, x_item.size(1))
    expected, _ = R.kg_attention(manifold, x_item, x_entity, ei, et, tangent0(manifold, RELATIONS))
    torch.testing.assert_close(out, expected, **F64)


def test_attention_weights_are_eq5_coefficients(manifold):
    x_item, x_entity, ei, et = example(manifold)
    out, (returned_index, coeff) = kg_layer(manifold, x_item.size(1))(
        x_item, x_entity, ei, et, return_attention_weights=True)
    assert torch.equal(returned_index, ei)
    expected_out, expected_coeff = R.kg_attention(manifold, x_item, x_entity, ei, et,
                                                  tangent0(manifold, RELATIONS))
    torch.testing.assert_close(out, expected_out, **F64)
    torch.testing.assert_close(coeff, expected_coeff, **F64)
    # the weights are not uniform: attention discriminates between neighbours
    assert coeff[:3].max() - coeff[:3].min() > 1e-2


def test_relations_matter(manifold):
    # Eq. 4 scores each triple by its relation: another relation, another output
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    out = layer(x_item, x_entity, ei, et)
    assert not torch.allclose(layer(x_item, x_entity, ei, (et + 1) % NUM_RELATIONS), out, atol=1e-4)
    # renaming the relations (permuting the rows of the table) changes nothing
    rel_perm = permutation(NUM_RELATIONS, seed=3)
    with torch.no_grad():
        layer.relation.copy_(layer.relation[rel_perm])
    torch.testing.assert_close(layer(x_item, x_entity, ei, torch.argsort(rel_perm)[et]), out, **F64)


def test_without_attention_is_the_plain_midpoint(manifold):
    # Hyper-Know Table 3, "Avg": alpha = 1
    x_item, x_entity, ei, et = example(manifold)
    out = kg_layer(manifold, x_item.size(1), attention=False)(x_item, x_entity, ei, et)
    expected, _ = R.kg_attention(manifold, x_item, x_entity, ei, et, None, attention=False)
    torch.testing.assert_close(out, expected, **F64)
    torch.testing.assert_close(out, R.midpoint_conv(manifold, x_entity, ei, NUM_ITEMS), **F64)


def test_euclidean_is_transe_attention():
    m = Euclidean()
    x_item, x_entity, ei, et = example(m)
    relation = torch.tensor(RELATIONS, dtype=torch.float64)
    out = kg_layer(m, 3)(x_item, x_entity, ei, et)
    alpha = torch.exp(-(x_item[ei[1]] + relation[et] - x_entity[ei[0]]).norm(dim=-1))
    num = torch.zeros(NUM_ITEMS, 3, dtype=torch.float64).index_add_(0, ei[1], alpha.unsqueeze(-1) * x_entity[ei[0]])
    den = torch.zeros(NUM_ITEMS, dtype=torch.float64).index_add_(0, ei[1], alpha)
    torch.testing.assert_close(out, num / den.clamp_min(1e-300).unsqueeze(-1), **F64)


def test_empty_edge_index_and_isolated_items_get_the_origin(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    origin = manifold.origin(NUM_ITEMS, x_item.size(1), dtype=x_item.dtype)
    empty = layer(x_item, x_entity, torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=torch.long))
    assert torch.equal(empty, origin)
    out, (_, coeff) = layer(x_item, x_entity, torch.empty(2, 0, dtype=torch.long),
                            torch.empty(0, dtype=torch.long), return_attention_weights=True)
    assert torch.equal(out, origin) and coeff.shape == (0,)
    assert torch.equal(layer(x_item, x_entity, ei, et)[2], origin[2])  # item 2 has no triple


def test_invariant_to_edge_order(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    expected, (_, coeff) = layer(x_item, x_entity, ei, et, return_attention_weights=True)
    perm = permutation(ei.size(1), seed=0)
    out, (_, coeff_perm) = layer(x_item, x_entity, ei[:, perm], et[perm], return_attention_weights=True)
    torch.testing.assert_close(out, expected, **F64)
    torch.testing.assert_close(coeff_perm, coeff[perm], **F64)


def test_invariant_to_node_order(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    expected = layer(x_item, x_entity, ei, et)
    entity_perm, item_perm = permutation(NUM_ENTITIES, seed=1), permutation(NUM_ITEMS, seed=2)
    out = layer(x_item[item_perm], x_entity[entity_perm], relabel(ei, entity_perm, item_perm), et)
    torch.testing.assert_close(out, expected[item_perm], **F64)


def test_gradcheck_inputs(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    assert gradcheck(lambda a, b: layer(a, b, ei, et), (req(x_item), req(x_entity)))


def test_gradcheck_relation_embeddings(manifold):
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    f, params = parameter_function(layer, (x_item, x_entity, ei, et))
    assert gradcheck(f, params)
    # every relation with a triple receives a gradient
    layer(x_item, x_entity, ei, et).pow(2).sum().backward()
    assert (layer.relation.grad.norm(dim=-1) > 1e-6).all()


@pytest.mark.parametrize("name", list(LEARNABLE))
def test_gradcheck_learnable_curvature(name):
    manifold = LEARNABLE[name]()
    x_item, x_entity, ei, et = example(manifold)
    layer = kg_layer(manifold, x_item.size(1))
    f, params = parameter_function(layer, (x_item, x_entity, ei, et))
    assert len(params) == 2  # relation and the curvature
    assert gradcheck(f, params)
