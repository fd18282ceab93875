"""Build ``tests/golden/keras_api.json`` from real Keras 3: what ``tests/test_keras_api_golden.py``
checks lstm_np's losses, metric names, EarlyStopping and timeseries windows against.

* ``losses``: each loss function's per-sample values on fixed inputs (float64 and float32);
* ``metric_names``: the ``History`` keys and ``evaluate(return_dict=True)`` keys Keras gives for
  a list of metrics;
* ``early_stopping``: for sequences of monitored values (NaN, ±inf, ties, baselines, negative
  patience ...) the epoch training stops at and the epoch whose weights are restored;
* ``timeseries``: the batches ``timeseries_dataset_from_array`` yields (unshuffled) for a few
  argument sets.

Run from the repository root with Keras installed (``pip install -e ".[bench]"``)::

    python tests/golden/make_keras_api.py

The live test in ``tests/test_keras_api_golden.py`` calls the same functions when Keras is
importable, so the file and real Keras are checked the same way.
"""
import json
import math
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "keras_api.json")

Y_TRUE = [[0.5, -1.0, 2.0], [0.0, 3.0, 1e-9], [-2.0, 0.25, 7.0]]
Y_PRED = [[0.4, 1.5, -2.0], [0.3, 2.0, 0.5], [1.0, 0.25, 6.5]]
LOSSES = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
          "mean_squared_logarithmic_error", "huber", "log_cosh"]
METRICS = ["mae", "mse", "MAPE", "msle", "root_mean_squared_error", "mean_absolute_error",
           "MeanSquaredError", "log_cosh_error"]
STOPPING = [
    dict(values=[float("nan"), 1, .9, .95, .97, .99, .5], patience=2),
    dict(values=[float("inf"), 1, .9, .95, .97], patience=1),
    dict(values=[float("-inf"), 1, .9, .95], patience=1),
    dict(values=[1, 1, 1, 1], patience=1),
    dict(values=[3, 2, 2.5, 1, 1.5, 1.6], patience=-1),
    dict(values=[3, 2, 2.5, 1, 1.5, 1.6], patience=0, min_delta=0.6),
    dict(values=[3, 2, 1.5, 1.2, 1.1, 1.0, .9], patience=2, baseline=1.3),
    dict(values=[.5, .6, .4, .7, .65, .6, .55], patience=2, mode="max"),
    dict(values=[.5, .6, .4, .7, .65, .6, .55], patience=2, monitor="val_mae", mode="min"),
    dict(values=[5, 4, 3, 3.5, 3.6, 2, 3, 4], patience=1, start_from_epoch=2),
]
WINDOWS = [
    dict(sequence_length=3),
    dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=2, start_index=1,
         end_index=15),
    dict(sequence_length=5, sampling_rate=3, batch_size=4, end_index=18),
    dict(sequence_length=2, sequence_stride=3, batch_size=3, start_index=4),
]


def keras_losses():
    import keras

    out = {}
    for dtype in ("float64", "float32"):
        t, p = np.array(Y_TRUE, dtype), np.array(Y_PRED, dtype)
        out[dtype] = {name: np.asarray(getattr(keras.losses, name)(t, p)).tolist()
                      for name in LOSSES}
    return out


def keras_metric_names():
    import keras

    x = np.random.default_rng(0).random((6, 3, 2)).astype("float32")
    y = np.random.default_rng(1).random((6, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2), keras.layers.Dense(1)])
    model.compile("adam", "mse", metrics=METRICS)
    history = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0)
    return {"history": sorted(history.history),
            "evaluate": sorted(model.evaluate(x, y, verbose=0, return_dict=True))}


def stopping_trace(EarlyStopping, model, case):
    """``(stopped epoch, restored weights' epoch)`` of one EarlyStopping run."""
    case = dict(case)
    values, monitor = case.pop("values"), case.pop("monitor", "val_loss")
    stop = EarlyStopping(monitor=monitor, restore_best_weights=True, **case)
    stop.set_model(model)
    model.stop_training = False
    stop.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights_epoch = epoch
        stop.on_epoch_end(epoch, {monitor: value, "loss": 0.0})
        if model.stop_training:
            break
    stop.on_train_end()
    return [epoch, model.weights_epoch]


class FakeModel:
    """Enough of a model for EarlyStopping: its 'weights' are the epoch they belong to."""

    def __init__(self, metrics):
        self.metrics, self.weights_epoch, self.stop_training = metrics, None, False

    def get_weights(self):
        return self.weights_epoch

    def set_weights(self, weights):
        self.weights_epoch = weights


def keras_stopping():
    import keras

    model = FakeModel([])
    return [stopping_trace(keras.callbacks.EarlyStopping, model, case) for case in STOPPING]


def series():
    return np.arange(60, dtype="float64").reshape(20, 3), np.arange(20, dtype="float64") * 10


def keras_windows():
    import keras

    data, targets = series()
    out = []
    for args in WINDOWS:
        ds = keras.utils.timeseries_dataset_from_array(data, targets, **args)
        out.append([[np.asarray(x).tolist(), np.asarray(y).tolist()] for x, y in ds])
    return out


def _plain(value):
    """JSON has no NaN/inf: keep them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def main():
    import keras

    golden = {"keras_version": keras.__version__, "y_true": Y_TRUE, "y_pred": Y_PRED,
              "losses": keras_losses(), "metrics": METRICS,
              "metric_names": keras_metric_names(), "early_stopping": _plain(STOPPING),
              "early_stopping_traces": keras_stopping(), "windows": WINDOWS,
              "timeseries": keras_windows()}
    with open(PATH, "w") as f:
        json.dump(golden, f, indent=1)
    print(f"wrote {PATH} (Keras {keras.__version__})")


if __name__ == "__main__":
    sys.exit(main())
