"""The forecasting pipeline as functions: data in, a trained model, forecasts and their errors out.

The commands (:mod:`.train`, :mod:`.predict`, :mod:`.compare`) are thin layers over these; a
backtest trains one model per (model kind, fold, seed) with the same calls on each fold's data:

>>> series = load_prices("btc-daily")                                 # doctest: +SKIP
>>> split = split_series(series, window=60, test_days=60, val_split=0.1)  # doctest: +SKIP
>>> model, optimizer, history, predicted = train_model(TrainOptions(model="gru"), split)  # doctest: +SKIP
>>> error_metrics(split.test_prices, predicted)                       # doctest: +SKIP

``predicted`` are one-step-ahead forecasts in the series' units: each test price is forecast
from the ``window`` observed prices before it, as the naive forecast (tomorrow = today) is.
"""
from __future__ import annotations

import os
from dataclasses import asdict

import numpy as np

from ..layers import GRU, LSTM, Dense, Dropout, SimpleRNN
from ..models import ModelFileError, Sequential, load_model
from ..optimizers import SGD, Adam
from .cli import UserError
from .data import (BUNDLED, DataError, MinMaxScaler, describe, load_prices, reading_options,
                   split_series)
from .format import format_date, median_step
from .memory import check_memory

__all__ = ["MODELS", "NAMES", "OPTIMIZERS", "build_model", "error_metrics", "evaluate",
           "forecast_next", "forecast_windows", "input_shape", "jsonable", "last_value", "load_data",
           "make_optimizer", "model_inputs", "read_model", "save_model", "train_model",
           "windows_line"]

# Recurrent layer per --model value; each is stacked as RNN(u) -> Dropout for every --units value.
RECURRENT = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}
MODELS = (*RECURRENT, "mlp")  # mlp: Dense(u, relu) -> Dropout per --units value, on the flat window
NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN", "mlp": "MLP"}
OPTIMIZERS = {"adam": Adam, "sgd": SGD}


# ------------------------------------------------------------------- data ---

def load_data(opts, say=print):
    """Load ``opts.source`` and split it as ``opts`` says, telling ``say`` what was found.

    Everything that can be wrong with the data is found here, before any training.

    Parameters
    ----------
    opts : DataOptions
        ``source``, ``column``, ``date_column``, ``window``, ``test_days`` and ``val_split``.
    say : callable
        Receives one line per message (the series, its cleaning notes, the split's notes).

    Returns
    -------
    series : PriceSeries
    split : Split
    """
    series = load_prices(opts.source, column=opts.column, date_column=opts.date_column,
                         **reading_options(opts))
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    check_memory(opts, len(series.prices), error=DataError)  # before the windows are cut
    split = split_series(series, window=opts.window, test_days=opts.test_days,
                         val_split=opts.val_split)
    for note in split.notes:
        say(f"  note: {note}")
    return series, split


def windows_line(split, series):
    """``"windows of 60: 493 train, 55 validation, 60 test (2021-08-29 to 2021-10-27)"``."""
    dates = series.dates
    return (f"windows of {split.x_train.shape[1]}: {len(split.x_train):,} train, "
            f"{len(split.x_val):,} validation, {len(split.x_test):,} test "
            f"({format_date(split.test_dates[0], dates)} to {format_date(split.test_dates[-1], dates)})")


# ------------------------------------------------------------------ model ---

def build_model(kind, units, dropout, window, seed, dtype):
    """The tutorial's stack: ``RNN(u0, return_sequences=True) -> Dropout -> ... -> RNN(u_last)
    -> Dropout -> Dense(1)``, one recurrent layer per value of ``units``, for inputs
    ``(window, 1)``; RNN is LSTM, GRU or SimpleRNN. ``kind="mlp"`` builds ``Dense(u0, relu) ->
    Dropout -> ... -> Dense(1)`` for inputs ``(window,)`` instead (see :func:`model_inputs`)."""
    if kind not in MODELS:
        raise UserError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    layers = []
    for k, n in enumerate(units):
        first, last = k == 0, k == len(units) - 1
        shape = {"input_shape": input_shape(kind, window)} if first else {}
        if kind == "mlp":
            layers.append(Dense(n, activation="relu", **shape))
        else:
            layers.append(RECURRENT[kind](n, return_sequences=not last, **shape))
        layers.append(Dropout(dropout))
    layers.append(Dense(1))
    return Sequential(layers, seed=seed, dtype=dtype)


def input_shape(kind, window):
    """One sample's shape for a ``kind`` model: ``(window, 1)``, or ``(window,)`` for the MLP."""
    return (window,) if kind == "mlp" else (window, 1)


def model_inputs(kind, x):
    """Windows ``(n, window, 1)`` as a ``kind`` model takes them: unchanged for the recurrent
    models, ``(n, window)`` for the MLP, which sees the window's prices as features."""
    x = np.asarray(x)
    return x.reshape((len(x),) + input_shape(kind, x.shape[1]))


def make_optimizer(name, learning_rate=None):
    """``"adam"`` or ``"sgd"`` with ``learning_rate``, or Keras's default rate when it is None."""
    cls = OPTIMIZERS[name]
    return cls() if learning_rate is None else cls(learning_rate)


