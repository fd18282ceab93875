"""Keras's functional API for a chain of layers: ``keras.Input``, ``layer(tensor)``,
``keras.Model(inputs, outputs)``.

>>> import lstm_np as keras
>>> inputs = keras.Input(shape=(60, 1))
>>> x = keras.layers.LSTM(8)(inputs)
>>> outputs = keras.layers.Dense(1)(x)
>>> model = keras.Model(inputs, outputs, seed=0)
>>> model.output_shape
(1,)

Calling a layer on a :class:`KerasTensor` computes nothing: it records the layer and returns a
new symbolic tensor of the output's shape. ``Model(inputs, outputs)`` walks back from
``outputs`` to ``inputs`` and becomes the same linear stack a :class:`~lstm_np.Sequential` is
(one code path for compile, fit, predict, save). A graph that is not one chain — several
inputs or outputs, a layer used twice — is refused with one sentence.
"""
import numpy as np

CHAIN_ONLY = ("lstm_np's functional models are one chain: one Input, each layer called once "
              "on the previous layer's output, one output")


class KerasTensor:
    """A symbolic tensor: the ``shape`` of one sample (batch axis excluded), the fixed
    ``batch_size`` if the Input gave one, and the layer and tensor it came from."""

    def __init__(self, shape, batch_size=None, layer=None, parent=None, name=None):
        self.sample_shape = tuple(shape)
        self.batch_size = batch_size
        self.layer, self.parent, self.name = layer, parent, name

    @property
    def shape(self):
        """Keras's full shape, batch axis first (``None`` when the batch size is free)."""
        return (self.batch_size, *self.sample_shape)

    @property
    def dtype(self):
        return "float32"

    def through(self, layer):
        """The tensor ``layer(self)`` gives."""
        return KerasTensor(layer.compute_output_shape(self.sample_shape), self.batch_size,
                           layer=layer, parent=self)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}>"

    def __array__(self, *args, **kwargs):
        raise TypeError("a KerasTensor from keras.Input has no values; build a "
                        "keras.Model(inputs, outputs) and call model.predict(x)")


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, sparse=None,
          tensor=None, optional=False):
    """A symbolic input (``keras.Input``): ``shape`` of one sample, or ``batch_shape`` with the
    batch size first (needed by ``stateful=True`` layers in Keras). Only float inputs exist
    here; ``dtype`` is taken from the model (``Sequential(dtype=...)``)."""
    if batch_shape is not None:
        if shape is not None:
            raise ValueError("give keras.Input either shape= or batch_shape=, not both")
        batch_shape = tuple(batch_shape)
        if len(batch_shape) < 2:
            raise ValueError(f"batch_shape={batch_shape!r} needs the batch size and at least one "
                             "more axis")
        batch_size, shape = batch_shape[0], batch_shape[1:]
    if shape is None:
        raise ValueError("keras.Input needs shape= (one sample's shape, e.g. (60, 1)) or "
                         "batch_shape=")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(None if s is None else _positive(s, "shape") for s in shape)
    if batch_size is not None:
        batch_size = _positive(batch_size, "batch_size")
    if sparse or tensor is not None:
        raise ValueError("lstm_np inputs are dense NumPy arrays (no sparse= or tensor=)")
    return KerasTensor(shape, batch_size, name=name)


def _positive(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"keras.Input {what} must hold positive integers (or None for a free "
                         f"length); got {value!r}")
    return int(value)


def chain(inputs, outputs):
    """``(input tensor, [layers in order])`` of the chain from ``inputs`` to ``outputs``."""
    inputs, outputs = _single(inputs, "inputs"), _single(outputs, "outputs")
    layers, tensor = [], outputs
    while tensor.parent is not None:
        layers.append(tensor.layer)
        tensor = tensor.parent
    if tensor is not inputs:
        raise ValueError(f"{CHAIN_ONLY}; these outputs do not come from these inputs")
    if len({id(layer) for layer in layers}) != len(layers):
        raise ValueError(f"{CHAIN_ONLY}; a layer is used twice")
    return inputs, layers[::-1]


def _single(tensors, what):
    if isinstance(tensors, dict):
        tensors = list(tensors.values())
    if isinstance(tensors, (list, tuple)):
        if len(tensors) != 1:
            raise ValueError(f"{CHAIN_ONLY}; got {len(tensors)} {what}")
        tensors = tensors[0]
    if not isinstance(tensors, KerasTensor):
        raise TypeError(f"keras.Model({what}=...) takes tensors from keras.Input and layer calls;"
                        f" got {type(tensors).__name__}")
    return tensors
