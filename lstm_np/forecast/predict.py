"""``python -m lstm_np.predict``: the next step's price from the last window of a series.

The model file written by ``python -m lstm_np.train`` carries everything needed: the weights,
the window length, the scaler fitted on the training prices and the data source it was trained
on (used when neither ``--csv`` nor ``--dataset`` is given). It is read without pickle.
"""
from __future__ import annotations

import json
import sys

import pandas as pd

from .cli import command
from .data import load_prices, reading_options
from .format import format_date, format_step, median_step, money, rough_money
from .options import PredictOptions, build_parser, parse
from .pipeline import forecast_next, read_model

DESCRIPTION = """\
Forecast the price one step after the last price of a series, from its last
--window prices, with a model saved by `python -m lstm_np.train` (read without pickle).
"""

EPILOG = """\
examples:
  python -m lstm_np.predict --model runs/quick/model.npz                 # the data it was trained on
  python -m lstm_np.predict --model runs/quick/model.npz --csv new.csv --json
"""


def parse_args(argv=None):
    """Parse the command line into :class:`PredictOptions`."""
    return parse(PredictOptions, build_parser(PredictOptions, "lstm_np.predict", DESCRIPTION, EPILOG),
                 argv)


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    model, extra, scaler, window = read_model(opts.model)
    reading = reading_options(opts)
    if opts.csv is None and opts.dataset is None:
        source = extra.get("source") or "btc-daily"
        column = opts.column or extra.get("column")
        date_column = opts.date_column or extra.get("date_column")
        stored = extra.get("reading")  # the training file's --decimal ..., unless overridden
        reading = {**(stored if isinstance(stored, dict) else {}), **reading}
    else:  # another file may name its columns differently: detect unless told
        source, column, date_column = opts.csv or opts.dataset, opts.column, opts.date_column
    series = load_prices(source, column=column, date_column=date_column, **reading)
    price = forecast_next(model, scaler, window, series, kind=str(extra.get("model", "lstm")))
    warnings_ = input_notes(series, scaler, window, extra)

    dates = series.dates
    next_date = dates[-1] + median_step(dates)
    shown = dates.append(pd.DatetimeIndex([next_date]))  # one date format for both dates
    result = {"date": format_date(next_date, shown), "forecast": price,
              "last_date": format_date(dates[-1], shown), "last_price": float(series.prices[-1]),
              "window": window, "source": series.source, "column": series.column,
              "model": str(opts.model), "notes": series.notes + warnings_}
    if opts.json:
        print(json.dumps(result, indent=2, allow_nan=True))
    else:
        for note in series.notes:
            print(f"  data: {note}")
        for note in warnings_:
            print(f"  note: {note}")
        print(f"{result['date']}: {money(price)} (last close {result['last_date']}: "
              f"{money(result['last_price'])})")
    return 0


def input_notes(series, scaler, window, extra):
    """What makes this forecast less trustworthy than the test period's: inputs outside the
    training prices' range (train says the same of test prices), or a different time step."""
    notes, last = [], series.prices[-window:]
    low, high = scaler.feature_range
    if last.max() > scaler.data_max_:
        notes.append(f"the last {window} prices reach {rough_money(last.max())}, above the training "
                     f"maximum {rough_money(scaler.data_max_)}: the scaled inputs exceed {high:g}")
    if last.min() < scaler.data_min_:
        notes.append(f"the last {window} prices fall to {rough_money(last.min())}, below the training "
                     f"minimum {rough_money(scaler.data_min_)}: the scaled inputs go below {low:g}")
    trained = extra.get("step_seconds")
    if isinstance(trained, (int, float)) and trained > 0 and len(series.dates) > 1:
        step = median_step(series.dates)
        if abs(step.total_seconds() / trained - 1) > 0.01:
            notes.append(f"the data's step is {format_step(step)} but the model was trained on steps of "
                         f"{format_step(pd.Timedelta(seconds=trained))}: it forecasts one of its own steps ahead")
    return notes


if __name__ == "__main__":
    sys.exit(main())
