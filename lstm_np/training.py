"""The loops behind ``Model.fit``, ``evaluate`` and ``predict``, and where their batches come
from.

Data, as Keras 3 takes it:

* arrays ``x, y`` — checked whole once; ``fit`` shuffles the rows every epoch (``shuffle=True``)
  and cuts batches of ``batch_size`` (default: the model's fixed batch size, else 32), keeping
  the last partial batch; ``validation_split`` takes the *last* fraction before shuffling;
* a sequence — anything with ``len()`` and ``[i]`` giving batch ``i``, such as Keras 2's
  ``TimeseriesGenerator`` or a list of ``(x, y)`` pairs: every epoch reads all its batches
  (in a new random order when ``shuffle=True``);
* a re-iterable dataset (:func:`lstm_np.utils.timeseries_dataset_from_array`): one full pass
  per epoch;
* a generator or iterator of ``(x, y)`` batches: ``steps_per_epoch`` batches per epoch,
  continuing where the last epoch stopped (without it, the first epoch reads everything).
  When it runs out, training stops with Keras's warning.

Each batch is checked like arrays are (shapes, real finite numbers) before it is used.
"""
import math
import time
import warnings

import numpy as np

from ._warmup import compile_kernels
from .callbacks import History
from .progbar import ProgbarLogger, verbosity

