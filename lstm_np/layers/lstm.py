"""Long short-term memory: the readable cell and the sequence layer.

The readable cell (:func:`lstm_cell_forward`, :func:`lstm_cell_backward`) is the math a learner
reads beside the equations; :class:`LSTM` runs the same math through the compiled kernels of
:mod:`lstm_np.kernels.lstm`. ``tests/test_lstm.py`` proves the two paths equal.
"""
from typing import NamedTuple

import numpy as np

from .. import activations, initializers
from ..activations import sigmoid
from ..gates import gate_slice, split_gates
from ..kernels.lstm import lstm_backward_sequence, lstm_forward_sequence
from .._runtime import single_threaded_blas
from .base import Layer
from .blocks import blocks_for, from_blocks, to_blocks


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


def lstm_cell_forward(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """One LSTM step (tanh / sigmoid, Keras's defaults).

    ``x_t (N, D)``, ``h_prev, c_prev (N, H)``, ``kernel (D, 4H)``, ``recurrent_kernel (H, 4H)``,
    ``bias (4H,)``. Returns ``h, c`` (each ``(N, H)``) and the cache for the backward step.
    """
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias     # (N, 4H): all four gates at once
    z_i, z_f, z_g, z_o = split_gates(z)
    i = sigmoid(z_i)               # input gate: how much of the candidate to write
    f = sigmoid(z_f)               # forget gate: how much of the old cell to keep
    g = np.tanh(z_g)               # candidate cell value
    o = sigmoid(z_o)               # output gate: how much of the cell to show
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, CellCache(x_t, h_prev, c_prev, i, f, g, o, c)


def lstm_cell_backward(dh, dc_next, cache, kernel, recurrent_kernel):
    """Backward through one step: the chain rule applied to the six forward equations.

    ``dh`` is dL/dh_t (from the output and from step t+1), ``dc_next`` is dL/dc_t from step t+1.
    Returns ``dx_t, dh_prev, dc_prev`` and the step's contribution to
    ``dkernel, drecurrent_kernel, dbias``.
    """
    x_t, h_prev, c_prev, i, f, g, o, c = cache
    tanh_c = np.tanh(c)
    do = dh * tanh_c
    dc = dc_next + dh * o * (1 - tanh_c ** 2)      # h = o * tanh(c)
    di, df, dg = dc * g, dc * c_prev, dc * i         # c = f * c_prev + i * g
    dc_prev = dc * f
    dz = np.concatenate([di * i * (1 - i),           # through σ
                         df * f * (1 - f),
                         dg * (1 - g ** 2),           # through tanh
                         do * o * (1 - o)], axis=-1)  # (N, 4H)
    dx_t = dz @ kernel.T
    dh_prev = dz @ recurrent_kernel.T
    return dx_t, dh_prev, dc_prev, (x_t.T @ dz, h_prev.T @ dz, dz.sum(axis=0))


# --------------------------------------------------------------------------------------------
# The sequence layer.
# --------------------------------------------------------------------------------------------
class LSTMCache(NamedTuple):
    """What the backward pass needs, in the kernels' layout (see kernels/lstm.py): the batch
    cut into ``P`` blocks of ``B`` sequences (the last block padded with zeros), units before
    batch."""
    x: np.ndarray          # (P, D, T, B) the input
    h: np.ndarray          # (P, H, T + 1, B), h[:, :, 0] is the initial state
    c: np.ndarray          # (P, T + 1, H, B)
    gates: np.ndarray      # (P, T, 4H, B) activated i, f, g, o
    act_c: np.ndarray      # (P, T, H, B) activation(c_t)
    n: int                 # the real batch size N <= P * B
    has_initial_state: bool

    def batch_major(self):
        """The cache as batch-first arrays ``(N, T, ...)``: ``i, f, g, o, c, h`` for learners
        and plots (``c`` and ``h`` without the initial state)."""
        P, T, H4, B = self.gates.shape
        H = H4 // 4
        gates = from_blocks(self.gates.transpose(0, 3, 1, 2), self.n)        # (N, T, 4H)
        out = {name: gates[..., k * H:(k + 1) * H] for k, name in enumerate("ifgo")}
        out["c"] = from_blocks(self.c[:, 1:].transpose(0, 3, 1, 2), self.n)
        out["h"] = from_blocks(self.h[:, :, 1:].transpose(0, 3, 2, 1), self.n)
        return out


class LSTM(Layer):
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

    Shapes: N batch, T timesteps, D input features, H = ``units``.
    Input ``(N, T, D)``; output ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``.

    Parameters (Keras's layout, gate blocks ``i, f, g, o`` along the last axis)
    ----------------------------------------------------------------------------
    kernel : (D, 4H), ``glorot_uniform`` over the whole matrix.
    recurrent_kernel : (H, 4H), one ``orthogonal`` matrix.
    bias : (4H,), zeros — with ``unit_forget_bias=True`` the forget block starts at 1
        (Jozefowicz et al., 2015), so the cell remembers by default.

    Parameters
    ----------
    units : int
    activation, recurrent_activation : str — Keras names (tanh, sigmoid, relu, linear,
        hard_sigmoid).
    use_bias : bool
    return_sequences : bool — return every ``h_t`` instead of only the last.
    return_state : bool — also return the final ``h_T, c_T``: the output becomes the list
        ``[output, h_T, c_T]`` and ``backward`` takes the list ``[dy, dh_T, dc_T]`` (``None``
        entries mean zero).
    input_shape : (T, D), optional.

    ``forward(x, initial_state=[h0, c0])`` starts from a given state; ``backward`` then returns
    ``[dx, dh0, dc0]`` in place of ``dx``: gradients mirror the inputs as outputs mirror dy.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import LSTM
    >>> layer = LSTM(5, input_shape=(4, 3))
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> y, cache = layer.forward(np.ones((2, 4, 3)))
    >>> y.shape
    (2, 5)
    """

    kind = "lstm"
    can_skip_input_gradient = True       # backward(..., need_dx=False) skips dx
    can_skip_cache = True                # forward(..., keep_cache=False) for prediction

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, unit_forget_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 input_shape=None, name=None):
        super().__init__(input_shape=input_shape, name=name)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        initializers.get(kernel_initializer), initializers.get(recurrent_initializer)

    def build(self, input_shape, rng, dtype):
        D, H = input_shape[-1], self.units
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)((D, 4 * H), rng),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)((H, 4 * H), rng),
        }
        if self.use_bias:
            bias = np.zeros(4 * H)
            if self.unit_forget_bias:
                bias[gate_slice("f", H)] = 1.0
            self.params["bias"] = bias
        self.cast(dtype)
        self.built = True

    def compute_output_shape(self, input_shape):
        T = input_shape[0]
        return (T, self.units) if self.return_sequences else (self.units,)

    # --- forward --------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None, initial_state=None, keep_cache=True):
        """``keep_cache=False`` (prediction) keeps no per-step state and returns ``None`` as
        the cache: less memory, and faster."""
        kernel, recurrent_kernel = self.params["kernel"], self.params["recurrent_kernel"]
        dtype = kernel.dtype
        N, T, D = x.shape
        H = self.units
        P = blocks_for(N)
        x_b = to_blocks(np.asarray(x, dtype=dtype), P, (2, 1))                 # (P, D, T, B)
        if initial_state is None:
            h0 = c0 = np.zeros((P, H, x_b.shape[-1]), dtype)
        else:
            h0, c0 = (to_blocks(np.asarray(s, dtype=dtype), P, (1,)) for s in initial_state)
        bias = self.params["bias"] if self.use_bias else np.zeros(4 * H, dtype)
        with single_threaded_blas():      # the kernels' own BLAS calls
            h, c, gates, act_c = lstm_forward_sequence(
                x_b, np.ascontiguousarray(kernel.T), bias, np.ascontiguousarray(recurrent_kernel.T),
                h0, c0, activations.CODES[self.activation],
                activations.CODES[self.recurrent_activation], keep_cache)
        c_last = c[:, T] if keep_cache else c[:, T % 2]
        cache = LSTMCache(x_b, h, c, gates, act_c, N, initial_state is not None) if keep_cache \
            else None
        if self.return_sequences:
            y = from_blocks(h[:, :, 1:].transpose(0, 3, 2, 1), N)               # (N, T, H)
        else:
            y = from_blocks(h[:, :, T].transpose(0, 2, 1), N)                   # (N, H)
        if self.return_state:
            return [y, from_blocks(h[:, :, T].transpose(0, 2, 1), N),
                    from_blocks(c_last.transpose(0, 2, 1), N)], cache
        return y, cache

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, cache, need_dx=True):
        x_b, h, c, gates, act_c, N, has_initial_state = cache
        P, D, T, B = x_b.shape
        H = self.units
        dtype = gates.dtype
        dh_last = np.zeros((N, H), dtype)
        dc_last = np.zeros((N, H), dtype)
        if self.return_state:
            dy, dh_state, dc_state = dy
            if dh_state is not None:
                dh_last += dh_state
            if dc_state is not None:
                dc_last += dc_state
        if dy is not None and self.return_sequences:
            dh_seq = to_blocks(np.asarray(dy, dtype), P, (1, 2))                 # (P, T, H, B)
        else:
            dh_seq = np.zeros((P, T, H, B), dtype)
            if dy is not None:
                dh_last += dy
        kernel, recurrent_kernel = self.params["kernel"], self.params["recurrent_kernel"]
        with single_threaded_blas():      # the kernels' own BLAS calls
            dkernel, drecurrent_kernel, dbias, dx, dh0, dc0 = lstm_backward_sequence(
                dh_seq, to_blocks(dh_last, P, (1,)), to_blocks(dc_last, P, (1,)), x_b, h, c, gates,
                act_c, np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent_kernel),
                activations.CODES[self.activation], activations.CODES[self.recurrent_activation],
                need_dx or has_initial_state)
        grads = {"kernel": dkernel, "recurrent_kernel": drecurrent_kernel}
        if self.use_bias:
            grads["bias"] = dbias
        if not need_dx:
            dx = None
        else:
            dx = from_blocks(dx.transpose(0, 3, 2, 1), N)                       # (N, T, D)
        if has_initial_state:
            return [dx, from_blocks(dh0.transpose(0, 2, 1), N),
                    from_blocks(dc0.transpose(0, 2, 1), N)], grads
        return dx, grads

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self.activation,
                      recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                      return_sequences=self.return_sequences, return_state=self.return_state,
                      unit_forget_bias=self.unit_forget_bias,
                      kernel_initializer=self.kernel_initializer,
                      recurrent_initializer=self.recurrent_initializer)
        return config
