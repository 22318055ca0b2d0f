r"""The Einstein midpoint: a closed-form hyperbolic weighted average."""
from __future__ import annotations

import warnings
from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.utils import is_sparse, scatter, segment, spmm

from . import numerics
from .base import Manifold

__all__ = ["einstein_midpoint", "sparse_matmul"]


class _SparseMatmul(torch.autograd.Function):
    # A x with backward A^T g from a stored transpose: autograd of a torch
    # sparse CSR product transposes A at every backward (a sort of its nnz)

    @staticmethod
    def forward(ctx, adj: Tensor, adj_t: Tensor, x: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        return adj @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return None, None, ctx.adj_t @ grad


def sparse_matmul(adj: Tensor, x: Tensor, adj_t: Optional[Tensor] = None) -> Tensor:
    r""":math:`A x` for a constant ``torch.sparse`` matrix :obj:`adj` (CSR
    or COO), differentiable in :obj:`x`, whose backward multiplies by
    :obj:`adj_t` (:math:`A^\top`, e.g. built once beside :math:`A`; ``None``
    when :math:`A` is symmetric and is its own transpose). No gradient flows
    to the values of :obj:`adj`."""
    return _SparseMatmul.apply(adj, adj if adj_t is None else adj_t, x)


def einstein_midpoint(
    x: Tensor,
    weights: Optional[Tensor] = None,
    *,
    manifold: Manifold,
    index: Optional[Tensor] = None,
    ptr: Optional[Tensor] = None,
    dim_size: Optional[int] = None,
    adj: Optional[Tensor] = None,
    adj_t: Optional[Tensor] = None,
    weight_sum: Optional[Tensor] = None,
    logmap0: bool = False,
) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    r"""Weighted Einstein midpoint, computed in Klein coordinates with Lorentz
    factors ([Chamberlain 2019] Eq. 24-25; [Hyper-Know] Eq. 5):

    .. math::
        m_K = \frac{\sum_i w_i \gamma_i \kappa_i}{\sum_i w_i \gamma_i},\qquad
        \gamma_i = \frac{1}{\sqrt{1 - k\lVert\kappa_i\rVert^2}}

    Points enter and leave in the coordinates of :obj:`manifold`; the sums are
    taken over homogeneous Klein coordinates :math:`\gamma_i(1, \kappa_i)`
    (:meth:`Manifold.to_klein_homogeneous`), which stay exact for points far
    from the origin. With :class:`Euclidean` all :math:`\gamma_i = 1` and this
    is the weighted mean. Weights must be non-negative; they need not sum to 1.

    Args:
        x (Tensor): Points, shape ``[..., N, D]`` (dense) or ``[N, D]`` (grouped).
        weights (Tensor, optional): Shape ``[..., N]`` or ``[N]`` (default: all 1).
        manifold (Manifold): The model :obj:`x` lives in.
        index (Tensor, optional): Group of each point, shape ``[N]``; returns one
            midpoint per group. Groups with no points (or zero total weight)
            get the manifold's origin.
        ptr (Tensor, optional): Instead of :obj:`index`, CSR boundaries of
            groups of consecutive points, shape ``[G + 1]``.
        dim_size (int, optional): Number of groups (default: ``index.max() + 1``).
        adj (Tensor, optional): Instead of :obj:`index`, a sparse ``[G, N]``
            matrix (``torch.sparse`` COO or CSR, or a ``SparseTensor``): group
            :math:`g` is the midpoint of the points in the non-zero columns of
            row :math:`g`, weighted by the stored values. The sums become one
            sparse-dense product, which is much faster than gathering a copy
            of every point per entry, and its backward is the transposed
            product. :obj:`weights` must then be ``None``.
        adj_t (Tensor, optional): The transpose of a constant ``torch.sparse``
            :obj:`adj` (or :obj:`adj` itself when it is symmetric): the
            backward then multiplies by it (:func:`sparse_matmul`) instead of
            transposing :obj:`adj` at every call, and no gradient flows to
            the weights. For a graph propagated at every step.
        weight_sum (Tensor, optional): With :obj:`adj`, its row sums ``[G]``
            when they are known (constant for a fixed graph: e.g.
            :meth:`~hypgraph.nn.models.propagation.GraphAdjacency.row_sums`),
            which saves a product per call.
        logmap0 (bool): Also return the intrinsic coordinates of
            :math:`\log_o` of the midpoints (:meth:`Manifold.logmap0_coords`),
            from :meth:`Manifold.from_klein_homogeneous_log0`, which the
            hyperboloid computes in one fused step: for layers that combine
            their hops in the tangent space at the origin (default: ``False``).

    Shapes:
        - dense: ``[..., N, D]`` -> ``[..., D]``
        - grouped: ``[N, D]``, ``index [N]`` -> ``[dim_size, D]``
        - sparse: ``[N, D]``, ``adj [G, N]`` -> ``[G, D]``
        - with :obj:`logmap0`: the pair ``(midpoints, tangent coordinates)``
    """
    h = manifold.to_klein_homogeneous(x)
    if weight_sum is not None and adj is None:
        raise ValueError("einstein_midpoint: weight_sum= gives the row sums of adj=; pass weights otherwise")
    if adj is not None:
        if weights is not None or index is not None or ptr is not None:
            raise ValueError("einstein_midpoint: with adj= the weights are its values; "
                             "do not also pass weights, index or ptr")
        if not is_sparse(adj) or adj.dim() != 2 or adj.size(1) != x.size(0):
            raise ValueError(f"einstein_midpoint: adj must be a sparse [G, {x.size(0)}] matrix, "
                             f"got {'a sparse' if is_sparse(adj) else 'a dense'} tensor of shape "
                             f"{tuple(adj.size())}")
        if isinstance(adj, Tensor) and adj.dtype != h.dtype:
            adj = adj.to(h.dtype)
        if adj_t is not None:
            if not isinstance(adj, Tensor) or tuple(adj_t.shape) != tuple(adj.shape)[::-1]:
                raise ValueError(f"einstein_midpoint: adj_t must be the torch.sparse transpose of adj "
                                 f"{tuple(adj.shape)}, got shape {tuple(adj_t.shape)}")
            h_sum = sparse_matmul(adj, h, adj_t.to(h.dtype))
            return _from_sums(h_sum, _row_sums(adj, h, weight_sum), x.size(-1), manifold, logmap0)
        with warnings.catch_warnings():  # torch's one-time notice that CSR is "beta"
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            # numerator and total weight per group; the weights' product reads a
            # column of ones, not a copy of h widened by one (a table's worth of
            # memory traffic in every forward and backward)
            h_sum = spmm(adj, h, reduce="sum")
            if weight_sum is None:
                weight_sum = spmm(adj, torch.ones_like(h[..., :1]), reduce="sum").squeeze(-1)
        return _from_sums(h_sum, _row_sums(adj, h, weight_sum), x.size(-1), manifold, logmap0)
    if weights is None:
        weights = torch.ones_like(h[..., 0])
    weights = weights.to(h.dtype).unsqueeze(-1)
    # numerator, denominator and total weight in one reduction
    stacked = torch.cat([h * weights, weights], dim=-1)
    if ptr is not None:
        total = segment(stacked, ptr, reduce="sum")
    elif index is not None:
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
        total = scatter(stacked, index, dim=0, dim_size=dim_size, reduce="sum")
    else:
        total = stacked.sum(dim=-2)
    return _from_sums(total[..., :-1], total[..., -1], x.size(-1), manifold, logmap0)


def _row_sums(adj, h: Tensor, weight_sum: Optional[Tensor]) -> Tensor:
    # the total weight of every group [G]: as given (checked), else A 1
    if weight_sum is None:
        with torch.no_grad():
            return (adj @ torch.ones_like(h[..., :1])).squeeze(-1)
    if tuple(weight_sum.shape) != (adj.size(0),):
        raise ValueError(f"einstein_midpoint: weight_sum must hold the {adj.size(0)} row sums of adj, "
                         f"got shape {tuple(weight_sum.shape)}")
    return weight_sum.to(h.dtype)


def _from_sums(h_sum: Tensor, w_sum: Tensor, dim: int, manifold: Manifold,
               logmap0: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    # (sum w h [..., D], sum w [...]) per group -> the midpoint, or the origin if
    # empty (apart: joining them would copy a table-sized tensor every hop),
    # with its log_o coordinates if asked
    convert = manifold.from_klein_homogeneous_log0 if logmap0 else manifold.from_klein_homogeneous
    if numerics.host_checks(w_sum) and bool((w_sum > 0).all()):
        # no empty group (the usual case on a graph): no table-sized where
        # and origin (off the CPU: branch-free, below)
        return convert(h_sum, w_sum)
    origin = manifold.origin(*h_sum.shape[:-1], dim, dtype=h_sum.dtype, device=h_sum.device)
    # Empty groups (or zero total weight) get the origin. Feed them the
    # origin's own homogeneous coordinates rather than h = 0, which some
    # models map through 0/0 (Klein): a NaN in the unused branch of
    # torch.where still poisons the backward pass.
    empty = (w_sum <= 0).unsqueeze(-1)
    h_safe = torch.where(empty, manifold.to_klein_homogeneous(origin), h_sum)
    w_safe = torch.where(empty.squeeze(-1), torch.ones_like(w_sum), w_sum)
    out = convert(h_safe, w_safe)
    if logmap0:  # the origin's log_o is 0
        return torch.where(empty, origin, out[0]), out[1].masked_fill(empty, 0.0)
    return torch.where(empty, origin, out)
