"""Losses as Keras defines them: mean over the last axis, then mean over the batch.

Each returns ``(loss, dy_pred)`` — the scalar and its gradient with respect to the prediction.
"""
import numpy as np


def mean_squared_error(y_pred, y_true):
    diff = y_pred - y_true
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def mean_absolute_error(y_pred, y_true):
    diff = y_pred - y_true
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


LOSSES = {"mse": mean_squared_error, "mean_squared_error": mean_squared_error,
          "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error}
SHORT_NAMES = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(name):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of mse, mae")
    return SHORT_NAMES.get(name, name), LOSSES[name]
