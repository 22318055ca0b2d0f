r"""A parameter that knows the manifold its rows live on."""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ..manifolds.base import Manifold

__all__ = ["ManifoldParameter"]


def _rebuild_manifold_parameter(data: Tensor, manifold: Manifold,
                                requires_grad: bool) -> "ManifoldParameter":
    # Module-level so that pickle can find it; see ManifoldParameter.__reduce_ex__.
    return ManifoldParameter(data, manifold, requires_grad)


class ManifoldParameter(nn.Parameter):
    r"""An :class:`torch.nn.Parameter` whose points lie on :obj:`manifold`
    (one point per slice along the last dimension, so an ``(N, D)`` table
    holds ``N`` points).

    :class:`~hypgraph.optim.RiemannianSGD` and
    :class:`~hypgraph.optim.RiemannianAdam` read ``param.manifold`` and take
    Riemannian steps on it; every other tensor is treated as Euclidean. The
    data is not projected on construction: initialise it on the manifold
    (e.g. with :meth:`Manifold.random`); the optimisers re-project after
    every step.

    The manifold survives :func:`copy.deepcopy` (deep-copied with the same
    memo, so a copied model's parameter points at the copied model's
    manifold), :meth:`torch.nn.Module.load_state_dict` into an existing
    parameter (which copies values in place), dtype/device moves such as
    ``module.double()``, and pickling (``torch.save(module)`` /
    ``torch.load(..., weights_only=False)``). A ``state_dict`` stores plain
    tensors, so it loads with ``weights_only=True``.
    ``load_state_dict(..., assign=True)`` replaces the parameter object by a
    plain :class:`~torch.nn.Parameter` (torch does this): re-wrap it there.

    Args:
        data (torch.Tensor): The points, shape ``(..., D)`` with ``D`` the
            manifold's coordinate dimension.
        manifold (Manifold): Their manifold.
        requires_grad (bool): (default: ``True``)

    Example:
        >>> from hypgraph.manifolds import Lorentz
        >>> H = Lorentz()
        >>> weight = ManifoldParameter(H.random(10, H.coord_dim(2)), H)
        >>> weight.manifold
        Lorentz(k=1)
    """

    manifold: Manifold

    def __new__(cls, data: Tensor, manifold: Manifold, requires_grad: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"ManifoldParameter data must be a torch.Tensor, "
                            f"got {type(data).__name__}")
        if not isinstance(manifold, Manifold):
            raise TypeError(f"ManifoldParameter manifold must be a hypgraph Manifold, "
                            f"got {type(manifold).__name__}")
        instance = torch.Tensor._make_subclass(cls, data, requires_grad)
        instance.manifold = manifold
        return instance

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(memory_format=torch.preserve_format),
                            copy.deepcopy(self.manifold, memo), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        # nn.Parameter rebuilds a plain Parameter; rebuild this class instead.
        # Hooks are not serialised, as in torch.
        return (_rebuild_manifold_parameter, (self.data, self.manifold, self.requires_grad))

    def __repr__(self) -> str:
        # like nn.Parameter's repr, with the manifold named
        plain = self.detach().requires_grad_(self.requires_grad)
        return f"ManifoldParameter on {self.manifold!r} containing:\n{plain!r}"
