"""Forecasting beyond tomorrow (issue 10): targets, horizons, features, early stopping,
conformal intervals and ``predict --days``, each checked against an answer known in advance.

* a target's inverse mapping is exact (1e-9 in float64), through the scalers and the split too;
* on a noiseless periodic series a direct 5-step model beats naive at every step by far;
* on independent noise, 90% split-conformal intervals cover close to 90% of many origins;
* EarlyStopping follows Keras's rules and restores exactly the best epoch's weights;
* models saved with every new option load and predict identically; old files still work;
* ``predict --days 7 --json`` gives seven dated forecasts after the last row, low <= forecast <= high.
"""
import json

import numpy as np
import pandas as pd
import pytest

from lstm_np import LSTM, Dense, EarlyStopping, Sequential, load_model
from lstm_np.forecast import predict, train
from lstm_np.forecast.data import DataError, PriceSeries, load_prices, make_windows, split_series
from lstm_np.forecast.options import TrainOptions
from lstm_np.forecast.pipeline import (calibrate, evaluate, forecast_paths, forecast_spec,
                                       model_spec, read_model, save_model, train_model)
from lstm_np.forecast.targets import conformal_widths, interval_bounds, to_prices, to_target

from test_cli import assert_user_error, days, run, write_csv, yahoo

TINY = ["--window", "5", "--test-days", "8", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]


def series_of(prices, freq="D"):
    dates = pd.date_range("2020-01-01", periods=len(prices), freq=freq)
    return PriceSeries(dates=dates, prices=np.asarray(prices, dtype=np.float64), source="memory",
                       column="Close")


def random_walk(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))


# ------------------------------------------------------------------ targets ---

@pytest.mark.parametrize("target", ["price", "log-return", "diff"])
def test_target_round_trip_is_exact(target):
    prices = random_walk(500)
    z = to_target(prices, target)
    assert np.isnan(z[0]) == (target != "price")
    # From the first price, compounding every later target value gives every later price.
    back = to_prices(z[None, 1:], prices[:1], target)[0]
    np.testing.assert_allclose(back, prices[1:], rtol=1e-9, atol=0)
    # From each origin, the next 7 targets give the next 7 prices.
    t = np.arange(1, 490)
    paths = to_prices(z[t[:, None] + np.arange(1, 8)], prices[t], target)
    np.testing.assert_allclose(paths, prices[t[:, None] + np.arange(1, 8)], rtol=1e-9, atol=0)


@pytest.mark.parametrize("target", ["price", "log-return", "diff"])
def test_split_targets_map_back_to_the_true_prices(target):
    """Scaled y of every window, unscaled and compounded from its origin, are its true prices."""
    split = split_series(series_of(random_walk(200)), window=10, test_days=20, val_split=0.2,
                         target=target, horizon=4)
    scaler = split.scalers[0]
    for y, last, true in ((split.y_test, split.test_last, split.test_paths),
                          (split.y_val, split.val_last, split.val_paths)):
        np.testing.assert_allclose(to_prices(scaler.inverse_transform(y), last, target), true,
                                   rtol=1e-9, atol=0)
    assert split.y_train.shape[1] == split.y_test.shape[1] == 4
    assert len(split.x_test) == 20 - 4 + 1  # every origin with 4 test prices after it
    # The scaler saw only the training part (training and validation windows): it spans [0, 1].
    train_scaled = np.concatenate([split.x_train[0, :, 0], split.y_train.ravel(), split.y_val.ravel()])
    assert train_scaled.min() == pytest.approx(0) and train_scaled.max() == pytest.approx(1)


def test_horizon_one_price_split_is_the_tutorials():
    s = series_of(random_walk(120))
    split = split_series(s, window=10, test_days=15, val_split=0.1)
    x, y = make_windows(split.scaler.transform(s.prices[:105]), 10)
    n_fit = int(np.floor(len(x) * 0.9))
    np.testing.assert_array_equal(split.x_train, x[:n_fit])
    np.testing.assert_array_equal(split.y_train, y[:n_fit])
    np.testing.assert_array_equal(split.test_paths[:, 0], split.test_prices)
    np.testing.assert_array_equal(split.naive_paths[:, 0], split.naive)


