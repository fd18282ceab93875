"""What LSTM, GRU and SimpleRNN share: Keras's ``RNN`` layer, written once.

A recurrent layer is a *cell* (one timestep, forward and backward) run over a sequence. Each of
:mod:`.lstm`, :mod:`.gru` and :mod:`.simple_rnn` holds its readable cell (plain NumPy, beside
its equations), its weight shapes, and its pair of compiled sequence kernels
(:mod:`lstm_np.kernels`). :class:`Recurrent` holds everything around them:

* the options they share, building the weights, the output shape and the config;
* the checks, on every call, of the input, the initial states, ``dy`` and the cache against the
  built weights: the compiled kernels trust the shapes they are given, so nothing reaches them
  unchecked;
* Keras's conventions: ``forward(x, initial_state=...)`` returns ``y``, or ``[y, *final_states]``
  with ``return_state``; ``backward`` mirrors it, taking ``dy`` or ``[dy, *dfinal_states]``
  (``None`` entries meaning zero) and returning ``dx``, or ``[dx, *dinitial_states]`` when the
  forward pass was given an initial state;
* the two ways of running the cell over time, chosen by ``implementation``: ``"compiled"`` (the
  default) runs the whole sequence in the layer's compiled kernels; ``"numpy"`` steps the
  readable cell in a Python loop, forward and backward: the same numbers to rounding, many times
  slower, and a breakpoint in the cell stops a running model.

The batch in blocks
-------------------
The compiled kernels run the batch as ``P`` blocks of ``B`` sequences side by side
(:mod:`.blocks`), the block first and the sequence last in every array. The layouts are named
here once, by the letters of their axes: ``P`` block, ``B`` sequence within its block, ``T``
timestep, ``F`` features (``D`` inputs, ``H`` units, or ``G * H`` gates)::

    FEATURES_FIRST  "PFTB"  x (P, D, T, B), dx, h (P, H, T + 1, B) with h[:, :, 0] = h_0
    STEPS_FIRST     "PTFB"  dh_seq (P, T, H, B) and the per-step caches: c, gates, act_c, ...
    STATE           "PFB"   h_0, c_0, h_T, c_T and their gradients, (P, H, B)

:func:`to_kernel` and :func:`from_kernel` take batch-first arrays, ``(N, T, F)`` or ``(N, F)``,
to these layouts and back: no other code moves the axes of the batch.
"""
import inspect
from typing import NamedTuple

import numpy as np

from .. import activations, initializers
from .._runtime import single_threaded_blas
from .base import Layer
from .blocks import blocks_for, from_blocks, to_blocks

FEATURES_FIRST, STEPS_FIRST, STATE = "PFTB", "PTFB", "PFB"
IMPLEMENTATIONS = ("compiled", "numpy")
CELL_INPUTS = ("x_t", "h_prev", "c_prev")     # the fields of a cell's cache that it was given


def to_kernel(a, P, layout):
    """Batch-first ``a``, ``(N, T, F)`` or ``(N, F)``, cut into ``P`` blocks in ``layout``."""
    batch_first = "NTF" if "T" in layout else "NF"
    return to_blocks(a, P, tuple(batch_first.index(axis) for axis in layout[1:-1]))


def from_kernel(a, layout, n, steps=None):
    """``a`` in the kernels' ``layout`` back to batch-first ``(N, T, F)`` or ``(N, F)``.

    ``steps`` (a slice or an index) picks timesteps first: ``slice(1, None)`` drops the initial
    state of ``h``, ``T`` keeps only its last step.
    """
    if steps is not None:
        index = [slice(None)] * a.ndim
        index[layout.index("T")] = steps
        a = a[tuple(index)]
        if not isinstance(steps, slice):
            layout = layout.replace("T", "")
    order = "PBTF" if "T" in layout else "PBF"
    return from_blocks(a.transpose([layout.index(axis) for axis in order]), n)


class CellSteps(NamedTuple):
    """The cache of ``implementation="numpy"``: the readable cell's cache of every timestep."""
    steps: list             # T cell caches, in time order
    sizes: tuple            # (N, T, D, H)
    has_initial_state: bool

    def batch_major(self):
        """What the cell computed (not its inputs ``x_t, h_prev, c_prev``), each stacked over
        time to ``(N, T, H)``: the same dict as the compiled cache's ``batch_major()``."""
        names = [name for name in self.steps[0]._fields if name not in CELL_INPUTS]
        return {name: np.stack([getattr(step, name) for step in self.steps], axis=1)
                for name in names}


