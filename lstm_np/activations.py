"""Activation functions by their Keras names.

Every activation here can write its derivative in terms of its *output* ``y = act(x)``,
which is what the backward passes store. The integer codes are how the Numba kernels,
which take no Python objects, are told which function to apply.
"""
import numpy as np

CODES = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "hard_sigmoid": 4}


def sigmoid(x):
    """The exact logistic function ``1 / (1 + exp(-x))``, written to never overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x), copy=False)


def hard_sigmoid(x):
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``."""
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(np.result_type(x), copy=False)


def relu(x):
    return np.maximum(x, 0)


def linear(x):
    return x


FUNCTIONS = {"linear": linear, "sigmoid": sigmoid, "tanh": np.tanh, "relu": relu,
             "hard_sigmoid": hard_sigmoid}


def derivative_from_output(name, y):
    """``act'(x)`` expressed through ``y = act(x)``."""
    if name == "sigmoid":
        return y * (1 - y)
    if name == "tanh":
        return 1 - y * y
    if name == "relu":
        return (y > 0).astype(y.dtype)
    if name == "hard_sigmoid":
        return ((y > 0) & (y < 1)).astype(y.dtype) / 6.0
    return np.ones_like(y)


def get(name):
    """Validate an activation name (``None`` means ``"linear"``) and return it."""
    name = "linear" if name is None else name
    if name not in CODES:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(CODES)}")
    return name
