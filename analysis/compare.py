r"""Likelihood-ratio comparisons of a power-law tail with lognormal,
exponential and truncated power-law alternatives, as Clauset, Shalizi &
Newman (2009, §5) recommend.

Every alternative is fitted by maximum likelihood to the same tail
:math:`x \ge x_{min}` as the power law, normalised on that tail (Clauset
2009, Table 2.1). Discrete data use probability mass functions on the
integers :math:`x \ge x_{min}`:

- exponential: :math:`p(x) = (1 - e^{-\lambda}) e^{-\lambda (x - x_{min})}`
  (closed-form MLE :math:`\lambda = \ln(1 + 1/(\bar x - x_{min}))`);
- lognormal, rounded to the nearest integer: :math:`p(x) =
  [\bar\Phi(z_{x-1/2}) - \bar\Phi(z_{x+1/2})] / \bar\Phi(z_{x_{min}-1/2})`,
  :math:`z_x = (\ln x - \mu)/\sigma` (the discretisation of ``powerlaw``'s
  default ``discrete_normalization='round'``, so that the two can be
  compared);
- truncated power law: :math:`p(x) = x^{-\alpha} e^{-\lambda x} /
  \sum_{k \ge x_{min}} k^{-\alpha} e^{-\lambda k}`, the sum taken exactly
  over 64 terms and by the Euler–Maclaurin formula beyond.

Continuous data use the densities of Clauset 2009, Table 2.1.

:func:`likelihood_ratio_test` implements the test: the log-likelihood ratio
:math:`\mathcal{R} = \sum_i [\ln p_{PL}(x_i) - \ln p_{alt}(x_i)]` (positive
favours the power law), for non-nested alternatives Vuong's normalised ratio
:math:`\mathcal{R} / (\sigma\sqrt n)` and two-sided p-value
:math:`\operatorname{erfc}(|\mathcal{R}| / \sqrt{2 n \sigma^2})` (Clauset
2009, §5.1 and Appendix C; Vuong 1989), and for the nested truncated power
law the :math:`\chi^2_1` p-value of :math:`2|\mathcal{R}|` (Clauset 2009,
Appendix C). The results agree with ``powerlaw``'s ``distribution_compare``
where that package's defaults do not bound the parameters
(``tests/analysis/test_compare.py``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
from scipy import integrate, optimize
from scipy.special import erfc, log_ndtr, logsumexp
from scipy.stats import chi2

from ._linalg import dot
from .powerlaw_fit import PowerLawFit, unique_counts
from .special import log_hurwitz_zeta

__all__ = ["Comparison", "AlternativeFit", "ALTERNATIVES", "compare_alternatives",
           "likelihood_ratio_test", "fit_exponential", "fit_lognormal", "fit_truncated_power_law"]

# Terms of the truncated power-law normaliser summed one by one.
_HEAD_TERMS = 64


@dataclass(frozen=True)
class AlternativeFit:
    r"""A maximum-likelihood fit of one alternative to a tail.

    Args:
        name (str): ``"exponential"``, ``"lognormal"`` or ``"truncated_power_law"``.
        params (dict): Fitted parameters.
        loglikelihoods (numpy.ndarray): :math:`\ln p(v)` for each unique tail
            value :math:`v` (same order as the values fitted).
    """

    name: str
    params: Dict[str, float]
    loglikelihoods: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Comparison:
    r"""The power law against one alternative on the same tail.

    Args:
        alternative (str): The alternative's name.
        R (float): Log-likelihood ratio, power law minus alternative;
            positive favours the power law.
        normalized_R (float): :math:`\mathcal{R} / (\sigma\sqrt n)`.
        p_value (float): Significance of the sign of :obj:`R` (non-nested) or
            of the improvement of the nesting model (nested).
        nested (bool): Whether the power law is nested in the alternative.
        params (dict): The alternative's fitted parameters.
    """

    alternative: str
    R: float
    normalized_R: float
    p_value: float
    nested: bool
    params: Dict[str, float]

    def preferred(self, significance: float = 0.1) -> str:
        r"""``"power_law"``, the alternative's name, or ``"inconclusive"`` when
        :obj:`p_value` is above :obj:`significance` (Clauset 2009 uses 0.1)."""
        if not self.p_value < significance or self.R == 0:
            return "inconclusive"
        return "power_law" if self.R > 0 else self.alternative

    def as_dict(self) -> dict:
        out = asdict(self)
        out["preferred"] = self.preferred()
        return out


def likelihood_ratio_test(loglik1, loglik2, weights=None, *, nested: bool = False
                          ) -> Tuple[float, float, float]:
    r"""Log-likelihood ratio test of model 1 against model 2.

    Args:
        loglik1, loglik2 (array_like): Per-observation log-likelihoods (or per
            unique value, with :obj:`weights` the multiplicities).
        weights (array_like, optional): Multiplicity of each entry.
            (default: all ones)
        nested (bool): Model 1 is nested in model 2 (one parameter fewer):
            :math:`p = P(\chi^2_1 > 2|\mathcal{R}|)`; otherwise Vuong's test,
            :math:`p = \operatorname{erfc}(|\mathcal{R}| / \sqrt{2n\sigma^2})`.
            (default: :obj:`False`)

    Returns:
        (float, float, float): :math:`\mathcal{R}`, the normalised ratio
        :math:`\mathcal{R}/(\sigma\sqrt n)` and the p-value.
    """
    diff = np.asarray(loglik1, dtype=np.float64) - np.asarray(loglik2, dtype=np.float64)
    w = np.ones_like(diff) if weights is None else np.asarray(weights, dtype=np.float64)
    n = float(w.sum())
    if n == 0:
        return 0.0, 0.0, 1.0
    ratio = dot(w, diff)                                  # Clauset 2009, §5.1
    variance = dot(w, (diff - ratio / n) ** 2) / n
    scale = math.sqrt(n * variance)
    if scale == 0.0:
        normalized = 0.0 if ratio == 0 else math.copysign(math.inf, ratio)
    else:
        normalized = ratio / scale
    if nested:
        p = float(chi2.sf(2.0 * abs(ratio), 1))                      # Clauset 2009, App. C
    elif scale == 0.0:
        p = 1.0 if ratio == 0 else 0.0
    else:
        p = float(erfc(abs(ratio) / (math.sqrt(2.0) * scale)))       # Vuong 1989
    return ratio, normalized, p


# ---------------------------------------------------------------------------
# The alternatives. Each takes the unique tail values, their counts and xmin.

def fit_exponential(values, counts, xmin: float, discrete: bool) -> AlternativeFit:
    r"""Exponential tail, closed-form MLE."""
    values, counts = np.asarray(values, np.float64), np.asarray(counts, np.float64)
    excess = dot(counts, values - xmin) / counts.sum()
    if excess <= 0:
        raise ValueError("an exponential fit needs a value above xmin")
    if discrete:
        lam = math.log1p(1.0 / excess)
        ll = math.log(-math.expm1(-lam)) - lam * (values - xmin)
    else:
        lam = 1.0 / excess
        ll = math.log(lam) - lam * (values - xmin)
    return AlternativeFit("exponential", {"lambda": lam}, ll)


def _log_diff_exp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\ln(e^a - e^b)` for :math:`a \ge b`, stable."""
    t = b - a
    with np.errstate(divide="ignore"):
        return a + np.where(t > -math.log(2.0), np.log(-np.expm1(t)), np.log1p(-np.exp(t)))


