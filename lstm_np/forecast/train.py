"""``python -m lstm_np.train``: train the Bitcoin LSTM and judge it against the naive forecast.

``--model`` picks the network: ``lstm`` (the tutorial's), ``gru``, ``rnn`` (SimpleRNN) — each
stacked as ``RNN(u) -> Dropout`` per ``--units`` value — or ``mlp``, Dense ReLU layers that take
the window as ``window`` features instead of a sequence (:func:`.pipeline.model_inputs`).

The Keras tutorial's pipeline (``window`` days in, the next day out) without its leaks: the
last ``--test-days`` prices are the test period, the scaler sees training prices only, and the
validation windows are the chronologically last part of the training windows. The model is
always compared with the persistence forecast (tomorrow = today), in dollars.

Outputs in ``--out``: ``model.npz``, ``metrics.json``, ``history.csv``, ``forecast.png`` and
``loss.png``, each written atomically; a failed or interrupted run leaves none of them.
"""
from __future__ import annotations

import sys

from ..files import output_folder, write_json, write_outputs, write_text
from .cli import command
from .data import source_name
from .format import money
from .options import TrainOptions, build_parser, parse
from .pipeline import evaluate, load_data, save_model, train_model, windows_line
from .plots import plot_forecast, plot_loss

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


def parse_args(argv=None):
    """Parse the command line into :class:`TrainOptions`."""
    return parse(TrainOptions, build_parser(TrainOptions, "lstm_np.train", DESCRIPTION, EPILOG), argv)


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    out = output_folder(opts.out, opts.force)
    say = (lambda *a: None) if opts.quiet else print
    series, split = load_data(opts, say)
    say(f"{windows_line(split, series)}; scaler fitted on training prices only")

    model, _, history, predicted = train_model(opts, split, summary=not opts.quiet,
                                               verbose=0 if opts.quiet else 1)
    metrics = evaluate(opts, series, split, predicted, history)
    print_results(metrics)
    write_outputs(out, output_writers(opts, model, series, split, predicted, history, metrics))
    print(f"saved {', '.join(OUTPUT_FILES)} in {out}")
    return 0


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


def output_writers(opts, model, series, split, predicted, history, metrics):
    """File name -> a function writing it, in :data:`OUTPUT_FILES` order."""
    logs = history.history
    rows = ["epoch,loss,val_loss,seconds"]
    for k, seconds in enumerate(history.seconds):
        val = f"{logs['val_loss'][k]:.8g}" if "val_loss" in logs else ""
        rows.append(f"{k + 1},{logs['loss'][k]:.8g},{val},{seconds:.3f}")
    title = (f"{source_name(series.source)} {series.column}: forecast over the test period "
             f"(window {opts.window}, {opts.model.upper()} {','.join(map(str, opts.units))}, "
             f"{metrics['epochs']} epochs)")
    # plot_loss is looked up when the file is written, so a test can replace it here.
    return {
        "model.npz": lambda p: save_model(p, model, opts, series, split, metrics),
        "metrics.json": lambda p: write_json(p, metrics),
        "history.csv": lambda p: write_text(p, "\n".join(rows) + "\n"),
        "forecast.png": lambda p: plot_forecast(split.test_dates, split.test_prices, predicted,
                                                split.naive, title, p),
        "loss.png": lambda p: plot_loss(history, p),
    }


if __name__ == "__main__":
    sys.exit(main())
