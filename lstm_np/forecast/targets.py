"""What the network learns and how its outputs become prices: targets, input features,
multi-step paths and split-conformal intervals.

* **Targets** (``--target``): ``price`` (the tutorial's: the price itself), ``log-return``
  (``r_t = log(p_t / p_{t-1})``) or ``diff`` (``d_t = p_t - p_{t-1}``). :func:`to_target` maps
  prices to the target and :func:`to_prices` maps forecasts of it back to prices from the last
  observed price, compounding over the horizon (``p_{t+h} = p_{t+h-1} · exp(r_{t+h})`` or
  ``p_{t+h-1} + d_{t+h}``); the round trip is exact to rounding.
* **Features** (``--features``): the close in the target's terms is always the first input;
  ``open``, ``high`` and ``low`` are transformed like it, ``volume`` is taken on a log scale
  (``log1p``). Each is min-max scaled on the training part only (see :func:`.data.split_series`).
* **Intervals** (``--interval``): split-conformal, per horizon step, from the model's errors on
  windows it was not fitted on (the validation tail). :func:`conformal_widths` gives the widths,
  :func:`interval_bounds` the bands.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FEATURES", "PRICE_FEATURES", "STRATEGIES", "TARGETS", "ForecastSpec", "conformal_widths",
           "feature_values", "interval_bounds", "target_lag", "to_prices", "to_target"]

TARGETS = ("price", "log-return", "diff")
STRATEGIES = ("direct", "recursive")
PRICE_FEATURES = ("close", "open", "high", "low")  # prices: transformed like the target
FEATURES = (*PRICE_FEATURES, "volume")


def target_lag(target):
    """Leading prices a target needs before its first value: 0 for ``price``, else 1."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return 0 if target == "price" else 1


def to_target(prices, target):
    """Prices ``(n,)`` -> the target ``(n,)`` float64, NaN where it is undefined (the first
    value of a return or difference)."""
    prices = np.asarray(prices, dtype=np.float64)
    out = np.full(prices.shape, np.nan)
    if target == "price":
        out[...] = prices
    elif target == "log-return":
        out[1:] = np.log(prices[1:] / prices[:-1])
    elif target == "diff":
        out[1:] = prices[1:] - prices[:-1]
    else:
        target_lag(target)  # raises the one-sentence error
    return out


