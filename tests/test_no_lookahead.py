"""No look-ahead in cleaning (issue 19 item 12): a missing or non-positive price or feature value
is filled from the past only, so no test price can reach a training day.

Poisoning: two files equal up to the test period, one with the test prices missing, zero or
wild, give bit-identical training data, scalers, trained weights and forecasts of the training
period; and cleaning a file's first k rows gives the first rows of cleaning all of it."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_np.forecast.data import DataError, load_prices, split_series
from lstm_np.forecast.folds import fold_split, make_folds
from lstm_np.forecast.options import TrainOptions
from lstm_np.forecast.pipeline import forecast_paths, forecast_spec, train_model

from conftest import calm_walk

WINDOW, TEST = 5, 8


def frame(n=60, seed=0):
    p = calm_walk(n, seed)
    return pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "Close": p.astype(object), "Volume": (1e9 * (1 + p / p.max())).astype(object)})


def csv(tmp_path, table, name):
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("poison", [np.nan, 0, -1, 1e9])
def test_poisoned_test_prices_leave_the_training_run_bit_identical(tmp_path, poison):
    clean = frame()
    n = len(clean)
    clean.loc[n - TEST - 1, ["Close", "Volume"]] = None  # the last training day is missing
    poisoned = clean.copy()
    poisoned.loc[n - TEST:n - 2, "Close"] = poison        # every test price but the last
    poisoned.loc[n - TEST:n - 2, "Volume"] = np.nan
    runs = []
    for name, table in (("clean.csv", clean), ("poisoned.csv", poisoned)):
        series = load_prices(csv(tmp_path, table, name), features=["volume"])
        split = split_series(series, window=WINDOW, test_days=TEST, val_split=0.2)
        opts = TrainOptions(window=WINDOW, test_days=TEST, epochs=2, units=(3,), batch_size=8,
                            features=("close", "volume"), seed=1)
        model, _, history, _ = train_model(opts, split)
        val = forecast_paths(model, forecast_spec(opts, split), split.x_val, split.val_last)
        runs.append((series, split, model, history, val))
    (s1, a, m1, h1, v1), (s2, b, m2, h2, v2) = runs
    train_part = slice(0, n - TEST)
    assert s1.inputs[train_part].tobytes() == s2.inputs[train_part].tobytes()
    for key in ("x_train", "y_train", "x_val", "y_val", "val_last", "val_paths"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes(), key
    assert [s.to_dict() for s in a.scalers] == [s.to_dict() for s in b.scalers]
    assert h1.history == h2.history
    assert all(w1.tobytes() == w2.tobytes() for w1, w2 in zip(m1.get_weights(), m2.get_weights()))
    assert v1.tobytes() == v2.tobytes()


def test_a_poisoned_fold_leaves_the_earlier_folds_bit_identical(tmp_path):
    clean = frame(80)
    poisoned = clean.copy()
    folds = make_folds(len(clean), folds=2, test_days=TEST, window=WINDOW)
    first_test = folds[1].test_start                      # fold 2's test window
    clean.loc[first_test - 1, "Close"] = None              # fold 1's test ends on a gap
    poisoned.loc[first_test - 1, "Close"] = None
    poisoned.loc[first_test:first_test + 3, "Close"] = 0
    splits = [fold_split(load_prices(csv(tmp_path, t, f"{k}.csv")), folds[0], WINDOW)
              for k, t in enumerate((clean, poisoned))]
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "test_paths", "test_last"):
        assert getattr(splits[0], key).tobytes() == getattr(splits[1], key).tobytes(), key


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_cleaning_the_first_rows_gives_the_first_rows_of_cleaning_all(tmp_path_factory, data):
    """For any pattern of missing, zero and negative values, prices and volumes: the series
    cleaned from the file's first k rows is the start of the series cleaned from all of them."""
    n = 30
    table = frame(n, data.draw(st.integers(0, 5)))
    bad = st.sampled_from([None, 0, -3, "n/a"])
    for column in ("Close", "Volume"):
        for row in data.draw(st.lists(st.integers(0, n - 1), max_size=8), label=column):
            table.loc[row, column] = data.draw(bad)
    k = data.draw(st.integers(6, n - 1), label="k")
    folder = tmp_path_factory.mktemp("prefix")
    try:
        whole = load_prices(csv(folder, table, "all.csv"), features=["volume"])
        head = load_prices(csv(folder, table.iloc[:k], "head.csv"), features=["volume"])
    except DataError:
        return  # too much missing for one of them: refused in one sentence either way
    m = len(head.prices)
    assert head.dates.equals(whole.dates[:m])
    assert head.inputs.tobytes() == whole.inputs[:m].tobytes()
