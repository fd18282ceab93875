"""Spec for lstm_np.forecast.data: loading and cleaning price CSVs, scaling, windows, the leak-free split."""

import json
import math
import os
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstm_np.forecast.data import (
    BUNDLED, DataError, MinMaxScaler, PriceSeries, Split,
    bundled_path, describe, load_prices, make_windows, split_series,
)


def write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def series(prices, start="2021-01-01"):
    prices = np.asarray(prices, dtype=np.float64)
    dates = pd.date_range(start, periods=len(prices), freq="D")
    return PriceSeries(dates=dates, prices=prices, source="test", column="Close", notes=[])


# ------------------------------------------------------------ CSV layouts ---

@pytest.mark.parametrize("header", ["Close", "close", "Adj Close", "Price", "CLOSE", "price"])
def test_each_accepted_price_column(tmp_path, header):
    s = load_prices(write(tmp_path, f"Date,{header}\n2021-01-01,10\n2021-01-02,11\n2021-01-03,12\n"))
    assert s.column == header
    assert s.prices.tolist() == [10.0, 11.0, 12.0]
    assert s.prices.dtype == np.float64 and s.notes == []


def test_close_is_preferred_over_adj_close_and_exact_over_case_insensitive(tmp_path):
    s = load_prices(write(tmp_path, "Date,Adj Close,CLOSE,Close\n2021-01-01,1,2,3\n2021-01-02,1,2,3\n"))
    assert s.column == "Close" and s.prices[0] == 3.0


def test_column_argument_picks_any_column_case_insensitively(tmp_path):
    path = write(tmp_path, "Date,Open,Close\n2021-01-01,5,10\n2021-01-02,6,11\n")
    assert load_prices(path, column="Open").prices.tolist() == [5.0, 6.0]
    assert load_prices(path, column="open").column == "Open"