def _lognormal_loglik(mu: float, sigma: float, values, xmin, discrete) -> np.ndarray:
    if discrete:
        log_norm = log_ndtr(-(math.log(xmin - 0.5) - mu) / sigma)
        upper = log_ndtr(-(np.log(values - 0.5) - mu) / sigma)
        lower = log_ndtr(-(np.log(values + 0.5) - mu) / sigma)
        return _log_diff_exp(upper, lower) - log_norm
    log_norm = log_ndtr(-(math.log(xmin) - mu) / sigma)
    z = (np.log(values) - mu) / sigma
    return -np.log(values) - math.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z - log_norm


def fit_lognormal(values, counts, xmin: float, discrete: bool) -> AlternativeFit:
    r"""Lognormal tail, MLE of :math:`(\mu, \ln\sigma)` by Nelder–Mead from the
    moments of :math:`\ln x`."""
    values, counts = np.asarray(values, np.float64), np.asarray(counts, np.float64)
    logs = np.log(values)
    mean = dot(counts, logs) / counts.sum()
    std = math.sqrt(max(dot(counts, (logs - mean) ** 2) / counts.sum(), 1e-6))

    def nll(theta):
        ll = _lognormal_loglik(theta[0], math.exp(theta[1]), values, xmin, discrete)
        out = -dot(counts, ll) / counts.sum()
        return out if math.isfinite(out) else 1e300

    best = _minimize(nll, [(mean, math.log(std)), (mean - 2.0 * std, math.log(2.0 * std))])
    mu, sigma = float(best[0]), math.exp(float(best[1]))
    return AlternativeFit("lognormal", {"mu": mu, "sigma": sigma},
                          _lognormal_loglik(mu, sigma, values, xmin, discrete))


def _log_tail_integral(alpha: float, lam: float, start: float) -> float:
    r""":math:`\ln \int_{N}^{\infty} x^{-\alpha} e^{-\lambda x} dx` via
    :math:`x = N e^t`: :math:`N^{1-\alpha} e^{-\lambda N} \int_0^\infty
    e^{(1-\alpha) t - \lambda N (e^t - 1)} dt`."""
    c = lam * start
    if c == 0.0:
        if alpha <= 1.0:
            return math.inf
        inner = 1.0 / (alpha - 1.0)
    else:
        # Beyond t_max the integrand is below e^-700 of its value at 0.
        t_max = math.log1p(700.0 / c) if alpha <= 1.0 else min(math.log1p(700.0 / c), 700.0 / (alpha - 1.0))
        inner, _ = integrate.quad(lambda t: math.exp((1.0 - alpha) * t - c * math.expm1(t)),
                                  0.0, t_max, limit=200, epsabs=0.0, epsrel=1e-12)
    return (1.0 - alpha) * math.log(start) - c + math.log(inner)


