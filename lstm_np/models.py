"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``predict`` / ``save``."""
import json
import os
import time

import numpy as np

from . import losses as losses_mod
from . import optimizers as optimizers_mod
from ._warmup import compile_kernels
from .files import atomic_write, check_output
from .layers import LAYERS, Layer
from .modelfile import FORMAT, FORMAT_VERSION, ModelFileError

class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the weights were left as they were before it."""

    def __init__(self, epoch, batch, learning_rate):
        self.epoch, self.batch = epoch, batch
        super().__init__(
            f"the loss became NaN or infinite at epoch {epoch} (batch {batch}); training stopped "
            f"before saving a broken model — try a lower learning rate than {learning_rate:g}")


class History:
    """What ``fit`` returns: ``history[name]`` is the list of per-epoch values."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.seconds = []

    def append(self, epoch, logs, seconds):
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class Callback:
    """Hooks called by ``fit``. Set ``model.stop_training = True`` to end training early."""

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer, optional
    seed : int, optional — seeds initialisation, dropout masks and shuffling; the same seed
        repeats a run bit for bit.
    dtype : "float32" (default) or "float64".

    >>> from lstm_np import Sequential, LSTM, Dropout, Dense
    >>> model = Sequential([LSTM(50, return_sequences=True, input_shape=(60, 1)), Dropout(0.2),
    ...                     LSTM(100), Dropout(0.2), Dense(1)], seed=0)
    >>> model.count_params()
    70901
    """

    def __init__(self, layers=None, seed=None, dtype="float32"):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.layers = []
        self.input_shape = None
        self.built = False
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # --- structure ------------------------------------------------------------------------
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, got {type(layer).__name__}")
        if getattr(layer, "return_state", False):
            raise ValueError("a layer with return_state=True cannot sit inside a Sequential")
        if layer.name is None:
            taken = {l.name for l in self.layers}
            layer.name, k = layer.kind, 1
            while layer.name in taken:
                layer.name, k = f"{layer.kind}_{k}", k + 1
        self.layers.append(layer)
        if len(self.layers) == 1 and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape):
        """Create every layer's weights for inputs shaped ``(None, *input_shape)``."""
        self.input_shape = shape = tuple(int(s) for s in input_shape)
        for layer in self.layers:
            if not layer.built:
                layer.build(shape, self.rng, self.dtype)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def _check_input(self, x, what="x"):
        """``x`` as a contiguous array of the model's dtype, or a ValueError saying what is
        wrong with it: not real numbers, the wrong shape, or a NaN or infinite value."""
        x = _real_array(x, what)
        if not self.built:
            if len(self.layers) == 0:
                raise ValueError("the model has no layers; add some before using it")
            if x.ndim < 2:
                raise ValueError(f"{what} has shape {x.shape}; give a batch of samples, "
                                 "(batch, features) or (batch, timesteps, features)")
            self.build(x.shape[1:])
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"{what} has shape {x.shape}; the model expects (batch, "
                             f"{', '.join(map(str, self.input_shape))})")
        return _finite(_converted(x, self.dtype), what, x)

    @property
    def output_shape(self):
        """One sample's output shape (without the batch axis); ``None`` before building."""
        if not self.built:
            return None
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return tuple(shape)

    def _check_target(self, y, n, what="y"):
        """``y`` for ``n`` samples as an array of the model's dtype shaped exactly like the
        model's outputs, ``(n, *output_shape)``. A 1-D ``y`` of ``n`` values is taken as
        ``(n, 1)`` when the model gives one output; any other shape is refused rather than
        broadcast against the predictions."""
        y = _real_array(y, what)
        expected = (n,) + self.output_shape
        if y.ndim == 1 and self.output_shape == (1,) and y.shape[0] == n:
            y = y.reshape(n, 1)
        if y.shape != expected:
            if y.ndim >= 1 and y.shape[0] != n:
                raise ValueError(f"x has {n} samples but {what} has {y.shape[0]} "
                                 f"(shape {y.shape})")
            raise ValueError(f"{what} has shape {y.shape} but the model's outputs have shape "
                             f"{expected}")
        return _finite(_converted(y, self.dtype), what, y)

    def _check_data(self, x, y, what=("x", "y")):
        """Both checks at once, and at least one sample."""
        x = self._check_input(x, what[0])
        if len(x) == 0:
            raise ValueError(f"{what[0]} has no samples")
        return x, self._check_target(y, len(x), what[1])

    @property
    def params(self):
        """Every trainable array, keyed by path ``"layer_name/weight_name"``, in Keras's order."""
        return {f"{layer.name}/{key}": value
                for layer in self.layers for key, value in layer.params.items()}

    def get_weights(self):
        return [w.copy() for w in self.params.values()]

    def set_weights(self, weights):
        params = self.params
        if len(weights) != len(params):
            raise ValueError(f"set_weights got {len(weights)} arrays; the model has {len(params)}")
        checked = []
        for (path, current), new in zip(params.items(), weights):
            new = _real_array(new, path)
            if new.shape != current.shape:
                raise ValueError(f"{path} has shape {current.shape}; got {new.shape}")
            checked.append(_finite(_converted(new, current.dtype), path, new))
        for current, new in zip(params.values(), checked):     # all or nothing
            current[...] = new

    def count_params(self):
        return int(sum(layer.count_params() for layer in self.layers))

    # --- computing ------------------------------------------------------------------------
    def forward(self, x, training=False, keep_cache=True):
        """Run every layer; return the output and the list of their caches (``None`` entries
        where ``keep_cache=False`` let a layer skip what only the backward pass needs)."""
        caches = []
        for layer in self.layers:
            if not keep_cache and getattr(layer, "can_skip_cache", False):
                x, cache = layer.forward(x, training=training, rng=self.rng, keep_cache=False)
            else:
                x, cache = layer.forward(x, training=training, rng=self.rng)
            caches.append(cache)
        return x, caches

    def backward(self, dy, caches):
        """Backpropagate ``dy``; return the gradients keyed like :attr:`params`."""
        grads = {}
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            if layer is self.layers[0] and getattr(layer, "can_skip_input_gradient", False):
                dy, layer_grads = layer.backward(dy, cache, need_dx=False)   # nobody needs it
            else:
                dy, layer_grads = layer.backward(dy, cache)
            grads.update({f"{layer.name}/{k}": v for k, v in layer_grads.items()})
        return {path: grads[path] for path in self.params}

    def compile(self, optimizer="adam", loss="mse", metrics=None):
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss, self._loss_fn = losses_mod.get(loss)
        self.metrics = [losses_mod.get(m)[0] for m in (metrics or [])]
        return self

    def _require_compiled(self):
        if self.optimizer is None:
            raise RuntimeError("call model.compile(...) before training or evaluating")

    def compute_gradients(self, x, y):
        """Loss and gradients (aligned with ``get_weights()``) with dropout off and no update."""
        x, y = self._check_data(x, y)
        loss_fn = self._loss_fn if self.loss else losses_mod.mean_squared_error
        y_pred, caches = self.forward(x, training=False)
        loss, dy = loss_fn(y_pred, y)
        return loss, list(self.backward(dy, caches).values())

    def _loss_only(self, x, y):
        loss_fn = self._loss_fn if self.loss else losses_mod.mean_squared_error
        return loss_fn(self.forward(x, training=False, keep_cache=False)[0], y)[0]

    def train_on_batch(self, x, y):
        """One optimizer step on one batch (dropout on); returns the batch loss."""
        self._require_compiled()
        return self._train_step(*self._check_data(x, y))[0]

    def _train_step(self, x, y):
        y_pred, caches = self.forward(x, training=True)
        with np.errstate(over="ignore", invalid="ignore"):   # a non-finite loss is caught below
            loss, dy = self._loss_fn(y_pred, y)
        if not np.isfinite(loss):
            return loss, y_pred
        self.optimizer.apply_gradients(self.params, self.backward(dy, caches))
        return loss, y_pred

    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, verbose=1, callbacks=None):
        """Train; returns a :class:`History`.

        As in Keras: ``validation_split`` takes the *last* fraction of ``x, y`` before any
        shuffling; the training part is reshuffled every epoch; the last partial batch is kept;
        the epoch's ``loss`` is the mean of the batch losses weighted by batch size.
        """
        self._require_compiled()
        x, y = self._check_data(x, y)
        epochs = _integer("epochs", epochs, minimum=0)
        batch_size = _integer("batch_size", batch_size, minimum=1)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_data(*validation_data, what=("validation x",
                                                                       "validation y"))
        elif validation_split:
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
        compile_kernels(self, x, verbose)      # before the clock starts: compiling is no epoch time
        callbacks = list(callbacks or [])
        history = History()
        self.stop_training = False
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        for epoch in range(int(epochs)):
            start = time.perf_counter()
            order = self.rng.permutation(len(x)) if shuffle else np.arange(len(x))
            totals = dict.fromkeys(["loss", *self.metrics], 0.0)
            for b, first in enumerate(range(0, len(x), batch_size)):
                idx = order[first:first + batch_size]
                xb, yb = x[idx], y[idx]
                loss, y_pred = self._train_step(xb, yb)
                if not np.isfinite(loss):
                    raise NonFiniteLossError(epoch + 1, b + 1, self.optimizer.learning_rate)
                totals["loss"] += loss * len(idx)
                for m in self.metrics:
                    totals[m] += losses_mod.LOSSES[m](y_pred, yb)[0] * len(idx)
            logs = {k: v / len(x) for k, v in totals.items()}
            if validation_data is not None:
                val = self._evaluate_checked(*validation_data)
                logs.update({f"val_{k}": v for k, v in val.items()})
            seconds = time.perf_counter() - start
            history.append(epoch, logs, seconds)
            if verbose:
                eta = np.mean(history.seconds) * (epochs - epoch - 1)
                parts = [f"{k}: {v:.4g}" for k, v in logs.items()]
                print(f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - " + " - ".join(parts)
                      + f" - ETA {int(eta) // 60}:{int(eta) % 60:02d}", flush=True)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    def predict(self, x, batch_size=None, verbose=0):
        """Outputs for ``x`` with dropout off, computed ``batch_size`` rows at a time
        (default: up to 1024 rows per pass; the result does not depend on it)."""
        x = self._check_input(x)
        batch_size = 1024 if batch_size is None else _integer("batch_size", batch_size, 1)
        outputs = [self.forward(x[i:i + batch_size], training=False, keep_cache=False)[0]
                   for i in range(0, len(x), batch_size)]
        if not outputs:
            return np.zeros((0,) + self.output_shape, self.dtype)
        return np.concatenate(outputs)

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """Loss (and metrics) with dropout off: a float, or ``[loss, *metrics]`` as in Keras."""
        self._require_compiled()
        x, y = self._check_data(x, y)
        result = self._evaluate_checked(x, y, batch_size)
        if return_dict:
            return result
        return result["loss"] if not self.metrics else list(result.values())

    def _evaluate_checked(self, x, y, batch_size=None):
        y_pred = self.predict(x, batch_size=batch_size)
        result = {"loss": self._loss_fn(y_pred, y)[0]}
        result.update({m: losses_mod.LOSSES[m](y_pred, y)[0] for m in self.metrics})
        return result

    def summary(self, print_fn=print):
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        if not self.built:
            print_fn("Model: Sequential (not built yet: give the first layer an input_shape)")
            return
        rows, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None, *shape)),
                         f"{layer.count_params():,}"))
        widths = [max(len(r[k]) for r in rows + [("Layer (type)", "Output Shape", "Param #")])
                  for k in range(3)]
        line = "  ".join("{:<%d}" % w for w in widths)
        rule = "─" * (sum(widths) + 4)
        print_fn('Model: "sequential"')
        print_fn(rule)
        print_fn(line.format("Layer (type)", "Output Shape", "Param #"))
        print_fn(rule)
        for row in rows:
            print_fn(line.format(*row))
        print_fn(rule)
        print_fn(f"Total params: {self.count_params():,}")

    # --- copying, saving and loading ------------------------------------------------------
    def get_config(self):
        return {"format": FORMAT, "version": FORMAT_VERSION, "dtype": self.dtype.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class": type(l).__name__, "config": l.get_config()}
                           for l in self.layers]}

    @classmethod
    def from_config(cls, config, seed=None, dtype=None, initialize=True):
        """A new model from :meth:`get_config` output.

        ``initialize=False`` builds the weights as zeros instead of drawing them (for a caller
        that sets every weight next, as :func:`load_model` and :meth:`copy` do: an orthogonal
        draw for LSTM(4000) alone takes minutes).
        """
        model = cls(seed=seed, dtype=dtype or config["dtype"])
        layers, drawn = [], []
        for spec in config["layers"]:
            layer_cls = LAYERS.get(spec["class"])
            if layer_cls is None:
                raise ModelFileError(f"unknown layer class {spec['class']!r}")
            layer = layer_cls.from_config(spec["config"])
            if not initialize:
                for key in ("kernel_initializer", "recurrent_initializer"):
                    if hasattr(layer, key):
                        drawn.append((layer, key, getattr(layer, key)))
                        setattr(layer, key, "zeros")
            layers.append(layer)
        for layer in layers:
            model.add(layer)
        if config.get("input_shape"):
            model.build(config["input_shape"])
        for layer, key, name in drawn:      # the configuration keeps the original names
            setattr(layer, key, name)
        return model

    def copy(self, dtype=None):
        """A new model with the same layers and weights (optionally in another dtype)."""
        clone = Sequential.from_config(self.get_config(), seed=self.seed, dtype=dtype,
                                       initialize=False)
        if self.optimizer is not None:
            clone.compile(type(self.optimizer).from_config(self.optimizer.get_config()),
                          loss=self.loss, metrics=self.metrics)
        clone.set_weights(self.get_weights())
        return clone

    def save(self, path, extra=None, overwrite=False):
        """Write weights and config to ``path`` (``.npz``, no pickle), atomically.

        ``extra`` is a JSON-serialisable dict stored beside them (the CLI keeps its scaler
        there); :func:`load_model` returns it as ``model.extra``. A path ending in ``.keras``
        is written in Keras 3's own format instead (:func:`lstm_np.kerasfile.save_model`). An
        existing file is replaced only with ``overwrite=True``; a folder, a device, a FIFO or a
        socket never (see :func:`lstm_np.files.check_output`, which raises
        :class:`~lstm_np.files.OutputError`).
        """
        if os.fspath(path).endswith(".keras"):
            from .kerasfile import save_model

            return save_model(self, path, overwrite=overwrite)
        path = check_output(path, overwrite=overwrite)
        if not self.built:
            raise ValueError("cannot save a model that has not been built")
        from .modelfile import check_savable

        check_savable(self.get_config(), extra or {})    # never write a file load refuses
        arrays = {"config": np.array(json.dumps(self.get_config())),
                  "extra": np.array(json.dumps(extra or {}))}
        arrays.update({f"weight_{k:03d}": w for k, w in enumerate(self.get_weights())})
        atomic_write(path, lambda f: np.savez(f, **arrays))


    #: the Keras files ``save`` (``.keras``) and ``save_weights`` (``.weights.h5``) write
    SAVE_FORMATS = (".keras", ".weights.h5")

    def save_weights(self, filepath, overwrite=False):
        """Write the weights to a Keras 3 ``*.weights.h5`` file
        (:func:`lstm_np.kerasfile.save_weights`)."""
        from .kerasfile import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Set the weights from a Keras 3 ``*.weights.h5`` or ``*.keras`` file
        (:func:`lstm_np.kerasfile.load_weights`)."""
        from .kerasfile import load_weights

        load_weights(self, filepath)


def load_model(path):
    """Read a model written by :meth:`Sequential.save`. Never unpickles anything.

    The whole file is checked before any weight is allocated or any kernel runs (see
    :mod:`lstm_np.modelfile`): its zip directory, its configuration against lstm_np's layers
    and size limits, every array's dtype (real floats only) and shape, and the scaler stored
    beside a model that ``lstm_np.train`` wrote. Raises :class:`ModelFileError` (a
    ``ValueError``) with one sentence if the file is missing, damaged, or not an lstm_np model.
    A path ending in ``.keras`` is read as Keras 3's own format
    (:func:`lstm_np.kerasfile.load_model`).
    """
    if os.fspath(path).endswith(".keras"):
        from .kerasfile import read_model as read_keras_model

        config, weights = read_keras_model(path)
        model = Sequential.from_config(config, initialize=False)
        model.set_weights(weights)
        return model
    from .modelfile import read_model_file

    config, extra, weights = read_model_file(path)
    model = Sequential.from_config(config, initialize=False)
    model.set_weights(weights)
    model.extra = extra
    return model


_REAL = (int, float, np.integer, np.floating)


def _real_array(values, what):
    """``values`` as a NumPy array of real numbers (booleans, strings, objects and complex
    numbers refused)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as err:       # ragged lists
        raise ValueError(f"{what} is not a rectangular array of numbers ({err})") from None
    if array.dtype == object or array.dtype.kind not in "iuf":
        raise ValueError(f"{what} must hold real numbers, got dtype {array.dtype}")
    return array


def _converted(array, dtype):
    """A contiguous copy in ``dtype``; a value too large for it becomes inf, which
    :func:`_finite` then reports (so NumPy's overflow warning would only repeat it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(array, dtype=dtype)


def _finite(array, what, given):
    """``array`` if every value is finite, else a ValueError naming the first bad one (and
    saying so when that value was finite in ``given``, the array before conversion)."""
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        converted = f" after conversion to {array.dtype.name}" \
            if np.isfinite(given[index]) else ""
        raise ValueError(f"{what} holds {np.count_nonzero(bad)} NaN or infinite value(s) (the "
                         f"first at index {index}){converted}; remove or fill them before "
                         "training or predicting")
    return array


def _integer(name, value, minimum):
    """``value`` as an int if it is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REAL) or \
            not np.isfinite(value) or int(value) != value or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)
