"""Moving models between lstm_np, Keras 3 and PyTorch.

lstm_np keeps Keras's weight layout (``docs/keras_parity.md``), so a Keras model's
``get_weights()`` drop straight in; PyTorch needs the conversions below. Keras and PyTorch are
optional: each function imports its peer when called and raises an ``ImportError`` that says
how to install it if it is missing.

Interop
-------
A Keras model into lstm_np and back, and out to PyTorch::

    import keras
    from lstm_np.interop import from_keras, to_keras, to_torch, from_torch, torch_module

    k = keras.Sequential([keras.Input((60, 1)), keras.layers.LSTM(50, return_sequences=True),
                          keras.layers.Dropout(0.2), keras.layers.LSTM(100),
                          keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    model = from_keras(k)              # an lstm_np Sequential; model.predict(x) == k.predict(x)
    k2 = to_keras(model)               # a keras.Sequential with the same weights

    net = torch_module(model)          # a torch.nn.Module: net(torch.tensor(x)) == model.predict(x)
    state = to_torch(model)            # {"lstm.weight_ih_l0": tensor, ..., "dense.bias": tensor}
    from_torch(net.state_dict(), model)   # load torch weights into a model of the same architecture

Torch key scheme
----------------
One entry per lstm_np layer with weights, named after the layer (``model.layers[k].name``):

- LSTM / GRU / SimpleRNN: ``<name>.weight_ih_l0 (G*H, D)``, ``<name>.weight_hh_l0 (G*H, H)``,
  ``<name>.bias_ih_l0 (G*H,)``, ``<name>.bias_hh_l0 (G*H,)`` — an ``nn.LSTM`` (G = 4),
  ``nn.GRU`` (G = 3) or ``nn.RNN`` (G = 1) with ``num_layers=1``; no bias keys if
  ``use_bias=False``.
- Dense, and TimeDistributed(Dense): ``<name>.weight (units, in)``, ``<name>.bias (units,)`` —
  an ``nn.Linear`` (which applies to the last axis, so to every timestep).
- Bidirectional (merge_mode ``"concat"``, both directions alike): the recurrent keys above for
  the forward layer, then the same keys with ``_reverse`` for the backward one — an
  ``nn.LSTM/GRU/RNN(bidirectional=True)``.
- Dropout, RepeatVector, Flatten, Activation: nothing.
- GRU with ``reset_after=False`` (Keras only): refused, since PyTorch's ``nn.GRU`` always
  applies the reset gate after the recurrent product (``reset_after=True``).

Conversions (Keras ← torch, and back):

- LSTM, SimpleRNN: ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``,
  ``bias = bias_ih + bias_hh``; to torch ``bias_ih = bias``, ``bias_hh = 0``.
  The LSTM gate order is i, f, g, o in both.
- GRU (``reset_after=True``): torch's blocks r, z, n become Keras's z, r, h, then transposed;
  ``bias = stack([bias_ih, bias_hh])`` with the same reordering (row 0 input, row 1 recurrent).
- Dense: ``kernel = weight.T``.

Each layer class declares its side of this (``keras_options``, ``torch_module``,
``torch_weights``, ``weights_from_torch``; the GRU its gate order and bias rows): this module
walks the model and asks the layers. A registered layer that declares them converts too.
"""
import functools
import importlib
import warnings

import numpy as np

from . import activations
from .layers import LAYERS
from .models import Sequential


#: Keras options that only matter while training: converted with a warning, then dropped
_TRAINING_ONLY = ("kernel_regularizer", "recurrent_regularizer",
                  "bias_regularizer", "activity_regularizer", "kernel_constraint",
                  "recurrent_constraint", "bias_constraint", "noise_shape")


def _require(module, caller):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{caller} needs {module}: pip install -e '.[bench]'") from None


def _check_built(model, caller):
    if not isinstance(model, Sequential):
        raise TypeError(f"{caller} expects an lstm_np Sequential, got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"{caller}: the model is not built yet; give its first layer an "
                         "input_shape or call model.build(input_shape)")


