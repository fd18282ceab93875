"""Long short-term memory (Hochreiter & Schmidhuber, 1997), in three parts: one step in plain
NumPy beside its equations (:func:`lstm_cell_forward`, :func:`lstm_cell_backward`), that step
as a cell (:class:`LSTMCell`), and the layer :class:`LSTM`, ``RNN(LSTMCell(...))`` with the
compiled kernels of :mod:`lstm_np.kernels.lstm` as its fast path (:mod:`.recurrent`).
"""
from typing import NamedTuple

import numpy as np

from ..activations import CODES, DERIVATIVES, FUNCTIONS
from ..gates import LSTM_GATES, gate_slice, split_gates
from ..kernels.lstm import lstm_backward_sequence, lstm_forward_sequence
from . import schema
from .cells import KerasCell, flag
from .registry import register
from .recurrent import FEATURES_FIRST, STEPS_FIRST, Recurrent, from_kernel


# --------------------------------------------------------------------------------------------
# The readable cell: one timestep, forward and backward, in plain NumPy.
# --------------------------------------------------------------------------------------------
class CellCache(NamedTuple):
    x_t: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias, activation="tanh",
                      recurrent_activation="sigmoid"):
    """One LSTM step, line for line the equations of :class:`LSTM`: ``sigma`` and ``tanh`` are
    the functions named by ``recurrent_activation`` and ``activation`` (Keras's defaults: the
    logistic sigmoid and tanh).

    ``x_t (N, D)``, ``h_prev, c_prev (N, H)``, ``kernel (D, 4H)``, ``recurrent_kernel (H, 4H)``,
    ``bias (4H,)``. Returns ``h, c`` (each ``(N, H)``) and the cache for the backward step.
    """
    sigma, tanh = FUNCTIONS[recurrent_activation], FUNCTIONS[activation]
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias     # (N, 4H): all four gates at once
    z_i, z_f, z_g, z_o = split_gates(z)
    i = sigma(z_i)                 # input gate: how much of the candidate to write
    f = sigma(z_f)                 # forget gate: how much of the old cell to keep
    g = tanh(z_g)                  # candidate cell value
    o = sigma(z_o)                 # output gate: how much of the cell to show
    c = f * c_prev + i * g
    h = o * tanh(c)
    return h, c, CellCache(x_t, h_prev, c_prev, i, f, g, o, c, h)


def lstm_cell_backward(dh, dc_next, cache, kernel, recurrent_kernel, activation="tanh",
                       recurrent_activation="sigmoid"):
    """Backward through one step: the chain rule applied to the six forward equations, each
    activation's derivative written through its output (σ' = σ(1 - σ), tanh' = 1 - tanh²).

    ``dh`` is dL/dh_t (from the output and from step t+1), ``dc_next`` is dL/dc_t from step t+1.
    Returns ``dx_t, dh_prev, dc_prev`` and the step's contribution to
    ``dkernel, drecurrent_kernel, dbias``.
    """
    dsigma, dtanh = DERIVATIVES[recurrent_activation], DERIVATIVES[activation]
    x_t, h_prev, c_prev, i, f, g, o, c, h = cache
    tanh_c = FUNCTIONS[activation](c)
    do = dh * tanh_c
    dc = dc_next + dh * o * dtanh(tanh_c)            # h = o * tanh(c)
    di, df, dg = dc * g, dc * c_prev, dc * i         # c = f * c_prev + i * g
    dc_prev = dc * f
    dz = np.concatenate([di * dsigma(i), df * dsigma(f), dg * dtanh(g), do * dsigma(o)],
                        axis=-1)                     # (N, 4H), through σ, σ, tanh, σ
    dx_t = dz @ kernel.T
    dh_prev = dz @ recurrent_kernel.T
    return dx_t, dh_prev, dc_prev, (x_t.T @ dz, h_prev.T @ dz, dz.sum(axis=0))


