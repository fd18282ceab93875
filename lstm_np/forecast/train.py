"""``python -m lstm_np.train``: train the Bitcoin LSTM and judge it against the naive forecast.

``--model`` picks the network: ``lstm`` (the tutorial's), ``gru``, ``rnn`` (SimpleRNN) — each
stacked as ``RNN(u) -> Dropout`` per ``--units`` value — or ``mlp``, Dense ReLU layers that take
the window as ``window`` features instead of a sequence (:func:`.pipeline.model_inputs`).

The Keras tutorial's pipeline (``window`` days in, the next day out) without its leaks: the
last ``--test-days`` prices are the test period, the scaler sees training prices only, and the
validation windows are the chronologically last part of the training windows. The model is
always compared with the persistence forecast (tomorrow = today), in dollars.

Beyond the tutorial: ``--target`` (log returns or differences instead of prices),
``--horizon`` (several steps from each origin, ``--strategy direct`` or ``recursive``),
``--features`` (volume, high, low, open beside the close), ``--patience`` (early stopping on
``val_loss``, keeping the best epoch) and ``--interval`` (split-conformal prediction intervals
from the validation windows; on by default, 0.9). Every metric stays in dollars against naive.

Outputs in ``--out``: ``model.npz``, ``metrics.json``, ``history.csv``, ``forecast.png`` and
``loss.png`` (and ``steps.png``, errors by horizon step, for ``--horizon`` > 1), each written
atomically; a failed or interrupted run leaves none of them.
"""
from __future__ import annotations

import sys

import numpy as np

from ..files import write_json, write_text
from .cli import command
from .data import source_name
from .format import money
from .options import TrainOptions, build_parser, parse
from .plots import plot_forecast, plot_loss, plot_steps
from .runfolder import output_folder, write_outputs
from .targets import interval_bounds

OUTPUT_FILES = ("model.npz", "metrics.json", "history.csv", "forecast.png", "loss.png")

DESCRIPTION = """\
Train an LSTM (or a GRU, SimpleRNN or MLP: --model) to forecast the next price
from the previous --window prices, then compare it in dollars (MAE, RMSE, MAPE)
with the naive forecast (tomorrow = today) over the last --test-days prices. The scaler is fitted on training prices only.
Options beyond the tutorial: --target (log returns or differences), --horizon N
(t+1 ... t+N, --strategy direct or recursive), --features (volume, high, low, open),
--patience (early stopping) and --interval (conformal prediction intervals, default 0.9).
Writes model.npz, metrics.json, history.csv, forecast.png and loss.png (and steps.png
for --horizon > 1) to --out.
"""

EPILOG = """\
examples:
  python -m lstm_np.train                                   # bundled daily BTC-USD, tutorial settings
  python -m lstm_np.train --epochs 5 --units 32 --out runs/quick
  python -m lstm_np.train --model gru --out runs/gru            # or rnn (SimpleRNN), mlp
  python -m lstm_np.train --csv eth.csv --column Price --date-column Date --test-days 30
  python -m lstm_np.train --target log-return --horizon 7 --features close,volume \
      --patience 10 --interval 0.9 --out runs/week      # a week ahead, with 90% intervals
  python -m lstm_np.predict --model runs/quick/model.npz    # forecast the next day
  python -m lstm_np.predict --model runs/week/model.npz --days 7 --json
"""


def parse_args(argv=None):
    """Parse the command line into :class:`TrainOptions`."""
    return parse(TrainOptions, build_parser(TrainOptions, "lstm_np.train", DESCRIPTION, EPILOG), argv)


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    names = OUTPUT_FILES + (("steps.png",) if opts.horizon > 1 else ())
    out = output_folder(opts.out, opts.force, names=names, inputs=[opts.csv])
    # The pipeline loads pandas and Numba: imported once the flags and the folder are known good.
    from .pipeline import evaluate, load_data, run_once, windows_line

    say = (lambda *a: None) if opts.quiet else print
    series, split = load_data(opts, say)
    say(f"{windows_line(split, series)}; scaler fitted on training prices only")
    check_savable_model(opts, split)

    run = run_once(opts, split, summary=not opts.quiet, verbose=0 if opts.quiet else 1)
    if run.note:
        say(f"  note: {run.note}")
    metrics = evaluate(opts, series, split, run.predicted, run.history, run.spec)
    print_results(metrics)
    writers = output_writers(opts, run.model, series, split, run.predicted, run.history, metrics,
                             run.spec)
    write_outputs(out, writers)
    print(f"saved {', '.join(writers)} in {out}")
    return 0


def check_savable_model(opts, split):
    """Refuse, before training, a network the model file cannot hold (``--units`` with 50
    values: 101 layers), which would otherwise train for nothing and fail when saved."""
    from ..modelfile import check_savable
    from ..models import ModelFileError
    from .cli import UserError
    from .pipeline import build_model, forecast_spec

    spec = forecast_spec(opts, split)
    model = build_model(opts.model, opts.units, opts.dropout, opts.window, opts.seed, opts.dtype,
                        features=len(spec.features), outputs=spec.outputs)
    try:
        check_savable(model.get_config(), {})
    except ModelFileError as err:
        reason = str(err).split(": ", 1)[-1]
        raise UserError(f"--units {','.join(map(str, opts.units))} with --window {opts.window} makes a "
                        f"network that could not be saved ({reason}); give --units fewer or smaller "
                        "values") from None


