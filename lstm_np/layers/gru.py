"""Gated recurrent unit: the readable cell and the sequence layer.

The readable cell (:func:`gru_cell_forward`, :func:`gru_cell_backward`) is the math a learner
reads beside the equations; :class:`GRU` runs the same math through the compiled kernels of
:mod:`lstm_np.kernels.gru`. ``tests/test_gru.py`` proves the two paths equal.
"""
from typing import NamedTuple

import numpy as np

from .. import activations, initializers
from ..activations import sigmoid
from ..gates import GRU_GATES, gate_slice, split_gates
from ..kernels.gru import gru_backward_sequence, gru_forward_sequence
from .._runtime import single_threaded_blas
from .base import Layer
from .blocks import blocks_for, from_blocks, to_blocks


# --------------------------------------------------------------------------------------------
# The readable cell: one timestep, forward and backward, in plain NumPy.
# --------------------------------------------------------------------------------------------
class GRUCellCache(NamedTuple):
    x_t: np.ndarray
    h_prev: np.ndarray
    z: np.ndarray
    r: np.ndarray
    hh: np.ndarray
    recurrent_h: np.ndarray


def gru_cell_forward(x_t, h_prev, kernel, recurrent_kernel, bias):
    """One GRU step (tanh / sigmoid, Keras's defaults, ``reset_after=True``).

    ``x_t (N, D)``, ``h_prev (N, H)``, ``kernel (D, 3H)``, ``recurrent_kernel (H, 3H)``,
    ``bias (2, 3H)`` (input bias, recurrent bias). Returns ``h (N, H)`` and the cache for the
    backward step.
    """
    xw_z, xw_r, xw_h = split_gates(x_t @ kernel + bias[0], GRU_GATES)                # (N, H) each
    hu_z, hu_r, recurrent_h = split_gates(h_prev @ recurrent_kernel + bias[1], GRU_GATES)
    z = sigmoid(xw_z + hu_z)          # update gate: how much of the old state to keep
    r = sigmoid(xw_r + hu_r)          # reset gate: how much of the old state the candidate sees
    hh = np.tanh(xw_h + r * recurrent_h)   # candidate state h̃ (Keras's "hh")
    h = z * h_prev + (1 - z) * hh
    return h, GRUCellCache(x_t, h_prev, z, r, hh, recurrent_h)


def gru_cell_backward(dh, cache, kernel, recurrent_kernel):
    """Backward through one step: the chain rule applied to the four forward equations.

    ``dh`` is dL/dh_t (from the output and from step t+1). Returns ``dx_t, dh_prev`` and the
    step's contribution to ``dkernel, drecurrent_kernel, dbias``.
    """
    x_t, h_prev, z, r, hh, recurrent_h = cache
    dz, dhh = dh * (h_prev - hh), dh * (1 - z)      # h = z * h_prev + (1 - z) * hh
    da_h = dhh * (1 - hh ** 2)                       # through tanh
    da_r = da_h * recurrent_h * r * (1 - r)          # hh = tanh(.. + r * recurrent_h), then σ
    da_z = dz * z * (1 - z)                          # through σ
    dxw = np.concatenate([da_z, da_r, da_h], axis=-1)       # (N, 3H) at x_t @ kernel + bias[0]
    dhu = np.concatenate([da_z, da_r, da_h * r], axis=-1)   # (N, 3H) at h_prev @ U + bias[1]
    dx_t = dxw @ kernel.T
    dh_prev = dh * z + dhu @ recurrent_kernel.T
    dbias = np.stack([dxw.sum(axis=0), dhu.sum(axis=0)])
    return dx_t, dh_prev, (x_t.T @ dxw, h_prev.T @ dhu, dbias)