@pytest.mark.parametrize("header", ["Date", "date", "day", "Datetime", "timestamp", "DATE", "Timestamp"])
def test_each_accepted_date_column(tmp_path, header):
    s = load_prices(write(tmp_path, f"{header},Close\n2021-01-01,10\n2021-01-02,11\n"))
    assert list(s.dates) == [pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-02")]


def test_yyyymmdd_numbers_are_dates_not_unix_seconds(tmp_path):
    s = load_prices(write(tmp_path, "Date,Close\n20211027,1\n20211028,2\n"))
    assert s.dates[0] == pd.Timestamp("2021-10-27")


def test_date_column_argument(tmp_path):
    path = write(tmp_path, "when,Date,Close\n2021-01-01,x,10\n2021-01-02,y,11\n")
    assert load_prices(path, date_column="when").dates[1] == pd.Timestamp("2021-01-02")


@pytest.mark.parametrize("scale", [1, 1000])  # unix seconds, and milliseconds
def test_unix_timestamps(tmp_path, scale):
    t0 = 1609459200  # 2021-01-01T00:00:00Z
    rows = "".join(f"{(t0 + k * 86400) * scale},{100 + k}\n" for k in range(3))
    s = load_prices(write(tmp_path, "timestamp,close\n" + rows))
    assert s.dates[0] == pd.Timestamp("2021-01-01") and s.dates[2] == pd.Timestamp("2021-01-03")


def test_timezone_aware_strings(tmp_path):
    s = load_prices(write(tmp_path, "Datetime,Close\n2021-09-27 14:45:00+01:00,1\n2021-09-27 15:00:00+01:00,2\n"))
    assert s.dates.tz is not None
    assert s.dates[0] == pd.Timestamp("2021-09-27 13:45", tz="UTC")


def test_mixed_utc_offsets_become_utc(tmp_path):
    text = "Datetime,Close\n2021-10-30 23:45:00+01:00,1\n2021-10-31 00:00:00+00:00,2\n"
    s = load_prices(write(tmp_path, text))
    assert str(s.dates.tz) == "UTC"
    assert "timestamps had mixed UTC offsets; converted to UTC" in s.notes


def test_newest_first_is_sorted_and_noted(tmp_path):
    s = load_prices(write(tmp_path, "Date,Close\n2021-01-03,3\n2021-01-02,2\n2021-01-01,1\n"))
    assert s.prices.tolist() == [1.0, 2.0, 3.0]
    assert s.dates.is_monotonic_increasing
    assert "rows were newest-first; sorted by date" in s.notes


def test_thousands_separators_and_dollar_signs(tmp_path):
    text = 'Date,Close\n2021-01-01,"19,248.8"\n2021-01-02,"$60,363.79"\n2021-01-03, $ 7 \n'
    assert load_prices(write(tmp_path, text)).prices.tolist() == [19248.8, 60363.79, 7.0]


def test_duplicate_dates_keep_the_last_row(tmp_path):
    text = "Date,Close\n2021-01-01,1\n2021-01-02,2\n2021-01-02,22\n2021-01-03,3\n2021-01-03,33\n"
    s = load_prices(write(tmp_path, text))
    assert s.prices.tolist() == [1.0, 22.0, 33.0]
    assert "2 duplicate dates dropped (kept the last row)" in s.notes


@pytest.mark.parametrize("bad", ["", "null", "NaN", "0", "-5", "n/a", "abc"])
def test_missing_and_non_positive_prices_take_the_price_before_them(tmp_path, bad):
    s = load_prices(write(tmp_path, f"Date,Close\n2021-01-01,10\n2021-01-02,{bad}\n2021-01-03,30\n"))
    assert s.prices.tolist() == [10.0, 10.0, 30.0]
    assert s.notes == ["1 missing price filled with the price before it"]


def test_a_filled_price_never_uses_a_later_one(tmp_path):
    # Forward fill, not interpolation: the price after the gap (400) must not reach it.
    s = load_prices(write(tmp_path, "Date,Close\n2021-01-01,100\n2021-01-02,\n2021-01-05,400\n"))
    assert s.prices.tolist() == [100.0, 100.0, 400.0]


def test_leading_and_trailing_missing_prices_are_dropped(tmp_path):
    text = "Date,Close\n2021-01-01,\n2021-01-02,2\n2021-01-03,3\n2021-01-04,4\n2021-01-05,null\n"
    s = load_prices(write(tmp_path, text))
    assert s.prices.tolist() == [2.0, 3.0, 4.0]
    assert s.dates[0] == pd.Timestamp("2021-01-02")
    assert "2 leading/trailing missing prices dropped" in s.notes


def test_unparsable_dates_are_dropped_and_counted(tmp_path):
    s = load_prices(write(tmp_path, "Date,Close\n2021-01-01,1\nsoon,2\n2021-01-02,3\n"))
    assert s.prices.tolist() == [1.0, 3.0]
    assert "1 row with unparsable dates dropped" in s.notes


def test_stock_like_file_counts_weekend_gaps(tmp_path):
    days = pd.bdate_range("2021-01-04", periods=10)  # Mon..Fri twice: one weekend inside
    rows = "".join(f"{d:%Y-%m-%d},{100 + k}.5,{101 + k},{99 + k},{100 + k},123456\n" for k, d in enumerate(days))
    s = load_prices(write(tmp_path, "Date,Open,High,Low,Close,Volume\n" + rows, "ETH-USD.csv"))
    assert s.column == "Close" and len(s.prices) == 10
    assert "2 calendar gaps (missing days)" in s.notes
    assert describe(s) == "ETH-USD.csv: 10 daily prices from 2021-01-04 to 2021-01-15 (Close)"


def test_intraday_gaps_are_steps_longer_than_one_and_a_half_medians(tmp_path):
    times = ["09:00", "09:15", "09:30", "10:30", "10:45"]
    rows = "".join(f"2021-01-01 {t},{k + 1}\n" for k, t in enumerate(times))
    s = load_prices(write(tmp_path, "Datetime,Close\n" + rows))
    assert s.notes == ["1 calendar gap (steps longer than 1.5 times the median 0:15:00)"]


def test_semicolon_separated_file(tmp_path):
    assert load_prices(write(tmp_path, "Date;Close\n2021-01-01;1\n2021-01-02;2\n")).prices.tolist() == [1.0, 2.0]


# ---------------------------------------------------------- bundled files ---

def test_bundled_daily_btc():
    s = load_prices()
    assert len(s.prices) == 666  # 2020-01-01..2021-10-27 inclusive, no day missing
    assert s.dates[0] == pd.Timestamp("2020-01-01") and s.dates[-1] == pd.Timestamp("2021-10-27")
    assert s.notes == ["4 missing prices filled with the price before it"]
    assert s.source == "btc-daily" and s.column == "Close"
    assert np.isfinite(s.prices).all() and (s.prices > 0).all()
    k = s.dates.get_loc(pd.Timestamp("2020-04-17"))  # one of the null rows
    assert s.prices[k] == s.prices[k - 1]
    assert describe(s) == "BTC-USD-1-DAY.csv: 666 daily prices from 2020-01-01 to 2021-10-27 (Close)"
    assert load_prices("btc-daily").prices.tolist() == s.prices.tolist()


def test_bundled_15_minute_btc():
    s = load_prices("btc-15min")
    assert str(s.dates.tz) == "UTC" and s.dates.is_unique and s.dates.is_monotonic_increasing
    assert len(s.prices) == 8689  # 8,721 rows less 32 overlapping duplicates
    assert (s.prices > 0).all()
    assert describe(s).startswith("BTC-USD-15-MIN.csv: 8,689 prices every 0:15:00 from 2021-09-27 13:45 UTC")


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_path_reads_with_pandas(name):
    assert "Close" in pd.read_csv(bundled_path(name)).columns


# ------------------------------------------------------------ bad input ---

def message(source, **kwargs):
    with pytest.raises(DataError) as info:
        load_prices(source, **kwargs)
    text = str(info.value)
    assert "Traceback" not in text and "\n" not in text
    return text


def test_missing_file(tmp_path):
    assert "does not exist" in message(tmp_path / "nope.csv")


def test_directory(tmp_path):
    assert "directory" in message(tmp_path)


def test_unreachable_url():
    assert "could not download" in message("http://127.0.0.1:9/prices.csv")


def test_unknown_bundled_name():
    with pytest.raises(DataError, match="btc-daily"):
        bundled_path("eth-daily")


def test_empty_file(tmp_path):
    assert "is empty" in message(write(tmp_path, ""))


def test_header_only(tmp_path):
    assert "no data rows" in message(write(tmp_path, "Date,Close\n"))


def test_binary_file_is_not_a_csv(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(bytes(range(256)) * 20)
    assert "as a CSV file" in message(path)


def test_no_price_column_lists_found_and_accepted_names(tmp_path):
    text = message(write(tmp_path, "Date,Open,Volume\n2021-01-01,1,2\n"))
    assert "prices.csv has no price column" in text
    assert "Open, Volume" in text and "Close, close, Adj Close, Price" in text and "--column" in text


def test_named_price_column_not_found(tmp_path):
    text = message(write(tmp_path, "Date,Close\n2021-01-01,1\n"), column="Last")
    assert "no column 'Last'" in text and "Date, Close" in text


def test_no_date_column(tmp_path):
    text = message(write(tmp_path, "when,Close\n2021-01-01,1\n"))
    assert "no date column" in text and "--date-column" in text and "when" in text


def test_no_readable_dates(tmp_path):
    text = message(write(tmp_path, "Date,Close\nmonday,1\ntuesday,2\n"))
    assert "could be read as a date" in text and "'monday'" in text


def test_more_than_half_missing(tmp_path):
    text = message(write(tmp_path, "Date,Close\n2021-01-01,1\n2021-01-02,\n2021-01-03,x\n2021-01-04,0\n"))
    assert "3 of 4" in text and "missing" in text


def test_fewer_than_two_rows(tmp_path):
    assert "at least 2" in message(write(tmp_path, "Date,Close\n2021-01-01,1\n"))


def test_same_date_and_price_column(tmp_path):
    assert "both" in message(write(tmp_path, "Date,Close\n2021-01-01,1\n"), column="Date", date_column="Date")


@given(st.text(alphabet="Date,Close\n0123456789-.:$ \"x", max_size=120))
def test_any_text_loads_or_raises_data_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fuzz.csv")
        with open(path, "w") as handle:
            handle.write(text)
        try:
            s = load_prices(path)
        except DataError:
            return
    assert len(s.prices) >= 2 and (s.prices > 0).all() and s.dates.is_unique


# ---------------------------------------------------------------- scaler ---

def test_scaler_matches_the_min_max_formula():
    x = np.array([3.0, 7.0, 5.0, 11.0])
    scaler = MinMaxScaler(feature_range=(-1, 1)).fit(x)
    assert (scaler.data_min_, scaler.data_max_) == (3.0, 11.0)
    np.testing.assert_allclose(scaler.transform(x), (x - 3) / 8 * 2 - 1)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x)), x)


