"""Keras's ``RNN`` layer: any cell (:mod:`.cells`) run over a sequence, forward and backward.

The cell takes one step; this layer owns everything around it:

* the time loop, and backpropagation through time: the cell's ``backward`` is called from the
  last step to the first, ``d_states`` carried from each step to the one before, the weight
  gradients of every step summed;
* the states: zeros, ``forward(x, initial_state=[...])``, or with ``stateful=True`` the final
  states of the previous batch (until :meth:`RNN.reset_states`);
* dropout as in Keras 3: in training, one mask on the inputs ``x_t`` (``dropout``) and one on
  ``h_{t-1}`` where it enters the step (``recurrent_dropout``), drawn once per sequence and
  reused at every step; the backward pass multiplies by the same masks, so the gradient is
  exact. ``forward(..., dropout_mask=, recurrent_dropout_mask=)`` holds them still (for a
  gradient check);
* ``go_backwards``: the sequence is read from its last step to its first, and the outputs come
  in that order (as in Keras);
* the checks of shapes, and Keras's conventions: ``forward`` returns ``y`` or, with
  ``return_state``, ``[y, *final_states]``; ``backward`` takes ``dy`` or ``[dy,
  *dfinal_states]`` (``None`` entries meaning zero) and returns ``dx``, or ``[dx,
  *dinitial_states]`` when ``forward`` was given an initial state.

:class:`~lstm_np.layers.LSTM`, :class:`~lstm_np.layers.GRU` and :class:`~lstm_np.layers.SimpleRNN`
are this layer with their cell, plus a compiled fast path (:mod:`.recurrent`).
"""
import inspect
from typing import NamedTuple

import numpy as np

from . import schema
from .base import Layer, snake_case
from .registry import CELLS, register

CELL_INPUTS = ("x_t", "h_prev", "c_prev", "recurrent_mask")   # cache fields a step was given


class RNNCache(NamedTuple):
    """What :meth:`RNN.forward` keeps for :meth:`RNN.backward`."""
    steps: object            # the cell's cache of every step (a list), or a compiled kernel's
    sizes: tuple             # (N, T, D, H): H is the cell's output size
    has_initial_state: bool
    input_mask: object       # (N, D) dropout mask on x_t, or None
    recurrent_mask: object   # (N, S) dropout mask on h_{t-1}, or None

    def batch_major(self):
        """What the cell computed at each step (not what it was given), stacked over time to
        ``(N, T, ...)``, by the names of the fields of its cache (``i, f, g, o, c, h`` for the
        LSTM)."""
        if not isinstance(self.steps, list):
            return self.steps.batch_major()
        names = [name for name in self.steps[0]._fields if name not in CELL_INPUTS]
        return {name: np.stack([getattr(step, name) for step in self.steps], axis=1)
                for name in names}


