"""``Model`` and ``Sequential``: a chain of layers with Keras's ``compile`` / ``fit`` /
``predict`` / ``evaluate`` / ``save``.

``Sequential([...])`` stacks layers; ``Model(inputs, outputs)`` is the same chain written with
Keras's functional API (:mod:`lstm_np.functional`). Both are this one class underneath, so every
method behaves the same for both.
"""
import json
import os

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from . import training
from .training import NonFiniteLossError, _integer  # noqa: F401  (NonFiniteLossError: public here)
from .callbacks import Callback, History  # noqa: F401  (their home was here; names kept)
from .files import atomic_write, check_output
from .functional import KerasTensor, chain
from .layers import LAYERS, Layer
from .layers.base import _keras2
from .modelfile import FORMAT, FORMAT_VERSION, ModelFileError


class Model:
    """A chain of layers built with Keras's functional API: ``Model(inputs, outputs)``.

    Parameters
    ----------
    inputs : KerasTensor from :func:`lstm_np.Input`
    outputs : KerasTensor from calling layers on ``inputs`` one after another
    seed : int, optional — seeds initialisation, dropout masks and shuffling; the same seed
        repeats a run bit for bit. Without it the seed is drawn from NumPy's global generator
        (so ``np.random.seed`` or ``keras.utils.set_random_seed`` first repeats a run too).
    dtype : "float32" (default) or "float64".
    name : str, optional

    >>> import lstm_np as keras
    >>> inputs = keras.Input(shape=(60, 1))
    >>> x = keras.layers.LSTM(50, return_sequences=True)(inputs)
    >>> x = keras.layers.LSTM(100)(keras.layers.Dropout(0.2)(x))
    >>> model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(x)), seed=0)
    >>> model.count_params()
    70901
    """

    def __init__(self, inputs=None, outputs=None, seed=None, dtype="float32", name=None):
        if inputs is None or outputs is None:
            raise TypeError("keras.Model(inputs, outputs) builds a model from keras.Input and "
                            "layer calls (subclassing Model with call() is not supported); or "
                            "use keras.Sequential([...])")
        self._setup(seed, dtype, name or "functional")
        inputs, layers = chain(inputs, outputs)
        self._add_input(inputs)
        for layer in layers:
            self.add(layer)

    def _setup(self, seed, dtype, name):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        if seed is None:
            seed = int(np.random.randint(2**31 - 1))     # honours np.random.seed(...)
        self.seed = seed
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.layers = []
        self.input_shape = None
        self.batch_size = None          # fixed by Input(batch_shape=...) or batch_input_shape=
        self.built = False
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.stop_training = False
        self.history = None

    # --- structure ------------------------------------------------------------------------
    def _add_input(self, tensor):
        if self.layers:
            raise ValueError("keras.Input(...) can only be the first element of a Sequential")
        self.batch_size = tensor.batch_size
        self.build(tensor.sample_shape)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and layer.parent is None:
            self._add_input(layer)
            return
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
        if len(self.layers) == 1 and layer.input_shape is not None and self.input_shape is None:
            self.input_shape = layer.input_shape
            self.batch_size = getattr(layer, "batch_size", None)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape):
        """Create every layer's weights for inputs shaped ``(None, *input_shape)`` (``None``
        in ``input_shape``: an axis of any length, such as the timesteps of a recurrent
        layer)."""
        self.input_shape = shape = tuple(None if s is None else int(s) for s in input_shape)
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
        if len(x.shape) != len(self.input_shape) + 1 or any(
                want is not None and got != want for got, want in zip(x.shape[1:],
                                                                       self.input_shape)):
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
        if len(y.shape) != len(expected) or any(
                want is not None and got != want for got, want in zip(y.shape, expected)):
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

    def compile(self, optimizer="adam", loss="mse", metrics=None, run_eagerly=None,
                jit_compile=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (Keras's names, objects or strings:
        see :mod:`lstm_np.optimizers`, :mod:`lstm_np.losses`, :mod:`lstm_np.metrics`).
        ``run_eagerly`` and ``jit_compile`` are accepted and change nothing."""
        if kwargs:
            raise TypeError(f"compile() got arguments lstm_np does not support: "
                            f"{', '.join(sorted(kwargs))} (it takes optimizer, loss, metrics)")
        self.optimizer = optimizers_mod.get(optimizer)
        self._loss = losses_mod.get(loss)
        self.loss = loss if isinstance(loss, str) else self._loss.name
        self.metrics = metrics_mod.get_list(metrics)
        self._metric_specs = metrics
        return self

    @property
    def metrics_names(self):
        return ["loss", *[m.name for m in self.metrics]]

    def _require_compiled(self):
        if self.optimizer is None:
            raise RuntimeError("call model.compile(...) before training or evaluating")

    def compute_gradients(self, x, y):
        """Loss and gradients (aligned with ``get_weights()``) with dropout off and no update."""
        x, y = self._check_data(x, y)
        y_pred, caches = self.forward(x, training=False)
        loss, dy = self._loss_or_mse.value_and_grad(y, y_pred)
        return loss, list(self.backward(dy, caches).values())

    @property
    def _loss_or_mse(self):
        return getattr(self, "_loss", None) or losses_mod.MeanSquaredError()

    def _loss_only(self, x, y):
        return self._loss_or_mse(y, self.forward(x, training=False, keep_cache=False)[0])

    def train_on_batch(self, x, y):
        """One optimizer step on one batch (dropout on); returns the batch loss."""
        self._require_compiled()
        return self._train_step(*self._check_data(x, y))[0]

    def _train_step(self, x, y):
        y_pred, caches = self.forward(x, training=True)
        with np.errstate(over="ignore", invalid="ignore"):   # a non-finite loss is caught below
            loss, dy = self._loss.value_and_grad(y, y_pred)
        if not np.isfinite(loss):
            return loss, y_pred
        self.optimizer.apply_gradients(self.params, self.backward(dy, caches))
        return loss, y_pred

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Train; returns a :class:`~lstm_np.callbacks.History` (also kept as
        ``model.history``). See :func:`lstm_np.training.fit` for the details."""
        if "nb_epoch" in kwargs:
            _keras2("nb_epoch=", "epochs=")
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit() got arguments lstm_np does not support: "
                            f"{', '.join(sorted(kwargs))}")
        if class_weight is not None or sample_weight is not None:
            raise ValueError("lstm_np's fit does not take sample_weight or class_weight")
        self.history = training.fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_split=validation_split,
            validation_data=validation_data, shuffle=shuffle, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq)
        return self.history

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs for ``x`` with dropout off: an array, or a dataset / generator / sequence of
        batches (``(x, y)`` batches give their ``x``). Arrays run ``batch_size`` rows at a time
        (default: the model's fixed batch size, else up to 1024 rows; the result does not
        depend on it). ``verbose`` 1 shows a progress bar, 2 one line."""
        return training.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, steps=None,
                 return_dict=False, callbacks=None):
        """Loss and metrics with dropout off, as Keras returns them: the loss alone without
        metrics, else ``[loss, *metrics]`` in ``compile``'s order; ``return_dict=True`` gives
        ``{"loss": ..., "mae": ...}``. ``x`` may be arrays or batches (a dataset, a
        generator, a sequence)."""
        self._require_compiled()
        result = training.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                   steps=steps)
        if return_dict:
            return result
        return result["loss"] if not self.metrics else list(result.values())

    def _evaluate_checked(self, x, y, batch_size=None):
        """Loss and metrics of checked arrays: one prediction of everything, then each value
        over all samples (the same as Keras's batch-size-weighted mean, without its
        rounding)."""
        y_pred = self.predict(x, batch_size=batch_size)
        result = {"loss": self._loss(y, y_pred)}
        for metric in self.metrics:
            metric.reset_state()
            metric.update_state(y, y_pred)
            result[metric.name] = metric.result()
        return result

    def reset_states(self):
        """Keras 2's ``model.reset_states()``: reset every stateful layer's carried states
        (Keras 3 calls ``layer.reset_states()`` on each)."""
        _keras2("model.reset_states()", "layer.reset_states() for each stateful layer")
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def summary(self, print_fn=print):
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        if not self.built:
            print_fn(f'Model: "{self.name}" (not built yet: give the first layer an input_shape)')
            return
        rows, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            rows.append((f"{layer.name} ({type(layer).__name__})", str((self.batch_size, *shape)),
                         f"{layer.count_params():,}"))
        widths = [max(len(r[k]) for r in rows + [("Layer (type)", "Output Shape", "Param #")])
                  for k in range(3)]
        line = "  ".join("{:<%d}" % w for w in widths)
        rule = "─" * (sum(widths) + 4)
        print_fn(f'Model: "{self.name}"')
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
        model = Sequential(seed=seed, dtype=dtype or config["dtype"])
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
                          loss=self._loss, metrics=self._metric_specs)
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


class Sequential(Model):
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer, optional — the first element may be ``keras.Input(shape=...)``
        (or ``keras.Input(batch_shape=...)`` for a fixed batch size).
    seed : int, optional — seeds initialisation, dropout masks and shuffling; the same seed
        repeats a run bit for bit.
    dtype : "float32" (default) or "float64".
    name : str, optional

    >>> from lstm_np import Sequential, LSTM, Dropout, Dense
    >>> model = Sequential([LSTM(50, return_sequences=True, input_shape=(60, 1)), Dropout(0.2),
    ...                     LSTM(100), Dropout(0.2), Dense(1)], seed=0)
    >>> model.count_params()
    70901
    """

    def __init__(self, layers=None, seed=None, dtype="float32", name=None):
        self._setup(seed, dtype, name or "sequential")
        for layer in layers or []:
            self.add(layer)


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
