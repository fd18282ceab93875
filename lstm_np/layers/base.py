"""The contract every layer keeps.

A layer owns its parameters (``params``, a dict in Keras's weight order) and nothing else:
``forward(x, training)`` returns the output *and* a cache, ``backward(dy, cache)`` returns the
input gradient and a ``grads`` dict with the same keys as ``params``. No state from one call is
hidden on the layer, so two forward passes can be in flight at once and a gradient check can
call ``forward`` as often as it likes.
"""
import inspect
import os
import re
import sys
import warnings

import numpy as np

from ..functional import CHAIN_ONLY, KerasTensor
from . import schema


class Layer:
    """Base class: naming, building, weights in Keras's order, and parameter counting."""

    #: the Keras-style prefix of automatic names ("lstm", "lstm_1", ...)
    kind = "layer"
    #: what a model file may give each constructor argument: ``{argument: check}``, the checks
    #: of :mod:`.schema`; merged with those of the base classes by :meth:`config_schema`
    config_checks = {"name": schema.name, "input_shape": schema.anything}
    #: the arguments of the Keras 3 layer of the same class name that mean the same here, read
    #: and written by lstm_np.interop; None: no Keras counterpart
    keras_options = None
    #: a wrapper's layers, converted on their own: ``{constructor argument: attribute}``, the
    #: same names on the Keras wrapper of the same class name (lstm_np.interop); Keras names
    #: each after its attribute (``forward_layer`` -> ``forward_lstm``)
    keras_wrapped = {}
    #: options Keras's config.json has for this layer and lstm_np does not (lstm_np.kerasfile)
    keras_file_options = {}
    #: the ``torch.nn`` module holding the same weights ("LSTM", "Linear", ...), or None
    torch_module = None

    def __init__(self, input_shape=None, name=None, batch_input_shape=None, input_dim=None,
                 input_length=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{kwargs}")
        self.batch_size = batch_size
        if batch_input_shape is not None:
            _keras2("batch_input_shape=", "keras.Input(batch_shape=...) as the first element "
                    "of Sequential")
            self.batch_size, input_shape = batch_input_shape[0], tuple(batch_input_shape[1:])
        elif input_dim is not None:
            _keras2("input_dim=", "input_shape=(...) or keras.Input(shape=...)")
            # Keras 2 read input_dim as the feature axis of a sequence for recurrent layers
            sequences = input_length is not None or hasattr(type(self), "reset_states")
            input_shape = (input_length, input_dim) if sequences else (input_dim,)
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

    @classmethod
    def inner_input_shape(cls, input_shape):
        """For a wrapper: the input shape of its wrapped layers, for its own ``input_shape``."""
        return tuple(input_shape)

    # --- computing ------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dy, cache):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, training=False, rng=None):
        """Run the layer and keep only its output (Keras's ``layer(x)``); on a symbolic
        tensor from ``keras.Input``, record the call (the functional API)."""
        if isinstance(x, KerasTensor):
            return x.through(self)
        if isinstance(x, (list, tuple)) and any(isinstance(t, KerasTensor) for t in x):
            raise ValueError(f"{CHAIN_ONLY}; {self.describe()} was called on "
                             f"{len(x)} tensors")
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

    # --- PyTorch's layout (lstm_np.interop) -----------------------------------------------
    def torch_weights(self):
        """This layer's weights in PyTorch's layout, ``{key suffix: array}`` in torch's key
        order; ``{}`` for a layer without weights. ``ValueError`` (one sentence, after the
        layer's name) for weights PyTorch has no module for."""
        if self.params:
            raise ValueError("has weights but no PyTorch form")
        return {}

    def weights_from_torch(self, arrays):
        """The list of ``params`` (Keras layout, in order) from ``{key suffix: array}`` in
        the layout :meth:`torch_weights` writes."""
        return []

    def torch_step(self, torch, input_shape):
        """``(module, then)``: this layer as a step of a torch ``forward`` for inputs
        ``(N, *input_shape)`` — an ``nn.Module`` holding :meth:`torch_weights` (or None) and a
        function of its output (or None), with ``torch`` the imported package. ``ValueError``
        (one sentence, after the layer's name) for math torch's modules cannot express."""
        raise ValueError("has no PyTorch module")

    # --- Keras's .keras / .weights.h5 layout (lstm_np.kerasfile) ------------------------------
    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        """Where Keras's HDF5 file keeps the weights of the layer ``config`` describes: a list
        of ``(group path, count, name)`` in Keras's weight order, ``path`` and ``name`` this
        layer's. ``inner(spec, path, name)`` gives the groups of a wrapped layer's spec. The
        default: no weights, one empty group."""
        return [(path, 0, name)]

    # --- what a model file needs to know (lstm_np.modelfile) -------------------------------
    @classmethod
    def config_schema(cls):
        """``{argument: check}`` for every argument of the constructor: the checks the class
        and its bases declare in ``config_checks``; an argument without one (a user's layer
        needs to declare nothing) may be any JSON value, and the constructor judges it when
        :meth:`weight_shapes_for` makes the layer."""
        declared = {}
        for klass in reversed(cls.__mro__):
            declared.update(vars(klass).get("config_checks", {}))
        return {key: declared.get(key, schema.anything)
                for key, p in inspect.signature(cls.__init__).parameters.items()
                if key != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}

    @classmethod
    def weight_shapes_for(cls, config, input_shape, check_inner=None):
        """The shapes of the weights, in order, and the output shape of the layer ``config``
        describes, for inputs ``input_shape`` (one sample's) — how a model file is checked
        before anything is built. Raises :class:`.schema.ShapeError` if the layer does not fit
        its inputs, ``ValueError`` or ``TypeError`` for a bad configuration.

        ``check_inner(spec, role, shape) -> (shapes, output shape)`` checks a wrapped layer's
        ``{"class", "config"}`` (the model file's own check, for a wrapper).

        The default makes the layer and builds it, so it suits layers without weights or with
        small ones; a layer whose weights may be large computes their shapes instead (as
        :class:`Dense` and the recurrent layers do), so a file is refused before they are
        allocated.
        """
        layer = cls.from_config(config)
        output_shape = tuple(layer.compute_output_shape(tuple(input_shape)))
        layer.build(tuple(input_shape), np.random.default_rng(0), "float32")
        return [tuple(w.shape) for w in layer.params.values()], output_shape

    def describe(self):
        """How error messages name the layer: ``LSTM layer 'lstm_1'``."""
        return f"{type(self).__name__} layer" + ("" if self.name is None else f" {self.name!r}")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def snake_case(name):
    """Keras's ``to_snake_case``: ``SimpleRNN`` -> ``simple_rnn``, ``GlorotUniform`` ->
    ``glorot_uniform``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras2(spelling, keras3):
    """The one DeprecationWarning of a Keras-2 spelling lstm_np still accepts, attributed to
    the user's line (the first frame outside this package)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{spelling} is a Keras 2 spelling; Keras 3 writes {keras3}",
                  DeprecationWarning, stacklevel=level)
