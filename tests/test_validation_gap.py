"""Validation windows that judge the model share no target with its training windows, and with
--patience the intervals are calibrated on windows early stopping did not choose the weights on
(issue 19 item 14)."""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_np.forecast.data import PriceSeries, split_series
from lstm_np.forecast.options import TrainOptions
from lstm_np.forecast.pipeline import calibration_tail, run_once


def rising(n):
    """Prices 1..n: each target value names its position."""
    return PriceSeries(dates=pd.date_range("2021-01-01", periods=n, freq="D"),
                       prices=np.arange(1.0, n + 1), source="rising", column="Close")


def targets(split, y):
    return set(np.round(split.scaler.inverse_transform(y)).astype(int).ravel().tolist())


@settings(max_examples=40, deadline=None)
@given(window=st.integers(1, 6), horizon=st.integers(1, 5), val_split=st.floats(0.1, 0.6),
       n=st.integers(40, 80))
def test_no_validation_target_is_a_training_target(window, horizon, val_split, n):
    split = split_series(rising(n), window=window, test_days=horizon, val_split=val_split,
                         horizon=horizon)
    assert not targets(split, split.y_train) & targets(split, split.y_val)
    stopping, calibration = calibration_tail(split)
    if stopping is not split:
        assert not targets(split, stopping.y_val) & targets(split, calibration.y_val)
        assert not targets(split, split.y_train) & targets(split, calibration.y_val)
        assert len(stopping.x_val) + len(calibration.x_val) + horizon - 1 == len(split.x_val)
        assert calibration.val_paths.tolist() == split.val_paths[-len(calibration.x_val):].tolist()


def test_the_gap_is_horizon_minus_one_windows():
    for horizon in (1, 2, 4):
        split = split_series(rising(60), window=5, test_days=4, val_split=0.2, horizon=horizon)
        last_train = split.scaler.inverse_transform(split.y_train[-1]).round()
        first_val = split.scaler.inverse_transform(split.y_val[0]).round()
        assert first_val[0] == last_train[-1] + 1      # adjacent targets, none shared
        assert ("between the training and validation windows left out" in " ".join(split.notes)) \
            == (horizon > 1)


def test_with_patience_the_intervals_are_calibrated_on_the_tail_only():
    rng = np.random.default_rng(0)
    n = 90
    series = PriceSeries(dates=pd.date_range("2021-01-01", periods=n, freq="D"),
                         prices=100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), source="walk",
                         column="Close")
    split = split_series(series, window=5, test_days=6, val_split=0.3, horizon=2)
    opts = TrainOptions(window=5, test_days=6, epochs=3, units=(3,), batch_size=16, horizon=2,
                        patience=1, interval=0.8, model="mlp")
    run = run_once(opts, split)
    stopping, calibration = calibration_tail(split)
    assert run.n_calibration == len(calibration.x_val) < len(split.x_val)
    without = run_once(TrainOptions(**{**opts.__dict__, "patience": None}), split)
    assert without.n_calibration == len(split.x_val)
