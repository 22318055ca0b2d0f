r"""Maximum-likelihood power-law fits with the lower cut-off chosen by the
Kolmogorov–Smirnov distance (Clauset, Shalizi & Newman, "Power-law
distributions in empirical data", SIAM Review 51(4), 2009), vectorised over
all candidate cut-offs.

Why not :class:`powerlaw.Fit` (powerlaw 2.0.0): its default
``parameter_ranges`` bound the exponent to :math:`[0, 3]`, so data with
:math:`\alpha = 6` come back as :math:`\hat\alpha = 2.9999...` without a
warning (``tests/analysis/test_powerlaw_fit.py`` shows it), and its
:math:`x_{min}` scan refits every candidate in a Python loop (minutes for
20,000 continuous values). Here every exponent is the unbounded MLE and the
scan is a handful of array operations on the unique values.
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.stats import kstwo
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .sampling import DiscretePowerLawSampler, check_random_state, sample_power_law
from .special import log_hurwitz_zeta, log_hurwitz_zeta_scaled

__all__ = ["PowerLawFit", "unique_counts", "FEWEST_TAIL", "SMALL_TAIL"]

# The fewest tail values a fit needs: the MLE is finite only when some tail
# value exceeds xmin (otherwise the mean of ln(x / xmin) is 0), and a
# candidate xmin is an observed value, so a tail needs two distinct values and
# hence two observations; the KS distance and its p-value are then defined.
FEWEST_TAIL = 2
# Tails below this are flagged (``small_tail_``): Clauset 2009 put no minimum
# on the tail, but on fewer values the KS test has little power and the
# exponent's standard error is large.
SMALL_TAIL = 50

# Elements per block of the (candidate x value) KS matrices: bounds memory
# to a few tens of MB whatever the data size.
_BLOCK_ELEMENTS = 1_000_000
# Lower end of the exponent search; the log-likelihood tends to -inf at 1.
_ALPHA_FLOOR = 1.0 + 1e-12
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def unique_counts(x) -> tuple:
    r"""Sorted unique values of :obj:`x` and their multiplicities
    (``numpy.unique(..., return_counts=True)`` in float64)."""
    values, counts = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
    return values, counts.astype(np.int64)


@dataclass
class _Scan:
    candidates: np.ndarray      # index of the first unique value >= each candidate
    xmin: np.ndarray            # the candidate cut-offs
    alpha: np.ndarray
    ks: np.ndarray
    n_tail: np.ndarray
    best: int                   # position of the KS minimum within candidates


class PowerLawFit(BaseEstimator):
    r"""Power-law fit of a sample by maximum likelihood, with :math:`x_{min}`
    chosen to minimise the KS distance (Clauset, Shalizi & Newman 2009, §3.3).

    For each candidate :math:`x_{min}` the exponent is the exact MLE on the
    tail :math:`x \ge x_{min}` of :math:`n` values:

    - continuous, in closed form (Clauset 2009, Eq. 3.1):
      :math:`\hat\alpha = 1 + n \big/ \sum_i \ln(x_i / x_{min})`;
    - discrete, :math:`p(x) = x^{-\alpha} / \zeta(\alpha, x_{min})`: the
      maximiser of :math:`\mathcal{L}(\alpha) = -n \ln\zeta(\alpha, x_{min})
      - \alpha \sum_i \ln x_i` (Clauset 2009, Eq. 3.5), found by a vectorised
      golden-section search (the function is concave: :math:`\ln\zeta` is a
      log-sum-exp of functions linear in :math:`\alpha`) on a bracket that is
      widened until the maximum is interior, so no bound is ever reported,
      then checked against the stationarity condition
      :math:`\zeta'(\hat\alpha, x_{min}) / \zeta(\hat\alpha, x_{min}) =
      -\frac1n \sum_i \ln x_i` (Clauset 2009, Eq. 3.6).

    The KS distance :math:`D = \sup_{x \ge x_{min}} |S(x) - P(x)|` between the
    empirical and fitted CDFs (Clauset 2009, Eq. 3.9) is the exact supremum:
    for discrete data over all integers :math:`x \ge x_{min}`, not only the
    observed values. All candidates are evaluated at once on the unique values
    with cumulative sums.

    Candidates are all the observed values :math:`v \ge 1` (discrete) or
    :math:`v > 0` (continuous) whose tail :math:`x \ge v` holds two distinct
    values (every value but the largest) and at least :obj:`min_tail`
    observations; :math:`x_{min}` is the candidate with the smallest KS
    distance (the smallest candidate on a tie), however small its tail, as in
    Clauset 2009: the default :obj:`min_tail` adds no restriction, and
    ``small_tail_`` flags tails of fewer than :data:`SMALL_TAIL` values.
    When there are more than
    :obj:`max_candidates` of them, the candidates nearest below a geometric
    grid of :obj:`max_candidates` points between the smallest and the largest
    are kept (every small value stays a candidate, large ones are thinned to
    about :math:`100 \ln(x_{max}/x_{min}) / \text{max\_candidates}` percent
    apart).

    Two p-values are reported for the selected tail:

    - ``p_value_``: the one-sample KS test of the tail against the fitted law,
      ``scipy.stats.kstwo(n_tail_).sf(ks_)``. This is the "p-value of the
      test" of Chamberlain 2019, Table 1. It ignores that :math:`\alpha` and
      :math:`x_{min}` were fitted to the same data, so it is too large.
    - ``p_value_bootstrap_``: the semi-parametric bootstrap goodness-of-fit
      p-value of Clauset 2009, §4.1, which accounts for the fitting: each of
      :obj:`n_bootstrap` synthetic samples of the same size draws, with
      probability :math:`n_{tail}/n`, from the fitted power law and otherwise
      uniformly from the observed values below :math:`x_{min}`, is refitted
      with the full procedure (including the :math:`x_{min}` scan), and
      :math:`p` is the fraction of synthetic KS distances at least the
      observed one. Clauset et al. suggest :math:`p \le 0.1` rules the power
      law out, and :math:`n_{boot} = \frac14 \epsilon^{-2}` for precision
      :math:`\epsilon` (2,500 for two digits).

    Args:
        discrete (bool): Integer data with the Hurwitz-zeta likelihood; else
            continuous. (default: :obj:`True`)
        xmin (float, optional): Fix the lower cut-off instead of scanning.
            (default: :obj:`None`)
        min_tail (int): Fewest observations the tail of a candidate
            :math:`x_{min}` must hold, at least :data:`FEWEST_TAIL` (``2``).
            The default adds nothing to what a fit needs (two distinct tail
            values); a larger value restricts the scan to
            :math:`x_{min}` with :math:`\#\{x \ge x_{min}\} \ge`
            :obj:`min_tail`, trading the KS minimum for a larger tail. If no
            candidate has that many, all with two distinct tail values are
            tried and a warning is issued. (default: ``2``)
        max_candidates (int): Most candidate :math:`x_{min}` values scanned.
            (default: ``500``)
        n_bootstrap (int): Bootstrap repetitions; ``0`` skips the bootstrap and
            leaves ``p_value_bootstrap_`` NaN. (default: ``0``)
        random_state (int, Generator or RandomState, optional): Seed of the
            bootstrap. (default: :obj:`None`)
        progress (bool): A tqdm progress bar on stderr for the bootstrap.
            (default: :obj:`False`)

    Attributes:
        alpha_ (float): Fitted exponent :math:`\hat\alpha` (the
            :math:`\hat\gamma` of Chamberlain 2019, Table 1).
        alpha_se_ (float): Its asymptotic standard error,
            :math:`(\hat\alpha - 1)/\sqrt{n}` for continuous data (Clauset 2009,
            Eq. 3.2) and the inverse square root of the observed information of
            Eq. 3.5 for discrete data.
        xmin_ (float): Selected lower cut-off.
        n_tail_ (int): Number of values :math:`\ge x_{min}`.
        small_tail_ (bool): Whether :obj:`n_tail_` is below
            :data:`SMALL_TAIL` (``50``): the fit rests on few values.
        n_ (int): Number of values fitted (tail and below).
        ks_ (float): KS distance of the tail to the fitted law.
        p_value_ (float): KS-test p-value (see above).
        p_value_bootstrap_ (float): Bootstrap p-value, NaN when not computed.
        n_bootstrap_ (int): Bootstrap repetitions done.
        xmin_candidates_, alpha_candidates_, ks_candidates_ (numpy.ndarray):
            The scan: each candidate with its MLE and KS distance.

    Example:
        >>> from analysis import PowerLawFit, sample_power_law
        >>> x = sample_power_law(2.5, 1, 20_000, discrete=True, random_state=0)
        >>> fit = PowerLawFit(discrete=True).fit(x)
        >>> round(fit.alpha_, 1)
        2.5
    """

    def __init__(self, discrete: bool = True, xmin: Optional[float] = None,
                 min_tail: int = FEWEST_TAIL, max_candidates: int = 500, n_bootstrap: int = 0,
                 random_state=None, progress: bool = False) -> None:
        self.discrete = discrete
        self.xmin = xmin
        self.min_tail = min_tail
        self.max_candidates = max_candidates
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------
    def fit(self, X, y=None) -> "PowerLawFit":
        r"""Fit the power law to the sample :obj:`X`.

        Args:
            X (array_like): The sample, 1-D (or one column); for
                :obj:`discrete` fits non-negative integers (e.g. degrees).
            y: Ignored (scikit-learn convention).

        Returns:
            PowerLawFit: :obj:`self`.

        Raises:
            ValueError: For invalid parameters or data, or when no tail with
                two distinct values exists.
        """
        self._check_params()
        values, counts = unique_counts(self._check_data(X))
        scan = _scan(values, counts, self.discrete, self.xmin, self.min_tail, self.max_candidates,
                     warn=True)
        best = scan.best
        self.alpha_ = float(scan.alpha[best])
        self.xmin_ = float(scan.xmin[best])
        self.n_tail_ = int(scan.n_tail[best])
        self.small_tail_ = self.n_tail_ < SMALL_TAIL
        self.n_ = int(counts.sum())
        self.ks_ = float(scan.ks[best])
        self.p_value_ = float(kstwo(self.n_tail_).sf(self.ks_))
        self.alpha_se_ = _standard_error(self.alpha_, self.xmin_, self.n_tail_, self.discrete)
        self.xmin_candidates_ = scan.xmin
        self.alpha_candidates_ = scan.alpha
        self.ks_candidates_ = scan.ks
        self.n_bootstrap_ = int(self.n_bootstrap)
        self.p_value_bootstrap_ = (self._bootstrap(values, counts) if self.n_bootstrap > 0
                                   else float("nan"))
        return self

    # ------------------------------------------------------------------
    def loglikelihoods(self, x) -> np.ndarray:
        r"""Log-probability (mass or density) of each value of :obj:`x`
        (all :math:`\ge x_{min}`) under the fitted law."""
        check_is_fitted(self)
        x = np.asarray(x, dtype=np.float64)
        if self.discrete:
            return -self.alpha_ * np.log(x) - log_hurwitz_zeta(self.alpha_, self.xmin_)
        return (np.log(self.alpha_ - 1.0) - np.log(self.xmin_)
                - self.alpha_ * np.log(x / self.xmin_))

    def ccdf(self, x) -> np.ndarray:
        r""":math:`P(X \ge x \mid X \ge x_{min})` under the fitted law."""
        check_is_fitted(self)
        x = np.asarray(x, dtype=np.float64)
        if self.discrete:
            return np.exp(log_hurwitz_zeta(self.alpha_, x) - log_hurwitz_zeta(self.alpha_, self.xmin_))
        return (x / self.xmin_) ** (1.0 - self.alpha_)

    # ------------------------------------------------------------------
    def _check_params(self) -> None:
        if not isinstance(self.discrete, (bool, np.bool_)):
            raise ValueError(f"discrete must be a bool, got {self.discrete!r}")
        if self.xmin is not None:
            if not (np.isfinite(self.xmin) and self.xmin > 0):
                raise ValueError(f"xmin must be None or a positive number, got {self.xmin!r}")
            if self.discrete and float(self.xmin) != int(self.xmin):
                raise ValueError(f"xmin must be an integer for a discrete fit, got {self.xmin!r}")
        for name, low in (("min_tail", FEWEST_TAIL), ("max_candidates", 1), ("n_bootstrap", 0)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

    def _check_data(self, X) -> np.ndarray:
        x = np.asarray(X, dtype=np.float64)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(f"X must be 1-D (or one column), got shape {x.shape}")
        if x.size == 0:
            raise ValueError("X is empty")
        if not np.isfinite(x).all():
            raise ValueError("X contains NaN or infinite values")
        if self.discrete and ((x < 0).any() or (x != np.floor(x)).any()):
            bad = x[(x < 0) | (x != np.floor(x))][0]
            raise ValueError(f"a discrete fit needs non-negative integers, got {bad!r}")
        return x

    def _bootstrap(self, values: np.ndarray, counts: np.ndarray) -> float:
        r"""Semi-parametric bootstrap p-value (Clauset 2009, §4.1)."""
        from tqdm.auto import tqdm

        rng = check_random_state(self.random_state)
        n = int(counts.sum())
        below = values < self.xmin_
        body_values = values[below]
        body_p = counts[below] / counts[below].sum() if below.any() else None
        if self.discrete:
            draw_tail = DiscretePowerLawSampler(self.alpha_, int(self.xmin_))
        else:
            def draw_tail(size, random_state):
                return sample_power_law(self.alpha_, self.xmin_, size, discrete=False,
                                        random_state=random_state)
        exceed = 0
        reps = tqdm(range(self.n_bootstrap), desc="bootstrap", unit="fit", file=sys.stderr,
                    disable=not self.progress, leave=False)
        for _ in reps:
            m = int(rng.binomial(n, self.n_tail_ / n)) if below.any() else n
            sample = draw_tail(m, rng)
            if m < n:
                sample = np.concatenate([sample, rng.choice(body_values, size=n - m, p=body_p)])
            v, c = unique_counts(sample)
            try:
                scan = _scan(v, c, self.discrete, self.xmin, self.min_tail, self.max_candidates,
                             warn=False)
            except ValueError:      # a degenerate synthetic sample: no tail to fit
                continue
            exceed += scan.ks[scan.best] >= self.ks_
        return exceed / self.n_bootstrap


# ---------------------------------------------------------------------------
# The scan, vectorised over candidates.

def _scan(values: np.ndarray, counts: np.ndarray, discrete: bool, xmin: Optional[float],
          min_tail: int, max_candidates: int, *, warn: bool) -> _Scan:
    r"""MLE and KS distance for every candidate :math:`x_{min}`."""
    suffix_n = np.cumsum(counts[::-1])[::-1]                         # values >= v_i
    candidates = _candidates(values, suffix_n, discrete, xmin, min_tail, max_candidates, warn)
    n_tail = suffix_n[candidates]
    q = values[candidates] if xmin is None else np.array([float(xmin)])
    # mean ln(x / q) over each tail, from logs relative to the smallest positive
    # value so that clustered large values do not cancel catastrophically.
    base = values[values > 0][0]
    rel_log = np.log1p((np.maximum(values, base) - base) / base)
    suffix_rel_log = np.cumsum((counts * rel_log)[::-1])[::-1]
    mean_excess = suffix_rel_log[candidates] / n_tail - np.log1p((q - base) / base)
    if discrete:
        alpha = _discrete_mle(q, mean_excess)
    else:
        alpha = 1.0 + 1.0 / mean_excess                              # Clauset 2009, Eq. 3.1
    ks = _ks_distances(values, counts, candidates, q, alpha, discrete)
    return _Scan(candidates, q, alpha, ks, n_tail, int(np.argmin(ks)))


def _candidates(values, suffix_n, discrete, xmin, min_tail, max_candidates, warn) -> np.ndarray:
    size = values.size
    two_distinct = np.arange(size) <= size - 2
    lowest = 1.0 if discrete else np.finfo(np.float64).tiny
    if xmin is not None:
        if not values[-1] > xmin:
            raise ValueError(f"no value above xmin={xmin} to fit")
        return np.array([int(np.searchsorted(values, xmin))])
    allowed = two_distinct & (values >= lowest)
    ok = allowed & (suffix_n >= min_tail)
    if not ok.any():
        if not allowed.any():
            raise ValueError("a power-law fit needs at least two distinct values "
                             f"{'>= 1' if discrete else '> 0'}")
        if warn:
            warnings.warn(f"no candidate xmin leaves min_tail={min_tail} values; "
                          f"scanning tails of {int(suffix_n[allowed].min())}.."
                          f"{int(suffix_n[allowed].max())} values", stacklevel=3)
        ok = allowed
    index = np.flatnonzero(ok)
    if index.size > max_candidates:
        grid = np.geomspace(values[index[0]], values[index[-1]], max_candidates)
        pos = np.searchsorted(values[index], grid * (1.0 + 1e-12), side="right") - 1
        index = np.unique(index[np.clip(pos, 0, None)])
    return index


def _discrete_mle(q: np.ndarray, mean_excess: np.ndarray, tol: float = 1e-11) -> np.ndarray:
    r"""Maximise Clauset 2009, Eq. 3.5 for each cut-off :obj:`q`, given the
    tail's mean :math:`\overline{\ln(x/q)}`.

    Dividing Eq. 3.5 by :math:`-n` and adding the constant
    :math:`\ln q \cdot \overline{\ln x}` gives the objective
    :math:`\ln(q^\alpha\zeta(\alpha, q)) + \alpha\,\overline{\ln(x/q)}`,
    the same function of :math:`\alpha` up to that constant but without the
    large, cancelling :math:`\alpha \ln q` terms."""
    def objective(a, sel):
        return log_hurwitz_zeta_scaled(a, q[sel]) + a * mean_excess[sel]

    # Clauset 2009, Eq. 3.7: the approximate closed form, to size the bracket.
    approx = 1.0 + 1.0 / np.maximum(mean_excess + np.log(q / (q - 0.5)), 1e-300)
    hi = 1.0 + 4.0 * (approx - 1.0) + 1.0
    alpha = np.empty_like(q)
    todo = np.arange(q.size)
    for _ in range(64):
        lo = np.full(todo.size, _ALPHA_FLOOR)
        found = _golden_section(lambda a, s=todo: objective(a, s), lo, hi[todo], tol)
        at_edge = hi[todo] - found <= 1e-6 * hi[todo]
        alpha[todo] = found
        if not at_edge.any():
            break
        todo = todo[at_edge]
        hi[todo] = 1.0 + 4.0 * (hi[todo] - 1.0)
    else:
        raise RuntimeError("the discrete power-law likelihood has no interior maximum")
    alpha = _newton_polish(alpha, q, mean_excess)
    _check_stationary(alpha, q, mean_excess)
    return alpha


def _golden_section(f, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    r"""Vectorised golden-section minimisation of the convex :obj:`f` on
    ``[lo, hi]`` (one evaluation of :obj:`f` on all intervals per step)."""
    a, b = lo.copy(), hi.copy()
    c = b - _GOLDEN * (b - a)
    d = a + _GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    while np.any(b - a > tol * (1.0 + np.abs(a))):
        left = fc < fd                                              # minimum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new = np.where(left, b - _GOLDEN * (b - a), a + _GOLDEN * (b - a))
        fnew = f(new)
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, fnew, fd), np.where(left, fc, fnew))
    return (a + b) / 2.0


def _log_zeta_derivatives(alpha, q):
    r"""First and second derivative in :math:`\alpha` of
    :math:`\ln(q^\alpha \zeta(\alpha, q))`, i.e. :math:`-E[\ln(X/q)]`
    and :math:`\mathrm{Var}[\ln X]` under the power law, by central
    differences. The step is 1e-5 of the scale on which the function
    bends, :math:`\min(\alpha - 1, q)` (the spread of :math:`\ln X` is about
    :math:`1/(\alpha - 1)`, or :math:`1/q` once nearly all mass sits on
    :math:`q`)."""
    h = 1e-5 * np.minimum(alpha - 1.0, np.maximum(q, 1.0))
    up, mid, down = (log_hurwitz_zeta_scaled(alpha + h, q), log_hurwitz_zeta_scaled(alpha, q),
                     log_hurwitz_zeta_scaled(alpha - h, q))
    return (up - down) / (2.0 * h), (up - 2.0 * mid + down) / (h * h)


def _newton_polish(alpha, q, mean_excess):
    r"""One Newton step on the score (golden section stops at the flat top)."""
    first, second = _log_zeta_derivatives(alpha, q)
    step = (first + mean_excess) / np.maximum(second, 1e-300)
    small = np.abs(step) < 1e-6 * alpha
    return np.where(small & (alpha - step > 1.0), alpha - step, alpha)


def _check_stationary(alpha, q, mean_excess):
    r"""Clauset 2009, Eq. 3.6, :math:`\zeta'(\hat\alpha, q)/\zeta(\hat\alpha, q) =
    -\overline{\ln x}`, here as :math:`E_{\hat\alpha}[\ln(X/q)] =
    \overline{\ln(x/q)}`: holds to within what one Newton step from
    :math:`\hat\alpha` would change, else the search failed (a bug)."""
    first, second = _log_zeta_derivatives(alpha, q)
    step = np.abs(first + mean_excess) / np.maximum(second, 1e-300)
    if np.any(step > 1e-6 * alpha):
        worst = int(np.argmax(step / alpha))
        raise RuntimeError(f"discrete MLE not stationary at alpha={alpha[worst]!r}, "
                           f"xmin={q[worst]!r}: Newton step {step[worst]:.3g}")


def _standard_error(alpha: float, xmin: float, n_tail: int, discrete: bool) -> float:
    if not discrete:
        return (alpha - 1.0) / math.sqrt(n_tail)                    # Clauset 2009, Eq. 3.2
    _, second = _log_zeta_derivatives(np.array([alpha]), np.array([xmin]))
    return float(1.0 / math.sqrt(n_tail * max(float(second[0]), 1e-300)))


def _ks_distances(values, counts, candidates, xmin, alpha, discrete) -> np.ndarray:
    r"""Exact :math:`\sup_{x \ge x_{min}} |F_{emp}(x) - F(x)|` for each candidate.

    The empirical CDF is constant between consecutive observed values
    :math:`v_{j-1} < v_j` while the model CDF increases, so the supremum is
    attained at an observed value :math:`v_j` or just below it (at
    :math:`v_j - 1` for integers, :math:`v_j^-` for continuous data). Row
    ``k`` covers the tail from ``values[candidates[k]]`` on, fitted with
    cut-off ``xmin[k] <= values[candidates[k]]``."""
    size = values.size
    cum = np.concatenate([[0], np.cumsum(counts)])                  # cum[j] = #values < v_j
    if discrete:
        points = np.union1d(values, values + 1.0)
        at_idx = np.searchsorted(points, values + 1.0)              # P(X >= v_j + 1)
        before_idx = np.searchsorted(points, values)                # P(X >= v_j)
    out = np.empty(candidates.size)
    start = 0
    while start < candidates.size:
        first = int(candidates[start])
        rows = max(1, _BLOCK_ELEMENTS // (2 * (size - first)))
        block = slice(start, start + rows)
        cand, a, q = candidates[block], alpha[block], xmin[block]
        j = np.arange(first, size)
        below = cum[cand][:, None]
        n_tail = (cum[size] - cum[cand])[:, None].astype(np.float64)
        emp_at = (cum[j + 1][None, :] - below) / n_tail
        emp_before = (cum[j][None, :] - below) / n_tail
        if discrete:
            lo = int(before_idx[first])
            log_z = log_hurwitz_zeta(a[:, None], points[lo:][None, :])
            log_norm = log_hurwitz_zeta(a, q)[:, None]
            # Clipped at survival 1: entries below a row's cut-off are masked
            # below, and would overflow for the steep laws of tiny tails.
            surv_at = np.exp(np.minimum(log_z[:, at_idx[j] - lo] - log_norm, 0.0))
            surv_before = np.exp(np.minimum(log_z[:, before_idx[j] - lo] - log_norm, 0.0))
        else:
            ratio = np.maximum(values[j][None, :] / q[:, None], 1.0)
            surv_at = surv_before = ratio ** (1.0 - a[:, None])
        dist = np.maximum(np.abs(emp_at - (1.0 - surv_at)), np.abs(emp_before - (1.0 - surv_before)))
        dist[j[None, :] < cand[:, None]] = 0.0
        out[block] = dist.max(axis=1)
        start += rows
    return out