def test_scaler_constant_series_does_not_divide_by_zero():
    scaler = MinMaxScaler()
    assert scaler.fit_transform([4.0, 4.0]).tolist() == [0.0, 0.0]
    assert scaler.inverse_transform([0.0]).tolist() == [4.0]


def test_scaler_dict_round_trip_is_plain_json():
    scaler = MinMaxScaler().fit(np.array([2.0, 9.5]))
    d = json.loads(json.dumps(scaler.to_dict()))
    again = MinMaxScaler.from_dict(d)
    assert type(d["data_min"]) is float and again.data_max_ == 9.5
    assert again.transform([5.0]).tolist() == scaler.transform([5.0]).tolist()


def test_scaler_must_be_fitted():
    with pytest.raises(RuntimeError, match="fit"):
        MinMaxScaler().transform([1.0])


@given(hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(1e-3, 1e6)))
def test_scaler_inverse_undoes_transform(x):
    scaler = MinMaxScaler()
    scaled = scaler.fit_transform(x)
    assert scaled.min() >= -1e-12 and scaled.max() <= 1 + 1e-12
    np.testing.assert_allclose(scaler.inverse_transform(scaled), x, rtol=1e-9)


# --------------------------------------------------------------- windows ---

def slow_windows(values, window):
    X = [[[values[k + j]] for j in range(window)] for k in range(len(values) - window)]
    y = [[values[k + window]] for k in range(len(values) - window)]
    return np.array(X, dtype=np.float64).reshape(-1, window, 1), np.array(y, dtype=np.float64).reshape(-1, 1)