def test_multivariate_windows_scale_each_feature_on_training_rows_only(tmp_path):
    n = 120
    frame = yahoo(n)
    frame.loc[n - 10:, "Volume"] = 1e15  # an absurd test-period volume must not move the scaler
    frame["Volume"] = frame["Volume"] * np.linspace(1, 3, n)
    path = write_csv(tmp_path / "prices.csv", frame)
    s = load_prices(path, features=("close", "volume", "high"))
    assert s.feature_names == ("close", "volume", "high") and s.features.shape == (n, 3)
    split = split_series(s, window=5, test_days=10, target="log-return")
    assert split.x_train.shape[2] == 3
    volume = split.scalers[1]
    assert volume.data_max_ == pytest.approx(np.log1p(1e9 * np.linspace(1, 3, n)[n - 11]))
    assert split.x_test[-1, -1, 1] > 1  # the absurd volume lies outside the training range


def test_missing_feature_column_names_the_columns_found(tmp_path):
    path = write_csv(tmp_path / "prices.csv", pd.DataFrame({"date": days(40).strftime("%Y-%m-%d"),
                                                            "close": random_walk(40)}))
    with pytest.raises(DataError, match=r"no volume column for --features; the columns are date, close"):
        load_prices(path, features=("close", "volume"))


# ----------------------------------------------------------------- horizon ---

def test_direct_five_step_model_beats_naive_at_every_step_on_a_periodic_series():
    t = np.arange(400)
    prices = 100 + 10 * np.sin(2 * np.pi * t / 16)  # noiseless, period 16
    s = series_of(prices)
    opts = TrainOptions(window=16, test_days=60, horizon=5, units=(16,), dropout=0.0, epochs=60,
                        batch_size=32, learning_rate=0.01, dtype="float64")
    split = split_series(s, window=16, test_days=60, horizon=5)
    model, _, history, predicted = train_model(opts, split)
    assert predicted.shape == (56, 5) and model.layers[-1].units == 5
    metrics = evaluate(opts, s, split, predicted, history)
    ratios = np.array(metrics["mae_by_step"]) / np.array(metrics["naive_mae_by_step"])
    assert np.all(ratios < 0.1), ratios  # naive is off by 2.5 (step 1) to 10.7 (step 5) on average
    assert len(metrics["mae_by_step"]) == len(metrics["rmse_by_step"]) == 5


def test_recursive_strategy_feeds_a_one_step_model_its_forecasts():
    s = series_of(random_walk(150))
    opts = TrainOptions(window=8, test_days=12, horizon=3, strategy="recursive", units=(4,),
                        epochs=1, target="diff")
    split = split_series(s, window=8, test_days=12, horizon=3, target="diff")
    model, _, _, predicted = train_model(opts, split)
    assert model.layers[-1].units == 1 and predicted.shape == (10, 3)
    spec = forecast_spec(opts, split)
    # Step 2 from origin k is the one-step forecast from the window with step 1's forecast appended.
    scaled1 = model.predict(split.x_test)
    window = np.concatenate([split.x_test[:, 1:, 0], scaled1], axis=1)[:, :, None]
    d2 = spec.scalers[0].inverse_transform(model.predict(window)).ravel()
    np.testing.assert_allclose(predicted[:, 1] - predicted[:, 0], d2, rtol=1e-9, atol=1e-6)


# --------------------------------------------------------------- intervals ---

def test_conformal_widths_are_the_right_order_statistic():
    scores = np.arange(1.0, 20.0)[:, None]  # 19 calibration errors 1..19
    widths, note = conformal_widths(100 + scores, np.full_like(scores, 100.0), 0.9, relative=False)
    assert widths == [18.0] and note == ""  # ceil(20 * 0.9) = 18th smallest
    widths, note = conformal_widths(100 + scores[:5], np.full((5, 1), 100.0), 0.9, relative=False)
    assert widths == [5.0] and "too few" in note