def _load_all(model, arrays_per_layer, source):
    """Check every layer's new arrays against its params, then assign them all (or none)."""
    for layer, arrays in zip(model.layers, arrays_per_layer):
        if len(arrays) != len(layer.params):
            raise ValueError(f"{source} layer {layer.name!r} has {len(arrays)} weight arrays; "
                             f"the lstm_np {type(layer).__name__} needs {len(layer.params)} "
                             f"({', '.join(layer.params) or 'none'})")
        for (key, current), new in zip(layer.params.items(), arrays):
            if np.shape(new) != current.shape:
                raise ValueError(f"{source} layer {layer.name!r}: {key} has shape "
                                 f"{np.shape(new)}; expected {current.shape}")
    for layer, arrays in zip(model.layers, arrays_per_layer):
        for current, new in zip(layer.params.values(), arrays):
            current[...] = new
    return model


# --------------------------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------------------------
def from_keras(keras_model, dtype=None, input_shape=None):
    """Convert a ``keras.Sequential`` into an lstm_np :class:`~lstm_np.Sequential`.

    Parameters
    ----------
    keras_model : keras.Sequential
        LSTM, GRU, SimpleRNN, Dense, Dropout, Bidirectional, TimeDistributed, RepeatVector,
        Flatten and Activation layers (an InputLayer is skipped), built with a known input
        shape (``keras.Input((T, D))`` first).
    dtype : "float32" or "float64", optional
        The new model's dtype; by default the dtype of the Keras model's weights (float32
        unless the Keras model was built in float64).
    input_shape : tuple, optional
        ``(T, D)``; required only when the Keras model leaves the time axis open
        (``keras.Input((None, D))``), since an lstm_np model has a fixed input shape.

    Returns
    -------
    Sequential
        Same layer names, options and weights (``get_weights()`` is the same list); its
        ``predict`` equals Keras's (1e-5 in float32, 1e-9 in float64). Not compiled.

    Raises
    ------
    ValueError
        Naming the layer, for an unsupported layer type (e.g. Conv1D) or an option that
        changes the forward pass: ``stateful``, ``go_backwards`` (outside a Bidirectional),
        ``return_state``, an activation lstm_np lacks, a quantized or LoRA Dense.

    Warns
    -----
    UserWarning
        For options that matter only in training and are dropped: regularizers,
        constraints, a Dropout
        ``noise_shape``, or a mixed-precision dtype policy. Predictions are unaffected (Keras
        applies none of these at inference), but the converted model trains without them.
        Initializers are not carried over either: the weights are copied.
    """
    keras = _require("keras", "from_keras")
    if not isinstance(keras_model, keras.Sequential):
        raise ValueError(f"from_keras converts a keras.Sequential; got "
                         f"{type(keras_model).__name__}")
    shape = input_shape
    if shape is None:
        try:
            shape = tuple(keras_model.input_shape)[1:]
        except (AttributeError, ValueError):
            raise ValueError("the Keras model has no input shape yet; start it with "
                             "keras.Input((T, D)) or pass input_shape=(T, D)") from None
        if any(s is None for s in shape):
            raise ValueError(f"the Keras model's input shape {(None, *shape)} is not fixed; "
                             "pass input_shape=(T, D) to from_keras")
    pairs = []                              # (Keras layer, lstm_np layer)
    for layer in keras_model.layers:
        if not isinstance(layer, keras.layers.InputLayer):
            pairs.append((layer, _layer_from_keras(keras, layer)))
    weights = [np.asarray(w) for layer, _ in pairs for w in layer.get_weights()]
    if dtype is None:
        dtype = np.float64 if weights and weights[0].dtype == np.float64 else np.float32
    model = Sequential([ours for _, ours in pairs], dtype=dtype)
    model.build(shape)
    return _load_all(model, [theirs.get_weights() for theirs, _ in pairs], "Keras")


def _keras_classes():
    """``{class name: class}`` of the registered layers with a Keras layer of the same name."""
    return {name: cls for name, cls in LAYERS.items() if cls.keras_options is not None}


