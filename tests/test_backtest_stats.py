"""The backtest's statistics (``lstm_np.forecast.stats``) against values known independently:
worked by hand on tiny examples (the p-values from closed forms of Student's t), the Wilson
interval from its formula, the binomial test from the binomial sum, and the Diebold–Mariano
test from the ``dieboldmariano`` package (PyPI), which implements R's ``forecast::dm.test``.
"""
import math

import numpy as np
import pytest
from dieboldmariano import dm_test
from dieboldmariano.dieboldmariano import NegativeVarianceException

from lstm_np.forecast.stats import (diebold_mariano, direction, error_metrics, mase, mase_scale,
                                    verdict)

Z95 = 1.959963984540054  # the standard normal's 0.975 quantile


def t2_two_sided(t):
    """Two-sided p-value of Student's t with 2 degrees of freedom: 1 - |t| / sqrt(2 + t^2)."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def t3_two_sided(t):
    """Two-sided p-value of Student's t with 3 degrees of freedom, from its closed-form CDF."""
    t = abs(t)
    return 1 - 2 / math.pi * (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3)))


# ----------------------------------------------------------------- error metrics and MASE ---

def test_error_metrics_by_hand():
    m = error_metrics([100.0, 200.0], [110.0, 180.0])      # errors +10, -20
    assert m["mae"] == pytest.approx(15.0, rel=1e-15)
    assert m["rmse"] == pytest.approx(math.sqrt(250.0), rel=1e-15)
    assert m["mape"] == pytest.approx(100 * (0.1 + 0.1) / 2, rel=1e-15)


def test_mase_scale_is_the_mean_absolute_one_step_change_of_the_training_prices():
    assert mase_scale([10.0, 12.0, 11.0, 15.0]) == pytest.approx(7 / 3, rel=1e-15)  # |2|,|-1|,|4|


def test_mase_by_hand():
    # errors 1 and 2 on the scale 7/3: (1.5) / (7/3) = 9/14
    assert mase([15.0, 16.0], [14.0, 18.0], mase_scale([10.0, 12.0, 11.0, 15.0])) == \
        pytest.approx(9 / 14, rel=1e-15)


def test_pooled_mase_scales_each_day_by_its_own_folds_scale():
    # errors 1 and 4 with the scales 2 and 4: mean(1/2, 4/4) = 0.75, not 2.5 / 3 = 0.83
    assert mase([0.0, 0.0], [1.0, -4.0], [2.0, 4.0]) == pytest.approx(0.75, rel=1e-15)


def test_naive_forecast_on_its_own_training_prices_has_mase_one():
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(size=50))
    assert mase(prices[1:], prices[:-1], mase_scale(prices)) == pytest.approx(1.0, rel=1e-14)


def test_mase_scale_of_constant_prices_is_refused():
    with pytest.raises(ValueError, match="never change"):
        mase_scale([5.0, 5.0, 5.0])


# ------------------------------------------------------------------- direction accuracy ---

def test_direction_counts_ties_as_documented():
    last = [10.0, 10.0, 10.0, 10.0]
    y_true = [11.0, 10.0, 9.0, 12.0]   # up, no move, down, up
    y_pred = [12.0, 11.0, 10.0, 9.0]   # up (hit), - (left out), no move (miss), down (miss)
    d = direction(y_true, y_pred, last)
    assert (d.hits, d.n, d.n_flat) == (1, 3, 1)
    assert d.accuracy == pytest.approx(1 / 3, rel=1e-15)


