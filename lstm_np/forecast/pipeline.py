"""The forecasting pipeline as functions: data in, a trained model, forecasts and their errors out.

The commands (:mod:`.train`, :mod:`.predict`, :mod:`.compare`) are thin layers over these; a
backtest trains one model per (model kind, fold, seed) with the same calls on each fold's data:

>>> series = load_prices("btc-daily")                                 # doctest: +SKIP
>>> split = split_series(series, window=60, test_days=60, val_split=0.1)  # doctest: +SKIP
>>> model, optimizer, history, predicted = train_model(TrainOptions(model="gru"), split)  # doctest: +SKIP
>>> error_metrics(split.test_prices, predicted)                       # doctest: +SKIP

``predicted`` are one-step-ahead forecasts in the series' units: each test price is forecast
from the ``window`` observed prices before it, as the naive forecast (tomorrow = today) is.
With ``--horizon H`` > 1 they are ``(n_origins, H)``: the H steps after each test origin,
scored against ``split.test_paths`` and the naive ``split.naive_paths``. What the network
learns (``--target``), its inputs (``--features``) and its intervals (``--interval``) are
described by a :class:`.targets.ForecastSpec`, stored in the model file.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..callbacks import EarlyStopping
from .. import optimizers
from ..layers import KINDS, RNN, Dense, Dropout, Layer
from ..models import ModelFileError, NonFiniteLossError, Sequential, load_model
from .cli import UserError
from .data import (BUNDLED, DataError, MinMaxScaler, describe, load_prices, reading_options,
                   split_series)
from .format import format_date, median_step, price_scale
from .memory import check_memory
from .metadata import ExtraError, check_extra
from .options import NAMES, OPTIMIZER_NAMES, model_kinds
from .stats import error_metrics
from .targets import ForecastSpec, conformal_widths, feature_values, interval_bounds, to_prices

__all__ = ["NAMES", "OPTIMIZERS", "best_epoch", "build_model", "calibrate",
           "error_metrics", "evaluate", "forecast_future", "forecast_next", "forecast_paths",
           "forecast_spec", "forecast_windows", "input_shape", "interval_coverage", "jsonable",
           "last_value",
           "load_data", "make_optimizer", "model_inputs", "model_spec", "read_model", "Run", "run_once",
           "calibration_tail",
           "save_model", "step_metrics", "train_model", "warm_up", "windows_line"]

# Recurrent layer per --model value; each is stacked as RNN(u) -> Dropout for every --units value.
# The model kinds (these and mlp, Dense(u, relu) -> Dropout on the flat window, options.MODELS)
# and NAMES are defined with the flags in .options; OPTIMIZERS' keys are options.OPTIMIZER_NAMES.
RECURRENT = KINDS    # model kind -> recurrent layer or cell class (lstm_np.layers.register)
OPTIMIZERS = {name: optimizers.OPTIMIZERS[name] for name in OPTIMIZER_NAMES}


# ------------------------------------------------------------------- data ---

def load_data(opts, say=print):
    """Load ``opts.source`` and split it as ``opts`` says, telling ``say`` what was found.

    Everything that can be wrong with the data is found here, before any training.

    Parameters
    ----------
    opts : DataOptions
        ``source``, ``column``, ``date_column``, ``features``, ``window``, ``test_days``,
        ``val_split``, ``target`` and ``horizon``.
    say : callable
        Receives one line per message (the series, its cleaning notes, the split's notes).

    Returns
    -------
    series : PriceSeries
    split : Split
    """
    series = load_prices(opts.source, column=opts.column, date_column=opts.date_column,
                         features=getattr(opts, "features", None), **reading_options(opts))
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    check_memory(opts, len(series.prices), error=DataError)  # before the windows are cut
    split = split_series(series, window=opts.window, test_days=opts.test_days,
                         val_split=opts.val_split, target=getattr(opts, "target", "price"),
                         horizon=getattr(opts, "horizon", 1))
    for note in split.notes:
        say(f"  note: {note}")
    return series, split


def windows_line(split, series):
    """``"windows of 60: 493 train, 55 validation, 60 test (2021-08-29 to 2021-10-27)"``."""
    dates = series.dates
    if split.horizon > 1 or split.target != "price" or len(split.feature_names) > 1:
        return (f"windows of {split.x_train.shape[1]} x {','.join(split.feature_names)} -> "
                f"{split.horizon} {split.target} step(s): {len(split.x_train):,} train, "
                f"{len(split.x_val):,} validation, {len(split.x_test):,} test origins "
                f"({format_date(split.test_dates[0], dates)} to {format_date(split.test_dates[-1], dates)})")
    return (f"windows of {split.x_train.shape[1]}: {len(split.x_train):,} train, "
            f"{len(split.x_val):,} validation, {len(split.x_test):,} test "
            f"({format_date(split.test_dates[0], dates)} to {format_date(split.test_dates[-1], dates)})")


# ------------------------------------------------------------------ model ---

def build_model(kind, units, dropout, window, seed, dtype, features=1, outputs=1):
    """The tutorial's stack: ``RNN(u0, return_sequences=True) -> Dropout -> ... -> RNN(u_last)
    -> Dropout -> Dense(outputs)``, one recurrent layer per value of ``units``, for inputs
    ``(window, features)``; RNN is LSTM, GRU or SimpleRNN. ``kind="mlp"`` builds ``Dense(u0, relu)
    -> Dropout -> ... -> Dense(outputs)`` for inputs ``(window * features,)`` instead (see
    :func:`model_inputs`). ``outputs`` is the direct strategy's horizon, 1 by default."""
    if kind not in model_kinds():
        raise UserError(f"unknown model {kind!r}; choose one of {', '.join(model_kinds())}")
    layers = []
    for k, n in enumerate(units):
        first, last = k == 0, k == len(units) - 1
        shape = {"input_shape": input_shape(kind, window, features)} if first else {}
        if kind == "mlp":
            layers.append(Dense(n, activation="relu", **shape))
        else:
            layers.append(recurrent_layer(kind, n, return_sequences=not last, **shape))
        layers.append(Dropout(dropout))
    layers.append(Dense(outputs))
    return Sequential(layers, seed=seed, dtype=dtype)


def recurrent_layer(kind, units, **options):
    """A ``kind`` layer of ``units``: the registered layer class, or ``RNN`` of the registered
    cell class."""
    cls = RECURRENT[kind]
    return cls(units, **options) if issubclass(cls, Layer) else RNN(cls(units), **options)


def input_shape(kind, window, features=1):
    """One sample's shape for a ``kind`` model: ``(window, features)``, or ``(window * features,)``
    for the MLP."""
    return (window * features,) if kind == "mlp" else (window, features)


def model_inputs(kind, x):
    """Windows ``(n, window, D)`` as a ``kind`` model takes them: unchanged for the recurrent
    models, ``(n, window * D)`` for the MLP, which sees the window's values as features."""
    x = np.asarray(x)
    return x.reshape((len(x),) + input_shape(kind, x.shape[1], x.shape[2]))


def make_optimizer(name, learning_rate=None):
    """The optimizer Keras calls ``name`` (one of ``OPTIMIZER_NAMES``) with ``learning_rate``, or
    with Keras's default rate when it is None."""
    cls = OPTIMIZERS[name]
    return cls() if learning_rate is None else cls(learning_rate)


def train_model(opts, split, summary=False, verbose=0):
    """Build the ``opts.model`` network, train it on ``split`` and forecast its test period.

    Parameters
    ----------
    opts : TrainOptions
        ``model``, ``seed`` and the training options (``units`` ... ``dtype``, ``strategy``,
        ``patience``); ``window`` is taken from ``opts`` and must match the split's windows.
    split : Split
        Scaled training, validation and test windows and the scalers fitted on training data.
    summary : bool
        Print the model summary before training.
    verbose : int
        Keras's ``fit`` verbosity (0 silent, 1 one line per epoch).

    Returns
    -------
    model : Sequential
        With ``--patience``, holding the weights of the epoch with the lowest ``val_loss``.
    optimizer : Optimizer
    history : History
    predicted : numpy.ndarray, shape (n_test,), or (n_origins, horizon) for a horizon > 1
        Forecasts of the test prices in the series' units: one step ahead of each test price,
        or the ``horizon`` steps after each test origin (``split.test_paths``).

    Raises
    ------
    UserError
        If the options do not fit together or the forecasts are not finite.
    NonFiniteLossError
        If the training loss is not finite.
    """
    spec = forecast_spec(opts, split)
    if spec.strategy == "recursive" and len(spec.features) > 1:
        raise UserError(f"--strategy recursive feeds the model its own forecasts, which works for "
                        f"the close alone, not for --features {','.join(spec.features)}; use "
                        "--strategy direct")
    patience = getattr(opts, "patience", None)
    if patience is not None and not len(split.x_val):
        raise UserError("--patience watches val_loss, so it needs validation windows; "
                        "set --val-split above 0")
    model = build_model(opts.model, opts.units, opts.dropout, opts.window, opts.seed, opts.dtype,
                        features=len(spec.features), outputs=spec.outputs)
    optimizer = make_optimizer(opts.optimizer, opts.learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    if summary:
        model.summary()
    y_train, y_val = split.y_train[:, :spec.outputs], split.y_val[:, :spec.outputs]
    validation = ((model_inputs(opts.model, split.x_val), y_val) if len(split.x_val) else None)
    callbacks = ([] if patience is None else
                 [EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True,
                                verbose=verbose)])
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run reports itself
        history = model.fit(model_inputs(opts.model, split.x_train), y_train,
                            epochs=opts.epochs, batch_size=opts.batch_size,
                            validation_data=validation, verbose=verbose, callbacks=callbacks)
        predicted = forecast_paths(model, spec, split.x_test, split.test_last[:len(split.x_test)])
    if not np.all(np.isfinite(predicted)):
        raise UserError("the model's test forecasts are not finite numbers; nothing was saved "
                        f"— try a lower learning rate than {optimizer.learning_rate:g}")
    return model, optimizer, history, (predicted.ravel() if spec.horizon == 1 else predicted)


def forecast_spec(opts, split, widths=(), interval=0.0):
    """The :class:`.targets.ForecastSpec` of a model trained with ``opts`` on ``split``."""
    return ForecastSpec(kind=opts.model, window=opts.window, scalers=list(split.scalers or [split.scaler]),
                        target=split.target, horizon=split.horizon,
                        strategy=getattr(opts, "strategy", "direct"),
                        features=tuple(split.feature_names), interval=float(interval),
                        widths=list(widths), relative=split.target == "log-return")


def forecast_paths(model, spec, x, last, steps=None, progress=None):
    """Price forecasts for ``steps`` (default ``spec.horizon``) steps after each window.

    Parameters
    ----------
    model : Sequential
    spec : ForecastSpec
    x : numpy.ndarray, shape (n, window, D)
        Scaled input windows.
    last : array_like, shape (n,)
        The observed price at each window's last step, from which returns and differences
        are compounded.
    steps : int, optional
        More steps than the model outputs feed its forecasts back as inputs (recursive),
        which needs a single input feature.
    progress : callable, optional
        ``progress(done, steps)`` after each recursive step (a long forecast shows it).

    Returns
    -------
    numpy.ndarray, shape (n, steps)
    """
    steps = spec.horizon if steps is None else int(steps)
    x = np.asarray(x, dtype=np.float64)
    outputs = [model.predict(model_inputs(spec.kind, x))]
    done = outputs[0].shape[1]
    if done < steps and x.shape[2] != 1:
        raise UserError(f"the model forecasts {done} step(s) and also reads "
                        f"{','.join(spec.features[1:])}, which it cannot forecast itself, so it "
                        f"cannot be fed its own forecasts; ask for {done} step(s) at most or "
                        "retrain it with a longer --horizon")
    window = x[:, :, 0]
    while done < steps:  # recursive: the forecasts become the newest inputs
        window = np.concatenate([window, outputs[-1]], axis=1)[:, -x.shape[1]:]
        outputs.append(model.predict(model_inputs(spec.kind, window[:, :, None])))
        done += outputs[-1].shape[1]
        if progress is not None:
            progress(min(done, steps), steps)
    scaled = np.concatenate(outputs, axis=1)[:, :steps]
    return to_prices(spec.scalers[0].inverse_transform(scaled), last, spec.target)


def calibrate(model, spec, split, level):
    """Split-conformal interval widths per step from the validation windows' errors.

    Returns
    -------
    widths : list of float
        Empty when ``level`` is 0 or there are no validation windows.
    note : str
        Why there are no intervals or why they may be too narrow, else ``""``.
    """
    if not level:
        return [], ""
    if not len(split.x_val):
        return [], "no validation windows to calibrate the intervals on (--val-split 0): no intervals"
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = forecast_paths(model, spec, split.x_val, split.val_last)
    return conformal_widths(split.val_paths, predicted, level, relative=spec.target == "log-return")


@dataclass
class Run:
    """One trained run (:func:`run_once`): the model and everything judged from it.

    Attributes
    ----------
    model : Sequential
    optimizer : Optimizer
    history : History
    spec : ForecastSpec
        With the calibrated interval widths (none without ``--interval`` or validation windows).
    predicted : numpy.ndarray, shape (n_origins, horizon)
        Test forecasts in the series' units (``split.test_paths``'s shape).
    low, high : numpy.ndarray, shape (n_origins, horizon), or None
        The interval around each forecast, None without intervals.
    note : str
        Why there are no intervals, or why they may be too narrow; else ``""``.
    n_calibration : int
        The validation windows the intervals were calibrated on (all of them, or with
        ``--patience`` the calibration tail).
    """

    model: object
    optimizer: object
    history: object
    spec: ForecastSpec
    predicted: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    note: str = ""
    n_calibration: int = 0

    def coverage(self, true):
        """The share of ``true`` prices ``(n_origins, horizon)`` inside the intervals, overall
        and by step: ``(float, list)``, or ``(None, None)`` without intervals."""
        if self.low is None:
            return None, None
        return interval_coverage(true, self.low, self.high)


def interval_coverage(true, low, high):
    """The share of ``true`` prices ``(n, H)`` inside ``[low, high]``, pooled and by step:
    ``(float, list of H floats)``."""
    inside = (low <= true) & (true <= high)
    return float(inside.mean()), inside.mean(axis=0).tolist()


def calibration_tail(split):
    """``(stopping, calibration)``: ``split`` with its validation windows cut in two, the first
    half for early stopping and the second for calibration, ``horizon - 1`` windows apart so
    that no calibration target is a target of the stopping windows. With fewer than 2 + (horizon
    - 1) validation windows both are ``split`` itself (shared windows)."""
    n, gap = len(split.x_val), split.horizon - 1
    half = (n - gap) // 2
    if half < 1:
        return split, split
    start = half + gap

    def part(cut):
        return replace(split, x_val=split.x_val[cut], y_val=split.y_val[cut],
                       val_last=split.val_last[cut], val_paths=split.val_paths[cut])
    return part(slice(0, half)), part(slice(start, n))


def run_once(opts, split, summary=False, verbose=0):
    """Train one run: :func:`train_model`, then :func:`calibrate` its intervals on the
    validation windows and put them around its test forecasts. The train, compare and
    backtest commands each judge runs made by this function.

    With ``opts.patience`` the validation windows are split (:func:`calibration_tail`): early
    stopping picks the epoch on the first part and the intervals are calibrated on the last,
    so the windows that chose the weights do not also size the intervals.

    Parameters are :func:`train_model`'s (``opts.interval`` is the intervals' level, 0 for
    none). Returns a :class:`Run`; raises what :func:`train_model` raises.
    """
    level = getattr(opts, "interval", 0.0) or 0.0
    stopping, calibration = split, split
    if level and getattr(opts, "patience", None) is not None:
        stopping, calibration = calibration_tail(split)
    model, optimizer, history, predicted = train_model(opts, stopping, summary, verbose)
    widths, note = calibrate(model, forecast_spec(opts, split), calibration, level)
    spec = forecast_spec(opts, split, widths, level if widths else 0.0)
    paths = np.asarray(predicted, np.float64).reshape(len(split.x_test), -1)
    low = high = None
    if widths:
        low, high = interval_bounds(paths, widths, spec.relative)
    return Run(model, optimizer, history, spec, paths, low, high, note,
               len(calibration.x_val) if widths else 0)


def warm_up(runs, split):
    """Train each of ``runs`` (TrainOptions) for one epoch on one batch of ``split``, so that
    Numba compiles its kernels (or loads them from its on-disk cache) before the real runs: the
    compilation then counts in no run's seconds, and worker processes started afterwards load
    the kernels from the cache instead of each compiling them again."""
    for opts in runs:
        n = min(len(split.x_train), opts.batch_size)
        tiny = replace(split, x_train=split.x_train[:n], y_train=split.y_train[:n],
                       x_val=split.x_val[:n], y_val=split.y_val[:n], x_test=split.x_test[:2])
        try:
            train_model(replace(opts, epochs=1), tiny)
        except (UserError, NonFiniteLossError):
            pass  # a diverging warm-up still compiled the kernels; the real run reports it


def forecast_windows(model, kind, scaler, x):
    """One-step forecasts, in the series' units, of a price model for scaled windows ``x`` of
    shape ``(n, window, 1)`` (the tutorial's model; see :func:`forecast_paths` for the others)."""
    return scaler.inverse_transform(model.predict(model_inputs(kind, x))).ravel()


def forecast_next(model, scaler, window, series, kind="lstm"):
    """The tutorial model's forecast for the step after the series' last price, in the series'
    units (see :func:`forecast_future` for any model and more steps)."""
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


def forecast_future(model, spec, series, days, progress=None):
    """Forecast the ``days`` periods after the series' last row, with interval bounds.

    Parameters
    ----------
    model : Sequential
    spec : ForecastSpec
        As :func:`model_spec` reads it from the model file.
    series : PriceSeries
        With the model's input columns (``load_prices(..., features=spec.features)``).
    days : int
        More than ``spec.horizon`` feeds the model its own forecasts (close-only models).
    progress : callable, optional
        Passed to :func:`forecast_paths`.

    Returns
    -------
    forecast, low, high : numpy.ndarray, shape (days,)
        Prices; ``low`` and ``high`` are NaN for steps without calibrated widths (beyond the
        horizon, or a model without intervals).
    """
    need = spec.window + spec.lag
    if len(series.prices) < need:
        raise DataError(f"the series has {len(series.prices)} prices but the model needs the last "
                        f"{need}; give a longer file")
    columns = np.asarray(series.inputs, dtype=np.float64)[-need:]
    rows = np.column_stack([feature_values(f, columns[:, j], spec.target)
                            for j, f in enumerate(spec.features)])[spec.lag:]
    x = np.column_stack([s.transform(rows[:, j]) for j, s in enumerate(spec.scalers)])[None]
    with np.errstate(over="ignore", invalid="ignore"):
        forecast = forecast_paths(model, spec, x, series.prices[-1:], steps=days, progress=progress)[0]
    if not np.all(np.isfinite(forecast)):
        raise ModelFileError("the model's forecast is not a finite number, so its weights are "
                             "broken; retrain it with python -m lstm_np.train")
    low, high = np.full(days, np.nan), np.full(days, np.nan)
    k = min(days, len(spec.widths))
    if k:
        low[:k], high[:k] = (b[0] for b in interval_bounds(forecast[None, :k], spec.widths[:k],
                                                           spec.relative))
    return forecast, low, high


# ------------------------------------------------------------ evaluation ---

def step_metrics(true, predicted, naive):
    """Errors by horizon step: ``mae_by_step``, ``rmse_by_step``, ``naive_mae_by_step`` and
    ``naive_rmse_by_step`` (lists, step 1 first) for paths of shape ``(n, H)``."""
    true, predicted, naive = (np.asarray(a, np.float64).reshape(len(true), -1)
                              for a in (true, predicted, naive))
    err, naive_err = predicted - true, naive - true
    return {"mae_by_step": np.mean(np.abs(err), axis=0).tolist(),
            "rmse_by_step": np.sqrt(np.mean(err ** 2, axis=0)).tolist(),
            "naive_mae_by_step": np.mean(np.abs(naive_err), axis=0).tolist(),
            "naive_rmse_by_step": np.sqrt(np.mean(naive_err ** 2, axis=0)).tolist()}


def best_epoch(history):
    """The 1-based epoch with the lowest ``val_loss`` (the first of ties, as EarlyStopping),
    or None without validation."""
    values = history.history.get("val_loss")
    return int(np.argmin(values)) + 1 if values else None


def evaluate(opts, series, split, predicted, history, spec=None):
    """Everything metrics.json records: errors in dollars beside the naive forecast's (over all
    steps, and by step), their ratios, the intervals' coverage, sizes, dates and the options.

    ``spec`` (from :func:`forecast_spec` with the widths of :func:`calibrate`) adds
    ``interval``, ``interval_widths``, ``coverage`` and ``coverage_by_step``."""
    horizon = getattr(split, "horizon", 1)
    true = split.test_paths if split.test_paths is not None else split.test_prices[:, None]
    naive = split.naive_paths if split.test_last is not None else split.naive[:, None]
    paths = np.asarray(predicted, np.float64).reshape(len(true), -1)
    model_errors = error_metrics(true, paths)
    naive_errors = error_metrics(true, naive)
    dates = series.dates
    metrics = {**model_errors, **{f"naive_{k}": v for k, v in naive_errors.items()}}
    metrics.update({f"{k}_ratio": model_errors[k] / naive_errors[k] if naive_errors[k] else None
                    for k in model_errors})
    patience = getattr(opts, "patience", None)
    metrics.update(
        winner="model" if model_errors["mae"] < naive_errors["mae"] else "naive",
        n_train=len(split.x_train), n_val=len(split.x_val), n_test=len(split.x_test),
        test_start=format_date(split.test_dates[0], dates),
        test_end=format_date(split.test_dates[-1], dates),
        epochs=len(history.epoch), epochs_run=len(history.epoch), best_epoch=best_epoch(history),
        restored_best_weights=patience is not None,
        train_seconds=float(sum(history.seconds)),
        final_loss=last_value(history, "loss"), final_val_loss=last_value(history, "val_loss"),
        target=split.target, horizon=horizon, strategy=getattr(opts, "strategy", "direct"),
        features=list(split.feature_names), **step_metrics(true, paths, naive))
    interval = spec.interval if spec is not None and spec.widths else 0.0
    metrics["interval"] = interval or None
    if interval:
        low, high = interval_bounds(paths, spec.widths, spec.relative)
        coverage, by_step = interval_coverage(true, low, high)
        metrics.update(interval_widths=list(spec.widths), interval_relative=spec.relative,
                       coverage=coverage, coverage_by_step=by_step,
                       mean_interval_width=float(np.mean(high - low)))
    metrics.update(source=series.source, column=series.column, n_prices=len(series.prices),
                   price_scale=price_scale(series.prices),
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

def save_model(path, model, opts, series, split, metrics, spec=None):
    """Write ``model`` with everything :func:`read_model` and ``predict`` need beside it: the
    scalers, the window, the model kind, the target, horizon, strategy, features and interval
    widths (``spec``, default without intervals) and where the data came from (no pickle)."""
    dates = series.dates
    spec = forecast_spec(opts, split) if spec is None else spec
    extra = {"scaler": split.scaler.to_dict(), "window": opts.window, "source": record_source(series),
             "column": series.column, "date_column": opts.date_column,
             "reading": reading_options(opts),  # --decimal ... as given, so predict reads alike
             "last_date": format_date(dates[-1], dates),
             "step_seconds": float(median_step(dates).total_seconds()),
             "model": opts.model, "units": list(opts.units), "test_days": opts.test_days,
             "test_start": metrics["test_start"], "test_end": metrics["test_end"],
             **spec.to_dict()}
    try:  # never write a file read_model refuses
        check_extra(json.loads(json.dumps(extra)), model.output_shape)
    except ExtraError as reason:
        raise ModelFileError(f"this model cannot be saved for lstm_np.predict: {reason}") from None
    model.save(path, extra=extra)


def read_model(path):
    """The model and the training details stored beside it; refuses files train did not write.

    Returns
    -------
    model : Sequential
    extra : dict
        What :func:`save_model` stored (:func:`model_spec` reads it).
    scaler : MinMaxScaler
        The target's scaler.
    window : int
    """
    model = load_model(path)
    extra = getattr(model, "extra", {}) or {}
    if "scaler" not in extra:
        raise ModelFileError(f"{path} holds a model but not the scaler and window that "
                             "lstm_np.train stores; use a model.npz written by python -m lstm_np.train")
    try:
        check_extra(extra, model.output_shape)
    except ExtraError as reason:
        raise ModelFileError(f"{path} is not a usable lstm_np model file: {reason}") from None
    try:
        spec = model_spec(extra)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path} holds a model but not the scaler and window that "
                             "lstm_np.train stores; use a model.npz written by python -m lstm_np.train") from None
    expected = input_shape(spec.kind, spec.window, len(spec.features))
    if model.input_shape != expected:
        raise ModelFileError(f"{path} is inconsistent: its model takes inputs {model.input_shape} "
                             f"but its window and features need {expected}; retrain it with "
                             "python -m lstm_np.train")
    return model, extra, spec.scalers[0], spec.window


def model_spec(extra):
    """The :class:`.targets.ForecastSpec` stored in a model file's ``extra`` (files from before
    targets, horizons and features hold a one-step price model on the close)."""
    return ForecastSpec.from_extra(extra, MinMaxScaler)


def record_source(series):
    """The source as predict should reload it: bundled names and URLs as they are, files absolute."""
    source = series.source
    if source in BUNDLED or source.lower().startswith(("http://", "https://")):
        return source
    return os.path.abspath(os.path.expanduser(source))
