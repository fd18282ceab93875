"""``python -m lstm_np.predict``: the periods after the last row of a series, with intervals.

The model file written by ``python -m lstm_np.train`` carries everything needed: the weights,
the window length, the target, horizon and input features, the scalers fitted on the training
part, the conformal interval widths and the data source it was trained on (used when neither
``--csv`` nor ``--dataset`` is given). It is read without pickle; files saved before targets,
horizons and intervals existed still work (one step, no interval).

``--days`` defaults to the model's horizon; more days than that feed a close-only model its own
forecasts (recursively), without intervals beyond the calibrated steps. It is at most
:data:`.options.MAX_DAYS`; a forecast of more than :data:`LONG_FORECAST` periods shows its
progress on stderr.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from ..files import check_output
from .cli import UserError, command
from .data import BUNDLED, load_prices, reading_options, source_name
from .reader import is_url
from .format import format_date, format_step, median_step, money, rough_money
from .options import PredictOptions, build_parser, parse
from .targets import feature_values
from .plots import plot_future

DESCRIPTION = """\
Forecast the --days periods after the last row of a series (in its own frequency:
days, or 15 minutes for the 15-minute data), with prediction intervals, using a
model saved by `python -m lstm_np.train` (read without pickle; it knows its window,
target, horizon, features and scalers).
"""

EPILOG = """\
examples:
  python -m lstm_np.predict --model runs/quick/model.npz                 # the data it was trained on
  python -m lstm_np.predict --model runs/quick/model.npz --csv new.csv --json
  python -m lstm_np.predict --model runs/week/model.npz --days 7 --plot week.png