def wilson(k, n, z=Z95):
    """Wilson's (1927) score interval, written out."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(20, 30), (0, 7), (7, 7), (52, 100)])
def test_direction_interval_is_wilsons_and_pvalue_is_the_binomial_sum(k, n):
    last = np.zeros(n)
    y_true = np.ones(n)                       # every day the price rose
    y_pred = np.r_[np.ones(k), -np.ones(n - k)]  # k forecasts rose with it
    d = direction(y_true, y_pred, last)
    assert (d.hits, d.n) == (k, n)
    low, high = wilson(k, n)
    assert d.ci[0] == pytest.approx(low, abs=1e-12)
    assert d.ci[1] == pytest.approx(high, abs=1e-12)
    # p = 0.5 is symmetric: the two-sided p-value is twice the smaller tail, at most 1
    tail = sum(math.comb(n, j) for j in range(max(k, n - k), n + 1)) / 2 ** n
    assert d.pvalue == pytest.approx(min(1.0, 2 * tail), rel=1e-12)


def test_direction_without_any_move_is_undefined_not_zero():
    d = direction([10.0, 10.0], [11.0, 9.0], [10.0, 10.0])
    assert (d.n, d.n_flat) == (0, 2)
    assert math.isnan(d.accuracy) and math.isnan(d.pvalue)


# ---------------------------------------------------------------------- Diebold-Mariano ---

def test_dm_squared_loss_by_hand():
    # errors e = 2, 1, 0 against b = 1, 1, 1: d = 3, 0, -1, mean 2/3, gamma_0 = 26/9,
    # DM^2 = (4/9) / (26/27) = 6/13, HLN factor (3 + 1 - 2) / 3 = 2/3, DM*^2 = 4/13, 2 df
    dm = diebold_mariano([0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0])
    assert dm.stat == pytest.approx(math.sqrt(4 / 13), rel=1e-14)
    assert dm.pvalue == pytest.approx(t2_two_sided(math.sqrt(4 / 13)), rel=1e-12)
    assert dm.pvalue == pytest.approx(1 - math.sqrt(2 / 15), rel=1e-12)
    assert (dm.mean_diff, dm.n, dm.h) == (pytest.approx(2 / 3), 3, 1)


def test_dm_abs_loss_h2_by_hand():
    # |e| = 4, 4, 1, 1 against |b| = 1, 1, 2, 2: d = 3, 3, -1, -1, mean 1, deviations 2, 2, -2, -2,
    # gamma_0 = 16/4 = 4, gamma_1 = (4 - 4 + 4)/4 = 1, variance (4 + 2*1)/4 = 3/2;
    # HLN factor (4 + 1 - 4 + 2/4)/4 = 3/8: DM*^2 = (1 / (3/2)) * 3/8 = 1/4, 3 df
    y = np.zeros(4)
    dm = diebold_mariano(y, [4.0, -4.0, 1.0, 1.0], [1.0, 1.0, -2.0, 2.0], h=2, loss="abs")
    assert dm.stat == pytest.approx(0.5, rel=1e-14)
    assert dm.pvalue == pytest.approx(t3_two_sided(0.5), rel=1e-12)
    assert dm.h == 2


def test_dm_falls_back_to_h1_when_the_long_run_variance_is_not_positive():
    # d = 1, 1, -1, 2: gamma_0 = 19/16, gamma_1 = -41/64, variance (19/16 - 41/32)/4 < 0.
    # R's dm.test then tests with h = 1 (with a warning); the dieboldmariano package refuses.
    # With h = 1: DM^2 = (9/16) / (19/64) = 36/19, times (4 + 1 - 2)/4: DM*^2 = 27/19.
    y = np.zeros(4)
    pred, base = [1.0, 2.0, 0.0, 3.0], [0.0, 1.0, 1.0, 1.0]
    dm = diebold_mariano(y, pred, base, h=2, loss="abs")
    assert dm.h == 1
    assert dm.stat == pytest.approx(math.sqrt(27 / 19), rel=1e-14)
    assert dm.pvalue == pytest.approx(t3_two_sided(math.sqrt(27 / 19)), rel=1e-12)
    with pytest.raises(NegativeVarianceException):
        dm_test(y, pred, base, h=2, loss=lambda u, v: abs(u - v))


@pytest.mark.parametrize("loss", ["squared", "abs"])
@pytest.mark.parametrize("h", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dm_equals_the_dieboldmariano_package(loss, h, seed):
    rng = np.random.default_rng(seed)
    n = 40
    y = 30_000 + np.cumsum(rng.normal(0, 500, n))
    naive = np.r_[30_000.0, y[:-1]]
    model = y + rng.normal(100 * seed, 600, n)
    ours = diebold_mariano(y, model, naive, h=h, loss=loss)
    fn = (lambda u, v: (u - v) ** 2) if loss == "squared" else (lambda u, v: abs(u - v))
    stat, p = dm_test(y, model, naive, loss=fn, h=h, harvey_correction=True)
    assert ours.h == h
    assert ours.stat == pytest.approx(stat, rel=1e-12)
    # the package integrates the t distribution with its own continued fraction (tolerance 1e-10)
    assert ours.pvalue == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_dm_of_a_forecast_equal_to_the_baseline_is_undefined():
    y = np.array([1.0, 2.0, 3.0])
    dm = diebold_mariano(y, y + 1, y + 1)
    assert math.isnan(dm.stat) and math.isnan(dm.pvalue)
    assert verdict(dm) == "no test possible (its losses equal naive's on every day)"


def test_dm_sign_follows_which_forecast_is_worse():
    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    good, bad = y + rng.normal(0, 0.1, 200), y + rng.normal(0, 1.0, 200)
    assert diebold_mariano(y, bad, good).stat > 0
    assert diebold_mariano(y, good, bad).stat < 0


# ------------------------------------------------------------------------------ verdict ---

def test_verdict_reads_the_test():
    rng = np.random.default_rng(4)
    y = rng.normal(size=200)
    good, bad = y + rng.normal(0, 0.1, 200), y + rng.normal(0, 1.0, 200)
    assert verdict(diebold_mariano(y, bad, good)) == "worse than naive (DM p < 0.001)"
    assert verdict(diebold_mariano(y, good, bad)) == "better than naive (DM p < 0.001)"
    same = diebold_mariano(y, y + rng.normal(0, 1.0, 200), bad)
    assert same.pvalue > 0.05
    assert verdict(same) == f"not distinguishable from naive (DM p = {same.pvalue:.3f})"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="loss"):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], [2.0, 1.0], loss="mse")
    with pytest.raises(ValueError, match="h must"):
        diebold_mariano([1.0, 2.0], [1.0, 2.0], [2.0, 1.0], h=0)
    with pytest.raises(ValueError, match="one length"):
        error_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        error_metrics([1.0, np.nan], [1.0, 2.0])