_REAL = (int, float, np.integer, np.floating)


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the weights were left as they were before it."""

    def __init__(self, epoch, batch, learning_rate):
        self.epoch, self.batch = epoch, batch
        super().__init__(
            f"the loss became NaN or infinite at epoch {epoch} (batch {batch}); training stopped "
            f"before saving a broken model — try a lower learning rate than {learning_rate:g}")


def _integer(name, value, minimum):
    """``value`` as an int if it is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REAL) or \
            not np.isfinite(value) or int(value) != value or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
        shuffle, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
        validation_freq):
    """``Model.fit``: returns the :class:`History`; ``initial_epoch`` resumes the epoch count
    (epochs ``initial_epoch`` .. ``epochs - 1`` run); ``validation_freq`` validates every n-th
    epoch. A NaN or infinite batch loss raises :class:`~lstm_np.models.NonFiniteLossError`
    (the weights as before that batch) unless a callback such as ``TerminateOnNaN`` stops
    training first."""
    model._require_compiled()
    epochs = _integer("epochs", epochs, minimum=0)
    initial_epoch = _integer("initial_epoch", initial_epoch, minimum=0)
    verbose = verbosity(verbose)
    validation_freq = _integer("validation_freq", validation_freq, minimum=1)
    batch_size = _batch_size(model, batch_size, 32)
    if _is_arrays(x, y):
        x, y = model._check_data(x, y)
        if validation_data is None and validation_split:
            if isinstance(validation_split, (bool, np.bool_)) or \
                    not isinstance(validation_split, _REAL) or not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
            split_at = int(np.floor(len(x) * (1.0 - validation_split)))
            if split_at == len(x):
                raise ValueError(f"validation_split={validation_split!r} of {len(x)} samples "
                                 "leaves no sample for validation")
            x, validation_data = x[:split_at], (x[split_at:], y[split_at:])
            y = y[:split_at]
        if len(x) == 0:
            raise ValueError("no training samples left")
        train = ArrayBatches(x, y, batch_size, shuffle, model.rng)
        _compile_kernels(model, x, verbose)   # before the clock starts: no epoch time
    else:
        if validation_split:
            raise ValueError("validation_split needs arrays x and y; with a dataset or "
                             "generator give validation_data")
        train = Batches(x, steps_per_epoch, shuffle, model.rng, "fit")
    validation = _validation(model, validation_data, validation_batch_size or batch_size,
                             validation_steps)

    history = History()
    model.history = history
    callbacks = list(callbacks or [])
    if verbose:
        callbacks.insert(0, ProgbarLogger(verbose, epochs, train.size))
    model.stop_training = False
    for cb in callbacks:
        cb.set_model(model)
    for cb in callbacks:
        cb.on_train_begin(None)
    logs = {}
    for epoch in range(initial_epoch, epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        start = time.perf_counter()
        for metric in model.metrics:
            metric.reset_state()
        total, seen = 0.0, 0
        for b, element in enumerate(train.epoch()):
            xb, yb = model._check_data(*_unpack(element, "fit"))
            if not seen and not isinstance(train, ArrayBatches):
                _compile_kernels(model, xb, verbose)
            for cb in callbacks:
                cb.on_train_batch_begin(b, None)
            loss, y_pred = model._train_step(xb, yb)
            total, seen = total + loss * len(xb), seen + len(xb)
            for metric in model.metrics:
                metric.update_state(yb, y_pred)
            logs = {"loss": total / seen, **{m.name: m.result() for m in model.metrics}}
            for cb in callbacks:
                cb.on_train_batch_end(b, logs)
            if not np.isfinite(loss) and not model.stop_training:
                raise NonFiniteLossError(epoch + 1, b + 1, model.optimizer.learning_rate)
            if model.stop_training:
                break
        if seen == 0:
            if epoch == initial_epoch:
                raise ValueError("fit got no batches from x; give arrays, a dataset, or a "
                                 "generator of (x, y) batches")
            warnings.warn("Your input ran out of data; interrupting training. Make sure that "
                          "your dataset or generator can generate at least `steps_per_epoch "
                          "* epochs` batches.", stacklevel=3)
            break
        if validation is not None and (epoch + 1) % validation_freq == 0:
            logs.update({f"val_{k}": v for k, v in validation().items()})
        seconds = time.perf_counter() - start
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        history.append(epoch, logs, seconds)   # after the callbacks: it sees what they add
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end(logs)
    return history


def evaluate(model, x, y, batch_size, verbose, steps):
    """``{"loss": ..., metric: ...}`` over arrays or batches, dropout off."""
    if _is_arrays(x, y):
        x, y = model._check_data(x, y)
        result = model._evaluate_checked(x, y, _batch_size(model, batch_size, None))
        _report(verbose, math.ceil(len(x) / _batch_size(model, batch_size, 32)), result)
        return result
    return _evaluate_batches(model, Batches(x, steps, False, None, "evaluate"), verbose)


def _evaluate_batches(model, batches, verbose=0):
    """Batch-size-weighted mean loss and accumulated metrics over ``batches`` (Keras's way)."""
    for metric in model.metrics:
        metric.reset_state()
    total, seen, count = 0.0, 0, 0
    for element in batches.epoch():
        xb, yb = model._check_data(*_unpack(element, "evaluate"))
        y_pred = model.predict(xb, batch_size=len(xb))
        total, seen, count = total + model._loss(yb, y_pred) * len(xb), seen + len(xb), count + 1
        for metric in model.metrics:
            metric.update_state(yb, y_pred)
    if seen == 0:
        raise ValueError("evaluate got no batches")
    result = {"loss": total / seen, **{m.name: m.result() for m in model.metrics}}
    _report(verbose, count, result)
    return result


def predict(model, x, batch_size, verbose, steps):
    """Outputs with dropout off, for an array or for batches."""
    verbose = verbosity(verbose)
    if _is_arrays(x, None, for_predict=True):
        x = model._check_input(x)
        size = _batch_size(model, batch_size, 1024)
        outputs = [model.forward(x[i:i + size], training=False, keep_cache=False)[0]
                   for i in range(0, len(x), size)]
        _report(verbose, len(outputs), {})
        if not outputs:
            return np.zeros((0,) + tuple(s or 0 for s in model.output_shape), model.dtype)
        return np.concatenate(outputs)
    outputs = []
    for element in Batches(x, steps, False, None, "predict").epoch():
        xb = model._check_input(_unpack(element, "predict")[0])
        outputs.append(model.forward(xb, training=False, keep_cache=False)[0])
    if not outputs:
        raise ValueError("predict got no batches")
    _report(verbose, len(outputs), {})
    return np.concatenate(outputs)


def _report(verbose, steps, logs):
    """The one line ``evaluate`` / ``predict`` print with ``verbose`` 1 or 2."""
    if verbosity(verbose):
        ProgbarLogger(verbosity(verbose), 1, steps).line(steps, logs)


def _batch_size(model, batch_size, default):
    if batch_size is None:
        return model.batch_size or default
    return _integer("batch_size", batch_size, minimum=1)


def _compile_kernels(model, x, verbose):
    """Compile the kernels on ``x[:1]``, keeping a stateful layer's carried states as they were
    (the warm-up pass must not leave a batch of one behind)."""
    kept = [(layer, layer.states) for layer in model.layers if getattr(layer, "stateful", False)]
    try:
        compile_kernels(model, x, verbose)
    finally:
        for layer, states in kept:
            layer.states = states


def _is_arrays(x, y, for_predict=False):
    """Whether ``x`` (with ``y``) is array data rather than a source of batches."""
    if y is not None or isinstance(x, np.ndarray):
        return True
    if isinstance(x, (list, tuple)):
        # a list of numbers (or of lists of numbers) is an array; a list of (x, y) pairs is not
        first = x[0] if len(x) else None
        return not (isinstance(first, tuple) or (isinstance(first, list) and len(first) == 2
                                                 and isinstance(first[0], np.ndarray)))
    if hasattr(x, "__iter__") or hasattr(x, "__getitem__"):
        return False
    if x is None:
        raise ValueError("fit, evaluate and predict need data: arrays x (and y), a dataset, or "
                         "a generator of batches")
    return True


def _unpack(element, what):
    """``(x, y)`` of one batch; ``y`` is None for a batch of inputs alone."""
    if isinstance(element, (tuple, list)):
        if len(element) == 3:
            if element[2] is not None:
                raise ValueError(f"{what} got (x, y, sample_weight) batches; lstm_np does not "
                                 "take sample weights")
            element = element[:2]
        if len(element) == 2:
            return element[0], element[1]
        if len(element) == 1:
            return element[0], None
        raise ValueError(f"{what} expects batches (x, y); got a tuple of {len(element)}")
    if what != "predict":
        raise ValueError(f"{what} expects batches (x, y); got a {type(element).__name__}")
    return element, None


class ArrayBatches:
    """Batches of checked arrays, reshuffled every epoch."""

    def __init__(self, x, y, batch_size, shuffle, rng):
        self.x, self.y, self.batch_size, self.shuffle, self.rng = x, y, batch_size, shuffle, rng
        self.size = math.ceil(len(x) / batch_size)

    def epoch(self):
        n = len(self.x)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for first in range(0, n, self.batch_size):
            idx = order[first:first + self.batch_size]
            yield self.x[idx], self.y[idx]


class Batches:
    """Batches from a sequence, a re-iterable dataset, or a generator (see the module)."""

    def __init__(self, source, steps, shuffle, rng, what):
        self.source, self.shuffle, self.rng = source, shuffle, rng
        self.steps = None if steps is None else _integer("steps", steps, minimum=1)
        self.indexed = hasattr(source, "__len__") and hasattr(source, "__getitem__")
        if not self.indexed and not hasattr(source, "__iter__"):
            raise ValueError(f"{what} takes arrays, a dataset, a sequence or a generator of "
                             f"batches; got {type(source).__name__}")
        self.iterator = None
        self.size = self.steps or (len(source) if hasattr(source, "__len__") else None)

    def _pass(self):
        if self.indexed:
            order = self.rng.permutation(len(self.source)) if self.shuffle and self.rng \
                else range(len(self.source))
            return (self.source[int(i)] for i in order)
        return iter(self.source)

    def epoch(self):
        if self.steps is None:
            if self.iterator is not None and iter(self.source) is self.source:
                return                              # a generator: read out by the last epoch
            self.iterator = self._pass()
            yield from self.iterator
            return
        if self.iterator is None:
            self.iterator = self._pass()
        for _ in range(self.steps):
            try:
                yield next(self.iterator)
            except StopIteration:
                return


def _validation(model, data, batch_size, steps):
    """A function returning the validation logs (without the ``val_`` prefix), or None."""
    if data is None:
        return None
    if isinstance(data, tuple) and len(data) in (2, 3) and _is_arrays(data[0], data[1]):
        if len(data) == 3 and data[2] is not None:
            raise ValueError("validation_data with sample weights is not supported")
        x_val, y_val = model._check_data(data[0], data[1],
                                         what=("validation x", "validation y"))
        return lambda: model._evaluate_checked(x_val, y_val, batch_size)
    if isinstance(data, np.ndarray) or (isinstance(data, (tuple, list)) and len(data) != 2
                                        and not isinstance(data[0], tuple)):
        raise ValueError("validation_data must be a pair (x_val, y_val) or a dataset of "
                         "(x, y) batches")
    batches = Batches(data, steps, False, None, "validation_data")
    return lambda: _evaluate_batches(model, batches)