"""


def parse_args(argv=None):
    """Parse the command line into :class:`PredictOptions`."""
    return parse(PredictOptions, build_parser(PredictOptions, "lstm_np.predict", DESCRIPTION, EPILOG),
                 argv)


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    plot = plot_path(opts)  # before any work: a --plot that must not be written ends the run here
    # Reading the model loads Numba and the data pandas: imported once the flags are known good.
    import pandas as pd

    from .pipeline import forecast_future, model_spec, read_model

    model, extra, _, _ = read_model(opts.model)
    spec = model_spec(extra)
    reading = reading_options(opts)
    if opts.csv is None and opts.dataset is None:
        source = extra.get("source") or "btc-daily"
        if is_url(source):  # a model file must not make predict go online by itself
            raise UserError(f"the model was trained on data from {source}, which predict fetches "
                            f"only when asked: give --csv {source} (or another file)")
        column = opts.column or extra.get("column")
        date_column = opts.date_column or extra.get("date_column")
        stored = extra.get("reading")  # the training file's --decimal ..., unless overridden
        reading = {**(stored if isinstance(stored, dict) else {}), **reading}
    else:  # another file may name its columns differently: detect unless told
        source, column, date_column = opts.csv or opts.dataset, opts.column, opts.date_column
    if plot is not None:  # the model's own data file is an input too
        plot = plot_path(opts, source)
    series = load_prices(source, column=column, date_column=date_column, features=spec.features,
                         **reading)
    days = opts.days or spec.horizon
    step = median_step(series.dates)
    try:  # dates are written with Python's datetime, which ends with the year 9999
        beyond = (series.dates[-1] + step * days).year > 9999
    except (OverflowError, ValueError):  # pandas' OutOfBoundsDatetime is a ValueError
        beyond = True
    if beyond:
        raise UserError(f"--days {days} periods of {format_step(step)} after {series.dates[-1]:%Y-%m-%d} "
                        "end after the year 9999, the last date that can be written; ask for fewer --days")
    forecast, low, high = forecast_future(model, spec, series, days, progress=progress_bar(days))
    warnings_ = input_notes(series, spec, extra)

    dates = series.dates
    future = pd.DatetimeIndex([dates[-1] + step * (k + 1) for k in range(days)])
    shown = dates.append(future)  # one date format for all dates
    rows = [{"date": format_date(d, shown), "forecast": float(f),
             "low": None if math.isnan(lo) else float(lo), "high": None if math.isnan(hi) else float(hi)}
            for d, f, lo, hi in zip(future, forecast, low, high)]
    if plot is not None:
        recent = max(4 * days, spec.window)  # enough history to see the fan's scale
        plot_future(dates[-recent:], series.prices[-recent:], future, forecast, low, high,
                    spec.interval, f"{source_name(series.source)} {series.column}: the next "
                    f"{days} periods after {format_date(dates[-1], shown)} ({spec.kind.upper()}, "
                    f"{spec.target} target)", plot)
        # said on stderr beside --json, whose stdout stays one JSON document
        print(f"wrote the plot to {plot}", file=sys.stderr if opts.json else sys.stdout)
    if opts.json:
        for note in warnings_:  # stdout stays one JSON document
            print(f"note: {note}", file=sys.stderr)
        print(json.dumps(rows, indent=2, allow_nan=False))
        return 0
    for note in series.notes:
        print(f"  data: {note}")
    for note in warnings_:
        print(f"  note: {note}")
    level = (f"{100 * spec.interval:g}% interval" if spec.widths
             else "no interval: the model was saved without one")
    if days == 1:  # one line, as for the tutorial's one-step model
        r = rows[0]
        band = "" if r["low"] is None else f"{level} {money(r['low'])} to {money(r['high'])}; "
        print(f"{r['date']}: {money(r['forecast'])} ({band}last close "
              f"{format_date(dates[-1], shown)}: {money(float(series.prices[-1]))})")
        return 0
    print(f"last close {format_date(dates[-1], shown)}: {money(float(series.prices[-1]))}")
    width = max(len(r["date"]) for r in rows)
    print(f"{'date':<{width}}{'forecast':>14}{'low':>14}{'high':>14}   ({level})")
    for r in rows:
        bounds = ("-" if r[k] is None else money(r[k]) for k in ("low", "high"))
        print(f"{r['date']:<{width}}{money(r['forecast']):>14}" + "".join(f"{b:>14}" for b in bounds))
    if any(r["low"] is None for r in rows):
        print(f"(no interval where the model has no calibrated width: it was calibrated for "
              f"{len(spec.widths)} step(s))")
    return 0


LONG_FORECAST = 500  # recursive steps above which the forecast shows its progress on stderr


def progress_bar(days):
    """A ``progress(done, total)`` drawing a progress bar on stderr for a forecast of more than
    :data:`LONG_FORECAST` periods (redrawn in place on a terminal; else about 20 lines), or None."""
    if days <= LONG_FORECAST:
        return None
    from .tasks import Progress

    bar, every = Progress(days, label="forecast periods"), max(1, days // 20)

    def progress(done, total):
        if bar.tty or done % every == 0 or done == total:
            bar.update(done)
        if done == total:
            bar.close()
    return progress


def plot_path(opts, source=None):
    """The file ``--plot`` names, checked: a new file (or an existing one with ``--force``),
    never the model file, the CSV file or anything but a regular file (one sentence if not)."""
    if not opts.plot:
        return None
    return check_output(opts.plot, overwrite=opts.force, inputs=(opts.model, opts.csv, None if source in BUNDLED else source),
                        shown=f"--plot {opts.plot}", force="--force")


def input_notes(series, spec, extra):
    """What makes this forecast less trustworthy than the test period's: inputs outside the
    range the scalers saw in training (train says the same of test prices), or data whose step
    differs from the training data's (a daily model on 15-minute prices)."""
    import pandas as pd

    notes = []
    columns = np.asarray(series.inputs, dtype=np.float64)[-(spec.window + spec.lag):]
    for j, (name, scaler) in enumerate(zip(spec.features, spec.scalers)):
        values = feature_values(name, columns[:, j], spec.target)[spec.lag:]
        what = (f"the last {spec.window} prices" if name == "close" and spec.target == "price"
                else f"the last {spec.window} {name} inputs ({'log' if name == 'volume' else spec.target})")
        low, high = scaler.feature_range
        if values.max() > scaler.data_max_:
            notes.append(f"{what} reach {rough_money(values.max())}, above the training maximum "
                         f"{rough_money(scaler.data_max_)}: the scaled inputs exceed {high:g}")
        if values.min() < scaler.data_min_:
            notes.append(f"{what} fall to {rough_money(values.min())}, below the training minimum "
                         f"{rough_money(scaler.data_min_)}: the scaled inputs go below {low:g}")
    trained = extra.get("step_seconds")
    if isinstance(trained, (int, float)) and trained > 0 and len(series.dates) > 1:
        step = median_step(series.dates)
        if abs(step.total_seconds() / trained - 1) > 0.01:
            notes.append(f"the data's step is {format_step(step)} but the model was trained on steps of "
                         f"{format_step(pd.Timedelta(seconds=trained))}: each forecast step is one of "
                         "the model's steps, not one of the data's")
    return notes


if __name__ == "__main__":
    sys.exit(main())