@given(st.integers(1, 40).flatmap(lambda length: st.tuples(
    hnp.arrays(np.float64, length, elements=st.floats(-1e3, 1e3)), st.integers(1, length))))
def test_make_windows_equals_the_slow_loop(case):
    values, window = case
    X, y = make_windows(values, window)
    X_ref, y_ref = slow_windows(values, window)
    assert X.shape == (len(values) - window, window, 1) and y.shape == (len(values) - window, 1)
    assert X.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("values, window", [(np.ones((4, 1, 1)), 2), (np.ones(3), 4), (np.ones(3), 0)])
def test_make_windows_rejects_bad_input(values, window):
    with pytest.raises(ValueError):
        make_windows(values, window)


# ----------------------------------------------------------------- split ---

def test_bundled_split_with_defaults():
    s = load_prices()
    split = split_series(s)
    assert isinstance(split, Split)
    n_windows = len(s.prices) - 60 - 60  # 546 windows from the 606 training prices
    n_fit = math.floor(n_windows * 0.9)
    assert split.x_train.shape == (n_fit, 60, 1) and split.y_train.shape == (n_fit, 1)
    assert split.x_val.shape == (n_windows - n_fit, 60, 1) and split.y_val.shape == (n_windows - n_fit, 1)
    assert split.x_test.shape == (60, 60, 1) and split.y_test.shape == (60, 1)
    assert len(split.test_dates) == len(split.test_prices) == len(split.naive) == 60
    assert split.test_dates[-1] == pd.Timestamp("2021-10-27")
    np.testing.assert_array_equal(split.test_prices, s.prices[-60:])
    assert split.scaler.data_max_ == s.prices[:-60].max()
    assert split.scaler.data_min_ == s.prices[:-60].min()
    assert split.notes == ["test prices reach 65,993, above the training maximum 63,503: the scaled inputs exceed 1"]