# --------------------------------------------------------------------------------------------
# The sequence layer.
# --------------------------------------------------------------------------------------------
class GRUCache(NamedTuple):
    """What the backward pass needs, in the kernels' layout (see kernels/gru.py): the batch cut
    into ``P`` blocks of ``B`` sequences (the last block padded with zeros), units before
    batch."""
    x: np.ndarray             # (P, D, T, B) the input
    h: np.ndarray             # (P, H, T + 1, B), h[:, :, 0] is the initial state
    gates: np.ndarray         # (P, T, 3H, B) activated z, r, h̃
    recurrent_h: np.ndarray   # (P, T, H, B) h_{t-1} @ U_h + b'_h
    n: int                    # the real batch size N <= P * B
    has_initial_state: bool

    def batch_major(self):
        """The cache as batch-first arrays ``(N, T, H)``: ``z, r, hh`` (h̃) and ``h`` (without
        the initial state), for learners and plots."""
        H = self.recurrent_h.shape[2]
        gates = from_blocks(self.gates.transpose(0, 3, 1, 2), self.n)        # (N, T, 3H)
        out = {name: gates[..., gate_slice(gate, H, GRU_GATES)]
               for name, gate in zip(("z", "r", "hh"), GRU_GATES)}
        out["h"] = from_blocks(self.h[:, :, 1:].transpose(0, 3, 2, 1), self.n)
        return out