def train_model(opts, split, summary=False, verbose=0):
    """Build the ``opts.model`` network, train it on ``split`` and forecast its test period.

    Parameters
    ----------
    opts : TrainOptions
        ``model``, ``seed`` and the training options (``units`` ... ``dtype``); ``window`` is
        taken from ``opts`` and must match the split's windows.
    split : Split
        Scaled training, validation and test windows and the scaler fitted on training prices.
    summary : bool
        Print the model summary before training.
    verbose : int
        Keras's ``fit`` verbosity (0 silent, 1 one line per epoch).

    Returns
    -------
    model : Sequential
    optimizer : Optimizer
    history : History
    predicted : numpy.ndarray, shape (n_test,)
        One-step-ahead forecasts of ``split.test_prices``, in the series' units.

    Raises
    ------
    UserError
        If the forecasts are not finite.
    NonFiniteLossError
        If the training loss is not finite.
    """
    model = build_model(opts.model, opts.units, opts.dropout, opts.window, opts.seed, opts.dtype)
    optimizer = make_optimizer(opts.optimizer, opts.learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    if summary:
        model.summary()
    validation = ((model_inputs(opts.model, split.x_val), split.y_val) if len(split.x_val)
                  else None)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run reports itself
        history = model.fit(model_inputs(opts.model, split.x_train), split.y_train,
                            epochs=opts.epochs, batch_size=opts.batch_size,
                            validation_data=validation, verbose=verbose)
        predicted = forecast_windows(model, opts.model, split.scaler, split.x_test)
    if not np.all(np.isfinite(predicted)):
        raise UserError("the model's test forecasts are not finite numbers; nothing was saved "
                        f"— try a lower learning rate than {optimizer.learning_rate:g}")
    return model, optimizer, history, predicted


def forecast_windows(model, kind, scaler, x):
    """The forecasts, in the series' units, for scaled windows ``x`` of shape ``(n, window, 1)``."""
    return scaler.inverse_transform(model.predict(model_inputs(kind, x))).ravel()


def forecast_next(model, scaler, window, series, kind="lstm"):
    """The forecast for the step after the series' last price, in the series' units."""
    if len(series.prices) < window:
        raise DataError(f"the series has {len(series.prices)} prices but the model needs the last "
                        f"{window}; give a longer file")
    x = scaler.transform(series.prices[-window:]).reshape(1, window, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        y = float(forecast_windows(model, kind, scaler, x)[0])
    if not np.isfinite(y):
        raise ModelFileError("the model's forecast is not a finite number, so its weights are "
                             "broken; retrain it with python -m lstm_np.train")
    return y


# ------------------------------------------------------------ evaluation ---

def error_metrics(true, predicted):
    """MAE, RMSE (dollars) and MAPE (percent) of ``predicted`` against ``true``."""
    err = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "mape": float(100 * np.mean(np.abs(err) / np.asarray(true, np.float64)))}


def evaluate(opts, series, split, predicted, history):
    """Everything metrics.json records: errors in dollars beside the naive forecast's, their
    ratios, sizes, dates and the options."""
    model_errors = error_metrics(split.test_prices, predicted)
    naive_errors = error_metrics(split.test_prices, split.naive)
    dates = series.dates
    metrics = {**model_errors, **{f"naive_{k}": v for k, v in naive_errors.items()}}
    metrics.update({f"{k}_ratio": model_errors[k] / naive_errors[k] if naive_errors[k] else None
                    for k in model_errors})
    metrics.update(
        winner="model" if model_errors["mae"] < naive_errors["mae"] else "naive",
        n_train=len(split.x_train), n_val=len(split.x_val), n_test=len(split.x_test),
        test_start=format_date(split.test_dates[0], dates),
        test_end=format_date(split.test_dates[-1], dates),
        epochs=len(history.epoch), train_seconds=float(sum(history.seconds)),
        final_loss=last_value(history, "loss"), final_val_loss=last_value(history, "val_loss"),
        source=series.source, column=series.column, n_prices=len(series.prices),
        data_notes=series.notes + split.notes, options=jsonable(opts))
    return metrics


def last_value(history, key):
    """The last epoch's value of ``key`` (``"loss"``, ``"val_loss"``) in a History, or None."""
    values = history.history.get(key)
    return float(values[-1]) if values else None


def jsonable(opts):
    """An options dataclass as a JSON-ready dict (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(opts).items()}


# ----------------------------------------------------------- model files ---

def save_model(path, model, opts, series, split, metrics):
    """Write ``model`` with everything :func:`read_model` and ``predict`` need beside it: the
    scaler, the window, the model kind and where the data came from (no pickle)."""
    dates = series.dates
    extra = {"scaler": split.scaler.to_dict(), "window": opts.window, "source": record_source(series),
             "column": series.column, "date_column": opts.date_column,
             "reading": reading_options(opts),  # --decimal ... as given, so predict reads alike
             "last_date": format_date(dates[-1], dates),
             "step_seconds": float(median_step(dates).total_seconds()),
             "model": opts.model, "units": list(opts.units), "test_days": opts.test_days,
             "test_start": metrics["test_start"], "test_end": metrics["test_end"]}
    model.save(path, extra=extra)


def read_model(path):
    """The model and the training details stored beside it; refuses files train did not write.

    Returns
    -------
    model : Sequential
    extra : dict
        What :func:`save_model` stored.
    scaler : MinMaxScaler
    window : int
    """
    model = load_model(path)
    extra = getattr(model, "extra", {}) or {}
    try:
        scaler = MinMaxScaler.from_dict(extra["scaler"])
        window = int(extra["window"])
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path} holds a model but not the scaler and window that "
                             "lstm_np.train stores; use a model.npz written by python -m lstm_np.train") from None
    kind = str(extra.get("model", "lstm"))  # files from before --model hold LSTMs
    if model.input_shape != input_shape(kind, window):
        raise ModelFileError(f"{path} is inconsistent: its model takes inputs {model.input_shape} "
                             f"but its window is {window}; retrain it with python -m lstm_np.train")
    return model, extra, scaler, window


def record_source(series):
    """The source as predict should reload it: bundled names and URLs as they are, files absolute."""
    source = series.source
    if source in BUNDLED or source.lower().startswith(("http://", "https://")):
        return source
    return os.path.abspath(os.path.expanduser(source))