def _layer_from_keras(keras, layer):
    """The unbuilt lstm_np layer that computes what Keras layer ``layer`` computes."""
    ours = _keras_classes()
    cls = ours.get(type(layer).__name__)
    if cls is None or type(layer) is not getattr(keras.layers, cls.__name__, None):
        raise ValueError(f"from_keras cannot convert layer {layer.name!r} of type "
                         f"{type(layer).__name__}; supported: {', '.join(ours)}")
    config = layer.get_config()
    where = f"{type(layer).__name__} layer {layer.name!r}"
    if cls.keras_wrapped:             # a wrapper: its layers converted on their own
        return cls(name=layer.name, **{key: config[key] for key in cls.keras_options},
                   **{arg: _layer_from_keras(keras, getattr(layer, attribute))
                      for arg, attribute in cls.keras_wrapped.items()})

    refused = [k for k in ("stateful", "return_state") if config.get(k)]
    if config.get("quantization_config") or getattr(layer, "quantization_mode", None):
        refused.append("quantization")
    if getattr(layer, "lora_enabled", False):
        refused.append("LoRA")
    if refused:
        raise ValueError(f"from_keras: {where} uses {', '.join(refused)}, which lstm_np does not "
                         "support")

    dropped = [k for k in _TRAINING_ONLY if config.get(k)]
    compute_dtype = getattr(getattr(layer, "dtype_policy", None), "compute_dtype", "float32")
    if compute_dtype not in ("float32", "float64"):
        dropped.append(f"dtype policy computing in {compute_dtype}")
    if dropped:
        warnings.warn(f"from_keras: {where} uses {', '.join(dropped)}; inference is unchanged, "
                      "but the lstm_np model will train without it", UserWarning, stacklevel=3)

    options = {"name": layer.name}
    for key in cls.keras_options:
        options[key] = _check_activation(config[key], key, where) \
            if key.endswith("activation") else config[key]
    return cls(**options)


def _check_activation(value, key, where):
    if not isinstance(value, str) or value not in activations.CODES:
        raise ValueError(f"from_keras: {where} has {key}={value!r}; lstm_np supports "
                         f"{', '.join(activations.CODES)}")
    return value


def to_keras(model):
    """Convert an lstm_np :class:`~lstm_np.Sequential` into a ``keras.Sequential``.

    The Keras model starts with ``keras.Input(shape=model.input_shape)``, has the same layer
    names, options, dtype (float32 or float64) and weights, and predicts what ``model`` predicts.
    It is not compiled. Every lstm_np layer has a Keras counterpart of the same name
    (a Bidirectional's backward copy becomes Keras's ``backward_layer``).
    """
    keras = _require("keras", "to_keras")
    _check_built(model, "to_keras")
    dtype = model.dtype.name
    built = [keras.Input(shape=model.input_shape, dtype=dtype)]
    built += [_layer_to_keras(keras.layers, layer, dtype) for layer in model.layers]
    keras_model = keras.Sequential(built)
    for ours, theirs in zip(model.layers, keras_model.layers):
        theirs.set_weights(list(ours.params.values()))
    return keras_model


def _layer_to_keras(L, layer, dtype):
    """The Keras layer computing what lstm_np's ``layer`` computes (unbuilt)."""
    options = {"dtype": dtype}
    if layer.name is not None:
        options["name"] = layer.name
    kind = type(layer)
    if kind.keras_options is None:
        raise ValueError(f"to_keras cannot convert layer {layer.name!r} of type "
                         f"{kind.__name__}")
    options.update({key: getattr(layer, key) for key in kind.keras_options})
    options.update({arg: _layer_to_keras(L, getattr(layer, attribute), dtype)
                    for arg, attribute in kind.keras_wrapped.items()})
    return getattr(L, kind.__name__)(**options)


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------
def _check_convertible(model, caller):
    """Refuse, in one sentence, a layer whose weights have no PyTorch module to go in."""
    _check_built(model, caller)
    for layer in model.layers:
        try:
            layer.torch_weights()
        except ValueError as err:
            raise ValueError(f"{caller}: {layer.describe()} {err}") from None


def state_dict_numpy(model):
    """The model's weights as a PyTorch-layout state dict of NumPy arrays (see the module
    docstring for the key scheme); what :func:`to_torch` wraps. Arrays are fresh copies in the
    model's dtype."""
    _check_convertible(model, "state_dict_numpy")
    return {f"{layer.name}.{suffix}": np.ascontiguousarray(array).copy()
            for layer in model.layers for suffix, array in layer.torch_weights().items()}


def to_torch(model):
    """The model's weights as a PyTorch state dict ``{key: torch.Tensor}`` (key scheme in the
    module docstring), loadable into :func:`torch_module` ``(model)`` or into your own
    ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` / ``nn.Linear`` modules named after our layers.

    Only weights are converted: the math must match too (torch's LSTM and GRU are tanh/sigmoid;
    :func:`torch_module` checks that).
    """
    torch = _require("torch", "to_torch")
    return {k: torch.from_numpy(v) for k, v in state_dict_numpy(model).items()}


def _as_numpy(value):
    if hasattr(value, "detach"):            # a torch.Tensor, without importing torch
        value = value.detach().cpu()
        try:
            return value.numpy()
        except TypeError:                   # float16 / bfloat16 have no NumPy view
            return value.double().numpy()
    return np.asarray(value)


