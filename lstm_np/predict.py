"""``python -m lstm_np.predict``: the next step's price from the last window of a series.

The model file written by ``python -m lstm_np.train`` carries everything needed: the weights,
the window length, the scaler fitted on the training prices and the data source it was trained
on (used when neither ``--csv`` nor ``--dataset`` is given). It is read without pickle.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cli import ArgumentParser, command, format_date, money
from .data import BUNDLED, DataError, MinMaxScaler, load_prices
from .models import ModelFileError, load_model
from .train import input_shape, model_inputs

DESCRIPTION = """\
Forecast the price one step after the last price of a series, from its last
--window prices, with a model saved by `python -m lstm_np.train` (read without pickle).
"""

EPILOG = """\
examples:
  python -m lstm_np.predict --model runs/quick/model.npz                 # the data it was trained on
  python -m lstm_np.predict --model runs/quick/model.npz --csv new.csv --json
"""


@dataclass
class PredictOptions:
    """Every option of ``python -m lstm_np.predict``."""

    model: str
    csv: str | None = None
    dataset: str | None = None
    column: str | None = None
    date_column: str | None = None
    json: bool = False


def build_parser():
    p = ArgumentParser(prog="lstm_np.predict", epilog=EPILOG,
                       description=DESCRIPTION)
    p.add_argument("--model", required=True, metavar="PATH",
                   help="model file written by lstm_np.train (DIR/model.npz)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--csv", metavar="PATH_OR_URL",
                        help="price CSV file or URL (default: the data the model was trained on)")
    source.add_argument("--dataset", choices=sorted(BUNDLED),
                        help="a bundled BTC-USD file (default: the data the model was trained on)")
    p.add_argument("--column", metavar="NAME", help="price column (default: as in training for the training "
                                    "data, else the first of Close, close, Adj Close, Price)")
    p.add_argument("--date-column", metavar="NAME", help="date column (default: as in training for the training "
                                         "data, else the first of Date, date, day, Datetime, timestamp)")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a sentence")
    return p


def parse_args(argv=None):
    """Parse the command line into :class:`PredictOptions`."""
    return PredictOptions(**vars(build_parser().parse_args(argv)))


def read_model(path):
    """The model and the training details stored beside it; refuses files train did not write."""
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


def forecast(model, scaler, window, series, kind="lstm"):
    """The forecast for the step after the series' last price, in the series' units."""
    if len(series.prices) < window:
        raise DataError(f"the series has {len(series.prices)} prices but the model needs the last "
                        f"{window}; give a longer file")
    x = model_inputs(kind, scaler.transform(series.prices[-window:]).reshape(1, window, 1))
    with np.errstate(over="ignore", invalid="ignore"):
        y = float(scaler.inverse_transform(model.predict(x)).ravel()[0])
    if not np.isfinite(y):
        raise ModelFileError("the model's forecast is not a finite number, so its weights are "
                             "broken; retrain it with python -m lstm_np.train")
    return y


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    model, extra, scaler, window = read_model(opts.model)
    if opts.csv is None and opts.dataset is None:
        source = extra.get("source") or "btc-daily"
        column = opts.column or extra.get("column")
        date_column = opts.date_column or extra.get("date_column")
    else:  # another file may name its columns differently: detect unless told
        source, column, date_column = opts.csv or opts.dataset, opts.column, opts.date_column
    series = load_prices(source, column=column, date_column=date_column)
    price = forecast(model, scaler, window, series, kind=str(extra.get("model", "lstm")))

    dates = series.dates
    step = (dates[1:] - dates[:-1]).median()
    next_date = dates[-1] + step
    shown = dates.append(pd.DatetimeIndex([next_date]))  # one date format for both dates
    result = {"date": format_date(next_date, shown), "forecast": price,
              "last_date": format_date(dates[-1], shown), "last_price": float(series.prices[-1]),
              "window": window, "source": series.source, "column": series.column,
              "model": str(opts.model), "notes": series.notes}
    if opts.json:
        print(json.dumps(result, indent=2, allow_nan=True))
    else:
        for note in series.notes:
            print(f"  data: {note}")
        print(f"{result['date']}: {money(price)} (last close {result['last_date']}: "
              f"{money(result['last_price'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
