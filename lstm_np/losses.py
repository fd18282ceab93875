"""Regression losses with Keras 3's names, formulas and defaults (``keras.losses``).

Each loss exists three ways, as in Keras:

* a function ``mean_squared_error(y_true, y_pred)`` returning one value per sample (the mean
  over the last axis), with the short aliases ``mse``, ``mae``, ``mape``, ``msle``;
* a class ``MeanSquaredError()`` whose call ``loss(y_true, y_pred)`` is the mean of those values
  over the batch (Keras's ``"sum_over_batch_size"`` reduction);
* a string for ``model.compile(loss=...)``: ``"mse"``, ``"MSE"``, ``"mean_squared_error"``,
  ``"MeanSquaredError"``, ``"huber"``, ``"Huber"``, ``"log_cosh"``, ``"LogCosh"`` ...

With ``d = y_pred - y_true``, ``ε = 1e-7`` (``keras.backend.epsilon()``), elementwise:

=====================  ==============================================================
mean_squared_error     ``d²``
mean_absolute_error    ``|d|``
mean_absolute_         ``100 · |d| / max(|y_true|, ε)``
percentage_error
mean_squared_          ``(log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))²``
logarithmic_error
huber (δ = 1)          ``½ d²`` where ``|d| ≤ δ``, else ``δ·|d| − ½ δ²``
log_cosh               ``log(cosh(d))``, computed as ``d + softplus(−2d) − log 2``
=====================  ==============================================================

Training uses :meth:`Loss.value_and_grad`, which also returns the gradient with respect to
``y_pred`` (each loss is the mean of an elementwise function, so the gradient is that
function's derivative divided by the number of elements). Every derivative is checked by
finite differences in ``tests/test_losses_metrics.py``.
"""
import numpy as np

EPSILON = 1e-7  # keras.backend.epsilon()


def _pair(y_true, y_pred):
    """Both as arrays of ``y_pred``'s float dtype, of one rank (Keras's
    ``squeeze_or_expand_to_same_rank``: a trailing axis of length 1 is added or dropped)."""
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float32)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    return y_true, y_pred


class Loss:
    """Base class: a loss is the mean of :meth:`elementwise` over every element.

    Subclasses define ``elementwise(y_true, y_pred)`` and ``derivative(y_true, y_pred)`` (of
    the elementwise value with respect to ``y_pred``).
    """

    #: Keras's default ``name`` of the class
    default_name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in ("sum_over_batch_size", "mean"):
            raise ValueError(f"lstm_np losses support reduction='sum_over_batch_size' (Keras's "
                             f"default), got {reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction

    def elementwise(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def per_sample(self, y_true, y_pred):
        """One value per sample: the mean over the last axis (Keras's loss functions)."""
        y_true, y_pred = _pair(y_true, y_pred)
        return np.mean(self.elementwise(y_true, y_pred), axis=-1)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("lstm_np losses do not take sample_weight")
        return float(np.mean(self.per_sample(y_true, y_pred)))

    def value_and_grad(self, y_true, y_pred):
        """The loss and its gradient with respect to ``y_pred`` (same shape). The shapes must
        match exactly: ``(N, 1) - (N,)`` would broadcast into a plausible but wrong loss."""
        if np.shape(y_pred) != np.shape(y_true):
            raise ValueError(f"the targets have shape {np.shape(y_true)} but the predictions "
                             f"{np.shape(y_pred)}; they must match exactly")
        if np.size(y_pred) == 0:
            raise ValueError("a loss needs at least one sample")
        y_true, y_pred = _pair(y_true, y_pred)
        value = float(np.mean(self.elementwise(y_true, y_pred)))
        return value, self.derivative(y_true, y_pred) * (1.0 / y_pred.size)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class MeanSquaredError(Loss):
    default_name = "mean_squared_error"

    def elementwise(self, y_true, y_pred):
        return np.square(y_true - y_pred)

    def derivative(self, y_true, y_pred):
        return 2 * (y_pred - y_true)


class MeanAbsoluteError(Loss):
    default_name = "mean_absolute_error"

    def elementwise(self, y_true, y_pred):
        return np.abs(y_true - y_pred)

    def derivative(self, y_true, y_pred):
        return np.sign(y_pred - y_true)


class MeanAbsolutePercentageError(Loss):
    default_name = "mean_absolute_percentage_error"

    def elementwise(self, y_true, y_pred):
        return 100 * np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON))

    def derivative(self, y_true, y_pred):
        return 100 * np.sign(y_pred - y_true) / np.maximum(np.abs(y_true), EPSILON)


