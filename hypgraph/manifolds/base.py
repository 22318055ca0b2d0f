r"""The interface every manifold shares, and the curvature it owns."""
from __future__ import annotations

import functools
import warnings
from abc import ABC, abstractmethod
from typing import Callable, Optional, Tuple, TypeVar, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Manifold", "Curvature"]

_F = TypeVar("_F", bound=Callable)


def _curvature_from_c(k, c, where: str, default=1.0):
    r"""The curvature magnitude :obj:`k` of a call that may still spell it
    ``c=`` (the Poincaré ball's and Klein's name before 0.2): ``c`` wins over
    a default ``k``, with a :class:`DeprecationWarning`; both given is an error."""
    if c is None:
        return k
    if not (k is default or (isinstance(k, float) and k == default)):
        raise TypeError(f"{where}: got both k={k} and its deprecated name c={c}; pass k only")
    warnings.warn(f"{where}: the curvature keyword c= is now k= (one name on every manifold); "
                  "c= will be removed in the next release", DeprecationWarning, stacklevel=3)
    return c


def _accepts_c(fn: _F) -> _F:
    r"""Let a pure function whose curvature keyword is ``k`` still be called
    with ``c=`` for one release (DeprecationWarning)."""
    where = f"{fn.__module__.replace('hypgraph.manifolds.', '')}.{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "c" in kwargs:
            kwargs["k"] = _curvature_from_c(kwargs.get("k", 1.0), kwargs.pop("c"), where)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _c_alias(self) -> Tensor:
    name = type(self).__name__
    warnings.warn(f"{name}.c is now {name}.k (one name on every manifold); "
                  ".c will be removed in the next release", DeprecationWarning, stacklevel=2)
    return self.k


#: ``PoincareBall.c`` / ``Klein.c``: the name of :attr:`k` before 0.2, kept for one release.
_C_ALIAS = property(_c_alias, doc="Deprecated name of ``k`` (before 0.2).")


class Curvature(nn.Module):
    r"""A positive curvature magnitude: a buffer, or a learnable parameter kept
    positive by softplus.

    Args:
        value (float): Initial magnitude (the manifold has curvature ``-value``).
        learnable (bool): Learn it (default: ``False``).
    """

    def __init__(self, value: float = 1.0, learnable: bool = False) -> None:
        super().__init__()
        value = float(value)
        if not value > 0:
            raise ValueError(f"curvature magnitude must be > 0, got {value}")
        self.learnable = learnable
        if learnable:
            # inverse softplus, so that softplus(raw) == value
            raw = torch.tensor(value, dtype=torch.float64).expm1().log()
            self.raw = nn.Parameter(raw)
            self.register_buffer("fixed", None)
        else:
            self.register_parameter("raw", None)
            self.register_buffer("fixed", torch.tensor(value, dtype=torch.float64))
        self._unit = not learnable and value == 1.0

    def forward(self) -> Tensor:
        return F.softplus(self.raw) if self.learnable else self.fixed

    def is_unit(self) -> bool:
        """Fixed at exactly 1, where several formulas need no scaling at all
        (a Python flag, so compiled code does not break on it)."""
        return self._unit

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._unit = not self.learnable and float(self.fixed) == 1.0

    def extra_repr(self) -> str:
        return f"{float(self().detach()):.4g}, learnable={self.learnable}"


