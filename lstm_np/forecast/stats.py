"""The statistics a backtest judges a model by, each against the naive forecast (tomorrow = today).

Every function takes plain arrays of prices in the series' units, so each number in
``backtest.json`` can be recomputed from ``forecasts.csv`` by calling these functions again.

* :func:`error_metrics` — MAE, RMSE (series' units) and MAPE (percent).
* :func:`mase_scale` and :func:`mase` — the mean absolute scaled error of Hyndman & Koehler
  (2006): each absolute error divided by the mean absolute one-step change of the training
  prices the forecast was fitted on. The naive forecast on the training data scores 1 by
  construction, so a MASE below 1 beats naive at its in-sample scale.
* :func:`direction` — how often the forecast gets the sign of the next move right, with a 95%
  Wilson interval and the two-sided binomial p-value against a coin (50%).
* :func:`diebold_mariano` — the Diebold & Mariano (1995) test of equal accuracy with the
  Harvey, Leybourne & Newbold (1997) small-sample correction, as R's ``forecast::dm.test``
  defines it; :func:`verdict` turns its result into one line.

References
----------
Diebold, F. X. & Mariano, R. S. (1995). Comparing predictive accuracy. *Journal of Business &
Economic Statistics* 13(3), 253-263.
Harvey, D., Leybourne, S. & Newbold, P. (1997). Testing the equality of prediction mean squared
errors. *International Journal of Forecasting* 13(2), 281-291.
Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
*International Journal of Forecasting* 22(4), 679-688.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association* 22(158), 209-212.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# scipy.stats is imported by the two tests that use it, not here: importing it takes longer than a
# command's --help should.

__all__ = ["DirectionResult", "DMResult", "diebold_mariano", "direction", "error_metrics",
           "mase", "mase_scale", "verdict"]

LOSSES = ("squared", "abs")


def _floats(values, name):
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite numbers")
    return values


def _pair(y_true, y_pred):
    y_true, y_pred = _floats(y_true, "y_true"), _floats(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and of one length, "
                         f"got {y_true.size} and {y_pred.size}")
    return y_true, y_pred


def error_metrics(y_true, y_pred):
    """MAE and RMSE in the series' units, and MAPE in percent.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)
        True prices and forecasts.

    Returns
    -------
    dict
        ``{"mae": float, "rmse": float, "mape": float}``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    err = y_pred - y_true
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "mape": float(100 * np.mean(np.abs(err) / np.abs(y_true)))}


def mase_scale(train_prices):
    """The MASE denominator: the mean absolute one-step change of the training prices,
    ``mean(|p_t - p_{t-1}|)`` over t = 1 .. m-1 — the in-sample MAE of the naive forecast.

    Raises
    ------
    ValueError
        With fewer than two prices, or prices that never change (the scale would be zero).
    """
    prices = _floats(train_prices, "train_prices")
    if prices.size < 2:
        raise ValueError("mase_scale needs at least two training prices")
    scale = float(np.mean(np.abs(np.diff(prices))))
    if scale == 0:
        raise ValueError("the training prices never change, so MASE is undefined")
    return scale