def from_torch(state_dict, model, strict=True):
    """Load a PyTorch state dict into ``model`` (an lstm_np Sequential of the same architecture,
    built) in place, and return ``model``.

    Parameters
    ----------
    state_dict : mapping of str to torch.Tensor or numpy.ndarray
        Keys as in the module docstring (``torch_module(m).state_dict()`` or ``to_torch(m)``).
        Values are cast to the model's dtype.
    model : Sequential
        Receives the weights; its layer names pick the keys.
    strict : bool
        If True (default), keys the model does not use are an error; if False they are ignored.
        Missing keys are always an error.

    Raises
    ------
    ValueError
        For a missing or unexpected key, or a value of the wrong shape (the message names the key
        and both shapes). Nothing is loaded unless everything fits.
    """
    _check_convertible(model, "from_torch")
    expected = {f"{layer.name}.{suffix}": array.shape for layer in model.layers
                for suffix, array in layer.torch_weights().items()}
    missing = [k for k in expected if k not in state_dict]
    if missing:
        raise ValueError(f"from_torch: the state dict is missing {', '.join(map(repr, missing))}"
                         f" (the model expects {', '.join(expected)})")
    unexpected = [k for k in state_dict if k not in expected]
    if unexpected and strict:
        raise ValueError(f"from_torch: the state dict has keys the model does not use: "
                         f"{', '.join(map(repr, unexpected))} (pass strict=False to ignore them)")
    arrays = {}
    for key, shape in expected.items():
        arrays[key] = _as_numpy(state_dict[key])
        if arrays[key].shape != shape:
            raise ValueError(f"from_torch: {key!r} has shape {arrays[key].shape}; the model needs "
                             f"{shape} (torch layout)")
    per_layer = [layer.weights_from_torch({s: arrays[f"{layer.name}.{s}"]
                                           for s in layer.torch_weights()})
                 for layer in model.layers]
    return _load_all(model, per_layer, "torch")


@functools.lru_cache(maxsize=None)
def _torch_sequential_class():
    torch = _require("torch", "torch_module")

    class TorchSequential(torch.nn.Module):
        """The lstm_np stack as torch modules, one child per layer with weights, named after
        it; ``forward`` returns what the lstm_np model returns."""

        def __init__(self):
            super().__init__()
            self.steps = []     # (child name or None, what to do with its output or None)

        def forward(self, x):
            for name, then in self.steps:
                if name is not None:
                    x = self._modules[name](x)
                if then is not None:
                    x = then(x)
            return x

    return TorchSequential


def torch_module(model):
    """An equivalent ``torch.nn.Module``, in eval mode, holding the model's weights.

    One child per layer with weights, named after it: ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``
    (``batch_first=True``, one layer; ``bidirectional=True`` for a Bidirectional layer),
    ``nn.Dropout``, ``nn.Linear`` (also for ``TimeDistributed(Dense)``: it applies to the last
    axis); RepeatVector, Flatten and Activation are steps of ``forward`` without weights.
    So ``state_dict()`` uses the key scheme of the module docstring. ``forward(x)`` takes
    ``(N, T, D)`` and returns what ``model.predict`` returns. Parameters are float32 or float64
    like the model.

    Raises ``ValueError`` for math torch's modules cannot express: an LSTM or GRU whose
    activations are not tanh / sigmoid, a SimpleRNN activation other than tanh or relu, a
    GRU with ``reset_after=False``, a Bidirectional merge mode other than ``"concat"``, or a
    layer name torch refuses (containing ``"."``).
    """
    torch = _require("torch", "torch_module")
    _check_convertible(model, "torch_module")
    net = _torch_sequential_class()()
    shape = model.input_shape
    for layer in model.layers:
        where = f"torch_module: {type(layer).__name__} layer {layer.name!r}"
        try:
            module, then = layer.torch_step(torch, shape)
        except ValueError as err:
            raise ValueError(f"{where} {err}") from None
        if module is not None:
            try:
                net.add_module(layer.name, module)
            except KeyError as err:
                raise ValueError(f"{where}: torch refuses the name ({err})") from None
        net.steps.append((layer.name if module is not None else None, then))
        shape = layer.compute_output_shape(shape)
    net.to(torch.float64 if model.dtype == np.float64 else torch.float32)
    net.load_state_dict(to_torch(model))
    return net.eval()
