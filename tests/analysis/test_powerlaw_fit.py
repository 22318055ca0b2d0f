"""PowerLawFit: exponent recovery, the true (unbounded) MLE, KS distances and
both p-values, scikit-learn conventions."""
import math
import warnings

import mpmath
import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import zeta
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from analysis import PowerLawFit, log_hurwitz_zeta, sample_power_law
from analysis.powerlaw_fit import FEWEST_TAIL, SMALL_TAIL
from analysis.sampling import DiscretePowerLawSampler
from analysis.special import _log_zeta_euler_maclaurin, log_hurwitz_zeta_scaled

ALPHAS = [1.5, 2.0, 2.5, 3.5, 5.0, 6.0]
N = 20_000


def powerlaw_alpha(x, **kwargs):
    """powerlaw.Fit(...).power_law.alpha with its warnings silenced (the fit
    runs lazily, on first access)."""
    import powerlaw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return powerlaw.Fit(x, verbose=False, **kwargs).power_law.alpha


def cutoff_power_law_sample(seed, n=1500):
    """Integers with p(k) ~ k^-1.2 exp(-k/150): the cut-off bends the far tail
    down, so that its KS minimum can sit on a small, steep tail, as on
    MovieLens (seed 2: 34 values; seed 0: 327)."""
    k = np.arange(1, 3000)
    p = k ** -1.2 * np.exp(-k / 150.0)
    return np.random.default_rng(seed).choice(k, size=n, p=p / p.sum()).astype(float)


def reference_log_zeta_scaled(a, v, terms=20_000):
    """ln(v^a zeta(a, v)) = ln sum_{k >= 0} (1 + k/v)^-a: the first terms
    summed directly, the rest by the Euler-Maclaurin formula to f'. Never
    underflows (the first term is 1), unlike scipy's zeta for steep laws."""
    head = np.sum((1.0 + np.arange(terms) / v) ** -a)
    t = 1.0 + terms / v
    rest = v * t ** (1.0 - a) / (a - 1.0) + t ** -a / 2.0 + a / (12.0 * v) * t ** (-a - 1.0)
    return np.log(head + rest)