class MeanSquaredLogarithmicError(Loss):
    default_name = "mean_squared_logarithmic_error"

    def _logs(self, y_true, y_pred):
        eps = y_pred.dtype.type(EPSILON)
        return np.log(np.maximum(y_pred, eps) + 1), np.log(np.maximum(y_true, eps) + 1)

    def elementwise(self, y_true, y_pred):
        first, second = self._logs(y_true, y_pred)
        return np.square(first - second)

    def derivative(self, y_true, y_pred):
        first, second = self._logs(y_true, y_pred)
        eps = y_pred.dtype.type(EPSILON)
        # max(y_pred, ε) passes the gradient where y_pred >= ε (TensorFlow's Maximum rule)
        return 2 * (first - second) * (y_pred >= eps) / (np.maximum(y_pred, eps) + 1)


class Huber(Loss):
    """Quadratic for errors up to ``delta``, linear beyond (``keras.losses.Huber``)."""

    default_name = "huber_loss"

    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction)
        self.delta = float(delta)
        if not self.delta >= 0:
            raise ValueError(f"Huber's delta must be a non-negative number, got {delta!r}")

    def elementwise(self, y_true, y_pred):
        error = y_pred - y_true
        delta = y_pred.dtype.type(self.delta)
        half = y_pred.dtype.type(0.5)
        return np.where(np.abs(error) <= delta, half * np.square(error),
                        delta * np.abs(error) - half * np.square(delta))

    def derivative(self, y_true, y_pred):
        error = y_pred - y_true
        return np.where(np.abs(error) <= self.delta, error, self.delta * np.sign(error))

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(Loss):
    default_name = "log_cosh"

    def elementwise(self, y_true, y_pred):
        x = y_pred - y_true
        # log 2 rounded to float32 first, as Keras's ops.log(2.0) is (1.9e-9 off in float64)
        return x + np.logaddexp(0, -2 * x) - x.dtype.type(np.log(np.float32(2)))

    def derivative(self, y_true, y_pred):
        return np.tanh(y_pred - y_true)


def _function(loss_class, name):
    def loss_function(y_true, y_pred, **kwargs):
        return loss_class(**kwargs).per_sample(y_true, y_pred)

    loss_function.__name__ = loss_function.__qualname__ = name
    loss_function.loss_class = loss_class
    loss_function.__doc__ = (f"``keras.losses.{name}(y_true, y_pred)``: one value per sample "
                             f"(see :class:`{loss_class.__name__}`).")
    return loss_function


mean_squared_error = _function(MeanSquaredError, "mean_squared_error")
mean_absolute_error = _function(MeanAbsoluteError, "mean_absolute_error")
mean_absolute_percentage_error = _function(MeanAbsolutePercentageError,
                                           "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _function(MeanSquaredLogarithmicError,
                                           "mean_squared_logarithmic_error")
huber = _function(Huber, "huber")
log_cosh = _function(LogCosh, "log_cosh")
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
           MeanSquaredLogarithmicError, Huber, LogCosh)
FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
             mean_squared_logarithmic_error, huber, log_cosh)
#: every string ``compile(loss=...)`` accepts (the same set as Keras 3's ``losses.get``)
NAMES = {**{cls.__name__: cls for cls in CLASSES},
         **{f.__name__: f.loss_class for f in FUNCTIONS},
         **{alias: f.loss_class for f, aliases in [(mse, ("mse", "MSE")), (mae, ("mae", "MAE")),
                                                  (mape, ("mape", "MAPE")),
                                                  (msle, ("msle", "MSLE"))]
            for alias in aliases}}


def get(identifier):
    """A :class:`Loss` instance for a name, a ``Loss``, or one of this module's functions."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier) and getattr(identifier, "loss_class", None) is not None:
        return identifier.loss_class()
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    raise ValueError(f"unknown loss {identifier!r}; lstm_np supports "
                     f"{', '.join(sorted(NAMES, key=str.lower))}")


__all__ = ["Loss", *[c.__name__ for c in CLASSES], *[f.__name__ for f in FUNCTIONS],
           "mse", "mae", "mape", "msle", "MSE", "MAE", "MAPE", "MSLE", "get"]