def test_intervals_cover_about_ninety_percent_of_independent_noise():
    rng = np.random.default_rng(7)
    prices = 100 + rng.normal(0, 2, 3000)  # independent noise: any model's errors are exchangeable
    s = series_of(prices)
    opts = TrainOptions(window=10, test_days=1000, val_split=0.5, horizon=3, units=(4,), epochs=2,
                        interval=0.9)
    split = split_series(s, window=10, test_days=1000, val_split=0.5, horizon=3)
    model, _, history, predicted = train_model(opts, split)
    widths, note = calibrate(model, forecast_spec(opts, split), split, 0.9)
    assert note == "" and len(widths) == 3 and len(split.x_val) == 994
    metrics = evaluate(opts, s, split, predicted, history, forecast_spec(opts, split, widths, 0.9))
    assert metrics["interval"] == 0.9 and len(metrics["coverage_by_step"]) == 3
    # 998 origins x 3 steps; with 994 calibration windows the coverage's sd is about 0.01.
    assert abs(metrics["coverage"] - 0.9) < 0.04, metrics["coverage"]
    assert all(abs(c - 0.9) < 0.05 for c in metrics["coverage_by_step"]), metrics["coverage_by_step"]


def test_relative_bounds_are_multiplicative():
    low, high = interval_bounds(np.array([[100.0, 200.0]]), [0.1, 0.2], relative=True)
    np.testing.assert_allclose(low, [[100 * np.exp(-0.1), 200 * np.exp(-0.2)]])
    np.testing.assert_allclose(high, [[100 * np.exp(0.1), 200 * np.exp(0.2)]])


# ---------------------------------------------------------- early stopping ---

class ScriptedModel:
    """Just enough of a model for a callback: weights are the epoch number."""

    def __init__(self):
        self.weights, self.stop_training = [np.array(-1.0)], False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def drive(callback, losses):
    model = ScriptedModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, loss in enumerate(losses):
        model.weights = [np.array(float(epoch))]
        callback.on_epoch_end(epoch, {"val_loss": loss})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, float(model.weights[0])


def test_early_stopping_follows_keras_rules():
    losses = [5.0, 4.0, 4.5, 4.2, 3.0, 2.0]
    # patience 2: epochs 2 and 3 do not beat 4.0, so training stops after epoch 3 (0-based).
    stop = EarlyStopping(patience=2)
    assert drive(stop, losses) == (4, 3.0) and stop.stopped_epoch == 3 and stop.best_epoch == 1
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    assert drive(stop, losses) == (4, 1.0)  # the weights of epoch 1, the best
    # min_delta: 4.5 -> 4.2 is no improvement when 0.5 is required.
    stop = EarlyStopping(patience=1, min_delta=0.5, restore_best_weights=True)
    assert drive(stop, [5.0, 4.6, 4.2, 1.0]) == (2, 0.0)
    # mode max for accuracies; Keras 3 restores the best weights even without stopping early.
    stop = EarlyStopping(monitor="val_loss", mode="max", patience=10, restore_best_weights=True)
    assert drive(stop, [1.0, 3.0, 2.0]) == (3, 1.0)


def test_early_stopping_restores_exactly_the_best_epoch():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6, 1)), rng.normal(size=(40, 1))  # noise: it can only overfit
    x_val, y_val = rng.normal(size=(30, 6, 1)), rng.normal(size=(30, 1))
    model = Sequential([LSTM(16, input_shape=(6, 1)), Dense(1)], seed=1, dtype="float64")
    model.compile(optimizer="adam", loss="mse")
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=200, batch_size=8, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[stop])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 200 and len(val) == best + 4  # stopped 3 epochs after the best
    assert stop.best_epoch == best
    assert model.evaluate(x_val, y_val) == val[best]  # exactly, not approximately


# ------------------------------------------------------- saving and predict ---

CASES = {
    "price-h1": dict(model="lstm"),
    "log-return-h3-volume": dict(model="gru", target="log-return", horizon=3,
                                 features=("close", "volume"), patience=2),
    "diff-h3-recursive": dict(model="rnn", target="diff", horizon=3, strategy="recursive"),
    "all-features-mlp": dict(model="mlp", target="log-return", horizon=4,
                             features=("close", "volume", "high", "low", "open"), interval=0.8),
}


