"""Fully connected layer and inverted dropout."""
from typing import NamedTuple

import numpy as np

from .. import activations, initializers
from .._runtime import reusable
from ..kernels.dense import dense_backward, dense_forward
from . import schema
from .base import Layer
from .registry import register


class DenseCache(NamedTuple):
    x: np.ndarray      # (M, in) the input, flattened over leading axes
    y: np.ndarray      # (M, units) the activated output
    shape: tuple       # the input's original shape


@register
class Dense(Layer):
    """``y = activation(x @ kernel + bias)`` on the last axis.

    Shapes: input ``(..., in)``, output ``(..., units)``.
    Parameters: ``kernel (in, units)`` glorot_uniform, ``bias (units,)`` zeros.

    Backward: ``da = dy * activation'(a)``, ``dkernel = x.T @ da``, ``dbias = Σ da``,
    ``dx = da @ kernel.T``.

    The products run in a compiled kernel (:mod:`lstm_np.kernels.dense`) that forms each row
    from its own input row alone, so a row's output is the same bit for bit whatever batch it
    comes in, and on any number of threads.

    >>> import numpy as np
    >>> from lstm_np import Dense
    >>> layer = Dense(1, input_shape=(3,))
    >>> layer.build((3,), np.random.default_rng(0), "float64")
    >>> layer(np.ones((2, 3))).shape
    (2, 1)
    """

    kind = "dense"
    config_checks = {"units": schema.units, "activation": schema.activation,
                     "use_bias": schema.boolean}
    keras_options = ("units", "activation", "use_bias")
    torch_module = "Linear"          # weight (units, in), bias (units,)

    def __init__(self, units, activation=None, use_bias=True, input_shape=None, name=None,
                 **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape, rng, dtype):
        self.params = {"kernel": initializers.glorot_uniform((input_shape[-1], self.units), rng)}
        if self.use_bias:
            self.params["bias"] = np.zeros(self.units)
        self.cast(dtype)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    @classmethod
    def weight_shapes_for(cls, config, input_shape, check_inner=None):
        D, H = input_shape[-1], config["units"]
        return [(D, H)] + ([(H,)] if config.get("use_bias", True) else []), \
            tuple(input_shape[:-1]) + (H,)

    def forward(self, x, training=False, rng=None):
        kernel = self.params["kernel"]
        x2 = np.ascontiguousarray(np.asarray(x, dtype=kernel.dtype).reshape(-1, x.shape[-1]))
        a = np.empty((x2.shape[0], self.units), kernel.dtype)
        bias = self.params["bias"] if self.use_bias else np.zeros(self.units, kernel.dtype)
        dense_forward(x2, np.ascontiguousarray(kernel), bias, a)         # a = x2 @ kernel + bias
        y = activations.FUNCTIONS[self.activation](a)
        return y.reshape(x.shape[:-1] + (self.units,)), DenseCache(x2, y, x.shape)

    def backward(self, dy, cache):
        x2, y, shape = cache
        kernel = self.params["kernel"]
        da = dy.reshape(-1, self.units) * activations.derivative_from_output(self.activation, y)
        da = np.ascontiguousarray(da, dtype=kernel.dtype)
        dkernel, dbias = np.empty(kernel.shape, kernel.dtype), np.empty(self.units, kernel.dtype)
        dx = np.empty_like(x2)
        # dkernel = x2.T @ da, dbias = Σ da, dx = da @ kernel.T
        dense_backward(x2, da, np.ascontiguousarray(kernel.T), True, dkernel, dbias, dx)
        grads = {"kernel": dkernel}
        if self.use_bias:
            grads["bias"] = dbias
        return dx.reshape(shape), grads

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self.activation, use_bias=self.use_bias)
        return config

    def torch_weights(self):
        out = {"weight": self.params["kernel"].T}
        if self.use_bias:
            out["bias"] = self.params["bias"]
        return out

    def weights_from_torch(self, arrays):
        return [arrays["weight"].T] + ([arrays["bias"]] if self.use_bias else [])

    def torch_step(self, torch, input_shape):
        return (torch.nn.Linear(input_shape[-1], self.units, bias=self.use_bias),
                activations.torch_function(torch, self.activation))

    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        return [(path, 1 + int(config.get("use_bias", True)), name)]      # kernel, bias


@register
class Dropout(Layer):
    """Inverted dropout: in training keep each element with probability ``1 - rate`` and scale
    the survivors by ``1 / (1 - rate)``; at inference the identity.

    A fresh mask is drawn per element on every training call (also along the time axis of a
    sequence). ``forward(..., mask=m)`` applies a given mask, which is how a gradient check holds
    the randomness still. Backward: ``dx = dy * mask`` — the same mask as forward, from the cache.
    """

    kind = "dropout"
    config_checks = {"rate": schema.rate}
    keras_options = ("rate",)
    keras_file_options = {"seed": None, "noise_shape": None}
    torch_module = "Dropout"

    def __init__(self, rate, input_shape=None, name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def forward(self, x, training=False, rng=None, mask=None):
        if mask is None:
            if not training or self.rate == 0.0:
                return x, None
            rng = np.random.default_rng() if rng is None else rng
            keep = 1.0 - self.rate
            dtype = np.float32 if x.dtype == np.float32 else np.float64
            uniform = rng.random(dtype=dtype, out=reusable(x.shape, dtype))
            mask = reusable(x.shape, x.dtype)           # (uniform < keep) / keep, in place
            np.less(uniform, keep, out=mask)
            np.divide(mask, np.asarray(keep, x.dtype), out=mask)
        return np.multiply(x, mask, out=reusable(x.shape, np.result_type(x, mask))), mask

    def backward(self, dy, cache):
        if cache is None:
            return dy, {}
        return np.multiply(dy, cache, out=reusable(dy.shape, np.result_type(dy, cache))), {}

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate)
        return config

    def torch_step(self, torch, input_shape):
        return torch.nn.Dropout(self.rate), None