def reference_scan(x, discrete=True, min_tail=FEWEST_TAIL):
    """The xmin scan of Clauset 2009, Sec. 3.3, one candidate at a time and
    independent of the estimator: every distinct value but the largest whose
    tail holds min_tail values; the exponent by a bounded scalar search of
    Eq. 3.5 (Eq. 3.1 for continuous data), each checked to be interior; the
    KS distance over every integer >= xmin, the model CDF summed term by
    term (discrete), or by scipy.stats.kstest. Returns (xmin, alpha, ks,
    n_tail) rows."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    rows = []
    for v in np.unique(x)[:-1]:
        tail = x[x >= v]
        if tail.size < min_tail or v < (1.0 if discrete else np.finfo(float).tiny):
            continue
        excess = np.log(tail / v).sum()
        if discrete:
            def nll(a):                             # Eq. 3.5 less constants, over n
                return reference_log_zeta_scaled(a, v) + a * excess / tail.size
            hi = 10.0 * (1.0 + tail.size / excess)
            res = optimize.minimize_scalar(nll, bounds=(1.0 + 1e-9, hi), method="bounded",
                                           options={"xatol": 1e-10 * hi, "maxiter": 2000})
            a = res.x
            assert res.success and 1.0 + 1e-6 < a < hi * (1.0 - 1e-6), (v, a)
            k = np.arange(v, tail[-1] + 1)
            model = np.cumsum((k / v) ** -a) / np.exp(reference_log_zeta_scaled(a, v))
            empirical = np.searchsorted(tail, k, side="right") / tail.size    # P(X <= k)
            ks = np.abs(empirical - model).max()
        else:
            a = 1.0 + tail.size / excess
            ks = stats.kstest(tail, lambda t, a=a, v=v: 1.0 - (t / v) ** (1.0 - a)).statistic
        rows.append((v, a, ks, tail.size))
    return np.array(rows)


# ---------------------------------------------------------------------------
# log Hurwitz zeta and the sampler the other tests rely on.

def test_log_hurwitz_zeta_matches_scipy_where_scipy_is_finite():
    rng = np.random.default_rng(0)
    s = rng.uniform(1.0001, 40.0, 4000)
    q = np.floor(np.exp(rng.uniform(0.0, 9.0, 4000)))
    reference = np.log(zeta(s, q))
    finite = np.isfinite(reference) & (reference > -700)
    # The Euler-Maclaurin branch against scipy on the common domain...
    em = _log_zeta_euler_maclaurin(s[finite], q[finite])
    np.testing.assert_allclose(em, reference[finite], rtol=1e-13, atol=1e-13)
    # ...and the public function equal to scipy there.
    np.testing.assert_allclose(log_hurwitz_zeta(s[finite], q[finite]), reference[finite], rtol=1e-15)
    # The scaled form is ln(q^s zeta(s, q)).
    np.testing.assert_allclose(log_hurwitz_zeta_scaled(s[finite], q[finite]),
                               reference[finite] + s[finite] * np.log(q[finite]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("s,q", [(120.0, 500.0), (100.5, 1000.0), (700.0, 100.0), (80.0, 20000.0)])
def test_log_hurwitz_zeta_beyond_underflow(s, q):
    assert zeta(s, q) < 1e-290                      # scipy underflows (or nearly) here
    mpmath.mp.dps = 40
    try:
        # Direct sum until the terms are negligible, plus the integral of the rest.
        terms = [mpmath.mpf(q + k) ** -s for k in range(20_000)]
        rest = mpmath.mpf(q + 20_000) ** (1 - s) / (s - 1)
        reference = float(mpmath.log(mpmath.fsum(terms) + rest))
    finally:
        mpmath.mp.dps = 15
    assert log_hurwitz_zeta(s, q) == pytest.approx(reference, rel=1e-14)


def test_discrete_sampler_is_exact():
    sampler = DiscretePowerLawSampler(2.2, 3)
    x = sampler(200_000, random_state=1)
    assert x.min() == 3 and np.all(x == np.floor(x))
    # Chi-square goodness of fit on 3..12 and the rest.
    support = np.arange(3, 13)
    pmf = support ** -2.2 / zeta(2.2, 3)
    observed = np.append(np.bincount(x[x < 13].astype(int), minlength=13)[3:], (x >= 13).sum())
    expected = np.append(pmf, 1.0 - pmf.sum()) * x.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # The bisection beyond the table gives exactly the table's answers.
    tiny_table = DiscretePowerLawSampler(2.2, 3, table_size=4)
    np.testing.assert_array_equal(tiny_table(50_000, random_state=7), sampler(50_000, random_state=7))


# ---------------------------------------------------------------------------
# Exponent recovery.

@pytest.mark.parametrize("discrete", [True, False], ids=["discrete", "continuous"])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_recovers_exponent_with_fixed_xmin(alpha, discrete):
    x = sample_power_law(alpha, 1, N, discrete=discrete, random_state=2024)
    fit = PowerLawFit(discrete=discrete, xmin=1).fit(x)
    assert fit.xmin_ == 1 and fit.n_tail_ == N
    assert fit.alpha_ == pytest.approx(alpha, rel=0.03)
    if not discrete:                                # Clauset 2009, Eq. 3.1, exactly
        assert fit.alpha_ == pytest.approx(1.0 + N / np.log(x).sum(), rel=1e-12)


@pytest.mark.parametrize("discrete", [True, False], ids=["discrete", "continuous"])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_recovers_exponent_and_xmin_by_ks_scan(alpha, discrete):
    # Below xmin = 5 the data are uniform on [1, 5): the scan must find the tail.
    rng = np.random.default_rng(int(alpha * 10))
    tail = sample_power_law(alpha, 5, N, discrete=discrete, random_state=rng)
    body = rng.integers(1, 5, 4000).astype(float) if discrete else rng.uniform(1, 5, 4000)
    fit = PowerLawFit(discrete=discrete).fit(np.concatenate([body, tail]))
    assert fit.alpha_ == pytest.approx(alpha, rel=0.03)
    # The KS minimum sits at or somewhat above the true cut-off: never in the
    # uniform body, and it leaves a large tail.
    assert 4.5 <= fit.xmin_ <= 10 and fit.n_tail_ >= N // 5


@pytest.mark.parametrize("alpha", [1.5, 2.5, 3.5, 6.0])
def test_discrete_mle_solves_the_score_equation(alpha):
    # Clauset 2009, Eq. 3.6: zeta'(a, xmin) / zeta(a, xmin) = -mean(ln x), with
    # zeta' from mpmath (independent of the estimator's finite differences).
    x = sample_power_law(alpha, 1, N, discrete=True, random_state=3)
    fit = PowerLawFit(discrete=True).fit(x)
    tail = x[x >= fit.xmin_]
    score = (mpmath.zeta(fit.alpha_, fit.xmin_, 1) / mpmath.zeta(fit.alpha_, fit.xmin_)
             + np.log(tail).mean())
    assert abs(float(score)) < 1e-8
    # ...and is the maximum of Clauset 2009, Eq. 3.5 on a fine grid around it.
    grid = fit.alpha_ + np.linspace(-0.05, 0.05, 201)
    loglik = -tail.size * log_hurwitz_zeta(grid, fit.xmin_) - grid * np.log(tail).sum()
    assert abs(grid[np.argmax(loglik)] - fit.alpha_) <= 0.0005 + 1e-12


def test_extreme_exponent_is_the_mle():
    # Nearly all mass on xmin = 1000: alpha ~ 5000, where ln zeta ~ -35,000 and
    # the likelihood's curvature (Var ln X ~ 6e-9) is far below its rounding.
    x = np.r_[np.full(500, 1000.0), np.full(3, 1001.0)]
    fit = PowerLawFit(xmin=1000).fit(x)
    k = np.arange(200.0)
    log_terms = -fit.alpha_ * np.log1p(k / 1000.0)            # (1 + k/q)^-alpha
    p = np.exp(log_terms - log_terms.max())
    model_mean = np.sum(p * np.log1p(k / 1000.0)) / p.sum()    # E[ln(X/q)]
    assert model_mean == pytest.approx(np.log(x / 1000.0).mean(), rel=1e-7)
    assert fit.alpha_ > 5000


def test_powerlaw_package_bounds_the_exponent_and_we_do_not():
    # powerlaw 2.0.0's default parameter_ranges cap alpha at 3.
    for discrete in (True, False):
        x = sample_power_law(6.0, 1, N, discrete=discrete, random_state=5)
        ours = PowerLawFit(discrete=discrete, xmin=1).fit(x)
        theirs = powerlaw_alpha(x, xmin=1, discrete=discrete)
        assert theirs <= 3.0 + 1e-9
        assert ours.alpha_ == pytest.approx(6.0, rel=0.03)
        # With the bound lifted, powerlaw agrees with our MLE.
        lifted = powerlaw_alpha(x, xmin=1, discrete=discrete, parameter_ranges={"alpha": [1.0, 30.0]})
        assert lifted == pytest.approx(ours.alpha_, rel=1e-4)


@pytest.mark.parametrize("alpha", [1.5, 2.5])
def test_agrees_with_powerlaw_package_inside_its_range(alpha):
    for discrete in (True, False):
        x = sample_power_law(alpha, 2, 5000, discrete=discrete, random_state=11)
        ours = PowerLawFit(discrete=discrete, xmin=2).fit(x)
        theirs = powerlaw_alpha(x, xmin=2, discrete=discrete, parameter_ranges={"alpha": [1.0, 30.0]})
        assert theirs == pytest.approx(ours.alpha_, rel=1e-4)


# ---------------------------------------------------------------------------
# KS distance and p-values.

def test_ks_distance_continuous_equals_scipy_kstest():
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(0.5, 2.0, 3000),
                        sample_power_law(2.7, 2.0, 6000, discrete=False, random_state=rng)])
    fit = PowerLawFit(discrete=False).fit(x)
    tail = x[x >= fit.xmin_]
    reference = stats.kstest(tail, lambda t: 1.0 - (t / fit.xmin_) ** (1.0 - fit.alpha_))
    assert fit.ks_ == pytest.approx(reference.statistic, rel=1e-10)
    assert fit.n_tail_ == tail.size
    assert fit.p_value_ == pytest.approx(stats.kstwo(fit.n_tail_).sf(fit.ks_), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_ks_distance_discrete_is_the_supremum_over_all_integers(seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.integers(1, 4, 500),
                        sample_power_law(2.3, 4, 3000, discrete=True, random_state=rng)])
    fit = PowerLawFit(discrete=True).fit(x)
    tail = np.sort(x[x >= fit.xmin_])
    k = np.arange(fit.xmin_, tail.max() + 1)
    empirical = np.searchsorted(tail, k, side="right") / tail.size        # P(X <= k)
    model = 1.0 - zeta(fit.alpha_, k + 1) / zeta(fit.alpha_, fit.xmin_)
    assert fit.ks_ == pytest.approx(np.abs(empirical - model).max(), rel=1e-9)
    assert fit.p_value_ == pytest.approx(stats.kstwo(fit.n_tail_).sf(fit.ks_), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 2, 8])
def test_xmin_is_the_brute_force_ks_minimiser(seed):
    # Over every candidate, whatever its tail: seeds 2 and 8 have their KS
    # minimum on a tail of fewer than 50 values, which min_tail=50 (the old
    # default) missed.
    x = cutoff_power_law_sample(seed)
    reference = reference_scan(x)
    best = int(np.argmin(reference[:, 2]))
    assert np.sort(reference[:, 2])[1] - reference[best, 2] > 1e-4        # a clear minimum
    fit = PowerLawFit().fit(x)
    assert np.unique(x).size - 1 <= fit.max_candidates                   # no thinning here
    np.testing.assert_array_equal(fit.xmin_candidates_, reference[:, 0])
    np.testing.assert_allclose(fit.alpha_candidates_, reference[:, 1], rtol=1e-6)
    np.testing.assert_allclose(fit.ks_candidates_, reference[:, 2], rtol=1e-6, atol=1e-9)
    assert fit.xmin_ == reference[best, 0] and fit.n_tail_ == reference[best, 3]
    assert fit.alpha_ == pytest.approx(reference[best, 1], rel=1e-6)
    assert fit.ks_ == pytest.approx(reference[best, 2], rel=1e-6)
    assert fit.small_tail_ == (seed != 0) == (fit.n_tail_ < SMALL_TAIL)


def test_xmin_is_the_brute_force_ks_minimiser_continuous():
    rng = np.random.default_rng(21)
    x = np.concatenate([rng.uniform(0.5, 2.0, 150),
                        sample_power_law(2.7, 2.0, 250, discrete=False, random_state=rng)])
    reference = reference_scan(x, discrete=False)
    fit = PowerLawFit(discrete=False).fit(x)
    np.testing.assert_allclose(fit.xmin_candidates_, reference[:, 0], rtol=0)
    np.testing.assert_allclose(fit.ks_candidates_, reference[:, 2], rtol=1e-9, atol=1e-12)
    best = int(np.argmin(reference[:, 2]))
    assert fit.xmin_ == reference[best, 0]
    assert fit.alpha_ == pytest.approx(reference[best, 1], rel=1e-10)


@pytest.mark.parametrize("min_tail", [2, 3, 34, 35, 50, 152, 153, 400])
def test_min_tail_restricts_the_scan_exactly(min_tail):
    # Candidates: the distinct values but the largest with at least min_tail
    # values >= them; xmin: the KS minimiser among those (seed 2's minimum has
    # 34 values, the next best with 50 or more has 152).
    x = cutoff_power_law_sample(2)
    reference = reference_scan(x)
    allowed = reference[reference[:, 3] >= min_tail]
    fit = PowerLawFit(min_tail=min_tail).fit(x)
    np.testing.assert_array_equal(fit.xmin_candidates_, allowed[:, 0])
    best = allowed[np.argmin(allowed[:, 2])]
    assert (fit.xmin_, fit.n_tail_) == (best[0], best[3]) and fit.n_tail_ >= min_tail
    assert fit.small_tail_ == (fit.n_tail_ < SMALL_TAIL)
    if min_tail <= 34:
        assert fit.n_tail_ == 34 and fit.small_tail_
    elif min_tail <= 152:
        assert fit.n_tail_ == 152 and not fit.small_tail_


def test_default_min_tail_is_what_a_fit_needs():
    assert PowerLawFit().min_tail == FEWEST_TAIL == 2
    # Two observations, two distinct values: the smallest sample with a fit.
    fit = PowerLawFit().fit([3, 7])
    assert (fit.xmin_, fit.n_tail_) == (3.0, 2) and fit.small_tail_
    assert np.isfinite(fit.alpha_) and fit.alpha_ > 1 and 0 < fit.ks_ < 1
    # Steep laws on tiny tails are scanned without numerical warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PowerLawFit().fit(cutoff_power_law_sample(2))
        PowerLawFit(discrete=False).fit(np.random.default_rng(0).lognormal(0, 1, 400))


def test_powerlaw_package_agrees_on_the_small_tail_when_unbounded():
    # powerlaw 2.0.0 discards every candidate whose exponent leaves its default
    # range [0, 3] ("valid_fits"), which moves xmin to a large tail; with the
    # range lifted and every fit of its scan valid, it picks our xmin.
    import powerlaw

    x = cutoff_power_law_sample(2)
    ours = PowerLawFit().fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = powerlaw.Fit(x, discrete=True, verbose=False,
                              parameter_ranges={"alpha": [1.0, 30.0]})
        assert theirs.xmin_fitting_results["valid_fits"].all()
        assert np.all(theirs.xmin_fitting_results["alphas"] < 30.0 - 1e-6)
        assert theirs.xmin == ours.xmin_
        assert theirs.power_law.alpha == pytest.approx(ours.alpha_, rel=1e-2)
        bounded = powerlaw.Fit(x, discrete=True, verbose=False)
        assert not bounded.xmin_fitting_results["valid_fits"].all()
        assert bounded.power_law.alpha <= 3.0 and bounded.xmin < ours.xmin_


def test_movielens_100k_xmin_is_the_brute_force_ks_minimiser(shared_data):
    # Item degrees of ML-100K with ratings >= 4 (hypgraph-stats --min-rating 4).
    path = shared_data / "ml-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    ratings = np.loadtxt(path, dtype=np.int64)
    degree = np.unique(ratings[ratings[:, 2] >= 4, 1], return_counts=True)[1]
    reference = reference_scan(degree)
    best = reference[np.argmin(reference[:, 2])]
    fit = PowerLawFit().fit(degree)
    assert (fit.xmin_, fit.n_tail_) == (best[0], best[3]) == (208, 42) and fit.small_tail_
    assert fit.alpha_ == pytest.approx(best[1], rel=1e-6)
    assert fit.ks_ == pytest.approx(best[2], rel=1e-6)
    # The former default, min_tail=50, took the best tail of 50 or more.
    allowed = reference[reference[:, 3] >= 50]
    old = PowerLawFit(min_tail=50).fit(degree)
    assert (old.xmin_, old.n_tail_) == tuple(allowed[np.argmin(allowed[:, 2])][[0, 3]]) == (138, 105)
    assert old.ks_ > fit.ks_ + 0.02 and fit.alpha_ - old.alpha_ > 1.5


def test_xmin_minimises_ks_over_the_candidates():
    x = sample_power_law(2.5, 1, 5000, discrete=True, random_state=4)
    fit = PowerLawFit(discrete=True, min_tail=100).fit(x)
    assert fit.ks_ == fit.ks_candidates_.min()
    for xmin in fit.xmin_candidates_[:5]:
        fixed = PowerLawFit(discrete=True, xmin=xmin).fit(x)
        assert fixed.ks_ >= fit.ks_ - 1e-9
        index = int(np.flatnonzero(fit.xmin_candidates_ == xmin)[0])
        assert fixed.alpha_ == pytest.approx(fit.alpha_candidates_[index], rel=1e-9)


def test_candidates_are_capped():
    x = sample_power_law(1.8, 1.0, 20_000, discrete=False, random_state=9)
    fit = PowerLawFit(discrete=False, max_candidates=40).fit(x)
    assert 2 <= fit.xmin_candidates_.size <= 40
    assert fit.xmin_candidates_[0] == x.min()


def test_bootstrap_p_value_accepts_power_laws():
    accepted = 0
    for seed in range(5):
        x = sample_power_law(2.5, 1, 2000, discrete=True, random_state=100 + seed)
        fit = PowerLawFit(discrete=True, n_bootstrap=30, max_candidates=20,
                          random_state=seed).fit(x)
        assert 0.0 <= fit.p_value_bootstrap_ <= 1.0
        assert (fit.p_value_bootstrap_ * 30) == pytest.approx(round(fit.p_value_bootstrap_ * 30))
        accepted += fit.p_value_bootstrap_ > 0.1
    assert accepted >= 4


@pytest.mark.parametrize("discrete", [True, False], ids=["discrete", "continuous"])
def test_bootstrap_p_value_rejects_lognormal(discrete):
    rng = np.random.default_rng(12)
    x = rng.lognormal(2.0 if discrete else 0.0, 1.0, 20_000)
    if discrete:
        x = np.floor(x)
        x = x[x >= 1]
    # The tail must hold a quarter of the data: a lognormal can pass for a power
    # law in its last few hundred values, where the test has little power.
    fit = PowerLawFit(discrete=discrete, n_bootstrap=20, min_tail=5000, max_candidates=10,
                      random_state=0).fit(x)
    assert fit.p_value_bootstrap_ < 0.1


def test_bootstrap_is_reproducible_and_off_by_default():
    x = sample_power_law(2.5, 1, 1000, discrete=True, random_state=0)
    a = PowerLawFit(n_bootstrap=10, max_candidates=10, random_state=3).fit(x)
    b = PowerLawFit(n_bootstrap=10, max_candidates=10, random_state=3).fit(x)
    assert a.p_value_bootstrap_ == b.p_value_bootstrap_
    assert math.isnan(PowerLawFit().fit(x).p_value_bootstrap_)


# ---------------------------------------------------------------------------
# scikit-learn conventions.

def test_estimator_conventions():
    est = PowerLawFit(discrete=False, min_tail=10, random_state=0)
    assert est.get_params()["min_tail"] == 10
    assert "min_tail=10" in repr(est)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.loglikelihoods([1.0, 2.0])
    x = sample_power_law(2.5, 1.0, 500, discrete=False, random_state=0)
    assert est.fit(x) is est
    assert all(hasattr(est, a) for a in ("alpha_", "xmin_", "n_tail_", "ks_", "p_value_",
                                          "p_value_bootstrap_", "alpha_se_"))
    # The fitted law is a proper density on the tail.
    grid = np.geomspace(est.xmin_, est.xmin_ * 1e6, 200_001)
    density = np.exp(est.loglikelihoods(grid))
    assert np.trapezoid(density, grid) == pytest.approx(1.0 - 1e-6 ** (est.alpha_ - 1), rel=1e-3)


@pytest.mark.parametrize("params", [dict(min_tail=1), dict(min_tail=2.0), dict(min_tail=True),
                                    dict(max_candidates=0), dict(n_bootstrap=-1),
                                    dict(xmin=-2), dict(xmin=2.5), dict(discrete="yes")])
def test_invalid_parameters_are_rejected_in_fit_not_init(params):
    est = PowerLawFit(**params)                     # __init__ only stores
    with pytest.raises(ValueError):
        est.fit(np.arange(1, 100))


@pytest.mark.parametrize("x,match", [([], "empty"), ([1.0, np.nan], "NaN"), ([1, 2.5, 3], "integers"),
                                     ([3, 3, 3], "two distinct"), ([[1, 2], [3, 4]], "1-D")])
def test_invalid_data(x, match):
    with pytest.raises(ValueError, match=match):
        PowerLawFit().fit(x)


def test_small_tails_warn_and_still_fit():
    with pytest.warns(UserWarning, match="min_tail"):
        fit = PowerLawFit(min_tail=50).fit([1, 1, 2, 3, 5, 8, 13])
    assert fit.alpha_ > 1 and fit.n_tail_ >= 2


def test_docstring_example_runs():
    import doctest

    import analysis.powerlaw_fit
    assert doctest.testmod(analysis.powerlaw_fit).failed == 0
