"""Layers that wrap another layer: ``Bidirectional`` and ``TimeDistributed`` (Keras's
``keras.layers`` of the same names).

A wrapper's ``params`` are its inner layers' own arrays (the same objects, under prefixed keys
for ``Bidirectional``), so an optimizer step or ``set_weights`` on the wrapper updates them.
"""
from typing import NamedTuple

import numpy as np

from . import schema
from .base import Layer
from .registry import LAYERS, register
from .rnn import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def layer_from_spec(spec):
    """A layer from ``{"class": name, "config": {...}}`` (how a wrapper's config holds its
    inner layers), or the layer itself if given one."""
    if isinstance(spec, Layer):
        return spec
    if not isinstance(spec, dict) or spec.get("class") not in LAYERS:
        raise ValueError(f"a wrapped layer must be a layer or a {{'class', 'config'}} dict of "
                         f"one of {', '.join(LAYERS)}; got {spec!r:.80}")
    return LAYERS[spec["class"]].from_config(dict(spec.get("config", {})))


def _inner_shapes(spec, role, shape):
    """The weight shapes and output shape of a wrapped layer's ``{"class", "config"}``: what
    a wrapper's ``weight_shapes_for`` asks when no stricter check is given."""
    return LAYERS[spec["class"]].weight_shapes_for(spec["config"], shape)


def _spec(layer):
    return {"class": type(layer).__name__, "config": layer.get_config()}


def _copy(layer, prefix="", **changes):
    """A new, unbuilt layer with ``layer``'s configuration updated by ``changes``, named as
    Keras names a wrapped layer: ``prefix`` + its name (its kind if it has none)."""
    config = layer.get_config()
    config.pop("input_shape", None)
    name = layer.name or layer.kind
    config.update(changes, name=name if name.startswith(prefix) else prefix + name)
    return type(layer).from_config(config)


class BidirectionalCache(NamedTuple):
    forward: object        # the forward layer's cache
    backward: object       # the backward layer's cache (it saw the input reversed in time)
    y_forward: object      # the two outputs, kept for merge_mode="mul"
    y_backward: object


