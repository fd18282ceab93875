"""Activation functions by their Keras names.

Every activation here can write its derivative in terms of its *output* ``y = act(x)``,
which is what the backward passes store. The compiled kernels, which take no Python objects,
are told which function to apply by an integer code; the codes are defined once, in
:mod:`lstm_np.kernels.activations`, and :data:`CODES` only names them.
"""
import numpy as np

from .kernels.activations import HARD_SIGMOID, LINEAR, RELU, SIGMOID, TANH

CODES = {"linear": LINEAR, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
         "hard_sigmoid": HARD_SIGMOID}


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


def torch_function(torch, name):
    """The torch function computing activation ``name`` (None for ``"linear"``); ``torch``
    is the imported package (lstm_np.interop)."""
    return {"linear": None, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
            "hard_sigmoid": torch.nn.functional.hardsigmoid}[name]


FUNCTIONS = {"linear": linear, "sigmoid": sigmoid, "tanh": np.tanh, "relu": relu,
             "hard_sigmoid": hard_sigmoid}

#: ``act'(x)`` written through the output ``y = act(x)``, as the kernels write it
DERIVATIVES = {
    "linear": np.ones_like,
    "sigmoid": lambda y: y * (1 - y),
    "tanh": lambda y: 1 - y * y,
    "relu": lambda y: (y > 0).astype(y.dtype),
    "hard_sigmoid": lambda y: ((y > 0) & (y < 1)).astype(y.dtype) / 6.0,   # flat where clipped
}


def derivative_from_output(name, y):
    """``act'(x)`` expressed through ``y = act(x)``."""
    return DERIVATIVES[name](y)


def get(name):
    """Validate an activation name (``None`` means ``"linear"``) and return it."""
    name = "linear" if name is None else name
    if not isinstance(name, str) or name not in CODES:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(CODES)}")
    return name