@pytest.mark.parametrize("case", CASES)
def test_models_saved_with_every_option_load_and_predict_identically(tmp_path, case):
    path = write_csv(tmp_path / "btc.csv", yahoo(120))
    opts = TrainOptions(csv=str(path), window=6, test_days=10, units=(4,), epochs=3, batch_size=16,
                        **CASES[case])
    s = load_prices(path, features=opts.features)
    split = split_series(s, window=6, test_days=10, target=opts.target, horizon=opts.horizon)
    model, _, history, predicted = train_model(opts, split)
    widths, _ = calibrate(model, forecast_spec(opts, split), split, opts.interval)
    spec = forecast_spec(opts, split, widths, opts.interval)
    metrics = evaluate(opts, s, split, predicted, history, spec)
    save_model(tmp_path / "model.npz", model, opts, s, split, metrics, spec)

    loaded, _, scaler, window = read_model(tmp_path / "model.npz")
    again = model_spec(loaded.extra)
    assert window == 6 and scaler.to_dict() == split.scaler.to_dict()
    assert (again.target, again.horizon, again.strategy, again.features) == \
        (opts.target, opts.horizon, opts.strategy, opts.features)
    assert [s.to_dict() for s in again.scalers] == [s.to_dict() for s in split.scalers]
    assert again.widths == widths and again.interval == opts.interval
    reloaded = forecast_paths(loaded, again, split.x_test, split.test_last)
    np.testing.assert_array_equal(reloaded, np.reshape(predicted, reloaded.shape))


def test_predict_days_7_json_gives_seven_dated_forecasts_with_intervals(tmp_path, capsys):
    csv = write_csv(tmp_path / "btc.csv", yahoo(120))
    out = tmp_path / "week"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--target", "log-return",
                                    "--horizon", "7", "--features", "close,volume",
                                    "--patience", "2", "--interval", "0.9"], capsys)
    assert code == 0, err
    assert (out / "steps.png").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["horizon"] == 7 and len(metrics["naive_mae_by_step"]) == 7
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] <= 2
    assert 0 <= metrics["coverage"] <= 1 and metrics["interval"] == 0.9
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--days", "7", "--json",
                                           "--plot", tmp_path / "fan.png"], capsys)
    assert code == 0, err
    rows = json.loads(stdout)
    # the 7 days after the last row, 2021-04-30
    assert [r["date"] for r in rows] == [f"2021-05-{d:02d}" for d in range(1, 8)]
    assert all(set(r) == {"date", "forecast", "low", "high"} for r in rows)
    assert all(0 < r["low"] <= r["forecast"] <= r["high"] for r in rows)
    assert (tmp_path / "fan.png").read_bytes()[:4] == b"\x89PNG"
    # More days than the horizon: the volume cannot be forecast, so one clear error.
    code, _, err = run(predict.main, ["--model", out / "model.npz", "--days", "8"], capsys)
    assert_user_error(code, err)
    assert "volume" in err and "7 step(s) at most" in err


def test_predict_beyond_the_horizon_feeds_a_close_only_model_its_forecasts(tmp_path, capsys):
    csv = write_csv(tmp_path / "btc.csv", yahoo(120))
    out = tmp_path / "h2"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--horizon", "2"], capsys)
    assert code == 0, err
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--days", "5", "--json"],
                            capsys)
    assert code == 0, err
    rows = json.loads(stdout)
    assert len(rows) == 5 and all(np.isfinite(r["forecast"]) for r in rows)
    assert all(r["low"] is not None for r in rows[:2]) and all(r["low"] is None for r in rows[2:])