def _log_truncated_norm(alpha: float, lam: float, xmin: float, discrete: bool) -> float:
    if not discrete:
        return _log_tail_integral(alpha, lam, xmin)
    k = xmin + np.arange(_HEAD_TERMS, dtype=np.float64)
    head = -alpha * np.log(k) - lam * k
    big_n = xmin + _HEAD_TERMS
    log_f = -alpha * math.log(big_n) - lam * big_n
    # Euler-Maclaurin: sum_{k>=N} f(k) = int_N^inf f + f(N)/2 - f'(N)/12 + ...,
    # with f'(N) = -f(N) (alpha/N + lambda).
    integral = _log_tail_integral(alpha, lam, big_n)
    if not math.isfinite(integral):
        return math.inf
    tail = np.logaddexp(integral, log_f + math.log(0.5 + (alpha / big_n + lam) / 12.0))
    return float(logsumexp(np.append(head, tail)))


def _truncated_loglik(alpha, lam, values, xmin, discrete) -> np.ndarray:
    return -alpha * np.log(values) - lam * values - _log_truncated_norm(alpha, lam, xmin, discrete)


def fit_truncated_power_law(values, counts, xmin: float, discrete: bool,
                            alpha_start: float) -> AlternativeFit:
    r"""Power law with exponential cut-off, MLE of :math:`(\alpha,
    \ln\lambda)` by Nelder–Mead from the power-law exponent
    :obj:`alpha_start`. The power law (:math:`\lambda = 0`) is the boundary
    of this family: when no interior point beats it, the fit is the power law
    itself (the supremum of the likelihood is then attained there)."""
    values, counts = np.asarray(values, np.float64), np.asarray(counts, np.float64)
    n = counts.sum()
    mean = dot(counts, values) / n

    def nll(theta):
        ll = _truncated_loglik(theta[0], math.exp(theta[1]), values, xmin, discrete)
        out = -dot(counts, ll) / n
        return out if math.isfinite(out) else 1e300

    best = _minimize(nll, [(alpha_start, math.log(1e-2 / mean)), (max(alpha_start - 1.0, 0.5),
                                                                 math.log(1.0 / mean))])
    alpha, lam = float(best[0]), math.exp(float(best[1]))
    ll = _truncated_loglik(alpha, lam, values, xmin, discrete)
    if alpha_start > 1.0:
        if discrete:
            ll_pl = -alpha_start * np.log(values) - log_hurwitz_zeta(alpha_start, xmin)
        else:
            ll_pl = (math.log(alpha_start - 1.0) - math.log(xmin)
                     - alpha_start * np.log(values / xmin))
        if dot(counts, ll_pl) >= dot(counts, ll):
            alpha, lam, ll = alpha_start, 0.0, ll_pl
    return AlternativeFit("truncated_power_law", {"alpha": alpha, "lambda": lam}, ll)


def _minimize(fun: Callable, starts: Sequence[Tuple[float, float]]) -> np.ndarray:
    best = None
    for start in starts:
        res = optimize.minimize(fun, np.asarray(start, dtype=np.float64), method="Nelder-Mead",
                                options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 2000,
                                         "maxfev": 2000})
        if best is None or res.fun < best.fun:
            best = res
    return best.x


ALTERNATIVES = ("lognormal", "exponential", "truncated_power_law")


def compare_alternatives(fit: PowerLawFit, x, alternatives: Sequence[str] = ALTERNATIVES
                         ) -> List[Comparison]:
    r"""Compare the fitted power law with each alternative on its tail.

    Args:
        fit (PowerLawFit): A fitted power law.
        x (array_like): The sample it was fitted to (values below
            ``fit.xmin_`` are ignored).
        alternatives (sequence of str): Any of ``"lognormal"``,
            ``"exponential"``, ``"truncated_power_law"``.
            (default: all three)

    Returns:
        list of Comparison: One per alternative, in the order given.
    """
    x = np.asarray(x, dtype=np.float64)
    values, counts = unique_counts(x[x >= fit.xmin_])
    ll_pl = fit.loglikelihoods(values)
    out = []
    for name in alternatives:
        if name == "exponential":
            alt = fit_exponential(values, counts, fit.xmin_, fit.discrete)
        elif name == "lognormal":
            alt = fit_lognormal(values, counts, fit.xmin_, fit.discrete)
        elif name == "truncated_power_law":
            alt = fit_truncated_power_law(values, counts, fit.xmin_, fit.discrete, fit.alpha_)
        else:
            raise ValueError(f"unknown alternative {name!r}; expected one of {', '.join(ALTERNATIVES)}")
        nested = name == "truncated_power_law"
        ratio, normalized, p = likelihood_ratio_test(ll_pl, alt.loglikelihoods, counts, nested=nested)
        out.append(Comparison(name, ratio, normalized, p, nested, alt.params))
    return out