def print_results(m):
    """The results table in dollars and one sentence saying who wins; by step for a horizon
    above 1; then early stopping and the intervals' coverage."""
    horizon = m.get("horizon", 1)
    what = (f"{m['n_test']} forecasts" if horizon == 1 else
            f"{m['n_test']} origins x {horizon} steps, all steps pooled")
    print(f"\nTest period {m['test_start']} to {m['test_end']} ({what}), in dollars:")
    print(f"{'':10}{'MAE':>14}{'RMSE':>14}{'MAPE':>10}")
    print(f"{'model':10}{money(m['mae']):>14}{money(m['rmse']):>14}{m['mape']:>9.2f}%")
    print(f"{'naive':10}{money(m['naive_mae']):>14}{money(m['naive_rmse']):>14}{m['naive_mape']:>9.2f}%")
    ratios = [m[f"{k}_ratio"] for k in ("mae", "rmse", "mape")]
    print(f"{'ratio':10}" + "".join(f"{'-' if r is None else f'{r:.3f}':>{w}}"
                                    for r, w in zip(ratios, (14, 14, 10))))
    ratio = m["mae_ratio"]
    naive = "tomorrow = today" if horizon == 1 else "the last observed price, for every step"
    if ratio is None:
        print("The naive forecast is exact on this test period, so nothing can beat it.")
    elif m["winner"] == "model":
        print(f"The model wins: its MAE is {100 * (1 - ratio):.1f}% lower than the naive "
              f"forecast's ({naive}).")
    elif ratio < 2:
        print(f"The naive forecast ({naive}) wins: the model's MAE is "
              f"{100 * (ratio - 1):.1f}% higher.")
    else:
        print(f"The naive forecast ({naive}) wins: the model's MAE is "
              f"{ratio:.1f} times the naive forecast's.")
    if horizon > 1:
        print()
        print(step_table(m))
    if m.get("restored_best_weights"):
        stopped = ("did not stop early" if m["epochs_run"] == m["options"]["epochs"]
                   else f"stopped after {m['epochs_run']} epochs")
        print(f"Early stopping (patience {m['options']['patience']}) {stopped}; the weights are "
              f"those of epoch {m['best_epoch']}, the lowest val_loss.")
    if m.get("coverage") is not None:
        print(f"{100 * m['interval']:g}% intervals (split-conformal, calibrated on the "
              f"{m['n_val']} validation windows): {100 * m['coverage']:.1f}% of test prices inside.")


def step_table(m):
    """MAE and RMSE by horizon step against the naive forecast (the last observed price)."""
    coverage = m.get("coverage_by_step")
    rows = [f"{'step':>4}{'MAE':>14}{'naive MAE':>14}{'ratio':>8}{'RMSE':>14}{'naive RMSE':>14}"
            + (f"{'coverage':>10}" if coverage else "")]
    for h in range(m["horizon"]):
        mae, naive = m["mae_by_step"][h], m["naive_mae_by_step"][h]
        ratio = f"{mae / naive:.3f}" if naive else "-"
        rows.append(f"{h + 1:>4}{money(mae):>14}{money(naive):>14}{ratio:>8}"
                    f"{money(m['rmse_by_step'][h]):>14}{money(m['naive_rmse_by_step'][h]):>14}"
                    + (f"{100 * coverage[h]:>9.1f}%" if coverage else ""))
    return "\n".join(rows)


def history_rows(history):
    """history.csv's lines: one per epoch, ``best`` = 1 on the epoch with the lowest val_loss."""
    logs = history.history
    best = None
    if logs.get("val_loss"):
        best = min(range(len(logs["val_loss"])), key=lambda k: logs["val_loss"][k])
    rows = ["epoch,loss,val_loss,seconds,best"]
    for k, seconds in enumerate(history.seconds):
        val = f"{logs['val_loss'][k]:.8g}" if "val_loss" in logs else ""
        rows.append(f"{k + 1},{logs['loss'][k]:.8g},{val},{seconds:.3f},{int(k == best)}")
    return rows


def output_writers(opts, model, series, split, predicted, history, metrics, spec=None):
    """File name -> a function writing it, in :data:`OUTPUT_FILES` order (then ``steps.png``)."""
    from .pipeline import save_model

    rows = history_rows(history)
    horizon = metrics.get("horizon", 1)
    what = "" if horizon == 1 else f", {horizon}-step {getattr(opts, 'strategy', 'direct')}"
    target = "" if split.target == "price" else f", {split.target} target"
    title = (f"{source_name(series.source)} {series.column}: forecast over the test period "
             f"(window {opts.window}, {opts.model.upper()} {','.join(map(str, opts.units))}, "
             f"{metrics['epochs']} epochs{target}{what})")
    paths = np.asarray(predicted, np.float64).reshape(len(split.x_test), -1)
    band = far = None
    if spec is not None and spec.widths:
        low, high = interval_bounds(paths, spec.widths, spec.relative)
        band = (low[:, 0], high[:, 0], spec.interval)
    n = len(paths)
    if horizon > 1:  # the last step's forecasts, each dated on its target day
        h = horizon - 1
        far = {"dates": split.test_dates[h:h + n], "predicted": paths[:, h], "step": horizon,
               "mae": metrics["mae_by_step"][h],
               "low": None if band is None else low[:, h], "high": None if band is None else high[:, h]}
    # plot_loss is looked up when the file is written, so a test can replace it here.
    writers = {
        "model.npz": lambda p: save_model(p, model, opts, series, split, metrics, spec),
        "metrics.json": lambda p: write_json(p, metrics),
        "history.csv": lambda p: write_text(p, "\n".join(rows) + "\n"),
        "forecast.png": lambda p: plot_forecast(split.test_dates[:n], split.test_paths[:, 0],
                                                paths[:, 0], split.test_last, title, p,
                                                band=band, far=far),
        "loss.png": lambda p: plot_loss(history, p),
    }
    if horizon > 1:
        writers["steps.png"] = lambda p: plot_steps(metrics, title, p)
    return writers


if __name__ == "__main__":
    sys.exit(main())