class GRU(Layer):
    """Gated recurrent unit (Cho et al., 2014), Keras's flavour with ``reset_after=True``.

    For each timestep ``t`` with input ``x_t`` and previous state ``h_{t-1}``::

        z   = σ(x_t @ W_z + b_z + h_{t-1} @ U_z + b'_z)          update gate
        r   = σ(x_t @ W_r + b_r + h_{t-1} @ U_r + b'_r)          reset gate
        h̃   = tanh(x_t @ W_h + b_h + r * (h_{t-1} @ U_h + b'_h))  candidate state
        h_t = z * h_{t-1} + (1 - z) * h̃

    σ is ``recurrent_activation`` (default the logistic sigmoid) and tanh is ``activation``;
    ``W = kernel``, ``U = recurrent_kernel``, ``b = bias[0]``, ``b' = bias[1]``. This is also
    PyTorch's ``nn.GRU`` (whose ``n`` is our ``h̃`` and whose block order is r, z, n).

    Shapes: N batch, T timesteps, D input features, H = ``units``.
    Input ``(N, T, D)``; output ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``.

    Parameters (Keras's layout, blocks ``z, r, h`` along the last axis)
    -------------------------------------------------------------------
    kernel : (D, 3H), ``glorot_uniform`` over the whole matrix.
    recurrent_kernel : (H, 3H), one ``orthogonal`` matrix.
    bias : (2, 3H), zeros — row 0 the input bias ``b``, row 1 the recurrent bias ``b'``.

    Parameters
    ----------
    units : int
    activation, recurrent_activation : str — Keras names (tanh, sigmoid, relu, linear,
        hard_sigmoid).
    use_bias : bool
    return_sequences : bool — return every ``h_t`` instead of only the last.
    return_state : bool — also return the final ``h_T``: the output becomes ``[output, h_T]``
        and ``backward`` takes ``[dy, dh_T]`` (``None`` entries mean zero).
    reset_after : bool — only ``True`` (Keras's default) is supported.
    input_shape : (T, D), optional.

    ``forward(x, initial_state=h0)`` (or ``[h0]``) starts from a given state; ``backward`` then
    returns ``[dx, dh0]`` in place of ``dx``.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import GRU
    >>> layer = GRU(5, input_shape=(4, 3))
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> y, cache = layer.forward(np.ones((2, 4, 3)))
    >>> y.shape, layer.count_params()
    ((2, 5), 150)
    """

    kind = "gru"
    can_skip_input_gradient = True       # backward(..., need_dx=False) skips dx
    can_skip_cache = True                # forward(..., keep_cache=False) for prediction

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, reset_after=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 input_shape=None, name=None):
        super().__init__(input_shape=input_shape, name=name)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if not reset_after:
            raise ValueError("GRU supports only reset_after=True (Keras's default, the same "
                             "math as PyTorch's nn.GRU)")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.reset_after = True
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        initializers.get(kernel_initializer), initializers.get(recurrent_initializer)

    def build(self, input_shape, rng, dtype):
        D, H = input_shape[-1], self.units
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)((D, 3 * H), rng),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)((H, 3 * H), rng),
        }
        if self.use_bias:
            self.params["bias"] = np.zeros((2, 3 * H))
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
            h0 = np.zeros((P, H, x_b.shape[-1]), dtype)
        else:
            if isinstance(initial_state, (list, tuple)):
                (initial_state,) = initial_state
            h0 = to_blocks(np.asarray(initial_state, dtype=dtype), P, (1,))    # (P, H, B)
        bias = self.params["bias"] if self.use_bias else np.zeros((2, 3 * H), dtype)
        # b' of z and r joins the same sum as b, so it rides along with the input projection;
        # b'_h stays apart, since the reset gate scales it
        input_bias = bias[0].copy()
        for gate in ("z", "r"):
            input_bias[gate_slice(gate, H, GRU_GATES)] += bias[1, gate_slice(gate, H, GRU_GATES)]
        recurrent_bias_h = np.ascontiguousarray(bias[1, gate_slice("h", H, GRU_GATES)])
        with single_threaded_blas():      # the kernels' own BLAS calls
            h, gates, recurrent_h = gru_forward_sequence(
                x_b, np.ascontiguousarray(kernel.T), input_bias,
                np.ascontiguousarray(recurrent_kernel.T), recurrent_bias_h, h0,
                activations.CODES[self.activation],
                activations.CODES[self.recurrent_activation], keep_cache)
        cache = GRUCache(x_b, h, gates, recurrent_h, N, initial_state is not None) \
            if keep_cache else None
        h_last = from_blocks(h[:, :, T].transpose(0, 2, 1), N)                 # (N, H)
        if self.return_sequences:
            y = from_blocks(h[:, :, 1:].transpose(0, 3, 2, 1), N)               # (N, T, H)
        else:
            y = h_last
        if self.return_state:
            return [y, h_last.copy()], cache
        return y, cache

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, cache, need_dx=True):
        x_b, h, gates, recurrent_h, N, has_initial_state = cache
        P, D, T, B = x_b.shape
        H = self.units
        dtype = gates.dtype
        dh_last = np.zeros((N, H), dtype)
        if self.return_state:
            dy, dh_state = dy
            if dh_state is not None:
                dh_last += dh_state
        if dy is not None and self.return_sequences:
            dh_seq = to_blocks(np.asarray(dy, dtype), P, (1, 2))                 # (P, T, H, B)
        else:
            dh_seq = np.zeros((P, T, H, B), dtype)
            if dy is not None:
                dh_last += dy
        kernel, recurrent_kernel = self.params["kernel"], self.params["recurrent_kernel"]
        with single_threaded_blas():      # the kernels' own BLAS calls
            dkernel, drecurrent_kernel, dbias, dx, dh0 = gru_backward_sequence(
                dh_seq, to_blocks(dh_last, P, (1,)), x_b, h, gates, recurrent_h,
                np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent_kernel),
                activations.CODES[self.activation], activations.CODES[self.recurrent_activation],
                need_dx or has_initial_state)
        grads = {"kernel": dkernel, "recurrent_kernel": drecurrent_kernel}
        if self.use_bias:
            grads["bias"] = dbias
        dx = from_blocks(dx.transpose(0, 3, 2, 1), N) if need_dx else None      # (N, T, D)
        if has_initial_state:
            return [dx, from_blocks(dh0.transpose(0, 2, 1), N)], grads
        return dx, grads

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self.activation,
                      recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                      return_sequences=self.return_sequences, return_state=self.return_state,
                      reset_after=self.reset_after,
                      kernel_initializer=self.kernel_initializer,
                      recurrent_initializer=self.recurrent_initializer)
        return config
