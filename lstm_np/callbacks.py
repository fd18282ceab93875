"""Callbacks for ``fit``, with Keras 3's names, defaults and semantics (``keras.callbacks``).

>>> from lstm_np.callbacks import EarlyStopping
>>> stop = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
>>> # model.fit(x, y, validation_data=(x_val, y_val), epochs=500, callbacks=[stop])

``fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin``, per batch
``on_train_batch_begin`` / ``on_train_batch_end`` (whose defaults call the Keras-2 names
``on_batch_begin`` / ``on_batch_end``), ``on_epoch_end``; finally ``on_train_end``. The user's
callbacks run in the order given and :class:`History` last, so what a callback writes into the
epoch's ``logs`` (``learning_rate`` from :class:`ReduceLROnPlateau` and
:class:`LearningRateScheduler`) is in ``history.history``.
"""
from __future__ import annotations

import csv
import math
import os
import warnings

import numpy as np

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
           "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback"]


class Callback:
    """Hooks called by ``fit``. Set ``self.model.stop_training = True`` to end training."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)


class History(Callback):
    """What ``fit`` returns: ``history[name]`` is the list of per-epoch values, ``epoch`` the
    0-based epoch numbers, ``seconds`` each epoch's wall time."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.seconds = []

    def append(self, epoch, logs, seconds):
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class MonitorCallback(Callback):
    """A callback that watches one ``logs`` value, as Keras 3's ``MonitorCallback``.

    ``mode="auto"`` takes the direction from the monitored name: ``loss`` / ``val_loss`` fall;
    a metric of the model (``val_mae``) goes the way its ``direction`` says; anything else
    raises ValueError at the end of the first epoch, because the direction cannot be told.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.direction = None          # "min" or "max" once known

    def _set_direction(self):
        if self.mode != "auto":
            self.direction = self.mode
            return
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            self.direction = "min"
        for metric in getattr(self.model, "metrics", None) or []:
            if getattr(metric, "name", None) == name and metric.direction is not None:
                self.direction = "min" if metric.direction == "down" else "max"
        if self.direction is None:
            raise ValueError(f"{type(self).__name__} callback received monitor="
                             f"{self.monitor}, but lstm_np cannot tell whether that metric "
                             "should be maximized or minimized; pass mode='max' or mode='min'")

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored quantity has stopped improving
    (``keras.callbacks.EarlyStopping``, exactly as Keras 3.15).

    Parameters
    ----------
    monitor : str
        The ``logs`` key to watch, ``"val_loss"`` by default.
    min_delta : float
        An epoch improves only if it beats the best value so far by more than ``|min_delta|``.
    patience : int
        Epochs without improvement after which training stops (``-1`` and ``0`` stop at the
        first epoch without improvement after the first).
    verbose : int
        1 prints one line when training stops early and when the best weights are restored.
    mode : {"auto", "min", "max"}
        See :class:`MonitorCallback`: ``"auto"`` follows the metric's direction.
    baseline : float, optional
        Training stops if the model does not beat this value within ``patience`` epochs.
    restore_best_weights : bool
        At the end of training, set the model's weights to those of the best epoch (also when
        training ran all its epochs, as Keras 3 does).
    start_from_epoch : int
        Epochs to wait before watching at all (a warm-up).

    The best value starts as ``None``, so the first watched epoch is always the best so far —
    even when its value is NaN or infinite (no later value beats a NaN: training then stops
    ``patience`` epochs later and restores that first epoch's weights, as Keras does).

    Attributes
    ----------
    best : float or None
    best_epoch : int
        0-based epoch of :attr:`best` (History's ``epoch`` list is 0-based too).
    stopped_epoch : int
        0-based epoch at which training was stopped, 0 if it was not stopped early.
    wait : int
        Epochs since the last improvement.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        if isinstance(patience, bool) or int(patience) != patience:
            raise ValueError(f"patience must be an integer, got {patience!r}")
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        # one callback may serve several fit calls, as in Keras
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.direction is None:
            self._set_direction()
        current = _monitored(logs, self.monitor, "Early stopping conditioned on metric")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()   # the first watched epoch's
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # the wait restarts only if the epoch beats the baseline as well as the best
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _monitored(logs, monitor, what):
    """``logs[monitor]``, or None with Keras's warning naming what is available."""
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{what} `{monitor}` which is not available. Available metrics are: "
                      f"{','.join(logs or {})}", stacklevel=3)
    return value


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) at the end of every epoch, or only when ``monitor``
    improves (``keras.callbacks.ModelCheckpoint``).

    ``filepath`` may hold ``{epoch}`` and any ``logs`` key as format fields
    (``"model-{epoch:02d}-{val_loss:.3f}.npz"``; ``epoch`` counts from 1). The path's ending
    chooses the format, and is checked here, before training: ``.npz`` (lstm_np's own file,
    read by :func:`lstm_np.load_model`; with ``save_weights_only=True`` the whole model is
    written too, since ``.npz`` has no weights-only form), ``.keras`` / ``.weights.h5`` (Keras 3's
    formats) when the model offers them. As in Keras, a checkpoint replaces the file it wrote
    before, and a missing folder is created.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch":
            raise ValueError(f"lstm_np's ModelCheckpoint saves once per epoch "
                             f"(save_freq='epoch'); got save_freq={save_freq!r}")
        self.save_freq = save_freq
        endings = (".weights.h5", ".npz") if save_weights_only else (".keras", ".npz")
        if not self.filepath.endswith(endings):
            raise ValueError(f"ModelCheckpoint{' with save_weights_only=True' * save_weights_only}"
                             f" needs a filepath ending in {' or '.join(endings)}; got "
                             f"{self.filepath!r}")

    def set_model(self, model):
        super().set_model(model)
        writer = self._writer()
        if writer is None:
            raise ValueError(f"this model cannot write {self.filepath!r} yet (no "
                             f"{'save_weights' if self.save_weights_only else 'save'} for that "
                             "format); use a filepath ending in .npz")

    def _writer(self):
        """The model's method that writes ``self.filepath``'s format, or None."""
        if self.filepath.endswith(".npz"):
            return self.model.save
        method = getattr(self.model, "save_weights" if self.save_weights_only else "save")
        formats = getattr(self.model, "SAVE_FORMATS", (".npz",))
        return method if self.filepath.endswith(tuple(formats)) else None

    def on_epoch_end(self, epoch, logs=None):
        if self.direction is None:
            self._set_direction()
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"ModelCheckpoint cannot format its filepath {self.filepath!r} "
                             f"with the epoch's logs ({', '.join(logs)}): {err}") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.",
                              stacklevel=2)
            else:
                best = "None" if self.best is None else f"{self.best:.5f}"
                if not self._is_improvement(current, self.best):
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                    return
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{current:.5f}, saving model to {path}")
                self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._writer()(path, overwrite=True)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement
    (``keras.callbacks.ReduceLROnPlateau``); then wait ``cooldown`` epochs; never below
    ``min_lr``. Writes ``learning_rate`` into each epoch's logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received "
                             f"factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.direction is None:
            self._set_direction()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _learning_rate(self.model)
        current = _monitored(logs, self.monitor, "Learning rate reduction is conditioned on "
                                                  "metric")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _learning_rate(self.model)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    _set_learning_rate(self.model, new)
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), ``epoch`` counting from 0 (``keras.callbacks.LearningRateScheduler``).
    Writes ``learning_rate`` into each epoch's logs."""

    def __init__(self, schedule, verbose=0):
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            rate = self.schedule(epoch, _learning_rate(self.model))
        except TypeError:                      # the one-argument form of Keras 2
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: "
                             f"{rate}")
        _set_learning_rate(self.model, rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


def _learning_rate(model):
    return float(model.optimizer.learning_rate)


def _set_learning_rate(model, rate):
    rate = float(rate)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"a callback set the learning rate to {rate!r}; it must be a positive "
                         "finite number")
    model.optimizer.learning_rate = rate


class CSVLogger(Callback):
    """Write each epoch's logs as one CSV row (``keras.callbacks.CSVLogger``): a header
    ``epoch,<keys in sorted order>``, then the 0-based epoch and the values. As in Keras, the
    file is replaced at the start of training unless ``append=True``."""

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.isfile(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._append_header = not has_rows
        self._file = open(self.filename, "a" if self.append else "w", newline="",
                          encoding="utf-8")
        self.keys, self._writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys],
                                          delimiter=self.sep)
            if self._append_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite
    (``keras.callbacks.TerminateOnNaN``); ``raise_error=True`` raises RuntimeError instead.
    The weights stay as they were before that batch."""

    def __init__(self, raise_error=False):
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions (``keras.callbacks.LambdaCallback``):
    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)`` (and the Keras-2 ``on_batch_begin`` /
    ``on_batch_end``)."""

    HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
             "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        unknown = set(kwargs) - set(self.HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback takes the hooks {', '.join(self.HOOKS)}; got "
                            f"{', '.join(sorted(unknown))}")
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for hook, function in given.items():
            if function is not None:
                setattr(self, hook, function)
