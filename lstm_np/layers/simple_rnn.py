"""The simple (Elman) recurrent layer: the readable cell and the sequence layer.

The readable cell (:func:`simple_rnn_cell_forward`, :func:`simple_rnn_cell_backward`) is the math
a learner reads beside the equation; :class:`SimpleRNN` runs the same math through the compiled
kernels of :mod:`lstm_np.kernels.simple_rnn`. ``tests/test_simple_rnn.py`` proves them equal.
"""
from typing import NamedTuple

import numpy as np

from .. import activations, initializers
from ..kernels.simple_rnn import simple_rnn_backward_sequence, simple_rnn_forward_sequence
from .._runtime import single_threaded_blas
from .base import Layer
from .blocks import blocks_for, from_blocks, to_blocks


# --------------------------------------------------------------------------------------------
# The readable cell: one timestep, forward and backward, in plain NumPy.
# --------------------------------------------------------------------------------------------
class SimpleRNNCellCache(NamedTuple):
    x_t: np.ndarray
    h_prev: np.ndarray
    h: np.ndarray


def simple_rnn_cell_forward(x_t, h_prev, kernel, recurrent_kernel, bias, activation="tanh"):
    """One step ``h = act(x_t @ kernel + h_prev @ recurrent_kernel + bias)``.

    ``x_t (N, D)``, ``h_prev (N, H)``, ``kernel (D, H)``, ``recurrent_kernel (H, H)``,
    ``bias (H,)``. Returns ``h (N, H)`` and the cache for the backward step.
    """
    a = x_t @ kernel + h_prev @ recurrent_kernel + bias       # (N, H) pre-activation
    h = activations.FUNCTIONS[activation](a)
    return h, SimpleRNNCellCache(x_t, h_prev, h)


def simple_rnn_cell_backward(dh, cache, kernel, recurrent_kernel, activation="tanh"):
    """Backward through one step: ``da = dh * act'(a)``, then the three products.

    ``dh`` is dL/dh_t (from the output and from step t+1). Returns ``dx_t, dh_prev`` and the
    step's contribution to ``dkernel, drecurrent_kernel, dbias``.
    """
    x_t, h_prev, h = cache
    da = dh * activations.derivative_from_output(activation, h)
    return da @ kernel.T, da @ recurrent_kernel.T, (x_t.T @ da, h_prev.T @ da, da.sum(axis=0))


# --------------------------------------------------------------------------------------------
# The sequence layer.
# --------------------------------------------------------------------------------------------
class SimpleRNNCache(NamedTuple):
    """What the backward pass needs, in the kernels' layout (see kernels/simple_rnn.py): the
    batch cut into ``P`` blocks of ``B`` sequences (the last block padded with zeros), units
    before batch."""
    x: np.ndarray          # (P, D, T, B) the input
    h: np.ndarray          # (P, H, T + 1, B), h[:, :, 0] is the initial state
    n: int                 # the real batch size N <= P * B
    has_initial_state: bool

    def batch_major(self):
        """The states ``h`` as a batch-first array ``(N, T, H)`` (without the initial state)."""
        return {"h": from_blocks(self.h[:, :, 1:].transpose(0, 3, 2, 1), self.n)}


class SimpleRNN(Layer):
    """Fully connected recurrent layer (Elman, 1990), Keras's ``SimpleRNN``.

    For each timestep ``t`` with input ``x_t`` and previous state ``h_{t-1}``::

        h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    act is ``activation`` (default tanh). PyTorch's ``nn.RNN`` is the same with
    ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``, ``bias = bias_ih + bias_hh``.

    Shapes: N batch, T timesteps, D input features, H = ``units``.
    Input ``(N, T, D)``; output ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``.

    Parameters (Keras's layout)
    ---------------------------
    kernel : (D, H), ``glorot_uniform``.
    recurrent_kernel : (H, H), ``orthogonal``.
    bias : (H,), zeros.

    Parameters
    ----------
    units : int
    activation : str — a Keras name (tanh, sigmoid, relu, linear, hard_sigmoid).
    use_bias : bool
    return_sequences : bool — return every ``h_t`` instead of only the last.
    return_state : bool — also return the final ``h_T``: the output becomes ``[output, h_T]``
        and ``backward`` takes ``[dy, dh_T]`` (``None`` entries mean zero).
    input_shape : (T, D), optional.

    ``forward(x, initial_state=h0)`` (or ``[h0]``) starts from a given state; ``backward`` then
    returns ``[dx, dh0]`` in place of ``dx``.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import SimpleRNN
    >>> layer = SimpleRNN(5, input_shape=(4, 3))
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> y, cache = layer.forward(np.ones((2, 4, 3)))
    >>> y.shape, layer.count_params()
    ((2, 5), 45)
    """

    kind = "simple_rnn"
    can_skip_input_gradient = True       # backward(..., need_dx=False) skips dx
    can_skip_cache = True                # forward(..., keep_cache=False) for prediction

    def __init__(self, units, activation="tanh", use_bias=True, return_sequences=False,
                 return_state=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", input_shape=None, name=None):
        super().__init__(input_shape=input_shape, name=name)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        initializers.get(kernel_initializer), initializers.get(recurrent_initializer)

    def build(self, input_shape, rng, dtype):
        D, H = input_shape[-1], self.units
        self.params = {
            "kernel": initializers.get(self.kernel_initializer)((D, H), rng),
            "recurrent_kernel": initializers.get(self.recurrent_initializer)((H, H), rng),
        }
        if self.use_bias:
            self.params["bias"] = np.zeros(H)
        self.cast(dtype)
        self.built = True

    def compute_output_shape(self, input_shape):
        T = input_shape[0]
        return (T, self.units) if self.return_sequences else (self.units,)

    # --- forward --------------------------------------------------------------------------
    def forward(self, x, training=False, rng=None, initial_state=None, keep_cache=True):
        """``keep_cache=False`` (prediction) returns ``None`` as the cache."""
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
        bias = self.params["bias"] if self.use_bias else np.zeros(H, dtype)
        with single_threaded_blas():      # the kernels' own BLAS calls
            h = simple_rnn_forward_sequence(
                x_b, np.ascontiguousarray(kernel.T), bias,
                np.ascontiguousarray(recurrent_kernel.T), h0, activations.CODES[self.activation])
        cache = SimpleRNNCache(x_b, h, N, initial_state is not None) if keep_cache else None
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
        x_b, h, N, has_initial_state = cache
        P, D, T, B = x_b.shape
        H = self.units
        dtype = h.dtype
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
            dkernel, drecurrent_kernel, dbias, dx, dh0 = simple_rnn_backward_sequence(
                dh_seq, to_blocks(dh_last, P, (1,)), x_b, h, np.ascontiguousarray(kernel),
                np.ascontiguousarray(recurrent_kernel), activations.CODES[self.activation],
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
        config.update(units=self.units, activation=self.activation, use_bias=self.use_bias,
                      return_sequences=self.return_sequences, return_state=self.return_state,
                      kernel_initializer=self.kernel_initializer,
                      recurrent_initializer=self.recurrent_initializer)
        return config
