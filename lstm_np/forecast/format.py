"""How the forecasting commands write numbers, dates and names: one helper per job."""
from __future__ import annotations

import math
import os

# pandas is imported by the two date helpers that need it: money() and plural() serve commands
# that never touch a date, and importing this module should not load pandas.

__all__ = ["format_date", "format_step", "file_name", "median_step", "money", "naive_name", "plural",
           "price_decimals", "price_scale", "rough_money", "whole_money"]


def price_decimals(scale=None, cents=2):
    """Decimals that show a price of the series' size: ``cents`` for prices of 1 and above (or
    an unknown ``scale``), else enough for 4 significant digits of a price of ``scale``
    (``1.2e-5`` -> 8: ``0.00001234``), so a tiny asset's errors do not all print as 0.00."""
    if scale is None or not math.isfinite(scale) or abs(scale) >= 1 or scale == 0:
        return cents
    return 3 + math.ceil(-math.log10(abs(scale)))


def price_scale(prices):
    """The size of a series' prices that :func:`money` formats for: their median."""
    import numpy as np

    return float(np.median(np.abs(np.asarray(prices, dtype=np.float64))))


def money(value, scale=None):
    """``60123.449`` -> ``"60,123.45"``; ``scale`` (:func:`price_scale` of the series) decides the
    decimals (:func:`price_decimals`): ``money(0.0000123456, 1.2e-5)`` -> ``"0.00001235"``."""
    return f"{value:,.{price_decimals(scale)}f}"


def whole_money(value, scale=None):
    """A price for a label or tick: ``"60,123"`` for prices of 1 and above, else as :func:`money`."""
    return f"{value:,.{price_decimals(scale, cents=0)}f}"


def rough_money(value):
    """A price for a sentence: ``60123.4`` -> ``"60,123"``, ``0.123456`` -> ``"0.1235"``."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def plural(count, noun):
    """``plural(1, "seed")`` -> ``"1 seed"``, ``plural(1200, "row")`` -> ``"1,200 rows"``,
    ``plural(2, "process")`` -> ``"2 processes"``, ``plural(2, "epoch")`` -> ``"2 epochs"``."""
    if count == 1:
        return f"{count:,} {noun}"
    return f"{count:,} {noun}" + ("es" if noun.endswith(("s", "x")) else "s")


def naive_name(horizon):
    """What the naive forecast is, in a table: tomorrow = today for one step ahead; beyond it,
    every step of the horizon is the last price seen at the forecast's origin."""
    return "naive (tomorrow = today)" if horizon == 1 else "naive (the origin's price)"


def format_date(stamp, dates=None):
    """``2021-10-27`` for dates at midnight, ``2021-10-27 13:15`` (plus the zone) otherwise.

    ``dates`` (the whole index) decides, so a daily series prints every date the same way.
    """
    import pandas as pd

    dates = pd.DatetimeIndex([stamp] if dates is None else dates)
    midnight = bool((dates == dates.normalize()).all()) and dates.tz is None
    stamp = pd.Timestamp(stamp)
    return stamp.strftime("%Y-%m-%d") if midnight else stamp.strftime("%Y-%m-%d %H:%M %Z").strip()


def median_step(dates):
    """The series' usual step between prices as a ``pandas.Timedelta`` (1 day for daily data;
    0 for fewer than two dates)."""
    import pandas as pd

    dates = pd.DatetimeIndex(dates)
    return (dates[1:] - dates[:-1]).median() if len(dates) > 1 else pd.Timedelta(0)


def format_step(step):
    """``Timedelta(minutes=15)`` -> ``"0:15:00"``, a week -> ``"7 days, 0:00:00"``."""
    return str(step.to_pytimedelta())


def file_name(source):
    """The file name of a path or URL: ``https://x.org/a/btc.csv?v=2`` -> ``btc.csv``."""
    text = os.fspath(source)
    return text.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or text
