"""What LSTM, GRU and SimpleRNN add to :class:`.RNN`: their compiled fast path.

Each of :mod:`.lstm`, :mod:`.gru` and :mod:`.simple_rnn` holds its readable cell (plain NumPy,
beside its equations; :class:`~lstm_np.layers.LSTMCell` ...), and its pair of compiled sequence
kernels (:mod:`lstm_np.kernels`). :class:`.RNN` runs any cell over time; :class:`Recurrent`
adds Keras's flat options (``LSTM(units, activation=...)`` builds its own cell, and
``layer.units`` is the cell's) and a second way of running the cell, chosen by
``implementation``: ``"compiled"`` (the default) runs the whole sequence in the layer's compiled
kernels (Keras's ``inner_loop`` idea); ``"numpy"`` steps the readable cell in :class:`.RNN`'s
Python loop, forward and backward: the same numbers to rounding, many times slower, and a
breakpoint in the cell stops a running model. In training with ``recurrent_dropout > 0`` the
layer takes the readable cell's path too (the kernels know no mask on ``h_{t-1}``); the input
mask of ``dropout`` is applied around the kernels.

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

import numpy as np

from .._runtime import reusable, single_threaded_blas
from ..gates import regate
from . import schema
from .base import Layer
from .cells import arguments
from .blocks import blocks_for, from_blocks, to_blocks
from .rnn import RNN

FEATURES_FIRST, STEPS_FIRST, STATE = "PFTB", "PTFB", "PFB"
IMPLEMENTATIONS = ("compiled", "numpy")
#: options added after the first file format: written to a config only when not the default,
#: so a default model's file is what it was before they existed (and older lstm_np reads it)
LATER_OPTIONS = ("implementation", "dropout", "recurrent_dropout", "go_backwards", "stateful",
                 "unroll")


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


def _cell_arguments(cls):
    """The names of the arguments of ``cls``'s cell class (all but ``name``)."""
    return [key for key in arguments(cls.cell_class) if key != "name"]


def _constructor(cls):
    """``cls.__init__``: :meth:`Recurrent.__init__` under the signature ``(self, <the cell's
    arguments>, *, <the layer's own>, **kwargs)``, which ``help``, ``get_config`` and the model
    file's checks read."""
    def __init__(self, *args, **kwargs):
        Recurrent.__init__(self, *args, **kwargs)

    layer = inspect.signature(Recurrent.__init__).parameters
    __init__.__signature__ = inspect.Signature(
        [layer["self"]] + [p for key, p in arguments(cls.cell_class).items() if key != "name"]
        + [p for p in layer.values() if p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD)])
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = f"The {cls.__name__} layer; see the class's docstring."
    return __init__


