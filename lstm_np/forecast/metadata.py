"""What ``lstm_np.train`` stores beside a model (a model file's ``extra``), checked before use.

The core's :func:`lstm_np.load_model` checks a model file's weights and configuration and
returns its ``extra`` as a JSON object it knows nothing about; the forecasting commands read
from it the model kind, window, target, horizon, strategy, input features and their scalers,
the interval widths, and how to reload the training data (source, columns, reading options).
:func:`check_extra` refuses, with one clause, any field :func:`.pipeline.read_model` and
``predict`` could not use as it is, before any of it is used. Fields a file from before
targets, horizons and features lacks take their old meaning (a one-step price model on the
close, no intervals).
"""
from __future__ import annotations

import json
import math
import numbers

from .options import model_kinds
from .reader import DECIMALS, THOUSANDS
from .targets import FEATURES, STRATEGIES, TARGETS

__all__ = ["ExtraError", "check_extra"]

MAX_WINDOW = 1_000_000  # the model file format's limit on timesteps
DELIMITERS = (",", ";", "|", "tab", "\t")  # --delimiter's choices
TEXT_FIELDS = ("column", "date_column", "last_date", "test_start", "test_end")


class ExtraError(ValueError):
    """Why a model file's ``extra`` cannot be used: one clause, completed with the file's name
    by :func:`.pipeline.read_model`."""


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _show(value):
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_extra(extra, output_shape):
    """Check every field of a model file's ``extra`` that the forecasting commands use.

    Parameters
    ----------
    extra : object
        The decoded JSON of the file's extra data.
    output_shape : tuple of int
        The model's output shape per window, which must be what the horizon and strategy need.

    Raises
    ------
    ExtraError
        With the first problem, as a clause (``"its window is 0, not a positive integer"``).
    """
    if not isinstance(extra, dict):
        raise ExtraError("its extra data is not a JSON object")
    if "scaler" not in extra:
        raise ExtraError("it holds no scaler")
    _check_scaler(extra["scaler"], "its scaler")
    kind = extra.get("model", "lstm")
    if kind not in model_kinds():
        raise ExtraError(f"its model kind is {_show(kind)}, not one of {', '.join(model_kinds())}")
    window = extra.get("window")
    if not _is_int(window) or not 1 <= window <= MAX_WINDOW:
        raise ExtraError(f"its window is {_show(window)}, not a positive integer")
    target = extra.get("target", "price")
    if target not in TARGETS:
        raise ExtraError(f"its target is {_show(target)}, not one of {', '.join(TARGETS)}")
    horizon = extra.get("horizon", 1)
    if not _is_int(horizon) or not 1 <= horizon <= MAX_WINDOW:
        raise ExtraError(f"its horizon is {_show(horizon)}, not a positive integer")
    strategy = extra.get("strategy", "direct")
    if strategy not in STRATEGIES:
        raise ExtraError(f"its strategy is {_show(strategy)}, not one of {', '.join(STRATEGIES)}")
    _check_features(extra, strategy)
    outputs = horizon if strategy == "direct" else 1
    if tuple(output_shape) != (outputs,):
        raise ExtraError(f"its model gives outputs of shape {tuple(output_shape)} per window, "
                         f"not the {'one price' if outputs == 1 else f'{outputs} steps'} a "
                         f"{strategy} forecast of {horizon} step(s) needs")
    _check_interval(extra, horizon)
    _check_reading(extra)


def _check_scaler(scaler, what):
    if not isinstance(scaler, dict):
        raise ExtraError(f"{what} is not a JSON object")
    low_high = scaler.get("feature_range", [0, 1])
    if not (isinstance(low_high, list) and len(low_high) == 2 and
            all(_is_number(v) for v in low_high) and low_high[0] < low_high[1]):
        raise ExtraError(f"{what}'s feature_range is {_show(low_high)}, not two finite "
                         "numbers low < high")
    for key in ("data_min", "data_max"):
        if not _is_number(scaler.get(key)):
            raise ExtraError(f"{what}'s {key} is {_show(scaler.get(key))}, not a finite number")
    low, high = (float(v) for v in low_high)
    data_min, data_max = float(scaler["data_min"]), float(scaler["data_max"])
    if data_min > data_max:
        raise ExtraError(f"{what}'s data_min ({data_min:g}) exceeds its data_max ({data_max:g})")
    data_range = data_max - data_min
    # MinMaxScaler's scale_ and min_ must be finite numbers to transform with
    scale = (high - low) / (data_range or 1.0) if math.isfinite(data_range) else math.inf
    if not (math.isfinite(high - low) and math.isfinite(scale) and
            math.isfinite(low - data_min * scale)):
        raise ExtraError(f"{what}'s range ({data_min:g} to {data_max:g} onto {low:g} to "
                         f"{high:g}) is too wide or too narrow to compute with")


