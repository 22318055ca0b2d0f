r"""The logarithm of the Hurwitz zeta function, finite where
:func:`scipy.special.zeta` underflows.

The discrete power law :math:`p(x) = x^{-\alpha} / \zeta(\alpha, x_{min})`
(Clauset, Shalizi & Newman 2009, Eq. 2.2) needs :math:`\ln\zeta(\alpha, q)`
for exponents and offsets where :math:`\zeta(\alpha, q) \approx
q^{-\alpha}` is below the smallest double (e.g. :math:`\alpha = 120`,
:math:`q = 500`): the likelihood search must be able to go there without
being bounded by floating point.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, zeta

__all__ = ["log_hurwitz_zeta", "log_hurwitz_zeta_scaled"]

# B_{2j} / (2j)! for j = 1..6 (Bernoulli numbers B_2..B_12).
_BERNOULLI_OVER_FACTORIAL = (
    1.0 / 6.0 / 2.0,
    -1.0 / 30.0 / 24.0,
    1.0 / 42.0 / 720.0,
    -1.0 / 30.0 / 40320.0,
    5.0 / 66.0 / 3628800.0,
    -691.0 / 2730.0 / 479001600.0,
)
# Terms summed directly before the Euler-Maclaurin tail starts.
_HEAD_TERMS = 32
# scipy's zeta is used where zeta(s, q) >= q^{-s} >= e^{-600} cannot underflow.
_SAFE_LOG = 600.0


def log_hurwitz_zeta(s, q) -> np.ndarray:
    r"""Compute :math:`\ln \zeta(s, q) = \ln \sum_{k \ge 0} (q + k)^{-s}`
    elementwise, for :math:`s > 1`, :math:`q > 0`.

    Where :math:`s \ln q \le 600` this is ``log(scipy.special.zeta(s, q))``.
    Elsewhere the first 32 terms are summed in log space (``logsumexp``) and
    the rest by the Euler–Maclaurin formula with :math:`B_2 \dots B_{12}`,
    also in log space,

    .. math::
        \sum_{k \ge K} (q+k)^{-s} = N^{-s} \Big(\frac{N}{s-1} + \frac12 +
        \sum_{j=1}^{6} \frac{B_{2j}}{(2j)!}\, s^{\overline{2j-1}} N^{1-2j}
        \Big), \quad N = q + K,

    which is accurate to double precision there. Where :math:`s \ge \pi N`
    the asymptotic series is not used (it diverges); the tail is then below
    :math:`e^{-100}` of the head, since :math:`s \ln(N/q) \ge \pi N
    \ln(1 + 32/q) \ge 32\pi`, and the integral plus half the first term
    is used for it.

    Args:
        s (array_like): Exponents, :math:`s > 1`.
        q (array_like): Offsets, :math:`q > 0` (broadcast against :obj:`s`).

    Returns:
        numpy.ndarray: :math:`\ln\zeta(s, q)`, float64.
    """
    s, q = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(q, dtype=np.float64))
    out = np.empty(s.shape, dtype=np.float64)
    safe = s * np.log(q) <= _SAFE_LOG
    with np.errstate(divide="ignore"):
        out[safe] = np.log(zeta(s[safe], q[safe]))
    if not safe.all():
        out[~safe] = _log_zeta_euler_maclaurin(s[~safe], q[~safe])
    return out


def log_hurwitz_zeta_scaled(s, q) -> np.ndarray:
    r"""Compute :math:`\ln\big(q^s \zeta(s, q)\big) = \ln \sum_{k \ge 0}
    (1 + k/q)^{-s}` elementwise, for :math:`s > 1`, :math:`q > 0`.

    This is :math:`\ln\zeta(s, q) + s \ln q` without the cancellation of
    the two large terms: it is :math:`O(1)` where :math:`\ln\zeta(s, q)
    \approx -s \ln q` is large, and keeps its relative precision there. The
    discrete power-law likelihood is maximised on it, since its curvature in
    :math:`s` (the variance of :math:`\ln X`) can be far below the
    rounding error of :math:`s \ln q`. Computed as in
    :func:`log_hurwitz_zeta`'s second branch, everywhere.

    Args:
        s (array_like): Exponents, :math:`s > 1`.
        q (array_like): Offsets, :math:`q > 0`.

    Returns:
        numpy.ndarray: float64.
    """
    s, q = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(q, dtype=np.float64))
    shape = s.shape
    return _log_zeta_scaled_euler_maclaurin(s.ravel(), q.ravel()).reshape(shape)


def _log_zeta_euler_maclaurin(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    return _log_zeta_scaled_euler_maclaurin(s, q) - s * np.log(q)


def _log_zeta_scaled_euler_maclaurin(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    k = np.arange(_HEAD_TERMS, dtype=np.float64)
    head = -s[:, None] * np.log1p(k / q[:, None])              # ln (1 + k/q)^{-s}
    big_n = q + _HEAD_TERMS
    bracket = big_n / (s - 1.0) + 0.5
    rising = s.copy()                                       # s (s+1) ... (s+2j-2)
    power = 1.0 / big_n                                     # N^{1-2j}
    series = s < np.pi * big_n
    for j, coeff in enumerate(_BERNOULLI_OVER_FACTORIAL, start=1):
        bracket = bracket + np.where(series, coeff * rising * power, 0.0)
        rising = rising * (s + 2 * j - 1) * (s + 2 * j)
        power = power / (big_n * big_n)
    tail = -s * np.log1p(_HEAD_TERMS / q) + np.log(bracket)   # ln (N/q)^{-s} (...)
    return logsumexp(np.concatenate([head, tail[:, None]], axis=1), axis=1)
