"""torch.compile: every layer traces into one graph (no graph breaks) and the
compiled layer gives the eager output and gradients. Compilation is slow on
CPU, so there are few of these and they are small: the graph-break count for
every layer, outputs and gradients through AOTAutograd for every layer, and
one full Inductor build."""
import pytest
import torch
import torch._dynamo
from torch_geometric.nn import MessagePassing

from hypgraph.manifolds import Lorentz, PoincareBall
from hypgraph.nn import (EinsteinMidpointAggregation, EinsteinMidpointConv, HyperbolicHeteroConv,
                         HyperbolicKGAttention)

from .conftest import ENTITIES, ITEMS, USERS, edge_index, embed, kg_graph

F32 = dict(atol=1e-5, rtol=1e-5)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


class MidpointPassing(MessagePassing):
    def __init__(self, manifold) -> None:
        super().__init__(aggr=EinsteinMidpointAggregation(manifold))

    def forward(self, x, edge_index, size=None):
        return self.propagate(edge_index, x=x, size=size)


def _cases():
    """(layer, args, kwargs, differentiable inputs) per layer, float32."""
    lorentz, ball = Lorentz(k=0.5), PoincareBall(k=0.7)
    items, users = embed(lorentz, ITEMS, torch.float32), embed(lorentz, USERS, torch.float32)
    b_items, b_entities = embed(ball, USERS, torch.float32), embed(ball, ENTITIES, torch.float32)
    ei = edge_index()
    kg_ei, kg_et = kg_graph()
    torch.manual_seed(0)
    hetero = HyperbolicHeteroConv({
        ("item", "rates", "user"): EinsteinMidpointConv(4, manifold=lorentz, attention=True),
        ("tag", "describes", "user"): EinsteinMidpointConv(manifold=lorentz),
    }, lorentz)
    tags = items[:3].flip(0).contiguous()
    return {
        "aggr": (MidpointPassing(lorentz), (items, ei), dict(size=(6, 4)), [items]),
        "midpoint": (EinsteinMidpointConv(manifold=lorentz), (items, ei), dict(size=(6, 4)), [items]),
        "midpoint-attention": (EinsteinMidpointConv(4, manifold=lorentz, attention=True),
                               ((items, users), ei), {}, [items, users]),
        "kg-attention": (HyperbolicKGAttention(3, 3, manifold=ball), (b_items, b_entities, kg_ei, kg_et), {},
                         [b_items, b_entities]),
        "hetero": (hetero, ({"item": items, "tag": tags, "user": users},
                            {("item", "rates", "user"): ei,
                             ("tag", "describes", "user"): torch.tensor([[0, 1, 2], [0, 3, 1]])}), {},
                   [items, tags, users]),
    }


CASES = ["aggr", "midpoint", "midpoint-attention", "kg-attention", "hetero"]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _total(out):
    if isinstance(out, dict):
        return sum(v.sum() for v in out.values())
    return out.sum()


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], **F32)
    else:
        torch.testing.assert_close(a, b, **F32)


@pytest.mark.parametrize("name", CASES)
def test_no_graph_breaks(name):
    layer, args, kwargs, _ = _cases()[name]
    explanation = torch._dynamo.explain(layer)(*args, **kwargs)
    reasons = [reason.reason for reason in explanation.break_reasons]
    assert explanation.graph_break_count == 0, reasons
    assert explanation.graph_count == 1


@pytest.mark.parametrize("name", CASES)
def test_compiled_matches_eager(name):
    layer, args, kwargs, inputs = _cases()[name]
    for x in inputs:
        x.requires_grad_(True)
    eager = layer(*args, **kwargs)
    eager_grads = torch.autograd.grad(_total(eager), inputs + list(layer.parameters()))
    # AOTAutograd traces forward and backward; Inductor's code generation is
    # checked once below, since it costs seconds per graph on CPU
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    out = compiled(*args, **kwargs)
    _assert_same(out, eager)
    grads = torch.autograd.grad(_total(out), inputs + list(layer.parameters()))
    for g, e in zip(grads, eager_grads):
        torch.testing.assert_close(g, e, **F32)


def test_inductor_matches_eager():
    layer, args, kwargs, _ = _cases()["midpoint"]
    compiled = torch.compile(layer, fullgraph=True)
    torch.testing.assert_close(compiled(*args, **kwargs), layer(*args, **kwargs), **F32)