@register
class Bidirectional(Layer):
    """A recurrent layer run over the sequence in both directions, its two outputs merged.

    ``y_f = forward_layer(x)``; ``y_b = backward_layer(x)``, a copy with ``go_backwards=True``
    that reads the sequence from its last step, its sequence output reversed back so that
    ``y_b[:, t]`` belongs to step ``t`` too (with ``return_sequences=False`` it is the
    backward layer's last output, the one after reading ``x_0``). Then
    ``y = merge(y_f, y_b)``:

    =========  ======================================  =====================================
    concat     ``[y_f, y_b]`` on the last axis          ``dy_f, dy_b = dy[..., :H], dy[..., H:]``
    sum        ``y_f + y_b``                            ``dy_f = dy_b = dy``
    ave        ``(y_f + y_b) / 2``                      ``dy_f = dy_b = dy / 2``
    mul        ``y_f * y_b``                            ``dy_f = dy * y_b``, ``dy_b = dy * y_f``
    None       the list ``[y_f, y_b]``                  ``backward`` takes ``[dy_f, dy_b]``
    =========  ======================================  =====================================

    ``dx = dx_f + dx_b``. As in Keras 3 the two directions are fresh copies of ``layer``
    (``backward_layer`` if given, which must have the same ``units`` and ``return_sequences``
    and the other ``go_backwards``), and the weights are the forward layer's followed by the backward
    layer's: ``params`` keys ``forward/kernel, …, backward/kernel, …``.

    Parameters
    ----------
    layer : LSTM, GRU or SimpleRNN — the recurrent layer to copy (``return_state=False``).
    merge_mode : "concat" (default), "sum", "mul", "ave" or None.
    backward_layer : a layer of the same kind, optional.

    >>> import numpy as np
    >>> from lstm_np import Sequential, LSTM
    >>> from lstm_np.layers import Bidirectional
    >>> model = Sequential([Bidirectional(LSTM(4), input_shape=(5, 3))], seed=0)
    >>> model.predict(np.zeros((2, 5, 3))).shape
    (2, 8)
    """

    kind = "bidirectional"
    config_checks = {"layer": schema.anything, "backward_layer": schema.anything,
                     "merge_mode": schema.one_of("concat", "sum", "mul", "ave")}
    keras_options = ("merge_mode",)
    keras_wrapped = {"layer": "forward_layer", "backward_layer": "backward_layer"}

    def __init__(self, layer, merge_mode="concat", backward_layer=None, input_shape=None,
                 name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        from .recurrent import Recurrent

        layer = layer_from_spec(layer)
        if not isinstance(layer, Recurrent):
            raise ValueError(f"Bidirectional wraps an LSTM, GRU or SimpleRNN layer, not a "
                             f"{type(layer).__name__}")
        if layer.return_state:
            raise ValueError("Bidirectional does not take a layer with return_state=True")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}")
        self.merge_mode = merge_mode
        if input_shape is None and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        self.forward_layer = _copy(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = _copy(layer, "backward_", go_backwards=not layer.go_backwards)
        else:
            backward_layer = layer_from_spec(backward_layer)
            if type(backward_layer) is not type(layer) or \
                    backward_layer.units != layer.units or backward_layer.return_state or \
                    backward_layer.return_sequences != layer.return_sequences or \
                    backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("backward_layer must be a layer of the same class as layer, "
                                 "with the same units and return_sequences, return_state=False "
                                 "and the other go_backwards (as in Keras)")
            self.backward_layer = _copy(backward_layer, "backward_")
        self.return_sequences = layer.return_sequences

    # --- weights: the two layers' own arrays -----------------------------------------------
    @property
    def params(self):
        return {f"{side}/{key}": value for side, layer in self._sides()
                for key, value in layer.params.items()}

    @params.setter
    def params(self, value):           # Layer.__init__ sets {}; the weights live in the layers
        if value:
            raise AttributeError("set a Bidirectional layer's weights with set_weights")

    def _sides(self):
        return (("forward", self.forward_layer), ("backward", self.backward_layer))

    def cast(self, dtype):
        self.forward_layer.cast(dtype)
        self.backward_layer.cast(dtype)

    # --- PyTorch: one nn.LSTM/GRU/RNN(bidirectional=True), "_reverse" keys after ------------
    @property
    def torch_module(self):
        return self.forward_layer.torch_module

    def torch_weights(self):
        return {**self.forward_layer.torch_weights(),
                **{f"{k}_reverse": v for k, v in self.backward_layer.torch_weights().items()}}

    def weights_from_torch(self, arrays):
        backward = {k[:-len("_reverse")]: v for k, v in arrays.items() if k.endswith("_reverse")}
        return self.forward_layer.weights_from_torch(arrays) + \
            self.backward_layer.weights_from_torch(backward)

    def torch_step(self, torch, input_shape):
        rnn = self.forward_layer
        if self.merge_mode != "concat":
            raise ValueError(f"has merge_mode={self.merge_mode!r}; a torch bidirectional RNN "
                             "concatenates its two directions")
        if self.backward_layer.get_config() != {
                **rnn.get_config(), "name": self.backward_layer.name, "go_backwards": True} \
                or rnn.go_backwards:
            raise ValueError("has a backward_layer unlike its forward layer; a torch "
                             "bidirectional RNN runs one kind both ways")
        return rnn.torch_rnn(torch, input_shape, bidirectional=True)

    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        """The forward layer's groups, the backward layer's, then the wrapper's own."""
        return (inner(config["layer"], f"{path}/forward_layer", "forward_" + name)
                + inner(config.get("backward_layer", config["layer"]),
                        f"{path}/backward_layer", "backward_" + name)
                + [(path, 0, name)])

    def reset_states(self):
        """Zero the carried states of both directions (for ``stateful`` layers)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def build(self, input_shape, rng, dtype):
        self.forward_layer.build(input_shape, rng, dtype)
        self.backward_layer.build(input_shape, rng, dtype)
        self.built = True

    @classmethod
    def weight_shapes_for(cls, config, input_shape, check_inner=_inner_shapes):
        """The forward layer's weights, then the backward layer's; the output of the forward
        layer, twice as wide with ``merge_mode="concat"``."""
        inner = [config["layer"], config.get("backward_layer") or config["layer"]]
        checked = [check_inner(spec, f"the {side} layer of", input_shape)
                   for spec, side in zip(inner, ("forward", "backward"))]
        if not all(issubclass(LAYERS[spec["class"]], RNN) for spec in inner) or \
                inner[0]["class"] != inner[1]["class"] or checked[0][1] != checked[1][1]:
            raise schema.ShapeError("must wrap two recurrent layers of one class and one "
                                    "output shape")
        out = checked[0][1]
        if config.get("merge_mode", "concat") == "concat":
            out = out[:-1] + (2 * out[-1],)
        return checked[0][0] + checked[1][0], out

    def compute_output_shape(self, input_shape):
        if self.merge_mode is None:
            raise ValueError("a Bidirectional layer with merge_mode=None gives two outputs; a "
                             "Sequential needs one (choose concat, sum, mul or ave)")
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            shape = shape[:-1] + (2 * shape[-1],)
        return shape

    # --- computing ------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None):
        x = np.asarray(x)
        y_f, cache_f = self.forward_layer.forward(x, training=training, rng=rng)
        y_b, cache_b = self.backward_layer.forward(x, training=training, rng=rng)
        if self.return_sequences:         # go_backwards gives the outputs in reading order
            y_b = y_b[:, ::-1]
        mode = self.merge_mode
        if mode == "concat":
            y = np.concatenate([y_f, y_b], axis=-1)
        elif mode == "sum":
            y = y_f + y_b
        elif mode == "ave":
            y = (y_f + y_b) / np.asarray(2, y_f.dtype)
        elif mode == "mul":
            y = y_f * y_b
        else:
            y = [y_f, y_b]
        keep = mode == "mul"
        return y, BidirectionalCache(cache_f, cache_b, y_f if keep else None,
                                     y_b if keep else None)

    def backward(self, dy, cache):
        mode = self.merge_mode
        if mode == "concat":
            H = dy.shape[-1] // 2
            dy_f, dy_b = dy[..., :H], dy[..., H:]
        elif mode == "sum":
            dy_f = dy_b = dy
        elif mode == "ave":
            dy_f = dy_b = dy / np.asarray(2, dy.dtype)
        elif mode == "mul":
            dy_f, dy_b = dy * cache.y_backward, dy * cache.y_forward
        else:
            dy_f, dy_b = dy
        if self.return_sequences:
            dy_b = dy_b[:, ::-1]
        dx_f, grads_f = self.forward_layer.backward(np.ascontiguousarray(dy_f), cache.forward)
        dx_b, grads_b = self.backward_layer.backward(np.ascontiguousarray(dy_b), cache.backward)
        grads = {f"forward/{k}": v for k, v in grads_f.items()}
        grads.update({f"backward/{k}": v for k, v in grads_b.items()})
        return dx_f + dx_b, grads

    def get_config(self):
        config = super().get_config()
        config.update(layer=_spec(self.forward_layer), merge_mode=self.merge_mode,
                      backward_layer=_spec(self.backward_layer))
        return config


@register
class TimeDistributed(Layer):
    """The same layer applied to every timestep: ``y[:, t] = layer(x[:, t])``.

    Shapes: input ``(N, T, …)``, output ``(N, T, …)`` with the inner layer's output shape per
    step. The batch and time axes are merged, ``(N * T, …)``, the inner layer runs once, and
    the result is split again; backward does the same with ``dy``, so the weight gradients are
    summed over all steps. The weights are the inner layer's, under its own keys (Keras:
    ``kernel, bias`` for a ``Dense``).

    >>> import numpy as np
    >>> from lstm_np import Sequential, Dense
    >>> from lstm_np.layers import TimeDistributed
    >>> model = Sequential([TimeDistributed(Dense(2), input_shape=(5, 3))], seed=0)
    >>> model.predict(np.zeros((4, 5, 3))).shape
    (4, 5, 2)
    """

    kind = "time_distributed"
    config_checks = {"layer": schema.anything}
    keras_options = ()
    keras_wrapped = {"layer": "layer"}

    def __init__(self, layer, input_shape=None, name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        layer = layer_from_spec(layer)
        if getattr(layer, "return_state", False):
            raise ValueError("TimeDistributed does not take a layer with return_state=True")
        if isinstance(layer, Bidirectional) and layer.merge_mode is None:
            raise ValueError("TimeDistributed needs a layer with one output")
        self.layer = _copy(layer)

    @property
    def params(self):
        return self.layer.params

    @params.setter
    def params(self, value):
        if value:
            raise AttributeError("set a TimeDistributed layer's weights with set_weights")

    def cast(self, dtype):
        self.layer.cast(dtype)

    # --- PyTorch: nn.Linear applies to the last axis, so to every timestep ------------------
    @property
    def torch_module(self):
        return self.layer.torch_module if self.layer.torch_module == "Linear" else None

    def torch_weights(self):
        if self.torch_module is None:
            raise ValueError(f"has no PyTorch form: TimeDistributed({type(self.layer).__name__})"
                             " (nn.Linear, which applies to the last axis, is the one torch "
                             "module that runs on every timestep)")
        return self.layer.torch_weights()

    def weights_from_torch(self, arrays):
        return self.layer.weights_from_torch(arrays)

    def torch_step(self, torch, input_shape):
        if self.torch_module is None:
            return super().torch_step(torch, input_shape)
        return self.layer.torch_step(torch, input_shape[1:])

    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        return inner(config["layer"], f"{path}/layer", name + "_layer") + [(path, 0, name)]

    def build(self, input_shape, rng, dtype):
        self._check_shape(input_shape)
        self.layer.build(self.inner_input_shape(input_shape), rng, dtype)
        self.built = True

    @classmethod
    def inner_input_shape(cls, input_shape):
        return tuple(input_shape[1:])             # one timestep's

    def _check_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"{self.describe()} takes inputs of shape (batch, timesteps, ...); "
                             f"got (batch, {', '.join(map(str, input_shape))})")

    @classmethod
    def weight_shapes_for(cls, config, input_shape, check_inner=_inner_shapes):
        """The inner layer's weights, for one timestep's inputs."""
        if len(input_shape) != 2:
            raise schema.ShapeError(f"needs (timesteps, features) inputs but gets "
                                    f"{tuple(input_shape)}")
        shapes, out = check_inner(config["layer"], "the layer inside",
                                  cls.inner_input_shape(input_shape))
        if len(out) != 1:
            raise schema.ShapeError("must wrap a layer with one output axis")
        return shapes, (input_shape[0],) + tuple(out)

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        return (input_shape[0],) + \
            tuple(self.layer.compute_output_shape(self.inner_input_shape(input_shape)))

    def forward(self, x, training=False, rng=None):
        N, T = x.shape[:2]
        y, cache = self.layer.forward(x.reshape((N * T,) + x.shape[2:]), training=training,
                                      rng=rng)
        return y.reshape((N, T) + y.shape[1:]), (cache, x.shape)

    def backward(self, dy, cache):
        inner, shape = cache
        N, T = shape[:2]
        dx, grads = self.layer.backward(np.ascontiguousarray(dy).reshape((N * T,) + dy.shape[2:]),
                                        inner)
        return dx.reshape(shape), grads

    def get_config(self):
        return {**super().get_config(), "layer": _spec(self.layer)}
