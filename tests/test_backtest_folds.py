"""The backtest's folds (``lstm_np.forecast.folds``) and the absence of leakage across them.

Contract: K consecutive, non-overlapping test windows, the last ending with the data; expanding
or rolling training parts; and a fold learns nothing from its own test window or anything after
it — poisoning a fold's test window with absurd prices leaves that fold's scaler, training and
validation windows and first forecast unchanged, and every earlier fold's forecasts too.
"""
import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast.data import DataError, PriceSeries, split_series
from lstm_np.forecast.backtest import FoldTask, run_fold
from lstm_np.forecast.folds import Fold, fold_seed, fold_series, fold_split, make_folds
from lstm_np.forecast.options import TrainOptions

N, K, T, W = 150, 3, 10, 5
OPTIONS = TrainOptions(window=W, epochs=1, units=(4,), batch_size=16, val_split=0.2)


def make_series(prices):
    return PriceSeries(dates=pd.date_range("2021-01-01", periods=len(prices), freq="D"),
                       prices=np.asarray(prices, dtype=np.float64), source="synthetic", column="Close")


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    return make_series(30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, N))))


# --------------------------------------------------------------------------- layout ---

def test_expanding_folds_tile_the_end_of_the_series():
    assert make_folds(N, folds=K, test_days=T, window=W) == [
        Fold(1, 0, 120, 130), Fold(2, 0, 130, 140), Fold(3, 0, 140, 150)]


def test_rolling_folds_train_on_the_last_train_days_before_each_window():
    folds = make_folds(N, folds=K, test_days=T, train_days=50, window=W)
    assert folds == [Fold(1, 70, 120, 130), Fold(2, 80, 130, 140), Fold(3, 90, 140, 150)]
    assert {f.train_days for f in folds} == {50}


def test_a_fold_is_the_train_commands_split_of_the_series_cut_after_its_test_window(series):
    fold = Fold(2, 0, 130, 140)
    split = fold_split(series, fold, window=W, val_split=0.2)
    reference = split_series(make_series(series.prices[:140]), window=W, test_days=T, val_split=0.2)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "test_prices", "naive"):
        np.testing.assert_array_equal(getattr(split, name), getattr(reference, name))
    assert list(split.test_dates) == list(series.dates[130:140])
    np.testing.assert_array_equal(split.naive, series.prices[129:139])  # yesterday's prices


def test_rolling_fold_sees_only_its_train_days(series):
    fold = Fold(1, 70, 120, 130)
    assert len(fold_series(series, fold).prices) == 60
    split = fold_split(series, fold, window=W, val_split=0.2)
    assert split.scaler.data_max_ == series.prices[70:120].max()
    assert split.scaler.data_min_ == series.prices[70:120].min()


def test_too_short_a_series_is_a_clear_error():
    with pytest.raises(DataError, match="150 prices; 15 folds of 10 test days leave 0 training prices"):
        make_folds(N, folds=15, test_days=T, window=W)
    with pytest.raises(DataError, match="--train-days 6 is too short for --window 5"):
        make_folds(N, folds=K, test_days=T, train_days=6, window=W)
    with pytest.raises(DataError, match="after 121 training days need 151"):
        make_folds(N, folds=K, test_days=T, train_days=121, window=W)
    assert make_folds(37, folds=3, test_days=T, window=W)[0].train_days == 7   # window + 2
    with pytest.raises(DataError, match="leave 7 training prices"):  # a return needs one more
        make_folds(37, folds=3, test_days=T, window=W, lag=1)
    with pytest.raises(DataError, match="folds must be a positive whole number"):
        make_folds(N, folds=0, test_days=T, window=W)


def test_fold_seeds_differ_between_folds_and_repeat_for_a_pair():
    seeds = {fold_seed(s, f) for s in range(3) for f in range(1, 11)}
    assert len(seeds) == 30
    assert fold_seed(2, 7) == fold_seed(2, 7)


# -------------------------------------------------------------------------- leakage ---

@pytest.mark.parametrize("train_days", [None, 60])
def test_poisoning_a_test_window_changes_nothing_that_fold_or_earlier_folds_learned(series, train_days):
    folds = make_folds(N, folds=K, test_days=T, train_days=train_days, window=W)
    target = folds[1]  # poison fold 2's test window with absurd prices
    poisoned = make_series(series.prices.copy())
    poisoned.prices[target.test_start:target.test_end] = 1e12

    clean_split = fold_split(series, target, W, OPTIONS.val_split)
    bad_split = fold_split(poisoned, target, W, OPTIONS.val_split)
    assert bad_split.scaler.to_dict() == clean_split.scaler.to_dict()
    for name in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(bad_split, name), getattr(clean_split, name))
    np.testing.assert_array_equal(bad_split.x_test[0], clean_split.x_test[0])  # first input

    task = FoldTask("lstm", target, 0, OPTIONS)
    clean, bad = run_fold(task, series)["y_pred"], run_fold(task, poisoned)["y_pred"]
    assert bad[0] == clean[0]                      # the first forecast of the poisoned fold
    assert not np.array_equal(bad[1:], clean[1:])  # later ones see the poison as inputs: the test bites
    earlier = FoldTask("lstm", folds[0], 0, OPTIONS)
    np.testing.assert_array_equal(run_fold(earlier, poisoned)["y_pred"], run_fold(earlier, series)["y_pred"])
    # the next fold trains on the poisoned prices, so its scaler must change: the poison is real
    assert fold_split(poisoned, folds[2], W, OPTIONS.val_split).scaler.data_max_ == 1e12
