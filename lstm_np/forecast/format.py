"""How the forecasting commands write numbers, dates and names: one helper per job."""
from __future__ import annotations

import os

# pandas is imported by the two date helpers that need it: money() and plural() serve commands
# that never touch a date, and importing this module should not load pandas.

__all__ = ["format_date", "format_step", "file_name", "median_step", "money", "naive_name", "plural",
           "rough_money"]


def money(value):
    """``60123.449`` -> ``"60,123.45"``."""
    return f"{value:,.2f}"


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
