"""Losses as Keras defines them: mean over the last axis, then mean over the batch.

Each returns ``(loss, dy_pred)`` — the scalar and its gradient with respect to the prediction.
"""
import numpy as np


def _difference(y_pred, y_true):
    """``y_pred - y_true`` for two arrays of one shape: a target of another shape would be
    broadcast (``(N, 1) - (N,)`` is N×N) into a plausible but wrong loss, so it is refused."""
    if np.shape(y_pred) != np.shape(y_true):
        raise ValueError(f"the targets have shape {np.shape(y_true)} but the predictions "
                         f"{np.shape(y_pred)}; they must match exactly")
    if np.size(y_pred) == 0:
        raise ValueError("a loss needs at least one sample")
    return y_pred - y_true


def mean_squared_error(y_pred, y_true):
    diff = _difference(y_pred, y_true)
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def mean_absolute_error(y_pred, y_true):
    diff = _difference(y_pred, y_true)
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


LOSSES = {"mse": mean_squared_error, "mean_squared_error": mean_squared_error,
          "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error}
SHORT_NAMES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(name):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of mse, mae")
    return SHORT_NAMES.get(name, name), LOSSES[name]
