"""Callbacks for :meth:`lstm_np.Sequential.fit`, with Keras's names, defaults and semantics.

>>> from lstm_np import EarlyStopping
>>> stop = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
>>> # model.fit(x, y, validation_data=(x_val, y_val), epochs=500, callbacks=[stop])
"""
from __future__ import annotations

import warnings

import numpy as np

from .models import Callback

__all__ = ["Callback", "EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving (``keras.callbacks.EarlyStopping``).

    Parameters
    ----------
    monitor : str
        The ``logs`` key to watch, ``"val_loss"`` by default (``"loss"`` without validation data).
    min_delta : float
        An epoch improves only if it beats the best value so far by more than ``|min_delta|``.
    patience : int
        Epochs without improvement after which training stops.
    verbose : int
        1 prints one line when training stops early and when the best weights are restored.
    mode : {"auto", "min", "max"}
        Whether the quantity should fall or rise; ``"auto"`` means ``"max"`` for accuracies
        (a name containing ``"acc"``) and ``"min"`` otherwise.
    baseline : float, optional
        Training stops if the model does not beat this value within ``patience`` epochs.
    restore_best_weights : bool
        At the end of training, set the model's weights to those of the best epoch (as Keras 3
        does, also when training ran all its epochs). False keeps the last epoch's weights.
    start_from_epoch : int
        Epochs to wait before watching at all (a warm-up).

    Attributes
    ----------
    best : float
        The best monitored value seen.
    best_epoch : int
        0-based epoch of :attr:`best` (Keras's convention; History's ``epoch`` list is 0-based too).
    stopped_epoch : int
        0-based epoch at which training was stopped, 0 if it was not stopped early.
    wait : int
        Epochs since the last improvement.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode!r} is unknown, fallback to auto mode",
                          stacklevel=2)
            mode = "auto"
        if int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.model = None
        self._reset()

    @property
    def _maximize(self):
        if self.mode == "auto":
            return "acc" in self.monitor  # accuracies rise, losses and errors fall
        return self.mode == "max"

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -np.inf if self._maximize else np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()  # one callback may serve several fit calls, as in Keras

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric {self.monitor!r} which is not "
                          f"available. Available metrics are: {', '.join(logs or {})}",
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Keras keeps the first watched epoch's weights even if it never improves on +inf.
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = float(current)
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
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
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
