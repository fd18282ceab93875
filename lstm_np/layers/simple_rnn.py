"""The simple recurrent layer of Elman (1990), ``h_t = act(x_t W + h_{t-1} U + b)``: its step
(:func:`simple_rnn_cell_forward`, :func:`simple_rnn_cell_backward`), :class:`SimpleRNNCell`,
and :class:`SimpleRNN`, whose fast path is :mod:`lstm_np.kernels.simple_rnn`.
"""
from typing import NamedTuple

import numpy as np

from ..activations import CODES, DERIVATIVES, FUNCTIONS
from ..kernels.simple_rnn import simple_rnn_backward_sequence, simple_rnn_forward_sequence
from .cells import KerasCell
from .registry import register
from .recurrent import FEATURES_FIRST, Recurrent, from_kernel


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
    h = FUNCTIONS[activation](a)
    return h, SimpleRNNCellCache(x_t, h_prev, h)


def simple_rnn_cell_backward(dh, cache, kernel, recurrent_kernel, activation="tanh"):
    """Backward through one step: ``da = dh * act'(a)``, then the three products.

    ``dh`` is dL/dh_t (from the output and from step t+1). Returns ``dx_t, dh_prev`` and the
    step's contribution to ``dkernel, drecurrent_kernel, dbias``.
    """
    x_t, h_prev, h = cache
    da = dh * DERIVATIVES[activation](h)                      # act' written through h = act(a)
    return da @ kernel.T, da @ recurrent_kernel.T, (x_t.T @ da, h_prev.T @ da, da.sum(axis=0))


@register
class SimpleRNNCell(KerasCell):
    """One step ``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` as a cell for
    :class:`.RNN` (Keras's ``SimpleRNNCell``); the state and the output are ``h``. Weights and
    options are those of :class:`SimpleRNN`."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 dropout=0.0, recurrent_dropout=0.0, name=None):
        super().__init__(units, activation, None, use_bias, kernel_initializer,
                         recurrent_initializer, dropout, recurrent_dropout, name)

    def forward(self, inputs, states, training=False):
        h, cache = simple_rnn_cell_forward(inputs, *states, *self.weight_arrays(), self.activation)
        return h, [h], cache

    def backward(self, d_output, d_states, cache):
        dx_t, dh_prev, dweights = simple_rnn_cell_backward(
            d_output + d_states[0], cache, *self.weight_arrays()[:2], self.activation)
        return dx_t, [dh_prev], self.named(dweights)


# --------------------------------------------------------------------------------------------
# The layer.
# --------------------------------------------------------------------------------------------
class SimpleRNNCache(NamedTuple):
    """The compiled path's cache, in the kernels' layouts (see :mod:`.recurrent`)."""
    x: np.ndarray          # (P, D, T, B) the input
    h: np.ndarray          # (P, H, T + 1, B), h[:, :, 0] is the initial state
    sizes: tuple           # (N, T, D, H)
    has_initial_state: bool

    def batch_major(self):
        """The states ``h`` as a batch-first array ``(N, T, H)`` (without the initial state)."""
        return {"h": from_kernel(self.h, FEATURES_FIRST, self.sizes[0], steps=slice(1, None))}


@register(kind="rnn")
class SimpleRNN(Recurrent):
    """Fully connected recurrent layer (Elman, 1990), Keras's ``SimpleRNN``.

    For each timestep ``t`` with input ``x_t`` and previous state ``h_{t-1}``::

        h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)

    act is ``activation`` (default tanh). PyTorch's ``nn.RNN`` is the same with
    ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``, ``bias = bias_ih + bias_hh``.
    Shapes: N batch, T timesteps, D input features, H = ``units``. Input ``(N, T, D)``; output
    ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``; the state is ``h``.

    Weights (Keras's layout): ``kernel (D, H)`` ``glorot_uniform``, ``recurrent_kernel (H, H)``
    ``orthogonal``, ``bias (H,)`` zeros. The parameters are those of every recurrent layer: see
    :class:`.Recurrent`.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import SimpleRNN
    >>> layer = SimpleRNN(5, return_sequences=True, implementation="numpy")
    >>> layer.build((4, 3), np.random.default_rng(0), "float64")
    >>> layer(np.ones((2, 4, 3))).shape, layer.count_params()      # H (D + H) + H
    ((2, 4, 5), 45)
    """

    kind = "simple_rnn"
    torch_module = "RNN"
    cell_class = SimpleRNNCell
    KernelCache = SimpleRNNCache

    def torch_options(self):
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"has activation={self.activation!r}; nn.RNN supports tanh and "
                             "relu")
        return {"nonlinearity": self.activation}

    def kernel_forward(self, x, states, weights, keep_cache):
        kernel, recurrent_kernel, bias = weights
        h = simple_rnn_forward_sequence(x, np.ascontiguousarray(kernel.T), bias,
                                        np.ascontiguousarray(recurrent_kernel.T), *states,
                                        CODES[self.activation])
        return (h,), []

    def kernel_backward(self, dh_seq, dstates, cache, weights, need_dx):
        dkernel, drecurrent_kernel, dbias, dx, dh0 = simple_rnn_backward_sequence(
            dh_seq, *dstates, cache.x, cache.h, *weights[:2], CODES[self.activation], need_dx)
        return (dkernel, drecurrent_kernel, dbias), dx, [dh0]
