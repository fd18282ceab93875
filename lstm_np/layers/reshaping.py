"""Layers without weights that reshape or transform their input: ``RepeatVector``, ``Flatten``
and ``Activation`` (Keras's ``keras.layers`` of the same names)."""
import functools
import math

import numpy as np

from .. import activations
from . import schema
from .base import Layer
from .registry import register


@register
class RepeatVector(Layer):
    """``y[:, t] = x`` for ``t = 0 … n-1``: a vector repeated ``n`` times along a new time axis.

    Shapes: input ``(N, F)``, output ``(N, n, F)``. The bridge of an encoder-decoder: the
    encoder's last state, repeated once per output step, feeds the decoder.

    Backward: every copy of ``x`` received a gradient, so ``dx = Σ_t dy[:, t]``.

    >>> import numpy as np
    >>> from lstm_np.layers import RepeatVector
    >>> RepeatVector(3)(np.ones((2, 4))).shape
    (2, 3, 4)
    """

    kind = "repeat_vector"
    config_checks = {"n": schema.steps}
    keras_options = ("n",)

    def __init__(self, n, input_shape=None, name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"RepeatVector's n must be a positive integer, got {n!r}")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"{self.describe()} takes inputs of shape (batch, features); "
                             f"got (batch, {', '.join(map(str, input_shape))})")
        return (self.n, input_shape[0])

    def forward(self, x, training=False, rng=None):
        if x.ndim != 2:
            raise ValueError(f"{self.describe()} takes x of shape (batch, features); got "
                             f"{x.shape}")
        return np.repeat(x[:, None, :], self.n, axis=1), None           # (N, n, F)

    def backward(self, dy, cache):
        return dy.sum(axis=1), {}

    def get_config(self):
        return {**super().get_config(), "n": self.n}

    def torch_step(self, torch, input_shape):
        return None, functools.partial(_repeat, self.n)


@register
class Flatten(Layer):
    """``y = x.reshape(N, -1)``: every sample flattened to one vector (C order, as Keras's
    ``data_format="channels_last"``).

    Shapes: input ``(N, d1, d2, …)``, output ``(N, d1 * d2 * …)``. Backward: ``dx = dy``
    reshaped back.
    """

    kind = "flatten"
    keras_options = ()

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False, rng=None):
        return x.reshape(len(x), -1), x.shape

    def backward(self, dy, cache):
        return dy.reshape(cache), {}

    def torch_step(self, torch, input_shape):
        return None, functools.partial(torch.flatten, start_dim=1)


@register
class Activation(Layer):
    """``y = activation(x)``, elementwise; the activation by its Keras name (``"relu"``,
    ``"tanh"``, ``"sigmoid"``, ``"hard_sigmoid"``, ``"linear"``).

    Backward: ``dx = dy * activation'(x)``, the derivative written through the output ``y``.
    """

    kind = "activation"
    config_checks = {"activation": schema.activation}
    keras_options = ("activation",)

    def __init__(self, activation, input_shape=None, name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False, rng=None):
        y = activations.FUNCTIONS[self.activation](x)
        return y, y

    def backward(self, dy, cache):
        return dy * activations.derivative_from_output(self.activation, cache), {}

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}

    def torch_step(self, torch, input_shape):
        return None, activations.torch_function(torch, self.activation)


def _repeat(n, x):
    """RepeatVector in torch: ``x (N, F)`` -> ``(N, n, F)``, a view."""
    return x.unsqueeze(1).expand(-1, n, -1)
