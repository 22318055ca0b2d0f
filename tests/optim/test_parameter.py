"""ManifoldParameter keeps its manifold through copies, pickles and loads."""
import copy
import io
import pickle

import pytest
import torch
from torch import nn

from hypgraph.manifolds import Klein, Lorentz, PoincareBall
from hypgraph.optim import ManifoldParameter


class Table(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.manifold = Lorentz(k=0.5)
        self.weight = ManifoldParameter(self.manifold.random(5, 3), self.manifold)


def test_is_a_parameter_that_names_its_manifold():
    table = Table()
    assert isinstance(table.weight, nn.Parameter)
    assert [name for name, _ in table.named_parameters()] == ["weight"]
    assert table.weight.manifold is table.manifold
    assert str(table.weight).startswith("ManifoldParameter on Lorentz(k=0.5) containing:\ntensor(")
    assert "requires_grad=True" in repr(table.weight)
    frozen = ManifoldParameter(torch.zeros(2, 3), PoincareBall(), requires_grad=False)
    assert not frozen.requires_grad and "requires_grad" not in repr(frozen)
    # operations give plain tensors: the manifold stays with the parameter
    assert type(table.weight * 2) is torch.Tensor


def test_rejects_what_is_not_a_manifold_or_a_tensor():
    with pytest.raises(TypeError, match="must be a hypgraph Manifold, got str"):
        ManifoldParameter(torch.zeros(2), "lorentz")
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        ManifoldParameter([0.0, 1.0], Klein())


def test_deepcopy_copies_the_manifold_with_the_module():
    table = Table()
    clone = copy.deepcopy(table)
    assert type(clone.weight) is ManifoldParameter
    assert clone.weight.manifold is clone.manifold  # shared through the memo
    assert clone.manifold is not table.manifold
    assert torch.equal(clone.weight, table.weight)
    assert clone.weight.data_ptr() != table.weight.data_ptr()


def test_pickle_and_torch_save_keep_class_and_manifold():
    table = Table()
    for restored in (pickle.loads(pickle.dumps(table.weight)),
                     pickle.loads(pickle.dumps(table)).weight):
        assert type(restored) is ManifoldParameter
        assert repr(restored.manifold) == "Lorentz(k=0.5)"
        assert torch.equal(restored, table.weight) and restored.requires_grad
    buffer = io.BytesIO()
    torch.save(table, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded.weight) is ManifoldParameter and loaded.weight.manifold is loaded.manifold


def test_load_state_dict_and_dtype_moves_keep_the_parameter():
    source, target = Table(), Table()
    weight = target.weight
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)  # plain tensors: weights_only loads it
    buffer.seek(0)
    target.load_state_dict(torch.load(buffer, weights_only=True))
    assert target.weight is weight and type(weight) is ManifoldParameter
    assert torch.equal(target.weight, source.weight)
    target.double()
    assert type(target.weight) is ManifoldParameter and target.weight.dtype == torch.float64
    assert target.weight.manifold is target.manifold