def mase(y_true, y_pred, scale):
    """Mean absolute scaled error: ``mean(|y_pred - y_true| / scale)``.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)
    scale : float or array_like, shape (n,)
        :func:`mase_scale` of the training prices behind each forecast. Pooled over folds, each
        day carries its own fold's scale, so every day's error is scaled before averaging.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), y_true.shape)
    if not np.all(scale > 0):
        raise ValueError("every MASE scale must be positive")
    return float(np.mean(np.abs(y_pred - y_true) / scale))


class DirectionResult(NamedTuple):
    """Direction accuracy and its uncertainty; see :func:`direction`."""

    hits: int
    n: int              # days on which the true price moved
    n_flat: int         # days on which it did not: left out of n
    accuracy: float     # hits / n (NaN if n == 0)
    ci: tuple           # Wilson interval (low, high) at ``confidence``
    pvalue: float       # two-sided exact binomial test against 0.5


def direction(y_true, y_pred, last, confidence=0.95):
    """Share of days on which the forecast moves the same way as the price.

    A day is a hit when ``sign(y_pred - last) == sign(y_true - last)``, ``last`` being the last
    price observed before it (the naive forecast).

    Ties. A day on which the price did not move (``y_true == last``) has no direction to get
    right: it is left out of ``n`` and counted in ``n_flat``. On a day on which the price moved,
    a forecast of no move (``y_pred == last``) is a miss: it did not call the direction.

    Parameters
    ----------
    y_true, y_pred, last : array_like, shape (n,)
    confidence : float
        Level of the Wilson score interval (Wilson 1927), computed by
        ``scipy.stats.binomtest(hits, n).proportion_ci(confidence, method="wilson")``.

    Returns
    -------
    DirectionResult
        With ``n == 0`` the accuracy, interval and p-value are NaN.
    """
    from scipy import stats

    y_true, y_pred = _pair(y_true, y_pred)
    last = _floats(last, "last")
    if last.shape != y_true.shape:
        raise ValueError(f"last must have the length of y_true, got {last.size} and {y_true.size}")
    true_move, predicted_move = np.sign(y_true - last), np.sign(y_pred - last)
    moved = true_move != 0
    n, hits = int(moved.sum()), int((predicted_move[moved] == true_move[moved]).sum())
    if n == 0:
        return DirectionResult(0, 0, int(y_true.size), math.nan, (math.nan, math.nan), math.nan)
    test = stats.binomtest(hits, n, p=0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=confidence, method="wilson")
    return DirectionResult(hits, n, int(y_true.size - n), hits / n,
                           (float(ci.low), float(ci.high)), float(test.pvalue))


class DMResult(NamedTuple):
    """A Diebold–Mariano test; see :func:`diebold_mariano`."""

    stat: float         # DM* (corrected); NaN when the test is undefined
    pvalue: float       # two-sided, Student's t with n - 1 degrees of freedom
    mean_diff: float    # mean of d_t; > 0: the forecast's loss is larger than the baseline's
    n: int
    h: int              # the horizon whose autocovariances were used (see the fallback)


def diebold_mariano(y_true, y_pred, baseline, h=1, loss="squared"):
    """Diebold–Mariano test that ``y_pred`` and ``baseline`` forecast ``y_true`` equally well.

    With errors ``e_t = y_pred_t - y_true_t`` and ``b_t = baseline_t - y_true_t``, the loss
    differences are ``d_t = e_t^2 - b_t^2`` (``loss="squared"``) or ``|e_t| - |b_t|``
    (``loss="abs"``), t = 1 .. n. Then::

        d_bar   = (1/n) sum_t d_t
        gamma_k = (1/n) sum_{t=k+1..n} (d_t - d_bar)(d_{t-k} - d_bar)     k = 0 .. h-1
        DM      = d_bar / sqrt((gamma_0 + 2 sum_{k=1..h-1} gamma_k) / n)
        DM*     = DM * sqrt((n + 1 - 2h + h(h-1)/n) / n)                  (Harvey et al. 1997)
        p       = 2 P(T_{n-1} > |DM*|)                                     (Student's t, n-1 df)

    which is R's ``forecast::dm.test(e, b, h=h, power=2 or 1)`` (autocovariances with the 1/n
    denominator of R's ``acf``). As there, a long-run variance that is not positive with h > 1
    falls back to h = 1 (``DMResult.h`` says which was used).

    Parameters
    ----------
    y_true, y_pred, baseline : array_like, shape (n,)
    h : int
        Forecast horizon, in steps; the autocovariances up to lag h - 1 enter the variance.
    loss : {"squared", "abs"}

    Returns
    -------
    DMResult
        ``stat`` and ``pvalue`` are NaN when the test is undefined: fewer than two days, or loss
        differences that do not vary (for instance a forecast equal to the baseline every day).
    """
    from scipy import stats

    y_true, y_pred = _pair(y_true, y_pred)
    baseline = _floats(baseline, "baseline")
    if baseline.shape != y_true.shape:
        raise ValueError(f"baseline must have the length of y_true, got {baseline.size} and {y_true.size}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
        raise ValueError(f"h must be a positive whole number, got {h!r}")
    e, b = y_pred - y_true, baseline - y_true
    d = e ** 2 - b ** 2 if loss == "squared" else np.abs(e) - np.abs(b)
    n, d_bar = d.size, float(np.mean(d))
    if n < 2 or h > n:
        return DMResult(math.nan, math.nan, d_bar, n, int(h))
    centred = d - d_bar
    gamma = [float(np.dot(centred[k:], centred[:n - k])) / n for k in range(h)]
    variance = (gamma[0] + 2 * sum(gamma[1:])) / n
    if not variance > 0 and h > 1:  # R's dm.test does the same, with a warning
        h, variance = 1, gamma[0] / n
    if not variance > 0:
        return DMResult(math.nan, math.nan, d_bar, n, int(h))
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = d_bar / math.sqrt(variance) * correction
    return DMResult(float(stat), float(2 * stats.t.sf(abs(stat), df=n - 1)), d_bar, n, int(h))


def verdict(dm, alpha=0.05, baseline="naive"):
    """One line saying what the Diebold–Mariano test found, e.g. ``"worse than naive (DM p = 0.003)"``.

    Parameters
    ----------
    dm : DMResult
    alpha : float
        Significance level of the two-sided test.
    baseline : str
        The name of the forecast the model was tested against.
    """
    if math.isnan(dm.pvalue):
        why = "too few days" if dm.n < 2 else f"its losses differ from {baseline}'s by a constant"
        if dm.n >= 2 and dm.mean_diff == 0:
            why = f"its losses equal {baseline}'s on every day"
        return f"no test possible ({why})"
    p = "DM p < 0.001" if dm.pvalue < 0.001 else f"DM p = {dm.pvalue:.3f}"
    if dm.pvalue >= alpha:
        return f"not distinguishable from {baseline} ({p})"
    return f"{'worse' if dm.mean_diff > 0 else 'better'} than {baseline} ({p})"