def to_prices(values, last, target):
    """Forecasts of the target -> prices, compounded from the last observed price.

    Parameters
    ----------
    values : array_like, shape (n, H)
        Target values for steps 1..H after each of ``n`` origins (unscaled).
    last : array_like, shape (n,)
        The price at each origin (ignored for ``target="price"``).
    target : str

    Returns
    -------
    numpy.ndarray, shape (n, H)
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if target == "price":
        return values.copy()
    last = np.asarray(last, dtype=np.float64).reshape(-1)
    out = np.empty_like(values)
    level = last.copy()
    for h in range(values.shape[1]):  # step by step, as the model's paths compound
        level = level * np.exp(values[:, h]) if target == "log-return" else level + values[:, h]
        out[:, h] = level
    return out


def feature_values(name, values, target):
    """One raw input column ``(n,)`` in the model's terms: price-like columns like the target,
    volume as ``log1p(volume)``."""
    if name == "volume":
        return np.log1p(np.asarray(values, dtype=np.float64))
    return to_target(values, target)


def conformal_widths(true, predicted, level, relative):
    """Split-conformal half-widths per horizon step.

    For each step ``h`` the score of a calibration window is ``|log(true / predicted)|``
    (``relative``) or ``|true - predicted|``; the width is its ``ceil((n + 1) level)``-th
    smallest value (Vovk et al.; Lei et al. 2018), which covers a new window's price with
    probability at least ``level`` if the calibration and new errors are exchangeable.

    Parameters
    ----------
    true, predicted : array_like, shape (n, H)
        Prices of ``n`` calibration windows.
    level : float
        Nominal coverage in (0, 1).
    relative : bool
        Score log ratios (widths are multiplicative) instead of dollars.

    Returns
    -------
    widths : list of float
        One per step.
    note : str
        ``""``, or why the widths are the largest scores (too few calibration windows).
    """
    true, predicted = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (true, predicted))
    scores = np.abs(np.log(true / predicted)) if relative else np.abs(true - predicted)
    n = len(scores)
    k = math.ceil((n + 1) * level)
    note = ""
    if k > n:
        note = (f"{n} calibration windows are too few for a {level:g} interval (it needs "
                f"{math.ceil(level / (1 - level))}); the widths are the largest errors, so "
                "coverage may fall short")
        k = n
    widths = np.sort(scores, axis=0)[k - 1]
    return [float(w) for w in widths], note


def interval_bounds(predicted, widths, relative):
    """``(low, high)`` around ``predicted`` ``(n, H)`` with the per-step ``widths``."""
    predicted = np.atleast_2d(np.asarray(predicted, dtype=np.float64))
    widths = np.asarray(widths, dtype=np.float64)[: predicted.shape[1]]
    if relative:
        return predicted * np.exp(-widths), predicted * np.exp(widths)
    return predicted - widths, predicted + widths


@dataclass
class ForecastSpec:
    """How a model's inputs are built and its outputs read: everything a model file needs
    besides its weights to forecast from raw prices.

    Attributes
    ----------
    kind : str
        ``lstm``, ``gru``, ``rnn`` or ``mlp``.
    window : int
        Input steps.
    target : str
        One of :data:`TARGETS`.
    horizon : int
        Steps the model forecasts from one origin.
    strategy : str
        ``direct`` (the network outputs all ``horizon`` steps) or ``recursive`` (a one-step
        network fed its own forecasts).
    features : tuple of str
        Input columns, ``close`` first.
    scalers : list of MinMaxScaler
        One per feature, fitted on the training part; ``scalers[0]`` scales the target.
    interval : float
        Nominal coverage of the intervals, 0 when there are none.
    widths : list of float
        Conformal half-width per step (log ratios if ``relative``, else dollars).
    relative : bool
        Whether ``widths`` are multiplicative (the log-return target) or in dollars.
    """

    kind: str
    window: int
    scalers: list
    target: str = "price"
    horizon: int = 1
    strategy: str = "direct"
    features: tuple = ("close",)
    interval: float = 0.0
    widths: list = field(default_factory=list)
    relative: bool = False

    @property
    def outputs(self):
        """Units of the output layer: ``horizon`` for direct models, else 1."""
        return self.horizon if self.strategy == "direct" else 1

    @property
    def lag(self):
        return target_lag(self.target)

    def to_dict(self):
        """Plain JSON values, for a model file's ``extra``."""
        return {"target": self.target, "horizon": self.horizon, "strategy": self.strategy,
                "features": list(self.features),
                "feature_scalers": [s.to_dict() for s in self.scalers],
                "interval": self.interval, "interval_widths": list(self.widths),
                "interval_relative": self.relative}

    @classmethod
    def from_extra(cls, extra, scaler_cls):
        """Rebuild from a model file's ``extra``; files from before targets, horizons and
        features hold a one-step price model on the close and no intervals."""
        window = int(extra["window"])
        scalers = [scaler_cls.from_dict(d) for d in extra.get("feature_scalers") or [extra["scaler"]]]
        return cls(kind=str(extra.get("model", "lstm")), window=window, scalers=scalers,
                   target=str(extra.get("target", "price")), horizon=int(extra.get("horizon", 1)),
                   strategy=str(extra.get("strategy", "direct")),
                   features=tuple(extra.get("features", ("close",))),
                   interval=float(extra.get("interval", 0.0) or 0.0),
                   widths=[float(w) for w in extra.get("interval_widths", [])],
                   relative=bool(extra.get("interval_relative", False)))
