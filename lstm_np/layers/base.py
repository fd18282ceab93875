"""The contract every layer keeps.

A layer owns its parameters (``params``, a dict in Keras's weight order) and nothing else:
``forward(x, training)`` returns the output *and* a cache, ``backward(dy, cache)`` returns the
input gradient and a ``grads`` dict with the same keys as ``params``. No state from one call is
hidden on the layer, so two forward passes can be in flight at once and a gradient check can
call ``forward`` as often as it likes.
"""
import numpy as np


class Layer:
    """Base class: naming, building, weights in Keras's order, and parameter counting."""

    #: the Keras-style prefix of automatic names ("lstm", "lstm_1", ...)
    kind = "layer"

    def __init__(self, input_shape=None, name=None):
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.name = name
        self.params = {}
        self.built = False

    # --- building -------------------------------------------------------------------------
    def build(self, input_shape, rng, dtype):
        """Create ``params`` for inputs shaped ``(None, *input_shape)``."""
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # --- computing ------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dy, cache):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, training=False, rng=None):
        """Run the layer and keep only its output (Keras's ``layer(x)``)."""
        return self.forward(np.asarray(x), training=training, rng=rng)[0]

    # --- weights --------------------------------------------------------------------------
    @property
    def weights(self):
        return list(self.params.values())

    def count_params(self):
        return int(sum(p.size for p in self.params.values()))

    def cast(self, dtype):
        for key, value in self.params.items():
            self.params[key] = np.ascontiguousarray(value, dtype=dtype)

    def get_config(self):
        config = {"name": self.name}
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        """The layer ``get_config`` describes (without its weights)."""
        return cls(**config)

    def describe(self):
        """How error messages name the layer: ``LSTM layer 'lstm_1'``."""
        return f"{type(self).__name__} layer" + ("" if self.name is None else f" {self.name!r}")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"