def _checked(a, shape, what, dtype, layer):
    """``a`` as an array of ``dtype`` after checking it is real and numeric and of ``shape``."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what} must hold real numbers; got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{what} has shape {a.shape}; {layer} expects {shape}")
    return np.asarray(a, dtype=dtype)


class Recurrent(Layer):
    """Base of LSTM, GRU and SimpleRNN: a cell run over time (see the module's docstring).

    Parameters
    ----------
    units : int — H, the size of the state.
    activation : str — a Keras name (tanh, sigmoid, relu, linear, hard_sigmoid).
    use_bias : bool
    return_sequences : bool — return every ``h_t`` ``(N, T, H)`` instead of the last ``(N, H)``.
    return_state : bool — also return the final states: the output becomes
        ``[y, *final_states]`` and ``backward`` takes ``[dy, *dfinal_states]``.
    kernel_initializer, recurrent_initializer : str — Keras names.
    implementation : "compiled" (default) or "numpy" — the compiled kernels, or the readable
        cell stepped over time in plain NumPy (slow; for reading and debugging).
    input_shape : (T, D), optional.
    name : str, optional.

    A subclass sets :attr:`gates`, :attr:`state_names` and :attr:`KernelCache` (a NamedTuple
    ``(x, *kernel arrays, sizes, has_initial_state)`` with ``batch_major()``), calls this
    constructor, and writes four methods, where ``weights`` is ``(kernel, recurrent_kernel,
    bias)`` (``bias`` zeros without ``use_bias``) and ``states`` a list in ``state_names`` order:

    * ``cell_forward(x_t, states, weights) -> (states, step_cache)`` and
      ``cell_backward(dstates, step_cache, weights) -> (dx_t, dstates_prev, dweights)``: one
      step of its readable cell, batch-first;
    * ``kernel_forward(x, states, weights, keep_cache) -> (arrays, other_final_states)`` (``h``
      first in ``arrays``; the final states after ``h_T``) and
      ``kernel_backward(dh_seq, dstates, cache, weights, need_dx) -> (dweights, dx, dstates0)``:
      its compiled kernels, on arrays in the layouts above.
    """

    gates = 1                            # G, gate blocks along the last axis of the kernels
    state_names = ("h",)                 # the recurrent states, in initial_state order
    KernelCache = None
    can_skip_input_gradient = True       # backward(..., need_dx=False) skips dx
    can_skip_cache = True                # forward(..., keep_cache=False) for prediction

    def __init__(self, units, activation, use_bias, return_sequences, return_state,
                 kernel_initializer, recurrent_initializer, implementation, input_shape, name):
        super().__init__(input_shape=input_shape, name=name)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError("implementation must be 'compiled' or 'numpy', got "
                             f"{implementation!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        initializers.get(kernel_initializer), initializers.get(recurrent_initializer)
        self.implementation = implementation

    # --- building -------------------------------------------------------------------------
    def bias_shape(self):
        return (self.gates * self.units,)

    def initial_bias(self):
        return np.zeros(self.bias_shape())

    def build(self, input_shape, rng, dtype):
        D, H = input_shape[-1], self.units
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)((D, self.gates * H), rng),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)((H, self.gates * H),
                                                                             rng),
        }
        if self.use_bias:
            self.params["bias"] = self.initial_bias()
        self.cast(dtype)
        self.built = True

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def get_config(self):
        """Every constructor argument, read from the attribute of the same name, so that
        ``type(layer)(**layer.get_config())`` is the same layer. ``implementation`` is written
        only when it is not the default: a default model's file is what it was before the option
        existed, and older versions of lstm_np read it."""
        config = super().get_config()
        for key, parameter in inspect.signature(type(self).__init__).parameters.items():
            if key in ("self", "input_shape", "name"):
                continue
            value = getattr(self, key)
            if key != "implementation" or value != parameter.default:
                config[key] = value
        return config

    # --- forward --------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None, initial_state=None, keep_cache=True):
        """Run the layer over ``x (N, T, D)``.

        ``initial_state`` is the list of starting states, each ``(N, H)``, in
        :attr:`state_names` order (a single array for a layer with one state); default zeros.
        ``keep_cache=False`` (prediction) keeps nothing for the backward pass and returns
        ``None`` as the cache: less memory, and faster. ``training`` and ``rng`` are unused.

        Returns ``y`` — ``(N, T, H)`` with ``return_sequences``, else ``(N, H)`` — or, with
        ``return_state``, the list ``[y, *final_states]``; and the cache for :meth:`backward`.
        """
        weights = self._weights()
        x = self._check_input(x, weights[0])
        N, T, D = x.shape
        states = self._check_states(initial_state, N, x.dtype)
        sizes, has_initial_state = (N, T, D, self.units), initial_state is not None
        if self.implementation == "numpy":
            h_seq, final, steps = self._forward_numpy(x, states, weights)
            cache = CellSteps(steps, sizes, has_initial_state)
        else:
            h_seq, final, arrays = self._forward_compiled(x, states, weights, keep_cache)
            cache = self.KernelCache(*arrays, sizes, has_initial_state)
        y = h_seq if self.return_sequences else final[0].copy()
        return ([y, *final] if self.return_state else y), (cache if keep_cache else None)

    def _forward_numpy(self, x, states, weights):
        """The readable cell, one timestep after the other (``implementation="numpy"``)."""
        steps, h_seq = [], []
        for t in range(x.shape[1]):
            states, step = self.cell_forward(x[:, t], states, weights)
            steps.append(step)
            h_seq.append(states[0])
        return np.stack(h_seq, axis=1), states, steps

    def _forward_compiled(self, x, states, weights, keep_cache):
        """The layer's forward kernel over the whole sequence, the batch cut into blocks."""
        N, T, _ = x.shape
        x = to_kernel(x, blocks_for(N), FEATURES_FIRST)
        with single_threaded_blas():      # the kernels' own BLAS calls
            arrays, other_final = self.kernel_forward(
                x, [to_kernel(s, x.shape[0], STATE) for s in states], weights, keep_cache)
        h = arrays[0]
        h_seq = from_kernel(h, FEATURES_FIRST, N, steps=slice(1, None)) \
            if self.return_sequences else None
        final = [from_kernel(h, FEATURES_FIRST, N, steps=T)]
        final += [from_kernel(s, STATE, N) for s in other_final]
        return h_seq, final, (x, *arrays)

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, cache, need_dx=True):
        """Backpropagation through time: ``dx`` and the weight gradients from ``dy``.

        ``dy`` is dL/dy, shaped like the output ``y``; with ``return_state`` the list
        ``[dy, *dfinal_states]`` (dL/dh_T, and dL/dc_T for the LSTM), ``None`` entries meaning
        zero. ``need_dx=False`` skips ``dx`` (the first layer of a model has no use for it) and
        gives ``None`` in its place.

        Returns ``dx (N, T, D)`` — or, if :meth:`forward` was given ``initial_state``, the list
        ``[dx, *dinitial_states]``: the gradients mirror the inputs — and ``grads``, a dict with
        the keys of ``params``.
        """
        weights = self._weights()
        self._check_cache(cache, weights[0])
        N, T, D, H = cache.sizes
        dh_seq, dstates = self._check_dy(dy, N, T, weights[0].dtype)
        if isinstance(cache, CellSteps):
            dweights, dx, dstates = self._backward_numpy(dh_seq, dstates, cache, weights)
        else:
            dweights, dx, dstates = self._backward_compiled(dh_seq, dstates, cache, weights,
                                                            need_dx)
        grads = dict(zip(self.params, dweights))        # no bias gradient without a bias
        dx = dx if need_dx else None
        return ([dx, *dstates] if cache.has_initial_state else dx), grads

    def _backward_numpy(self, dh_seq, dstates, cache, weights):
        """The readable cell's backward step, from the last timestep to the first."""
        N, T, D, H = cache.sizes
        dweights = [np.zeros_like(w) for w in weights]
        dx = np.empty((N, T, D), weights[0].dtype)
        for t in reversed(range(T)):
            if dh_seq is not None:        # dL/dh_t: from the output y_t and from step t + 1
                dstates[0] = dstates[0] + dh_seq[:, t]
            dx[:, t], dstates, step_dweights = self.cell_backward(dstates, cache.steps[t], weights)
            for total, step in zip(dweights, step_dweights):
                total += step
        return dweights, dx, dstates

    def _backward_compiled(self, dh_seq, dstates, cache, weights, need_dx):
        """The layer's backward kernel over the whole sequence, block by block."""
        N, T, D, H = cache.sizes
        P, B = cache.x.shape[0], cache.x.shape[-1]
        if dh_seq is None:                # only the last output was returned
            dh_seq = np.zeros((P, T, H, B), weights[0].dtype)
        else:
            dh_seq = to_kernel(dh_seq, P, STEPS_FIRST)
        with single_threaded_blas():      # the kernels' own BLAS calls
            dweights, dx, dstates = self.kernel_backward(
                dh_seq, [to_kernel(d, P, STATE) for d in dstates], cache, weights,
                need_dx or cache.has_initial_state)
        dx = from_kernel(dx, FEATURES_FIRST, N) if need_dx else None
        return dweights, dx, [from_kernel(d, STATE, N) for d in dstates]

    # --- checks: the kernels read whatever shapes they are given -------------------------------
    def _weights(self):
        """``(kernel, recurrent_kernel, bias)``, checked against ``units`` and one another;
        ``bias`` zeros without ``use_bias``."""
        if not self.built:
            raise ValueError(f"{self.describe()} is not built; call build(input_shape, rng, "
                             "dtype) or put it in a Sequential first")
        kernel = self.params.get("kernel")
        D = kernel.shape[0] if isinstance(kernel, np.ndarray) and kernel.ndim == 2 else "D"
        GH = self.gates * self.units
        expected = {"kernel": (D, GH), "recurrent_kernel": (self.units, GH)}
        if self.use_bias:
            expected["bias"] = self.bias_shape()
        if list(self.params) != list(expected):
            raise ValueError(f"{self.describe()} has the weights {list(self.params)}; it needs "
                             f"{list(expected)}")
        for key, shape in expected.items():
            w = self.params[key]
            if not (isinstance(w, np.ndarray) and w.shape == shape and w.dtype == kernel.dtype
                    and w.dtype in (np.float32, np.float64)):
                raise ValueError(f"{self.describe()} needs {key} of shape {shape} in float32 or "
                                 f"float64, one dtype for all weights; it has "
                                 f"{getattr(w, 'dtype', type(w).__name__)} {np.shape(w)}")
        bias = self.params["bias"] if self.use_bias else np.zeros(self.bias_shape(), kernel.dtype)
        return tuple(np.ascontiguousarray(w) for w in (kernel, self.params["recurrent_kernel"],
                                                        bias))

    def _check_input(self, x, kernel):
        x = np.asarray(x)
        D = kernel.shape[0]
        if x.ndim != 3 or x.shape[2] != D:
            raise ValueError(f"{self.describe()} was built for inputs of shape (batch, timesteps, "
                             f"{D}); got x of shape {x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"x has shape {x.shape}; {self.describe()} needs at least one "
                             "timestep")
        return _checked(x, x.shape, "x", kernel.dtype, self.describe())

    def _check_states(self, initial_state, N, dtype):
        """The initial states as a list of ``(N, H)`` arrays (zeros when none are given)."""
        if initial_state is None:
            return [np.zeros((N, self.units), dtype) for _ in self.state_names]
        if isinstance(initial_state, np.ndarray) or not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        names = [f"{name}0" for name in self.state_names]
        if len(initial_state) != len(names):
            raise ValueError(f"{self.describe()} takes initial_state=[{', '.join(names)}]; got "
                             f"{len(initial_state)} arrays")
        return [_checked(s, (N, self.units), f"initial state {name}", dtype, self.describe())
                for s, name in zip(initial_state, names)]

    def _check_dy(self, dy, N, T, dtype):
        """``dy`` as ``(dh_seq, dstates)``: dL/dh_t at every step ``(N, T, H)`` (``None`` when
        only the last output is returned) and dL/d(final states), each ``(N, H)``, zeros where
        none is given, the gradient at the last output included."""
        names = [f"d{name}_T" for name in self.state_names]
        if self.return_state:
            if not isinstance(dy, (list, tuple)) or len(dy) != 1 + len(names):
                raise ValueError(f"{self.describe()} has return_state=True, so backward takes "
                                 f"the list [dy, {', '.join(names)}] (None for zero)")
            dy, *dfinal = dy
        else:
            dfinal = [None] * len(names)
        H = self.units
        dstates = [np.zeros((N, H), dtype) if d is None
                   else _checked(d, (N, H), name, dtype, self.describe())
                   for d, name in zip(dfinal, names)]
        if dy is None:
            return None, dstates
        dy = _checked(dy, (N, T, H) if self.return_sequences else (N, H), "dy", dtype,
                      self.describe())
        if self.return_sequences:
            return dy, dstates
        dstates[0] = dstates[0] + dy
        return None, dstates

    def _check_cache(self, cache, kernel):
        if not isinstance(cache, (CellSteps, self.KernelCache)):
            raise ValueError(f"{self.describe()}.backward needs the cache its forward(..., "
                             f"keep_cache=True) returned; got {type(cache).__name__}")
        D, H = cache.sizes[2:]
        if (D, H) != (kernel.shape[0], self.units):
            raise ValueError(f"the cache comes from a layer with {D} input features and {H} "
                             f"units; {self.describe()} has {kernel.shape[0]} and {self.units}")
        if isinstance(cache, self.KernelCache) and cache.x.dtype != kernel.dtype:
            raise ValueError(f"the cache holds {cache.x.dtype}; the weights of "
                             f"{self.describe()} are {kernel.dtype}")
