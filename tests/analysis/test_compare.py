"""Likelihood-ratio comparisons with lognormal, exponential and truncated
power-law alternatives (Clauset 2009, §5)."""
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from analysis import (PowerLawFit, compare_alternatives, fit_exponential, fit_lognormal,
                      fit_truncated_power_law, likelihood_ratio_test, sample_power_law,
                      unique_counts)
from analysis.compare import _log_truncated_norm, _lognormal_loglik


def powerlaw_compare(x, xmin, discrete, alternative):
    import powerlaw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(x, xmin=xmin, discrete=discrete, verbose=False,
                           parameter_ranges={"alpha": [1.0001, 30.0]})
        return fit.distribution_compare("power_law", alternative, normalized_ratio=True)


@pytest.mark.parametrize("nested", [False, True])
def test_likelihood_ratio_test_matches_powerlaw_statistics(nested):
    from powerlaw.statistics import loglikelihood_ratio
    rng = np.random.default_rng(0)
    ll1, ll2 = rng.normal(-3, 1, 300), rng.normal(-3.1, 1, 300)
    counts = rng.integers(1, 5, 300)
    r, normalized, p = likelihood_ratio_test(ll1, ll2, counts, nested=nested)
    expanded = (np.repeat(ll1, counts), np.repeat(ll2, counts))
    r_ref, p_ref = loglikelihood_ratio(*expanded, nested=nested)
    n_ref, _ = loglikelihood_ratio(*expanded, nested=nested, normalized_ratio=True)
    assert (r, normalized, p) == pytest.approx((r_ref, n_ref, p_ref), rel=1e-10)


def test_exponential_closed_forms_match_scipy():
    values, counts = unique_counts(np.array([3, 3, 4, 6, 9, 12, 12, 15]))
    disc = fit_exponential(values, counts, 3, discrete=True)
    lam = disc.params["lambda"]
    geom = stats.geom(p=-math.expm1(-lam), loc=2)                    # support 3, 4, ...
    np.testing.assert_allclose(disc.loglikelihoods, geom.logpmf(values), rtol=1e-12)
    # The geometric MLE: mean excess = 1 / (e^lambda - 1).
    assert np.dot(counts, values - 3) / counts.sum() == pytest.approx(1 / math.expm1(lam))
    cont = fit_exponential(values, counts, 3.0, discrete=False)
    expon = stats.expon(loc=3.0, scale=1 / cont.params["lambda"])
    np.testing.assert_allclose(cont.loglikelihoods, expon.logpdf(values), rtol=1e-12)
    assert expon.mean() == pytest.approx(np.dot(counts, values) / counts.sum())


def test_lognormal_is_normalised_on_the_tail():
    mu, sigma, xmin = 1.3, 0.9, 3
    k = np.arange(xmin, 200_000, dtype=float)
    pmf = np.exp(_lognormal_loglik(mu, sigma, k, xmin, discrete=True))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    x = np.array([3.0, 4.5, 10.0, 40.0])
    reference = stats.lognorm(s=sigma, scale=math.exp(mu))
    np.testing.assert_allclose(_lognormal_loglik(mu, sigma, x, 3.0, discrete=False),
                               reference.logpdf(x) - reference.logsf(3.0), rtol=1e-12)


@pytest.mark.parametrize("alpha,lam,xmin", [(2.5, 0.01, 1), (0.7, 0.05, 3), (1.8, 1e-4, 10),
                                            (3.0, 2.0, 2)])
def test_truncated_power_law_normaliser(alpha, lam, xmin):
    k = np.arange(xmin, 2_000_000, dtype=float)
    brute = np.exp(-alpha * np.log(k) - lam * k).sum()
    if lam * 2e6 < 50:       # add the integral of what the brute sum leaves out
        brute += integrate.quad(lambda t: t ** -alpha * math.exp(-lam * t), 2e6, np.inf)[0]
    assert math.exp(_log_truncated_norm(alpha, lam, xmin, True)) == pytest.approx(brute, rel=1e-9)
    direct = integrate.quad(lambda t: t ** -alpha * math.exp(-lam * t), xmin, np.inf,
                            epsrel=1e-12, limit=500)[0]
    assert math.exp(_log_truncated_norm(alpha, lam, xmin, False)) == pytest.approx(direct, rel=1e-8)


