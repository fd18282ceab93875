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
    x_tm: np.ndarray       # (T, N, D) the input, time-major
    h: np.ndarray          # (T + 1, N, H), h[0] is the initial state
    has_initial_state: bool


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
    def forward(self, x, training=False, rng=None, initial_state=None):
        kernel, recurrent_kernel = self.params["kernel"], self.params["recurrent_kernel"]
        dtype = kernel.dtype
        N, T, D = x.shape
        H = self.units
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)           # (T, N, D)
        xw = (x_tm.reshape(T * N, D) @ kernel).reshape(T, N, H)                  # (T, N, H)
        if self.use_bias:
            xw += self.params["bias"]
        if initial_state is None:
            h0 = np.zeros((N, H), dtype)
        else:
            if isinstance(initial_state, (list, tuple)):
                (initial_state,) = initial_state
            h0 = np.ascontiguousarray(initial_state, dtype=dtype)
        with single_threaded_blas():      # the kernels' own BLAS calls
            h = simple_rnn_forward_sequence(xw, recurrent_kernel, h0,
                                            activations.CODES[self.activation])
        cache = SimpleRNNCache(x_tm, h, initial_state is not None)
        # (N, T, H) or (N, H)
        y = h[1:].transpose(1, 0, 2) if self.return_sequences else h[T]
        y = np.ascontiguousarray(y)
        if self.return_state:
            return [y, h[T].copy()], cache
        return y, cache

    # --- backward -------------------------------------------------------------------------
    def backward(self, dy, cache):
        x_tm, h, has_initial_state = cache
        T, N, D = x_tm.shape
        H = self.units
        dtype = h.dtype
        dh_last = np.zeros((N, H), dtype)
        if self.return_state:
            dy, dh_state = dy
            if dh_state is not None:
                dh_last += dh_state
        if dy is None:
            dh_seq = np.zeros((T, N, H), dtype)
        elif self.return_sequences:
            dh_seq = np.ascontiguousarray(np.asarray(dy, dtype).transpose(1, 0, 2))  # (T, N, H)
        else:
            dh_seq = np.zeros((T, N, H), dtype)
            dh_last += dy
        kernel, recurrent_kernel = self.params["kernel"], self.params["recurrent_kernel"]
        with single_threaded_blas():      # the kernels' own BLAS calls
            da, dh0 = simple_rnn_backward_sequence(dh_seq, dh_last, h,
                                                   np.ascontiguousarray(recurrent_kernel.T),
                                                   activations.CODES[self.activation])
        da2 = da.reshape(T * N, H)
        # weight gradients: one product over all timesteps instead of T small ones
        grads = {"kernel": x_tm.reshape(T * N, D).T @ da2,
                 "recurrent_kernel": h[:T].reshape(T * N, H).T @ da2}
        if self.use_bias:
            grads["bias"] = da2.sum(axis=0)
        dx = np.ascontiguousarray((da2 @ kernel.T).reshape(T, N, D).transpose(1, 0, 2))
        if has_initial_state:
            return [dx, dh0], grads
        return dx, grads

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=self.activation, use_bias=self.use_bias,
                      return_sequences=self.return_sequences, return_state=self.return_state,
                      kernel_initializer=self.kernel_initializer,
                      recurrent_initializer=self.recurrent_initializer)
        return config