def _check_features(extra, strategy):
    features = extra.get("features", ["close"])
    if not (isinstance(features, list) and features and
            all(isinstance(f, str) and f in FEATURES for f in features)):
        raise ExtraError(f"its features are {_show(features)}, not a list of "
                         f"{', '.join(FEATURES)}")
    if features[0] != "close" or len(set(features)) != len(features):
        raise ExtraError(f"its features are {_show(features)}; they must start with close and "
                         "name each column once")
    if strategy == "recursive" and len(features) > 1:
        raise ExtraError(f"its recursive strategy feeds the model its own forecasts, which "
                         f"cannot work with the features {', '.join(features)}")
    scalers = extra.get("feature_scalers")
    if scalers is None:
        if len(features) > 1:
            raise ExtraError(f"it has {len(features)} features but no feature_scalers")
        return
    if not isinstance(scalers, list) or len(scalers) != len(features):
        count = len(scalers) if isinstance(scalers, list) else _show(scalers)
        raise ExtraError(f"it has {len(features)} feature(s) but {count} feature_scalers")
    for name, scaler in zip(features, scalers):
        _check_scaler(scaler, f"its {name} scaler")


def _check_interval(extra, horizon):
    level = extra.get("interval", 0.0)
    level = 0.0 if level is None else level
    if not _is_number(level) or not 0 <= level < 1:
        raise ExtraError(f"its interval is {_show(level)}, not a coverage in [0, 1)")
    widths = extra.get("interval_widths", [])
    if not isinstance(widths, list) or len(widths) > horizon or \
            not all(_is_number(w) and w >= 0 for w in widths):
        raise ExtraError(f"its interval_widths are {_show(widths)}, not at most {horizon} "
                         "finite numbers >= 0")
    if widths and not level:
        raise ExtraError("it has interval widths but no interval level")
    if not isinstance(extra.get("interval_relative", False), bool):
        raise ExtraError(f"its interval_relative is {_show(extra['interval_relative'])}, "
                         "not true or false")
    if widths and extra.get("interval_relative", False) and max(widths) > 700:
        raise ExtraError(f"its relative interval widths reach {max(widths):g}, whose exponent "
                         "overflows")


def _check_reading(extra):
    """How predict reloads the training data: the source, its columns and reading options."""
    source = extra.get("source")
    if source is not None and not (isinstance(source, str) and source.strip()):
        raise ExtraError(f"its source is {_show(source)}, not a file name, URL or bundled data set")
    for key in TEXT_FIELDS:
        if extra.get(key) is not None and not isinstance(extra[key], str):
            raise ExtraError(f"its {key} is {_show(extra[key])}, not a text")
    step = extra.get("step_seconds")
    if step is not None and not (_is_number(step) and step > 0):
        raise ExtraError(f"its step_seconds is {_show(step)}, not a positive number")
    reading = extra.get("reading", {})
    if reading is None:
        return
    if not isinstance(reading, dict):
        raise ExtraError(f"its reading options are {_show(reading)}, not a JSON object")
    allowed = {"decimal": tuple(DECIMALS), "thousands": tuple(THOUSANDS), "delimiter": DELIMITERS}
    for key, value in reading.items():
        if value is None:
            continue
        if key in allowed:
            good = value in allowed[key]
        elif key == "date_format":
            good = isinstance(value, str) and "%" in value
        elif key in ("timeout", "max_bytes"):
            good = _is_number(value) and value > 0
        else:
            raise ExtraError(f"its reading options hold {_show(key)}, which no command sets")
        if not good:
            raise ExtraError(f"its reading option {key} is {_show(value)}, which no command "
                             "accepts")