def test_predict_dates_follow_a_15_minute_series(tmp_path, capsys):
    n = 120
    frame = pd.DataFrame({"timestamp": pd.date_range("2021-10-27", periods=n, freq="15min")
                          .strftime("%Y-%m-%d %H:%M:%S"), "close": random_walk(n)})
    csv = write_csv(tmp_path / "q.csv", frame)
    out = tmp_path / "q"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--horizon", "3"], capsys)
    assert code == 0, err
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--json"], capsys)
    assert code == 0, err
    assert [r["date"] for r in json.loads(stdout)] == ["2021-10-28 06:00", "2021-10-28 06:15",
                                                        "2021-10-28 06:30"]


def test_model_files_from_before_horizons_still_predict(tmp_path, capsys):
    """A file saved before this change: its extra has the scaler and window but no target,
    horizon, features or intervals. predict reads it as a one-step price model."""
    csv = write_csv(tmp_path / "btc.csv", yahoo(120))
    out = tmp_path / "run"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--interval", "0"], capsys)
    assert code == 0, err
    code, new, err = run(predict.main, ["--model", out / "model.npz"], capsys)
    assert code == 0, err
    model = load_model(out / "model.npz")
    old_keys = {"scaler", "window", "source", "column", "date_column", "last_date", "step_seconds",
                "model", "units", "test_days", "test_start", "test_end"}
    model.save(tmp_path / "old.npz", extra={k: v for k, v in model.extra.items() if k in old_keys})
    code, old, err = run(predict.main, ["--model", tmp_path / "old.npz"], capsys)
    assert code == 0, err
    assert old == new and old.strip().splitlines()[-1].startswith("2021-05-01: ")


# ------------------------------------------------------------------ flags ---

@pytest.mark.parametrize("flags, words", [
    (["--target", "returns"], "--target"),
    (["--interval", "1"], "--interval"),
    (["--features", "close,bid"], "--features"),
    (["--horizon", "9"], "test days"),
    (["--patience", "2", "--val-split", "0"], "validation"),
    (["--strategy", "recursive", "--features", "close,volume", "--horizon", "2"], "recursive"),
    (["--features", "close,volume"], "volume"),
])
def test_bad_new_flags_exit_2_with_one_sentence(tmp_path, capsys, flags, words):
    csv = write_csv(tmp_path / "lower.csv", pd.DataFrame({"date": days(80).strftime("%Y-%m-%d"),
                                                          "close": random_walk(80)}))
    if "recursive" in flags:
        csv = write_csv(tmp_path / "btc.csv", yahoo(80))
    code, _, err = run(train.main, ["--csv", csv, "--out", tmp_path / "o", *TINY, *flags], capsys)
    assert_user_error(code, err)
    assert words in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_help_lists_the_new_options(capsys):
    assert train.main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--target", "--horizon", "--strategy", "--features", "--patience", "--interval"):
        assert flag in text
    assert predict.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "--days" in text and "--plot" in text


def test_interval_zero_turns_intervals_off(tmp_path, capsys):
    csv = write_csv(tmp_path / "btc.csv", yahoo(120))
    out = tmp_path / "off"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--horizon", "2",
                                    "--interval", "0"], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interval"] is None and "coverage" not in metrics
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--json"], capsys)
    assert code == 0, err
    assert [(r["low"], r["high"]) for r in json.loads(stdout)] == [(None, None)] * 2


def test_a_model_file_whose_outputs_do_not_match_its_horizon_is_refused(tmp_path):
    from lstm_np import ModelFileError
    model = Sequential([LSTM(3, input_shape=(4, 1)), Dense(2)], seed=0)
    extra = {"scaler": {"data_min": 1.0, "data_max": 2.0}, "window": 4}
    model.save(tmp_path / "ok.npz", extra={**extra, "horizon": 2})  # direct: 2 outputs for 2 steps
    assert load_model(tmp_path / "ok.npz").extra["horizon"] == 2
    assert read_model(tmp_path / "ok.npz")[0].output_shape == (2,)
    for k, wrong in enumerate(({"horizon": 3}, {"horizon": 2, "strategy": "recursive"}, {})):
        model.save(tmp_path / f"bad{k}.npz", extra={**extra, **wrong})  # the core does not judge
        with pytest.raises(ModelFileError, match="outputs of shape"):
            read_model(tmp_path / f"bad{k}.npz")