def test_no_train_or_val_window_touches_a_test_target():
    # Prices 1..n identify their own index, so every array can be traced back to positions.
    n, window, test_days = 50, 7, 9
    split = split_series(series(np.arange(1.0, n + 1)), window=window, test_days=test_days, val_split=0.25)
    index = lambda a: np.rint(split.scaler.inverse_transform(a)).astype(int) - 1
    first_test = n - test_days
    for a in (split.x_train, split.y_train, split.x_val, split.y_val):
        assert index(a).max() < first_test
    assert index(split.y_val)[0, 0] == index(split.y_train)[-1, 0] + 1  # validation is the chronological tail
    assert index(split.y_val)[-1, 0] == first_test - 1
    np.testing.assert_array_equal(index(split.y_test).ravel(), np.arange(first_test, n))
    assert index(split.x_test)[0, 0, 0] == first_test - window  # test inputs may reach into training prices
    assert "above the training maximum 41" in split.notes[0]


def test_scaler_and_training_data_ignore_test_prices():
    prices = 100 + np.sin(np.arange(80.0)) * 10
    wild = prices.copy()
    wild[-10:] *= 1000
    a, b = (split_series(series(p), window=5, test_days=10) for p in (prices, wild))
    assert a.scaler.to_dict() == b.scaler.to_dict()
    assert a.scaler.data_max_ == prices[:-10].max()
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_naive_forecast_is_the_previous_true_price():
    prices = np.linspace(10, 50, 40) + np.cos(np.arange(40.0))
    split = split_series(series(prices), window=4, test_days=6)
    np.testing.assert_array_equal(split.naive, prices[-7:-1])
    np.testing.assert_allclose(split.scaler.inverse_transform(split.x_test[:, -1, 0]), split.naive)
    np.testing.assert_allclose(split.scaler.inverse_transform(split.y_test[:, 0]), split.test_prices)


def test_zero_val_split_gives_empty_validation():
    split = split_series(series(np.arange(1.0, 21)), window=3, test_days=2, val_split=0.0)
    assert split.x_val.shape == (0, 3, 1) and split.y_val.shape == (0, 1)
    assert split.x_train.shape == (15, 3, 1)


@pytest.mark.parametrize("kwargs, words", [
    ({"window": 0}, "window"), ({"window": 2.5}, "window"), ({"window": True}, "window"),
    ({"test_days": 0}, "test_days"), ({"val_split": 1.0}, "val_split"), ({"val_split": -0.1}, "val_split"),
    ({"window": 10, "test_days": 9}, "has 20 prices"), ({"window": 10, "test_days": 9}, "at least 21"),
])
def test_split_rejects_bad_arguments(kwargs, words):
    with pytest.raises(DataError, match=words):
        split_series(series(np.arange(1.0, 21)), **kwargs)


def test_smallest_series_that_splits():
    split = split_series(series(np.arange(1.0, 21)), window=10, test_days=8, val_split=0.0)
    assert len(split.x_train) == 2 and len(split.x_test) == 8
