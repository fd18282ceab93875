"""The forecasting pipeline: price data in, a trained network judged against the naive forecast out.

Modules, from data to commands:

* :mod:`.data` — load and clean price CSVs, the min-max scaler, windows, the leak-free split;
* :mod:`.pipeline` — build, train, forecast, evaluate, save and read a run's model;
* :mod:`.options` — every option defined once, as dataclass fields that are also flags;
* :mod:`.plots`, :mod:`.format` — the pictures and the way numbers, dates and names are written;
* :mod:`.folds`, :mod:`.stats`, :mod:`.tasks` — a backtest's rolling-origin folds, its statistics
  against the naive forecast (MASE, direction, Diebold–Mariano), and the task runner that trains
  in this process or on Dask (used by ``compare`` too);
* :mod:`.space` — the search space of a hyperparameter search, its axes derived from the options;
* :mod:`.cli` and the commands :mod:`.train`, :mod:`.predict`, :mod:`.compare`, :mod:`.backtest`,
  :mod:`.tune` (``python -m lstm_np.train`` or ``python -m lstm_np.forecast.train``, and so on).

The commands are not imported here, so ``python -m lstm_np.forecast.train`` runs cleanly, and
neither is anything else until it is asked for (see ``__getattr__`` below).
"""
from .._lazy import lazy_attributes as _lazy_attributes

# Public name -> the module defining it. Imported on first use (PEP 562): the data modules load
# pandas and the pipeline loads Numba, which a command's --help should not wait for.
_SOURCES = {
    **dict.fromkeys(["BUNDLED", "DataError", "MinMaxScaler", "PriceSeries", "Split", "describe",
                     "load_prices", "make_windows", "split_series"], ".data"),
    **dict.fromkeys(["CompareOptions", "DataOptions", "MODELS", "NAMES", "PredictOptions",
                     "TrainingOptions", "TrainOptions", "TuneOptions"], ".options"),
    **dict.fromkeys(["Tune", "tune"], ".tune"),  # pipeline re-exports NAMES
    **dict.fromkeys(["OPTIMIZERS", "build_model", "error_metrics", "evaluate",
                     "forecast_next", "forecast_windows", "input_shape", "last_value", "load_data",
                     "make_optimizer", "model_inputs", "read_model", "save_model", "train_model"],
                    ".pipeline"),
}

__all__ = ["BUNDLED", "CompareOptions", "DataError", "DataOptions", "MODELS", "MinMaxScaler", "NAMES",
           "OPTIMIZERS", "PredictOptions", "PriceSeries", "Split", "TrainOptions", "TrainingOptions",
           "Tune", "TuneOptions", "build_model", "describe", "error_metrics", "evaluate", "forecast_next",
           "forecast_windows", "input_shape", "last_value", "load_data", "load_prices", "make_optimizer",
           "make_windows", "model_inputs", "read_model", "save_model", "split_series", "train_model", "tune"]

__getattr__, __dir__ = _lazy_attributes(__name__, _SOURCES, globals())
