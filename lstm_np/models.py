"""``Sequential``: a stack of layers with Keras's ``compile`` / ``fit`` / ``predict`` / ``save``."""
import json
import os
import tempfile
import time

import numpy as np

from . import losses as losses_mod
from . import optimizers as optimizers_mod
from ._warmup import compile_kernels
from .layers import LAYERS, Layer

FORMAT = "lstm_np.Sequential"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that is missing, corrupt, or not an lstm_np model."""


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
        x = np.asarray(x)
        if x.dtype == object or not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{what} must be a numeric array, got dtype {x.dtype}")
        if not self.built:
            if len(self.layers) == 0:
                raise ValueError("the model has no layers; add some before using it")
            self.build(x.shape[1:])
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"{what} has shape {x.shape}; the model expects (batch, "
                             f"{', '.join(map(str, self.input_shape))})")
        return np.ascontiguousarray(x, dtype=self.dtype)

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
        for (path, current), new in zip(params.items(), weights):
            new = np.asarray(new)
            if new.shape != current.shape:
                raise ValueError(f"{path} has shape {current.shape}; got {new.shape}")
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
        x = self._check_input(x)
        y = np.asarray(y, dtype=self.dtype)
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
        return self._train_step(self._check_input(x), np.asarray(y, dtype=self.dtype))[0]

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
        x = self._check_input(x)
        y = np.asarray(y, dtype=self.dtype)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
            split_at = int(np.floor(len(x) * (1.0 - validation_split)))
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
                val = self.evaluate(*validation_data, return_dict=True)
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
        batch_size = batch_size or 1024
        outputs = [self.forward(x[i:i + batch_size], training=False, keep_cache=False)[0]
                   for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0,))

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """Loss (and metrics) with dropout off: a float, or ``[loss, *metrics]`` as in Keras."""
        self._require_compiled()
        y_pred = self.predict(x, batch_size=batch_size)
        y = np.asarray(y, dtype=self.dtype)
        result = {"loss": self._loss_fn(y_pred, y)[0]}
        result.update({m: losses_mod.LOSSES[m](y_pred, y)[0] for m in self.metrics})
        if return_dict:
            return result
        return result["loss"] if not self.metrics else list(result.values())

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
    def from_config(cls, config, seed=None, dtype=None):
        model = cls(seed=seed, dtype=dtype or config["dtype"])
        for spec in config["layers"]:
            layer_cls = LAYERS.get(spec["class"])
            if layer_cls is None:
                raise ModelFileError(f"unknown layer class {spec['class']!r}")
            model.add(layer_cls(**spec["config"]))
        if config.get("input_shape"):
            model.build(config["input_shape"])
        return model

    def copy(self, dtype=None):
        """A new model with the same layers and weights (optionally in another dtype)."""
        clone = Sequential.from_config(self.get_config(), seed=self.seed, dtype=dtype)
        if self.optimizer is not None:
            clone.compile(type(self.optimizer)(**{k: v for k, v in
                                                  self.optimizer.get_config().items()
                                                  if k != "name"}),
                          loss=self.loss, metrics=self.metrics)
        clone.set_weights(self.get_weights())
        return clone

    def save(self, path, extra=None):
        """Write weights and config to ``path`` (``.npz``, no pickle), atomically.

        ``extra`` is a JSON-serialisable dict stored beside them (the CLI keeps its scaler
        there); :func:`load_model` returns it as ``model.extra``.
        """
        if not self.built:
            raise ValueError("cannot save a model that has not been built")
        arrays = {"config": np.array(json.dumps(self.get_config())),
                  "extra": np.array(json.dumps(extra or {}))}
        arrays.update({f"weight_{k:03d}": w for k, w in enumerate(self.get_weights())})
        atomic_write(path, lambda f: np.savez(f, **arrays))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place, so an
    interrupted write never leaves a half-written file behind."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.fchmod(fd, 0o666 & ~_umask())          # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(path):
    """Read a model written by :meth:`Sequential.save`. Never unpickles anything.

    Raises :class:`ModelFileError` (a ``ValueError``) with one sentence if the file is missing,
    corrupt, or not an lstm_np model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as err:
        raise ModelFileError(f"{path} is not a readable lstm_np model file ({type(err).__name__}"
                             f": {err})") from None
    if "config" not in arrays:
        raise ModelFileError(f"{path} is a NumPy archive but not an lstm_np model file (it has "
                             "no 'config' entry); give the model.npz written by "
                             "Sequential.save or python -m lstm_np.train")
    try:
        config = json.loads(str(arrays["config"]))
        extra = json.loads(str(arrays.get("extra", np.array("{}"))))
        if config.get("format") != FORMAT:
            raise ValueError("wrong format tag")
        model = Sequential.from_config(config)
        n = len(model.params)
        model.set_weights([arrays[f"weight_{k:03d}"] for k in range(n)])
    except ModelFileError:
        raise
    except Exception as err:
        raise ModelFileError(f"{path} is not an lstm_np model file ({err})") from None
    model.extra = extra
    return model
