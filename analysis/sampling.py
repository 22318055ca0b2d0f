r"""Exact samplers for the discrete and continuous power laws, used by the
semi-parametric bootstrap of :class:`~analysis.PowerLawFit` and by tests."""
from __future__ import annotations

from typing import Union

import numpy as np
from scipy.special import zeta

__all__ = ["check_random_state", "sample_power_law", "DiscretePowerLawSampler"]

RandomState = Union[None, int, np.random.Generator, np.random.RandomState, np.random.SeedSequence]

# Integers beyond 2^53 are not all representable as float64: samples are
# clipped there (only reached for exponents very close to 1).
_MAX_EXACT_INTEGER = float(2 ** 53)


def check_random_state(random_state: RandomState) -> np.random.Generator:
    r"""Turn :obj:`random_state` into a :class:`numpy.random.Generator`.

    Args:
        random_state: ``None`` (fresh entropy), an ``int`` seed, a
            :class:`~numpy.random.SeedSequence`, a
            :class:`~numpy.random.Generator` (used as is) or a legacy
            :class:`~numpy.random.RandomState` (a seed is drawn from it).

    Returns:
        numpy.random.Generator
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2 ** 32 - 1, dtype=np.uint64))
    if random_state is None or isinstance(random_state, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int, a SeedSequence, a Generator or a "
                     f"RandomState, got {type(random_state).__name__}")


class DiscretePowerLawSampler:
    r"""Exact inverse-CDF sampler of the discrete power law
    :math:`p(x) = x^{-\alpha} / \zeta(\alpha, x_{min})` on the integers
    :math:`x \ge x_{min}` (Clauset, Shalizi & Newman 2009, Eq. 2.2).

    With :math:`S(x) = P(X \ge x) = \zeta(\alpha, x) / \zeta(\alpha, x_{min})`
    and :math:`U` uniform on :math:`(0, 1]`, :math:`X = \max\{x : S(x) \ge
    U\}` has exactly that law. :math:`S` is tabulated on
    :math:`x_{min} .. x_{min} + 2^{14}` and looked up with
    :func:`numpy.searchsorted`; the rare :math:`U` below the table are
    resolved by a vectorised integer bisection on :math:`S` itself. Unlike
    the rounding approximation of Clauset et al. (2009, Appendix D), no
    sample is off by one. Values beyond :math:`2^{53}` are clipped there.

    Args:
        alpha (float): Exponent, :math:`\alpha > 1`.
        xmin (int): Smallest value, a positive integer.
        table_size (int): Number of tabulated values. (default: ``16384``)
    """

    def __init__(self, alpha: float, xmin: int, table_size: int = 16384) -> None:
        if not alpha > 1.0:
            raise ValueError(f"a discrete power law needs alpha > 1, got {alpha}")
        if xmin < 1 or int(xmin) != xmin:
            raise ValueError(f"a discrete power law needs an integer xmin >= 1, got {xmin}")
        self.alpha, self.xmin = float(alpha), int(xmin)
        self._norm = zeta(self.alpha, self.xmin)
        # S(xmin + 1), ..., S(xmin + table_size): decreasing.
        self._table = zeta(self.alpha, self.xmin + 1.0 + np.arange(table_size)) / self._norm

    def survival(self, x) -> np.ndarray:
        r""":math:`P(X \ge x)` for values :math:`x \ge x_{min}`."""
        return zeta(self.alpha, np.asarray(x, dtype=np.float64)) / self._norm

    def __call__(self, size: int, random_state: RandomState = None) -> np.ndarray:
        r"""Draw :obj:`size` samples (float64 holding integers)."""
        rng = check_random_state(random_state)
        u = 1.0 - rng.random(size)                      # (0, 1]
        # Number of table entries S(xmin + 1 + k) >= u, i.e. X - xmin when X is in the table.
        steps = np.searchsorted(-self._table, -u, side="right")
        x = self.xmin + steps.astype(np.float64)
        beyond = steps == self._table.size
        if beyond.any():
            x[beyond] = self._bisect(u[beyond], self.xmin + float(self._table.size))
        return x

    def _bisect(self, u: np.ndarray, lo: float) -> np.ndarray:
        # Invariant: S(lo) >= u > S(hi); grow hi geometrically, then bisect.
        lo = np.full(u.shape, lo)
        hi = lo * 2.0
        while True:
            grow = (self.survival(hi) >= u) & (hi < _MAX_EXACT_INTEGER)
            if not grow.any():
                break
            lo[grow], hi[grow] = hi[grow], np.minimum(hi[grow] * 2.0, _MAX_EXACT_INTEGER)
        capped = self.survival(hi) >= u
        while True:
            open_ = hi - lo > 1.0
            if not open_.any():
                break
            mid = np.floor((lo + hi) / 2.0)
            up = open_ & (self.survival(mid) >= u)
            down = open_ & ~up
            lo[up], hi[down] = mid[up], mid[down]
        return np.where(capped, _MAX_EXACT_INTEGER, lo)


def sample_power_law(alpha: float, xmin: float, size: int, *, discrete: bool,
                     random_state: RandomState = None) -> np.ndarray:
    r"""Draw :obj:`size` samples from a power law on :math:`x \ge x_{min}`.

    Continuous: :math:`x = x_{min} (1 - u)^{-1/(\alpha - 1)}`, the inverse CDF
    (Clauset 2009, Appendix D), exact. Discrete: :class:`DiscretePowerLawSampler`, exact.

    Args:
        alpha (float): Exponent, :math:`\alpha > 1`.
        xmin (float): Lower bound (a positive integer when :obj:`discrete`).
        size (int): Number of samples.
        discrete (bool): Integer support with the Hurwitz-zeta normaliser.
        random_state: See :func:`check_random_state`.

    Returns:
        numpy.ndarray: float64 samples.
    """
    if discrete:
        return DiscretePowerLawSampler(alpha, int(xmin))(size, random_state)
    if not alpha > 1.0 or not xmin > 0:
        raise ValueError(f"a continuous power law needs alpha > 1 and xmin > 0, got {alpha}, {xmin}")
    u = check_random_state(random_state).random(size)
    return xmin * (1.0 - u) ** (-1.0 / (alpha - 1.0))