class Manifold(nn.Module, ABC):
    r"""Base class: the common interface of :class:`Lorentz`,
    :class:`PoincareBall`, :class:`Klein` and :class:`Euclidean`.

    All methods act on the last dimension. Points are given in the model's own
    coordinates (``D = n + 1`` ambient coordinates on the hyperboloid, ``n`` in
    the balls and in Euclidean space); :meth:`coord_dim` converts.
    """

    name: str = "manifold"
    #: number of extra ambient coordinates beyond the intrinsic dimension
    extra_dims: int = 0
    #: Zero curvature in Cartesian coordinates with the identity metric
    #: (:class:`Euclidean`): what a model or an ablation asks to tell the flat
    #: baseline from a curved geometry, and what the optimisers ask to take
    #: :mod:`torch.optim`'s own step, instead of testing the class, so that a
    #: new manifold needs no model or optimiser edits.
    is_flat: bool = False

    def coord_dim(self, dim: int) -> int:
        """Coordinates needed to hold a point of intrinsic dimension :obj:`dim`."""
        return dim + self.extra_dims

    # --- interface -------------------------------------------------------
    @abstractmethod
    def inner(self, x: Tensor, u: Tensor, v: Optional[Tensor] = None, *, keepdim: bool = False) -> Tensor:
        ...

    @abstractmethod
    def norm(self, x: Tensor, u: Tensor, *, keepdim: bool = False) -> Tensor:
        ...

    @abstractmethod
    def dist(self, x: Tensor, y: Tensor, *, keepdim: bool = False) -> Tensor:
        ...

    @abstractmethod
    def dist0(self, x: Tensor, *, keepdim: bool = False) -> Tensor:
        ...

    @abstractmethod
    def expmap(self, x: Tensor, u: Tensor) -> Tensor:
        """Exponential map at :obj:`x`; the result is re-projected with
        :meth:`projx`, so optimisers need not project again."""

    @abstractmethod
    def expmap0(self, u: Tensor) -> Tensor:
        ...

    @abstractmethod
    def logmap(self, x: Tensor, y: Tensor) -> Tensor:
        ...

    @abstractmethod
    def logmap0(self, y: Tensor) -> Tensor:
        ...

    @abstractmethod
    def projx(self, x: Tensor) -> Tensor:
        ...

    @abstractmethod
    def proju(self, x: Tensor, u: Tensor) -> Tensor:
        ...

    @abstractmethod
    def egrad2rgrad(self, x: Tensor, grad: Tensor) -> Tensor:
        ...

    def egrad2rgrad_sq_norm(self, x: Tensor, grad: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(h, |h|_x^2)``: the Riemannian gradient :meth:`egrad2rgrad` and
        its squared norm (keepdim), the two a Riemannian Adam step needs
        ([Chamberlain 2019] Eq. 20-21; Bécigneul & Ganea 2019). Models
        override it where the two share work."""
        rgrad = self.egrad2rgrad(x, grad)
        return rgrad, self.norm(x, rgrad, keepdim=True).square()

    def decay_egrad(self, x: Tensor) -> Tensor:
        r"""A Euclidean gradient of :math:`\tfrac12 d(o, x)^2`, the penalty
        whose Riemannian gradient :math:`-\log_x(o)` is the optimisers'
        weight decay (a geodesic pull toward the origin): ``egrad2rgrad(x,
        decay_egrad(x)) == -logmap(x, origin)``. Being Euclidean, it adds to
        the loss's gradient before the one conversion, so a weight-decayed
        step costs one more pass, not a logarithmic map. Every model here
        gives it in closed form; this default differentiates :meth:`dist0`."""
        graph = x.requires_grad and torch.is_grad_enabled()  # differentiable where x is
        with torch.enable_grad():
            y = x if graph else x.detach().requires_grad_()
            half_sq = 0.5 * self.dist0(y).square().sum()
            return torch.autograd.grad(half_sq, y, create_graph=graph)[0]

    @abstractmethod
    def transp(self, x: Tensor, y: Tensor, v: Tensor) -> Tensor:
        ...

    def expmap_transp(self, x: Tensor, u: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(y, w)``: :math:`y = \operatorname{Exp}_x(u)` and the parallel
        transport :math:`w` of :math:`v \in T_x` to :math:`T_y` along that
        geodesic, the pair every momentum optimiser needs per step. Models
        override it where the two share work."""
        y = self.expmap(x, u)
        return y, self.transp(x, y, v)

    def geodesic_step(self, x: Tensor, v: Tensor, t: Union[float, Tensor]) -> Tuple[Tensor, Tensor]:
        r"""``(y, w)``: :math:`y = \operatorname{Exp}_x(t\,v)` and :math:`v`
        transported to :math:`T_y` along that geodesic, for a scalar or a
        per-point step :obj:`t` (shape ``[..., 1]``) — an Adam step, whose
        direction is its own first moment. Equal to
        ``expmap_transp(x, t * v, v)``; models override it where the step
        along :math:`v` shares work with carrying :math:`v`."""
        return self.expmap_transp(x, v * t, v)

    def geodesic_step_(self, x: Tensor, v: Tensor, t: Union[float, Tensor]) -> None:
        r""":meth:`geodesic_step` in place: :obj:`x` becomes
        :math:`\operatorname{Exp}_x(t\,v)` and :obj:`v` its transport there.
        For an optimiser updating tensors it owns (no autograd); models
        override it where the update needs no temporary tables."""
        y, w = self.geodesic_step(x, v, t)
        x.copy_(y)
        v.copy_(w)

    @abstractmethod
    def origin(self, *size: int, dtype=None, device=None) -> Tensor:
        ...

    def to_poincare(self, x: Tensor) -> Tensor:
        r"""The same points in the Poincaré ball of the same curvature
        (:mod:`~hypgraph.manifolds.conversions`), e.g. to plot or export them.

        Raises:
            ValueError: On a flat manifold (no hyperbolic model of its points).
        """
        raise ValueError(f"{type(self).__name__} has no Poincare-ball chart")

    def to_lorentz(self, x: Tensor) -> Tensor:
        r"""The same points on the hyperboloid :math:`-x_0^2 + |x|^2 = -1/k`
        of the same curvature (:mod:`~hypgraph.manifolds.conversions`).

        Raises:
            ValueError: On a flat manifold.
        """
        raise ValueError(f"{type(self).__name__} has no hyperboloid chart")

    @abstractmethod
    def to_klein_homogeneous(self, x: Tensor) -> Tensor:
        r"""Homogeneous Klein coordinates :math:`\gamma(\kappa)\,(1, \kappa)` of
        :obj:`x`, where :math:`\kappa` are its Klein coordinates and
        :math:`\gamma` the Lorentz factor: summing them with weights gives the
        numerator and denominator of the Einstein midpoint
        ([Chamberlain 2019] Eq. 24-25) in one tensor."""
        ...

    @abstractmethod
    def from_klein_homogeneous(self, h: Tensor, weight_sum: Tensor) -> Tensor:
        r"""The point whose Klein coordinates are ``h[1:] / h[0]``, for a
        weighted sum :obj:`h` of :meth:`to_klein_homogeneous` with total
        (non-negative) weight :obj:`weight_sum`."""
        ...

    def from_klein_homogeneous_log0(self, h: Tensor, weight_sum: Tensor) -> Tuple[Tensor, Tensor]:
        r"""``(x, logmap0_coords(x))`` for ``x = from_klein_homogeneous(h,
        weight_sum)``: an Einstein-midpoint hop whose output is also read in
        :math:`T_o` (LGCF's sum of hops). Models with a fused form of the two
        (the hyperboloid) override this."""
        x = self.from_klein_homogeneous(h, weight_sum)
        return x, self.logmap0_coords(x)

    # --- shared implementations -----------------------------------------
    def _like(self, t: Tensor) -> Union[float, Tensor]:
        """The curvature in the dtype of :obj:`t` (it is kept in float64, and a
        0-dim float64 would promote an unbatched float32 result); the Python
        float ``1.0`` when it is fixed at exactly 1, so that the formulas'
        curvature factors cost no tensor operations."""
        if self.curvature.is_unit():
            return 1.0
        return self.curvature().to(t.dtype)

    def mobius_add(self, x: Tensor, y: Tensor) -> Tensor:
        r"""Translate :obj:`x` by :obj:`y`: :math:`\exp_x(P_{o\to x}\log_o y)`.

        In the Poincaré ball this is Möbius addition :math:`x \oplus_k y`
        (Ganea et al. 2018, §2.3; :class:`PoincareBall` uses the closed form of
        [Hyper-Know] Eq. 2), in Euclidean space :math:`x + y`; on the other
        models it is the same isometry in their coordinates.
        """
        o = self.origin(*x.shape, dtype=x.dtype, device=x.device)
        return self.expmap(x, self.transp(o, x, self.logmap0(y)))

    def tangent0(self, v: Tensor) -> Tensor:
        r"""The tangent vector at the origin whose intrinsic coordinates are
        :obj:`v` (``[..., n]``), in this model's coordinates (``[..., D]``),
        ready for :meth:`expmap0`. The models here hold :math:`T_o` as the
        vectors whose first :attr:`extra_dims` coordinates are 0 (the
        hyperboloid's time coordinate), so this pads with zeros; a model
        where that is not so overrides it with :meth:`tangent0_coords`."""
        if not self.extra_dims:
            return v
        return F.pad(v, (self.extra_dims, 0))

    def tangent0_coords(self, u: Tensor) -> Tensor:
        r"""The intrinsic coordinates ``[..., n]`` of :obj:`u` :math:`\in T_o`
        (``[..., D]``, e.g. from :meth:`logmap0`): the inverse of :meth:`tangent0`."""
        return u[..., self.extra_dims:] if self.extra_dims else u

    def expmap0_coords(self, v: Tensor) -> Tensor:
        r""":meth:`expmap0` of the tangent vector at the origin with intrinsic
        coordinates :obj:`v` ``[..., n]``: ``expmap0(tangent0(v))``, which
        models with :attr:`extra_dims` compute without the padded copy (the
        hyperboloid's in one fused step)."""
        return self.expmap0(self.tangent0(v))

    def logmap0_coords(self, y: Tensor) -> Tensor:
        r"""The intrinsic coordinates ``[..., n]`` of :meth:`logmap0` of
        :obj:`y`: ``tangent0_coords(logmap0(y))``, which models with
        :attr:`extra_dims` compute without making the zero coordinates."""
        return self.tangent0_coords(self.logmap0(y))

    def pairwise_dist(self, x: Tensor, y: Tensor) -> Tensor:
        r"""All distances between rows of :obj:`x` ``[B, D]`` and :obj:`y` ``[N, D]``,
        shape ``[B, N]``. The hyperbolic models and :class:`Euclidean` override
        this with one matrix product (memory ``B x N``); this fallback
        broadcasts (memory ``B x N x D``)."""
        return self.dist(x.unsqueeze(-2), y.unsqueeze(-3))

    # --- scores of recommenders: the geometry decides the formulas ---------
    #: What :meth:`score`, :meth:`pairwise_score` and :meth:`rank_scores`
    #: accept: ``'distance'`` (:math:`-d(x, y)`) and ``'sqdist'``
    #: (:math:`-d(x, y)^2`) everywhere; ``'inner'`` where the model has a
    #: bilinear form on points (the hyperboloid's Minkowski product, the dot
    #: product).
    score_kinds: Tuple[str, ...] = ("distance", "sqdist")

    def check_score_kind(self, kind: str) -> None:
        r"""Raise :class:`ValueError` naming :attr:`score_kinds` when
        :obj:`kind` is not one of them."""
        if kind not in self.score_kinds:
            raise ValueError(f"score {kind!r} is not defined on {self}; expected one of {self.score_kinds}")

    def point_inner(self, x: Tensor, y: Tensor) -> Tensor:
        r"""The bilinear form of ``score='inner'`` between points (broadcast
        over leading dimensions); only where ``'inner'`` is in :attr:`score_kinds`."""
        raise ValueError(f"score 'inner' is not defined on {self}; expected one of {self.score_kinds}")

    def pairwise_inner(self, x: Tensor, y: Tensor) -> Tensor:
        r""":meth:`point_inner` of every row of :obj:`x` ``[B, D]`` with every
        row of :obj:`y` ``[N, D]``, ``[B, N]``; only where ``'inner'`` is in
        :attr:`score_kinds`."""
        raise ValueError(f"score 'inner' is not defined on {self}; expected one of {self.score_kinds}")

    def score(self, x: Tensor, y: Tensor, kind: str = "distance") -> Tensor:
        r"""Scores (higher = better) of points :obj:`x` against :obj:`y`,
        broadcast over leading dimensions: :math:`-d(x, y)`,
        :math:`-d(x, y)^2` or :meth:`point_inner` ([Chamberlain 2019] Eq. 14,
        17 and §5.2)."""
        self.check_score_kind(kind)
        if kind == "inner":
            return self.point_inner(x, y)
        d = self.dist(x, y)
        return -d if kind == "distance" else -d.pow(2)

    def pairwise_score(self, x: Tensor, y: Tensor, kind: str = "distance") -> Tensor:
        r""":meth:`score` of every row of :obj:`x` ``[B, D]`` against every
        row of :obj:`y` ``[N, D]``, ``[B, N]``."""
        self.check_score_kind(kind)
        if kind == "inner":
            return self.pairwise_inner(x, y)
        d = self.pairwise_dist(x, y)
        return -d if kind == "distance" else -d.pow(2)

    def rank_scores(self, x: Tensor, y: Tensor, kind: str = "distance") -> Tensor:
        r"""``[B, N]`` values that order the rows of :obj:`y` for each row of
        :obj:`x` exactly as :meth:`pairwise_score` does, as cheaply as the
        model allows: ``rank_queries(x, kind) @ rank_keys(y, kind).T``, one
        matrix product, where the model has that form (the hyperbolic
        distances are decreasing functions of a Minkowski product,
        [Chamberlain 2019] §5.2); the scores themselves otherwise."""
        if not self.has_rank_vectors:
            return self.pairwise_score(x, y, kind)
        return self.rank_queries(x, kind) @ self.rank_keys(y, kind).transpose(-1, -2)

    @property
    def has_rank_vectors(self) -> bool:
        r"""Whether :meth:`rank_queries` and :meth:`rank_keys` are defined:
        whether ranking (and a maximum-inner-product index) is one matrix
        product on this model."""
        return type(self).rank_keys is not Manifold.rank_keys

    def rank_queries(self, x: Tensor, kind: str = "distance") -> Tensor:
        r"""Query vectors ``[B, D']`` of the points :obj:`x` such that
        ``rank_queries(x, kind) @ rank_keys(y, kind).T`` orders the rows of
        :obj:`y` as :meth:`pairwise_score` does: nearest neighbours become a
        maximum inner product search, which an index such as faiss's
        serves. Defined where :attr:`has_rank_vectors`."""
        raise NotImplementedError(f"{self} has no matrix-product form of its scores (no rank_queries/rank_keys); "
                                  f"rank_scores falls back to pairwise_score")

    def rank_keys(self, y: Tensor, kind: str = "distance") -> Tensor:
        r"""Key vectors ``[N, D']`` of the points :obj:`y`, the other side of
        :meth:`rank_queries`."""
        raise NotImplementedError(f"{self} has no matrix-product form of its scores (no rank_queries/rank_keys); "
                                  f"rank_scores falls back to pairwise_score")

    def retr(self, x: Tensor, u: Tensor) -> Tensor:
        """Retraction used by the optimisers: the exponential map."""
        return self.expmap(x, u)

    def check_point(self, x: Tensor, *, atol: Optional[float] = None,
                    explain: bool = False) -> Union[bool, Tuple[bool, Optional[str]]]:
        r"""Whether :obj:`x` lies on the manifold (within :obj:`atol`,
        default: ``1e-5`` in float32, ``1e-10`` in float64).

        With ``explain=True`` returns ``(ok, reason)``.
        """
        if atol is None:
            atol = 1e-10 if x.dtype == torch.float64 else 1e-5
        reason = None
        if not torch.isfinite(x).all():
            reason = "point has non-finite coordinates"
        else:
            reason = self._check_point(x, atol)
        ok = reason is None
        return (ok, reason) if explain else ok

    def _check_point(self, x: Tensor, atol: float) -> Optional[str]:
        return None

    def random(self, *size: int, std: float = 1.0, generator: Optional[torch.Generator] = None,
               dtype=None, device=None) -> Tensor:
        r"""Seeded random points: a Gaussian tangent vector at the origin with
        standard deviation :obj:`std` per coordinate, mapped by :meth:`expmap0`."""
        return self.expmap0(self.random_tangent0(*size, std=std, generator=generator,
                                                 dtype=dtype, device=device))

    def random_tangent0(self, *size: int, std: float = 1.0, generator: Optional[torch.Generator] = None,
                        dtype=None, device=None) -> Tensor:
        r"""The tangent vectors at the origin behind :meth:`random` (the same
        draws): Gaussian with standard deviation :obj:`std` per coordinate,
        projected onto :math:`T_o`; shape :obj:`size` in this model's coordinates."""
        o = self.origin(*size, dtype=dtype, device=device)
        u = torch.randn(*size, generator=generator, dtype=o.dtype, device=device) * std
        return self.proju(o, u)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:  # short, like PyG layers: Lorentz(k=1.0)
        return f"{self.__class__.__name__}({self.extra_repr()})"