class Recurrent(RNN):
    """Base of LSTM, GRU and SimpleRNN: :class:`.RNN` with a built-in cell and a compiled
    fast path (see the module's docstring).

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
    dropout, recurrent_dropout : float — Keras's: the fraction of ``x_t``, and of ``h_{t-1}``
        where it enters the gates, dropped in training with one mask per sequence (see
        :class:`.RNN`). With ``recurrent_dropout > 0`` training runs the readable cell.
    go_backwards, stateful, unroll : see :class:`.RNN` (``unroll`` changes nothing).
    input_shape : (T, D), optional.
    name : str, optional.

    A subclass sets :attr:`cell_class` (its readable cell) and :attr:`KernelCache` (a NamedTuple
    ``(x, *kernel arrays, sizes, has_initial_state)`` with ``batch_major()``); it writes no
    constructor: its arguments are its cell's (``units, activation, ...``, each also an attribute
    of the layer), then the layer's own above, keyword only, and the class gets a constructor of
    that signature (:func:`_constructor`). It writes
    ``kernel_forward(x, states, weights, keep_cache) -> (arrays, other_final_states)`` (``h``
    first in ``arrays``; the final states after ``h_T``) and ``kernel_backward(dh_seq, dstates,
    cache, weights, need_dx) -> (dweights, dx, dstates0)``: its compiled kernels, on arrays in
    the layouts above; ``weights`` is ``(kernel, recurrent_kernel, bias)``.
    """

    cell_class = None
    KernelCache = None
    config_checks = {"units": schema.units, "activation": schema.activation,
                     "use_bias": schema.boolean, "kernel_initializer": schema.initializer,
                     "recurrent_initializer": schema.initializer,
                     "implementation": schema.one_of(*IMPLEMENTATIONS),
                     "dropout": schema.rate, "recurrent_dropout": schema.rate}
    keras_options = ("units", "activation", "use_bias", "return_sequences", "go_backwards",
                     "dropout", "recurrent_dropout")
    #: the names of the gate blocks along the weights' last axis, in Keras's order, and in
    #: PyTorch's (None: the same)
    gate_names = ("h",)
    torch_gates = None

    def __init_subclass__(cls, **kwargs):
        """Every option of the cell is an attribute of the layer too (``layer.units``)."""
        super().__init_subclass__(**kwargs)
        if cls.cell_class is None:
            return
        for key in _cell_arguments(cls):
            if not hasattr(cls, key):
                setattr(cls, key, property(lambda self, k=key: getattr(self.cell, k),
                                           lambda self, value, k=key: setattr(self.cell, k,
                                                                              value)))
        if "__init__" not in vars(cls):
            cls.__init__ = _constructor(cls)

    def __init__(self, *cell_args, implementation="compiled", return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 input_shape=None, name=None, **kwargs):
        """The cell made of ``cell_args`` and the arguments of ``kwargs`` its class takes; the
        others are :class:`.RNN`'s (or refused by it)."""
        if implementation not in IMPLEMENTATIONS:
            raise ValueError("implementation must be 'compiled' or 'numpy', got "
                             f"{implementation!r}")
        cell = self.cell_class(*cell_args, **{key: kwargs.pop(key) for key in
                                              _cell_arguments(type(self)) if key in kwargs})
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                         input_shape, name, **kwargs)
        self.implementation = implementation

    @property
    def gates(self):
        return self.cell.gates

    @property
    def has_kernel(self):
        """Whether the compiled kernels compute this layer's cell."""
        return True

    def get_config(self):
        """Every constructor argument, read from the attribute of the same name, so that
        ``type(layer)(**layer.get_config())`` is the same layer. The :data:`LATER_OPTIONS` are
        written only when they are not the default."""
        config = Layer.get_config(self)
        for key, parameter in inspect.signature(type(self).__init__).parameters.items():
            if key in ("self", "input_shape", "name") or parameter.kind == parameter.VAR_KEYWORD:
                continue
            value = getattr(self, key)
            if key not in LATER_OPTIONS or value != parameter.default:
                config[key] = value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- PyTorch's layout: nn.LSTM / nn.GRU / nn.RNN with num_layers=1 ----------------------
    def torch_weights(self):
        """``weight_ih_l0 (G*H, D)``, ``weight_hh_l0 (G*H, H)`` and, with a bias,
        ``bias_ih_l0, bias_hh_l0 (G*H,)``: the kernels transposed, the gate blocks in torch's
        order, the bias split as :meth:`torch_biases` says."""
        p = self.params
        out = {"weight_ih_l0": self._torch_order(p["kernel"]).T,
               "weight_hh_l0": self._torch_order(p["recurrent_kernel"]).T}
        if self.use_bias:
            bias_ih, bias_hh = self.torch_biases(p["bias"])
            out.update(bias_ih_l0=self._torch_order(bias_ih),
                       bias_hh_l0=self._torch_order(bias_hh))
        return out

    def weights_from_torch(self, arrays):
        out = [self._torch_order(arrays["weight_ih_l0"].T, back=True),
               self._torch_order(arrays["weight_hh_l0"].T, back=True)]
        if self.use_bias:
            out.append(self.bias_from_torch(self._torch_order(arrays["bias_ih_l0"], back=True),
                                            self._torch_order(arrays["bias_hh_l0"], back=True)))
        return out

    def torch_biases(self, bias):
        """torch's ``(bias_ih, bias_hh)`` from ``bias``: torch adds its two biases, so all of
        ours goes in the input one."""
        return bias, np.zeros_like(bias)

    def bias_from_torch(self, bias_ih, bias_hh):
        return bias_ih + bias_hh

    def _torch_order(self, a, back=False):
        """``a`` with its gate blocks in torch's order (``back``: in ours again)."""
        if self.torch_gates is None:
            return a
        return regate(a, self.torch_gates, self.gate_names) if back else \
            regate(a, self.gate_names, self.torch_gates)

    def torch_options(self):
        """The options of :attr:`torch_module` beyond its sizes; ``ValueError`` for math it
        cannot compute (torch's gated cells are tanh / sigmoid)."""
        if (self.activation, self.recurrent_activation) != ("tanh", "sigmoid"):
            raise ValueError(f"has activation={self.activation!r}, recurrent_activation="
                             f"{self.recurrent_activation!r}; nn.{self.torch_module} computes "
                             "only tanh / sigmoid")
        return {}

    def torch_step(self, torch, input_shape):
        if self.go_backwards:
            raise ValueError("has go_backwards=True; torch's RNN modules read the sequence "
                             "forward (use a Bidirectional layer)")
        return self.torch_rnn(torch, input_shape, bidirectional=False)

    def torch_rnn(self, torch, input_shape, bidirectional):
        """``nn.LSTM/GRU/RNN`` (``batch_first``, one layer, both directions if
        ``bidirectional``) and what to keep of its output ``(seq, state)``: the sequence
        ``(N, T, H)``, or the last output of each direction — the forward one at ``T - 1``,
        the backward one (which read the sequence from the end) at 0, as Keras's
        Bidirectional."""
        module = getattr(torch.nn, self.torch_module)(
            input_size=input_shape[-1], hidden_size=self.units, bias=self.use_bias,
            batch_first=True, bidirectional=bidirectional, **self.torch_options())
        H = self.units
        if self.return_sequences:
            return module, lambda out: out[0]
        if not bidirectional:
            return module, lambda out: out[0][:, -1]
        return module, lambda out: torch.cat([out[0][:, -1, :H], out[0][:, 0, H:]], dim=-1)

    # --- forward and backward: the compiled kernels, unless the readable cell is asked for ------
    def _run_forward(self, x, states, training, input_mask, recurrent_mask, keep_cache, sizes,
                     has_initial_state):
        if self.implementation == "numpy" or recurrent_mask is not None or not self.has_kernel:
            return super()._run_forward(x, states, training, input_mask, recurrent_mask,
                                        keep_cache, sizes, has_initial_state)
        if input_mask is not None:
            x = x * input_mask[:, None]
        h_seq, final, arrays = self._forward_compiled(x, states, self._weights(), keep_cache)
        return h_seq, final[0], final, self.KernelCache(*arrays, sizes, has_initial_state)

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

    def _run_backward(self, dy_seq, dy_last, dstates, cache, need_dx):
        if isinstance(cache.steps, list):
            return super()._run_backward(dy_seq, dy_last, dstates, cache, need_dx)
        if dy_seq is None:                # the last output is h_T
            dstates[0] = dstates[0] + dy_last
        dweights, dx, dstates = self._backward_compiled(dy_seq, dstates, cache.steps,
                                                        self._weights(), need_dx)
        return dict(zip(self.params, dweights)), dx, dstates

    def _backward_compiled(self, dh_seq, dstates, cache, weights, need_dx):
        """The layer's backward kernel over the whole sequence, block by block."""
        N, T, D, H = cache.sizes
        P, B = cache.x.shape[0], cache.x.shape[-1]
        if dh_seq is None:                # only the last output was returned
            dh_seq = reusable((P, T, H, B), weights[0].dtype)
            dh_seq.fill(0)
        else:
            dh_seq = to_kernel(dh_seq, P, STEPS_FIRST)
        with single_threaded_blas():      # the kernels' own BLAS calls
            dweights, dx, dstates = self.kernel_backward(
                dh_seq, [to_kernel(d, P, STATE) for d in dstates], cache, weights,
                need_dx or cache.has_initial_state)
        dx = from_kernel(dx, FEATURES_FIRST, N) if need_dx else None
        return dweights, dx, [from_kernel(d, STATE, N) for d in dstates]

    def _weights(self):
        """``(kernel, recurrent_kernel, bias)`` for the kernels, contiguous; ``bias`` zeros
        without ``use_bias``."""
        return tuple(np.ascontiguousarray(w) for w in self.cell.weight_arrays())

    def _check_cache(self, cache):
        super()._check_cache(cache)
        if isinstance(cache.steps, self.KernelCache) and cache.steps.x.dtype != self._dtype():
            raise ValueError(f"the cache holds {cache.steps.x.dtype}; the weights of "
                             f"{self.describe()} are {self._dtype()}")
        if not isinstance(cache.steps, (list, self.KernelCache)):
            raise ValueError(f"{self.describe()}.backward got the cache of another kind of "
                             "layer")