def checked_array(a, shape, what, dtype, owner):
    """``a`` as an array of ``dtype`` after checking it is real and numeric and of ``shape``."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what} must hold real numbers; got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{what} has shape {a.shape}; {owner} expects {shape}")
    return np.asarray(a, dtype=dtype)


def dropout_mask(rng, shape, rate, dtype):
    """Inverted dropout's mask: each entry ``1 / (1 - rate)`` with probability ``1 - rate``,
    else 0."""
    keep = 1.0 - rate
    rng = np.random.default_rng() if rng is None else rng
    return (rng.random(shape, dtype=dtype) < keep).astype(dtype) / np.asarray(keep, dtype)


@register
class RNN(Layer):
    """A recurrent layer that runs ``cell`` over the time axis (Keras's ``keras.layers.RNN``).

    For inputs ``x (N, T, D)`` and states ``s_0`` (zeros unless given)::

        y_t, s_t = cell.forward(x_t, s_{t-1})        t = 1 .. T

    Parameters
    ----------
    cell : Cell — see :mod:`lstm_np.layers.cells` for what it provides.
    return_sequences : bool — every ``y_t`` ``(N, T, output_size)``, else the last ``(N,
        output_size)``.
    return_state : bool — also return the final states: ``[y, *final_states]``.
    go_backwards : bool — read the sequence from its last step; the outputs stay in that order.
    stateful : bool — start each batch from the final states of the previous one (the batch
        size must then stay the same); :meth:`reset_states` goes back to zeros.
    unroll : bool — accepted for Keras's sake; it changes nothing here.
    input_shape : (T, D), optional.
    name : str, optional.

    The cell's ``dropout`` and ``recurrent_dropout`` (attributes, 0 if absent) are applied by this
    layer in training, see the module's docstring. A cell whose ``forward`` takes
    ``recurrent_mask=`` applies the recurrent mask itself (the GRU uses ``h_{t-1}`` unmasked in
    its last line); for any other cell the layer multiplies the first state by it before the
    step, and the gradient of that state by it after.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np.layers import RNN, LSTMCell
    >>> layer = RNN(LSTMCell(5), return_sequences=True)
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> y, cache = layer.forward(np.ones((2, 4, 3)))
    >>> y.shape, sorted(layer.params)
    ((2, 4, 5), ['bias', 'kernel', 'recurrent_kernel'])
    """

    kind = "rnn"
    config_checks = {"cell": lambda v: isinstance(v, dict) and set(v) == {"class", "config"}
                     and isinstance(v["config"], dict),      # a registered cell's, built to check
                     "return_sequences": schema.boolean, "return_state": schema.false,
                     "go_backwards": schema.boolean, "stateful": schema.boolean,
                     "unroll": schema.boolean}
    can_skip_input_gradient = True       # backward(..., need_dx=False) may skip dx
    can_skip_cache = True                # forward(..., keep_cache=False) for prediction

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, input_shape=None, name=None, **kwargs):
        super().__init__(input_shape=input_shape, name=name, **kwargs)
        if not all(hasattr(cell, key) for key in ("state_size", "forward", "backward", "build")):
            raise TypeError(f"RNN needs a cell with state_size, build, forward and backward; got "
                            f"{type(cell).__name__}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.states = None           # the carried states of a stateful layer

    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        """Keras keeps a recurrent layer's weights in its cell: kernel, recurrent kernel and,
        with a bias, the bias."""
        bias = int(config.get("use_bias", True))
        return [(f"{path}/cell", 2 + bias, f"{snake_case(cls.__name__)}_cell"), (path, 0, name)]

    # --- what the cell declares ------------------------------------------------------------
    @property
    def state_sizes(self):
        size = self.cell.state_size
        return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]

    @property
    def state_names(self):
        """How messages name the states: the cell's ``state_names``, else ``h``, ``s1``, ..."""
        names = getattr(self.cell, "state_names", None)
        return tuple(names) if names else ("h",) + tuple(f"s{k}" for k in
                                                         range(1, len(self.state_sizes)))

    @property
    def output_size(self):
        return int(getattr(self.cell, "output_size", None) or self.state_sizes[0])

    def _cell_masks_itself(self):
        return "recurrent_mask" in inspect.signature(self.cell.forward).parameters

    # --- building -------------------------------------------------------------------------
    def build(self, input_shape, rng, dtype):
        """Let the cell create its weights for one step ``(None, D)``; they are this layer's
        ``params`` (the same dict)."""
        self.cell._rng, self.cell._dtype = rng, np.dtype(dtype)
        self.cell.params = {}
        self.cell.build((None, int(input_shape[-1])))
        self.cell.built = True
        self.params = self.cell.params
        self._input_dim = int(input_shape[-1])
        self._shapes = {key: w.shape for key, w in self.params.items()}
        self.built = True

    def compute_output_shape(self, input_shape):
        H = self.output_size
        return (input_shape[0], H) if self.return_sequences else (H,)

    def reset_states(self):
        """Set the carried states of a ``stateful`` layer back to zeros."""
        if self.states is not None:
            self.states = [np.zeros_like(s) for s in self.states]

    def get_config(self):
        config = super().get_config()
        config["cell"] = {"class": type(self.cell).__name__, "config": self.cell.get_config()}
        config.update(return_sequences=self.return_sequences, return_state=self.return_state,
                      go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        spec = config.pop("cell")
        if spec["class"] not in CELLS:
            raise ValueError(f"unknown cell class {spec['class']!r}; register it with "
                             "lstm_np.layers.register")
        return cls(CELLS[spec["class"]].from_config(spec["config"]), **config)

    @classmethod
    def weight_shapes_for(cls, config, input_shape, check_inner=None):
        """The shapes of the weights, in order, and the output shape of the layer ``config``
        describes for inputs ``input_shape`` ``(T, D)``: the cell's ``build`` run without
        allocating anything (:meth:`.Cell.weight_shapes`)."""
        if len(input_shape) != 2:
            raise schema.ShapeError(f"needs (timesteps, features) inputs but gets "
                                    f"{tuple(input_shape)}")
        layer = cls.from_config(config)
        shapes = layer.cell.weight_shapes(input_shape[-1])
        return list(shapes.values()), layer.compute_output_shape(tuple(input_shape))

    # --- forward --------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None, initial_state=None, keep_cache=True,
                dropout_mask=None, recurrent_dropout_mask=None):
        """Run the layer over ``x (N, T, D)``.

        ``initial_state``: the list of starting states, each ``(N, S)`` (a single array for a
        cell with one state); default zeros, or the carried states of a ``stateful`` layer.
        ``training`` turns dropout on; ``rng`` draws its masks; ``dropout_mask (N, D)`` and
        ``recurrent_dropout_mask (N, S)`` give the masks instead (applied even when not
        training). ``keep_cache=False`` keeps nothing for backward and returns ``None``.

        Returns ``y`` — ``(N, T, H)`` with ``return_sequences``, else ``(N, H)`` — or, with
        ``return_state``, ``[y, *final_states]``; and the cache for :meth:`backward`.
        """
        self._check_weights()
        x = self._check_input(x)
        N, T, D = x.shape
        states = self._initial_states(initial_state, N, x.dtype)
        input_mask = self._mask(dropout_mask, "dropout", (N, D), training, rng, x.dtype)
        recurrent_mask = self._mask(recurrent_dropout_mask, "recurrent_dropout",
                                    (N, self.state_sizes[0]), training, rng, x.dtype)
        if self.go_backwards:
            x = x[:, ::-1]
        sizes = (N, T, D, self.output_size)
        outputs, last, final, steps = self._run_forward(x, states, training, input_mask,
                                                        recurrent_mask, keep_cache, sizes,
                                                        initial_state is not None)
        if self.stateful:
            self.states = [np.array(s) for s in final]
        y = outputs if self.return_sequences else np.array(last)
        cache = RNNCache(steps, sizes, initial_state is not None, input_mask, recurrent_mask)
        return ([y, *final] if self.return_state else y), (cache if keep_cache else None)

    def _run_forward(self, x, states, training, input_mask, recurrent_mask, keep_cache, sizes,
                     has_initial_state):
        """The cell, one step after the other: ``(outputs (N, T, H) or None, last output,
        final states, the cell's caches)``."""
        cell, own_mask = self.cell, recurrent_mask is not None and self._cell_masks_itself()
        outputs, steps = [], []
        for t in range(x.shape[1]):
            x_t = x[:, t] if input_mask is None else x[:, t] * input_mask
            if own_mask:
                output, states, step = cell.forward(x_t, states, training=training,
                                                    recurrent_mask=recurrent_mask)
            else:
                if recurrent_mask is not None:
                    states = [states[0] * recurrent_mask, *states[1:]]
                output, states, step = cell.forward(x_t, states, training=training)
            states = list(states)
            if keep_cache:
                steps.append(step)
            if self.return_sequences:
                outputs.append(output)
        seq = np.stack(outputs, axis=1) if self.return_sequences else None
        return seq, output, states, steps

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, cache, need_dx=True):
        """Backpropagation through time: ``dx`` and the weight gradients from ``dy``.

        ``dy`` is dL/dy, shaped like the output ``y``; with ``return_state`` the list
        ``[dy, *dfinal_states]``, ``None`` entries meaning zero. ``need_dx=False`` gives
        ``None`` in place of ``dx`` (the first layer of a model has no use for it).

        Returns ``dx (N, T, D)`` — or, if :meth:`forward` was given ``initial_state``, the list
        ``[dx, *dinitial_states]`` — and ``grads``, a dict with the keys of ``params``.
        """
        self._check_weights()
        self._check_cache(cache)
        N, T, D, H = cache.sizes
        dy_seq, dy_last, dstates = self._check_dy(dy, N, T, self._dtype())
        grads, dx, dstates = self._run_backward(dy_seq, dy_last, dstates, cache,
                                                need_dx or cache.has_initial_state)
        if need_dx:
            if cache.input_mask is not None:
                dx = dx * cache.input_mask[:, None]
            if self.go_backwards:
                dx = np.ascontiguousarray(dx[:, ::-1])
        else:
            dx = None
        return ([dx, *dstates] if cache.has_initial_state else dx), grads

    def _run_backward(self, dy_seq, dy_last, dstates, cache, need_dx):
        """The cell's backward step, from the last timestep to the first; the weight
        gradients summed over the steps."""
        N, T, D, H = cache.sizes
        own_mask = cache.recurrent_mask is not None and self._cell_masks_itself()
        grads = {key: np.zeros_like(w) for key, w in self.params.items()}
        dx = np.empty((N, T, D), self._dtype())
        no_output_gradient = np.zeros((N, H), self._dtype())
        for t in reversed(range(T)):
            d_output = dy_seq[:, t] if dy_seq is not None else \
                dy_last if t == T - 1 else no_output_gradient
            dx[:, t], dstates, step_grads = self.cell.backward(d_output, dstates, cache.steps[t])
            dstates = list(dstates)
            if cache.recurrent_mask is not None and not own_mask:
                dstates[0] = dstates[0] * cache.recurrent_mask
            for key, g in step_grads.items():
                grads[key] += g
        return grads, dx, dstates

    # --- checks -------------------------------------------------------------------------------
    def _dtype(self):
        first = next(iter(self.params.values()), None)
        return first.dtype if first is not None else self.cell._dtype

    def _check_weights(self):
        """The weights as the cell built them: the same names, shapes, and one float dtype."""
        if not self.built:
            raise ValueError(f"{self.describe()} is not built; call build(input_shape, rng, "
                             "dtype) or put it in a Sequential first")
        if list(self.params) != list(self._shapes):
            raise ValueError(f"{self.describe()} has the weights {list(self.params)}; it needs "
                             f"{list(self._shapes)}")
        dtype = self._dtype()
        for key, shape in self._shapes.items():
            w = self.params[key]
            if not (isinstance(w, np.ndarray) and w.shape == shape and w.dtype == dtype
                    and w.dtype in (np.float32, np.float64)):
                raise ValueError(f"{self.describe()} needs {key} of shape {shape} in float32 or "
                                 f"float64, one dtype for all weights; it has "
                                 f"{getattr(w, 'dtype', type(w).__name__)} {np.shape(w)}")

    def _check_input(self, x):
        x = np.asarray(x)
        D = self._input_dim
        if x.ndim != 3 or x.shape[2] != D:
            raise ValueError(f"{self.describe()} was built for inputs of shape (batch, timesteps, "
                             f"{D}); got x of shape {x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"x has shape {x.shape}; {self.describe()} needs at least one "
                             "timestep")
        return checked_array(x, x.shape, "x", self._dtype(), self.describe())

    def _initial_states(self, initial_state, N, dtype):
        """The starting states as a list of ``(N, S)`` arrays."""
        sizes, names = self.state_sizes, [f"{name}0" for name in self.state_names]
        if initial_state is None:
            if self.stateful and self.states is not None:
                n = self.states[0].shape[0]
                if n != N:
                    raise ValueError(f"{self.describe()} is stateful and carries the states of "
                                     f"{n} sequences, so every batch must hold {n}; got {N} "
                                     f"(Keras's stateful layers need a fixed batch size)")
                return [np.asarray(s, dtype) for s in self.states]
            return [np.zeros((N, S), dtype) for S in sizes]
        if isinstance(initial_state, np.ndarray) or not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) != len(names):
            raise ValueError(f"{self.describe()} takes initial_state=[{', '.join(names)}]; got "
                             f"{len(initial_state)} arrays")
        return [checked_array(s, (N, S), f"initial state {name}", dtype, self.describe())
                for s, S, name in zip(initial_state, sizes, names)]

    def _mask(self, given, rate_name, shape, training, rng, dtype):
        """A dropout mask: the one given, a fresh draw in training, or ``None``."""
        if given is not None:
            return checked_array(given, shape, f"{rate_name}_mask", dtype, self.describe())
        rate = getattr(self.cell, rate_name, 0.0)
        if not training or not rate:
            return None
        return dropout_mask(rng, shape, rate, dtype)

    def _check_dy(self, dy, N, T, dtype):
        """``dy`` as ``(dy_seq, dy_last, dstates)``: dL/dy_t at every step ``(N, T, H)`` or
        ``None``; dL/dy_T ``(N, H)`` when only the last output is returned (zeros if none); and
        dL/d(final states), zeros where none is given."""
        names = [f"d{name}_T" for name in self.state_names]
        if self.return_state:
            if not isinstance(dy, (list, tuple)) or len(dy) != 1 + len(names):
                raise ValueError(f"{self.describe()} has return_state=True, so backward takes "
                                 f"the list [dy, {', '.join(names)}] (None for zero)")
            dy, *dfinal = dy
        else:
            dfinal = [None] * len(names)
        dstates = [np.zeros((N, S), dtype) if d is None
                   else checked_array(d, (N, S), name, dtype, self.describe())
                   for d, S, name in zip(dfinal, self.state_sizes, names)]
        H = self.output_size
        if dy is None:
            return None, np.zeros((N, H), dtype), dstates
        dy = checked_array(dy, (N, T, H) if self.return_sequences else (N, H), "dy", dtype,
                           self.describe())
        return (dy, None, dstates) if self.return_sequences else (None, dy, dstates)

    def _check_cache(self, cache):
        if not isinstance(cache, RNNCache):
            raise ValueError(f"{self.describe()}.backward needs the cache its forward(..., "
                             f"keep_cache=True) returned; got {type(cache).__name__}")
        D, H = cache.sizes[2:]
        if (D, H) != (self._input_dim, self.output_size):
            raise ValueError(f"the cache comes from a layer with {D} input features and {H} "
                             f"units; {self.describe()} has {self._input_dim} and "
                             f"{self.output_size}")