@register
class LSTMCell(KerasCell):
    """One LSTM step as a cell for :class:`.RNN` (Keras's ``LSTMCell``): the equations of
    :class:`LSTM`, computed by :func:`lstm_cell_forward` and :func:`lstm_cell_backward`.

    States ``[h, c]``, each ``(N, units)``; the output is ``h``. Weights and options are those
    of :class:`LSTM`.

    >>> import numpy as np
    >>> from lstm_np.layers import RNN, LSTMCell
    >>> layer = RNN(LSTMCell(5))
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> [w.shape for w in layer.weights]
    [(3, 20), (5, 20), (20,)]
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, **options):
        super().__init__(units, activation, recurrent_activation, use_bias, **options)
        self.unit_forget_bias = flag("unit_forget_bias", unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def initial_bias(self, shape, rng):
        bias = np.zeros(shape)
        if self.unit_forget_bias:
            bias[gate_slice("f", self.units)] = 1.0    # Jozefowicz et al. (2015)
        return bias

    def forward(self, inputs, states, training=False):
        h, c, cache = lstm_cell_forward(inputs, *states, *self.weight_arrays(), self.activation,
                                        self.recurrent_activation)
        return h, [h, c], cache

    def backward(self, d_output, d_states, cache):
        dh, dc = d_states               # dL/dh_t, dL/dc_t from step t + 1
        dx_t, dh_prev, dc_prev, dweights = lstm_cell_backward(
            d_output + dh, dc, cache, *self.weight_arrays()[:2], self.activation,
            self.recurrent_activation)
        return dx_t, [dh_prev, dc_prev], self.named(dweights)


# --------------------------------------------------------------------------------------------
# The layer.
# --------------------------------------------------------------------------------------------
class LSTMCache(NamedTuple):
    """The compiled path's cache, in the kernels' layouts (see :mod:`.recurrent`)."""
    x: np.ndarray          # (P, D, T, B) the input
    h: np.ndarray          # (P, H, T + 1, B), h[:, :, 0] is the initial state
    c: np.ndarray          # (P, T + 1, H, B), c[:, 0] is the initial state
    gates: np.ndarray      # (P, T, 4H, B) activated i, f, g, o
    act_c: np.ndarray      # (P, T, H, B) activation(c_t)
    sizes: tuple           # (N, T, D, H)
    has_initial_state: bool

    def batch_major(self):
        """The cache as batch-first arrays ``(N, T, H)``: ``i, f, g, o, c, h`` for learners
        and plots (``c`` and ``h`` without the initial state)."""
        n = self.sizes[0]
        record = dict(zip(LSTM_GATES, split_gates(from_kernel(self.gates, STEPS_FIRST, n))))
        record["c"] = from_kernel(self.c, STEPS_FIRST, n, steps=slice(1, None))
        record["h"] = from_kernel(self.h, FEATURES_FIRST, n, steps=slice(1, None))
        return record


@register(kind="lstm")
class LSTM(Recurrent):
    """Long short-term memory layer (Hochreiter & Schmidhuber, 1997), Keras's flavour.

    For each timestep ``t`` with input ``x_t`` and previous state ``h_{t-1}, c_{t-1}``::

        z   = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias      split into z_i, z_f, z_g, z_o
        i   = σ(z_i)          input gate
        f   = σ(z_f)          forget gate
        g   = tanh(z_g)       candidate cell value (Keras's "c" block)
        o   = σ(z_o)          output gate
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    σ is ``recurrent_activation`` (default the logistic sigmoid) and tanh is ``activation``.
    Shapes: N batch, T timesteps, D input features, H = ``units``. Input ``(N, T, D)``; output
    ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``; the states are ``[h, c]``.

    Weights (Keras's layout, gate blocks ``i, f, g, o`` along the last axis)
    -----------------------------------------------------------------------
    kernel : (D, 4H), ``glorot_uniform`` over the whole matrix.
    recurrent_kernel : (H, 4H), one ``orthogonal`` matrix.
    bias : (4H,), zeros — with ``unit_forget_bias=True`` the forget block starts at 1
        (Jozefowicz et al., 2015), so the cell remembers by default.

    Parameters
    ----------
    recurrent_activation : str — σ above.
    unit_forget_bias : bool
    The others are every recurrent layer's (:class:`.Recurrent`). ``LSTM(...)`` computes what
    ``RNN(LSTMCell(...))`` computes.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import LSTM
    >>> layer = LSTM(5, return_state=True)
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> (y, h_T, c_T), cache = layer.forward(np.ones((2, 4, 3)))
    >>> bool(np.all(y == h_T)), c_T.shape
    (True, (2, 5))
    """

    kind = "lstm"
    config_checks = {"recurrent_activation": schema.activation,
                     "unit_forget_bias": schema.boolean}
    keras_options = Recurrent.keras_options + ("recurrent_activation", "unit_forget_bias")
    gate_names = LSTM_GATES          # also torch's order (i, f, g, o)
    torch_module = "LSTM"
    cell_class = LSTMCell
    KernelCache = LSTMCache

    def kernel_forward(self, x, states, weights, keep_cache):
        kernel, recurrent_kernel, bias = weights
        h, c, gates, act_c = lstm_forward_sequence(
            x, np.ascontiguousarray(kernel.T), bias, np.ascontiguousarray(recurrent_kernel.T),
            *states, CODES[self.activation], CODES[self.recurrent_activation], keep_cache)
        T = x.shape[2]
        return (h, c, gates, act_c), [c[:, T if keep_cache else T % 2]]    # c_T (P, H, B)

    def kernel_backward(self, dh_seq, dstates, cache, weights, need_dx):
        dkernel, drecurrent_kernel, dbias, dx, dh0, dc0 = lstm_backward_sequence(
            dh_seq, *dstates, cache.x, cache.h, cache.c, cache.gates, cache.act_c, *weights[:2],
            CODES[self.activation], CODES[self.recurrent_activation], need_dx)
        return (dkernel, drecurrent_kernel, dbias), dx, [dh0, dc0]