@pytest.mark.parametrize("discrete", [True, False], ids=["discrete", "continuous"])
def test_power_law_data(discrete):
    x = sample_power_law(2.5, 1, 5000, discrete=discrete, random_state=0)
    fit = PowerLawFit(discrete=discrete).fit(x)
    by_name = {c.alternative: c for c in compare_alternatives(fit, x)}
    assert by_name["exponential"].preferred() == "power_law"
    assert by_name["exponential"].p_value < 1e-6
    tpl = by_name["truncated_power_law"]
    assert tpl.nested and tpl.R <= 1e-9               # it nests the power law
    assert tpl.preferred() == "inconclusive"
    assert by_name["lognormal"].preferred() != "lognormal"


def test_cutoff_data_prefer_the_truncated_power_law():
    rng = np.random.default_rng(1)
    # Rejection sampling of x^-1.5 e^{-x/200} on x >= 1 from the power law.
    x = sample_power_law(1.5, 1.0, 40_000, discrete=False, random_state=rng)
    x = x[rng.random(x.size) < np.exp(-(x - 1.0) / 200.0)]
    fit = PowerLawFit(discrete=False, xmin=1.0).fit(x)
    tpl = {c.alternative: c for c in compare_alternatives(fit, x)}["truncated_power_law"]
    assert tpl.preferred() == "truncated_power_law"
    assert tpl.params["alpha"] == pytest.approx(1.5, abs=0.05)
    assert tpl.params["lambda"] == pytest.approx(1 / 200, rel=0.2)


@pytest.mark.parametrize("discrete,alternative", [(True, "lognormal"), (True, "exponential"),
                                                  (False, "lognormal"), (False, "exponential"),
                                                  (False, "truncated_power_law")])
def test_agrees_with_powerlaw_distribution_compare(discrete, alternative):
    rng = np.random.default_rng(2)
    x = rng.lognormal(1.5, 1.0, 3000)
    x = np.floor(x) + 1 if discrete else x
    fit = PowerLawFit(discrete=discrete, xmin=3).fit(x)
    ours = {c.alternative: c for c in compare_alternatives(fit, x)}[alternative]
    normalized, p = powerlaw_compare(x, 3, discrete, alternative)
    if alternative == "truncated_power_law":        # nested: powerlaw returns R itself
        assert ours.R == pytest.approx(powerlaw_compare_raw(x, 3, discrete, alternative), rel=2e-3)
    else:
        assert ours.normalized_R == pytest.approx(normalized, rel=2e-3)
    assert ours.p_value == pytest.approx(p, rel=2e-2, abs=1e-6)


def powerlaw_compare_raw(x, xmin, discrete, alternative):
    import powerlaw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(x, xmin=xmin, discrete=discrete, verbose=False,
                           parameter_ranges={"alpha": [1.0001, 30.0]})
        return fit.distribution_compare("power_law", alternative)[0]


def test_truncated_fit_never_worse_than_the_power_law():
    x = sample_power_law(2.2, 2, 3000, discrete=True, random_state=5)
    values, counts = unique_counts(x)
    fit = PowerLawFit(xmin=2).fit(x)
    tpl = fit_truncated_power_law(values, counts, 2, True, fit.alpha_)
    assert np.dot(counts, tpl.loglikelihoods) >= np.dot(counts, fit.loglikelihoods(values)) - 1e-9
    lognormal = fit_lognormal(values, counts, 2, True)
    assert set(lognormal.params) == {"mu", "sigma"} and lognormal.params["sigma"] > 0


def test_unknown_alternative():
    x = sample_power_law(2.5, 1, 500, discrete=True, random_state=0)
    with pytest.raises(ValueError, match="unknown alternative"):
        compare_alternatives(PowerLawFit().fit(x), x, alternatives=["weibull"])
