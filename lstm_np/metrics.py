"""Regression metrics with Keras 3's names and semantics (``keras.metrics``).

A metric accumulates over batches: ``update_state(y_true, y_pred)`` adds a batch,
``result()`` is the value so far, ``reset_state()`` starts again. ``fit`` resets every metric at
the start of each epoch and reports ``result()`` at its end, so an epoch's ``mae`` is the mean
over all its samples of the per-sample errors (with the weights of the moment each batch was
seen, and dropout on, as in Keras); ``evaluate`` and the ``val_`` values use the whole data
with dropout off.

``model.compile(metrics=[...])`` accepts what Keras 3's ``metrics.get`` does for regression —
the class names (``"MeanAbsoluteError"``), their snake-case names (``"mean_absolute_error"``,
``"root_mean_squared_error"``), the aliases ``mse, MSE, mae, MAE, mape, MAPE, msle, MSLE`` —
plus ``"rmse"`` (an lstm_np convenience: Keras 3 refuses that string), metric objects, and loss
functions such as ``keras.losses.huber``. As in Keras, a metric given as a string is reported
under that string (``"mae"`` → ``history["mae"]``, ``history["val_mae"]``), an object under its
``name``, a function under its ``__name__``; a repeated name gets ``_1``, ``_2``....

>>> import numpy as np
>>> m = RootMeanSquaredError()
>>> m.update_state([[0.0], [0.0]], [[3.0], [4.0]])
>>> round(m.result(), 4)
3.5355
"""
import re

import numpy as np

from . import losses


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state`` and a ``name``."""

    default_name = "metric"
    #: "down" if smaller is better, "up" if larger is; callbacks with mode="auto" read it
    direction = None

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred):
        """The metric of this one batch (Keras's stateless call), leaving the state alone."""
        fresh = type(self).__new__(type(self))
        fresh.__dict__.update(self.__dict__)
        fresh.reset_state()
        fresh.update_state(y_true, y_pred)
        return fresh.result()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetricWrapper(Metric):
    """The running mean over samples of ``fn(y_true, y_pred)`` (one value per sample)."""

    def __init__(self, fn, name=None, dtype=None):
        self.fn = fn
        if getattr(fn, "loss_class", None) is not None:
            self.direction = "down"       # a loss function: errors fall (as in Keras)
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("lstm_np metrics do not take sample_weight")
        values = np.asarray(self.fn(y_true, y_pred), dtype=np.float64)
        self.total += float(np.sum(values))
        self.count += values.size


def _wrapper(loss_function, class_name, default_name):
    def __init__(self, name=default_name, dtype=None):
        MeanMetricWrapper.__init__(self, loss_function, name=name)

    return type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "default_name": default_name, "__module__": __name__,
        "__doc__": f"The running mean of ``{loss_function.__name__}`` "
                   f"(``keras.metrics.{class_name}``)."})


MeanSquaredError = _wrapper(losses.mean_squared_error, "MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _wrapper(losses.mean_absolute_error, "MeanAbsoluteError",
                             "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper(losses.mean_absolute_percentage_error,
                                       "MeanAbsolutePercentageError",
                                       "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper(losses.mean_squared_logarithmic_error,
                                       "MeanSquaredLogarithmicError",
                                       "mean_squared_logarithmic_error")
LogCoshError = _wrapper(losses.log_cosh, "LogCoshError", "logcosh")


class RootMeanSquaredError(Metric):
    """``sqrt(mean((y_pred - y_true)²))`` over every element seen since the last reset."""

    default_name = "root_mean_squared_error"
    direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("lstm_np metrics do not take sample_weight")
        y_true, y_pred = losses._pair(y_true, y_pred)
        error = np.square(y_pred - y_true, dtype=np.float64)
        self.total += float(np.sum(error))
        self.count += error.size

    def result(self):
        return float(np.sqrt(super().result()))


# the functions, as keras.metrics exports them
mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error
mean_absolute_percentage_error = losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = losses.mean_squared_logarithmic_error
huber = losses.huber
log_cosh = losses.log_cosh

CLASSES = (MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


NAMES = {**{cls.__name__: cls for cls in CLASSES}, **{_snake(c.__name__): c for c in CLASSES},
         "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
         "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
         "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
         "MSLE": MeanSquaredLogarithmicError, "rmse": RootMeanSquaredError}


def get(identifier):
    """A fresh :class:`Metric` for ``identifier``, named as Keras's ``compile`` names it."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier](name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, type):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"unknown metric {identifier!r}; lstm_np supports "
                     f"{', '.join(sorted(NAMES, key=str.lower))}, metric objects and loss "
                     "functions")


def get_list(identifiers):
    """The metrics of ``compile(metrics=...)`` with unique names (``mae``, ``mae_1``, ...)."""
    if identifiers is None:
        return []
    if isinstance(identifiers, (str, Metric)) or callable(identifiers):
        identifiers = [identifiers]
    if isinstance(identifiers, dict):
        raise ValueError("lstm_np models have one output: give metrics as a list")
    found, taken = [], set()
    for identifier in identifiers:
        metric = get(identifier)
        base, k = metric.name, 1
        while metric.name in taken:
            metric.name, k = f"{base}_{k}", k + 1
        taken.add(metric.name)
        found.append(metric)
    return found


__all__ = ["Metric", "MeanMetricWrapper", *[c.__name__ for c in CLASSES],
           "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "huber", "log_cosh", "get"]
